package sfnlocal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda/messages"
)

// AlphaError and BetaError are task errors with distinct names.
type AlphaError struct{}

func (*AlphaError) Error() string { return "alpha" }

type BetaError struct{}

func (BetaError) Error() string { return "beta" }

func TestErrorType(t *testing.T) {
	tests := []struct {
		name string
		v    any
		want string
	}{
		{"pointer to a named type", &AlphaError{}, "AlphaError"},
		{"value of a named type", BetaError{}, "BetaError"},
		{"errors.New", errors.New("x"), "errorString"},
		{"fmt.Errorf without %w", fmt.Errorf("x"), "errorString"},
		{"fmt.Errorf with %w", fmt.Errorf("x: %w", &AlphaError{}), "wrapError"},
		{"errors.Join", errors.Join(errors.New("a"), errors.New("b")), "joinError"},
		{"an InvokeResponse_Error keeps its type", messages.InvokeResponse_Error{Type: "Custom", Message: "m"}, "Custom"},
		{"panic with a string", "boom", "string"},
		{"nil", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ErrorType(tt.v); got != tt.want {
				t.Errorf("ErrorType(%#v) = %q, want %q", tt.v, got, tt.want)
			}
		})
	}
}

// taskDef is a one-task definition with the given Retry and Catch arrays;
// catchers lead to "Handled", a Pass state that ends the execution.
func taskDef(retry, catch string) string {
	if retry == "" {
		retry = "[]"
	}
	handled := ""
	if catch == "" {
		catch = "[]"
	} else {
		handled = `,"Handled":{"Type":"Pass","End":true}`
	}
	return `{"StartAt":"T","States":{
		"T":{"Type":"Task","Resource":"` + fnARN + `","Retry":` + retry + `,"Catch":` + catch + `,"End":true}` + handled + `}}`
}

func fails(errs ...error) []reply {
	var out []reply
	for _, e := range errs {
		out = append(out, reply{err: e})
	}
	return out
}

func secs(f ...float64) []time.Duration {
	var out []time.Duration
	for _, s := range f {
		out = append(out, time.Duration(s*float64(time.Second)))
	}
	return out
}

func TestRetry(t *testing.T) {
	alpha, beta := &AlphaError{}, BetaError{}
	tests := []struct {
		name       string
		retry      string
		script     []reply
		wantCalls  []time.Duration // each attempt's virtual time after t0
		wantStatus Status
		wantError  string
	}{
		{"backoff capped by MaxDelaySeconds",
			`[{"ErrorEquals":["AlphaError"],"IntervalSeconds":10,"BackoffRate":2,"MaxDelaySeconds":25,"MaxAttempts":3}]`,
			fails(alpha), secs(0, 10, 30, 55), Failed, "AlphaError"},
		{"defaults: 1s, rate 2, 3 attempts",
			`[{"ErrorEquals":["States.ALL"]}]`,
			fails(alpha), secs(0, 1, 3, 7), Failed, "AlphaError"},
		{"MaxAttempts 0 never retries",
			`[{"ErrorEquals":["AlphaError"],"MaxAttempts":0}]`,
			fails(alpha), secs(0), Failed, "AlphaError"},
		{"fractional BackoffRate",
			`[{"ErrorEquals":["States.ALL"],"IntervalSeconds":1,"BackoffRate":1.5,"MaxAttempts":3}]`,
			fails(alpha), secs(0, 1, 2.5, 4.75), Failed, "AlphaError"},
		{"succeeds on the third attempt",
			`[{"ErrorEquals":["AlphaError"],"IntervalSeconds":10,"BackoffRate":2,"MaxAttempts":8}]`,
			[]reply{{err: alpha}, {err: alpha}, {out: `{}`}}, secs(0, 10, 30), Succeeded, ""},
		{"a counter per retrier",
			`[{"ErrorEquals":["AlphaError"],"IntervalSeconds":1,"BackoffRate":1,"MaxAttempts":2},{"ErrorEquals":["BetaError"],"IntervalSeconds":5,"MaxAttempts":1}]`,
			fails(alpha, beta, alpha, alpha), secs(0, 1, 6, 7), Failed, "AlphaError"},
		{"only the first matching retrier counts",
			`[{"ErrorEquals":["AlphaError"],"MaxAttempts":0},{"ErrorEquals":["States.ALL"],"IntervalSeconds":2}]`,
			fails(alpha), secs(0), Failed, "AlphaError"},
		{"a later retrier for another error",
			`[{"ErrorEquals":["AlphaError"],"MaxAttempts":0},{"ErrorEquals":["States.ALL"],"IntervalSeconds":2,"MaxAttempts":1}]`,
			fails(beta), secs(0, 2), Failed, "BetaError"},
		{"States.TaskFailed matches task errors",
			`[{"ErrorEquals":["States.TaskFailed"],"IntervalSeconds":3,"MaxAttempts":1}]`,
			fails(errors.New("plain")), secs(0, 3), Failed, "errorString"},
		{"no matching retrier",
			`[{"ErrorEquals":["BetaError"]}]`,
			fails(alpha), secs(0), Failed, "AlphaError"},
		{"JitterStrategy NONE",
			`[{"ErrorEquals":["AlphaError"],"IntervalSeconds":4,"MaxAttempts":1,"JitterStrategy":"NONE"}]`,
			fails(alpha), secs(0, 4), Failed, "AlphaError"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := NewVirtualClock(t0)
			rec := &recorder{clock: clock, script: tt.script}
			e, err := New(taskDef(tt.retry, ""), map[string]TaskFunc{fnARN: rec.fn}, clock)
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			if err := e.Start(ctx, "x", nil); err != nil {
				t.Fatal(err)
			}
			// RunReady stops at the first retry's wake time.
			if err := e.RunReady(ctx); err != nil {
				t.Fatal(err)
			}
			if len(tt.wantCalls) > 1 {
				x, _ := e.Execution("x")
				if x.Status != Running || !x.Wake.Equal(t0.Add(tt.wantCalls[1])) || len(rec.calls) != 1 {
					t.Fatalf("after RunReady: %s, wake %s, %d calls; want RUNNING, wake +%s, 1 call", x.Status, x.Wake.Sub(t0), len(rec.calls), tt.wantCalls[1])
				}
			}
			if err := e.RunUntil(ctx, t0.Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			if got := rec.offsets(); !reflect.DeepEqual(got, tt.wantCalls) {
				t.Errorf("attempts at %v, want %v", got, tt.wantCalls)
			}
			x, _ := e.Execution("x")
			if x.Status != tt.wantStatus || x.Error != tt.wantError {
				t.Errorf("status, error = %s, %q, want %s, %q", x.Status, x.Error, tt.wantStatus, tt.wantError)
			}
			if !clock.Now().Equal(t0.Add(time.Hour)) {
				t.Errorf("clock = %s, want t0+1h", clock.Now())
			}
		})
	}
}

func TestRetryHistory(t *testing.T) {
	clock := NewVirtualClock(t0)
	rec := &recorder{clock: clock, script: []reply{{err: &AlphaError{}}, {err: &AlphaError{}}, {out: `{"ok":true}`}}}
	def := taskDef(`[{"ErrorEquals":["AlphaError"],"IntervalSeconds":10,"BackoffRate":2,"MaxDelaySeconds":25,"MaxAttempts":3}]`, "")
	e, err := New(def, map[string]TaskFunc{fnARN: rec.fn}, clock)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := e.Start(ctx, "x", nil); err != nil {
		t.Fatal(err)
	}
	if err := e.RunUntil(ctx, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	x, _ := e.Execution("x")
	want := []string{
		"+0s ExecutionStarted",
		"+0s StateEntered T",
		"+0s TaskFailed T AlphaError",
		"+0s RetryScheduled T AlphaError #1 10s",
		"+10s TaskFailed T AlphaError",
		"+10s RetryScheduled T AlphaError #2 20s",
		"+30s StateExited T",
		"+30s ExecutionSucceeded",
	}
	if got := summary(x.History); !reflect.DeepEqual(got, want) {
		t.Errorf("history:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if c := x.History[2].Cause; c != `{"errorMessage":"alpha","errorType":"AlphaError"}` {
		t.Errorf("cause = %s, want the Lambda error payload", c)
	}
}

func TestCatch(t *testing.T) {
	boomCause := `{"errorMessage":"boom","errorType":"errorString"}`
	tests := []struct {
		name       string
		def        string
		task       TaskFunc
		input      string
		wantStatus Status
		wantError  string
		wantOutput string
		wantCalls  int
	}{
		{"ResultPath keeps the input",
			taskDef("", `[{"ErrorEquals":["States.ALL"],"ResultPath":"$.error","Next":"Handled"}]`),
			failWith(errors.New("boom")), `{"id":"a"}`, Succeeded, "",
			`{"id":"a","error":{"Error":"errorString","Cause":` + jsonString(boomCause) + `}}`, 1},
		{"default ResultPath is $",
			taskDef("", `[{"ErrorEquals":["errorString"],"Next":"Handled"}]`),
			failWith(errors.New("boom")), `{"id":"a"}`, Succeeded, "",
			`{"Error":"errorString","Cause":` + jsonString(boomCause) + `}`, 1},
		{"ResultPath null",
			taskDef("", `[{"ErrorEquals":["States.TaskFailed"],"ResultPath":null,"Next":"Handled"}]`),
			failWith(errors.New("boom")), `{"id":"a"}`, Succeeded, "", `{"id":"a"}`, 1},
		{"first matching catcher",
			`{"StartAt":"T","States":{
				"T":{"Type":"Task","Resource":"` + fnARN + `","Catch":[
					{"ErrorEquals":["BetaError"],"Next":"B"},
					{"ErrorEquals":["AlphaError","BetaError"],"Next":"A"},
					{"ErrorEquals":["States.ALL"],"Next":"B"}],"End":true},
				"A":{"Type":"Pass","Result":"A","End":true},
				"B":{"Type":"Pass","Result":"B","End":true}}}`,
			failWith(&AlphaError{}), `{}`, Succeeded, "", `"A"`, 1},
		{"no matching catcher",
			taskDef("", `[{"ErrorEquals":["BetaError"],"Next":"Handled"}]`),
			failWith(&AlphaError{}), `{}`, Failed, "AlphaError", "", 1},
		{"retries spent, then caught",
			taskDef(`[{"ErrorEquals":["States.ALL"],"IntervalSeconds":1,"MaxAttempts":2}]`, `[{"ErrorEquals":["States.ALL"],"ResultPath":"$.e","Next":"Handled"}]`),
			failWith(&AlphaError{}), `{}`, Succeeded, "", `{"e":{"Error":"AlphaError","Cause":"{\"errorMessage\":\"alpha\",\"errorType\":\"AlphaError\"}"}}`, 3},
		{"States.ALL does not catch States.Runtime",
			`{"StartAt":"T","States":{
				"T":{"Type":"Task","Resource":"` + fnARN + `","InputPath":"$.missing",
					"Retry":[{"ErrorEquals":["States.ALL"]}],"Catch":[{"ErrorEquals":["States.ALL"],"Next":"Handled"}],"End":true},
				"Handled":{"Type":"Pass","End":true}}}`,
			failWith(errors.New("never called")), `{}`, Failed, ErrRuntime, "", 0},
		{"nothing catches States.Runtime from ResultSelector",
			`{"StartAt":"T","States":{
				"T":{"Type":"Task","Resource":"` + fnARN + `","ResultSelector":{"x.$":"$.nope"},
					"Catch":[{"ErrorEquals":["States.Runtime"],"Next":"Handled"}],"End":true},
				"Handled":{"Type":"Pass","End":true}}}`,
			func(context.Context, json.RawMessage) (json.RawMessage, error) { return json.RawMessage(`{}`), nil },
			`{}`, Failed, ErrRuntime, "", 1},
		{"a panic is a task failure named by the panic value's type",
			taskDef("", `[{"ErrorEquals":["string"],"Next":"Handled"}]`),
			func(context.Context, json.RawMessage) (json.RawMessage, error) { panic("kaput") },
			`{}`, Succeeded, "", `{"Error":"string","Cause":"{\"errorMessage\":\"kaput\",\"errorType\":\"string\"}"}`, 0},
		{"a nil dereference panics as errorString",
			taskDef("", `[{"ErrorEquals":["errorString"],"ResultPath":null,"Next":"Handled"}]`),
			func(context.Context, json.RawMessage) (json.RawMessage, error) {
				var p *struct{ x int }
				return json.RawMessage(fmt.Sprint(p.x)), nil
			},
			`{}`, Succeeded, "", `{}`, 0},
		{"invalid JSON from a task is a runtime error",
			taskDef("", `[{"ErrorEquals":["States.ALL"],"Next":"Handled"}]`),
			func(context.Context, json.RawMessage) (json.RawMessage, error) { return json.RawMessage(`{`), nil },
			`{}`, Failed, ErrRuntime, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := 0
			f := func(ctx context.Context, in json.RawMessage) (json.RawMessage, error) {
				calls++
				return tt.task(ctx, in)
			}
			x := run(t, tt.def, map[string]TaskFunc{fnARN: f}, tt.input)
			if x.Status != tt.wantStatus || x.Error != tt.wantError {
				t.Fatalf("status, error = %s, %q (%s), want %s, %q", x.Status, x.Error, x.Cause, tt.wantStatus, tt.wantError)
			}
			if tt.wantOutput != "" && !sameJSON(t, x.Output, tt.wantOutput) {
				t.Errorf("output = %s, want %s", x.Output, tt.wantOutput)
			}
			if tt.wantCalls > 0 && calls != tt.wantCalls {
				t.Errorf("task called %d times, want %d", calls, tt.wantCalls)
			}
		})
	}
}

func failWith(err error) TaskFunc {
	return func(context.Context, json.RawMessage) (json.RawMessage, error) { return nil, err }
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
