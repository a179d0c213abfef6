package local

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/dashboarduz/incident-response/shared/stepfunctions"
)

// Starter adapts an Executor to handlers that start one escalation per
// incident with StartEscalation(ctx, incidentID), the local twin of
// stepfunctions.Starter.
type Starter struct {
	Executor *Executor
}

// EscalationInput is the escalation state machine's execution input for an
// incident: {"incidentId": id}, byte for byte what stepfunctions.Starter
// sends.
func EscalationInput(incidentID string) json.RawMessage {
	return stepfunctions.ExecutionInput(incidentID)
}

// StartEscalation starts the execution named incidentID with
// EscalationInput(incidentID). As with stepfunctions.Starter, a start of an
// execution that exists already, running or finished, is not an error: an
// earlier start already escalated this incident.
func (s Starter) StartEscalation(ctx context.Context, incidentID string) error {
	err := s.Executor.Start(ctx, incidentID, EscalationInput(incidentID))
	var exists *ExecutionAlreadyExistsError
	if errors.As(err, &exists) {
		return nil
	}
	return err
}
