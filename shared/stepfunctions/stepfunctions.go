// Package stepfunctions starts the escalation state machine's executions
// through the AWS Step Functions API.
package stepfunctions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/dashboarduz/incident-response/shared/incident"
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

// ExecutionInput returns the JSON input of an execution: the escalation
// state it starts from. Every start of one generation with the same state
// sends the same bytes, which is what makes a repeated StartExecution for
// a running execution succeed without starting a second one.
func ExecutionInput(st incident.EscalationState) []byte {
	b, _ := json.Marshal(st)
	return b
}

// ExecutionName names the execution of an incident's generation: the
// incident ID for the first, "<id>-g<n>" after. Execution names are unique
// per state machine, so each generation starts at most once.
func ExecutionName(incidentID string, generation int) string {
	if generation == 0 {
		return incidentID
	}
	return fmt.Sprintf("%s-g%d", incidentID, generation)
}

// StartEscalation starts the execution of an incident's generation from
// st. Starting it again is not an error: Step Functions answers a repeated
// start of a running execution with the same execution, and
// ExecutionAlreadyExists means an earlier start already ran it.
func (s *Starter) StartEscalation(ctx context.Context, st incident.EscalationState) error {
	_, err := s.api.StartExecution(ctx, &sfn.StartExecutionInput{
		StateMachineArn: aws.String(s.stateMachineARN),
		Name:            aws.String(ExecutionName(st.IncidentID, st.Generation)),
		Input:           aws.String(string(ExecutionInput(st))),
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
