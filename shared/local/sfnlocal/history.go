package sfnlocal

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"
)

// EventType names a history event.
type EventType string

// History event types.
const (
	ExecutionStarted   EventType = "ExecutionStarted"
	StateEntered       EventType = "StateEntered"
	StateExited        EventType = "StateExited"
	TaskFailed         EventType = "TaskFailed"
	RetryScheduled     EventType = "RetryScheduled"
	Caught             EventType = "Caught"
	ExecutionSucceeded EventType = "ExecutionSucceeded"
	ExecutionFailed    EventType = "ExecutionFailed"
	ExecutionAborted   EventType = "ExecutionAborted"
)

// Event is one entry of an execution's history, at a virtual time.
type Event struct {
	// ID numbers events from 1, as Step Functions' event IDs do.
	ID   int
	Time time.Time
	Type EventType
	// State is the state the event is about (empty for execution events).
	State string
	// Input is the state's raw input (StateEntered) or the execution's
	// input (ExecutionStarted).
	Input json.RawMessage
	// Output is the state's output (StateExited) or the execution's
	// (ExecutionSucceeded).
	Output json.RawMessage
	// Error and Cause are set for TaskFailed, Caught, ExecutionFailed and
	// ExecutionAborted;
	// Error also for RetryScheduled.
	Error string
	Cause string
	// Attempt is the retry's number for its retrier, from 1, and Delay its
	// backoff (RetryScheduled).
	Attempt int
	Delay   time.Duration
	// Next is the catcher's next state (Caught).
	Next string
}

// String renders the event on one line, for logs and test failures.
func (ev Event) String() string {
	s := fmt.Sprintf("%s %s", ev.Time.Format(time.RFC3339Nano), ev.Type)
	if ev.State != "" {
		s += " " + ev.State
	}
	switch ev.Type {
	case TaskFailed, ExecutionFailed, ExecutionAborted:
		s += " " + ev.Error
	case RetryScheduled:
		s += fmt.Sprintf(" %s attempt %d in %s", ev.Error, ev.Attempt, ev.Delay)
	case Caught:
		s += fmt.Sprintf(" %s -> %s", ev.Error, ev.Next)
	}
	return s
}

// record appends an event to x's history. The methods of execution that
// change it are called with x.mu held.
func (x *execution) record(ev Event) {
	ev.ID = len(x.history) + 1
	x.history = append(x.history, ev)
}

// causeAt prefixes a runtime failure's detail as Step Functions does.
func (x *execution) causeAt(st *state, detail string) string {
	return fmt.Sprintf("An error occurred while executing the state '%s' (entered at the event id #%d). %s", st.name, x.enteredID, detail)
}

// failStep fails x with a state's runtime error.
func (x *execution) failStep(now time.Time, st *state, serr *stepError) {
	x.fail(now, serr.name, x.causeAt(st, serr.detail))
}

// fail ends x as FAILED.
func (x *execution) fail(now time.Time, name, cause string) {
	x.status, x.errName, x.cause, x.stoppedAt = Failed, name, cause, now
	x.wake = time.Time{}
	x.record(Event{Time: now, Type: ExecutionFailed, Error: name, Cause: cause})
}

// leave records that x leaves st with output out, and moves on to next, or
// ends the execution successfully when end is true.
func (x *execution) leave(now time.Time, st *state, out any, next string, end bool) {
	b := encodeJSON(out)
	x.record(Event{Time: now, Type: StateExited, State: st.name, Output: b})
	if end {
		x.status, x.output, x.stoppedAt = Succeeded, b, now
		x.wake = time.Time{}
		x.record(Event{Time: now, Type: ExecutionSucceeded, Output: b})
		return
	}
	x.state, x.kind, x.raw, x.wake = next, atEnter, out, now
}

// Execution is a snapshot of one execution.
type Execution struct {
	Name   string
	Input  json.RawMessage
	Status Status
	// Output is set when Status is SUCCEEDED.
	Output json.RawMessage
	// Error and Cause are set when Status is FAILED, or ABORTED by a Stop
	// that gave them.
	Error string
	Cause string
	// StartedAt is when Start was called; StoppedAt when it finished.
	StartedAt time.Time
	StoppedAt time.Time
	// State is the current state and Wake when its next step is due, while
	// Status is RUNNING.
	State   string
	Wake    time.Time
	History []Event
}

// Execution returns a snapshot of the execution named name.
func (e *Executor) Execution(name string) (Execution, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	x, ok := e.execs[name]
	if !ok {
		return Execution{}, false
	}
	return x.snapshot(), true
}

// Executions returns snapshots of all executions, by name.
func (e *Executor) Executions() []Execution {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]Execution, 0, len(e.execs))
	for _, n := range slices.Sorted(maps.Keys(e.execs)) {
		out = append(out, e.execs[n].snapshot())
	}
	return out
}

// snapshot copies x's record; it takes x.mu, as a driver may be running.
func (x *execution) snapshot() Execution {
	x.mu.Lock()
	defer x.mu.Unlock()
	s := Execution{
		Name:      x.name,
		Input:     bytes.Clone(x.input),
		Status:    x.status,
		Output:    bytes.Clone(x.output),
		Error:     x.errName,
		Cause:     x.cause,
		StartedAt: x.startedAt,
		StoppedAt: x.stoppedAt,
		History:   slices.Clone(x.history),
	}
	if x.status == Running {
		s.State, s.Wake = x.state, x.wake
	}
	return s
}
