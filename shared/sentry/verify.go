package sentry

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dashboarduz/incident-response/shared/incident"
)

// The headers of a Sentry webhook.
const (
	HeaderSignature = "Sentry-Hook-Signature"
	HeaderResource  = "Sentry-Hook-Resource"
	HeaderTimestamp = "Sentry-Hook-Timestamp"
	HeaderRequestID = "Request-ID"
)

// The Sentry-Hook-Resource values Sentry documents.
const (
	ResourceIssue           = "issue"
	ResourceMetricAlert     = "metric_alert"
	ResourceEventAlert      = "event_alert"
	ResourceInstallation    = "installation"
	ResourceError           = "error"
	ResourceComment         = "comment"
	ResourceSeer            = "seer"
	ResourcePreprodArtifact = "preprod_artifact"
)

// knownResources are the resources Sentry sends; Decode reads the first
// three and answers the others with an ignored signal.
var knownResources = []string{
	ResourceIssue, ResourceMetricAlert, ResourceEventAlert,
	ResourceInstallation, ResourceError, ResourceComment, ResourceSeer, ResourcePreprodArtifact,
}

// ErrorKind says what is wrong with a delivery.
type ErrorKind int

// The kinds of WebhookError. The first three are answered 401, the others
// 400.
const (
	// Unsigned: the Sentry-Hook-Signature header is missing.
	Unsigned ErrorKind = iota + 1
	// BadSignature: the signature matches none of the client secrets.
	BadSignature
	// Stale: the Sentry-Hook-Timestamp is missing, unreadable, too old or
	// in the future.
	Stale
	// Malformed: a header or the body is not what Sentry sends.
	Malformed
	// Unsupported: a resource, action or payload shape this package does
	// not read.
	Unsupported
)

// String names the kind.
func (k ErrorKind) String() string {
	switch k {
	case Unsigned:
		return "unsigned"
	case BadSignature:
		return "bad signature"
	case Stale:
		return "stale"
	case Malformed:
		return "malformed"
	case Unsupported:
		return "unsupported"
	}
	return "unknown"
}

// HTTPStatus is the status the API answers a delivery with this problem.
func (k ErrorKind) HTTPStatus() int {
	if k == Unsigned || k == BadSignature || k == Stale {
		return http.StatusUnauthorized
	}
	return http.StatusBadRequest
}

// WebhookError is every error of Verify and Decode. Problem is the detail
// for the logs; the *incident.Error it wraps (code unauthorized or
// invalid) carries the message safe to answer with, which for a 401 says
// nothing about the secrets.
type WebhookError struct {
	Kind    ErrorKind
	Problem string
	Err     error
}

// Error implements the error interface.
func (e *WebhookError) Error() string {
	return fmt.Sprintf("sentry webhook %s: %s", e.Kind, e.Problem)
}

// Unwrap gives the *incident.Error for incident.ErrorCode and the
// underlying error, if any.
func (e *WebhookError) Unwrap() []error {
	public := &incident.Error{Code: incident.EInvalid, Message: "invalid Sentry webhook: " + e.Problem}
	switch e.Kind {
	case Unsigned:
		public = &incident.Error{Code: incident.EUnauthorized, Message: "missing " + HeaderSignature}
	case BadSignature:
		public = &incident.Error{Code: incident.EUnauthorized, Message: HeaderSignature + " does not match"}
	case Stale:
		public = &incident.Error{Code: incident.EUnauthorized, Message: HeaderTimestamp + " is missing, too old or in the future"}
	}
	if e.Err == nil {
		return []error{public}
	}
	return []error{public, e.Err}
}

// HTTPStatus is the status the API answers with.
func (e *WebhookError) HTTPStatus() int { return e.Kind.HTTPStatus() }

func webhookErrorf(kind ErrorKind, err error, format string, args ...any) *WebhookError {
	return &WebhookError{Kind: kind, Problem: fmt.Sprintf(format, args...), Err: err}
}

// Delivery is a verified webhook: its headers read and its body signed by
// one of the client secrets.
type Delivery struct {
	// Resource is the Sentry-Hook-Resource header.
	Resource string
	// RequestID is the Request-ID header; Sentry sends a new one with
	// every retry, so it identifies an attempt, not the webhook.
	RequestID string
	// Timestamp is the Sentry-Hook-Timestamp: when Sentry sent it.
	Timestamp time.Time
	Body      []byte
}

// Default bounds of a delivery's timestamp. Sentry retries a failed
// delivery with a new timestamp, so a bound of minutes refuses only
// replays and badly skewed clocks.
const (
	DefaultMaxAge    = 5 * time.Minute
	DefaultMaxFuture = time.Minute
)

// Verifier authenticates deliveries.
type Verifier struct {
	// Secrets are the integration's client secrets; several while one is
	// rotated. A delivery signed with any of them is accepted.
	Secrets []string
	// Clock is required: the timestamp's age is measured on it.
	Clock incident.Clock
	// MaxAge and MaxFuture bound the timestamp; zero means the defaults.
	MaxAge    time.Duration
	MaxFuture time.Duration
}

// Verify checks a delivery's signature first, so nothing of an
// unauthenticated request is read further, then its timestamp and
// resource, and returns the delivery. The timestamp is not covered by the
// signature, so its bound only refuses naive replays; what makes any
// replay harmless is that Decode's EventID comes from the payload, which
// ingest counts once.
func (v Verifier) Verify(h http.Header, body []byte) (Delivery, error) {
	if err := v.checkSignature(h.Get(HeaderSignature), body); err != nil {
		return Delivery{}, err
	}
	ts, err := v.checkTimestamp(h.Get(HeaderTimestamp))
	if err != nil {
		return Delivery{}, err
	}
	resource := strings.TrimSpace(h.Get(HeaderResource))
	if resource == "" {
		return Delivery{}, webhookErrorf(Malformed, nil, "%s is missing", HeaderResource)
	}
	if !slices.Contains(knownResources, resource) {
		return Delivery{}, webhookErrorf(Unsupported, nil, "%s %q is not a Sentry resource (want one of %s)",
			HeaderResource, clip(resource), strings.Join(knownResources, ", "))
	}
	return Delivery{Resource: resource, RequestID: h.Get(HeaderRequestID), Timestamp: ts, Body: body}, nil
}

// checkSignature compares the header, hex, with the HMAC-SHA256 of the raw
// body under each secret, in constant time.
func (v Verifier) checkSignature(header string, body []byte) error {
	header = strings.TrimSpace(header)
	if header == "" {
		return webhookErrorf(Unsigned, nil, "%s is missing", HeaderSignature)
	}
	got, err := hex.DecodeString(header)
	if err != nil || len(got) != sha256.Size {
		return webhookErrorf(BadSignature, nil, "%s is not a hex HMAC-SHA256", HeaderSignature)
	}
	matched := false
	for _, secret := range v.Secrets {
		if secret == "" {
			continue
		}
		if hmac.Equal(signature(secret, body), got) {
			matched = true
		}
	}
	if !matched {
		return webhookErrorf(BadSignature, nil, "%s matches none of the %d configured client secrets", HeaderSignature, len(v.Secrets))
	}
	return nil
}

// checkTimestamp reads the timestamp (Unix seconds, which Sentry sends as
// an integer) and bounds its age.
func (v Verifier) checkTimestamp(header string) (time.Time, error) {
	header = strings.TrimSpace(header)
	if header == "" {
		return time.Time{}, webhookErrorf(Stale, nil, "%s is missing", HeaderTimestamp)
	}
	ts, ok := unixSeconds(header)
	if !ok {
		return time.Time{}, webhookErrorf(Stale, nil, "%s %q is not Unix seconds", HeaderTimestamp, clip(header))
	}
	now := v.Clock.Now()
	maxAge, maxFuture := v.MaxAge, v.MaxFuture
	if maxAge <= 0 {
		maxAge = DefaultMaxAge
	}
	if maxFuture <= 0 {
		maxFuture = DefaultMaxFuture
	}
	switch {
	case now.Sub(ts) > maxAge:
		return time.Time{}, webhookErrorf(Stale, nil, "%s %s is %s old, more than %s", HeaderTimestamp, header, now.Sub(ts).Round(time.Second), maxAge)
	case ts.Sub(now) > maxFuture:
		return time.Time{}, webhookErrorf(Stale, nil, "%s %s is %s in the future, more than %s", HeaderTimestamp, header, ts.Sub(now).Round(time.Second), maxFuture)
	}
	return ts, nil
}

// unixSeconds reads whole Unix seconds with an optional fraction
// ("1772334917" or "1772334917.677"); nothing else, no sign, no exponent.
func unixSeconds(s string) (time.Time, bool) {
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" || len(whole) > 11 || len(frac) > 9 || !digits(whole) || !digits(frac) {
		return time.Time{}, false
	}
	secs, err := strconv.ParseInt(whole, 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	var nanos int64
	if frac != "" {
		n, err := strconv.ParseInt(frac+strings.Repeat("0", 9-len(frac)), 10, 64)
		if err != nil {
			return time.Time{}, false
		}
		nanos = n
	}
	return time.Unix(secs, nanos).UTC(), true
}

func digits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// Sign returns the Sentry-Hook-Signature of body under secret: what Sentry
// sends, for the tests that sign deliveries.
func Sign(secret string, body []byte) string {
	return hex.EncodeToString(signature(secret, body))
}

// signature is the HMAC-SHA256 of body under secret.
func signature(secret string, body []byte) []byte {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return mac.Sum(nil)
}

// clip shortens a value for an error message.
func clip(s string) string {
	const max = 64
	if len(s) <= max {
		return s
	}
	return s[:max] + "..."
}
