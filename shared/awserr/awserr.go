// Package awserr turns the errors of aws-sdk-go-v2 calls into the two
// errors the system branches on: AWSUnavailableError, when AWS did not do
// the call now but may later (throttled, a 5xx, no answer in time, not
// reachable), which callers retry (see Retryable); and
// AWSRejectedError, when AWS refused the call and would refuse it again
// (access denied, an invalid request, a missing resource, a conflict),
// which carries an *incident.Error code and is recorded, not retried.
//
// The SDK has already retried throttling and 5xx answers by the time an
// adapter sees them; what reaches the adapter is what its retries could
// not fix.
package awserr

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"

	"github.com/dashboarduz/incident-response/shared/incident"
)

// AWSUnavailableError means an AWS service did not do the call but may
// do it later.
type AWSUnavailableError struct {
	// Service is the service's name, e.g. "ECS".
	Service string
	// Operation is the API operation, e.g. "UpdateService".
	Operation string
	// Target says what the call was about, e.g. "service dashboarduz/dashboarduz-api".
	Target string
	// Code is AWS's error code, "" when no answer came.
	Code string
	// StatusCode is the HTTP status, 0 when no answer came.
	StatusCode int
	// Timeout reports that no answer came in time.
	Timeout bool
	// Err is the SDK's error.
	Err error
}

// Error says what failed in words a person reading the timeline
// understands.
func (e *AWSUnavailableError) Error() string {
	what := fmt.Sprintf("%s %s", e.Service, e.Operation)
	if e.Target != "" {
		what += " on " + e.Target
	}
	switch {
	case e.Timeout:
		return what + " did not answer in time"
	case e.Code != "":
		return fmt.Sprintf("%s failed for now (%s, HTTP %d); it may succeed if tried again: %s", what, e.Code, e.StatusCode, message(e.Err))
	default:
		return fmt.Sprintf("%s could not be reached: %v", what, e.Err)
	}
}

// Unwrap returns the SDK's error.
func (e *AWSUnavailableError) Unwrap() error { return e.Err }

// AWSRejectedError means an AWS service refused the call and would refuse
// it again. It unwraps to an *incident.Error whose code says why
// (unauthorized, invalid, not_found, conflict) and to the SDK's error.
type AWSRejectedError struct {
	Service    string
	Operation  string
	Target     string
	Code       string
	StatusCode int
	// Coded is the error with the code callers branch on.
	Coded *incident.Error
	Err   error
}

// Error is the coded error's message.
func (e *AWSRejectedError) Error() string { return e.Coded.Message }

// Unwrap returns the coded error and the SDK's error.
func (e *AWSRejectedError) Unwrap() []error { return []error{e.Coded, e.Err} }

// Retryable reports whether err, or an error it wraps, is an
// *AWSUnavailableError.
func Retryable(err error) bool {
	var u *AWSUnavailableError
	return errors.As(err, &u)
}

// Classify turns the error of one SDK call into an *AWSUnavailableError or
// an *AWSRejectedError; nil stays nil. service names the service
// ("ECS"), operation the call and target what it was about.
func Classify(service, operation, target string, err error) error {
	if err == nil {
		return nil
	}
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) {
		return classifyTransport(service, operation, target, err)
	}
	code := apiErr.ErrorCode()
	status := 0
	var respErr *awshttp.ResponseError
	if errors.As(err, &respErr) {
		status = respErr.HTTPStatusCode()
	}
	if retryableCode(code) || status >= 500 || apiErr.ErrorFault() == smithy.FaultServer {
		return &AWSUnavailableError{Service: service, Operation: operation, Target: target, Code: code, StatusCode: status, Err: err}
	}
	what := fmt.Sprintf("%s refused %s", service, operation)
	if target != "" {
		what += " on " + target
	}
	ecode, why := rejection(code)
	return &AWSRejectedError{
		Service: service, Operation: operation, Target: target, Code: code, StatusCode: status, Err: err,
		Coded: incident.Errorf(ecode, "%s: %s (%s): %s", what, why, code, apiErr.ErrorMessage()),
	}
}

// classifyTransport handles errors that carry no AWS answer.
func classifyTransport(service, operation, target string, err error) error {
	var invalid smithy.InvalidParamsError
	if errors.As(err, &invalid) {
		return &AWSRejectedError{
			Service: service, Operation: operation, Target: target, Err: err,
			Coded: incident.Errorf(incident.EInvalid, "%s %s on %s was not sent: %v", service, operation, target, err),
		}
	}
	var ne net.Error
	timeout := errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
	return &AWSUnavailableError{Service: service, Operation: operation, Target: target, Timeout: timeout, Err: err}
}

// retryableCode reports whether code says the service may do the call
// later: the SDK retryer's throttling and retryable codes, and the
// services' own names for an internal or unavailable service, which they
// answer with a 5xx (checked by code too, for answers whose status was
// lost).
func retryableCode(code string) bool {
	if _, ok := retry.DefaultThrottleErrorCodes[code]; ok {
		return true
	}
	if _, ok := retry.DefaultRetryableErrorCodes[code]; ok {
		return true
	}
	switch code {
	case "ServiceUnavailable", "ServiceUnavailableException", "InternalFailure", "InternalServerError",
		"InternalServiceError", "InternalServiceFault", "ServerException", "InternalServerException":
		return true
	}
	return false
}

// rejection maps a refusal's code to an incident code and a few words.
func rejection(code string) (string, string) {
	switch {
	case strings.Contains(code, "AccessDenied"), strings.Contains(code, "NotAuthorized"),
		strings.Contains(code, "Unauthorized"), code == "UnrecognizedClientException",
		code == "InvalidClientTokenId", code == "ExpiredTokenException", code == "ExpiredToken":
		return incident.EUnauthorized, "access denied; the function's role lacks the permission"
	case strings.HasSuffix(code, "NotFound"), strings.HasSuffix(code, "NotFoundException"), strings.HasSuffix(code, "NotFoundFault"):
		return incident.ENotFound, "not found"
	case strings.Contains(code, "Conflict"), strings.HasSuffix(code, "AlreadyExists"), strings.HasSuffix(code, "AlreadyExistsException"):
		return incident.EConflict, "conflict"
	default:
		return incident.EInvalid, "invalid request"
	}
}

// message is AWS's message in err, or err's text.
func message(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) && apiErr.ErrorMessage() != "" {
		return apiErr.ErrorMessage()
	}
	return err.Error()
}
