package stepfunctions

import (
	"context"
	"errors"
	"github.com/dashboarduz/incident-response/shared/incident"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
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
