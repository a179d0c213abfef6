package sfnlocal

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// stepError is a runtime failure of a state: it fails the execution.
type stepError struct{ name, detail string }

// taskCall is a Task's invocation that step leaves to its caller, which
// makes it without holding any lock.
type taskCall struct {
	st    *state
	input json.RawMessage
}

// step performs one step of x: enters a state and runs it, or re-attempts a
// task, or leaves a Wait state. A Task's invocation is returned for the
// caller to make (then taskDone); everything else happens here. Called
// with x.mu held.
func (e *Executor) step(x *execution) *taskCall {
	st := e.m.states[x.state]
	now := e.clock.Now()
	switch x.kind {
	case atEnter:
		x.record(Event{Time: now, Type: StateEntered, State: st.name, Input: encodeJSON(x.raw)})
		x.enteredID, x.enteredAt = len(x.history), now
		x.retries = make([]int64, len(st.retry))
	case atWaitDone:
		if out, serr := e.inOut(st, x.raw); serr != nil {
			x.failStep(now, st, serr)
		} else {
			x.leave(now, st, out, st.next, st.end)
		}
		return nil
	}
	var serr *stepError
	switch st.typ {
	case typeTask:
		return e.prepareTask(x, st, now)
	case typePass:
		serr = e.runPass(x, st, now)
	case typeChoice:
		serr = e.runChoice(x, st, now)
	case typeWait:
		serr = e.runWait(x, st, now)
	case typeSucceed:
		var out any
		if out, serr = e.inOut(st, x.raw); serr == nil {
			x.leave(now, st, out, "", true)
		}
	case typeFail:
		x.fail(now, st.errorName, st.cause)
	}
	if serr != nil {
		x.failStep(now, st, serr)
	}
	return nil
}

// runPass runs a Pass state.
func (e *Executor) runPass(x *execution, st *state, now time.Time) *stepError {
	eff, serr := e.effectiveInput(x, st)
	if serr != nil {
		return serr
	}
	result := eff
	if st.hasResult {
		result = st.result
	}
	out, serr := e.output(st, st.resultPath, x.raw, result)
	if serr != nil {
		return serr
	}
	x.leave(now, st, out, st.next, st.end)
	return nil
}

// runChoice runs a Choice state: the first rule that matches names the
// next state, else Default.
func (e *Executor) runChoice(x *execution, st *state, now time.Time) *stepError {
	eff, serr := applyPath(st.inputPath, x.raw, "InputPath")
	if serr != nil {
		return serr
	}
	next := st.defaultNext
	for _, r := range st.choices {
		ok, cerr := r.eval(eff)
		if cerr != nil {
			return &stepError{name: ErrRuntime, detail: cerr.Error()}
		}
		if ok {
			next = r.next
			break
		}
	}
	if next == "" {
		x.fail(now, ErrNoChoiceMatched, x.causeAt(st, "No Choice rule matched and there is no Default, for the input '"+string(encodeJSON(eff))+"'"))
		return nil
	}
	out, serr := applyPath(st.outputPath, eff, "OutputPath")
	if serr == nil {
		serr = checkSize(out, "output")
	}
	if serr != nil {
		return serr
	}
	x.leave(now, st, out, next, false)
	return nil
}

// runWait enters a Wait state: x yields until the state's time.
func (e *Executor) runWait(x *execution, st *state, now time.Time) *stepError {
	until, serr := e.waitUntil(st, x.raw, now)
	if serr != nil {
		return serr
	}
	x.wake, x.kind = until, atWaitDone
	return nil
}

// prepareTask computes a Task's input and returns the call to make.
func (e *Executor) prepareTask(x *execution, st *state, now time.Time) *taskCall {
	eff, serr := e.effectiveInput(x, st)
	var in []byte
	if serr == nil {
		in = encodeJSON(eff)
		serr = checkLen(len(in), "input")
	}
	if serr != nil {
		x.failStep(now, st, serr)
		return nil
	}
	return &taskCall{st: st, input: in}
}

// invocation is what a task function returned.
type invocation struct {
	out            json.RawMessage
	errName, cause string
	failed         bool
}

// taskDone handles the result of a Task's invocation. Called with x.mu
// held.
func (e *Executor) taskDone(ctx context.Context, x *execution, st *state, res invocation) {
	now := e.clock.Now()
	switch {
	case x.status != Running:
		// Stopped while the task ran: as in Step Functions, the task's
		// outcome is dropped.
	case res.failed && ctx.Err() != nil:
		// The run was interrupted, not the task: try it again next time.
		x.kind = atAttempt
	case res.failed:
		e.taskFailed(x, st, res.errName, res.cause, now)
	default:
		if serr := e.taskSucceeded(x, st, res.out, now); serr != nil {
			x.failStep(now, st, serr)
		}
	}
}

// taskSucceeded applies ResultSelector, ResultPath and OutputPath to a
// task's result and leaves the state.
func (e *Executor) taskSucceeded(x *execution, st *state, res json.RawMessage, now time.Time) *stepError {
	result, derr := decodeJSON(res)
	if derr != nil {
		return &stepError{name: ErrRuntime, detail: fmt.Sprintf("The task returned invalid JSON: %v", derr)}
	}
	if serr := checkSize(result, "result"); serr != nil {
		return serr
	}
	if st.resultSelector != nil {
		sel, err := st.resultSelector.apply(result, nil)
		if err != nil {
			return &stepError{name: ErrRuntime, detail: strings.Replace(err.Error(), "the input", "the result", 1)}
		}
		result = sel
	}
	out, serr := e.output(st, st.resultPath, x.raw, result)
	if serr != nil {
		return serr
	}
	x.leave(now, st, out, st.next, st.end)
	return nil
}

// taskFailed records a task's failure and retries it, catches it, or fails
// the execution, as the state's Retry and Catch say.
func (e *Executor) taskFailed(x *execution, st *state, errName, cause string, now time.Time) {
	x.record(Event{Time: now, Type: TaskFailed, State: st.name, Error: errName, Cause: cause})
	if retryTask(x, st, errName, now) {
		return
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
			return
		}
		x.record(Event{Time: now, Type: Caught, State: st.name, Error: errName, Cause: cause, Next: c.next})
		x.leave(now, st, out, c.next, false)
		return
	}
	x.fail(now, errName, cause)
}

// retryTask schedules a retry of the task when the first retrier that
// matches errName has attempts left, and reports whether it did.
func retryTask(x *execution, st *state, errName string, now time.Time) bool {
	for i, r := range st.retry {
		if !matches(r.errorEquals, errName) {
			continue
		}
		if x.retries[i] >= r.maxAttempts {
			return false // only the first matching retrier counts
		}
		x.retries[i]++
		d := r.delay(x.retries[i])
		x.record(Event{Time: now, Type: RetryScheduled, State: st.name, Error: errName, Attempt: int(x.retries[i]), Delay: d})
		x.wake, x.kind = now.Add(d), atAttempt
		return true
	}
	return false
}

// invoke calls a task function as the Lambda runtime would: a returned
// error or a panic becomes an error name and cause. A panic's error name is
// ErrorType of the panic value, as aws-lambda-go reports it ("string" for
// panic("..."), "errorString" for a nil dereference, ...); the cause carries
// no stack trace, so runs stay deterministic.
func invoke(ctx context.Context, f TaskFunc, in json.RawMessage) (res invocation) {
	defer func() {
		if r := recover(); r != nil {
			res = invocation{failed: true}
			res.errName, res.cause = lambdaError(r, true)
		}
	}()
	out, err := f(ctx, bytes.Clone(in))
	if err != nil {
		res = invocation{failed: true}
		res.errName, res.cause = lambdaError(err, false)
		return res
	}
	if len(bytes.TrimSpace(out)) == 0 {
		out = json.RawMessage("null") // a handler with no result returns null
	}
	return invocation{out: out}
}

// effectiveInput applies InputPath and Parameters to x's raw input in st.
func (e *Executor) effectiveInput(x *execution, st *state) (any, *stepError) {
	eff, serr := applyPath(st.inputPath, x.raw, "InputPath")
	if serr != nil || st.parameters == nil {
		return eff, serr
	}
	p, err := st.parameters.apply(eff, func() map[string]any { return e.contextObject(x, st) })
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
	return checkLen(len(encodeJSON(v)), what)
}

// checkLen is checkSize for data n bytes long once encoded.
func checkLen(n int, what string) *stepError {
	if n > maxPayload {
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
