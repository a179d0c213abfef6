package sentry

import (
	"errors"
	"net/http"
	"strconv"
	"testing"

	"github.com/dashboarduz/incident-response/shared/eventbridge/eventstest"
)

// FuzzWebhook feeds Verify and Decode every sample, the committed corpus
// in testdata/fuzz and mutations of body, resource, timestamp offset and
// signing mode (0: signed with the secret, 1: unsigned, 2: signed with
// another secret). Nothing may panic; an unsigned or badly signed
// delivery must fail as such and never reach Decode; every other failure
// must be a *WebhookError; a success must be a Signal ingest can store.
func FuzzWebhook(f *testing.F) {
	for _, name := range fixtureNames(f) {
		f.Add(readFixture(f, name), resourceOf(name), int64(0), uint8(0))
	}
	f.Add([]byte(`{"action":"created","data":{"issue":{"id":"1","project":{"slug":"p"}}}}`), "issue", int64(-299), uint8(0))
	f.Add([]byte(`{"action":"created","data":{}}`), "issue", int64(0), uint8(1))
	f.Add([]byte(`{}`), "metric_alert", int64(400), uint8(2))
	m := DefaultMapping()
	f.Fuzz(func(t *testing.T, body []byte, resource string, offset int64, mode uint8) {
		h := http.Header{}
		h.Set(HeaderResource, resource)
		h.Set(HeaderTimestamp, strconv.FormatInt(now.Unix()+offset%100000, 10))
		switch mode % 3 {
		case 0:
			h.Set(HeaderSignature, Sign(secret, body))
		case 2:
			h.Set(HeaderSignature, Sign("another secret", body))
		}
		d, err := Verifier{Secrets: []string{secret}, Clock: clock}.Verify(h, body)
		if err != nil {
			var we *WebhookError
			if !errors.As(err, &we) {
				t.Fatalf("Verify error %T (%v) is not a *WebhookError", err, err)
			}
			switch {
			case mode%3 == 1 && we.Kind != Unsigned:
				t.Fatalf("unsigned delivery failed as %s: %v", we.Kind, err)
			case mode%3 == 2 && we.Kind != BadSignature:
				t.Fatalf("badly signed delivery failed as %s: %v", we.Kind, err)
			case mode%3 == 0 && (we.Kind == Unsigned || we.Kind == BadSignature):
				t.Fatalf("signed delivery refused: %v", err)
			}
			return
		}
		if mode%3 != 0 {
			t.Fatalf("Verify accepted a delivery signed in mode %d", mode%3)
		}
		s, err := Decode(d, m)
		if err != nil {
			var we *WebhookError
			if !errors.As(err, &we) || (we.Kind != Malformed && we.Kind != Unsupported) || we.HTTPStatus() != 400 {
				t.Fatalf("Decode error %T (%v) is not a 400 *WebhookError", err, err)
			}
			return
		}
		if s.Source != SignalSource {
			t.Fatalf("Signal source %q, want %q", s.Source, SignalSource)
		}
		eventstest.CheckSignal(t, s)
	})
}
