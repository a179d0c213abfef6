package sfnlocal

import (
	"encoding/json"
	"fmt"
	"reflect"

	"github.com/aws/aws-lambda-go/lambda/messages"
)

// Error names the executor itself reports, as Step Functions names them.
const (
	// ErrAll is the wildcard that matches every error name except the
	// terminal ones (States.Runtime, States.DataLimitExceeded).
	ErrAll = "States.ALL"
	// ErrTaskFailed matches any error a task reports except States.Timeout.
	ErrTaskFailed = "States.TaskFailed"
	// ErrTimeout is a task timeout; the executor never reports it, since an
	// in-process function cannot be timed out meaningfully on a virtual clock.
	ErrTimeout = "States.Timeout"
	// ErrRuntime is a runtime problem (a path that selects nothing, a bad
	// timestamp ...). It fails the execution; Retry and Catch never see it.
	ErrRuntime = "States.Runtime"
	// ErrDataLimitExceeded is a state input or output over 256 KiB. Like
	// States.Runtime it is terminal.
	ErrDataLimitExceeded = "States.DataLimitExceeded"
	// ErrNoChoiceMatched is a Choice state with no matching rule and no Default.
	ErrNoChoiceMatched = "States.NoChoiceMatched"
	// ErrTransitionLimit is the executor's own guard against a runaway loop:
	// more state transitions in one RunReady call than the limit allows
	// without waiting for a later time. Step Functions has no such error.
	ErrTransitionLimit = "Local.TransitionLimitExceeded"
)

// DefinitionError is a state-machine definition New cannot run: malformed,
// or using a state type, field or value this executor does not support.
type DefinitionError struct {
	// State is the state's name, empty for a top-level problem.
	State string
	// Field is the field, e.g. "Retry[1].JitterStrategy", empty for the
	// state as a whole.
	Field string
	// Reason says what is wrong.
	Reason string
}

// Error names the state and field at fault and why.
func (e *DefinitionError) Error() string {
	s := "state machine definition"
	if e.State != "" {
		s += fmt.Sprintf(": state %q", e.State)
	}
	if e.Field != "" {
		s += ": field " + e.Field
	}
	return s + ": " + e.Reason
}

// ExecutionAlreadyExistsError is StartExecution's ExecutionAlreadyExists:
// the name belongs to an execution that is closed, or that is running with
// a different input. (A running execution with the same input is not an
// error: Start is idempotent for it.)
type ExecutionAlreadyExistsError struct {
	// Name is the execution's name.
	Name string
	// Closed is true when the existing execution has finished; Step
	// Functions refuses its name then whatever the input.
	Closed bool
}

// Error names the execution.
func (e *ExecutionAlreadyExistsError) Error() string {
	if e.Closed {
		return fmt.Sprintf("execution already exists: %q has finished, and a finished execution's name cannot be started again", e.Name)
	}
	return fmt.Sprintf("execution already exists: %q is running with a different input", e.Name)
}

// ErrorType is the error name Step Functions sees when a Go Lambda function
// returns err (or panics with it): AWS Lambda's errorType, which
// aws-lambda-go derives from the Go type of the value, the element type's
// name for a pointer. So *PagerDutyUnavailableError gives
// "PagerDutyUnavailableError", errors.New gives "errorString", fmt.Errorf
// with %w gives "wrapError", and a panic with a string gives "string". An
// unnamed type gives "", as it does in Lambda.
func ErrorType(v any) string {
	if v == nil {
		return ""
	}
	if ive, ok := v.(messages.InvokeResponse_Error); ok {
		return ive.Type
	}
	t := reflect.TypeOf(v)
	if t.Kind() == reflect.Pointer {
		return t.Elem().Name()
	}
	return t.Name()
}

// lambdaError is the error name and cause Step Functions records for a
// failed Lambda invocation: the cause is the function's error payload.
func lambdaError(v any, panicked bool) (name, cause string) {
	resp := messages.InvokeResponse_Error{Type: ErrorType(v)}
	switch x := v.(type) {
	case messages.InvokeResponse_Error:
		resp = messages.InvokeResponse_Error{Message: x.Message, Type: x.Type}
	case error:
		if panicked {
			resp.Message = fmt.Sprintf("%v", x)
		} else {
			resp.Message = safeMessage(x)
		}
	default:
		resp.Message = fmt.Sprintf("%v", x)
	}
	b, err := json.Marshal(resp)
	if err != nil {
		return resp.Type, resp.Message
	}
	return resp.Type, string(b)
}

// safeMessage calls err.Error(), surviving a method that panics (a nil
// pointer of a named error type, say).
func safeMessage(err error) (msg string) {
	defer func() {
		if r := recover(); r != nil {
			msg = fmt.Sprintf("%T (Error panicked: %v)", err, r)
		}
	}()
	return err.Error()
}

// fieldError is a problem with one field, found by a parser that does not
// know the state's name; parseState turns it into a *DefinitionError.
type fieldError struct{ field, reason string }

func (e *fieldError) Error() string { return e.field + ": " + e.reason }

func ferr(field, format string, args ...any) error {
	return &fieldError{field: field, reason: fmt.Sprintf(format, args...)}
}

// inState turns a *fieldError into a *DefinitionError for state st.
func inState(st string, err error) error {
	if fe, ok := err.(*fieldError); ok {
		return &DefinitionError{State: st, Field: fe.field, Reason: fe.reason}
	}
	return err
}

// ExecutionDoesNotExistError is Stop's error for a name never started,
// Step Functions' ExecutionDoesNotExist.
type ExecutionDoesNotExistError struct {
	// Name is the execution's name.
	Name string
}

// Error names the execution.
func (e *ExecutionDoesNotExistError) Error() string {
	return fmt.Sprintf("execution does not exist: %q was never started", e.Name)
}
