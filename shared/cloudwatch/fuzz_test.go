package cloudwatch

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/dashboarduz/incident-response/shared/incident"
)

// FuzzDecode feeds Decode every fixture and mutations of them. Decode must
// never panic, must fail only with a *DecodeError, and a success must be a
// Signal that the rest of the system can store and route.
func FuzzDecode(f *testing.F) {
	for _, dir := range []string{"cloudwatch", "malformed"} {
		for _, name := range fixtureFiles(f, dir) {
			f.Add(readFixture(f, dir, name))
		}
	}
	rules := incident.DefaultClassificationRules()
	f.Fuzz(func(t *testing.T, raw []byte) {
		s, err := Decode(raw, rules)
		if err != nil {
			if _, ok := err.(*DecodeError); !ok {
				t.Fatalf("error %T (%v) is not a *DecodeError", err, err)
			}
			if s.EventID != "" || s.DedupKey != "" {
				t.Fatalf("failed Decode returned a partial Signal %+v", s)
			}
			return
		}
		if s.Source != SignalSource || s.EventID == "" || s.DedupKey == "" || s.Service == "" {
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
	})
}

func BenchmarkDecode(b *testing.B) {
	rules := incident.DefaultClassificationRules()
	for _, name := range []string{"api-5xx-alarm.json", "worker-queue-backlog-metric-math.json", "database-direct-invocation.json"} {
		raw := readFixture(b, "cloudwatch", name)
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(raw)))
			for b.Loop() {
				if _, err := Decode(raw, rules); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
