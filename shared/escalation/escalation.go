// Package escalation holds the two tasks of the escalation state machine:
// Plan, which reads the incident and asks the policy for the next step,
// and Page, which pages one level exactly once.
package escalation

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/metrics"
)

// State is the state machine's state between tasks: the execution input,
// then each Plan's output. Page receives it whole.
type State struct {
	IncidentID string `json:"incidentId"`
	// Generation is the execution's generation (see
	// incident.Incident.Generation); an execution older than the newest
	// that has planned stands down.
	Generation int             `json:"generation,omitempty"`
	Action     incident.Action `json:"action,omitempty"`
	Level      int             `json:"level,omitempty"`
	LevelName  string          `json:"levelName,omitempty"`
	// WaitUntil is the Wait state's TimestampPath target, RFC 3339 in UTC
	// with whole seconds as Step Functions requires.
	WaitUntil string `json:"waitUntil,omitempty"`
	Reason    string `json:"reason,omitempty"`
}

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
	AppendTimeline(ctx context.Context, incidentID string, e incident.Entry) (bool, error)
	MaintenanceWindows(ctx context.Context, service string) ([]incident.MaintenanceWindow, error)
}

// Planner is the Plan task.
type Planner struct {
	Store  PlanStore
	Policy incident.Policy
	Clock  incident.Clock
}

// Handle reads the incident, records the targets it has missed and the
// maintenance windows that held it, and returns the policy's next step.
func (p *Planner) Handle(ctx context.Context, in State) (State, error) {
	if in.IncidentID == "" {
		return State{}, &InvalidInputError{Reason: "plan: the input has no incidentId"}
	}
	inc, err := p.Store.GetIncident(ctx, in.IncidentID)
	if incident.ErrorCode(err) == incident.ENotFound {
		return State{}, &IncidentNotFoundError{IncidentID: in.IncidentID}
	}
	if err != nil {
		return State{}, fmt.Errorf("plan %s: %w", in.IncidentID, err)
	}
	if in.Generation < inc.PlannedGeneration {
		reason := fmt.Sprintf("generation %d stands down: generation %d has taken over", in.Generation, inc.PlannedGeneration)
		slog.InfoContext(ctx, "planned", "incidentId", inc.ID, "action", incident.ActDone, "reason", reason)
		return State{IncidentID: inc.ID, Generation: in.Generation, Action: incident.ActDone, Reason: reason}, nil
	}
	now := p.Clock.Now()
	inc, err = incident.Update(ctx, p.Store, inc, func(inc *incident.Incident) bool {
		changed := false
		if in.Generation > inc.PlannedGeneration {
			inc.PlannedGeneration, changed = in.Generation, true
		}
		// Decided on each read: a concurrent re-opening changes the episode.
		for _, b := range incident.DueBreaches(*inc, p.Policy, now) {
			changed = inc.RecordBreach(b) || changed
		}
		return changed
	})
	if err != nil {
		return State{}, fmt.Errorf("plan %s: %w", in.IncidentID, err)
	}
	if in.Generation < inc.PlannedGeneration {
		// A newer generation planned while this one was writing.
		return State{IncidentID: inc.ID, Generation: in.Generation, Action: incident.ActDone, Reason: "a newer generation has taken over"}, nil
	}
	// Every breach of the episode, not only those found now: an earlier
	// attempt may have stored one and stopped before its timeline entry.
	// The entries are idempotent; the metric goes out with the entry.
	for _, b := range inc.Breaches {
		if b.Episode != inc.Episode {
			continue
		}
		if err := p.noteBreach(ctx, inc, b); err != nil {
			return State{}, err
		}
	}
	windows, err := p.Store.MaintenanceWindows(ctx, inc.Service)
	if err != nil {
		return State{}, fmt.Errorf("plan %s: %w", in.IncidentID, err)
	}
	if err := p.noteMaintenance(ctx, inc, windows, now); err != nil {
		return State{}, err
	}
	step := incident.Next(inc, p.Policy, now, windows)
	out := State{IncidentID: inc.ID, Generation: in.Generation, Action: step.Action, Level: step.Level, LevelName: step.LevelName, Reason: step.Reason}
	if step.Action == incident.ActWait {
		out.WaitUntil = WaitTimestamp(step.Until)
	}
	slog.InfoContext(ctx, "planned", "incidentId", inc.ID, "action", step.Action, "level", step.Level, "waitUntil", out.WaitUntil, "reason", step.Reason)
	return out, nil
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
		ID:    incident.EntryID(b.At, fmt.Sprintf("breach/%s%s", episodeKey(b.Episode), b.Target)),
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

// noteMaintenance puts the start and end of every maintenance window that
// overlapped the incident's current episode on its timeline, once each.
func (p *Planner) noteMaintenance(ctx context.Context, inc incident.Incident, windows []incident.MaintenanceWindow, now time.Time) error {
	start := inc.Started()
	for _, w := range windows {
		by := w.CreatedBy
		if by == "" {
			by = "escalation"
		}
		if w.Service != inc.Service || !w.End.After(start) || w.Start.After(now) {
			continue
		}
		at := w.Start
		if at.Before(start) {
			at = start
		}
		entries := []incident.Entry{{
			ID: incident.EntryID(at, "maintenance/"+episodeKey(inc.Episode)+w.ID+"/start"), At: at, Kind: incident.EntryMaintenance, Actor: by,
			Text: fmt.Sprintf("Maintenance window %s for %s (%s) holds pages until %s.", w.ID, w.Service, w.Reason, w.End.UTC().Format(time.RFC3339)),
			Data: map[string]string{"window": w.ID, "phase": "start"},
		}}
		if !w.End.After(now) {
			actor, text := "escalation", fmt.Sprintf("Maintenance window %s for %s ended; pages it held go out now if the incident still needs them.", w.ID, w.Service)
			if w.EndedBy != "" {
				actor, text = w.EndedBy, fmt.Sprintf("Maintenance window %s for %s was ended early by %s; pages it held go out now if the incident still needs them.", w.ID, w.Service, w.EndedBy)
			}
			entries = append(entries, incident.Entry{
				ID: incident.EntryID(w.End, "maintenance/"+episodeKey(inc.Episode)+w.ID+"/end"), At: w.End, Kind: incident.EntryMaintenance, Actor: actor,
				Text: text,
				Data: map[string]string{"window": w.ID, "phase": "end"},
			})
		}
		for _, e := range entries {
			if _, err := p.Store.AppendTimeline(ctx, inc.ID, e); err != nil {
				return fmt.Errorf("plan %s: note maintenance: %w", inc.ID, err)
			}
		}
	}
	return nil
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
