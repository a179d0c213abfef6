package slack

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	slackgo "github.com/slack-go/slack"

	"github.com/dashboarduz/incident-response/shared/incident"
)

// signingExample is Slack's documented worked example of a signature.
type signingExample struct {
	SigningSecret string            `json:"signingSecret"`
	Headers       map[string]string `json:"headers"`
	Body          string            `json:"body"`
}

func readEvent(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "events", "slack", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func loadSigningExample(t testing.TB) (signingExample, http.Header, time.Time) {
	t.Helper()
	var ex signingExample
	if err := json.Unmarshal(readEvent(t, "signing-example.json"), &ex); err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	for k, v := range ex.Headers {
		h.Set(k, v)
	}
	secs, _ := strconv.ParseInt(ex.Headers[HeaderTimestamp], 10, 64)
	return ex, h, time.Unix(secs, 0)
}

func at(t time.Time) incident.Clock { return incident.ClockFunc(func() time.Time { return t }) }

func TestVerifySlackExample(t *testing.T) {
	ex, h, sent := loadSigningExample(t)
	body := []byte(ex.Body)
	tests := []struct {
		name    string
		secrets StaticSecrets
		now     time.Time
		header  func(http.Header)
		body    []byte
		ok      bool
	}{
		{"as documented", StaticSecrets{ex.SigningSecret}, sent.Add(time.Minute), nil, body, true},
		{"old secret second while rotating", StaticSecrets{"new-secret-0123456789abcdef", ex.SigningSecret}, sent, nil, body, true},
		{"4m59s late", StaticSecrets{ex.SigningSecret}, sent.Add(5*time.Minute - time.Second), nil, body, true},
		{"stale", StaticSecrets{ex.SigningSecret}, sent.Add(5*time.Minute + time.Second), nil, body, false},
		{"from the future", StaticSecrets{ex.SigningSecret}, sent.Add(-6 * time.Minute), nil, body, false},
		{"other secret", StaticSecrets{"8f742231b10e8888abcd99yyyzzz85a6"}, sent, nil, body, false},
		{"no secrets", StaticSecrets{""}, sent, nil, body, false},
		{"body changed", StaticSecrets{ex.SigningSecret}, sent, nil, append(append([]byte(nil), body...), '&'), false},
		{"timestamp changed", StaticSecrets{ex.SigningSecret}, sent, func(h http.Header) { h.Set(HeaderTimestamp, "1531420619") }, body, false},
		{"no signature", StaticSecrets{ex.SigningSecret}, sent, func(h http.Header) { h.Del(HeaderSignature) }, body, false},
		{"v1 signature", StaticSecrets{ex.SigningSecret}, sent, func(h http.Header) { h.Set(HeaderSignature, "v1="+h.Get(HeaderSignature)[3:]) }, body, false},
		{"short signature", StaticSecrets{ex.SigningSecret}, sent, func(h http.Header) { h.Set(HeaderSignature, h.Get(HeaderSignature)[:20]) }, body, false},
		{"timestamp not a number", StaticSecrets{ex.SigningSecret}, sent, func(h http.Header) { h.Set(HeaderTimestamp, "1531420618.5") }, body, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hh := h.Clone()
			if tt.header != nil {
				tt.header(hh)
			}
			v := &Verifier{Secrets: tt.secrets, Clock: at(tt.now)}
			err := v.Verify(context.Background(), hh, tt.body)
			var unverified *UnverifiedError
			switch {
			case tt.ok && err != nil:
				t.Fatalf("Verify: %v", err)
			case !tt.ok && !errors.As(err, &unverified):
				t.Fatalf("Verify: %v (%T), want *UnverifiedError", err, err)
			}
		})
	}
}

// secretsFailing is a SigningSecretSource that cannot be read.
type secretsFailing struct{}

func (secretsFailing) SlackSigningSecrets(context.Context) ([]string, error) {
	return nil, errors.New("AccessDeniedException")
}

func TestVerifyUnreadableSecretsIsNotUnverified(t *testing.T) {
	ex, h, sent := loadSigningExample(t)
	err := (&Verifier{Secrets: secretsFailing{}, Clock: at(sent)}).Verify(context.Background(), h, []byte(ex.Body))
	var unverified *UnverifiedError
	if err == nil || errors.As(err, &unverified) {
		t.Fatalf("Verify with unreadable secrets: %v, want an error that is not a 401", err)
	}
}

// TestVerifyAgreesWithSlackGo holds the Verifier to slack-go's
// NewSecretsVerifier on requests signed now, tampered or not.
func TestVerifyAgreesWithSlackGo(t *testing.T) {
	const secret = "e6b19c573432dcc6b075501d51b51bb8"
	body := readEvent(t, "slash-command-report.txt")
	now := time.Now()
	cases := map[string]func(h http.Header) []byte{
		"signed now":         func(http.Header) []byte { return body },
		"body tampered":      func(http.Header) []byte { return append([]byte("x"), body...) },
		"signed 10 min ago":  func(h http.Header) []byte { SignRequest(h, secret, now.Add(-10*time.Minute), body); return body },
		"signed in a minute": func(h http.Header) []byte { SignRequest(h, secret, now.Add(time.Minute), body); return body },
		"wrong secret":       func(h http.Header) []byte { SignRequest(h, "other", now, body); return body },
	}
	for name, mutate := range cases {
		h := http.Header{}
		SignRequest(h, secret, now, body)
		b := mutate(h)
		ours := (&Verifier{Secrets: StaticSecrets{secret}}).Verify(context.Background(), h, b)
		theirs := func() error {
			sv, err := slackgo.NewSecretsVerifier(h, secret)
			if err != nil {
				return err
			}
			if _, err := sv.Write(b); err != nil {
				return err
			}
			return sv.Ensure()
		}()
		if (ours == nil) != (theirs == nil) {
			t.Errorf("%s: ours %v, slack-go's %v", name, ours, theirs)
		}
	}
}
