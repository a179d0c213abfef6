package stepfunctions

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/dashboarduz/incident-response/shared/statemachine"
)

// ListExecutionsAPI is the part of the Step Functions client Executions
// uses.
type ListExecutionsAPI interface {
	ListExecutions(ctx context.Context, in *sfn.ListExecutionsInput, optFns ...func(*sfn.Options)) (*sfn.ListExecutionsOutput, error)
}

// executionPages bounds how many pages of executions EscalationStarted
// reads: executions are listed newest first, so the one it looks for,
// started moments ago, is on the first page unless hundreds of incidents
// opened since.
const executionPages = 3

// Executions finds the escalation state machine's executions. It lists
// them rather than describing one by name, so that the permission it
// needs (states:ListExecutions) is on the state machine's ARN, not on a
// wildcard of its execution ARNs.
type Executions struct {
	API             ListExecutionsAPI
	StateMachineARN string
}

// EscalationStarted reports whether the execution of an incident's
// generation has started (it may have finished since).
func (e *Executions) EscalationStarted(ctx context.Context, incidentID string, generation int) (bool, error) {
	name := statemachine.ExecutionName(incidentID, generation)
	in := &sfn.ListExecutionsInput{StateMachineArn: aws.String(e.StateMachineARN), MaxResults: 100}
	p := sfn.NewListExecutionsPaginator(e.API, in)
	for page := 0; page < executionPages && p.HasMorePages(); page++ {
		out, err := p.NextPage(ctx)
		if err != nil {
			return false, fmt.Errorf("list executions of %s: %w", e.StateMachineARN, err)
		}
		for _, x := range out.Executions {
			if aws.ToString(x.Name) == name {
				return true, nil
			}
		}
	}
	return false, nil
}

// DescribeStateMachineAPI is the part of the Step Functions client
// StateMachine uses.
type DescribeStateMachineAPI interface {
	DescribeStateMachine(ctx context.Context, in *sfn.DescribeStateMachineInput, optFns ...func(*sfn.Options)) (*sfn.DescribeStateMachineOutput, error)
}

// StateMachine is the escalation state machine, by ARN.
type StateMachine struct {
	API DescribeStateMachineAPI
	ARN string
}

// CheckActive returns an error unless the state machine can be described
// and is ACTIVE, so that executions can start.
func (s *StateMachine) CheckActive(ctx context.Context) error {
	out, err := s.API.DescribeStateMachine(ctx, &sfn.DescribeStateMachineInput{StateMachineArn: aws.String(s.ARN)})
	if err != nil {
		return fmt.Errorf("describe state machine %s: %w", s.ARN, err)
	}
	if out.Status != sfntypes.StateMachineStatusActive {
		return fmt.Errorf("state machine %s is %s, not ACTIVE", s.ARN, out.Status)
	}
	return nil
}
