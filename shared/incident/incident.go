package incident

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Incident is one incident: what broke, how bad it is, where the response
// stands and whom it has paged. Its timeline is stored beside it.
type Incident struct {
	ID       string   `json:"id"`
	Title    string   `json:"title"`
	Service  string   `json:"service"`
	Category Category `json:"category"`
	Severity Severity `json:"severity"`
	Status   Status   `json:"status"`
	// Source and DedupKey are those of the signal that opened the incident.
	Source   string `json:"source"`
	DedupKey string `json:"dedupKey"`
	Summary  string `json:"summary"`
	// OpenedAt is when the opening signal was observed.
	OpenedAt       time.Time `json:"openedAt"`
	AcknowledgedAt time.Time `json:"acknowledgedAt,omitzero"`
	ResolvedAt     time.Time `json:"resolvedAt,omitzero"`
	// SignalState is the latest state its source reported, at SignalAt.
	SignalState SignalState `json:"signalState"`
	SignalAt    time.Time   `json:"signalAt,omitzero"`
	// Signals counts the firing signals that joined the incident while its
	// source was still firing (repeats of the alarm), the opening one not
	// included; SignalAt is the latest one's time.
	Signals int `json:"signals,omitempty"`
	// Description is a reporter's own account (incidents from user reports).
	Description string `json:"description,omitempty"`
	// PublicTitle is what the public status page calls the incident; an
	// incident without one is not shown there.
	PublicTitle    string `json:"publicTitle,omitempty"`
	AcknowledgedBy string `json:"acknowledgedBy,omitempty"`
	ResolvedBy     string `json:"resolvedBy,omitempty"`
	RootCause      string `json:"rootCause,omitempty"`
	Resolution     string `json:"resolution,omitempty"`
	// Pages are the pages of every episode, in episode then level order.
	Pages []Page `json:"pages,omitempty"`
	// Episode counts re-openings: 0 until the incident is first re-opened.
	// Each episode follows the escalation policy afresh from EpisodeStart.
	Episode      int       `json:"episode,omitempty"`
	EpisodeStart time.Time `json:"episodeStart,omitzero"`
	// Flaps are the times its alarm fired again after recovering, within
	// the policy's flapping window.
	Flaps []time.Time `json:"flaps,omitempty"`
	// Flapping is set when the alarm flaps more often than the policy's
	// threshold; re-openings after FlappingEpisode page nobody.
	Flapping        bool      `json:"flapping,omitempty"`
	FlappingEpisode int       `json:"flappingEpisode,omitempty"`
	FlappingAt      time.Time `json:"flappingAt,omitzero"`
	// Escalations are the responders' requests for more expertise.
	Escalations []EscalationRequest `json:"escalations,omitempty"`
	// Breaches are the response and resolution targets missed, once each
	// per episode.
	Breaches []Breach `json:"breaches,omitempty"`
	// Generation numbers the escalation executions: a change that moves a
	// deadline earlier (a severity change, an escalation, a re-opening, an
	// acknowledgement or resolution to pass on to PagerDuty) starts a new
	// one. PlannedGeneration is the newest that has planned; older ones
	// stand down when they see it, and the first plan of a newer one stops
	// the execution of PlannedGeneration, the PlannedHandover-th of its
	// generation (see statemachine.ExecutionNameOf).
	Generation        int `json:"generation,omitempty"`
	PlannedGeneration int `json:"plannedGeneration,omitempty"`
	PlannedHandover   int `json:"plannedHandover,omitempty"`
	// Notes are the keys of the timeline entries the escalation wrote
	// about things outside the incident (a maintenance window holding or
	// releasing it), so that each is written once.
	Notes []string `json:"-"`
	// Announcements are the timeline entries still to announce in Slack
	// and by email, oldest first (see Announce).
	Announcements []string `json:"-"`
	// Triage marks the episode whose triage report was gathered last.
	Triage *TriageMark `json:"triage,omitempty"`
	// Remediations are the runbook's remediations decided for the
	// incident, in the order they were decided.
	Remediations []Remediation `json:"remediations,omitempty"`
	// PostMortemCompleted is set when the post-mortem is complete.
	PostMortemCompleted bool `json:"postMortemCompleted,omitempty"`
	// Reminded are the post-mortem reminders sent (see DueReminders).
	Reminded []string `json:"-"`
	// Deliveries are the message ledger: the messages about queued
	// entries and due reminders, claimed, sent or given up (see
	// Delivery).
	Deliveries []Delivery `json:"-"`
	// Slack is where the incident's messages are in Slack, once its
	// alert is posted.
	Slack *SlackThread `json:"-"`
	// Version counts writes; every update is conditional on it.
	Version int64 `json:"version"`
}

// Clone returns a copy of inc that shares no slice or pointer with it, so
// a change to one leaves the other as it was.
func (inc Incident) Clone() Incident {
	c := inc
	c.Pages = slices.Clone(inc.Pages)
	c.Flaps = slices.Clone(inc.Flaps)
	c.Escalations = slices.Clone(inc.Escalations)
	c.Breaches = slices.Clone(inc.Breaches)
	c.Notes = slices.Clone(inc.Notes)
	c.Announcements = slices.Clone(inc.Announcements)
	c.Remediations = slices.Clone(inc.Remediations)
	c.Reminded = slices.Clone(inc.Reminded)
	c.Deliveries = slices.Clone(inc.Deliveries)
	if inc.Slack != nil {
		t := *inc.Slack
		c.Slack = &t
	}
	if inc.Triage != nil {
		t := *inc.Triage
		c.Triage = &t
	}
	return c
}

// EscalationRequest is a responder's request to page a level now ("need
// additional expertise").
type EscalationRequest struct {
	Episode   int       `json:"episode"`
	Level     int       `json:"level"`
	LevelName string    `json:"levelName"`
	At        time.Time `json:"at"`
	By        string    `json:"by"`
	Reason    string    `json:"reason,omitempty"`
}

// Started returns when the current episode began.
func (inc *Incident) Started() time.Time {
	if inc.EpisodeStart.IsZero() {
		return inc.OpenedAt
	}
	return inc.EpisodeStart
}

// EpisodePages returns the recorded pages of the current episode (sent or
// rejected, not those only claimed), in level order: the pages the
// escalation policy counts.
func (inc *Incident) EpisodePages() []Page {
	var out []Page
	for _, p := range inc.Pages {
		if p.Episode == inc.Episode && p.Recorded() {
			out = append(out, p)
		}
	}
	return out
}

// PageState is where one page stands in the page ledger.
type PageState string

// The page states. A page is claimed before it is sent, so that a retried
// or concurrent Page task never sends it twice, and marked sent or rejected
// after.
const (
	// PageClaimed: a sender holds the page until LeaseUntil; it may or may
	// not have reached PagerDuty yet.
	PageClaimed PageState = "claimed"
	// PageSent: PagerDuty accepted the page.
	PageSent PageState = "sent"
	// PageRejected: the page can never be delivered (PagerDuty refused the
	// level's routing key, or the level has none); the escalation goes on
	// without it.
	PageRejected PageState = "rejected"
)

// Page is one page to an escalation level through PagerDuty, and its entry
// in the page ledger: claimed, then sent or rejected.
type Page struct {
	Level     int    `json:"level"`
	LevelName string `json:"levelName"`
	// At is when the page was first claimed by the attempt that sent or
	// rejected it: a sender that stopped without releasing its claim may
	// have sent it, so whoever takes the claim over keeps its time, and the
	// page's timeline entry, keyed by it, is written once.
	At       time.Time `json:"at"`
	DedupKey string    `json:"dedupKey"`
	State    PageState `json:"state"`
	// Failure says why a rejected page cannot be delivered.
	Failure string `json:"failure,omitempty"`
	// Episode is the incident's episode the page belongs to.
	Episode int `json:"episode,omitempty"`
	// Synced is the latest state passed on to PagerDuty for this page after
	// its trigger: acknowledged or resolved.
	Synced Status `json:"synced,omitempty"`
	// Attempts counts the claims of the page, the first one included.
	Attempts int `json:"attempts,omitempty"`
	// LeaseUntil is when a claim may be taken over by another sender.
	LeaseUntil time.Time `json:"leaseUntil,omitzero"`
	// Released marks a claim given up by its sender after a failed send:
	// the sender wrote a failure, not a page, on the timeline.
	Released bool `json:"released,omitempty"`
}

// Recorded reports whether the page is settled: sent or rejected.
func (p Page) Recorded() bool { return p.State == PageSent || p.State == PageRejected }

// MayHaveReached reports whether PagerDuty may hold an alert for the page:
// it was sent, or a sender claimed it and has not recorded the outcome (it
// may have sent it and stopped). Telling PagerDuty about a dedup key it
// never saw is harmless; should a live sender's trigger arrive after, its
// settling clears Synced and PagerDuty is told again.
func (p Page) MayHaveReached() bool {
	return p.State == PageSent || p.State == PageClaimed
}

// Delivered reports whether the page reached PagerDuty.
func (p Page) Delivered() bool { return p.State == PageSent }

// NewID derives an incident ID from the signal that opens it: the same
// signal always gives the same ID, so concurrent deliveries of one event
// agree on it. The ID sorts by time and is a valid Step Functions execution
// name.
func NewID(s Signal) string {
	return fmt.Sprintf("inc-%s-%s", s.Time.UTC().Format("20060102-150405"), shortHash(s.DedupKey+"\x00"+s.EventID))
}

// shortHash is 10 hex digits of the SHA-256 of s.
func shortHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:5])
}

// Open builds the incident that signal s opens.
func Open(s Signal) Incident {
	return Incident{
		ID:          NewID(s),
		Title:       fmt.Sprintf("%s %s - %s", s.Severity, s.Service, s.Summary),
		Service:     s.Service,
		Category:    s.Category,
		Severity:    s.Severity,
		Status:      Triggered,
		Source:      s.Source,
		DedupKey:    s.DedupKey,
		Summary:     s.Summary,
		OpenedAt:    s.Time.UTC(),
		SignalState: s.State,
		SignalAt:    s.Time.UTC(),
	}
}

// AwaitsAcknowledgement reports whether nobody has taken the incident on
// yet: only such an incident escalates on missed acknowledgement deadlines.
func (inc *Incident) AwaitsAcknowledgement() bool { return inc.Status == Triggered }

// NoteSignal records the state its source reported at time at, unless a
// later state is already recorded (events can arrive out of order). It
// reports whether anything changed.
func (inc *Incident) NoteSignal(state SignalState, at time.Time) bool {
	at = at.UTC()
	if at.Before(inc.SignalAt) || (at.Equal(inc.SignalAt) && state == inc.SignalState) {
		return false
	}
	inc.SignalState, inc.SignalAt = state, at
	return true
}

// PageFor returns the recorded page (sent or rejected) for level in the
// current episode, if there is one.
func (inc *Incident) PageFor(level int) (Page, bool) {
	p, ok := inc.LedgerEntry(inc.Episode, level)
	if !ok || !p.Recorded() {
		return Page{}, false
	}
	return p, true
}

// LedgerEntry returns the page ledger's entry for one level of one
// episode, in whatever state it is.
func (inc *Incident) LedgerEntry(episode, level int) (Page, bool) {
	for _, p := range inc.Pages {
		if p.Episode == episode && p.Level == level {
			return p, true
		}
	}
	return Page{}, false
}

// RecordPage puts a page in the ledger, keeping Pages in episode then
// level order: a new entry is added, a claimed one is replaced. It reports
// false when that level of that episode is already recorded (sent or
// rejected), so a retry changes nothing.
func (inc *Incident) RecordPage(p Page) bool {
	for i, x := range inc.Pages {
		if x.Episode == p.Episode && x.Level == p.Level {
			if x.Recorded() {
				return false
			}
			inc.Pages[i] = p
			return true
		}
	}
	i := len(inc.Pages)
	for i > 0 && (inc.Pages[i-1].Episode > p.Episode || inc.Pages[i-1].Episode == p.Episode && inc.Pages[i-1].Level > p.Level) {
		i--
	}
	inc.Pages = append(inc.Pages, Page{})
	copy(inc.Pages[i+1:], inc.Pages[i:])
	inc.Pages[i] = p
	return true
}

// PageDedupKey is the PagerDuty dedup_key of the page for one level of an
// incident: derived from both, so a retried page can never become a second
// PagerDuty incident.
// Pages of a re-opened incident's later episodes carry the episode too, so
// a re-opening never lands on a PagerDuty incident resolved before.
func PageDedupKey(incidentID string, episode, level int) string {
	if episode == 0 {
		return fmt.Sprintf("%s/level-%d", incidentID, level)
	}
	return fmt.Sprintf("%s/reopen-%d/level-%d", incidentID, episode, level)
}

// ParsePageDedupKey reads a dedup key PageDedupKey made.
func ParsePageDedupKey(key string) (incidentID string, episode, level int, ok bool) {
	id, rest, found := strings.Cut(key, "/")
	if !found || !strings.HasPrefix(id, "inc-") {
		return "", 0, 0, false
	}
	if r, l, reopened := strings.Cut(rest, "/"); reopened {
		n, err := fmt.Sscanf(r, "reopen-%d", &episode)
		if err != nil || n != 1 || episode < 1 || r != fmt.Sprintf("reopen-%d", episode) {
			return "", 0, 0, false
		}
		rest = l
	}
	n, err := fmt.Sscanf(rest, "level-%d", &level)
	if err != nil || n != 1 || level < 1 || rest != fmt.Sprintf("level-%d", level) {
		return "", 0, 0, false
	}
	return id, episode, level, true
}
