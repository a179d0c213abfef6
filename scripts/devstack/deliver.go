package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dashboarduz/incident-response/shared/eventbridge"
	"github.com/dashboarduz/incident-response/shared/ingest"
)

// NoRuleError is an event that no EventBridge rule of the stack matches:
// another source or detail-type, or details the rules keep out (a task
// starting, a deployment going ahead). EventBridge would drop it; the
// local stack counts it as rejected.
type NoRuleError struct {
	Source, DetailType string
}

// Error names the source and detail-type no rule matches.
func (e *NoRuleError) Error() string {
	return fmt.Sprintf("no rule matches source %q, detail-type %q with these details", e.Source, e.DetailType)
}

// lambdaAsyncAttempts is how often Lambda runs an asynchronously invoked
// function for one event: the first try and two retries.
const lambdaAsyncAttempts = 3

// Deliver hands one event to alarm-ingest as the stack's EventBridge rules
// (eventbridge.IngestRules, whose patterns this matches as EventBridge
// does) and Lambda's asynchronous invocation would: an EventBridge event
// that no rule matches goes nowhere (a *NoRuleError); anything without a
// detail-type, which only a direct invocation by an alarm action could
// carry, goes to the function as it is. A failure other than a rejected
// event is retried twice.
func (s *Stack) Deliver(ctx context.Context, raw []byte) (ingest.Result, error) {
	if _, ok := eventbridge.RuleFor(raw); !ok {
		var envelope struct {
			Source     string `json:"source"`
			DetailType string `json:"detail-type"`
		}
		if json.Unmarshal(raw, &envelope) == nil && envelope.DetailType != "" {
			return ingest.Result{}, &NoRuleError{Source: envelope.Source, DetailType: envelope.DetailType}
		}
	}
	var res ingest.Result
	var err error
	for range lambdaAsyncAttempts {
		res, err = s.Ingest.Handle(ctx, raw)
		var invalid *ingest.InvalidEventError
		if err == nil || errors.As(err, &invalid) {
			break
		}
	}
	return res, err
}

// Rejected reports whether err means the event itself was refused (and,
// in AWS, kept in the dead-letter queue) rather than a failure to process
// a good event.
func Rejected(err error) bool {
	var invalid *ingest.InvalidEventError
	var norule *NoRuleError
	return errors.As(err, &invalid) || errors.As(err, &norule)
}

// ReadEvents reads a file holding one event or a JSON array of events. A
// file that is not JSON is one event as it stands: delivering it shows how
// the stack rejects it.
func ReadEvents(path string) ([][]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	trimmed := bytes.TrimSpace(b)
	if len(trimmed) > 0 && trimmed[0] == '[' {
		var arr []json.RawMessage
		if err := json.Unmarshal(trimmed, &arr); err == nil {
			out := make([][]byte, len(arr))
			for i, e := range arr {
				out[i] = e
			}
			return out, nil
		}
	}
	return [][]byte{b}, nil
}

// ReplayOptions says how to replay events.
type ReplayOptions struct {
	Repeat      int
	Concurrency int
	Seed        uint64
}

// ReplaySummary is what a replay did.
type ReplaySummary struct {
	Events     int            `json:"events"`
	Accepted   int            `json:"accepted"`
	Rejected   int            `json:"rejected"`
	Failed     int            `json:"failed"`
	Incidents  int            `json:"incidents"`
	Pages      int            `json:"pages"`
	Executions int            `json:"executions"`
	Reasons    map[string]int `json:"rejectedReasons,omitempty"`
	Failures   []string       `json:"failures,omitempty"`
}

// Replay delivers every event Repeat times, Concurrency at a time, in
// shuffled order, then runs every execution until it waits for a future
// time. Incidents and Pages count the whole stack, so a second replay into
// the same stack shows what it added.
func (s *Stack) Replay(ctx context.Context, events [][]byte, o ReplayOptions) (ReplaySummary, error) {
	if o.Repeat < 1 {
		o.Repeat = 1
	}
	if o.Concurrency < 1 {
		o.Concurrency = 1
	}
	queue := make([][]byte, 0, len(events)*o.Repeat)
	for range o.Repeat {
		queue = append(queue, events...)
	}
	rng := rand.New(rand.NewPCG(o.Seed, o.Seed^0x9e3779b97f4a7c15))
	rng.Shuffle(len(queue), func(i, j int) { queue[i], queue[j] = queue[j], queue[i] })

	var (
		next     atomic.Int64
		mu       sync.Mutex
		sum      = ReplaySummary{Events: len(queue), Reasons: map[string]int{}}
		wg       sync.WaitGroup
		failures []string
	)
	for range o.Concurrency {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(queue) || ctx.Err() != nil {
					return
				}
				_, err := s.Deliver(ctx, queue[i])
				mu.Lock()
				switch {
				case err == nil:
					sum.Accepted++
				case Rejected(err):
					sum.Rejected++
					sum.Reasons[err.Error()]++
				default:
					sum.Failed++
					failures = append(failures, err.Error())
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return sum, err
	}
	if err := s.Exec.RunReady(ctx); err != nil {
		return sum, fmt.Errorf("run executions: %w", err)
	}
	incidents, err := s.Incidents(ctx)
	if err != nil {
		return sum, err
	}
	sum.Incidents = len(incidents)
	sum.Pages = s.Recorder.Triggers()
	sum.Executions = len(s.Exec.Executions())
	if len(failures) > 10 {
		failures = failures[:10]
	}
	sum.Failures = failures
	if len(sum.Reasons) == 0 {
		sum.Reasons = nil
	}
	return sum, nil
}

// LatestEventTime returns the latest "time" of the events (EventBridge's
// RFC 3339, or the time of an alarm action's payload), rounded up to the
// second, or the wall clock when none has one.
func LatestEventTime(events [][]byte) time.Time {
	var latest time.Time
	for _, raw := range events {
		var ev struct {
			Time string `json:"time"`
		}
		if json.Unmarshal(raw, &ev) != nil {
			continue
		}
		for _, layout := range []string{time.RFC3339Nano, cloudWatchTime} {
			if t, err := time.Parse(layout, ev.Time); err == nil {
				if t.After(latest) {
					latest = t
				}
				break
			}
		}
	}
	if latest.IsZero() {
		return time.Now().UTC().Truncate(time.Second)
	}
	if r := latest.Truncate(time.Second); !r.Equal(latest) {
		latest = r.Add(time.Second)
	}
	return latest.UTC()
}
