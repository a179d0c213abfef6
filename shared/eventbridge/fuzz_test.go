package eventbridge

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/dashboarduz/incident-response/shared/incident"
)

// FuzzDecode feeds the dispatcher every fixture of every source it routes,
// the malformed samples, the committed corpus in testdata/fuzz and
// mutations of them all. Decode must never panic, must fail only with an
// *InvalidEventError and nothing else, and a success must be a Signal the
// rest of the system can store and route. The ingest rules' patterns
// must match any event without an error, and never route one that
// Decode has no decoder for.
func FuzzDecode(f *testing.F) {
	for _, dir := range []string{"ecs", "rds", "cloudwatch", "malformed"} {
		for _, name := range fixtureFiles(f, dir) {
			f.Add(readFixture(f, dir, name))
		}
	}
	d := testDecoder()
	rules := IngestRules()
	f.Fuzz(func(t *testing.T, raw []byte) {
		s, err := d.Decode(raw)
		routed := false
		for _, r := range rules {
			m, merr := MatchPattern(r.Pattern(), raw)
			if merr != nil {
				t.Fatalf("rule %s: %v", r.Name, merr)
			}
			routed = routed || m
		}
		if routed && err != nil && strings.Contains(err.Error(), "no decoder") {
			t.Fatalf("a rule routes an event Decode has no decoder for: %v", err)
		}
		if err != nil {
			var ie *InvalidEventError
			if !errors.As(err, &ie) || err != error(ie) {
				t.Fatalf("error %T (%v) is not an *InvalidEventError", err, err)
			}
			if s.EventID != "" || s.DedupKey != "" {
				t.Fatalf("failed Decode returned a partial Signal %+v", s)
			}
			return
		}
		checkSignal(t, s)
	})
}

// checkSignal fails unless s is a Signal ingest can store and route.
func checkSignal(t *testing.T, s incident.Signal) {
	t.Helper()
	if s.Source == "" || s.EventID == "" || s.DedupKey == "" || s.Service == "" || s.Summary == "" {
		t.Fatalf("Signal has an empty identity field: %+v", s)
	}
	if _, err := incident.ParseSeverity(string(s.Severity)); err != nil {
		t.Fatalf("Signal severity: %v", err)
	}
	if _, err := incident.ParseCategory(string(s.Category)); err != nil {
		t.Fatalf("Signal category: %v", err)
	}
	switch s.State {
	case incident.Firing, incident.Recovered, incident.Inconclusive:
	default:
		t.Fatalf("Signal state %q is not a signal state", s.State)
	}
	if s.Time.IsZero() || s.Time.Location() != time.UTC {
		t.Fatalf("Signal time %v is zero or not UTC", s.Time)
	}
	if _, err := json.Marshal(s); err != nil {
		t.Fatalf("Signal does not encode: %v", err)
	}
}
