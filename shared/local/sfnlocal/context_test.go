package sfnlocal

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"
)

// TestContextObject checks the context object paths a Parameters
// template may read, as Step Functions fills them.
func TestContextObject(t *testing.T) {
	def := `{"StartAt":"Later","States":{
		"Later":{"Type":"Wait","Seconds":90,"Next":"Ctx"},
		"Ctx":{"Type":"Pass","Parameters":{
			"name.$":"$$.Execution.Name","id.$":"$$.Execution.Id","start.$":"$$.Execution.StartTime",
			"input.$":"$$.Execution.Input","incident.$":"$$.Execution.Input.incident.id",
			"entered.$":"$$.State.EnteredTime","state.$":"$$.State.Name","retries.$":"$$.State.RetryCount",
			"machine.$":"$$.StateMachine.Id","machineName.$":"$$.StateMachine.Name",
			"fromInput.$":"$.step","nested":{"name.$":"$$.Execution.Name"},"lit":"x"},
			"End":true}}}`
	clock := NewVirtualClock(t0.Add(123 * time.Millisecond))
	e, err := New(def, nil, clock, WithStateMachineARN("arn:aws:states:eu-west-1:123456789012:stateMachine:escalation"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := e.Start(ctx, "inc-1", json.RawMessage(`{"incident":{"id":"inc-1"},"step":1}`)); err != nil {
		t.Fatal(err)
	}
	if err := e.RunUntil(ctx, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	x, _ := e.Execution("inc-1")
	want := `{"name":"inc-1","id":"arn:aws:states:eu-west-1:123456789012:execution:escalation:inc-1",
		"start":"2025-03-14T01:00:00.123Z","input":{"incident":{"id":"inc-1"},"step":1},"incident":"inc-1",
		"entered":"2025-03-14T01:01:30.123Z","state":"Ctx","retries":0,
		"machine":"arn:aws:states:eu-west-1:123456789012:stateMachine:escalation","machineName":"escalation",
		"fromInput":1,"nested":{"name":"inc-1"},"lit":"x"}`
	if x.Status != Succeeded || !sameJSON(t, x.Output, want) {
		t.Errorf("status %s (%s), output %s\nwant %s", x.Status, x.Cause, x.Output, want)
	}
}

// TestContextObjectDefaultARN checks $$.Execution.Id without
// WithStateMachineARN, and refuses an ARN of the wrong form.
func TestContextObjectDefaultARN(t *testing.T) {
	def := `{"StartAt":"P","States":{"P":{"Type":"Pass","Parameters":{"id.$":"$$.Execution.Id"},"End":true}}}`
	x := run(t, def, nil, `{}`)
	if !sameJSON(t, x.Output, `{"id":"arn:aws:states:us-east-1:000000000000:execution:local:x"}`) {
		t.Errorf("output %s", x.Output)
	}
	if _, err := New(def, nil, NewVirtualClock(t0), WithStateMachineARN("escalation")); err == nil {
		t.Error("New with a state machine ARN that is no ARN succeeded")
	}
}

// TestContextObjectInTaskRetries checks that a retried task sees its
// state's entered time unchanged and the retry count going up.
func TestContextObjectInTaskRetries(t *testing.T) {
	rec := &recorder{script: []reply{{err: errors.New("flaky")}, {out: `{}`}}}
	def := `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"` + fnARN + `",
		"Parameters":{"entered.$":"$$.State.EnteredTime","retries.$":"$$.State.RetryCount","missing.$":"$$.Execution.Input.nope"},
		"Retry":[{"ErrorEquals":["States.ALL"],"IntervalSeconds":5}],"End":true}}}`
	x := run(t, def, map[string]TaskFunc{fnARN: rec.fn}, `{"nope":true}`)
	if x.Status != Succeeded {
		t.Fatalf("status %s (%s)", x.Status, x.Cause)
	}
	if len(rec.calls) != 2 {
		t.Fatalf("%d calls, want 2", len(rec.calls))
	}
	for i, want := range []string{
		`{"entered":"2025-03-14T01:00:00.000Z","retries":0,"missing":true}`,
		`{"entered":"2025-03-14T01:00:00.000Z","retries":1,"missing":true}`,
	} {
		if !sameJSON(t, []byte(rec.calls[i].input), want) {
			t.Errorf("call %d input %s, want %s", i, rec.calls[i].input, want)
		}
	}
	// A path into the execution's input that selects nothing is a runtime
	// error, as any Parameters path.
	x = run(t, def, map[string]TaskFunc{fnARN: rec.fn}, `{}`)
	if x.Status != Failed || x.Error != ErrRuntime {
		t.Errorf("status, error = %s, %s, want FAILED, %s", x.Status, x.Error, ErrRuntime)
	}
}
