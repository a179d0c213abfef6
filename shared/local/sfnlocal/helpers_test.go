package sfnlocal

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"
)

// t0 is where every test's virtual clock starts.
var t0 = time.Date(2025, 3, 14, 1, 0, 0, 0, time.UTC)

const fnARN = "arn:aws:lambda:us-east-1:000000000000:function:f"

// run starts one execution of def with input, runs it until t0+24h, and
// returns its snapshot.
func run(t *testing.T, def string, tasks map[string]TaskFunc, input string) Execution {
	t.Helper()
	clock := NewVirtualClock(t0)
	e, err := New(def, tasks, clock)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx := context.Background()
	if err := e.Start(ctx, "x", json.RawMessage(input)); err != nil {
		t.Fatalf("Start: %v", err)
	}
	if err := e.RunUntil(ctx, t0.Add(24*time.Hour)); err != nil {
		t.Fatalf("RunUntil: %v", err)
	}
	x, ok := e.Execution("x")
	if !ok {
		t.Fatal("execution x not found")
	}
	return x
}

// sameJSON reports whether two JSON texts hold the same value.
func sameJSON(t *testing.T, got []byte, want string) bool {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("got is not JSON: %q: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("want is not JSON: %q: %v", want, err)
	}
	return reflect.DeepEqual(g, w)
}

// summary renders a history as "+offset Type State" lines.
func summary(h []Event) []string {
	var out []string
	for _, ev := range h {
		s := fmt.Sprintf("+%s %s", ev.Time.Sub(t0), ev.Type)
		if ev.State != "" {
			s += " " + ev.State
		}
		switch ev.Type {
		case TaskFailed, ExecutionFailed:
			s += " " + ev.Error
		case RetryScheduled:
			s += fmt.Sprintf(" %s #%d %s", ev.Error, ev.Attempt, ev.Delay)
		case Caught:
			s += fmt.Sprintf(" %s -> %s", ev.Error, ev.Next)
		}
		out = append(out, s)
	}
	return out
}

// recorder is a TaskFunc that records when it was called and with what,
// and answers from a script of results (the last one repeats).
type recorder struct {
	clock *VirtualClock
	mu    sync.Mutex
	calls []call
	// script[i] answers call i; nil error with out "" means echo the input.
	script []reply
}

type call struct {
	at    time.Time
	input string
}

type reply struct {
	out string
	err error
}

func (r *recorder) fn(ctx context.Context, in json.RawMessage) (json.RawMessage, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var at time.Time
	if r.clock != nil {
		at = r.clock.Now()
	}
	r.calls = append(r.calls, call{at: at, input: string(in)})
	if len(r.script) == 0 {
		return in, nil
	}
	i := min(len(r.calls)-1, len(r.script)-1)
	rep := r.script[i]
	if rep.err != nil {
		return nil, rep.err
	}
	if rep.out == "" {
		return in, nil
	}
	return json.RawMessage(rep.out), nil
}

// offsets returns the calls' times relative to t0.
func (r *recorder) offsets() []time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []time.Duration
	for _, c := range r.calls {
		out = append(out, c.at.Sub(t0))
	}
	return out
}
