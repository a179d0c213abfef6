package incident

import (
	"slices"
	"time"
)

// EscalationState is the escalation state machine's state between its
// tasks: an execution's input, then each Plan's output, which the Choice
// routes on and the Page task acts on. One execution runs per generation
// of an incident (see Incident.Generation).
type EscalationState struct {
	IncidentID string `json:"incidentId"`
	// Service is the incident's, so that Plan reads the incident and its
	// service's maintenance windows in one batch.
	Service string `json:"service,omitempty"`
	// Generation is the execution's generation; an execution older than
	// the newest that has planned stands down.
	Generation int    `json:"generation,omitempty"`
	Action     Action `json:"action,omitempty"`
	Level      int    `json:"level,omitempty"`
	LevelName  string `json:"levelName,omitempty"`
	// WaitUntil is the Wait state's TimestampPath target, RFC 3339 in UTC
	// with whole seconds as Step Functions requires.
	WaitUntil string `json:"waitUntil,omitempty"`
	Reason    string `json:"reason,omitempty"`
	// Status, Severity and Episode are what the plan saw of the incident:
	// a page's claim holds only while they are unchanged, so a page is
	// never sent on a stale plan.
	Status   Status   `json:"status,omitempty"`
	Severity Severity `json:"severity,omitempty"`
	Episode  int      `json:"episode,omitempty"`
	// Entries are the timeline entries a notify step announces: those
	// queued when it was planned.
	Entries []string `json:"entries,omitempty"`
	// Loops counts the plans this execution has made; past a bound it
	// hands over to a fresh execution, so no execution outgrows Step
	// Functions' history of 25,000 events.
	Loops int `json:"loops,omitempty"`
	// Handover numbers the executions of one generation: 0 for the first,
	// k for the k-th that took over from an execution grown too long.
	Handover int `json:"handover,omitempty"`
	// Error is what a follow-up task failed with, when the state machine
	// caught its failure and went back to Plan.
	Error *TaskFailure `json:"error,omitempty"`
	// FirstPage is a new incident's first page, claimed by ingest in the
	// write that created the incident: an execution whose input carries
	// it starts in the FirstPage state, which sends it without reading
	// or writing the table first. Plan never returns it.
	FirstPage *FirstPage `json:"firstPage,omitempty"`
	// FirstPageError is what the FirstPage state failed with, when the
	// state machine caught it and handed the page to the Page state,
	// which claims it as any page.
	FirstPageError *TaskFailure `json:"firstPageError,omitempty"`
}

// PageLease is how long a claim on a page keeps others from sending it:
// longer than the Page function's timeout (60 s), so a live sender is
// never doubled, and short enough that a crashed one is taken over soon.
const PageLease = 90 * time.Second

// FirstPageWithin bounds how long after ingest claimed a first page the
// FirstPage state may send it on that claim alone: the claim's lease
// (PageLease) then outlasts the sending function's timeout, so nobody
// takes the claim over while it sends. Later, the page is claimed again
// as any page is.
const FirstPageWithin = 20 * time.Second

// FirstPage is the claim ingest made on a new incident's first page, and
// what the page tells PagerDuty of the incident (Incident.PageBrief).
type FirstPage struct {
	Claim    Page     `json:"claim"`
	Incident Incident `json:"incident"`
}

// Usable reports whether the page may still be sent on its claim alone
// at now (see FirstPageWithin).
func (fp *FirstPage) Usable(now time.Time) bool {
	return fp.Claim.State == PageClaimed && fp.Claim.Attempts == 1 && now.Before(fp.Claim.At.Add(FirstPageWithin))
}

// ClaimFirstPage claims the page step plans, at now, in the ledger of inc,
// an incident about to be created, so that the write that creates it
// claims its first page too; it returns the execution's first state,
// which carries the claim (see EscalationState.FirstPage).
func (inc *Incident) ClaimFirstPage(step Step, now time.Time) EscalationState {
	claim := Page{
		Level: step.Level, LevelName: step.LevelName, At: now, DedupKey: PageDedupKey(inc.ID, inc.Episode, step.Level),
		State: PageClaimed, Episode: inc.Episode, Attempts: 1, LeaseUntil: now.Add(PageLease),
	}
	inc.Pages = append(inc.Pages, claim)
	st := PlannedState(*inc, inc.Generation, step)
	st.FirstPage = &FirstPage{Claim: claim, Incident: inc.PageBrief()}
	return st
}

// ClaimedFirstPage returns the first page ingest claimed for step in the
// write that created inc, when inc is still as created and the page may
// still be sent on that claim at now; nil otherwise. It lets any delivery
// of the opening event start the execution as the one that created the
// incident does.
func (inc *Incident) ClaimedFirstPage(step Step, now time.Time) *FirstPage {
	claim, ok := inc.LedgerEntry(inc.Episode, step.Level)
	if !ok || inc.Version > 1 || claim.Released {
		return nil
	}
	fp := &FirstPage{Claim: claim, Incident: inc.PageBrief()}
	if !fp.Usable(now) {
		return nil
	}
	return fp
}

// PageBrief is what a page needs of the incident: its identity, what it
// is about and when it opened, without its ledgers.
func (inc *Incident) PageBrief() Incident {
	return Incident{
		ID: inc.ID, Title: inc.Title, Service: inc.Service, Category: inc.Category, Severity: inc.Severity, Status: inc.Status,
		Source: inc.Source, DedupKey: inc.DedupKey, Summary: inc.Summary, OpenedAt: inc.OpenedAt, Episode: inc.Episode,
	}
}

// TaskFailure is a task failure as Step Functions catches it.
type TaskFailure struct {
	Error string `json:"Error"`
	Cause string `json:"Cause,omitempty"`
}

// PlannedState is the state that carries step, planned from inc, to the
// state machine.
func PlannedState(inc Incident, generation int, step Step) EscalationState {
	st := EscalationState{
		IncidentID: inc.ID, Service: inc.Service, Generation: generation,
		Action: step.Action, Level: step.Level, LevelName: step.LevelName, Reason: step.Reason,
		Status: inc.Status, Severity: inc.Severity, Episode: inc.Episode,
	}
	if step.Action == ActNotify {
		st.Entries = slices.Clone(inc.Announcements)
	}
	return st
}

// StartOf is the input of the execution of an incident's current
// generation, which plans its first step itself.
func StartOf(inc Incident) EscalationState {
	return EscalationState{IncidentID: inc.ID, Service: inc.Service, Generation: inc.Generation}
}
