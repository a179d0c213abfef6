package cloudwatch

import (
	"testing"

	"github.com/dashboarduz/incident-response/shared/eventbridge/eventstest"
	"github.com/dashboarduz/incident-response/shared/incident"
)

// FuzzDecode feeds Decode every fixture and mutations of them. Decode must
// never panic, must fail only with a *DecodeError, and a success must be a
// Signal that the rest of the system can store and route.
func FuzzDecode(f *testing.F) {
	for _, dir := range []string{"cloudwatch", "malformed"} {
		for _, name := range eventstest.Files(f, dir) {
			f.Add(eventstest.Read(f, dir, name))
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
		if s.Source != SignalSource {
			t.Fatalf("Signal source %q, want %q", s.Source, SignalSource)
		}
		eventstest.CheckSignal(t, s)
	})
}

func BenchmarkDecode(b *testing.B) {
	rules := incident.DefaultClassificationRules()
	for _, name := range []string{"api-5xx-alarm.json", "worker-queue-backlog-metric-math.json", "database-direct-invocation.json"} {
		raw := eventstest.Read(b, "cloudwatch", name)
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
