// Package stepfunctions drives the escalation state machine through the
// AWS Step Functions API: it starts and stops its executions, finds
// whether one has started, and checks the state machine is active.
package stepfunctions

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/statemachine"
)

// StartExecutionAPI is the part of the Step Functions client the Starter
// uses.
type StartExecutionAPI interface {
	StartExecution(ctx context.Context, in *sfn.StartExecutionInput, optFns ...func(*sfn.Options)) (*sfn.StartExecutionOutput, error)
}

// Starter starts escalation executions, at most one per incident
// generation and hand-over (see statemachine.ExecutionNameOf).
type Starter struct {
	api             StartExecutionAPI
	stateMachineARN string
}

// NewStarter returns a Starter for the state machine with the given ARN.
func NewStarter(api StartExecutionAPI, stateMachineARN string) *Starter {
	return &Starter{api: api, stateMachineARN: stateMachineARN}
}

// StartEscalation starts the execution of an incident's generation from
// st. Starting it again is not an error: Step Functions answers a repeated
// start of a running execution with the same execution, and
// ExecutionAlreadyExists means an earlier start already ran it.
func (s *Starter) StartEscalation(ctx context.Context, st incident.EscalationState) error {
	_, err := s.api.StartExecution(ctx, &sfn.StartExecutionInput{
		StateMachineArn: aws.String(s.stateMachineARN),
		Name:            aws.String(statemachine.ExecutionNameOf(st)),
		Input:           aws.String(string(statemachine.ExecutionInput(st))),
	})
	var exists *sfntypes.ExecutionAlreadyExists
	if errors.As(err, &exists) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("start escalation of %s: %w", st.IncidentID, err)
	}
	return nil
}

// StopExecutionAPI is the part of the Step Functions client the Stopper
// uses.
type StopExecutionAPI interface {
	StopExecution(ctx context.Context, in *sfn.StopExecutionInput, optFns ...func(*sfn.Options)) (*sfn.StopExecutionOutput, error)
}

// Stopper stops escalation executions that a newer one has superseded.
type Stopper struct {
	api             StopExecutionAPI
	stateMachineARN string
}

// NewStopper returns a Stopper for the state machine with the given ARN.
func NewStopper(api StopExecutionAPI, stateMachineARN string) *Stopper {
	return &Stopper{api: api, stateMachineARN: stateMachineARN}
}

// StopEscalation stops the execution that runs from st (named by
// statemachine.ExecutionNameOf) with the error statemachine.Superseded and
// cause as its cause. Stopping one that has finished changes nothing, and
// one that was never started is not an error either.
func (s *Stopper) StopEscalation(ctx context.Context, st incident.EscalationState, cause string) error {
	arn, err := statemachine.ExecutionARN(s.stateMachineARN, statemachine.ExecutionNameOf(st))
	if err != nil {
		return err
	}
	_, err = s.api.StopExecution(ctx, &sfn.StopExecutionInput{
		ExecutionArn: aws.String(arn),
		Error:        aws.String(statemachine.Superseded),
		Cause:        aws.String(cause),
	})
	var missing *sfntypes.ExecutionDoesNotExist
	if errors.As(err, &missing) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("stop escalation %s: %w", arn, err)
	}
	return nil
}
