package incident

import "slices"

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
