package sfnlocal

import (
	"context"
	"errors"

	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/statemachine"
)

// Starter adapts an Executor to handlers that start one escalation per
// incident generation with StartEscalation(ctx, incidentID, generation),
// the local twin of stepfunctions.Starter.
type Starter struct {
	Executor *Executor
}

// StartEscalation starts the execution named by
// statemachine.ExecutionName with statemachine.ExecutionInput, byte for
// byte what the stepfunctions.Starter sends. As with it, a start of an
// execution that exists already, running or finished, is not an error: an
// earlier start already escalated this generation.
func (s Starter) StartEscalation(ctx context.Context, st incident.EscalationState) error {
	err := s.Executor.Start(ctx, statemachine.ExecutionNameOf(st), statemachine.ExecutionInput(st))
	var exists *ExecutionAlreadyExistsError
	if errors.As(err, &exists) {
		return nil
	}
	return err
}

// StopEscalation stops the execution that runs from st with the error
// statemachine.Superseded, as stepfunctions.Stopper does; one never
// started is not an error.
func (s Starter) StopEscalation(ctx context.Context, st incident.EscalationState, cause string) error {
	err := s.Executor.Stop(statemachine.ExecutionNameOf(st), statemachine.Superseded, cause)
	var missing *ExecutionDoesNotExistError
	if errors.As(err, &missing) {
		return nil
	}
	return err
}
