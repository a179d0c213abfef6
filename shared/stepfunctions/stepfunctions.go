// Package stepfunctions starts the escalation state machine's executions
// through the AWS Step Functions API.
package stepfunctions

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/dashboarduz/incident-response/shared/statemachine"
)

// StartExecutionAPI is the part of the Step Functions client the Starter
// uses.
type StartExecutionAPI interface {
	StartExecution(ctx context.Context, in *sfn.StartExecutionInput, optFns ...func(*sfn.Options)) (*sfn.StartExecutionOutput, error)
}

// Starter starts one escalation execution per incident.
type Starter struct {
	api             StartExecutionAPI
	stateMachineARN string
}

// NewStarter returns a Starter for the state machine with the given ARN.
func NewStarter(api StartExecutionAPI, stateMachineARN string) *Starter {
	return &Starter{api: api, stateMachineARN: stateMachineARN}
}

// Input is the escalation execution's input.
type Input = statemachine.Input

// ExecutionInput returns the JSON input of the execution for an incident's
// generation: statemachine.ExecutionInput, which the local executor uses
// too.
func ExecutionInput(incidentID string, generation int) []byte {
	return statemachine.ExecutionInput(incidentID, generation)
}

// ExecutionName names the execution of an incident's generation:
// statemachine.ExecutionName.
func ExecutionName(incidentID string, generation int) string {
	return statemachine.ExecutionName(incidentID, generation)
}

// StartEscalation starts the execution of an incident's generation.
// Starting it again is not an error: Step Functions answers a repeated
// start of a running execution with the same execution, and
// ExecutionAlreadyExists means an earlier start already ran it.
func (s *Starter) StartEscalation(ctx context.Context, incidentID string, generation int) error {
	_, err := s.api.StartExecution(ctx, &sfn.StartExecutionInput{
		StateMachineArn: aws.String(s.stateMachineARN),
		Name:            aws.String(ExecutionName(incidentID, generation)),
		Input:           aws.String(string(ExecutionInput(incidentID, generation))),
	})
	var exists *sfntypes.ExecutionAlreadyExists
	if errors.As(err, &exists) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("start escalation of %s: %w", incidentID, err)
	}
	return nil
}
