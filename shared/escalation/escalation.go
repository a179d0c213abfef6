// Package escalation holds the two tasks of the escalation state machine:
// Plan, which reads the incident and asks the policy for the next step,
// and Page, which pages one level exactly once.
package escalation

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/dashboarduz/incident-response/shared/incident"
)

// State is the state machine's state between tasks: the execution input,
// then each Plan's output. Page receives it whole.
type State struct {
	IncidentID string          `json:"incidentId"`
	Action     incident.Action `json:"action,omitempty"`
	Level      int             `json:"level,omitempty"`
	LevelName  string          `json:"levelName,omitempty"`
	// WaitUntil is the Wait state's TimestampPath target, RFC 3339 in UTC
	// with whole seconds as Step Functions requires.
	WaitUntil string `json:"waitUntil,omitempty"`
	Reason    string `json:"reason,omitempty"`
}

// IncidentNotFoundError means the execution's incident is not in the
// table. The state machine does not retry it.
type IncidentNotFoundError struct {
	IncidentID string
}

// Error says which incident is missing.
func (e *IncidentNotFoundError) Error() string {
	return fmt.Sprintf("incident %s not found", e.IncidentID)
}

// InvalidInputError means a task got input it can never act on (no
// incident ID, a level the policy does not have). The state machine fails
// the execution on it rather than retry, so the failure alarm fires.
type InvalidInputError struct {
	Reason string
}

// Error returns the reason.
func (e *InvalidInputError) Error() string { return e.Reason }

// IncidentGetter reads one incident.
type IncidentGetter interface {
	GetIncident(ctx context.Context, id string) (incident.Incident, error)
}

// Planner is the Plan task.
type Planner struct {
	Store  IncidentGetter
	Policy incident.Policy
	Clock  incident.Clock
}

// Handle reads the incident and returns the policy's next step.
func (p *Planner) Handle(ctx context.Context, in State) (State, error) {
	if in.IncidentID == "" {
		return State{}, &InvalidInputError{Reason: "plan: the input has no incidentId"}
	}
	inc, err := p.Store.GetIncident(ctx, in.IncidentID)
	if incident.ErrorCode(err) == incident.ENotFound {
		return State{}, &IncidentNotFoundError{IncidentID: in.IncidentID}
	}
	if err != nil {
		return State{}, fmt.Errorf("plan %s: %w", in.IncidentID, err)
	}
	now := p.Clock.Now()
	step := incident.Next(inc, p.Policy, now)
	out := State{IncidentID: inc.ID, Action: step.Action, Level: step.Level, LevelName: step.LevelName, Reason: step.Reason}
	if step.Action == incident.ActWait {
		out.WaitUntil = WaitTimestamp(step.Until)
	}
	slog.InfoContext(ctx, "planned", "incidentId", inc.ID, "action", step.Action, "level", step.Level, "waitUntil", out.WaitUntil, "reason", step.Reason)
	return out, nil
}

// WaitTimestamp formats t for a Wait state, rounded up to the next whole
// second so that the wait never ends before t.
func WaitTimestamp(t time.Time) string {
	t = t.UTC()
	if r := t.Truncate(time.Second); !r.Equal(t) {
		t = r.Add(time.Second)
	}
	return t.Format(time.RFC3339)
}
