package sfnlocal

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/dashboarduz/incident-response/shared/statemachine"
)

// Starter adapts an Executor to handlers that start one escalation per
// incident generation with StartEscalation(ctx, incidentID, generation),
// the local twin of stepfunctions.Starter.
type Starter struct {
	Executor *Executor
}

// EscalationInput is the escalation state machine's execution input for an
// incident's generation, byte for byte what stepfunctions.Starter sends.
func EscalationInput(incidentID string, generation int) json.RawMessage {
	return statemachine.ExecutionInput(incidentID, generation)
}

// StartEscalation starts the execution named by statemachine.ExecutionName
// with EscalationInput. As with stepfunctions.Starter, a start of an
// execution that exists already, running or finished, is not an error: an
// earlier start already escalated this generation.
func (s Starter) StartEscalation(ctx context.Context, incidentID string, generation int) error {
	err := s.Executor.Start(ctx, statemachine.ExecutionName(incidentID, generation), EscalationInput(incidentID, generation))
	var exists *ExecutionAlreadyExistsError
	if errors.As(err, &exists) {
		return nil
	}
	return err
}
