package main

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/smithy-go/middleware"

	"github.com/dashboarduz/incident-response/scripts/bench"
	"github.com/dashboarduz/incident-response/shared/dynamo"
	"github.com/dashboarduz/incident-response/shared/ingest"
	"github.com/dashboarduz/incident-response/shared/local/dynamocount"
	"github.com/dashboarduz/incident-response/shared/local/sfnlocal"
)

// The functions of the stack, as the cost model bills them.
const (
	fnIngest    = "alarm-ingest"
	fnPlan      = "escalation-plan"
	fnPage      = "escalation-page"
	fnTriage    = "triage"
	fnRemediate = "remediate"
	fnNotify    = "notify"
	fnAPI       = "api"
)

// taskFunctions names the state machine's functions by their local ARNs.
var taskFunctions = map[string]string{PlanARN: fnPlan, PageARN: fnPage, TriageARN: fnTriage, RemediateARN: fnRemediate, NotifyARN: fnNotify}

// pipelineStart is when the in-process runs start on the virtual clock:
// the fixtures' time, at night.
var pipelineStart = time.Date(2026, 3, 1, 3, 0, 0, 0, time.UTC)

// probe watches one in-process stack: DynamoDB calls (when counted), state
// transitions, function invocations with their billed milliseconds, and
// pages.
type probe struct {
	stack   *Stack
	counter *dynamocount.Counter

	mu          sync.Mutex
	invocations map[string]float64
	billedMs    map[string]float64

	// firstPage, while set, makes the next Page invocation end a
	// measurement begun at pageFrom (as ingest returned) into firstPages:
	// with one alarm in flight at a time, the way from the ingested
	// alarm through Begin and FirstPage to its first page.
	firstPage     atomic.Bool
	pageFrom      mark
	firstPages    []bench.Step
	firstPageHeap heapDelta
}

// heapDelta sums the Go heap allocated over measured stretches.
type heapDelta struct {
	bytes, mallocs uint64
	start          runtime.MemStats
}

func (h *heapDelta) begin() { runtime.ReadMemStats(&h.start) }

func (h *heapDelta) end() {
	var now runtime.MemStats
	runtime.ReadMemStats(&now)
	h.bytes += now.TotalAlloc - h.start.TotalAlloc
	h.mallocs += now.Mallocs - h.start.Mallocs
}

func (h *heapDelta) add(o heapDelta) { h.bytes, h.mallocs = h.bytes+o.bytes, h.mallocs+o.mallocs }

func (h heapDelta) perAlarm(n int) bench.Allocations {
	return bench.Allocations{
		Alarms:         n,
		BytesPerAlarm:  math.Round(float64(h.bytes) / float64(n)),
		AllocsPerAlarm: math.Round(float64(h.mallocs) / float64(n)),
	}
}

// newProbe starts a stack on endpoint with a table of its own. A counted
// probe counts DynamoDB calls and works out their request units; its
// durations include that bookkeeping, so they come from an uncounted one.
func newProbe(ctx context.Context, endpoint string, counted bool) (*probe, error) {
	p := &probe{invocations: map[string]float64{}, billedMs: map[string]float64{}}
	table := fmt.Sprintf("bench-%d", time.Now().UnixNano())
	var apiOptions []func(*middleware.Stack) error
	if counted {
		reader := dynamo.LocalClient(endpoint)
		if err := dynamo.CreateTable(ctx, reader, table); err != nil {
			return nil, err
		}
		t, err := dynamocount.DescribeTable(ctx, reader, table)
		if err != nil {
			return nil, err
		}
		p.counter = dynamocount.NewWithUnits(dynamocount.NewUnits(t, reader))
		apiOptions = append(apiOptions, p.counter.Middleware)
	}
	s, err := NewStack(ctx, Options{DynamoEndpoint: endpoint, Table: table, DynamoAPIOptions: apiOptions, Start: pipelineStart, WrapTask: p.wrapTask})
	if err != nil {
		return nil, err
	}
	p.stack = s
	return p, nil
}

// wrapTask times the state machine's functions, and measures the first
// page on its own when asked to.
func (p *probe) wrapTask(arn string, f sfnlocal.TaskFunc) sfnlocal.TaskFunc {
	name := taskFunctions[arn]
	return func(ctx context.Context, in json.RawMessage) (out json.RawMessage, err error) {
		first := name == fnPage && p.firstPage.CompareAndSwap(true, false)
		err = p.invoke(name, func() error {
			out, err = f(ctx, in)
			return err
		})
		if first {
			p.firstPageHeap.end()
			st := p.step(stepFirstPage, p.pageFrom, p.mark(), 1)
			p.mu.Lock()
			p.firstPages = append(p.firstPages, st)
			p.mu.Unlock()
		}
		return out, err
	}
}

// invoke runs f as one invocation of function name and bills its duration
// as Lambda does, rounded up to the millisecond.
func (p *probe) invoke(name string, f func() error) error {
	began := time.Now()
	err := f()
	billed := math.Ceil(float64(time.Since(began)) / float64(time.Millisecond))
	p.mu.Lock()
	p.invocations[name]++
	p.billedMs[name] += billed
	p.mu.Unlock()
	return err
}

// mark is a probe's counters at one moment.
type mark struct {
	ddb         dynamocount.Snapshot
	transitions int
	invocations map[string]float64
	billedMs    map[string]float64
	pages       int
}

func (p *probe) mark() mark {
	m := mark{transitions: transitions(p.stack.Exec), pages: p.stack.Recorder.Triggers()}
	if p.counter != nil {
		m.ddb = p.counter.Snapshot()
	}
	p.mu.Lock()
	m.invocations, m.billedMs = maps.Clone(p.invocations), maps.Clone(p.billedMs)
	p.mu.Unlock()
	return m
}

// transitions counts the billed state transitions of every execution so
// far: each state entered, and each retry, as Step Functions bills them.
func transitions(x *sfnlocal.Executor) int {
	n := 0
	for _, ex := range x.Executions() {
		for _, ev := range ex.History {
			if ev.Type == sfnlocal.StateEntered || ev.Type == sfnlocal.RetryScheduled {
				n++
			}
		}
	}
	return n
}

// step is what happened between from and to, divided by per.
func (p *probe) step(name string, from, to mark, per int) bench.Step {
	k := 1 / float64(per)
	s := bench.Step{
		Name:        name,
		Transitions: float64(to.transitions-from.transitions) * k,
		Pages:       float64(to.pages-from.pages) * k,
		Invocations: perUnit(to.invocations, from.invocations, k),
		BilledMs:    perUnit(to.billedMs, from.billedMs, k),
	}
	if p.counter != nil {
		d := to.ddb.Sub(from.ddb)
		total := d.Total()
		s.DynamoDBCalls = float64(total.Calls) * k
		s.ReadUnits, s.WriteUnits, s.IndexWriteUnits = total.ReadUnits*k, total.WriteUnits*k, total.IndexWriteUnits*k
		s.ByOperation = map[string]float64{}
		for name, n := range d.Calls() {
			s.ByOperation[name] = float64(n) * k
		}
	}
	return s
}

func perUnit(to, from map[string]float64, k float64) map[string]float64 {
	out := map[string]float64{}
	for name, v := range to {
		if d := v - from[name]; d != 0 {
			out[name] = d * k
		}
	}
	return out
}

// Names of the pipeline's steps, in the order they run.
const (
	stepIngest         = "new alarm: ingest"
	stepFirstPage      = "new alarm: the first page (FirstPage task)"
	stepFollowUps      = "new alarm: triage, remediation and messages after the page"
	stepDuplicate      = "duplicate alarm"
	stepRedelivery     = "redelivered alarm"
	stepColdDuplicate  = "duplicate alarm, on a function instance that has not seen the alarm"
	stepColdRedelivery = "redelivered alarm, on a function instance that has not seen the event"
	stepAck            = "acknowledge"
	stepWakeUps        = "escalation wake-ups before resolution"
	stepResolve        = "resolve"
	stepAfter          = "escalation after resolution"
)

// The written budget of an incident's whole life (open, page with its
// triage, remediation decision and messages, acknowledge, resolve, the
// post-mortem reminders): the README states it and a test holds it.
const (
	budgetCallsBeforePage   = 3
	budgetFirstPageCalls    = 5
	budgetDuplicateCalls    = 1
	budgetColdDuplicate     = 2
	budgetLifecycleCalls    = 80
	budgetLifecycleTransits = 50
)

// lifecycleSteps are the steps of one incident's life.
var lifecycleSteps = []string{stepIngest, stepFirstPage, stepFollowUps, stepAck, stepWakeUps, stepResolve, stepAfter}

// pipelineRun is what one run of the pipeline measured.
type pipelineRun struct {
	steps       []bench.Step
	allocations bench.Allocations
}

// runPipeline plays n incidents' lives on the virtual clock: n new P0
// alarms (ingest, then the escalation to the first page), a later state
// change of each (a duplicate), that event again (a redelivery), an
// acknowledgement through the API at 2 minutes, the escalations waking at
// their deadlines, a resolution at 20 minutes, and whatever the
// escalations do after it. Allocations are measured over the new alarms.
func (p *probe) runPipeline(ctx context.Context, alarm func(token string, at time.Time) ([]byte, error), n int) (pipelineRun, error) {
	s := p.stack
	var run pipelineRun
	record := func(name string, from, to mark) { run.steps = append(run.steps, p.step(name, from, to, n)) }

	ids, err := p.newAlarms(ctx, alarm, n, &run)
	if err != nil {
		return run, err
	}
	if err := s.Exec.RunUntil(ctx, pipelineStart.Add(time.Minute)); err != nil {
		return run, err
	}
	for _, d := range []struct {
		after time.Duration
		names []string
		cold  bool
	}{
		{time.Minute, []string{stepDuplicate, stepRedelivery}, false},
		{time.Minute + time.Second, []string{stepColdDuplicate, stepColdRedelivery}, true},
	} {
		if err := p.duplicates(ctx, alarm, n, d.after, d.names, d.cold, record); err != nil {
			return run, err
		}
	}
	return run, p.respond(ctx, ids, record)
}

// duplicates delivers a later state change of each of the n alarms (a
// duplicate of its open incident), then that event again (a redelivery),
// each measured as its step in names. With cold, each step starts on a
// fresh ingest Memory, as on a function instance that has not seen the
// alarm.
func (p *probe) duplicates(ctx context.Context, alarm func(string, time.Time) ([]byte, error), n int, after time.Duration, names []string, cold bool, record func(string, mark, mark)) error {
	later := make([][]byte, n)
	for i := range n {
		var err error
		if later[i], err = alarm(bench.Token("pipe", i), pipelineStart.Add(after)); err != nil {
			return err
		}
	}
	for _, name := range names {
		if cold {
			p.stack.Ingest.Memory = ingest.NewMemory(0)
		}
		from := p.mark()
		for i := range n {
			if _, err := p.deliver(ctx, later[i]); err != nil {
				return err
			}
		}
		if err := p.stack.Exec.RunReady(ctx); err != nil {
			return err
		}
		record(name, from, p.mark())
	}
	return nil
}

// newAlarms delivers n new alarms one at a time, each run until its
// escalation waits: its ingest and its first page are measured on their
// own, as are the Go heap they allocate; what the escalation does after
// the page (triage, remediation, messages) is its own step.
func (p *probe) newAlarms(ctx context.Context, alarm func(string, time.Time) ([]byte, error), n int, run *pipelineRun) ([]string, error) {
	ids := make([]string, n)
	var ingest bench.Step
	var heap heapDelta
	p.firstPages, p.firstPageHeap = nil, heapDelta{}
	m0 := p.mark()
	for i := range n {
		ev, err := alarm(bench.Token("pipe", i), pipelineStart)
		if err != nil {
			return nil, err
		}
		from := p.mark()
		heap.begin()
		if ids[i], err = p.deliver(ctx, ev); err != nil {
			return nil, err
		}
		heap.end()
		p.pageFrom = p.mark()
		ingest = ingest.Add(p.step(stepIngest, from, p.pageFrom, 1))
		p.firstPageHeap.begin()
		p.firstPage.Store(true)
		if err := p.stack.Exec.RunReady(ctx); err != nil {
			return nil, err
		}
	}
	if len(p.firstPages) != n {
		return nil, fmt.Errorf("%d new alarms made %d first pages", n, len(p.firstPages))
	}
	var page bench.Step
	for _, st := range p.firstPages {
		page = page.Add(st)
	}
	heap.add(p.firstPageHeap)
	all := p.step("", m0, p.mark(), 1)
	followUps := all.Add(ingest.Scale(-1)).Add(page.Scale(-1))
	k := 1 / float64(n)
	ingest, page, followUps = ingest.Scale(k), page.Scale(k), followUps.Scale(k)
	ingest.Name, page.Name, followUps.Name = stepIngest, stepFirstPage, stepFollowUps
	run.steps = append(run.steps, ingest, page, followUps)
	run.allocations = heap.perAlarm(n)
	return ids, nil
}

// deliver is one alarm-ingest invocation; it returns the incident's ID.
func (p *probe) deliver(ctx context.Context, ev []byte) (string, error) {
	var id string
	err := p.invoke(fnIngest, func() error {
		res, err := p.stack.Deliver(ctx, ev)
		id = res.IncidentID
		return err
	})
	if err != nil {
		return "", fmt.Errorf("deliver: %w", err)
	}
	return id, nil
}

// respond acknowledges every incident at 2 minutes and resolves it at 20,
// through the API, and lets the escalations finish.
func (p *probe) respond(ctx context.Context, ids []string, record func(string, mark, mark)) error {
	s := p.stack
	token, err := s.Token(Responder, 30*24*time.Hour)
	if err != nil {
		return err
	}
	steps := []struct {
		name   string
		at     time.Duration
		action string
		body   string
	}{
		{stepAck, 2 * time.Minute, "acknowledge", ""},
		{stepResolve, 20 * time.Minute, "resolve", `{"rootCause":"bench","summary":"bench"}`},
	}
	for _, st := range steps {
		from := p.mark()
		if err := s.Exec.RunUntil(ctx, pipelineStart.Add(st.at)); err != nil {
			return err
		}
		if st.name == stepResolve {
			record(stepWakeUps, from, p.mark())
		}
		from = p.mark()
		for _, id := range ids {
			if err := p.call(token, "POST", "/incidents/"+id+"/"+st.action, st.body); err != nil {
				return err
			}
		}
		if err := s.Exec.RunReady(ctx); err != nil {
			return err
		}
		record(st.name, from, p.mark())
	}
	from := p.mark()
	if err := s.Exec.RunUntil(ctx, pipelineStart.Add(8*24*time.Hour)); err != nil {
		return err
	}
	record(stepAfter, from, p.mark())
	for _, x := range s.Exec.Executions() {
		if x.Status == sfnlocal.Running {
			return fmt.Errorf("execution %s still running a week after its incident was resolved", x.Name)
		}
	}
	return nil
}

// call is one api invocation, answered 200.
func (p *probe) call(token, method, path, body string) error {
	return p.invoke(fnAPI, func() error {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		rec := httptest.NewRecorder()
		p.stack.API.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			return fmt.Errorf("%s %s: %d %s", method, path, rec.Code, strings.TrimSpace(rec.Body.String()))
		}
		return nil
	})
}

// mergeRuns takes the DynamoDB figures from the counted run and the rest
// (durations above all) from the uncounted one.
func mergeRuns(counted, plain []bench.Step) []bench.Step {
	out := make([]bench.Step, len(plain))
	for i, s := range plain {
		c := counted[i]
		s.DynamoDBCalls, s.ByOperation = c.DynamoDBCalls, c.ByOperation
		s.ReadUnits, s.WriteUnits, s.IndexWriteUnits = c.ReadUnits, c.WriteUnits, c.IndexWriteUnits
		out[i] = s
	}
	return out
}
