package health

import (
	"strings"
	"testing"
	"time"

	"github.com/dashboarduz/incident-response/shared/incident"
)

var t0 = time.Date(2026, 3, 1, 3, 0, 0, 0, time.UTC)

func stepCheck(t *testing.T) Check {
	t.Helper()
	ch := Check{Name: "dashboarduz-api-health", URL: "https://api.example.com/health", Service: "dashboarduz-api",
		Category: incident.ServiceDown, Severity: incident.P0, Conditions: []string{"[STATUS] == 200"}}
	if err := ch.complete(); err != nil {
		t.Fatal(err)
	}
	return ch
}

var flap = FlapPolicy{Window: incident.Duration(30 * time.Minute), Threshold: 4}

// run plays one result a minute, pass or fail as the pattern says
// ('.' passes, 'x' fails), from t0, and returns the states and signals.
func run(t *testing.T, ch Check, pattern string) ([]State, []*incident.Signal) {
	t.Helper()
	var s State
	var states []State
	var sigs []*incident.Signal
	for i, c := range pattern {
		r := Result{Check: ch.Name, At: t0.Add(time.Duration(i) * time.Minute), OK: c == '.', Status: 200, ResponseTimeMS: 80}
		if c != '.' {
			r.Status, r.Failures = 503, []string{"[STATUS] is 503, want == 200"}
		}
		var sig *incident.Signal
		s, sig = Step(s, r, ch, flap)
		states = append(states, s)
		sigs = append(sigs, sig)
	}
	return states, sigs
}

// signalsOf renders the signals of a run as a pattern: '-' none, 'F'
// firing, 'R' recovered.
func signalsOf(sigs []*incident.Signal) string {
	var b strings.Builder
	for _, s := range sigs {
		switch {
		case s == nil:
			b.WriteByte('-')
		case s.State == incident.Firing:
			b.WriteByte('F')
		case s.State == incident.Recovered:
			b.WriteByte('R')
		default:
			b.WriteByte('?')
		}
	}
	return b.String()
}

func TestStepThresholds(t *testing.T) {
	ch := stepCheck(t)
	tests := []struct {
		name, results, signals string
	}{
		{"healthy", "......", "------"},
		{"two failures are not enough", "xx.xx.", "------"},
		{"the third failure in a row fires", "xxx", "--F"},
		{"failing stays one signal", "xxxxxxx", "--F----"},
		{"one pass recovers", "xxxx.", "--F-R"},
		{"fires again after a recovery", "xxx.xxx", "--FR--F"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, sigs := run(t, ch, tt.results)
			if got := signalsOf(sigs); got != tt.signals {
				t.Errorf("results %s gave signals %s, want %s", tt.results, got, tt.signals)
			}
		})
	}
	ch.SuccessThreshold = 2
	if _, sigs := run(t, ch, "xxx.x..."); signalsOf(sigs) != "--F---R-" {
		t.Errorf("with two passes to recover: %s", signalsOf(sigs))
	}
}

func TestStepSignals(t *testing.T) {
	ch := stepCheck(t)
	states, sigs := run(t, ch, "xxx.")
	fire, recover := sigs[2], sigs[3]
	want := incident.Signal{
		Source: "health-check", EventID: "health-check:dashboarduz-api-health/firing@2026-03-01T03:02:00Z",
		DedupKey: "health-check:dashboarduz-api-health", Service: "dashboarduz-api", Category: incident.ServiceDown, Severity: incident.P0,
		Summary: "Health check dashboarduz-api-health is failing",
		Reason:  "3 failures in a row (threshold 3): [STATUS] is 503, want == 200",
		Time:    t0.Add(2 * time.Minute), State: incident.Firing,
	}
	if fire.EventID != want.EventID || fire.DedupKey != want.DedupKey || fire.Service != want.Service || fire.Category != want.Category ||
		fire.Severity != want.Severity || fire.Summary != want.Summary || fire.Reason != want.Reason || !fire.Time.Equal(want.Time) || fire.Source != want.Source {
		t.Errorf("firing signal\n got %+v\nwant %+v", *fire, want)
	}
	if fire.Details["status"] != "503" || fire.Details["url"] != ch.URL || fire.Details["consecutiveFailures"] != "3" || fire.Details["failures"] == "" {
		t.Errorf("details %v", fire.Details)
	}
	if recover.State != incident.Recovered || recover.DedupKey != fire.DedupKey || recover.EventID == fire.EventID ||
		recover.Reason != "1 passes in a row (threshold 1): status 200 in 80ms, every condition holds" {
		t.Errorf("recovery %+v", *recover)
	}
	last := states[len(states)-1]
	if last.Failing || last.Firing || last.ConsecutiveSuccesses != 1 || len(last.LastResults) != 4 || len(last.Transitions) != 2 {
		t.Errorf("state %+v", last)
	}
	states, _ = run(t, ch, strings.Repeat(".", 12))
	if n := len(states[11].LastResults); n != keptResults || !states[11].LastResults[n-1].At.Equal(t0.Add(11*time.Minute)) {
		t.Errorf("kept %d results, the last at %v", n, states[11].LastResults[n-1].At)
	}
}

// TestStepFlapping plays an endpoint that fails for three minutes and
// passes for one, over and over: without flap detection it would fire and
// recover every four minutes.
func TestStepFlapping(t *testing.T) {
	ch := stepCheck(t)
	storm := strings.Repeat("xxx.", 10)
	states, sigs := run(t, ch, storm+strings.Repeat(".", 31))
	got := signalsOf(sigs)
	// Fires, recovers, fires again; the fourth change marks it flapping
	// (one more firing signal that says so), then nothing until it has
	// been stable for 30 minutes, when it recovers once.
	want := "--FR--F" + "F" + strings.Repeat("-", 32) + strings.Repeat("-", 29) + "R" + "-"
	if got != want {
		t.Fatalf("signals\n got %s\nwant %s", got, want)
	}
	marked := sigs[7]
	if marked.Details["flapping"] != "true" || !strings.Contains(marked.Reason, "flapping: it changed between failing and passing 4 times within 30m0s") {
		t.Errorf("flapping signal %+v", *marked)
	}
	if !states[7].Flapping || !states[7].Firing || !states[20].Flapping || !states[20].Firing {
		t.Errorf("the check is not kept flapping and firing: %+v", states[20])
	}
	end := states[len(states)-2]
	if end.Flapping || end.Firing || end.Failing {
		t.Errorf("state after it calmed down: %+v", end)
	}
	if r := sigs[len(sigs)-2]; !strings.Contains(r.Reason, "stable for 30m0s after flapping") {
		t.Errorf("recovery %+v", *r)
	}
	seen := map[string]bool{}
	for _, s := range sigs {
		if s != nil {
			if seen[s.EventID] {
				t.Errorf("event ID %s is used twice", s.EventID)
			}
			seen[s.EventID] = true
		}
	}
}

// A flapping check that settles into failing stays firing and says
// nothing more; its later recovery is an ordinary one.
func TestStepFlappingSettlesFailing(t *testing.T) {
	ch := stepCheck(t)
	_, sigs := run(t, ch, "xxx.xxx.xxx."+strings.Repeat("x", 35)+".")
	got := signalsOf(sigs)
	if want := "--FR--FF" + strings.Repeat("-", 39) + "R"; got != want {
		t.Errorf("signals\n got %s\nwant %s", got, want)
	}
}

func TestStepIsPure(t *testing.T) {
	ch := stepCheck(t)
	prev := State{Check: ch.Name, LastResults: []Result{{Check: ch.Name, OK: true}}, Transitions: []time.Time{t0}}
	r := Result{Check: ch.Name, At: t0.Add(time.Minute), OK: false}
	a, sa := Step(prev, r, ch, flap)
	b, sb := Step(prev, r, ch, flap)
	if len(prev.LastResults) != 1 || len(prev.Transitions) != 1 {
		t.Errorf("Step changed its input: %+v", prev)
	}
	if a.ConsecutiveFailures != b.ConsecutiveFailures || (sa == nil) != (sb == nil) || len(a.LastResults) != 2 {
		t.Errorf("two steps from one state differ: %+v / %+v", a, b)
	}
}
