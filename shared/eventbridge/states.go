package eventbridge

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/statemachine"
)

// Step Functions' execution events, of which the ingest path reads one:
// an escalation execution stopped by hand.
const (
	SourceStepFunctions           = "aws.states"
	DetailTypeExecutionStatus     = "Step Functions Execution Status Change"
	signalSourceStepFunctions     = "stepfunctions"
	executionAborted              = "ABORTED"
	SeverityEscalationStoppedHand = incident.P1
)

// ExecutionStatusChange is the detail of a "Step Functions Execution
// Status Change" event. StartDate and StopDate are milliseconds since the
// epoch; Error and Cause are those a stop was given, null when none.
type ExecutionStatusChange struct {
	ExecutionArn    string  `json:"executionArn"`
	StateMachineArn string  `json:"stateMachineArn"`
	Name            string  `json:"name"`
	Status          string  `json:"status"`
	StartDate       *int64  `json:"startDate"`
	StopDate        *int64  `json:"stopDate"`
	Input           string  `json:"input"`
	Error           *string `json:"error"`
	Cause           *string `json:"cause"`
}

// escalationStopped reads an escalation execution that stopped. One that
// someone stopped by hand leaves its incident unescalated: it opens a P1
// incident of the system itself, naming the execution and its incident,
// so someone checks that it was meant. One this system stopped because a
// newer generation took over (statemachine.Superseded), and any other
// status, is no incident.
func (d *Decoder) escalationStopped(e Event, det ExecutionStatusChange) (incident.Signal, *InvalidEventError) {
	if det.ExecutionArn == "" {
		return incident.Signal{}, invalidf("detail.executionArn is missing")
	}
	if det.Status == "" {
		return incident.Signal{}, invalidf("detail.status is missing")
	}
	at, ierr := stopTime(e, det)
	if ierr != nil {
		return incident.Signal{}, ierr
	}
	var input incident.EscalationState
	_ = json.Unmarshal([]byte(det.Input), &input) // the input names the incident; without it the execution still does
	errName, cause := deref(det.Error), deref(det.Cause)
	s := incident.Signal{
		Source:   signalSourceStepFunctions,
		EventID:  det.ExecutionArn + "/" + strings.ToLower(det.Status),
		DedupKey: det.ExecutionArn,
		Service:  incident.SelfService,
		Category: incident.Other,
		Severity: SeverityEscalationStoppedHand,
		State:    incident.Firing,
		Time:     at,
		Summary:  fmt.Sprintf("Escalation execution %s was stopped", orNone(det.Name)),
		Reason:   strings.TrimSpace(strings.Join([]string{errName, cause}, " ")),
		Details:  map[string]string{"executionArn": det.ExecutionArn, "status": det.Status, "eventBridgeId": e.ID},
	}
	putIf(s.Details, "stateMachineArn", det.StateMachineArn)
	putIf(s.Details, "escalatedIncident", input.IncidentID)
	putIf(s.Details, "error", errName)
	if input.IncidentID != "" {
		s.Summary = fmt.Sprintf("The escalation of %s was stopped by hand: it is no longer escalated", input.IncidentID)
	}
	switch {
	case det.Status != executionAborted:
		s.State = incident.Inconclusive
		s.Ignored = fmt.Sprintf("an escalation execution %s is no incident here; failures and time-outs have their own alarms", strings.ToLower(det.Status))
	case errName == statemachine.Superseded:
		s.State = incident.Inconclusive
		s.Ignored = "this system stopped the execution because a newer one of the same incident took over"
	}
	return s, nil
}

// stopTime is when the execution stopped, else the event's time.
func stopTime(e Event, det ExecutionStatusChange) (time.Time, *InvalidEventError) {
	if det.StopDate != nil && *det.StopDate > 0 {
		return time.UnixMilli(*det.StopDate).UTC(), nil
	}
	return when("time", e.Time)
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
