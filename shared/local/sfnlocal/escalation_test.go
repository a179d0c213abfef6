package sfnlocal

import (
	"context"
	"encoding/json"
	"github.com/dashboarduz/incident-response/shared/incident"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dashboarduz/incident-response/shared/statemachine"
)

// Local pseudo-ARNs substituted into the real definition.
const (
	planARN = "arn:aws:lambda:local:000000000000:function:plan"
	pageARN = "arn:aws:lambda:local:000000000000:function:page"
)

// PagerDutyUnavailableError and IncidentNotFoundError stand for the
// functions' named errors, which the definition's Retry and Catch match.
type PagerDutyUnavailableError struct{}

func (*PagerDutyUnavailableError) Error() string { return "pagerduty unavailable" }

type IncidentNotFoundError struct{}

func (*IncidentNotFoundError) Error() string { return "incident not found" }

// escalation loads the real definition with plan and page as its tasks.
func escalation(t *testing.T, clock *VirtualClock, plan, page TaskFunc) *Executor {
	t.Helper()
	const followUpARN = "arn:aws:lambda:us-east-1:000000000000:function:follow-up"
	def, err := statemachine.Substitute(statemachine.Definition, map[string]string{
		statemachine.PlanFunctionArn:      planARN,
		statemachine.PageFunctionArn:      pageARN,
		statemachine.TriageFunctionArn:    followUpARN,
		statemachine.RemediateFunctionArn: followUpARN,
		statemachine.NotifyFunctionArn:    followUpARN,
	})
	if err != nil {
		t.Fatal(err)
	}
	// The follow-ups are not what these tests are about: they return
	// their input, as the real tasks do.
	followUp := func(_ context.Context, in json.RawMessage) (json.RawMessage, error) { return in, nil }
	e, err := New(def, map[string]TaskFunc{planARN: plan, pageARN: page, followUpARN: followUp}, clock)
	if err != nil {
		t.Fatalf("New with the real definition: %v", err)
	}
	return e
}

// planStep is the fake Plan function's answer: the step, keeping the
// incident ID, as the real Plan returns it.
func planStep(action string, extra string) reply {
	out := `{"incidentId":"inc-1","action":"` + action + `"`
	if extra != "" {
		out += "," + extra
	}
	return reply{out: out + "}"}
}

func startAndRun(t *testing.T, e *Executor, until time.Time) Execution {
	t.Helper()
	ctx := context.Background()
	if err := (Starter{Executor: e}).StartEscalation(ctx, incident.EscalationState{IncidentID: "inc-1"}); err != nil {
		t.Fatal(err)
	}
	if err := e.RunUntil(ctx, until); err != nil {
		t.Fatal(err)
	}
	x, _ := e.Execution("inc-1")
	return x
}

func TestEscalationDefinition(t *testing.T) {
	clock := NewVirtualClock(t0)
	plan := &recorder{clock: clock, script: []reply{
		planStep("page", `"level":1`),
		planStep("wait", `"waitUntil":"2025-03-14T01:05:00Z"`),
		planStep("page", `"level":2`),
		planStep("done", ""),
	}}
	page := &recorder{clock: clock, script: []reply{{out: `{"paged":true}`}}}
	e := escalation(t, clock, plan.fn, page.fn)

	// RunReady alone stops at the Wait state: it never moves the clock.
	ctx := context.Background()
	if err := (Starter{Executor: e}).StartEscalation(ctx, incident.EscalationState{IncidentID: "inc-1"}); err != nil {
		t.Fatal(err)
	}
	if err := e.RunReady(ctx); err != nil {
		t.Fatal(err)
	}
	x, _ := e.Execution("inc-1")
	if x.Status != Running || x.State != "Wait" || !x.Wake.Equal(t0.Add(5*time.Minute)) {
		t.Fatalf("after RunReady: %s in %q until %s, want RUNNING in Wait until t0+5m", x.Status, x.State, x.Wake)
	}

	if err := e.RunUntil(ctx, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	x, _ = e.Execution("inc-1")
	if x.Status != Succeeded {
		t.Fatalf("status = %s (%s: %s), want SUCCEEDED", x.Status, x.Error, x.Cause)
	}
	want := []string{
		"+0s ExecutionStarted",
		"+0s StateEntered Begin", "+0s StateExited Begin",
		"+0s StateEntered Plan", "+0s StateExited Plan",
		"+0s StateEntered Route", "+0s StateExited Route",
		"+0s StateEntered Page", "+0s StateExited Page",
		"+0s StateEntered Plan", "+0s StateExited Plan",
		"+0s StateEntered Route", "+0s StateExited Route",
		"+0s StateEntered Wait", "+5m0s StateExited Wait",
		"+5m0s StateEntered Plan", "+5m0s StateExited Plan",
		"+5m0s StateEntered Route", "+5m0s StateExited Route",
		"+5m0s StateEntered Page", "+5m0s StateExited Page",
		"+5m0s StateEntered Plan", "+5m0s StateExited Plan",
		"+5m0s StateEntered Route", "+5m0s StateExited Route",
		"+5m0s StateEntered Done", "+5m0s StateExited Done",
		"+5m0s ExecutionSucceeded",
	}
	if got := summary(x.History); !reflect.DeepEqual(got, want) {
		t.Errorf("history:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if got, want := plan.offsets(), []time.Duration{0, 0, 5 * time.Minute, 5 * time.Minute}; !reflect.DeepEqual(got, want) {
		t.Errorf("Plan ran at %v, want %v", got, want)
	}
	// Plan always sees the incident ID; Page sees Plan's step, and its
	// result is discarded (ResultPath null), so Plan sees the step again.
	for i, c := range plan.calls {
		if !strings.Contains(c.input, `"incidentId":"inc-1"`) {
			t.Errorf("Plan call %d input %s lacks the incident ID", i, c.input)
		}
	}
	if !sameJSON(t, []byte(plan.calls[0].input), `{"incidentId":"inc-1"}`) {
		t.Errorf("first Plan input = %s, want the execution input", plan.calls[0].input)
	}
	if !sameJSON(t, []byte(plan.calls[1].input), `{"incidentId":"inc-1","action":"page","level":1}`) {
		t.Errorf("second Plan input = %s, want the page step (Page's result discarded)", plan.calls[1].input)
	}
	var levels []int
	for _, c := range page.calls {
		var v struct{ Level int }
		if err := json.Unmarshal([]byte(c.input), &v); err != nil {
			t.Fatal(err)
		}
		levels = append(levels, v.Level)
	}
	if !reflect.DeepEqual(levels, []int{1, 2}) || !reflect.DeepEqual(page.offsets(), []time.Duration{0, 5 * time.Minute}) {
		t.Errorf("Page levels %v at %v, want [1 2] at [0s 5m0s]", levels, page.offsets())
	}
	if !sameJSON(t, x.Output, `{"incidentId":"inc-1","action":"done"}`) {
		t.Errorf("output = %s", x.Output)
	}
}

// retrierFor reads, from the real definition, the retrier of state that
// names errorName, so the test checks the intervals the definition states.
func retrierFor(t *testing.T, stateName, errorName string) (interval, rate, maxDelay float64, maxAttempts int) {
	t.Helper()
	var def struct {
		States map[string]struct {
			Retry []struct {
				ErrorEquals     []string
				IntervalSeconds *float64
				BackoffRate     *float64
				MaxDelaySeconds *float64
				MaxAttempts     *int
			}
		}
	}
	if err := json.Unmarshal([]byte(statemachine.Definition), &def); err != nil {
		t.Fatal(err)
	}
	for _, r := range def.States[stateName].Retry {
		if !slices.Contains(r.ErrorEquals, errorName) {
			continue
		}
		interval, rate, maxDelay, maxAttempts = 1, 2, math.Inf(1), 3
		if r.IntervalSeconds != nil {
			interval = *r.IntervalSeconds
		}
		if r.BackoffRate != nil {
			rate = *r.BackoffRate
		}
		if r.MaxDelaySeconds != nil {
			maxDelay = *r.MaxDelaySeconds
		}
		if r.MaxAttempts != nil {
			maxAttempts = *r.MaxAttempts
		}
		return
	}
	t.Fatalf("state %s has no retrier for %s", stateName, errorName)
	return
}

// attemptTimes is when attempts 0..n happen under a retrier's backoff.
func attemptTimes(n int, interval, rate, maxDelay float64) []time.Duration {
	out := []time.Duration{0}
	at := 0.0
	for i := range n {
		at += math.Min(interval*math.Pow(rate, float64(i)), maxDelay)
		out = append(out, time.Duration(at*float64(time.Second)))
	}
	return out
}

func TestEscalationPageRetries(t *testing.T) {
	interval, rate, maxDelay, maxAttempts := retrierFor(t, "Page", "PagerDutyUnavailableError")
	if maxAttempts < 2 {
		t.Fatalf("the definition retries PagerDutyUnavailableError %d times; this test needs 2", maxAttempts)
	}
	clock := NewVirtualClock(t0)
	plan := &recorder{clock: clock, script: []reply{planStep("page", `"level":1`), planStep("done", "")}}
	page := &recorder{clock: clock, script: []reply{
		{err: &PagerDutyUnavailableError{}},
		{err: &PagerDutyUnavailableError{}},
		{out: `{}`},
	}}
	e := escalation(t, clock, plan.fn, page.fn)
	x := startAndRun(t, e, t0.Add(time.Hour))
	if x.Status != Succeeded {
		t.Fatalf("status = %s (%s: %s), want SUCCEEDED", x.Status, x.Error, x.Cause)
	}
	wantAt := attemptTimes(2, interval, rate, maxDelay)
	if got := page.offsets(); !reflect.DeepEqual(got, wantAt) {
		t.Errorf("Page attempts at %v, want %v", got, wantAt)
	}
	var retries []string
	for _, ev := range x.History {
		if ev.State == "Page" && (ev.Type == TaskFailed || ev.Type == RetryScheduled) {
			retries = append(retries, summary([]Event{ev})[0])
		}
	}
	d1 := wantAt[1] - wantAt[0]
	d2 := wantAt[2] - wantAt[1]
	want := []string{
		"+0s TaskFailed Page PagerDutyUnavailableError",
		"+0s RetryScheduled Page PagerDutyUnavailableError #1 " + d1.String(),
		"+" + wantAt[1].String() + " TaskFailed Page PagerDutyUnavailableError",
		"+" + wantAt[1].String() + " RetryScheduled Page PagerDutyUnavailableError #2 " + d2.String(),
	}
	if !reflect.DeepEqual(retries, want) {
		t.Errorf("Page failures:\n%s\nwant:\n%s", strings.Join(retries, "\n"), strings.Join(want, "\n"))
	}
	if got := plan.offsets(); !reflect.DeepEqual(got, []time.Duration{0, wantAt[2]}) {
		t.Errorf("Plan ran at %v, want [0s %s]", got, wantAt[2])
	}
}

func TestEscalationPlanOutage(t *testing.T) {
	// Plan fails with a generic error until its retries are spent; the
	// catcher waits in RetryLater and plans again, with fresh retries.
	interval, rate, maxDelay, maxAttempts := retrierFor(t, "Plan", "States.ALL")
	clock := NewVirtualClock(t0)
	script := make([]reply, 0, maxAttempts+2)
	for range maxAttempts + 1 {
		script = append(script, reply{err: &PagerDutyUnavailableError{}})
	}
	script = append(script, planStep("done", ""))
	plan := &recorder{clock: clock, script: script}
	e := escalation(t, clock, plan.fn, (&recorder{}).fn)
	x := startAndRun(t, e, t0.Add(time.Hour))
	if x.Status != Succeeded {
		t.Fatalf("status = %s (%s: %s), want SUCCEEDED", x.Status, x.Error, x.Cause)
	}
	want := attemptTimes(maxAttempts, interval, rate, maxDelay)
	want = append(want, want[len(want)-1]+60*time.Second) // RetryLater waits 60s
	if got := plan.offsets(); !reflect.DeepEqual(got, want) {
		t.Errorf("Plan attempts at %v, want %v", got, want)
	}
	var caught []string
	for _, ev := range x.History {
		if ev.Type == Caught {
			caught = append(caught, ev.State+" "+ev.Error+" -> "+ev.Next)
		}
	}
	if !reflect.DeepEqual(caught, []string{"Plan PagerDutyUnavailableError -> RetryLater"}) {
		t.Errorf("caught %v, want one catch into RetryLater", caught)
	}
}

func TestEscalationFailures(t *testing.T) {
	tests := []struct {
		name      string
		plan      []reply
		wantError string
		wantPlans int
	}{
		{"incident missing is not retried", []reply{{err: &IncidentNotFoundError{}}}, "IncidentNotFound", 1},
		{"unknown action", []reply{planStep("escalate-sideways", "")}, "UnknownAction", 1},
		{"wait without a timestamp", []reply{planStep("wait", "")}, ErrRuntime, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := NewVirtualClock(t0)
			plan := &recorder{clock: clock, script: tt.plan}
			e := escalation(t, clock, plan.fn, (&recorder{}).fn)
			x := startAndRun(t, e, t0.Add(time.Hour))
			if x.Status != Failed || x.Error != tt.wantError {
				t.Errorf("status, error = %s, %s (%s), want FAILED, %s", x.Status, x.Error, x.Cause, tt.wantError)
			}
			if len(plan.calls) != tt.wantPlans {
				t.Errorf("Plan called %d times, want %d", len(plan.calls), tt.wantPlans)
			}
		})
	}
}
