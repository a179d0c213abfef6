package pagerduty

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	pd "github.com/PagerDuty/go-pagerduty"

	"github.com/dashboarduz/incident-response/shared/incident"
)

// PagerDutyUnavailableError means PagerDuty did not take the event but may
// take it later: it answered 429, 408 or a 5xx, or it could not be reached
// or did not answer in time. Sending the same event again is safe because its
// dedup_key is fixed, so Step Functions retries on this type's name.
// The name stutters on purpose: it is the errorType Step Functions matches.
type PagerDutyUnavailableError struct {
	// Action is the event action that failed: trigger, acknowledge or
	// resolve.
	Action string
	// DedupKey is the event's dedup_key.
	DedupKey string
	// StatusCode is PagerDuty's HTTP status, 0 when no answer came.
	StatusCode int
	// Message is PagerDuty's explanation, or what went wrong on the way.
	Message string
	// RetryAfter is PagerDuty's Retry-After hint, 0 when it gave none.
	RetryAfter time.Duration
	// Timeout reports that no answer came in time.
	Timeout bool
	// Err is the underlying error, if any.
	Err error
}

// Error says what happened in words a person reading the timeline
// understands. It never contains the routing key.
func (e *PagerDutyUnavailableError) Error() string {
	var b strings.Builder
	switch {
	case e.StatusCode != 0:
		fmt.Fprintf(&b, "PagerDuty answered %s to %s", statusLine(e.StatusCode), e.what())
	case e.Timeout:
		fmt.Fprintf(&b, "PagerDuty did not answer %s in time", e.what())
	default:
		fmt.Fprintf(&b, "PagerDuty could not be reached for %s", e.what())
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, " (retry after %s)", e.RetryAfter)
	}
	return b.String()
}

// Unwrap returns the domain error (code incident.EUnavailable: retry
// later) and the underlying error.
func (e *PagerDutyUnavailableError) Unwrap() []error {
	return causes(&incident.Error{Code: incident.EUnavailable, Message: e.Error()}, e.Err)
}

func (e *PagerDutyUnavailableError) what() string { return eventName(e.Action, e.DedupKey) }

// PagerDutyRejectedError means PagerDuty refused the event with a 4xx other
// than 429 and 408, e.g. for an unknown or malformed routing key. Sending it
// again would be refused again; RoutingKeyRefused tells a refusal of the
// routing key, which concerns one escalation level, from a refusal of the
// event itself.
// The name stutters on purpose: it is the errorType Step Functions matches.
type PagerDutyRejectedError struct {
	// Action is the event action that was refused.
	Action string
	// DedupKey is the event's dedup_key.
	DedupKey string
	// StatusCode is PagerDuty's HTTP status.
	StatusCode int
	// Message is PagerDuty's explanation, with the errors it listed.
	Message string
	// Err is the underlying error, if any.
	Err error
}

// Error says what PagerDuty refused and why. It never contains the routing
// key.
func (e *PagerDutyRejectedError) Error() string {
	s := fmt.Sprintf("PagerDuty answered %s to %s", statusLine(e.StatusCode), eventName(e.Action, e.DedupKey))
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// Unwrap returns the domain error and the underlying error. A refused
// routing key concerns one escalation level (incident.EUndeliverable);
// any other refusal is of the event itself (incident.EInvalid).
func (e *PagerDutyRejectedError) Unwrap() []error {
	code := incident.EInvalid
	if e.RoutingKeyRefused() {
		code = incident.EUndeliverable
	}
	return causes(&incident.Error{Code: code, Message: e.Error()}, e.Err)
}

// causes lists the coded error first, so incident.ErrorCode finds it, and
// the underlying error when there is one.
func causes(coded *incident.Error, err error) []error {
	if err == nil {
		return []error{coded}
	}
	return []error{coded, err}
}

// RoutingKeyRefused reports whether PagerDuty refused the routing key
// ("Invalid routing key", "Length of 'routing_key' is incorrect", ...)
// rather than the event: only the pages sent with that key fail.
func (e *PagerDutyRejectedError) RoutingKeyRefused() bool {
	return strings.Contains(strings.ToLower(e.Message), "routing")
}

func statusLine(code int) string {
	if t := http.StatusText(code); t != "" {
		return fmt.Sprintf("%d %s", code, t)
	}
	return fmt.Sprintf("%d", code)
}

func eventName(action, dedupKey string) string {
	if dedupKey == "" {
		return "the " + action + " event"
	}
	return fmt.Sprintf("the %s for %s", action, dedupKey)
}

// retryable reports whether PagerDuty may take an event later after
// answering with status code: 429, 408 (its side timed out) and any 5xx,
// as PagerDuty's Events API documentation lists them.
func retryable(code int) bool {
	return code == http.StatusTooManyRequests || code == http.StatusRequestTimeout || code >= 500
}

// classify turns what ManageEventWithContext returned into one of the two
// named errors. x is what the HTTP client built by NewEventsClient saw on
// the wire (nil for another EventsAPI); it is preferred because go-pagerduty
// v1.8.0 decodes Events API errors with the REST API's error shape, which
// loses PagerDuty's message, and turns transport errors into plain strings.
func classify(ctx context.Context, action, dedupKey string, err error, x *exchange) error {
	if x != nil && x.seen {
		if x.err != nil {
			return &PagerDutyUnavailableError{Action: action, DedupKey: dedupKey, Message: x.err.Error(), Timeout: isTimeout(x.err), Err: err}
		}
		if x.status < 200 || x.status > 299 {
			return statusError(action, dedupKey, x.status, x.message, x.retryAfter, err)
		}
	}
	var apiErr pd.APIError
	if errors.As(err, &apiErr) {
		msg := ""
		if apiErr.APIError.Valid {
			msg = joinMessage(apiErr.APIError.ErrorObject.Message, apiErr.APIError.ErrorObject.Errors)
		}
		return statusError(action, dedupKey, apiErr.StatusCode, msg, 0, err)
	}
	var evErr pd.EventsAPIV2Error
	if errors.As(err, &evErr) {
		msg := ""
		if evErr.APIError.Valid {
			msg = joinMessage(evErr.APIError.ErrorObject.Message, evErr.APIError.ErrorObject.Errors)
		}
		return statusError(action, dedupKey, evErr.StatusCode, msg, 0, err)
	}
	// Anything else happened before PagerDuty gave an answer we could read
	// (a connection error, a timeout, an unreadable 2xx body). The event
	// may be resent safely: its dedup_key is fixed.
	return &PagerDutyUnavailableError{Action: action, DedupKey: dedupKey, Message: err.Error(), Timeout: isTimeout(err) || ctx.Err() != nil, Err: err}
}

func statusError(action, dedupKey string, code int, msg string, retryAfter time.Duration, err error) error {
	if retryable(code) {
		return &PagerDutyUnavailableError{Action: action, DedupKey: dedupKey, StatusCode: code, Message: msg, RetryAfter: retryAfter, Err: err}
	}
	return &PagerDutyRejectedError{Action: action, DedupKey: dedupKey, StatusCode: code, Message: msg, Err: err}
}

func joinMessage(msg string, errs []string) string {
	parts := make([]string, 0, 1+len(errs))
	if msg != "" {
		parts = append(parts, msg)
	}
	parts = append(parts, errs...)
	return strings.Join(parts, ": ")
}

func isTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
