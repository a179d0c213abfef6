// Package heartbeat is the system's dead man's switch: every few minutes a
// scheduled function proves that the system can still turn a signal into a
// planned escalation step, and emits a Heartbeat metric when it can. The
// alarm on that metric treats missing data as breaching, so it fires when
// the beats stop for any reason (the function cannot run, its checks fail,
// the schedule is gone) and notifies the operator straight through SNS,
// a path that does not depend on this system.
//
// One beat:
//
//   - decodes a real-shaped CloudWatch alarm event with the deployed
//     decoder and classification rules, routes the signal as ingest does,
//     opens the incident it would open and asks the deployed escalation
//     policy for its first step, which must page the first level: the
//     code and the configuration still plan pages (in memory: nothing is
//     stored, nobody is paged);
//   - writes the heartbeat item in the incident table and reads it back:
//     the table is there and takes writes;
//   - describes the escalation state machine: it exists and is ACTIVE, so
//     executions can start.
//
// Why not a beat through the real pipeline every few minutes, as the fire
// drill goes once a month: it would open an incident, start an execution
// and page a test key 288 times a day, filling the table, the execution
// history and the test service with noise and cost, and a beat that pages
// would itself need paging to be healthy. The heartbeat checks what the
// pipeline depends on, often and without side effects; the fire drill
// checks the whole path end to end, rarely.
//
// The beat also watches the fire drill: it reads the latest drill's record
// and emits FireDrillFailing, 1 while the latest drill failed or none has
// passed for longer than allowed, so that a drill that fails, or never
// runs, keeps an alarm raised until a drill passes.
package heartbeat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/dashboarduz/incident-response/shared/cloudwatch"
	"github.com/dashboarduz/incident-response/shared/drill"
	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/metrics"
)

// Store keeps the heartbeat item.
type Store interface {
	// Beat records a beat at at and returns when the first beat was
	// recorded, which starts the fire-drill watch.
	Beat(ctx context.Context, at time.Time) (first time.Time, err error)
}

// Drills reads the fire drills' records.
type Drills interface {
	LatestDrill(ctx context.Context) (drill.Record, bool, error)
}

// StateMachine is the escalation state machine.
type StateMachine interface {
	// CheckActive returns an error unless executions can start.
	CheckActive(ctx context.Context) error
}

// Heartbeat beats.
type Heartbeat struct {
	Store        Store
	StateMachine StateMachine
	Rules        incident.ClassificationRules
	Policy       incident.Policy
	Clock        incident.Clock
	// Function names the function beating, the dimension of its metrics.
	Function string
	// Drills, when set, is watched: a drill must have passed within
	// DrillMaxAge and the latest one must not have failed.
	Drills      Drills
	DrillMaxAge time.Duration
}

// ProbeAlarm is the name of the alarm in the beat's in-memory event.
const ProbeAlarm = "incident-response-heartbeat-probe"

// Beat runs the checks and emits Heartbeat when all pass. A failed check
// is returned, so the function's invocation fails too and its errors alarm
// says which check; the missing metric raises the heartbeat alarm.
func (h *Heartbeat) Beat(ctx context.Context) error {
	now := h.Clock.Now()
	var errs []error
	if err := h.plans(now); err != nil {
		errs = append(errs, err)
	}
	first, err := h.Store.Beat(ctx, now)
	if err != nil {
		errs = append(errs, fmt.Errorf("record the beat in the table: %w", err))
	}
	if err := h.StateMachine.CheckActive(ctx); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		slog.ErrorContext(ctx, "heartbeat failed", "error", err)
		return err
	}
	metrics.Emit(ctx, metrics.Heartbeat, 1, "Count", h.dimension())
	if h.Drills != nil {
		return h.watchDrills(ctx, first, now)
	}
	return nil
}

func (h *Heartbeat) dimension() metrics.Dimension {
	return metrics.Dimension{Name: metrics.DimensionFunction, Value: h.Function}
}

// watchDrills emits FireDrillFailing for the latest drill.
func (h *Heartbeat) watchDrills(ctx context.Context, since, now time.Time) error {
	rec, found, err := h.Drills.LatestDrill(ctx)
	if err != nil {
		slog.ErrorContext(ctx, "fire drill watch failed", "error", err)
		return fmt.Errorf("read the latest fire drill: %w", err)
	}
	var latest *drill.Record
	if found {
		latest = &rec
	}
	failing, reason := drill.Failing(latest, since, now, h.DrillMaxAge)
	value := 0.0
	if failing {
		value = 1
		slog.WarnContext(ctx, "fire drill failing", "reason", reason)
	}
	metrics.Emit(ctx, metrics.FireDrillFailing, value, "Count", h.dimension())
	return nil
}

// plans checks that an alarm event still becomes a page of the first
// level: the decoder, the classification rules and the escalation policy
// the function was deployed with, end to end in memory.
func (h *Heartbeat) plans(now time.Time) error {
	raw, err := probeEvent(now)
	if err != nil {
		return err
	}
	sig, err := cloudwatch.Decode(raw, h.Rules)
	if err != nil {
		return fmt.Errorf("plan check: decode the probe alarm event: %w", err)
	}
	if route := incident.RouteSignal(sig, nil, h.Policy.ReopenWithin.D()); route.Kind != incident.RouteOpen {
		return fmt.Errorf("plan check: the probe alarm routes to %q (%s), want a new incident", route.Kind, route.Reason)
	}
	inc := incident.Open(sig)
	step := incident.Next(inc, h.Policy, now, nil)
	if step.Action != incident.ActPage || step.Level != 1 {
		return fmt.Errorf("plan check: a new %s incident of %s plans %q level %d (%s), want a page to level 1", inc.Severity, inc.Service, step.Action, step.Level, step.Reason)
	}
	return nil
}

// probeEvent is an EventBridge alarm state change to ALARM at now, in the
// shape CloudWatch sends.
func probeEvent(now time.Time) ([]byte, error) {
	ts := now.UTC().Format("2006-01-02T15:04:05.000-0700")
	e := cloudwatch.AlarmStateChange{
		Version:    "0",
		ID:         "heartbeat-" + now.UTC().Format("20060102T150405.000000000"),
		DetailType: cloudwatch.DetailType,
		Source:     cloudwatch.EventSource,
		Account:    "000000000000",
		Time:       now.UTC().Format(time.RFC3339),
		Region:     "us-east-1",
		Resources:  []string{"arn:aws:cloudwatch:us-east-1:000000000000:alarm:" + ProbeAlarm},
		Detail: &cloudwatch.AlarmData{
			AlarmName:     ProbeAlarm,
			State:         &cloudwatch.AlarmState{Value: cloudwatch.StateAlarm, Reason: "Heartbeat probe", Timestamp: ts},
			PreviousState: &cloudwatch.AlarmState{Value: cloudwatch.StateOK, Reason: "Heartbeat probe", Timestamp: ts},
			Configuration: &cloudwatch.AlarmConfiguration{Description: "The heartbeat's in-memory probe: never stored, never paged."},
		},
	}
	b, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("plan check: encode the probe alarm event: %w", err)
	}
	return b, nil
}
