package sfnlocal

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode"
)

// TaskFunc stands in for a Lambda function: input is the state's input as
// JSON (after InputPath and Parameters), output its result. A returned
// error, or a panic, is a task failure named by ErrorType. A TaskFunc may
// call Start, but not RunReady or RunUntil.
type TaskFunc func(ctx context.Context, input json.RawMessage) (json.RawMessage, error)

// Status is an execution's status, as Step Functions spells it.
type Status string

// Execution statuses.
const (
	Running   Status = "RUNNING"
	Succeeded Status = "SUCCEEDED"
	Failed    Status = "FAILED"
)

// DefaultTransitionLimit is how many state transitions (states entered and
// task retries) one execution may make in one RunReady call before the
// executor decides it loops and fails it with Local.TransitionLimitExceeded.
const DefaultTransitionLimit = 10000

// Executor runs executions of one state machine on a virtual clock.
// Starting executions is safe from many goroutines; running them is serial
// (RunReady and RunUntil take turns), which keeps runs deterministic.
type Executor struct {
	m        *machine
	clock    *VirtualClock
	maxSteps int

	runMu sync.Mutex // serialises RunReady and RunUntil
	mu    sync.Mutex // guards execs and everything in them
	execs map[string]*execution
}

// Option changes how New builds an Executor.
type Option func(*Executor)

// WithTransitionLimit sets the per-execution transition limit of one
// RunReady call (DefaultTransitionLimit otherwise).
func WithTransitionLimit(n int) Option {
	return func(e *Executor) { e.maxSteps = n }
}

// New parses and validates definition and returns an executor that calls
// tasks (keyed by the Task states' Resource ARNs) and schedules by clock.
// A definition using anything the executor does not support is refused
// with a *DefinitionError naming the state and the field.
func New(definition string, tasks map[string]TaskFunc, clock *VirtualClock, opts ...Option) (*Executor, error) {
	if clock == nil {
		return nil, fmt.Errorf("local executor: nil clock")
	}
	m, err := parseMachine(definition, tasks)
	if err != nil {
		return nil, err
	}
	e := &Executor{m: m, clock: clock, maxSteps: DefaultTransitionLimit, execs: map[string]*execution{}}
	for _, o := range opts {
		o(e)
	}
	return e, nil
}

// cursorKind says what an execution does next at its current state.
type cursorKind int

const (
	atEnter    cursorKind = iota // enter the state
	atAttempt                    // invoke the task again (a retry)
	atWaitDone                   // leave the Wait state whose time has come
)

// execution is the executor's record of one execution.
type execution struct {
	name      string
	input     []byte
	status    Status
	output    []byte
	errName   string
	cause     string
	startedAt time.Time
	stoppedAt time.Time
	history   []Event

	// Where a running execution stands.
	wake      time.Time
	state     string
	kind      cursorKind
	raw       any     // the state's raw input
	enteredID int     // event ID of the StateEntered event, for causes
	retries   []int64 // attempts used per retrier since the state was entered
}

// Start is StartExecution. It records a new execution with input (nil
// means {}) due to run at the clock's current time; it runs nothing. Like
// Step Functions for Standard workflows it is idempotent: starting a name
// that is running with the same input (byte for byte) returns nil; with a
// different input, or when the execution with that name has finished, it
// returns an *ExecutionAlreadyExistsError.
func (e *Executor) Start(ctx context.Context, name string, input json.RawMessage) error {
	if err := validName(name); err != nil {
		return err
	}
	if len(input) == 0 {
		input = json.RawMessage("{}")
	}
	if len(input) > maxPayload {
		return fmt.Errorf("start execution %q: input is %d bytes, over the 256 KiB limit", name, len(input))
	}
	raw, err := decodeJSON(input)
	if err != nil {
		return fmt.Errorf("start execution %q: input is not valid JSON: %w", name, err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if x, ok := e.execs[name]; ok {
		if x.status != Running {
			return &ExecutionAlreadyExistsError{Name: name, Closed: true}
		}
		if !bytes.Equal(x.input, input) {
			return &ExecutionAlreadyExistsError{Name: name}
		}
		return nil
	}
	now := e.clock.Now()
	x := &execution{
		name:      name,
		input:     bytes.Clone(input),
		status:    Running,
		startedAt: now,
		wake:      now,
		state:     e.m.startAt,
		kind:      atEnter,
		raw:       raw,
	}
	x.record(Event{Time: now, Type: ExecutionStarted, Input: x.input})
	e.execs[name] = x
	return nil
}

// validName applies Step Functions' rules for execution names.
func validName(name string) error {
	if n := len([]rune(name)); n == 0 || n > 80 {
		return fmt.Errorf("invalid execution name %q: it must have 1 to 80 characters", name)
	}
	for _, r := range name {
		if unicode.IsSpace(r) || unicode.IsControl(r) || (r >= 0x7f && r <= 0x9f) || strings.ContainsRune("<>{}[]?*\"#%\\^|~`$&,;:/", r) {
			return fmt.Errorf("invalid execution name %q: %q is not allowed", name, r)
		}
	}
	return nil
}

// RunReady runs every execution whose next step is due (wake time at or
// before the clock's time) until each has finished or waits for a later
// time. Among due executions the earliest wake time goes first, ties by
// name. It never moves the clock. It returns an error only when ctx ends;
// the executions' own failures are in their status.
func (e *Executor) RunReady(ctx context.Context) error {
	e.runMu.Lock()
	defer e.runMu.Unlock()
	return e.runReady(ctx)
}

func (e *Executor) runReady(ctx context.Context) error {
	steps := map[string]int{}
	e.mu.Lock()
	defer e.mu.Unlock()
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		x := e.nextDue(e.clock.Now())
		if x == nil {
			return nil
		}
		if err := e.advance(ctx, x, steps); err != nil {
			return err
		}
	}
}

// nextDue returns the running execution due at now with the earliest wake
// time (ties by name), or nil.
func (e *Executor) nextDue(now time.Time) *execution {
	var best *execution
	for _, x := range e.execs {
		if x.status != Running || x.wake.After(now) {
			continue
		}
		if best == nil || x.wake.Before(best.wake) || (x.wake.Equal(best.wake) && x.name < best.name) {
			best = x
		}
	}
	return best
}

// RunUntil moves the clock forward through every wake-up time up to t,
// earliest first across all executions (ties by name), running what is due
// at each, and leaves the clock at t. Executions due at t itself run. t
// before the clock's time is an error: virtual time never goes back.
func (e *Executor) RunUntil(ctx context.Context, t time.Time) error {
	e.runMu.Lock()
	defer e.runMu.Unlock()
	if now := e.clock.Now(); t.Before(now) {
		return fmt.Errorf("run until %s: the clock is already at %s", t.Format(time.RFC3339Nano), now.Format(time.RFC3339Nano))
	}
	for {
		if err := e.runReady(ctx); err != nil {
			return err
		}
		w, ok := e.NextWake()
		if !ok || w.After(t) {
			break
		}
		if w.After(e.clock.Now()) {
			e.clock.Set(w)
		}
	}
	e.clock.Set(t)
	return e.runReady(ctx)
}

// NextWake returns the earliest wake time of a running execution.
func (e *Executor) NextWake() (time.Time, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	var w time.Time
	found := false
	for _, x := range e.execs {
		if x.status == Running && (!found || x.wake.Before(w)) {
			w, found = x.wake, true
		}
	}
	return w, found
}

// advance runs x step by step until it finishes or waits. Called with e.mu
// held.
func (e *Executor) advance(ctx context.Context, x *execution, steps map[string]int) error {
	for x.status == Running && !x.wake.After(e.clock.Now()) {
		if err := ctx.Err(); err != nil {
			return err
		}
		if x.kind != atWaitDone {
			steps[x.name]++
			if steps[x.name] > e.maxSteps {
				x.fail(e.clock.Now(), ErrTransitionLimit, fmt.Sprintf(
					"local executor: more than %d state transitions in one RunReady call without waiting for a later time (at state %q); the definition or a task loops",
					e.maxSteps, x.state))
				return nil
			}
		}
		yield, err := e.step(ctx, x)
		if err != nil || yield {
			return err
		}
	}
	return nil
}

// stepError is a runtime failure of a state: it fails the execution.
type stepError struct{ name, detail string }

// step performs one step of x: enters a state and runs it, or re-attempts a
// task, or leaves a Wait state. It reports whether x yielded (set a wake
// time). Called with e.mu held; released while a task function runs.
func (e *Executor) step(ctx context.Context, x *execution) (yield bool, err error) {
	st := e.m.states[x.state]
	now := e.clock.Now()
	switch x.kind {
	case atEnter:
		x.record(Event{Time: now, Type: StateEntered, State: st.name, Input: encodeJSON(x.raw)})
		x.enteredID = len(x.history)
		x.retries = make([]int64, len(st.retry))
	case atWaitDone:
		out, serr := e.inOut(st, x.raw)
		if serr != nil {
			x.failStep(now, st, serr)
			return false, nil
		}
		x.leave(now, st, out, st.next, st.end)
		return false, nil
	}

	switch st.typ {
	case typeTask:
		return e.runTask(ctx, x, st)
	case typePass:
		eff, serr := e.effectiveInput(st, x.raw)
		if serr == nil {
			result := eff
			if st.hasResult {
				result = st.result
			}
			var out any
			out, serr = e.output(st, st.resultPath, x.raw, result)
			if serr == nil {
				x.leave(now, st, out, st.next, st.end)
			}
		}
		if serr != nil {
			x.failStep(now, st, serr)
		}
		return false, nil
	case typeChoice:
		eff, serr := applyPath(st.inputPath, x.raw, "InputPath")
		if serr != nil {
			x.failStep(now, st, serr)
			return false, nil
		}
		next := st.defaultNext
		for _, r := range st.choices {
			ok, cerr := r.eval(eff)
			if cerr != nil {
				x.failStep(now, st, &stepError{name: ErrRuntime, detail: cerr.Error()})
				return false, nil
			}
			if ok {
				next = r.next
				break
			}
		}
		if next == "" {
			x.fail(now, ErrNoChoiceMatched, x.causeAt(st, "No Choice rule matched and there is no Default, for the input '"+string(encodeJSON(eff))+"'"))
			return false, nil
		}
		out, serr := applyPath(st.outputPath, eff, "OutputPath")
		if serr == nil {
			serr = checkSize(out, "output")
		}
		if serr != nil {
			x.failStep(now, st, serr)
			return false, nil
		}
		x.leave(now, st, out, next, false)
		return false, nil
	case typeWait:
		until, serr := e.waitUntil(st, x.raw, now)
		if serr != nil {
			x.failStep(now, st, serr)
			return false, nil
		}
		x.wake, x.kind = until, atWaitDone
		return true, nil
	case typeSucceed:
		out, serr := e.inOut(st, x.raw)
		if serr != nil {
			x.failStep(now, st, serr)
			return false, nil
		}
		x.leave(now, st, out, "", true)
		return false, nil
	case typeFail:
		x.fail(now, st.errorName, st.cause)
		return false, nil
	}
	panic("local executor: unknown state type " + st.typ) // parseState admits no other
}

// runTask invokes a Task's function once and handles its result or error.
func (e *Executor) runTask(ctx context.Context, x *execution, st *state) (bool, error) {
	now := e.clock.Now()
	eff, serr := e.effectiveInput(st, x.raw)
	if serr != nil {
		x.failStep(now, st, serr)
		return false, nil
	}
	in := encodeJSON(eff)
	if serr := checkSize(eff, "input"); serr != nil {
		x.failStep(now, st, serr)
		return false, nil
	}

	e.mu.Unlock()
	res, errName, cause, failed := invoke(ctx, st.task, in)
	e.mu.Lock()
	now = e.clock.Now()

	if failed && ctx.Err() != nil {
		// The run was interrupted, not the task: try it again next time.
		x.kind = atAttempt
		return false, ctx.Err()
	}
	if !failed {
		result, derr := decodeJSON(res)
		if derr != nil {
			x.failStep(now, st, &stepError{name: ErrRuntime, detail: fmt.Sprintf("The task returned invalid JSON: %v", derr)})
			return false, nil
		}
		if serr := checkSize(result, "result"); serr != nil {
			x.failStep(now, st, serr)
			return false, nil
		}
		if st.resultSelector != nil {
			sel, err := st.resultSelector.apply(result)
			if err != nil {
				x.failStep(now, st, &stepError{name: ErrRuntime, detail: strings.Replace(err.Error(), "the input", "the result", 1)})
				return false, nil
			}
			result = sel
		}
		out, serr := e.output(st, st.resultPath, x.raw, result)
		if serr != nil {
			x.failStep(now, st, serr)
			return false, nil
		}
		x.leave(now, st, out, st.next, st.end)
		return false, nil
	}

	x.record(Event{Time: now, Type: TaskFailed, State: st.name, Error: errName, Cause: cause})
	for i, r := range st.retry {
		if !matches(r.errorEquals, errName) {
			continue
		}
		if x.retries[i] < r.maxAttempts {
			x.retries[i]++
			d := r.delay(x.retries[i])
			x.record(Event{Time: now, Type: RetryScheduled, State: st.name, Error: errName, Attempt: int(x.retries[i]), Delay: d})
			x.wake, x.kind = now.Add(d), atAttempt
			return true, nil
		}
		break // only the first matching retrier counts
	}
	for _, c := range st.catch {
		if !matches(c.errorEquals, errName) {
			continue
		}
		errOut := map[string]any{"Error": errName, "Cause": cause}
		out, serr := applyResultPath(c.resultPath, x.raw, errOut)
		if serr == nil {
			serr = checkSize(out, "output")
		}
		if serr != nil {
			x.failStep(now, st, serr)
			return false, nil
		}
		x.record(Event{Time: now, Type: Caught, State: st.name, Error: errName, Cause: cause, Next: c.next})
		x.leave(now, st, out, c.next, false)
		return false, nil
	}
	x.fail(now, errName, cause)
	return false, nil
}

// invoke calls a task function as the Lambda runtime would: a returned
// error or a panic becomes an error name and cause. A panic's error name is
// ErrorType of the panic value, as aws-lambda-go reports it ("string" for
// panic("..."), "errorString" for a nil dereference, ...); the cause carries
// no stack trace, so runs stay deterministic.
func invoke(ctx context.Context, f TaskFunc, in json.RawMessage) (out json.RawMessage, errName, cause string, failed bool) {
	defer func() {
		if r := recover(); r != nil {
			out, failed = nil, true
			errName, cause = lambdaError(r, true)
		}
	}()
	out, err := f(ctx, bytes.Clone(in))
	if err != nil {
		errName, cause = lambdaError(err, false)
		return nil, errName, cause, true
	}
	if len(bytes.TrimSpace(out)) == 0 {
		out = json.RawMessage("null") // a handler with no result returns null
	}
	return out, "", "", false
}

// effectiveInput applies InputPath and Parameters to the raw input.
func (e *Executor) effectiveInput(st *state, raw any) (any, *stepError) {
	eff, serr := applyPath(st.inputPath, raw, "InputPath")
	if serr != nil || st.parameters == nil {
		return eff, serr
	}
	p, err := st.parameters.apply(eff)
	if err != nil {
		return nil, &stepError{name: ErrRuntime, detail: err.Error()}
	}
	return p, nil
}

// output applies ResultPath and OutputPath: the state's output from its raw
// input and its result.
func (e *Executor) output(st *state, rp pathField, raw, result any) (any, *stepError) {
	combined, serr := applyResultPath(rp, raw, result)
	if serr != nil {
		return nil, serr
	}
	out, serr := applyPath(st.outputPath, combined, "OutputPath")
	if serr == nil {
		serr = checkSize(out, "output")
	}
	return out, serr
}

// inOut is the output of a state without a result (Wait, Succeed):
// OutputPath applied to InputPath applied to the raw input.
func (e *Executor) inOut(st *state, raw any) (any, *stepError) {
	eff, serr := applyPath(st.inputPath, raw, "InputPath")
	if serr != nil {
		return nil, serr
	}
	out, serr := applyPath(st.outputPath, eff, "OutputPath")
	if serr == nil {
		serr = checkSize(out, "output")
	}
	return out, serr
}

// applyPath applies an InputPath or OutputPath: null gives {}, absent $.
func applyPath(pf pathField, v any, field string) (any, *stepError) {
	switch {
	case pf.null:
		return map[string]any{}, nil
	case pf.path == nil:
		return v, nil
	}
	out, ok := pf.path.get(v)
	if !ok {
		return nil, &stepError{name: ErrRuntime, detail: (&pathError{path: pf.path.text, field: field, input: v}).Error()}
	}
	return out, nil
}

// applyResultPath places result into raw: null keeps raw, absent replaces it.
func applyResultPath(pf pathField, raw, result any) (any, *stepError) {
	switch {
	case pf.null:
		return raw, nil
	case pf.path == nil:
		return result, nil
	}
	out, err := pf.path.set(raw, result)
	if err != nil {
		return nil, &stepError{name: ErrRuntime, detail: fmt.Sprintf("The ResultPath '%s' cannot be applied to the input '%s': %v", pf.path.text, encodeJSON(raw), err)}
	}
	return out, nil
}

// checkSize enforces the 256 KiB limit on a state's data.
func checkSize(v any, what string) *stepError {
	if n := len(encodeJSON(v)); n > maxPayload {
		return &stepError{name: ErrDataLimitExceeded, detail: fmt.Sprintf("The state's %s is %d bytes, over the 256 KiB limit", what, n)}
	}
	return nil
}

// waitUntil computes a Wait state's wake time. Timestamps count to the
// second, as in Step Functions, which truncates milliseconds.
func (e *Executor) waitUntil(st *state, raw any, now time.Time) (time.Time, *stepError) {
	eff, serr := applyPath(st.inputPath, raw, "InputPath")
	if serr != nil {
		return time.Time{}, serr
	}
	switch {
	case st.seconds != nil:
		return now.Add(time.Duration(*st.seconds) * time.Second), nil
	case st.timestamp != nil:
		return st.timestamp.Truncate(time.Second), nil
	case st.secondsPath != nil:
		v, ok := st.secondsPath.get(eff)
		if !ok {
			return time.Time{}, &stepError{name: ErrRuntime, detail: (&pathError{path: st.secondsPath.text, field: "SecondsPath", input: eff}).Error()}
		}
		n, isNum := v.(json.Number)
		secs, err := n.Int64()
		if !isNum || err != nil || secs < 0 || secs > 99999999 {
			return time.Time{}, &stepError{name: ErrRuntime, detail: fmt.Sprintf("The SecondsPath '%s' selected %s, which is not an integer number of seconds from 0 to 99999999", st.secondsPath.text, encodeJSON(v))}
		}
		return now.Add(time.Duration(secs) * time.Second), nil
	default:
		v, ok := st.timestampPath.get(eff)
		if !ok {
			return time.Time{}, &stepError{name: ErrRuntime, detail: (&pathError{path: st.timestampPath.text, field: "TimestampPath", input: eff}).Error()}
		}
		s, isStr := v.(string)
		t, err := parseTimestamp(s)
		if !isStr || err != nil {
			return time.Time{}, &stepError{name: ErrRuntime, detail: fmt.Sprintf("The TimestampPath '%s' selected %s, which is not an RFC 3339 timestamp", st.timestampPath.text, encodeJSON(v))}
		}
		return t.Truncate(time.Second), nil
	}
}

// record appends an event to x's history.
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
	// Error and Cause are set for TaskFailed, Caught and ExecutionFailed;
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
	case TaskFailed, ExecutionFailed:
		s += " " + ev.Error
	case RetryScheduled:
		s += fmt.Sprintf(" %s attempt %d in %s", ev.Error, ev.Attempt, ev.Delay)
	case Caught:
		s += fmt.Sprintf(" %s -> %s", ev.Error, ev.Next)
	}
	return s
}

// Execution is a snapshot of one execution.
type Execution struct {
	Name   string
	Input  json.RawMessage
	Status Status
	// Output is set when Status is SUCCEEDED.
	Output json.RawMessage
	// Error and Cause are set when Status is FAILED.
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
	names := make([]string, 0, len(e.execs))
	for n := range e.execs {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([]Execution, 0, len(names))
	for _, n := range names {
		out = append(out, e.execs[n].snapshot())
	}
	return out
}

func (x *execution) snapshot() Execution {
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
