package stepfunctions

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/dashboarduz/incident-response/shared/incident"
)

type fakeSFN func(in *sfn.StartExecutionInput) error

func (f fakeSFN) StartExecution(_ context.Context, in *sfn.StartExecutionInput, _ ...func(*sfn.Options)) (*sfn.StartExecutionOutput, error) {
	if err := f(in); err != nil {
		return nil, err
	}
	return &sfn.StartExecutionOutput{ExecutionArn: aws.String("arn:execution")}, nil
}

func TestStartEscalation(t *testing.T) {
	tests := []struct {
		name    string
		err     error
		wantErr bool
	}{
		{"started", nil, false},
		{"already exists is success", &sfntypes.ExecutionAlreadyExists{Message: aws.String("exists")}, false},
		{"throttled is an error", errors.New("ThrottlingException"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got *sfn.StartExecutionInput
			s := NewStarter(fakeSFN(func(in *sfn.StartExecutionInput) error { got = in; return tt.err }), "arn:sm")
			err := s.StartEscalation(context.Background(), incident.EscalationState{IncidentID: "inc-1"})
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if aws.ToString(got.Name) != "inc-1" || aws.ToString(got.StateMachineArn) != "arn:sm" || aws.ToString(got.Input) != `{"incidentId":"inc-1"}` {
				t.Errorf("request = name %q, arn %q, input %q", aws.ToString(got.Name), aws.ToString(got.StateMachineArn), aws.ToString(got.Input))
			}
			if err := s.StartEscalation(context.Background(), incident.EscalationState{IncidentID: "inc-1", Service: "api", Generation: 3}); (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if aws.ToString(got.Name) != "inc-1-g3" || aws.ToString(got.Input) != `{"incidentId":"inc-1","service":"api","generation":3}` {
				t.Errorf("generation 3: name %q, input %q", aws.ToString(got.Name), aws.ToString(got.Input))
			}
		})
	}
}

type fakeStop func(in *sfn.StopExecutionInput) error

func (f fakeStop) StopExecution(_ context.Context, in *sfn.StopExecutionInput, _ ...func(*sfn.Options)) (*sfn.StopExecutionOutput, error) {
	if err := f(in); err != nil {
		return nil, err
	}
	return &sfn.StopExecutionOutput{}, nil
}

func TestStopEscalation(t *testing.T) {
	const sm = "arn:aws:states:eu-west-1:123456789012:stateMachine:prod-escalation"
	var got *sfn.StopExecutionInput
	var answer error
	s := NewStopper(fakeStop(func(in *sfn.StopExecutionInput) error { got = in; return answer }), sm)
	st := incident.EscalationState{IncidentID: "inc-1", Generation: 2, Handover: 1}
	if err := s.StopEscalation(context.Background(), st, "generation 3 has taken over"); err != nil {
		t.Fatal(err)
	}
	if aws.ToString(got.ExecutionArn) != "arn:aws:states:eu-west-1:123456789012:execution:prod-escalation:inc-1-g2-h1" ||
		aws.ToString(got.Error) != "Superseded" || aws.ToString(got.Cause) != "generation 3 has taken over" {
		t.Errorf("request = %q %q %q", aws.ToString(got.ExecutionArn), aws.ToString(got.Error), aws.ToString(got.Cause))
	}
	answer = &sfntypes.ExecutionDoesNotExist{Message: aws.String("none")}
	if err := s.StopEscalation(context.Background(), st, "x"); err != nil {
		t.Errorf("a missing execution: %v, want no error", err)
	}
	answer = errors.New("ThrottlingException")
	if err := s.StopEscalation(context.Background(), st, "x"); err == nil {
		t.Error("a throttled stop: no error")
	}
	if err := NewStopper(fakeStop(func(*sfn.StopExecutionInput) error { return nil }), "arn:sm").StopEscalation(context.Background(), st, "x"); err == nil {
		t.Error("a malformed state machine ARN: no error")
	}
}
