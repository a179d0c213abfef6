// Package ingest turns signals into incidents: it decodes an alarm event,
// routes the signal with incident.RouteSignal, and opens, joins or notes
// the incident in storage, starting the incident's escalation when one
// opens. Every step is idempotent, so a redelivered or concurrent duplicate
// event changes nothing.
package ingest

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"

	"github.com/dashboarduz/incident-response/shared/cloudwatch"
	"github.com/dashboarduz/incident-response/shared/incident"
)

// Store is the storage the ingest handler needs.
type Store interface {
	GetIncident(ctx context.Context, id string) (incident.Incident, error)
	CreateIncident(ctx context.Context, inc incident.Incident) error
	UpdateIncident(ctx context.Context, inc incident.Incident) (incident.Incident, error)
	AppendTimeline(ctx context.Context, incidentID string, e incident.Entry) (bool, error)
	OpenIncidentID(ctx context.Context, dedupKey string) (string, bool, error)
	ClaimDedupKey(ctx context.Context, dedupKey, incidentID, replacing string) error
}

// Starter starts the escalation execution of an incident's generation;
// starting it again is not an error.
type Starter interface {
	StartEscalation(ctx context.Context, incidentID string, generation int) error
}

// InvalidEventError is returned for an event that cannot become a signal.
// Its type name is the Lambda error type, so the failed event is easy to
// find in the dead-letter queue and the logs.
type InvalidEventError struct {
	Reason string
}

// Error returns the reason, which names the problem with the event.
func (e *InvalidEventError) Error() string { return e.Reason }

// Handler ingests CloudWatch alarm events.
type Handler struct {
	Store   Store
	Starter Starter
	Rules   incident.ClassificationRules
	// Policy gives the re-open window and the flapping threshold.
	Policy incident.Policy
}

// Result says what one event did.
type Result struct {
	Route      incident.RouteKind `json:"route"`
	IncidentID string             `json:"incidentId,omitempty"`
	Reason     string             `json:"reason"`
}

// Handle is the Lambda entry point: an EventBridge "CloudWatch Alarm State
// Change" event or the payload of an alarm action that invokes the
// function directly.
func (h *Handler) Handle(ctx context.Context, raw json.RawMessage) (Result, error) {
	sig, err := cloudwatch.Decode(raw, h.Rules)
	if err != nil {
		slog.WarnContext(ctx, "rejected event", "error", err.Error(), "bytes", len(raw))
		return Result{}, &InvalidEventError{Reason: err.Error()}
	}
	return h.Ingest(ctx, sig)
}

// maxRaces bounds how often Ingest re-reads after losing a race to a
// concurrent delivery; each lost race means another writer made progress.
const maxRaces = 8

// Ingest applies one signal to the incidents.
func (h *Handler) Ingest(ctx context.Context, sig incident.Signal) (Result, error) {
	for range maxRaces {
		res, retry, err := h.ingestOnce(ctx, sig)
		if err != nil || !retry {
			if err == nil {
				slog.InfoContext(ctx, "signal ingested", "incidentId", res.IncidentID, "route", res.Route, "alarm", sig.DedupKey, "reason", res.Reason)
			}
			return res, err
		}
	}
	return Result{}, fmt.Errorf("ingest %s: still contended after %d attempts", sig.EventID, maxRaces)
}

// ingestOnce reads the incident the signal's dedup key points to and acts;
// retry is true when a concurrent writer changed what it read.
func (h *Handler) ingestOnce(ctx context.Context, sig incident.Signal) (res Result, retry bool, err error) {
	id, found, err := h.Store.OpenIncidentID(ctx, sig.DedupKey)
	if err != nil {
		return Result{}, false, fmt.Errorf("ingest %s: %w", sig.EventID, err)
	}
	var current *incident.Incident
	if found {
		inc, err := h.Store.GetIncident(ctx, id)
		switch {
		case incident.ErrorCode(err) == incident.ENotFound:
			// The key was claimed but the incident is not written yet: a
			// concurrent opener is mid-way, or one crashed. Finishing the
			// opening is idempotent, so do it; it also heals a crash.
			if sig.State != incident.Firing {
				return Result{}, false, fmt.Errorf("ingest %s: incident %s is still being opened; retry later", sig.EventID, id)
			}
			inc := incident.Open(sig)
			inc.ID = id
			if err := h.finishOpen(ctx, inc, sig); err != nil {
				return Result{}, false, err
			}
			return Result{}, true, nil
		case err != nil:
			return Result{}, false, fmt.Errorf("ingest %s: %w", sig.EventID, err)
		}
		current = &inc
	}

	route := incident.RouteSignal(sig, current, h.Policy.ReopenWithin.D())
	switch route.Kind {
	case incident.RouteOpen:
		inc := incident.Open(sig)
		replacing := ""
		if found {
			replacing = id
		}
		if err := h.Store.ClaimDedupKey(ctx, sig.DedupKey, inc.ID, replacing); err != nil {
			if incident.ErrorCode(err) == incident.EConflict {
				return Result{}, true, nil
			}
			return Result{}, false, fmt.Errorf("ingest %s: %w", sig.EventID, err)
		}
		if err := h.finishOpen(ctx, inc, sig); err != nil {
			return Result{}, false, err
		}
		return Result{Route: route.Kind, IncidentID: inc.ID, Reason: route.Reason}, false, nil

	case incident.RouteJoin:
		if incident.NewID(sig) == current.ID {
			// This is the opening signal again (a redelivery, or a
			// concurrent duplicate that lost the race): finish the
			// opening, which is idempotent, rather than join.
			if err := h.finishOpen(ctx, *current, sig); err != nil {
				return Result{}, false, err
			}
			return Result{Route: incident.RouteJoin, IncidentID: current.ID, Reason: "the event was already ingested"}, false, nil
		}
		if err := h.note(ctx, current.ID, sig, incident.EntrySignal, fmt.Sprintf("Alarm still firing: %s.", sigText(sig))); err != nil {
			return Result{}, false, err
		}
		inc, err := h.noteSignal(ctx, *current, sig)
		if err != nil {
			return Result{}, false, err
		}
		// A redelivered re-opening lands here: starting its generation
		// again finishes what a crash may have cut short.
		if err := h.Starter.StartEscalation(ctx, inc.ID, inc.Generation); err != nil {
			return Result{}, false, err
		}
		return Result{Route: route.Kind, IncidentID: current.ID, Reason: route.Reason}, false, nil

	case incident.RouteReopen:
		inc, err := h.reopen(ctx, *current, sig)
		if err != nil {
			return Result{}, false, err
		}
		if inc.Status == incident.Resolved {
			// Another writer changed it meanwhile: decide again.
			return Result{}, true, nil
		}
		if err := h.Starter.StartEscalation(ctx, inc.ID, inc.Generation); err != nil {
			return Result{}, false, err
		}
		return Result{Route: route.Kind, IncidentID: inc.ID, Reason: route.Reason}, false, nil

	case incident.RouteRecover:
		if err := h.note(ctx, current.ID, sig, incident.EntryRecovered, fmt.Sprintf("Alarm returned to OK: %s. The incident stays open until a responder resolves it.", sigText(sig))); err != nil {
			return Result{}, false, err
		}
		if _, err := h.noteSignal(ctx, *current, sig); err != nil {
			return Result{}, false, err
		}
		return Result{Route: route.Kind, IncidentID: current.ID, Reason: route.Reason}, false, nil

	case incident.RouteNote:
		if err := h.note(ctx, current.ID, sig, incident.EntryInsufficientData, fmt.Sprintf("Alarm has insufficient data: %s. Nobody is paged for it.", sigText(sig))); err != nil {
			return Result{}, false, err
		}
		if _, err := h.noteSignal(ctx, *current, sig); err != nil {
			return Result{}, false, err
		}
		return Result{Route: route.Kind, IncidentID: current.ID, Reason: route.Reason}, false, nil
	}
	return Result{Route: incident.RouteIgnore, Reason: route.Reason}, false, nil
}

// finishOpen writes the incident, its opening timeline entry and starts its
// escalation. Each step tolerates having been done already, so any number
// of deliveries of the opening event may run it.
func (h *Handler) finishOpen(ctx context.Context, inc incident.Incident, sig incident.Signal) error {
	if err := h.Store.CreateIncident(ctx, inc); err != nil && incident.ErrorCode(err) != incident.EConflict {
		return fmt.Errorf("open incident %s: %w", inc.ID, err)
	}
	text := fmt.Sprintf("Incident opened: %s %s %s (%s). %s.", inc.Severity, inc.Severity.Name(), inc.Service, inc.Category, sigText(sig))
	if err := h.note(ctx, inc.ID, sig, incident.EntryOpened, text); err != nil {
		return err
	}
	if err := h.Starter.StartEscalation(ctx, inc.ID, 0); err != nil {
		return fmt.Errorf("open incident %s: %w", inc.ID, err)
	}
	return nil
}

// note appends the signal's timeline entry, keyed by the signal's time and
// event ID so that a redelivery finds it already there.
func (h *Handler) note(ctx context.Context, incidentID string, sig incident.Signal, kind incident.EntryKind, text string) error {
	data := map[string]string{"eventId": sig.EventID, "state": string(sig.State)}
	for k, v := range sig.Details {
		data[k] = v
	}
	e := incident.Entry{
		ID:    incident.EntryID(sig.Time, "event/"+sig.EventID),
		At:    sig.Time,
		Kind:  kind,
		Actor: sig.Source,
		Text:  text,
		Data:  data,
	}
	if _, err := h.Store.AppendTimeline(ctx, incidentID, e); err != nil {
		return fmt.Errorf("note %s on %s: %w", kind, incidentID, err)
	}
	return nil
}

// noteSignal records the signal's state on the incident unless a later
// one is recorded already, and a firing after a recovery as a flap,
// re-reading on a version conflict. It returns the incident as stored.
func (h *Handler) noteSignal(ctx context.Context, inc incident.Incident, sig incident.Signal) (incident.Incident, error) {
	stored, err := incident.Update(ctx, h.Store, inc, func(inc *incident.Incident) bool {
		flap := sig.State == incident.Firing && inc.SignalState == incident.Recovered && sig.Time.After(inc.SignalAt)
		if !inc.NoteSignal(sig.State, sig.Time) {
			return false
		}
		if flap {
			inc.NoteFlap(h.Policy, sig.Time)
		}
		return true
	})
	if err != nil {
		return incident.Incident{}, fmt.Errorf("record signal state on %s: %w", inc.ID, err)
	}
	if err := h.noteFlapping(ctx, stored, sig); err != nil {
		return incident.Incident{}, err
	}
	return stored, nil
}

// reopen starts a new episode of a resolved incident whose alarm fired
// again within the re-open window. It returns the incident as stored; a
// status other than triggered means another writer got there first.
func (h *Handler) reopen(ctx context.Context, inc incident.Incident, sig incident.Signal) (incident.Incident, error) {
	stored, err := incident.Update(ctx, h.Store, inc, func(inc *incident.Incident) bool {
		if inc.Status != incident.Resolved || !sig.Time.After(inc.SignalAt) {
			return false
		}
		inc.NoteSignal(sig.State, sig.Time)
		inc.Reopen(h.Policy, sig.Time)
		return true
	})
	if err != nil {
		return incident.Incident{}, fmt.Errorf("re-open %s: %w", inc.ID, err)
	}
	if stored.Status == incident.Resolved {
		return stored, nil
	}
	text := fmt.Sprintf("Incident re-opened (episode %d): the alarm fired again within %s of its resolution: %s. The escalation policy starts afresh.", stored.Episode, h.Policy.ReopenWithin.D(), sigText(sig))
	if err := h.note(ctx, stored.ID, sig, incident.EntryReopened, text); err != nil {
		return incident.Incident{}, err
	}
	if err := h.noteFlapping(ctx, stored, sig); err != nil {
		return incident.Incident{}, err
	}
	return stored, nil
}

// noteFlapping puts the flapping mark of the current episode on the
// timeline, once: it is keyed by the episode and the time it was marked,
// so any later event for the incident writes it again as a no-op, which
// also completes a delivery that stopped before writing it.
func (h *Handler) noteFlapping(ctx context.Context, inc incident.Incident, sig incident.Signal) error {
	if !inc.Flapping || inc.FlappingEpisode != inc.Episode {
		return nil
	}
	e := incident.Entry{
		ID:    incident.EntryID(inc.FlappingAt, fmt.Sprintf("flapping/%d", inc.Episode)),
		At:    inc.FlappingAt,
		Kind:  incident.EntryFlapping,
		Actor: sig.Source,
		Text:  incident.FlappingText(h.Policy, inc),
		Data:  map[string]string{"flaps": fmt.Sprint(len(inc.Flaps))},
	}
	if _, err := h.Store.AppendTimeline(ctx, inc.ID, e); err != nil {
		return fmt.Errorf("note flapping on %s: %w", inc.ID, err)
	}
	return nil
}

// sigText describes the signal in one sentence, without a final period so
// callers can go on.
func sigText(sig incident.Signal) string {
	s := sig.Summary
	if sig.Reason != "" {
		s += " - " + sig.Reason
	}
	return strings.TrimRight(s, ". ")
}
