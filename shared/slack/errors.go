package slack

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	slackgo "github.com/slack-go/slack"
)

// SlackUnavailableError means Slack did not take the call but may take it
// later: it kept answering 429 beyond the Notifier's bound, answered 408
// or a 5xx or one of its transient error codes, or could not be reached in
// time. The caller retries later (the Notify task's message ledger, after
// RetryAfterDuration) and records the failure on the timeline; a message
// never holds up a page.
type SlackUnavailableError struct {
	// Method is the Web API method, e.g. "chat.postMessage".
	Method string
	// StatusCode is Slack's HTTP status, 0 when no answer came.
	StatusCode int
	// Code is Slack's error code ("internal_error", "ratelimited"), when
	// it gave one.
	Code string
	// RetryAfter is Slack's Retry-After hint, 0 when it gave none.
	RetryAfter time.Duration
	// Err is the underlying error.
	Err error
}

// Error says what happened. It never contains the token.
func (e *SlackUnavailableError) Error() string {
	s := "Slack could not be reached for " + e.Method
	switch {
	case e.StatusCode == http.StatusTooManyRequests:
		s = "Slack rate-limited " + e.Method
	case e.StatusCode == http.StatusOK:
		s = "Slack failed " + e.Method
	case e.StatusCode != 0:
		s = fmt.Sprintf("Slack answered %d to %s", e.StatusCode, e.Method)
	}
	if e.Code != "" {
		s += ": " + e.Code
	} else if e.Err != nil && e.StatusCode == 0 {
		s += ": " + e.Err.Error()
	}
	if e.RetryAfter > 0 {
		s += fmt.Sprintf(" (retry after %s)", e.RetryAfter)
	}
	return s
}

// Unwrap returns the underlying error.
func (e *SlackUnavailableError) Unwrap() error { return e.Err }

// SlackRejectedError means Slack refused the call for good: sending it
// again would be refused again until somebody fixes the cause
// (channel_not_found, not_in_channel, invalid_auth, invalid_blocks, ...).
type SlackRejectedError struct {
	// Method is the Web API method.
	Method string
	// Code is Slack's error code, or "http_<status>" for a 4xx without
	// one.
	Code string
	// Err is the underlying error.
	Err error
}

// Error says what Slack refused and why.
func (e *SlackRejectedError) Error() string {
	return fmt.Sprintf("Slack refused %s: %s", e.Method, e.Code)
}

// Unwrap returns the underlying error.
func (e *SlackRejectedError) Unwrap() error { return e.Err }

// AuthFailed reports whether Slack refused the bot token itself: it was
// revoked, rotated or never valid, so every call fails until the secret
// holds a good one.
func (e *SlackRejectedError) AuthFailed() bool {
	switch e.Code {
	case "invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired", "no_permission", "missing_scope":
		return true
	}
	return false
}

// Retryable reports whether err is worth trying again later: a
// *SlackUnavailableError anywhere in its chain.
func Retryable(err error) bool {
	var u *SlackUnavailableError
	return errors.As(err, &u)
}

// transientCodes are Slack's error codes for failures on its side, which
// its documentation says to retry.
var transientCodes = map[string]bool{
	"internal_error":      true,
	"fatal_error":         true,
	"service_unavailable": true,
	"request_timeout":     true,
	"ratelimited":         true,
	"rate_limited":        true,
}

// classify turns what slack-go returned from method into one of the two
// named errors.
func classify(method string, err error) error {
	if err == nil {
		return nil
	}
	var (
		rl   *slackgo.RateLimitedError
		sc   slackgo.StatusCodeError
		resp slackgo.SlackErrorResponse
	)
	switch {
	case errors.As(err, &rl):
		return &SlackUnavailableError{Method: method, StatusCode: http.StatusTooManyRequests, RetryAfter: rl.RetryAfter, Err: err}
	case errors.As(err, &sc):
		if sc.Code == http.StatusTooManyRequests || sc.Code == http.StatusRequestTimeout || sc.Code >= 500 {
			return &SlackUnavailableError{Method: method, StatusCode: sc.Code, Err: err}
		}
		return &SlackRejectedError{Method: method, Code: fmt.Sprintf("http_%d", sc.Code), Err: err}
	case errors.As(err, &resp):
		if transientCodes[resp.Err] {
			return &SlackUnavailableError{Method: method, StatusCode: http.StatusOK, Code: resp.Err, Err: err}
		}
		return &SlackRejectedError{Method: method, Code: resp.Err, Err: err}
	case errors.Is(err, slackgo.ErrParametersMissing), errors.Is(err, slackgo.ErrBlockIDNotUnique):
		return &SlackRejectedError{Method: method, Code: err.Error(), Err: err}
	}
	// Anything else failed before Slack gave an answer we could read: a
	// connection refused or reset, a timeout, a cancelled context, an
	// unreadable body.
	return &SlackUnavailableError{Method: method, Err: err}
}

// RetryAfterDuration returns Slack's Retry-After hint, so that a caller
// keeping its own schedule does not try before Slack asked.
func (e *SlackUnavailableError) RetryAfterDuration() time.Duration { return e.RetryAfter }
