package response

import (
	"time"

	"github.com/dashboarduz/incident-response/shared/incident"
)

// Report is a user's report of an incident (POST /incidents).
type Report struct {
	Title       string `json:"title"`
	Service     string `json:"service"`
	Severity    string `json:"severity"`
	Category    string `json:"category"`
	Description string `json:"description"`
	// IdempotencyKey, from the request's Idempotency-Key header, makes a
	// retried report return the incident the first one opened. Without
	// one, the same report by the same caller within ten minutes does.
	IdempotencyKey string `json:"-"`
}

// StatusUpdate is a responder's update (POST /incidents/{id}/updates):
// where the response stands, what is known and, optionally, when it is
// expected to be resolved.
type StatusUpdate struct {
	Status  string `json:"status"`
	Message string `json:"message"`
	// Actions says what is being done (the runbook's "Actions: [What
	// we're doing]").
	Actions string     `json:"actions,omitempty"`
	ETA     *time.Time `json:"eta,omitempty"`
	// Public puts the update on the public status page and in the
	// stakeholder email; updates are internal unless they say so.
	Public bool `json:"public,omitempty"`
	// PublicTitle, when set, is the title the public sees for the
	// incident from now on; an incident without one is not on the status
	// page.
	PublicTitle string `json:"publicTitle,omitempty"`
}

// SeverityChange changes an incident's severity (POST
// /incidents/{id}/severity).
type SeverityChange struct {
	Severity string `json:"severity"`
	Reason   string `json:"reason"`
}

// Escalation asks for more expertise (POST /incidents/{id}/escalate): the
// named level, or the next one above the highest paged when Level is empty.
type Escalation struct {
	Level  string `json:"level,omitempty"`
	Reason string `json:"reason"`
}

// Acknowledgement takes an incident on (POST /incidents/{id}/acknowledge);
// every field is optional.
type Acknowledgement struct {
	Message string `json:"message,omitempty"`
}

// Resolution closes an incident (POST /incidents/{id}/resolve).
type Resolution struct {
	RootCause string `json:"rootCause"`
	Summary   string `json:"summary,omitempty"`
}

// MaintenanceRequest schedules a maintenance window (POST
// /maintenance-windows).
type MaintenanceRequest struct {
	Service string    `json:"service"`
	Start   time.Time `json:"start"`
	End     time.Time `json:"end"`
	Reason  string    `json:"reason"`
}

// ListRequest selects incidents (GET /incidents); every field is optional.
type ListRequest struct {
	Status   string
	Severity string
	Service  string
	Limit    int
	Cursor   string
}

// IncidentList is one page of incidents; Next continues the listing and is
// empty after the last page.
type IncidentList struct {
	Incidents []incident.Incident `json:"incidents"`
	Next      string              `json:"next,omitempty"`
}

// IncidentWithTimeline is an incident and its timeline, oldest entry
// first, with the triage report of its current episode once gathered.
type IncidentWithTimeline struct {
	incident.Incident
	// Timeline is the latest DefaultTimelinePage entries, oldest first.
	Timeline []incident.Entry `json:"timeline"`
	// TimelineBefore, when set, says that older entries remain: it is the
	// before of GET /incidents/{id}/timeline for the page before these.
	TimelineBefore string `json:"timelineBefore,omitempty"`
	// Triage is the current episode's triage report; nil until it is
	// gathered.
	Triage *incident.TriageReport `json:"triage,omitempty"`
}

// TimelinePage is a page of an incident's timeline, oldest entry first.
type TimelinePage struct {
	Entries []incident.Entry `json:"entries"`
	// Before, when set, says that older entries remain: ask again with it.
	Before string `json:"before,omitempty"`
}

// ActionDecision approves or rejects a remediation that waits for
// approval (POST /incidents/{id}/actions/{action}/approve or /reject);
// the reason is optional.
type ActionDecision struct {
	Reason string `json:"reason,omitempty"`
}

// KillSwitchChange turns the remediation kill switch on or off (PUT
// /remediation/kill-switch); the reason goes on record with it.
type KillSwitchChange struct {
	On     *bool  `json:"on"`
	Reason string `json:"reason,omitempty"`
}

// PagerDutyEvent is what a PagerDuty v3 webhook says about one of the
// pages: the incident it acknowledged or resolved, found by the page's
// dedup key (PagerDuty's incident_key).
type PagerDutyEvent struct {
	// ID is PagerDuty's event ID; a redelivered webhook carries the same.
	ID string
	// Type is "incident.acknowledged" or "incident.resolved".
	Type        string
	IncidentKey string
	// Agent names who acted in PagerDuty, e.g. the user's name.
	Agent      string
	OccurredAt time.Time
}
