package sfnlocal

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode"
)

// TaskFunc stands in for a Lambda function: input is the state's input as
// JSON (after InputPath and Parameters), output its result. A returned
// error, or a panic, is a task failure named by ErrorType. Task functions
// of different executions run concurrently; a TaskFunc may call Start,
// but not RunReady or RunUntil.
type TaskFunc func(ctx context.Context, input json.RawMessage) (json.RawMessage, error)

// Status is an execution's status, as Step Functions spells it.
type Status string

// Execution statuses.
const (
	Running   Status = "RUNNING"
	Succeeded Status = "SUCCEEDED"
	Failed    Status = "FAILED"
	Aborted   Status = "ABORTED"
)

// DefaultTransitionLimit is how many state transitions (states entered and
// task retries) one execution may make without waiting for a later time
// before the executor decides it loops and fails it with
// Local.TransitionLimitExceeded.
const DefaultTransitionLimit = 10000

// DefaultStateMachineARN is the state machine's ARN in the context object
// ($$.StateMachine.Id, and $$.Execution.Id derived from it) unless
// WithStateMachineARN sets another.
const DefaultStateMachineARN = "arn:aws:states:us-east-1:000000000000:stateMachine:local"

// ErrClosed is Start's error after Close.
var ErrClosed = errors.New("local executor: closed")

// clock is where the executor reads the time: a *VirtualClock, or the
// wall clock in real time.
type clock interface {
	Now() time.Time
}

// wallClock is the wall clock in UTC.
type wallClock struct{}

func (wallClock) Now() time.Time { return time.Now().UTC() }

// Executor runs executions of one state machine, concurrently: each
// execution's steps run in order in one goroutine at a time, different
// executions' steps in different goroutines, and no lock is held while a
// task function runs. It is safe for use from many goroutines.
//
// An executor made by New runs on a virtual clock, and only inside
// RunReady and RunUntil: Start records an execution, RunReady runs every
// due execution concurrently until each has finished or waits for a later
// time, and RunUntil moves the clock through every wake-up in order. One
// made by NewRealTime runs on the wall clock by itself: a started
// execution begins at once in its own goroutine and its Wait states and
// retry backoffs sleep; Shutdown stops it gracefully, Close at once.
type Executor struct {
	m        *machine
	clock    clock
	virtual  *VirtualClock // nil in real time
	maxSteps int
	arn      string

	// stopping is closed by Shutdown: no step starts after it.
	stopping chan struct{}
	stopOnce sync.Once
	// base ends when Shutdown gives up waiting (at once for Close), and
	// with it every driver's context, a task call's included.
	base   context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup // every driver goroutine

	mu      sync.Mutex
	changed *sync.Cond // a driver stopped running steps, or an execution started
	execs   map[string]*execution
	fresh   []*execution // started since RunReady last looked (virtual clock)
	busy    int          // executions whose steps a goroutine is running
	closed  bool
}

// Option changes how New and NewRealTime build an Executor.
type Option func(*Executor)

// WithTransitionLimit sets the per-execution transition limit
// (DefaultTransitionLimit otherwise).
func WithTransitionLimit(n int) Option {
	return func(e *Executor) { e.maxSteps = n }
}

// WithStateMachineARN sets the state machine's ARN the context object
// reports (DefaultStateMachineARN otherwise), of the form
// arn:aws:states:REGION:ACCOUNT:stateMachine:NAME.
func WithStateMachineARN(arn string) Option {
	return func(e *Executor) { e.arn = arn }
}

// New parses and validates definition and returns an executor on the
// virtual clock that calls tasks (keyed by the Task states' Resource ARNs).
// A definition using anything the executor does not support is refused
// with a *DefinitionError naming the state and the field.
func New(definition string, tasks map[string]TaskFunc, clock *VirtualClock, opts ...Option) (*Executor, error) {
	if clock == nil {
		return nil, fmt.Errorf("local executor: nil clock")
	}
	e, err := newExecutor(definition, tasks, clock, opts)
	if err != nil {
		return nil, err
	}
	e.virtual = clock
	return e, nil
}

// NewRealTime is New on the wall clock (UTC): executions run by
// themselves from Start on, until Close. Handlers the tasks call should
// read the wall clock too (incident.SystemClock).
func NewRealTime(definition string, tasks map[string]TaskFunc, opts ...Option) (*Executor, error) {
	return newExecutor(definition, tasks, wallClock{}, opts)
}

func newExecutor(definition string, tasks map[string]TaskFunc, c clock, opts []Option) (*Executor, error) {
	m, err := parseMachine(definition, tasks)
	if err != nil {
		return nil, err
	}
	e := &Executor{m: m, clock: c, maxSteps: DefaultTransitionLimit, arn: DefaultStateMachineARN, execs: map[string]*execution{}}
	for _, o := range opts {
		o(e)
	}
	if !strings.HasPrefix(e.arn, "arn:") || !strings.Contains(e.arn, ":stateMachine:") || strings.HasSuffix(e.arn, ":") {
		return nil, fmt.Errorf("local executor: state machine ARN %q is not of the form arn:aws:states:REGION:ACCOUNT:stateMachine:NAME", e.arn)
	}
	e.changed = sync.NewCond(&e.mu)
	e.stopping = make(chan struct{})
	e.base, e.cancel = context.WithCancel(context.Background())
	return e, nil
}

// cursorKind says what an execution does next at its current state.
type cursorKind int

const (
	atEnter    cursorKind = iota // enter the state
	atAttempt                    // invoke the task again (a retry)
	atWaitDone                   // leave the Wait state whose time has come
)

// execution is the executor's record of one execution. mu guards every
// field but busy, which Executor.mu guards; a driver holds mu while it
// runs a step, except during the task call. Lock order: Executor.mu, then
// mu.
type execution struct {
	mu sync.Mutex

	name       string
	input      []byte
	inputValue any // input decoded, for $$.Execution.Input
	status     Status
	output     []byte
	errName    string
	cause      string
	startedAt  time.Time
	stoppedAt  time.Time
	history    []Event

	// Where a running execution stands.
	wake      time.Time
	state     string
	kind      cursorKind
	raw       any       // the state's raw input
	enteredID int       // event ID of the StateEntered event, for causes
	enteredAt time.Time // for $$.State.EnteredTime
	retries   []int64   // attempts used per retrier since the state was entered

	busy bool // a goroutine is running its steps; guarded by Executor.mu
}

// Start is StartExecution. It records a new execution with input (nil
// means {}) due at the clock's current time. On the virtual clock it runs
// nothing (RunReady and RunUntil do); in real time the execution begins at
// once in its own goroutine, and Start does not wait for it. Like Step
// Functions for Standard workflows it is idempotent: starting a name that
// is running with the same input (byte for byte) returns nil; with a
// different input, or when the execution with that name has finished, it
// returns an *ExecutionAlreadyExistsError. After Shutdown or Close it
// returns ErrClosed.
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
	if e.closed {
		return ErrClosed
	}
	if x, ok := e.execs[name]; ok {
		return x.startAgain(input)
	}
	now := e.clock.Now()
	x := &execution{
		name:       name,
		input:      bytes.Clone(input),
		inputValue: raw,
		status:     Running,
		startedAt:  now,
		wake:       now,
		state:      e.m.startAt,
		kind:       atEnter,
		raw:        raw,
	}
	x.record(Event{Time: now, Type: ExecutionStarted, Input: x.input})
	e.execs[name] = x
	if e.virtual == nil {
		e.launch(e.base, x, e.live)
		return nil
	}
	e.fresh = append(e.fresh, x)
	e.changed.Broadcast() // a RunReady under way runs it too
	return nil
}

// startAgain answers a Start of x's name with input.
func (x *execution) startAgain(input []byte) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.status != Running {
		return &ExecutionAlreadyExistsError{Name: x.name, Closed: true}
	}
	if !bytes.Equal(x.input, input) {
		return &ExecutionAlreadyExistsError{Name: x.name}
	}
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

// Shutdown stops the executor gracefully: Start refuses new executions,
// no step starts any more, executions asleep in a Wait or a backoff stop
// at once, and Shutdown waits for the task calls in progress to return,
// so that none is cut off half way (a DynamoDB write, say). If ctx ends
// first, their contexts are cancelled, and Shutdown waits for them and
// returns ctx's error. Executions that had not finished stay RUNNING, as
// in a stopped process. On the virtual clock it ends a RunReady under way
// the same way.
func (e *Executor) Shutdown(ctx context.Context) error {
	e.mu.Lock()
	e.closed = true
	e.mu.Unlock()
	e.stopOnce.Do(func() { close(e.stopping) })
	done := make(chan struct{})
	go func() {
		e.wg.Wait() // no driver starts once closed is set
		close(done)
	}()
	defer e.cancel()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		e.cancel()
		<-done
		return ctx.Err()
	}
}

// Close is Shutdown without the grace: task calls in progress see their
// contexts cancelled at once. It returns when every goroutine has
// returned.
func (e *Executor) Close() error {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_ = e.Shutdown(ctx) // ctx has ended: the error says only that
	return nil
}

// isStopping reports whether Shutdown has been called.
func (e *Executor) isStopping() bool {
	select {
	case <-e.stopping:
		return true
	default:
		return false
	}
}

// Stop is StopExecution: the running execution named name ends ABORTED
// with the error and cause given, at once, even while one of its tasks
// runs (whose outcome is then dropped, as Step Functions drops it).
// Stopping an execution that has finished changes nothing; one that was
// never started is an *ExecutionDoesNotExistError.
func (e *Executor) Stop(name, errName, cause string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	x, ok := e.execs[name]
	if !ok {
		return &ExecutionDoesNotExistError{Name: name}
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.status != Running {
		return nil
	}
	now := e.clock.Now()
	x.status, x.errName, x.cause, x.stoppedAt = Aborted, errName, cause, now
	x.wake = time.Time{}
	x.record(Event{Time: now, Type: ExecutionAborted, Error: errName, Cause: cause})
	e.changed.Broadcast()
	return nil
}
