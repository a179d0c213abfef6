package metrics

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/dashboarduz/incident-response/shared/incident"
)

var (
	from = time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	to   = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	now  = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
)

// inc builds an incident of severity s opened at start, acknowledged and
// resolved the given times after it (zero: not yet).
func inc(id string, s incident.Severity, start time.Time, ack, res time.Duration) incident.Incident {
	i := incident.Incident{ID: id, Severity: s, Status: incident.Triggered, OpenedAt: start}
	if ack > 0 {
		i.AcknowledgedAt, i.Status = start.Add(ack), incident.Acknowledged
	}
	if res > 0 {
		i.ResolvedAt, i.Status = start.Add(res), incident.Resolved
	}
	return i
}

func f(v float64) *float64 { return &v }

func eqPtr(a, b *float64) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

func showPtr(p *float64) string {
	if p == nil {
		return "null"
	}
	b, _ := json.Marshal(*p)
	return string(b)
}

func TestSummarize(t *testing.T) {
	day := 24 * time.Hour
	p := incident.DefaultPolicy()
	for _, c := range []struct {
		name      string
		incidents []incident.Incident
		sev       incident.Severity // the severity row to check
		now       time.Time         // when zero, now
		want      Stats
	}{
		{
			name: "nothing",
			sev:  incident.P0,
			want: Stats{ResponseTarget: Attainment{}, ResolutionTarget: Attainment{}},
		},
		{
			name: "one P0 in time",
			incidents: []incident.Incident{
				inc("a", incident.P0, from.Add(day), 3*time.Minute, 40*time.Minute),
			},
			sev: incident.P0,
			want: Stats{
				Count: 1, Acknowledged: 1, Resolved: 1,
				TimeToAcknowledge: Distribution{Count: 1, MeanSeconds: f(180), P50Seconds: f(180), P90Seconds: f(180)},
				TimeToResolve:     Distribution{Count: 1, MeanSeconds: f(2400), P50Seconds: f(2400), P90Seconds: f(2400)},
				ResponseTarget:    Attainment{Met: 1, Rate: f(1)},
				ResolutionTarget:  Attainment{Met: 1, Rate: f(1)},
				AllTargets:        Attainment{Met: 1, Rate: f(1)},
			},
		},
		{
			name: "P1s: late, on the deadline, and still open",
			incidents: []incident.Incident{
				inc("late", incident.P1, from.Add(day), 20*time.Minute, 5*time.Hour),
				inc("edge", incident.P1, from.Add(2*day), 15*time.Minute, 4*time.Hour),
				inc("open", incident.P1, now.Add(-25*time.Hour-5*time.Minute), 10*time.Minute, 0),
			},
			sev: incident.P1,
			want: Stats{
				Count: 3, Acknowledged: 3, Resolved: 2,
				TimeToAcknowledge: Distribution{Count: 3, MeanSeconds: f(900), P50Seconds: f(900), P90Seconds: f(1200)},
				TimeToResolve:     Distribution{Count: 2, MeanSeconds: f(4.5 * 3600), P50Seconds: f(4 * 3600), P90Seconds: f(5 * 3600)},
				ResponseTarget:    Attainment{Met: 2, Missed: 1, Rate: f(2.0 / 3)},
				// The open one is past its 4h resolution target by now.
				ResolutionTarget: Attainment{Met: 1, Missed: 2, Rate: f(1.0 / 3)},
				AllTargets:       Attainment{Met: 1, Missed: 2, Rate: f(1.0 / 3)},
			},
		},
		{
			name: "pending targets are not in the rate",
			incidents: []incident.Incident{
				inc("new", incident.P3, to.Add(-time.Hour), 0, 0),
				inc("acked", incident.P3, to.Add(-2*time.Hour), time.Hour, 0),
			},
			sev: incident.P3,
			now: to,
			want: Stats{
				Count: 2, Acknowledged: 1,
				TimeToAcknowledge: Distribution{Count: 1, MeanSeconds: f(3600), P50Seconds: f(3600), P90Seconds: f(3600)},
				ResponseTarget:    Attainment{Met: 1, Pending: 1, Rate: f(1)},
				ResolutionTarget:  Attainment{Pending: 2},
				AllTargets:        Attainment{Pending: 2},
			},
		},
		{
			name: "resolved without acknowledgement counts as the response",
			incidents: []incident.Incident{
				inc("quick", incident.P2, from, 0, 30*time.Minute),
				inc("slow", incident.P2, from, 0, 2*time.Hour),
				inc("unacked", incident.P2, to.Add(-2*time.Hour), 0, 0),
			},
			sev: incident.P2,
			want: Stats{
				Count: 3, Resolved: 2,
				TimeToResolve:    Distribution{Count: 2, MeanSeconds: f(4500), P50Seconds: f(1800), P90Seconds: f(7200)},
				ResponseTarget:   Attainment{Met: 1, Missed: 2, Rate: f(1.0 / 3)},
				ResolutionTarget: Attainment{Met: 2, Pending: 1, Rate: f(1)},
				AllTargets:       Attainment{Met: 1, Missed: 2, Rate: f(1.0 / 3)},
			},
		},
		{
			name: "the range is [from, to)",
			incidents: []incident.Incident{
				inc("before", incident.P0, from.Add(-time.Second), time.Minute, time.Hour),
				inc("first", incident.P0, from, time.Minute, time.Hour),
				inc("at-to", incident.P0, to, time.Minute, time.Hour),
			},
			sev: incident.P0,
			want: Stats{
				Count: 1, Acknowledged: 1, Resolved: 1,
				TimeToAcknowledge: Distribution{Count: 1, MeanSeconds: f(60), P50Seconds: f(60), P90Seconds: f(60)},
				TimeToResolve:     Distribution{Count: 1, MeanSeconds: f(3600), P50Seconds: f(3600), P90Seconds: f(3600)},
				ResponseTarget:    Attainment{Met: 1, Rate: f(1)},
				ResolutionTarget:  Attainment{Met: 1, Rate: f(1)},
				AllTargets:        Attainment{Met: 1, Rate: f(1)},
			},
		},
		{
			name: "a breach in an earlier episode is a miss",
			incidents: []incident.Incident{func() incident.Incident {
				i := inc("reopened", incident.P0, from, 0, 0)
				i.Episode, i.EpisodeStart = 1, from.Add(2*time.Hour)
				i.AcknowledgedAt, i.ResolvedAt, i.Status = from.Add(2*time.Hour+time.Minute), from.Add(2*time.Hour+10*time.Minute), incident.Resolved
				i.Breaches = []incident.Breach{{Target: incident.TargetResponse, At: from.Add(5 * time.Minute), Episode: 0}}
				return i
			}()},
			sev: incident.P0,
			want: Stats{
				Count: 1, Acknowledged: 1, Resolved: 1,
				// Times run from the latest episode's start.
				TimeToAcknowledge: Distribution{Count: 1, MeanSeconds: f(60), P50Seconds: f(60), P90Seconds: f(60)},
				TimeToResolve:     Distribution{Count: 1, MeanSeconds: f(600), P50Seconds: f(600), P90Seconds: f(600)},
				ResponseTarget:    Attainment{Missed: 1, Rate: f(0)},
				ResolutionTarget:  Attainment{Met: 1, Rate: f(1)},
				AllTargets:        Attainment{Missed: 1, Rate: f(0)},
			},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			at := c.now
			if at.IsZero() {
				at = now
			}
			s := Summarize(c.incidents, p, from, to, at)
			var got Stats
			for _, row := range s.BySeverity {
				if row.Severity == c.sev {
					got = row.Stats
				}
			}
			checkStats(t, string(c.sev), got, c.want)
			// Overall is the sum when one severity has all the incidents.
			checkStats(t, "overall", s.Overall, c.want)
		})
	}
}

func checkStats(t *testing.T, what string, got, want Stats) {
	t.Helper()
	if got.Count != want.Count || got.Acknowledged != want.Acknowledged || got.Resolved != want.Resolved {
		t.Errorf("%s: count %d acknowledged %d resolved %d, want %d %d %d", what, got.Count, got.Acknowledged, got.Resolved, want.Count, want.Acknowledged, want.Resolved)
	}
	for _, d := range []struct {
		name      string
		got, want Distribution
	}{{"time to acknowledge", got.TimeToAcknowledge, want.TimeToAcknowledge}, {"time to resolve", got.TimeToResolve, want.TimeToResolve}} {
		if d.got.Count != d.want.Count || !eqPtr(d.got.MeanSeconds, d.want.MeanSeconds) || !eqPtr(d.got.P50Seconds, d.want.P50Seconds) || !eqPtr(d.got.P90Seconds, d.want.P90Seconds) {
			t.Errorf("%s %s: n=%d mean %s p50 %s p90 %s, want n=%d mean %s p50 %s p90 %s", what, d.name,
				d.got.Count, showPtr(d.got.MeanSeconds), showPtr(d.got.P50Seconds), showPtr(d.got.P90Seconds),
				d.want.Count, showPtr(d.want.MeanSeconds), showPtr(d.want.P50Seconds), showPtr(d.want.P90Seconds))
		}
	}
	for _, a := range []struct {
		name      string
		got, want Attainment
	}{{"response", got.ResponseTarget, want.ResponseTarget}, {"resolution", got.ResolutionTarget, want.ResolutionTarget}, {"all", got.AllTargets, want.AllTargets}} {
		if a.got.Met != a.want.Met || a.got.Missed != a.want.Missed || a.got.Pending != a.want.Pending || !eqPtr(a.got.Rate, a.want.Rate) {
			t.Errorf("%s %s target: met %d missed %d pending %d rate %s, want %d %d %d %s", what, a.name,
				a.got.Met, a.got.Missed, a.got.Pending, showPtr(a.got.Rate), a.want.Met, a.want.Missed, a.want.Pending, showPtr(a.want.Rate))
		}
	}
}

func TestSummarizeBySeverityAndOverall(t *testing.T) {
	p := incident.DefaultPolicy()
	s := Summarize([]incident.Incident{
		inc("a", incident.P0, from, time.Minute, 30*time.Minute),
		inc("b", incident.P2, from, 2*time.Hour, 3*time.Hour),
		inc("c", incident.P2, from, 10*time.Minute, 0),
	}, p, from, to, now)
	if len(s.BySeverity) != 4 {
		t.Fatalf("%d severities, want all four", len(s.BySeverity))
	}
	counts := map[incident.Severity]int{}
	for _, r := range s.BySeverity {
		counts[r.Severity] = r.Count
	}
	if counts[incident.P0] != 1 || counts[incident.P1] != 0 || counts[incident.P2] != 2 || counts[incident.P3] != 0 {
		t.Errorf("counts %v", counts)
	}
	if s.BySeverity[1].ResponseTargetSeconds != 900 || s.BySeverity[1].ResolutionTargetSeconds != 4*3600 {
		t.Errorf("P1 targets %+v", s.BySeverity[1])
	}
	o := s.Overall
	if o.Count != 3 || o.Acknowledged != 3 || o.Resolved != 2 {
		t.Errorf("overall %+v", o)
	}
	// Overall response: P0 met, P2 b missed (2h > 1h), P2 c met.
	if o.ResponseTarget.Met != 2 || o.ResponseTarget.Missed != 1 {
		t.Errorf("overall response %+v", o.ResponseTarget)
	}
	// Mean of 1m, 10m, 120m.
	if *o.TimeToAcknowledge.MeanSeconds != 2620 {
		t.Errorf("overall MTTA %v", *o.TimeToAcknowledge.MeanSeconds)
	}
}

func TestSummaryJSON(t *testing.T) {
	s := Summarize([]incident.Incident{inc("a", incident.P1, from, time.Minute, 0)}, incident.DefaultPolicy(), from, to, from.Add(time.Hour))
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if doc["from"] != "2026-02-01T00:00:00Z" || doc["to"] != "2026-03-01T00:00:00Z" {
		t.Errorf("range %v %v", doc["from"], doc["to"])
	}
	p1 := doc["bySeverity"].([]any)[1].(map[string]any)
	for _, k := range []string{"severity", "responseTargetSeconds", "resolutionTargetSeconds", "count", "acknowledged", "resolved", "timeToAcknowledge", "timeToResolve", "responseTarget", "resolutionTarget", "allTargets"} {
		if _, ok := p1[k]; !ok {
			t.Errorf("P1 row has no %s: %s", k, b)
		}
	}
	ttr := p1["timeToResolve"].(map[string]any)
	if v, ok := ttr["meanSeconds"]; !ok || v != nil {
		t.Errorf("an unresolved set's MTTR is %v, want null", v)
	}
	rt := p1["resolutionTarget"].(map[string]any)
	if v, ok := rt["rate"]; !ok || v != nil || rt["pending"] != 1.0 {
		t.Errorf("a pending target: %v", rt)
	}
	if p1["responseTarget"].(map[string]any)["rate"] != 1.0 {
		t.Errorf("response rate %v", p1["responseTarget"])
	}
}

func TestPercentile(t *testing.T) {
	ds := []time.Duration{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	for p, want := range map[float64]time.Duration{0: 1, 10: 1, 50: 5, 51: 6, 90: 9, 91: 10, 100: 10} {
		if got := Percentile(ds, p); got != want {
			t.Errorf("p%v = %d, want %d", p, got, want)
		}
	}
	if got := Percentile([]time.Duration{7}, 90); got != 7 {
		t.Errorf("p90 of one = %d", got)
	}
}

func TestParseSummaryRange(t *testing.T) {
	for _, c := range []struct {
		name, from, to     string
		wantFrom, wantTo   time.Time
		wantField, wantErr string
	}{
		{name: "defaults", wantFrom: now.Add(-DefaultSummarySpan), wantTo: now},
		{name: "dates", from: "2026-02-01", to: "2026-03-01", wantFrom: from, wantTo: to},
		{name: "times", from: "2026-02-01T01:00:00+01:00", to: "2026-02-02T00:00:00Z", wantFrom: from, wantTo: from.Add(24 * time.Hour)},
		{name: "from only", from: "2026-02-01", wantFrom: from, wantTo: now},
		{name: "to only", to: "2026-03-01", wantFrom: to.Add(-DefaultSummarySpan), wantTo: to},
		{name: "bad from", from: "yesterday", wantField: "from", wantErr: "yesterday"},
		{name: "bad to", to: "01/03/2026", wantField: "to", wantErr: "01/03/2026"},
		{name: "empty range", from: "2026-03-01", to: "2026-03-01", wantField: "from", wantErr: "before"},
		{name: "too long", from: "2024-01-01", to: "2026-03-01", wantField: "from", wantErr: "366 days"},
	} {
		t.Run(c.name, func(t *testing.T) {
			gotFrom, gotTo, err := ParseSummaryRange(c.from, c.to, now)
			if c.wantErr != "" {
				e, ok := err.(*incident.Error)
				if !ok || e.Code != incident.EInvalid || e.Field != c.wantField || !strings.Contains(e.Message, c.wantErr) {
					t.Fatalf("error %v, want invalid %s mentioning %q", err, c.wantField, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !gotFrom.Equal(c.wantFrom) || !gotTo.Equal(c.wantTo) {
				t.Errorf("[%s, %s), want [%s, %s)", gotFrom, gotTo, c.wantFrom, c.wantTo)
			}
		})
	}
}
