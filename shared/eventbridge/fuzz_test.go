package eventbridge

import (
	"errors"
	"strings"
	"testing"

	"github.com/dashboarduz/incident-response/shared/eventbridge/eventstest"
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
		for _, name := range eventstest.Files(f, dir) {
			f.Add(eventstest.Read(f, dir, name))
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
		eventstest.CheckSignal(t, s)
	})
}
