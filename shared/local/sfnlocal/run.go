package sfnlocal

import (
	"context"
	"fmt"
	"time"
)

// RunReady runs every execution whose next step is due (wake time at or
// before the clock's time), concurrently, and returns when each has
// finished or waits for a later time, executions started meanwhile (by a
// task, say) included. It never moves the clock. In real time the
// executions run by themselves, and RunReady only waits for that moment.
// It returns an error only when ctx ends; the executions' own failures
// are in their status.
func (e *Executor) RunReady(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.settle(ctx)
}

// RunUntil moves the virtual clock forward through every wake-up time up
// to t, earliest first across all executions, running what is due at each
// (concurrently, as RunReady does), and leaves the clock at t. Executions
// due at t itself run. t before the clock's time is an error: virtual time
// never goes back. A real-time executor refuses RunUntil.
func (e *Executor) RunUntil(ctx context.Context, t time.Time) error {
	if e.virtual == nil {
		return fmt.Errorf("run until %s: the executor runs in real time", t.Format(time.RFC3339Nano))
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if now := e.clock.Now(); t.Before(now) {
		return fmt.Errorf("run until %s: the clock is already at %s", t.Format(time.RFC3339Nano), now.Format(time.RFC3339Nano))
	}
	for {
		if err := e.settle(ctx); err != nil {
			return err
		}
		// Nothing runs now (settle returned with e.mu held), so the clock
		// can move without a task seeing it move.
		w, ok := e.nextWake()
		if !ok || w.After(t) {
			break
		}
		if w.After(e.clock.Now()) {
			e.virtual.Set(w)
		}
	}
	if t.After(e.clock.Now()) {
		e.virtual.Set(t)
	}
	return e.settle(ctx)
}

// NextWake returns the earliest wake time of a running execution.
func (e *Executor) NextWake() (time.Time, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.nextWake()
}

// nextWake is NextWake with e.mu held.
func (e *Executor) nextWake() (time.Time, bool) {
	var w time.Time
	found := false
	for _, x := range e.execs {
		x.mu.Lock()
		if x.status == Running && (!found || x.wake.Before(w)) {
			w, found = x.wake, true
		}
		x.mu.Unlock()
	}
	return w, found
}

// settle waits, with e.mu held (and released while it waits), until no
// execution runs steps and none is due, starting a driver for each due
// execution on the virtual clock. It returns ctx's error, once the drivers
// it waited for have stopped.
func (e *Executor) settle(ctx context.Context) error {
	stop := context.AfterFunc(ctx, func() {
		e.mu.Lock()
		defer e.mu.Unlock()
		e.changed.Broadcast()
	})
	defer stop()
	if e.virtual == nil {
		// After Close no sleeper wakes again, so only busy ones count.
		for ctx.Err() == nil && (e.busy > 0 || (!e.closed && e.dueSleeper())) {
			e.changed.Wait()
		}
		return ctx.Err()
	}
	e.dispatch(ctx, e.all())
	e.fresh = nil
	for e.busy > 0 {
		e.changed.Wait()
		fresh := e.fresh
		e.fresh = nil
		e.dispatch(ctx, fresh)
	}
	return ctx.Err()
}

// all returns every execution. Called with e.mu held.
func (e *Executor) all() []*execution {
	xs := make([]*execution, 0, len(e.execs))
	for _, x := range e.execs {
		xs = append(xs, x)
	}
	return xs
}

// dispatch starts a driver for each of xs that is due and has none.
// Called with e.mu held.
func (e *Executor) dispatch(ctx context.Context, xs []*execution) {
	if ctx.Err() != nil || e.closed {
		return
	}
	now := e.clock.Now()
	for _, x := range xs {
		if !x.busy && x.due(now) {
			e.launch(ctx, x, e.runSteps)
		}
	}
}

// dueSleeper reports whether a real-time execution's wake time has come
// while its goroutine has not woken yet. Called with e.mu held.
func (e *Executor) dueSleeper() bool {
	now := e.clock.Now()
	for _, x := range e.execs {
		if !x.busy && x.due(now) {
			return true
		}
	}
	return false
}

// due reports whether x is running and its next step is due at now.
func (x *execution) due(now time.Time) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.status == Running && !x.wake.After(now)
}

// launch makes a new goroutine x's driver, running body with a context
// that also ends with Close. Called with e.mu held.
func (e *Executor) launch(ctx context.Context, x *execution, body func(context.Context, *execution)) {
	x.busy = true
	e.busy++
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		ctx, cancel := context.WithCancel(ctx)
		stop := context.AfterFunc(e.base, cancel)
		defer func() {
			stop()
			cancel()
		}()
		body(ctx, x)
		e.setBusy(x, false)
	}()
}

// setBusy records whether a goroutine is running x's steps, and wakes
// whoever waits for the executions to settle.
func (e *Executor) setBusy(x *execution, busy bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if x.busy == busy {
		return
	}
	x.busy = busy
	if busy {
		e.busy++
		return
	}
	e.busy--
	e.changed.Broadcast()
}

// live drives a real-time execution from its start to its end: it runs
// its steps while they are due and sleeps on the wall clock until the
// next wake time, until the execution finishes or ctx ends.
func (e *Executor) live(ctx context.Context, x *execution) {
	for {
		e.runSteps(ctx, x)
		x.mu.Lock()
		running, wake := x.status == Running, x.wake
		x.mu.Unlock()
		if !running || ctx.Err() != nil || e.isStopping() {
			return
		}
		e.setBusy(x, false)
		if !sleepUntil(ctx, e.stopping, e.clock, wake) {
			return
		}
		e.setBusy(x, true)
	}
}

// sleepUntil sleeps until c reads t or later; it reports false when ctx
// ended or stop was closed first.
func sleepUntil(ctx context.Context, stop <-chan struct{}, c clock, t time.Time) bool {
	for {
		d := t.Sub(c.Now())
		if d <= 0 {
			return true
		}
		timer := time.NewTimer(d)
		select {
		case <-ctx.Done():
			timer.Stop()
			return false
		case <-stop:
			timer.Stop()
			return false
		case <-timer.C:
		}
	}
}

// runSteps runs x's steps while they are due, in order, until x finishes,
// waits for a later time, ctx ends or the executor stops. The caller is x's
// only driver.
// x.mu is held except while a task function runs. More than the
// transition limit of steps without waiting fails x.
func (e *Executor) runSteps(ctx context.Context, x *execution) {
	steps := 0
	x.mu.Lock()
	defer x.mu.Unlock()
	for x.status == Running && !x.wake.After(e.clock.Now()) && ctx.Err() == nil && !e.isStopping() {
		if x.kind != atWaitDone {
			steps++
			if steps > e.maxSteps {
				x.fail(e.clock.Now(), ErrTransitionLimit, fmt.Sprintf(
					"local executor: more than %d state transitions without waiting for a later time (at state %q); the definition or a task loops",
					e.maxSteps, x.state))
				return
			}
		}
		call := e.step(x)
		if call == nil {
			continue
		}
		x.mu.Unlock()
		res := invoke(ctx, call.st.task, call.input)
		x.mu.Lock()
		e.taskDone(ctx, x, call.st, res)
	}
}
