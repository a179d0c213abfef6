// Package escalation holds the two tasks of the escalation state machine:
// Plan, which reads the incident and asks the policy for the next step,
// and Page, which pages one level once (a resend after a crash carries the
// same dedup key, so PagerDuty keeps one alert) and, as Sync, passes an
// acknowledgement or resolution on to PagerDuty.
package escalation

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/metrics"
)

// State is the state machine's state between tasks: the execution input,
// then each Plan's output. Page receives it whole.
type State = incident.EscalationState

// IncidentNotFoundError means the execution's incident is not in the
// table. The state machine does not retry it.
type IncidentNotFoundError struct {
	IncidentID string
}

// Error says which incident is missing.
func (e *IncidentNotFoundError) Error() string {
	return fmt.Sprintf("incident %s not found", e.IncidentID)
}

// InvalidInputError means a task got input it can never act on (no
// incident ID, a level the policy does not have). The state machine fails
// the execution on it rather than retry, so the failure alarm fires.
type InvalidInputError struct {
	Reason string
}

// Error returns the reason.
func (e *InvalidInputError) Error() string { return e.Reason }

// IncidentGetter reads one incident.
type IncidentGetter interface {
	GetIncident(ctx context.Context, id string) (incident.Incident, error)
}

// PlanStore is the storage the Plan task needs.
type PlanStore interface {
	incident.Updater
	IncidentAndWindows(ctx context.Context, id, service string) (incident.Incident, []incident.MaintenanceWindow, error)
	AppendTimeline(ctx context.Context, incidentID string, e incident.Entry) (bool, error)
}

// Starter starts an escalation execution; starting one that exists is
// not an error.
type Starter interface {
	StartEscalation(ctx context.Context, st incident.EscalationState) error
}

// Stopper stops the execution that runs from an escalation state, when a
// newer generation has superseded it; stopping one that has finished or
// was never started is not an error.
type Stopper interface {
	StopEscalation(ctx context.Context, st incident.EscalationState, cause string) error
}

// DefaultHandoverAfter is how many plans an execution makes before it
// hands over to a fresh one. A round of the loop (Plan, the Choice, a
// task or a wait) adds about a dozen events to an execution's history,
// which Step Functions bounds at 25,000.
const DefaultHandoverAfter = 1000

// Planner is the Plan task.
type Planner struct {
	Store  PlanStore
	Policy incident.Policy
	Clock  incident.Clock
	// Starter starts the execution that takes over from one grown too
	// long.
	Starter Starter
	// Stopper, when set, stops the execution a newer generation has
	// superseded as soon as the newer one first plans, rather than let it
	// stand down when it next wakes.
	Stopper Stopper
	// HandoverAfter is how many plans an execution makes before it hands
	// over; zero means DefaultHandoverAfter.
	HandoverAfter int
}

// Handle reads the incident and its service's maintenance windows,
// records the targets it has missed and the windows that held it, and
// returns the policy's next step.
func (p *Planner) Handle(ctx context.Context, in State) (State, error) {
	if in.IncidentID == "" {
		return State{}, &InvalidInputError{Reason: "plan: the input has no incidentId"}
	}
	inc, windows, err := p.Store.IncidentAndWindows(ctx, in.IncidentID, in.Service)
	if incident.ErrorCode(err) == incident.ENotFound {
		return State{}, &IncidentNotFoundError{IncidentID: in.IncidentID}
	}
	if err != nil {
		return State{}, fmt.Errorf("plan %s: %w", in.IncidentID, err)
	}
	if in.Generation < inc.PlannedGeneration {
		return p.standDown(ctx, inc, in.Generation, fmt.Sprintf("generation %d stands down: generation %d has taken over", in.Generation, inc.PlannedGeneration)), nil
	}
	now := p.Clock.Now()
	superseded := incident.EscalationState{IncidentID: inc.ID, Service: inc.Service, Generation: inc.PlannedGeneration, Handover: inc.PlannedHandover}
	if inc, err = p.record(ctx, inc, in, windows, now); err != nil {
		return State{}, err
	}
	if in.Generation < inc.PlannedGeneration {
		// A newer generation planned while this one was writing.
		return p.standDown(ctx, inc, in.Generation, "a newer generation has taken over"), nil
	}
	if superseded.Generation < in.Generation {
		p.stopSuperseded(ctx, superseded, in.Generation)
	}
	if in.Loops >= p.handoverAfter() {
		return p.handOver(ctx, inc, in)
	}
	step := incident.Next(inc, p.Policy, now, windows)
	if in.Error != nil && in.Action.FollowUp() && step.Action.FollowUp() {
		step = holdFollowUps(ctx, inc, in, step, now)
	}
	out := incident.PlannedState(inc, in.Generation, step)
	out.Loops, out.Handover = in.Loops+1, in.Handover
	if step.Action == incident.ActWait {
		out.WaitUntil = WaitTimestamp(step.Until)
	}
	slog.InfoContext(ctx, "planned", "incidentId", inc.ID, "action", step.Action, "level", step.Level, "waitUntil", out.WaitUntil, "reason", step.Reason)
	return out, nil
}

// followUpRetry is how long follow-ups wait after one failed in a way its
// task could not record (a crash, a timeout), unless a deadline comes
// sooner: pages are planned as usual meanwhile.
const followUpRetry = time.Minute

// holdFollowUps turns a follow-up step into a wait after a follow-up
// failed, so a failing follow-up is retried once a minute and never holds
// the escalation back.
func holdFollowUps(ctx context.Context, inc incident.Incident, in State, step incident.Step, now time.Time) incident.Step {
	slog.WarnContext(ctx, "follow-up failed", "incidentId", inc.ID, "action", in.Action, "error", in.Error.Error, "cause", in.Error.Cause)
	until := now.Add(followUpRetry)
	if !step.Until.IsZero() && step.Until.Before(until) {
		until = step.Until
	}
	return incident.Step{Action: incident.ActWait, Until: until,
		Reason: fmt.Sprintf("%s failed (%s); follow-ups wait until %s", in.Action, in.Error.Error, until.UTC().Format(time.RFC3339))}
}

func (p *Planner) handoverAfter() int {
	if p.HandoverAfter > 0 {
		return p.HandoverAfter
	}
	return DefaultHandoverAfter
}

// handOver starts a fresh execution of the same generation, which plans
// from where this one stands, and ends this one: the escalation goes on
// without either execution outgrowing its history. A hand-over started
// before (a retried Plan) is not started twice.
func (p *Planner) handOver(ctx context.Context, inc incident.Incident, in State) (State, error) {
	next := incident.EscalationState{IncidentID: inc.ID, Service: inc.Service, Generation: in.Generation, Handover: in.Handover + 1}
	if p.Starter == nil {
		return State{}, fmt.Errorf("plan %s: %d plans call for a hand-over, and the planner cannot start executions", inc.ID, in.Loops)
	}
	if err := p.Starter.StartEscalation(ctx, next); err != nil {
		return State{}, fmt.Errorf("plan %s: hand over: %w", inc.ID, err)
	}
	return p.standDown(ctx, inc, in.Generation, fmt.Sprintf("after %d plans, execution %d of generation %d hands over to a fresh one", in.Loops, in.Handover, in.Generation)), nil
}

// stopSuperseded stops the execution of the generation this one took over
// from. It is tidying, not safety: a superseded execution that is not
// stopped stands down when it next plans. So a failure is logged, and the
// escalation goes on.
func (p *Planner) stopSuperseded(ctx context.Context, old incident.EscalationState, generation int) {
	if p.Stopper == nil {
		return
	}
	cause := fmt.Sprintf("generation %d of incident %s has taken over", generation, old.IncidentID)
	if err := p.Stopper.StopEscalation(ctx, old, cause); err != nil {
		slog.WarnContext(ctx, "stop superseded execution", "incidentId", old.IncidentID, "generation", old.Generation, "handover", old.Handover, "error", err)
		return
	}
	slog.InfoContext(ctx, "stopped superseded execution", "incidentId", old.IncidentID, "generation", old.Generation, "handover", old.Handover)
}

func (p *Planner) standDown(ctx context.Context, inc incident.Incident, generation int, reason string) State {
	slog.InfoContext(ctx, "planned", "incidentId", inc.ID, "action", incident.ActDone, "reason", reason)
	return State{IncidentID: inc.ID, Service: inc.Service, Generation: generation, Action: incident.ActDone, Reason: reason}
}

// record writes what this plan has found since the last one: that this
// generation has taken over, the targets missed and the maintenance
// windows that held or released the incident. Each finding's timeline
// entry is written before the incident records it, so a plan cut short in
// between writes the entry again (a no-op) and then records it; a
// recorded finding is never written again. It returns the incident as
// stored.
func (p *Planner) record(ctx context.Context, inc incident.Incident, in State, windows []incident.MaintenanceWindow, now time.Time) (incident.Incident, error) {
	breaches, notes := p.findings(inc, windows, now)
	for _, b := range breaches {
		if err := p.noteBreach(ctx, inc, b); err != nil {
			return incident.Incident{}, err
		}
	}
	for _, n := range notes {
		if _, err := p.Store.AppendTimeline(ctx, inc.ID, n); err != nil {
			return incident.Incident{}, fmt.Errorf("plan %s: note maintenance: %w", inc.ID, err)
		}
	}
	stored, err := incident.Update(ctx, p.Store, inc, func(inc *incident.Incident) bool {
		changed := false
		if in.Generation > inc.PlannedGeneration || (in.Generation == inc.PlannedGeneration && in.Handover > inc.PlannedHandover) {
			inc.PlannedGeneration, inc.PlannedHandover, changed = in.Generation, in.Handover, true
		}
		// Decided on each read: a concurrent re-opening changes the episode.
		for _, b := range breaches {
			if b.Episode == inc.Episode && inc.RecordBreach(b) {
				inc.Announce(breachEntryID(b))
				changed = true
			}
		}
		for _, n := range notes {
			if !slices.Contains(inc.Notes, n.ID) {
				inc.Notes, changed = append(inc.Notes, n.ID), true
			}
		}
		return changed
	})
	if err != nil {
		return incident.Incident{}, fmt.Errorf("plan %s: %w", inc.ID, err)
	}
	return stored, nil
}

// findings are the breaches due and the maintenance entries not yet
// written for the incident as read.
func (p *Planner) findings(inc incident.Incident, windows []incident.MaintenanceWindow, now time.Time) ([]incident.Breach, []incident.Entry) {
	var notes []incident.Entry
	for _, e := range append(maintenanceEntries(inc, windows, now), p.pageEntries(inc)...) {
		if !slices.Contains(inc.Notes, e.ID) {
			notes = append(notes, e)
		}
	}
	return incident.DueBreaches(inc, p.Policy, now), notes
}

// pageEntries are the timeline entries of the episode's recorded pages:
// a Page task that recorded a page and stopped before writing its entry
// leaves it to Plan.
func (p *Planner) pageEntries(inc incident.Incident) []incident.Entry {
	var out []incident.Entry
	for _, pg := range inc.EpisodePages() {
		l, _ := p.Policy.Level(pg.Level)
		out = append(out, pageEntry(pg, l, ""))
	}
	return out
}

// noteBreach puts a missed target on the timeline and emits its metric.
// The timeline entry is keyed by the target and episode, so it is written
// once; the metric goes out with the write that added it.
func (p *Planner) noteBreach(ctx context.Context, inc incident.Incident, b incident.Breach) error {
	sp := p.Policy.For(inc.Severity)
	target, within := "response time", sp.AcknowledgeWithin.D()
	if b.Target == incident.TargetResolution {
		target, within = "resolution target", sp.ResolveWithin.D()
	}
	added, err := p.Store.AppendTimeline(ctx, inc.ID, incident.Entry{
		ID:    breachEntryID(b),
		At:    b.At,
		Kind:  incident.EntryBreach,
		Actor: "escalation",
		Text:  fmt.Sprintf("Missed the %s %s of %s.", inc.Severity, target, within),
		Data:  map[string]string{"target": b.Target, "severity": string(inc.Severity)},
	})
	if err != nil {
		return fmt.Errorf("plan %s: record breach: %w", inc.ID, err)
	}
	if added {
		metrics.TargetMissed(ctx, inc, b.Target)
	}
	return nil
}

// breachEntryID is the ID of a missed target's timeline entry.
func breachEntryID(b incident.Breach) string {
	return incident.EntryID(b.At, fmt.Sprintf("breach/%s%s", episodeKey(b.Episode), b.Target))
}

// maintenanceEntries are the timeline entries for the start and end of
// every maintenance window that overlapped the incident's current episode
// by now.
func maintenanceEntries(inc incident.Incident, windows []incident.MaintenanceWindow, now time.Time) []incident.Entry {
	start := inc.Started()
	var out []incident.Entry
	for _, w := range windows {
		if w.Service != inc.Service || !w.End.After(start) || w.Start.After(now) {
			continue
		}
		by := w.CreatedBy
		if by == "" {
			by = "escalation"
		}
		at := w.Start
		if at.Before(start) {
			at = start
		}
		out = append(out, incident.Entry{
			ID: incident.EntryID(at, "maintenance/"+episodeKey(inc.Episode)+w.ID+"/start"), At: at, Kind: incident.EntryMaintenance, Actor: by,
			Text: fmt.Sprintf("Maintenance window %s for %s (%s) holds pages until %s.", w.ID, w.Service, w.Reason, w.End.UTC().Format(time.RFC3339)),
			Data: map[string]string{"window": w.ID, "phase": "start"},
		})
		if w.End.After(now) {
			continue
		}
		actor, text := "escalation", fmt.Sprintf("Maintenance window %s for %s ended; pages it held go out now if the incident still needs them.", w.ID, w.Service)
		if w.EndedBy != "" {
			actor, text = w.EndedBy, fmt.Sprintf("Maintenance window %s for %s was ended early by %s; pages it held go out now if the incident still needs them.", w.ID, w.Service, w.EndedBy)
		}
		out = append(out, incident.Entry{
			ID: incident.EntryID(w.End, "maintenance/"+episodeKey(inc.Episode)+w.ID+"/end"), At: w.End, Kind: incident.EntryMaintenance, Actor: actor,
			Text: text,
			Data: map[string]string{"window": w.ID, "phase": "end"},
		})
	}
	return out
}

// WaitTimestamp formats t for a Wait state, rounded up to the next whole
// second so that the wait never ends before t.
func WaitTimestamp(t time.Time) string {
	t = t.UTC()
	if r := t.Truncate(time.Second); !r.Equal(t) {
		t = r.Add(time.Second)
	}
	return t.Format(time.RFC3339)
}
