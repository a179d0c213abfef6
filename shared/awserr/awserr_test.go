package awserr_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/dashboarduz/incident-response/shared/awserr"
	"github.com/dashboarduz/incident-response/shared/incident"
)

// answered builds the error the SDK returns for an AWS answer.
func answered(status int, code, msg string) error {
	return &smithy.OperationError{ServiceID: "ECS", OperationName: "UpdateService", Err: &awshttp.ResponseError{
		ResponseError: &smithyhttp.ResponseError{Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}}, Err: &smithy.GenericAPIError{Code: code, Message: msg}},
	}}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		name     string
		err      error
		wantType string
		wantCode string
		timeout  bool
	}{
		{"throttled", answered(400, "ThrottlingException", "Rate exceeded"), "AWSUnavailableError", incident.EInternal, false},
		{"query throttled", answered(400, "Throttling", "Rate exceeded"), "AWSUnavailableError", incident.EInternal, false},
		{"ses throttled", answered(429, "TooManyRequestsException", "slow down"), "AWSUnavailableError", incident.EInternal, false},
		{"5xx", answered(503, "Whatever", "down"), "AWSUnavailableError", incident.EInternal, false},
		{"internal by code", answered(0, "InternalServiceFault", "oops"), "AWSUnavailableError", incident.EInternal, false},
		{"deadline", fmt.Errorf("operation error: %w", context.DeadlineExceeded), "AWSUnavailableError", incident.EInternal, true},
		{"refused connection", errors.New("dial tcp 127.0.0.1:1: connect: connection refused"), "AWSUnavailableError", incident.EInternal, false},
		{"access denied", answered(400, "AccessDeniedException", "not authorized to perform ecs:UpdateService"), "AWSRejectedError", incident.EUnauthorized, false},
		{"query access denied", answered(403, "AccessDenied", "no"), "AWSRejectedError", incident.EUnauthorized, false},
		{"validation", answered(400, "ValidationException", "bad"), "AWSRejectedError", incident.EInvalid, false},
		{"client exception", answered(400, "ClientException", "TaskDefinition not found."), "AWSRejectedError", incident.EInvalid, false},
		{"service not found", answered(400, "ServiceNotFoundException", "Service not found."), "AWSRejectedError", incident.ENotFound, false},
		{"db not found", answered(404, "DBInstanceNotFound", "DBInstance x not found."), "AWSRejectedError", incident.ENotFound, false},
		{"parameter not found", answered(400, "ParameterNotFound", ""), "AWSRejectedError", incident.ENotFound, false},
		{"conflict", answered(409, "ConflictException", "exists"), "AWSRejectedError", incident.EConflict, false},
		{"already exists", answered(400, "ParameterAlreadyExists", "exists"), "AWSRejectedError", incident.EConflict, false},
		{"not sent", smithy.InvalidParamsError{Context: "UpdateServiceInput"}, "AWSRejectedError", incident.EInvalid, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := awserr.Classify("ECS", "UpdateService", "service c/s", tt.err)
			if got := reflect.TypeOf(err).Elem().Name(); got != tt.wantType {
				t.Fatalf("type = %s, want %s (%v)", got, tt.wantType, err)
			}
			if got := incident.ErrorCode(err); got != tt.wantCode {
				t.Errorf("code = %s, want %s", got, tt.wantCode)
			}
			if awserr.Retryable(err) != (tt.wantType == "AWSUnavailableError") {
				t.Errorf("Retryable = %v", awserr.Retryable(err))
			}
			var invalid smithy.InvalidParamsError
			if !errors.Is(err, tt.err) && !errors.Is(err, context.DeadlineExceeded) && !errors.As(err, &invalid) {
				t.Errorf("%v does not wrap the SDK's error", err)
			}
			var u *awserr.AWSUnavailableError
			if errors.As(err, &u) && u.Timeout != tt.timeout {
				t.Errorf("Timeout = %v, want %v", u.Timeout, tt.timeout)
			}
			if !strings.Contains(err.Error(), "ECS") || !strings.Contains(err.Error(), "UpdateService") {
				t.Errorf("message %q does not say what failed", err.Error())
			}
		})
	}
	if awserr.Classify("ECS", "UpdateService", "", nil) != nil {
		t.Error("nil is not nil")
	}
}

func TestRejectedMessageIsSafeAndSpecific(t *testing.T) {
	err := awserr.Classify("SSM", "PutParameter", "parameter /maintenance", answered(400, "AccessDeniedException", "User: arn:aws:sts::1:assumed-role/r is not authorized to perform: ssm:PutParameter"))
	want := "SSM refused PutParameter on parameter /maintenance: access denied; the function's role lacks the permission (AccessDeniedException): User: arn:aws:sts::1:assumed-role/r is not authorized to perform: ssm:PutParameter"
	if got := incident.ErrorMessage(err); got != want {
		t.Errorf("message = %q\nwant      %q", got, want)
	}
}
