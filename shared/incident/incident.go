package incident

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
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
	// Pages are the pages delivered so far, in level order.
	Pages []Page `json:"pages,omitempty"`
	// Version counts writes; every update is conditional on it.
	Version int64 `json:"version"`
}

// Page is one page to an escalation level through PagerDuty: delivered,
// or, when Failure is set, refused for good (PagerDuty rejected it or the
// level has no routing key), in which case the escalation goes on at once.
type Page struct {
	Level     int       `json:"level"`
	LevelName string    `json:"levelName"`
	At        time.Time `json:"at"`
	DedupKey  string    `json:"dedupKey"`
	Failure   string    `json:"failure,omitempty"`
}

// Delivered reports whether the page reached PagerDuty.
func (p Page) Delivered() bool { return p.Failure == "" }

// NewID derives an incident ID from the signal that opens it: the same
// signal always gives the same ID, so concurrent deliveries of one event
// agree on it. The ID sorts by time and is a valid Step Functions execution
// name.
func NewID(s Signal) string {
	sum := sha256.Sum256([]byte(s.DedupKey + "\x00" + s.EventID))
	return fmt.Sprintf("inc-%s-%s", s.Time.UTC().Format("20060102-150405"), hex.EncodeToString(sum[:5]))
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
// yet: only such an incident is paged and escalated.
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

// PageFor returns the delivered page for level, if there is one.
func (inc *Incident) PageFor(level int) (Page, bool) {
	for _, p := range inc.Pages {
		if p.Level == level {
			return p, true
		}
	}
	return Page{}, false
}

// RecordPage adds a delivered page, keeping Pages in level order. It reports
// false when that level was already recorded, so a retry changes nothing.
func (inc *Incident) RecordPage(p Page) bool {
	if _, ok := inc.PageFor(p.Level); ok {
		return false
	}
	i := len(inc.Pages)
	for i > 0 && inc.Pages[i-1].Level > p.Level {
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
func PageDedupKey(incidentID string, level int) string {
	return fmt.Sprintf("%s/level-%d", incidentID, level)
}
