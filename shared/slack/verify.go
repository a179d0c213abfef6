package slack

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/dashboarduz/incident-response/shared/incident"
)

// The headers Slack signs its requests with.
const (
	HeaderSignature = "X-Slack-Signature"
	HeaderTimestamp = "X-Slack-Request-Timestamp"
)

// DefaultMaxAge is how far a request's timestamp may be from now, as
// Slack's documentation advises: five minutes either way.
const DefaultMaxAge = 5 * time.Minute

// UnverifiedError means a request does not carry a valid, fresh Slack
// signature: it is not from Slack, was altered, or is a replay. The API
// answers 401 and changes nothing.
type UnverifiedError struct {
	// Reason says what was wrong, for the log; it holds no secret.
	Reason string
}

// Error returns the reason.
func (e *UnverifiedError) Error() string { return "unverified Slack request: " + e.Reason }

// SigningSecretSource gives the app's signing secrets: the current one
// and, while it is being rotated, the previous one. The Lambda's wiring
// reads them from Secrets Manager and keeps them for a while.
type SigningSecretSource interface {
	SlackSigningSecrets(ctx context.Context) ([]string, error)
}

// StaticSecrets is a fixed list of signing secrets, for tests and local
// mode.
type StaticSecrets []string

// SlackSigningSecrets returns the secrets.
func (s StaticSecrets) SlackSigningSecrets(context.Context) ([]string, error) { return s, nil }

// Verifier checks Slack's v0 request signatures: an HMAC-SHA256, keyed
// with the signing secret, of "v0:<timestamp>:<body>", and a timestamp
// within MaxAge of now. It checks what slack-go's NewSecretsVerifier
// checks (a test holds them to the same answers), but reads the time
// from its Clock, so tests, fuzzing and the virtual clock of local mode
// can sign with their own time, and it tries every secret of a rotation.
type Verifier struct {
	Secrets SigningSecretSource
	// Clock is the time requests are judged fresh against; nil means the
	// system clock.
	Clock incident.Clock
	// MaxAge is how far a timestamp may be from now; zero means
	// DefaultMaxAge.
	MaxAge time.Duration
}

// Verify checks the signature of a request whose headers are h and whose
// raw body is body. It returns an *UnverifiedError for a request that is
// not Slack's, and another error when the secrets cannot be read.
func (v *Verifier) Verify(ctx context.Context, h http.Header, body []byte) error {
	sig, ts := h.Get(HeaderSignature), h.Get(HeaderTimestamp)
	if sig == "" || ts == "" {
		return &UnverifiedError{Reason: "no " + HeaderSignature + " or " + HeaderTimestamp + " header"}
	}
	if err := v.fresh(ts); err != nil {
		return err
	}
	hexSig, ok := strings.CutPrefix(sig, "v0=")
	want, err := hex.DecodeString(hexSig)
	if !ok || err != nil || len(want) != sha256.Size {
		return &UnverifiedError{Reason: "the signature is not a v0 HMAC-SHA256"}
	}
	secrets, err := v.Secrets.SlackSigningSecrets(ctx)
	if err != nil {
		return fmt.Errorf("verify Slack request: read signing secrets: %w", err)
	}
	for _, secret := range secrets {
		if secret != "" && hmac.Equal(Sign(secret, ts, body), want) {
			return nil
		}
	}
	return &UnverifiedError{Reason: "the signature matches no signing secret"}
}

// fresh checks the timestamp: a Unix time in seconds within MaxAge of now.
func (v *Verifier) fresh(ts string) error {
	secs, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || secs <= 0 || len(ts) > 12 {
		return &UnverifiedError{Reason: "the timestamp is not a Unix time"}
	}
	maxAge := v.MaxAge
	if maxAge <= 0 {
		maxAge = DefaultMaxAge
	}
	var now time.Time
	if v.Clock == nil {
		now = incident.SystemClock{}.Now()
	} else {
		now = v.Clock.Now()
	}
	if age := now.Sub(time.Unix(secs, 0)); age > maxAge || age < -maxAge {
		return &UnverifiedError{Reason: fmt.Sprintf("the timestamp %s is more than %s from now", ts, maxAge)}
	}
	return nil
}

// Sign returns the v0 signature of a request body sent at timestamp ts
// (Unix seconds, as written in the header): what Slack puts after "v0="
// in X-Slack-Signature, hex-decoded.
func Sign(secret, ts string, body []byte) []byte {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte("v0:" + ts + ":"))
	mac.Write(body)
	return mac.Sum(nil)
}

// SignRequest sets the two signature headers on h as Slack would for body
// sent at time at: for tests, the local stack and replay tools.
func SignRequest(h http.Header, secret string, at time.Time, body []byte) {
	ts := strconv.FormatInt(at.Unix(), 10)
	h.Set(HeaderTimestamp, ts)
	h.Set(HeaderSignature, "v0="+hex.EncodeToString(Sign(secret, ts, body)))
}
