package sfnlocal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"
)

// stepsDef has two tasks, a wait, and a third task, each task naming
// itself in the state's input, so a recorder sees each execution's steps.
const stepsDef = `{"StartAt":"A","States":{
	"A":{"Type":"Task","Resource":"` + fnARN + `","Parameters":{"id.$":"$.id","step":"A"},"ResultPath":null,"Next":"B"},
	"B":{"Type":"Task","Resource":"` + fnARN + `","Parameters":{"id.$":"$.id","step":"B"},"ResultPath":null,"Next":"W"},
	"W":{"Type":"Wait","Seconds":10,"Next":"C"},
	"C":{"Type":"Task","Resource":"` + fnARN + `","Parameters":{"id.$":"$.id","step":"C"},"ResultPath":null,"End":true}}}`

// stepLog records the steps each execution's task calls made, in order.
type stepLog struct {
	mu    sync.Mutex
	steps map[string][]string
}

func (l *stepLog) fn(_ context.Context, in json.RawMessage) (json.RawMessage, error) {
	var v struct{ ID, Step string }
	if err := json.Unmarshal(in, &v); err != nil {
		return nil, err
	}
	time.Sleep(time.Millisecond) // a task takes time: let others interleave
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.steps == nil {
		l.steps = map[string][]string{}
	}
	l.steps[v.ID] = append(l.steps[v.ID], v.Step)
	return json.RawMessage(`{}`), nil
}

// startMany starts n executions of e from n goroutines, named x00, x01 ...
func startMany(t *testing.T, e *Executor, n int) []string {
	t.Helper()
	names := make([]string, n)
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for i := range n {
		names[i] = fmt.Sprintf("x%02d", i)
		wg.Go(func() {
			errs <- e.Start(context.Background(), names[i], json.RawMessage(fmt.Sprintf(`{"id":%q}`, names[i])))
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("Start: %v", err)
		}
	}
	return names
}

// checkSteps checks that every execution succeeded with its own steps in
// order, in its task calls and in its history.
func checkSteps(t *testing.T, e *Executor, names []string, log *stepLog) {
	t.Helper()
	log.mu.Lock()
	defer log.mu.Unlock()
	for _, n := range names {
		x, ok := e.Execution(n)
		if !ok || x.Status != Succeeded {
			t.Errorf("%s: %s %s %s, want SUCCEEDED", n, x.Status, x.Error, x.Cause)
			continue
		}
		if got := log.steps[n]; !reflect.DeepEqual(got, []string{"A", "B", "C"}) {
			t.Errorf("%s: task calls %v, want [A B C]", n, got)
		}
		var entered []string
		for _, ev := range x.History {
			if ev.Type == StateEntered {
				entered = append(entered, ev.State)
			}
		}
		if !reflect.DeepEqual(entered, []string{"A", "B", "W", "C"}) {
			t.Errorf("%s: states entered %v, want [A B W C]", n, entered)
		}
	}
}

// TestConcurrentStartsVirtual starts executions from many goroutines while
// RunReady runs in others, then runs them to the end on the virtual clock.
func TestConcurrentStartsVirtual(t *testing.T) {
	log := &stepLog{}
	clock := NewVirtualClock(t0)
	e, err := New(stepsDef, map[string]TaskFunc{fnARN: log.fn}, clock)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	done := make(chan struct{})
	var runners sync.WaitGroup
	for range 3 {
		runners.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				if err := e.RunReady(ctx); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	names := startMany(t, e, 64)
	close(done)
	runners.Wait()
	if err := e.RunReady(ctx); err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if x, _ := e.Execution(n); x.Status != Running || x.State != "W" || !x.Wake.Equal(t0.Add(10*time.Second)) {
			t.Fatalf("%s after RunReady: %s in %q until %s, want RUNNING in W until t0+10s", n, x.Status, x.State, x.Wake)
		}
	}
	if err := e.RunUntil(ctx, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	checkSteps(t, e, names, log)
}

// TestConcurrentRealTime starts executions from many goroutines on a
// real-time executor: each runs by itself, sleeps in its Wait on the wall
// clock, and ends.
func TestConcurrentRealTime(t *testing.T) {
	log := &stepLog{}
	def := `{"StartAt":"A","States":{
		"A":{"Type":"Task","Resource":"` + fnARN + `","Parameters":{"id.$":"$.id","step":"A"},"ResultPath":null,"Next":"B"},
		"B":{"Type":"Task","Resource":"` + fnARN + `","Parameters":{"id.$":"$.id","step":"B"},"ResultPath":null,"Next":"W"},
		"W":{"Type":"Wait","Seconds":1,"Next":"C"},
		"C":{"Type":"Task","Resource":"` + fnARN + `","Parameters":{"id.$":"$.id","step":"C"},"ResultPath":null,"End":true}}}`
	e, err := NewRealTime(def, map[string]TaskFunc{fnARN: log.fn})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	names := startMany(t, e, 64)
	waitFor(t, 20*time.Second, func() bool {
		for _, x := range e.Executions() {
			if x.Status == Running {
				return false
			}
		}
		return true
	})
	checkSteps(t, e, names, log)
	for _, n := range names {
		x, _ := e.Execution(n)
		var entered, exited time.Time
		for _, ev := range x.History {
			if ev.State == "W" && ev.Type == StateEntered {
				entered = ev.Time
			}
			if ev.State == "W" && ev.Type == StateExited {
				exited = ev.Time
			}
		}
		if d := exited.Sub(entered); d < time.Second {
			t.Errorf("%s waited %s in W, want at least 1s", n, d)
		}
	}
	if err := e.RunUntil(context.Background(), time.Now()); err == nil {
		t.Error("RunUntil on a real-time executor succeeded, want an error")
	}
}

// waitFor polls cond until it holds, failing the test after limit.
func waitFor(t *testing.T, limit time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not done within %s", limit)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// slowFastDef runs First then Second; the test's tasks tell the
// executions apart by their input.
const slowFastDef = `{"StartAt":"First","States":{
	"First":{"Type":"Task","Resource":"` + fnARN + `","Parameters":{"who.$":"$.who","step":"first"},"ResultPath":null,"Next":"Second"},
	"Second":{"Type":"Task","Resource":"` + fnARN + `","Parameters":{"who.$":"$.who","step":"second"},"ResultPath":null,"End":true}}}`

// slowFast is a task function under which the "slow" execution's first
// task blocks until the "fast" execution has run both its tasks: it can
// only succeed if a slow task does not hold the other execution up.
func slowFast() TaskFunc {
	fastDone := make(chan struct{})
	return func(ctx context.Context, in json.RawMessage) (json.RawMessage, error) {
		var v struct{ Who, Step string }
		if err := json.Unmarshal(in, &v); err != nil {
			return nil, err
		}
		switch {
		case v.Who == "fast" && v.Step == "second":
			close(fastDone)
		case v.Who == "slow" && v.Step == "first":
			select {
			case <-fastDone:
			case <-time.After(10 * time.Second):
				return nil, errors.New("the fast execution did not get through while this task ran")
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		return json.RawMessage(`{}`), nil
	}
}

func TestSlowTaskDoesNotDelayAnother(t *testing.T) {
	ctx := context.Background()
	check := func(t *testing.T, e *Executor) {
		t.Helper()
		for _, x := range e.Executions() {
			if x.Status != Succeeded {
				t.Errorf("%s: %s %s %s, want SUCCEEDED", x.Name, x.Status, x.Error, x.Cause)
			}
		}
	}
	t.Run("virtual clock", func(t *testing.T) {
		e, err := New(slowFastDef, map[string]TaskFunc{fnARN: slowFast()}, NewVirtualClock(t0))
		if err != nil {
			t.Fatal(err)
		}
		// Were executions run one at a time, slow's first task would wait
		// for fast in vain, and fail after ten seconds.
		for _, who := range []string{"slow", "fast"} {
			if err := e.Start(ctx, who, json.RawMessage(`{"who":"`+who+`"}`)); err != nil {
				t.Fatal(err)
			}
		}
		if err := e.RunReady(ctx); err != nil {
			t.Fatal(err)
		}
		check(t, e)
	})
	t.Run("real time", func(t *testing.T) {
		e, err := NewRealTime(slowFastDef, map[string]TaskFunc{fnARN: slowFast()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { e.Close() })
		for _, who := range []string{"slow", "fast"} {
			if err := e.Start(ctx, who, json.RawMessage(`{"who":"`+who+`"}`)); err != nil {
				t.Fatal(err)
			}
		}
		// In real time RunReady waits until nothing runs.
		if err := e.RunReady(ctx); err != nil {
			t.Fatal(err)
		}
		check(t, e)
	})
}

// blockUntilCancelled is a task that closes running, then holds until
// its context ends and fails with the context's error.
func blockUntilCancelled(running chan struct{}) TaskFunc {
	return func(ctx context.Context, in json.RawMessage) (json.RawMessage, error) {
		close(running)
		<-ctx.Done()
		return nil, ctx.Err()
	}
}

// startSleeperAndWorker runs def in real time with task as fnARN and
// starts two executions: "sleeper", which def sends to wait in W, and
// "worker", whose task runs. It returns once the task has closed running
// and the sleeper waits.
func startSleeperAndWorker(t *testing.T, def string, task TaskFunc, running <-chan struct{}) *Executor {
	t.Helper()
	e, err := NewRealTime(def, map[string]TaskFunc{fnARN: task})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(context.Background(), "sleeper", json.RawMessage(`{"sleep":true}`)); err != nil {
		t.Fatal(err)
	}
	if err := e.Start(context.Background(), "worker", nil); err != nil {
		t.Fatal(err)
	}
	<-running
	waitFor(t, 10*time.Second, func() bool {
		x, _ := e.Execution("sleeper")
		return x.State == "W" && x.Wake.After(time.Now())
	})
	return e
}

// TestRealTimeClose checks that Close stops an execution asleep in a Wait
// and one whose task is running, leaves them RUNNING, and refuses Start.
func TestRealTimeClose(t *testing.T) {
	taskRunning := make(chan struct{})
	block := blockUntilCancelled(taskRunning)
	def := `{"StartAt":"C","States":{
		"C":{"Type":"Choice","Choices":[{"Variable":"$.sleep","IsPresent":true,"Next":"W"}],"Default":"T"},
		"W":{"Type":"Wait","Seconds":3600,"End":true},
		"T":{"Type":"Task","Resource":"` + fnARN + `","End":true}}}`
	e := startSleeperAndWorker(t, def, block, taskRunning)
	ctx := context.Background()
	closed := make(chan error)
	go func() { closed <- e.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Fatalf("Close: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return within 10 s")
	}
	for _, n := range []string{"sleeper", "worker"} {
		if x, _ := e.Execution(n); x.Status != Running {
			t.Errorf("%s after Close: %s, want RUNNING", n, x.Status)
		}
	}
	if x, _ := e.Execution("worker"); x.State != "T" {
		t.Errorf("worker after Close in %q, want T (its task to be attempted again)", x.State)
	}
	if err := e.Start(ctx, "late", nil); !errors.Is(err, ErrClosed) {
		t.Errorf("Start after Close = %v, want ErrClosed", err)
	}
	// The worker is due again (its task to be attempted), but nothing runs
	// it any more: RunReady must not wait for it.
	if err := e.RunReady(ctx); err != nil {
		t.Errorf("RunReady after Close = %v", err)
	}
}

// TestRealTimeShutdown checks that Shutdown lets a task call in progress
// finish with its context intact, stops the execution before its next
// step, and stops a sleeping execution at once.
func TestRealTimeShutdown(t *testing.T) {
	running := make(chan struct{})
	release := make(chan struct{})
	taskErr := make(chan error, 1)
	task := func(ctx context.Context, in json.RawMessage) (json.RawMessage, error) {
		close(running)
		<-release
		taskErr <- ctx.Err()
		return json.RawMessage(`{}`), nil
	}
	def := `{"StartAt":"C","States":{
		"C":{"Type":"Choice","Choices":[{"Variable":"$.sleep","IsPresent":true,"Next":"W"}],"Default":"T"},
		"W":{"Type":"Wait","Seconds":3600,"End":true},
		"T":{"Type":"Task","Resource":"` + fnARN + `","Next":"After"},
		"After":{"Type":"Pass","End":true}}}`
	e := startSleeperAndWorker(t, def, task, running)
	ctx := context.Background()
	shut := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		shut <- e.Shutdown(ctx)
	}()
	waitFor(t, 10*time.Second, func() bool { return errors.Is(e.Start(ctx, "late", nil), ErrClosed) })
	close(release)
	if err := <-shut; err != nil {
		t.Fatalf("Shutdown = %v, want nil", err)
	}
	if err := <-taskErr; err != nil {
		t.Errorf("the task's context ended (%v); Shutdown should let it finish", err)
	}
	x, _ := e.Execution("worker")
	if last := x.History[len(x.History)-1]; x.Status != Running || last.Type != StateExited || last.State != "T" {
		t.Errorf("worker after Shutdown: %s, last event %v; want RUNNING, T exited and After not entered", x.Status, last)
	}
	if x, _ := e.Execution("sleeper"); x.Status != Running || x.State != "W" {
		t.Errorf("sleeper after Shutdown: %s in %q, want RUNNING in W", x.Status, x.State)
	}
}

// TestShutdownGivesUp checks that Shutdown cancels a task that outlasts its
// context, and says so.
func TestShutdownGivesUp(t *testing.T) {
	running := make(chan struct{})
	task := blockUntilCancelled(running)
	e, err := NewRealTime(`{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"`+fnARN+`","End":true}}}`, map[string]TaskFunc{fnARN: task})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(context.Background(), "x", nil); err != nil {
		t.Fatal(err)
	}
	<-running
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := e.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown = %v, want context.DeadlineExceeded", err)
	}
	if x, _ := e.Execution("x"); x.Status != Running || x.State != "T" {
		t.Errorf("x after Shutdown: %s in %q, want RUNNING in T", x.Status, x.State)
	}
}

// TestCloseStopsRunReady checks that Close ends a RunReady on the virtual
// clock whose task is running.
func TestCloseStopsRunReady(t *testing.T) {
	running := make(chan struct{})
	block := blockUntilCancelled(running)
	e, err := New(`{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"`+fnARN+`","End":true}}}`, map[string]TaskFunc{fnARN: block}, NewVirtualClock(t0))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := e.Start(ctx, "x", nil); err != nil {
		t.Fatal(err)
	}
	ran := make(chan error)
	go func() { ran <- e.RunReady(ctx) }()
	<-running
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-ran; err != nil {
		t.Errorf("RunReady = %v, want nil (the caller's context did not end)", err)
	}
	if x, _ := e.Execution("x"); x.Status != Running || x.State != "T" {
		t.Errorf("x after Close: %s in %q, want RUNNING in T", x.Status, x.State)
	}
}

// BenchmarkRunReady runs executions whose one task takes 2 ms (a
// DynamoDB call, say) through RunReady. With executions run one at a
// time, an op of 32 executions would take 64 ms or more; run
// concurrently, it takes about as long as one.
func BenchmarkRunReady(b *testing.B) {
	task := func(context.Context, json.RawMessage) (json.RawMessage, error) {
		time.Sleep(2 * time.Millisecond)
		return json.RawMessage(`{}`), nil
	}
	def := `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"` + fnARN + `","End":true}}}`
	for _, n := range []int{1, 32} {
		b.Run(fmt.Sprintf("executions=%d", n), func(b *testing.B) {
			ctx := context.Background()
			for b.Loop() {
				e, err := New(def, map[string]TaskFunc{fnARN: task}, NewVirtualClock(t0))
				if err != nil {
					b.Fatal(err)
				}
				for i := range n {
					if err := e.Start(ctx, fmt.Sprintf("x%d", i), nil); err != nil {
						b.Fatal(err)
					}
				}
				if err := e.RunReady(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
