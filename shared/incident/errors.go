package incident

import (
	"errors"
	"fmt"
)

// Error codes shared by every layer: callers branch on the code, read with
// ErrorCode, never on the message.
const (
	ENotFound     = "not_found"
	EConflict     = "conflict"
	EInvalid      = "invalid"
	EUnauthorized = "unauthorized"
	// EForbidden: the caller is known but their role may not do this.
	EForbidden = "forbidden"
	EInternal  = "internal"
	// EUnavailable: an outside service (PagerDuty, Slack, AWS) did not
	// take the request but may later (throttled, 5xx, no answer): retry.
	EUnavailable = "unavailable"
	// EUndeliverable: one destination refuses for a reason of its own
	// (an escalation level's routing key is missing or refused); retrying
	// will not help, other destinations are unaffected.
	EUndeliverable = "undeliverable"
)

// Error is an error the caller can act on: its Code says what kind it is and
// its Message is safe to show to the caller.
type Error struct {
	Code    string
	Message string
	// Field, when set, names the request field the error is about.
	Field string
}

// Error implements the error interface.
func (e *Error) Error() string { return fmt.Sprintf("%s: %s", e.Code, e.Message) }

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// FieldErrorf returns an EInvalid *Error about one field of a request.
func FieldErrorf(field, format string, args ...any) *Error {
	return &Error{Code: EInvalid, Message: fmt.Sprintf(format, args...), Field: field}
}

// ErrorCode returns the code of the first *Error in err's chain, EInternal
// for any other non-nil error and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EInternal
}

// ErrorMessage returns the message of the first *Error in err's chain, and a
// generic text for any other error so that internal details never reach a
// caller.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}
