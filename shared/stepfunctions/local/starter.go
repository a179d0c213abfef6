package local

import (
	"context"
	"encoding/json"
)

// Starter adapts an Executor to handlers that start one escalation per
// incident with StartEscalation(ctx, incidentID).
type Starter struct {
	Executor *Executor
}

// EscalationInput is the escalation state machine's execution input for an
// incident: {"incidentId": id}.
func EscalationInput(incidentID string) json.RawMessage {
	b, _ := json.Marshal(struct {
		IncidentID string `json:"incidentId"`
	}{incidentID})
	return b
}

// StartEscalation starts the execution named incidentID with
// EscalationInput(incidentID). A second start while it runs is a no-op; a
// start after it has finished returns *ExecutionAlreadyExistsError with
// Closed set, as StartExecution does in AWS.
func (s Starter) StartEscalation(ctx context.Context, incidentID string) error {
	return s.Executor.Start(ctx, incidentID, EscalationInput(incidentID))
}
