package sentry

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dashboarduz/incident-response/shared/eventbridge/eventstest"
	"github.com/dashboarduz/incident-response/shared/incident"
)

// now is the test clock's time; fixtures are delivered at it.
var now = time.Date(2026, 3, 1, 3, 0, 5, 0, time.UTC)

var clock = incident.ClockFunc(func() time.Time { return now })

const secret = "9d6e1c0b7a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2a1f0e9d"

// fixtureNames lists events/sentry.
func fixtureNames(tb testing.TB) []string {
	tb.Helper()
	return eventstest.Files(tb, "sentry")
}

// readFixture reads one file of events/sentry.
func readFixture(tb testing.TB, name string) []byte {
	tb.Helper()
	return eventstest.Read(tb, "sentry", name)
}

// resourceOf is the Sentry-Hook-Resource a fixture is sent with: its name
// up to the first "-".
func resourceOf(name string) string {
	r, _, _ := strings.Cut(name, "-")
	return r
}

// headers are the headers Sentry sends with body.
func headers(resource string, body []byte, at time.Time) http.Header {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set(HeaderRequestID, "0f6a1b7e5c2d4e8f9a3b6c1d2e4f7a8b")
	h.Set(HeaderResource, resource)
	h.Set(HeaderTimestamp, strconv.FormatInt(at.Unix(), 10))
	h.Set(HeaderSignature, Sign(secret, body))
	return h
}

// TestRoundTrip decodes every fixture into its types, encodes it again and
// compares the two as JSON: a field the types drop or rename fails here.
func TestRoundTrip(t *testing.T) {
	for _, name := range fixtureNames(t) {
		t.Run(name, func(t *testing.T) {
			raw := readFixture(t, name)
			var w Webhook
			if err := json.Unmarshal(raw, &w); err != nil {
				t.Fatal(err)
			}
			var data any
			switch resourceOf(name) {
			case ResourceIssue:
				data = new(IssueData)
			case ResourceMetricAlert:
				data = new(MetricAlertData)
			case ResourceEventAlert:
				data = new(EventAlertData)
			default:
				data = new(json.RawMessage)
			}
			if err := json.Unmarshal(w.Data, data); err != nil {
				t.Fatal(err)
			}
			var err error
			if w.Data, err = json.Marshal(data); err != nil {
				t.Fatal(err)
			}
			encoded, err := json.Marshal(w)
			if err != nil {
				t.Fatal(err)
			}
			if !eventstest.SameJSON(t, encoded, raw) {
				t.Errorf("round trip changed the webhook\n got %s\nwant %s", encoded, raw)
			}
		})
	}
}
