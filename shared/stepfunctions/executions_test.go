package stepfunctions

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
)

// fakeList serves pages of execution names, newest first, and counts the
// requests.
type fakeList struct {
	pages [][]string
	err   error
	calls int
	arns  []string
}

func (f *fakeList) ListExecutions(_ context.Context, in *sfn.ListExecutionsInput, _ ...func(*sfn.Options)) (*sfn.ListExecutionsOutput, error) {
	f.calls++
	f.arns = append(f.arns, aws.ToString(in.StateMachineArn))
	if f.err != nil {
		return nil, f.err
	}
	i := 0
	if in.NextToken != nil {
		fmt.Sscan(*in.NextToken, &i)
	}
	out := &sfn.ListExecutionsOutput{}
	for _, n := range f.pages[i] {
		out.Executions = append(out.Executions, sfntypes.ExecutionListItem{Name: aws.String(n)})
	}
	if i+1 < len(f.pages) {
		out.NextToken = aws.String(fmt.Sprint(i + 1))
	}
	return out, nil
}

func TestEscalationStarted(t *testing.T) {
	many := func(prefix string, n int) []string {
		var out []string
		for i := range n {
			out = append(out, fmt.Sprintf("%s-%d", prefix, i))
		}
		return out
	}
	tests := []struct {
		name       string
		pages      [][]string
		id         string
		generation int
		want       bool
		wantCalls  int
	}{
		{"first generation on the first page", [][]string{{"inc-2", "inc-1"}}, "inc-1", 0, true, 1},
		{"later generation by its own name", [][]string{{"inc-1-g2", "inc-1"}}, "inc-1", 2, true, 1},
		{"an earlier generation is not the one asked for", [][]string{{"inc-1"}}, "inc-1", 1, false, 1},
		{"on the second page", [][]string{many("x", 100), {"inc-1"}}, "inc-1", 0, true, 2},
		{"not looked for past three pages", [][]string{many("a", 100), many("b", 100), many("c", 100), {"inc-1"}}, "inc-1", 0, false, 3},
		{"no executions", [][]string{{}}, "inc-1", 0, false, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeList{pages: tt.pages}
			e := &Executions{API: f, StateMachineARN: "arn:sm"}
			got, err := e.EscalationStarted(context.Background(), tt.id, tt.generation)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want || f.calls != tt.wantCalls {
				t.Errorf("EscalationStarted = %v after %d calls, want %v after %d", got, f.calls, tt.want, tt.wantCalls)
			}
			for _, arn := range f.arns {
				if arn != "arn:sm" {
					t.Errorf("listed the executions of %q, want arn:sm", arn)
				}
			}
		})
	}
	f := &fakeList{err: errors.New("AccessDeniedException")}
	if _, err := (&Executions{API: f, StateMachineARN: "arn:sm"}).EscalationStarted(context.Background(), "inc-1", 0); err == nil || !strings.Contains(err.Error(), "AccessDenied") {
		t.Errorf("err = %v, want the list error", err)
	}
}

type fakeDescribe struct {
	status sfntypes.StateMachineStatus
	err    error
}

func (f fakeDescribe) DescribeStateMachine(_ context.Context, in *sfn.DescribeStateMachineInput, _ ...func(*sfn.Options)) (*sfn.DescribeStateMachineOutput, error) {
	if f.err != nil {
		return nil, f.err
	}
	return &sfn.DescribeStateMachineOutput{StateMachineArn: in.StateMachineArn, Status: f.status}, nil
}

func TestStateMachineCheckActive(t *testing.T) {
	for _, tt := range []struct {
		name    string
		api     fakeDescribe
		wantErr string
	}{
		{"active", fakeDescribe{status: sfntypes.StateMachineStatusActive}, ""},
		{"deleting", fakeDescribe{status: sfntypes.StateMachineStatusDeleting}, "is DELETING, not ACTIVE"},
		{"gone", fakeDescribe{err: &sfntypes.StateMachineDoesNotExist{Message: aws.String("no")}}, "describe state machine arn:sm"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := (&StateMachine{API: tt.api, ARN: "arn:sm"}).CheckActive(context.Background())
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("CheckActive = %v, want %q", err, tt.wantErr)
			}
		})
	}
}
