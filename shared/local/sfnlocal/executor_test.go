package sfnlocal

import (
	"github.com/dashboarduz/incident-response/shared/incident"

	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

const passDef = `{"StartAt":"S","States":{"S":{"Type":"Pass","End":true}}}`

func TestStartIdempotency(t *testing.T) {
	ctx := context.Background()
	e, err := New(passDef, nil, NewVirtualClock(t0))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(ctx, "inc-1", json.RawMessage(`{"incidentId":"inc-1"}`)); err != nil {
		t.Fatalf("first Start: %v", err)
	}
	if err := e.Start(ctx, "inc-1", json.RawMessage(`{"incidentId":"inc-1"}`)); err != nil {
		t.Errorf("Start with the same input while running = %v, want nil", err)
	}
	err = e.Start(ctx, "inc-1", json.RawMessage(`{"incidentId":"other"}`))
	var exists *ExecutionAlreadyExistsError
	if !errors.As(err, &exists) || exists.Name != "inc-1" || exists.Closed {
		t.Errorf("Start with another input = %v, want *ExecutionAlreadyExistsError{inc-1, running}", err)
	}
	if err := e.RunReady(ctx); err != nil {
		t.Fatal(err)
	}
	err = e.Start(ctx, "inc-1", json.RawMessage(`{"incidentId":"inc-1"}`))
	if !errors.As(err, &exists) || !exists.Closed {
		t.Errorf("Start of a finished execution = %v, want *ExecutionAlreadyExistsError with Closed", err)
	}
	if n := len(e.Executions()); n != 1 {
		t.Errorf("%d executions, want 1", n)
	}
}

func TestStartRejects(t *testing.T) {
	tests := []struct {
		name, exec, input, wantIn string
	}{
		{"empty name", "", `{}`, "1 to 80"},
		{"long name", strings.Repeat("a", 81), `{}`, "1 to 80"},
		{"space in name", "a b", `{}`, "not allowed"},
		{"slash in name", "a/b", `{}`, "not allowed"},
		{"input not JSON", "a", `{`, "not valid JSON"},
		{"input too big", "a", `"` + strings.Repeat("x", 300*1024) + `"`, "256 KiB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := New(passDef, nil, NewVirtualClock(t0))
			if err != nil {
				t.Fatal(err)
			}
			err = e.Start(context.Background(), tt.exec, json.RawMessage(tt.input))
			if err == nil || !strings.Contains(err.Error(), tt.wantIn) {
				t.Errorf("Start = %v, want an error containing %q", err, tt.wantIn)
			}
		})
	}
}

func TestStartConcurrent(t *testing.T) {
	ctx := context.Background()
	e, err := New(passDef, nil, NewVirtualClock(t0))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for i := range 50 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			errs <- Starter{Executor: e}.StartEscalation(ctx, incident.EscalationState{IncidentID: "inc-same"})
		}()
		go func() {
			defer wg.Done()
			errs <- e.Start(ctx, fmt.Sprintf("inc-%02d", i), nil)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("Start: %v", err)
		}
	}
	all := e.Executions()
	if len(all) != 51 {
		t.Fatalf("%d executions, want 51", len(all))
	}
	x, _ := e.Execution("inc-same")
	if len(x.History) != 1 || string(x.Input) != `{"incidentId":"inc-same"}` {
		t.Errorf("inc-same: history %v, input %s; want one ExecutionStarted with {\"incidentId\":\"inc-same\"}", x.History, x.Input)
	}
	if err := e.RunReady(ctx); err != nil {
		t.Fatal(err)
	}
	for _, x := range e.Executions() {
		if x.Status != Succeeded {
			t.Errorf("%s: %s, want SUCCEEDED", x.Name, x.Status)
		}
	}
}

// TestRunUntilOrder runs three executions that wait different times and
// checks that every step happens at its wake time, earliest first, with the
// clock at the wake time while the task runs. Executions due at the same
// time run concurrently, so their order among themselves is open.
func TestRunUntilOrder(t *testing.T) {
	clock := NewVirtualClock(t0)
	var (
		mu  sync.Mutex
		log []string
	)
	record := func(_ context.Context, in json.RawMessage) (json.RawMessage, error) {
		var v struct{ Name string }
		if err := json.Unmarshal(in, &v); err != nil {
			return nil, err
		}
		mu.Lock()
		defer mu.Unlock()
		log = append(log, fmt.Sprintf("+%s %s", clock.Now().Sub(t0), v.Name))
		return in, nil
	}
	def := `{"StartAt":"First","States":{
		"First":{"Type":"Task","Resource":"` + fnARN + `","Next":"Wait"},
		"Wait":{"Type":"Wait","SecondsPath":"$.delay","Next":"Second"},
		"Second":{"Type":"Task","Resource":"` + fnARN + `","End":true}}}`
	e, err := New(def, map[string]TaskFunc{fnARN: record}, clock)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, s := range []struct {
		name  string
		delay int
	}{{"c", 10}, {"a", 20}, {"b", 10}} {
		if err := e.Start(ctx, s.name, json.RawMessage(fmt.Sprintf(`{"Name":%q,"delay":%d}`, s.name, s.delay))); err != nil {
			t.Fatal(err)
		}
	}
	if w, ok := e.NextWake(); !ok || !w.Equal(t0) {
		t.Errorf("NextWake = %s, %v, want t0, true", w, ok)
	}
	if err := e.RunUntil(ctx, t0.Add(15*time.Second)); err != nil {
		t.Fatal(err)
	}
	if !clock.Now().Equal(t0.Add(15 * time.Second)) {
		t.Errorf("clock = %s, want t0+15s", clock.Now())
	}
	if w, ok := e.NextWake(); !ok || !w.Equal(t0.Add(20*time.Second)) {
		t.Errorf("NextWake = %s, %v, want t0+20s, true", w, ok)
	}
	if err := e.RunUntil(ctx, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	// Times in the order the calls happened; the calls at each time.
	var times []string
	at := map[string][]string{}
	for _, l := range log {
		tm, name, _ := strings.Cut(l, " ")
		if len(times) == 0 || times[len(times)-1] != tm {
			times = append(times, tm)
		}
		at[tm] = append(at[tm], name)
	}
	for _, names := range at {
		slices.Sort(names)
	}
	if want := []string{"+0s", "+10s", "+20s"}; !reflect.DeepEqual(times, want) {
		t.Errorf("steps %v: times in order %v, want %v", log, times, want)
	}
	if want := map[string][]string{"+0s": {"a", "b", "c"}, "+10s": {"b", "c"}, "+20s": {"a"}}; !reflect.DeepEqual(at, want) {
		t.Errorf("steps %v: by time %v, want %v", log, at, want)
	}
	if _, ok := e.NextWake(); ok {
		t.Error("NextWake reports a wake time after every execution finished")
	}
	if err := e.RunUntil(ctx, t0); err == nil {
		t.Error("RunUntil into the past succeeded, want an error")
	}
}

func TestTransitionLimit(t *testing.T) {
	tests := []struct{ name, def string }{
		{"Pass loop", `{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"B"},"B":{"Type":"Pass","Next":"A"}}}`},
		{"Wait 0 loop", `{"StartAt":"A","States":{"A":{"Type":"Wait","Seconds":0,"Next":"A"}}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := New(tt.def, nil, NewVirtualClock(t0), WithTransitionLimit(100))
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			if err := e.Start(ctx, "x", nil); err != nil {
				t.Fatal(err)
			}
			if err := e.RunReady(ctx); err != nil {
				t.Fatal(err)
			}
			x, _ := e.Execution("x")
			if x.Status != Failed || x.Error != ErrTransitionLimit || !strings.Contains(x.Cause, "100") {
				t.Errorf("status, error, cause = %s, %s, %q, want FAILED, %s", x.Status, x.Error, x.Cause, ErrTransitionLimit)
			}
		})
	}
}

// TestStartFromTask checks that a task may start another execution while
// RunReady runs, and that the new execution runs in the same call.
func TestStartFromTask(t *testing.T) {
	var e *Executor
	spawn := func(ctx context.Context, in json.RawMessage) (json.RawMessage, error) {
		if err := e.Start(ctx, "child", json.RawMessage(`{"child":true}`)); err != nil {
			return nil, err
		}
		return in, nil
	}
	def := `{"StartAt":"C","States":{
		"C":{"Type":"Choice","Choices":[{"Variable":"$.child","IsPresent":true,"Next":"Done"}],"Default":"Spawn"},
		"Spawn":{"Type":"Task","Resource":"` + fnARN + `","Next":"Done"},
		"Done":{"Type":"Succeed"}}}`
	var err error
	if e, err = New(def, map[string]TaskFunc{fnARN: spawn}, NewVirtualClock(t0)); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := e.Start(ctx, "parent", nil); err != nil {
		t.Fatal(err)
	}
	if err := e.RunReady(ctx); err != nil {
		t.Fatal(err)
	}
	for _, x := range e.Executions() {
		if x.Status != Succeeded {
			t.Errorf("%s: %s %s, want SUCCEEDED", x.Name, x.Status, x.Cause)
		}
	}
	if n := len(e.Executions()); n != 2 {
		t.Errorf("%d executions, want 2", n)
	}
}

func TestStopAbortsARunningExecution(t *testing.T) {
	ctx := context.Background()
	clock := NewVirtualClock(time.Date(2026, 3, 1, 3, 0, 0, 0, time.UTC))
	def := `{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":3600,"End":true}}}`
	e, err := New(def, nil, clock)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(ctx, "x", nil); err != nil {
		t.Fatal(err)
	}
	if err := e.RunReady(ctx); err != nil {
		t.Fatal(err)
	}
	if err := e.Stop("x", "Superseded", "a newer one took over"); err != nil {
		t.Fatal(err)
	}
	if err := e.RunUntil(ctx, clock.Now().Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	x, _ := e.Execution("x")
	if x.Status != Aborted || x.Error != "Superseded" || x.History[len(x.History)-1].Type != ExecutionAborted {
		t.Errorf("execution = %s %s, last event %v; want ABORTED Superseded", x.Status, x.Error, x.History[len(x.History)-1])
	}
	if err := e.Stop("x", "Other", ""); err != nil {
		t.Errorf("stopping a finished execution: %v", err)
	}
	if x, _ := e.Execution("x"); x.Error != "Superseded" {
		t.Errorf("a second stop changed the execution: %s", x.Error)
	}
	var missing *ExecutionDoesNotExistError
	if err := e.Stop("nobody", "", ""); !errors.As(err, &missing) {
		t.Errorf("stopping an unknown execution: %v, want *ExecutionDoesNotExistError", err)
	}
}
