// Package ingest turns signals into incidents: it decodes an EventBridge
// event (a CloudWatch alarm state change, an ECS or RDS event) with
// eventbridge.Decoder, or takes a signal another source decoded (a health
// check, a Sentry webhook), routes the signal with incident.RouteSignal,
// and opens, joins, re-opens or notes the incident in storage, starting
// the escalation of an incident that opens (its first page planned here)
// and a new generation of it when a re-opening or recovery needs one.
// Every step is idempotent, so a redelivered or concurrent duplicate
// event changes nothing.
package ingest

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/dashboarduz/incident-response/shared/eventbridge"
	"github.com/dashboarduz/incident-response/shared/incident"
)

// Store is the storage the ingest handler needs.
type Store interface {
	ReadSignalContext(ctx context.Context, dedupKey, service string) (incidentID string, found bool, windows []incident.MaintenanceWindow, err error)
	JoinFiring(ctx context.Context, id string, sig incident.Signal) (bool, error)
	GetIncident(ctx context.Context, id string) (incident.Incident, error)
	CreateIncident(ctx context.Context, inc incident.Incident, opening incident.Entry) error
	UpdateIncident(ctx context.Context, inc incident.Incident) (incident.Incident, error)
	AppendTimeline(ctx context.Context, incidentID string, e incident.Entry) (bool, error)
	ClaimDedupKey(ctx context.Context, dedupKey, incidentID, replacing string) error
}

// Starter starts the escalation execution of an incident's generation;
// starting it again is not an error.
type Starter interface {
	StartEscalation(ctx context.Context, st incident.EscalationState) error
}

// InvalidEventError is returned for an event that cannot become a signal.
// Its type name is the Lambda error type, so the failed event is easy to
// find in the dead-letter queue and the logs.
type InvalidEventError struct {
	Reason string
	// Err is the decoder's error, an *eventbridge.InvalidEventError.
	Err error
}

// Error returns the reason, which names the problem with the event.
func (e *InvalidEventError) Error() string { return e.Reason }

// Unwrap returns the decoder's error.
func (e *InvalidEventError) Unwrap() error { return e.Err }

// Handler ingests signals: EventBridge events through Handle, other
// sources through Ingest.
type Handler struct {
	Store   Store
	Starter Starter
	// Rules classify CloudWatch alarms.
	Rules incident.ClassificationRules
	// Allow names the ECS clusters, ECS services and RDS instances this
	// system responds for; an ECS or RDS event about anything else is an
	// ignored signal that says so. The zero value allows none.
	Allow eventbridge.AllowList
	// Policy gives the re-open window, the flapping threshold and a new
	// incident's first step.
	Policy incident.Policy
	// Clock is the time a new incident's first step is planned at; nil
	// means incident.SystemClock.
	Clock incident.Clock
	// Memory, when set, is what the handler remembers of the signals it
	// ingested lately (see Memory); nil reads the table for every signal.
	Memory *Memory
}

// Result says what one event did.
type Result = incident.Outcome

// Handle is the Lambda entry point: any event the ingest rules route (see
// eventbridge.IngestRules: CloudWatch alarm state changes, ECS deployment,
// task and service events, RDS instance events), or the payload of an
// alarm action that invokes the function directly. An event that cannot
// be decoded is an *InvalidEventError, which Lambda keeps in the
// dead-letter queue; one that means nothing here (a service outside the
// allow-list, a task scaled in) is ignored with the reason on the result.
func (h *Handler) Handle(ctx context.Context, raw json.RawMessage) (Result, error) {
	d := eventbridge.Decoder{Rules: h.Rules, Allow: h.Allow}
	sig, err := d.Decode(raw)
	if err != nil {
		slog.WarnContext(ctx, "rejected event", "error", err.Error(), "bytes", len(raw))
		return Result{}, &InvalidEventError{Reason: err.Error(), Err: err}
	}
	return h.Ingest(ctx, sig)
}

// maxRaces bounds how often Ingest re-reads after losing a race to a
// concurrent delivery; each lost race means another writer made progress.
const maxRaces = 8

// Ingest applies one signal to the incidents.
func (h *Handler) Ingest(ctx context.Context, sig incident.Signal) (Result, error) {
	if res, ok := h.Memory.ingested(sig); ok {
		h.logIngested(ctx, sig, res)
		return res, nil
	}
	for range maxRaces {
		res, retry, err := h.ingestOnce(ctx, sig)
		if err != nil || !retry {
			if err == nil {
				h.Memory.done(sig, res)
				h.logIngested(ctx, sig, res)
			}
			return res, err
		}
	}
	return Result{}, fmt.Errorf("ingest %s: still contended after %d attempts", sig.EventID, maxRaces)
}

// logIngested logs what a signal did.
func (h *Handler) logIngested(ctx context.Context, sig incident.Signal, res Result) {
	slog.InfoContext(ctx, "signal ingested", "incidentId", res.IncidentID, "route", res.Route, "source", sig.Source,
		"dedupKey", sig.DedupKey, "service", sig.Service, "reason", res.Reason)
}

// ingestOnce reads what the signal's dedup key points to and acts; retry
// is true when a concurrent writer changed what it read. A repeat of a
// firing alarm joins its open incident in one conditional write without
// reading it, and without reading the pointer when the handler remembers
// it; everything else reads the incident and routes the signal with
// incident.RouteSignal.
func (h *Handler) ingestOnce(ctx context.Context, sig incident.Signal) (Result, bool, error) {
	if sig.Ignored != "" {
		return Result{Route: incident.RouteIgnore, Reason: sig.Ignored}, false, nil
	}
	remembered, ok := h.Memory.pointer(sig.DedupKey)
	if ok {
		if res, joined, err := h.joinFiring(ctx, sig, remembered); err != nil || joined {
			return res, false, err
		}
	}
	id, found, windows, err := h.Store.ReadSignalContext(ctx, sig.DedupKey, sig.Service)
	if err != nil {
		return Result{}, false, fmt.Errorf("ingest %s: %w", sig.EventID, err)
	}
	if !found {
		if route := incident.RouteSignal(sig, nil, h.Policy.ReopenWithin.D()); route.Kind != incident.RouteOpen {
			return Result{Route: route.Kind, Reason: route.Reason}, false, nil
		}
		return h.open(ctx, sig, "", windows)
	}
	h.Memory.point(sig.DedupKey, id)
	if id != remembered {
		if res, joined, err := h.joinFiring(ctx, sig, id); err != nil || joined {
			return res, false, err
		}
	}
	inc, err := h.Store.GetIncident(ctx, id)
	switch {
	case incident.ErrorCode(err) == incident.ENotFound:
		return h.healOpening(ctx, sig, id, windows)
	case err != nil:
		return Result{}, false, fmt.Errorf("ingest %s: %w", sig.EventID, err)
	}
	return h.route(ctx, sig, inc, windows)
}

// joinFiring joins a repeat of a firing signal to the open incident id
// in one conditional write; joined is false when the signal is no such
// repeat (it recovers, it opened id, or the write's condition failed).
func (h *Handler) joinFiring(ctx context.Context, sig incident.Signal, id string) (res Result, joined bool, err error) {
	if sig.State != incident.Firing || incident.NewID(sig) == id {
		return Result{}, false, nil
	}
	joined, err = h.Store.JoinFiring(ctx, id, sig)
	if err != nil {
		return Result{}, false, fmt.Errorf("ingest %s: %w", sig.EventID, err)
	}
	if !joined {
		return Result{}, false, nil
	}
	return Result{Route: incident.RouteJoin, IncidentID: id, Reason: "the " + sourceNoun(sig) + " is still firing on open incident " + id}, true, nil
}

// healOpening handles a dedup key claimed for an incident that is not
// written: a concurrent opener is mid-way, or one crashed. Finishing the
// opening is idempotent, so do it; it also heals a crash.
func (h *Handler) healOpening(ctx context.Context, sig incident.Signal, id string, windows []incident.MaintenanceWindow) (Result, bool, error) {
	if sig.State != incident.Firing {
		return Result{}, false, fmt.Errorf("ingest %s: incident %s is still being opened; retry later", sig.EventID, id)
	}
	inc := incident.Open(sig)
	inc.ID = id
	if err := h.finishOpen(ctx, inc, sig, windows); err != nil {
		return Result{}, false, err
	}
	return Result{}, true, nil
}

// route acts on the routing decision for a signal and the incident its
// dedup key points at.
func (h *Handler) route(ctx context.Context, sig incident.Signal, current incident.Incident, windows []incident.MaintenanceWindow) (Result, bool, error) {
	route := incident.RouteSignal(sig, &current, h.Policy.ReopenWithin.D())
	done := func(err error) (Result, bool, error) {
		if err != nil {
			return Result{}, false, err
		}
		return Result{Route: route.Kind, IncidentID: current.ID, Reason: route.Reason}, false, nil
	}
	switch route.Kind {
	case incident.RouteOpen:
		return h.open(ctx, sig, current.ID, windows)
	case incident.RouteJoin:
		if incident.NewID(sig) == current.ID {
			// The opening signal again (a redelivery, or a concurrent
			// duplicate that lost the race): the incident is written, so
			// only its escalation's start may be missing.
			err := h.Starter.StartEscalation(ctx, h.firstState(current, windows))
			return Result{Route: incident.RouteJoin, IncidentID: current.ID, Reason: "the event was already ingested"}, false, err
		}
		return done(h.join(ctx, current, sig))
	case incident.RouteReopen:
		inc, err := h.reopen(ctx, current, sig)
		if err != nil {
			return Result{}, false, err
		}
		if inc.Status == incident.Resolved {
			// Another writer changed it meanwhile: decide again.
			return Result{}, true, nil
		}
		return done(h.Starter.StartEscalation(ctx, incident.StartOf(inc)))
	case incident.RouteRecover:
		return done(h.noteAndRecord(ctx, current, sig, incident.EntryRecovered, recoveredText(sig)))
	case incident.RouteNote:
		return done(h.noteAndRecord(ctx, current, sig, incident.EntryInsufficientData, inconclusiveText(sig)))
	}
	return Result{Route: incident.RouteIgnore, IncidentID: current.ID, Reason: route.Reason}, false, nil
}

// open opens a new incident for the signal, superseding replacing (the
// resolved incident the dedup key points at, if any).
func (h *Handler) open(ctx context.Context, sig incident.Signal, replacing string, windows []incident.MaintenanceWindow) (Result, bool, error) {
	inc := incident.Open(sig)
	if err := h.Store.ClaimDedupKey(ctx, sig.DedupKey, inc.ID, replacing); err != nil {
		if incident.ErrorCode(err) == incident.EConflict {
			return Result{}, true, nil
		}
		return Result{}, false, fmt.Errorf("ingest %s: %w", sig.EventID, err)
	}
	if err := h.finishOpen(ctx, inc, sig, windows); err != nil {
		return Result{}, false, err
	}
	h.Memory.point(sig.DedupKey, inc.ID)
	return Result{Route: incident.RouteOpen, IncidentID: inc.ID, Reason: "the " + sourceNoun(sig) + " fired with no open incident"}, false, nil
}

// join records a firing signal on an open incident that the one-write
// join could not take: the alarm had recovered (a flap), or the event is
// not newer than the latest. A redelivered re-opening lands here too:
// starting its generation again finishes what a crash may have cut short.
func (h *Handler) join(ctx context.Context, current incident.Incident, sig incident.Signal) error {
	if err := h.note(ctx, current.ID, sig, incident.EntrySignal, firingText(sig)); err != nil {
		return err
	}
	inc, err := h.noteSignal(ctx, current, sig, true)
	if err != nil {
		return err
	}
	return h.Starter.StartEscalation(ctx, incident.StartOf(inc))
}

// noteAndRecord puts the signal on the timeline and records its state.
func (h *Handler) noteAndRecord(ctx context.Context, current incident.Incident, sig incident.Signal, kind incident.EntryKind, text string) error {
	if err := h.note(ctx, current.ID, sig, kind, text); err != nil {
		return err
	}
	recovered := kind == incident.EntryRecovered
	inc, err := h.noteSignal(ctx, current, sig, recovered)
	if err != nil || !recovered {
		return err
	}
	// The recovery is announced by a new generation's plan, at once.
	return h.Starter.StartEscalation(ctx, incident.StartOf(inc))
}

// finishOpen writes the incident with its opening timeline entry and
// starts its escalation. When the policy pages at once, the write that
// creates the incident claims that page too, and the execution starts by
// sending it (incident.Incident.ClaimFirstPage): nothing is read or
// written between the incident's creation and its first page. Each step
// tolerates having been done already, so any number of deliveries of the
// opening event may run it; a concurrent delivery that lost the creation
// may start the execution with its own claim, since the one stored is as
// fresh, and only one execution of the name ever runs.
func (h *Handler) finishOpen(ctx context.Context, inc incident.Incident, sig incident.Signal, windows []incident.MaintenanceWindow) error {
	text := fmt.Sprintf("Incident opened: %s %s %s (%s). %s.", inc.Severity, inc.Severity.Name(), inc.Service, inc.Category, sigText(sig))
	opening := h.entry(sig, incident.EntryOpened, text)
	inc.Announce(opening.ID)
	start := incident.StartOf(inc)
	if step, now, ok := h.firstPage(inc, windows); ok {
		start = inc.ClaimFirstPage(step, now)
	}
	if err := h.Store.CreateIncident(ctx, inc, opening); err != nil && incident.ErrorCode(err) != incident.EConflict {
		return fmt.Errorf("open incident %s: %w", inc.ID, err)
	}
	if err := h.Starter.StartEscalation(ctx, start); err != nil {
		return fmt.Errorf("open incident %s: %w", inc.ID, err)
	}
	return nil
}

// firstState is the start of a new incident's escalation that another
// delivery of the opening event began: when the policy pages at once, the
// page is planned here, so the execution pages without planning first,
// and sent on the creating write's claim while that is fresh (so either
// delivery may start the one execution); otherwise Plan decides.
func (h *Handler) firstState(inc incident.Incident, windows []incident.MaintenanceWindow) incident.EscalationState {
	step, now, ok := h.firstPage(inc, windows)
	if !ok {
		return incident.StartOf(inc)
	}
	st := incident.PlannedState(inc, 0, step)
	st.FirstPage = inc.ClaimedFirstPage(step, now)
	return st
}

// firstPage is the page the policy sends at once for a new incident, and
// the time it planned it at; ok is false when the first step is not a page
// (a maintenance window holds it) or the incident is no longer new.
func (h *Handler) firstPage(inc incident.Incident, windows []incident.MaintenanceWindow) (step incident.Step, now time.Time, ok bool) {
	if inc.Generation != 0 || inc.Version > 1 {
		return incident.Step{}, time.Time{}, false
	}
	clock := h.Clock
	if clock == nil {
		clock = incident.SystemClock{}
	}
	now = clock.Now()
	step = incident.Next(inc, h.Policy, now, windows)
	return step, now, step.Action == incident.ActPage
}

// entry is the signal's timeline entry, keyed by the signal's time and
// event ID so that a redelivery finds it already there.
func (h *Handler) entry(sig incident.Signal, kind incident.EntryKind, text string) incident.Entry {
	data := map[string]string{"eventId": sig.EventID, "state": string(sig.State)}
	for k, v := range sig.Details {
		data[k] = v
	}
	return incident.Entry{
		ID:    eventEntryID(sig),
		At:    sig.Time,
		Kind:  kind,
		Actor: sig.Source,
		Text:  text,
		Data:  data,
	}
}

// eventEntryID is the ID of a signal's timeline entry.
func eventEntryID(sig incident.Signal) string {
	return incident.EntryID(sig.Time, "event/"+sig.EventID)
}

// note appends the signal's timeline entry.
func (h *Handler) note(ctx context.Context, incidentID string, sig incident.Signal, kind incident.EntryKind, text string) error {
	if _, err := h.Store.AppendTimeline(ctx, incidentID, h.entry(sig, kind, text)); err != nil {
		return fmt.Errorf("note %s on %s: %w", kind, incidentID, err)
	}
	return nil
}

// noteSignal records the signal's state on the incident unless a later
// one is recorded already, and a firing after a recovery as a flap,
// re-reading on a version conflict; with announce, the signal's timeline
// entry is queued to be announced in the same write. It returns the
// incident as stored.
func (h *Handler) noteSignal(ctx context.Context, inc incident.Incident, sig incident.Signal, announce bool) (incident.Incident, error) {
	stored, err := incident.Update(ctx, h.Store, inc, func(inc *incident.Incident) bool {
		flap := sig.State == incident.Firing && inc.SignalState == incident.Recovered && sig.Time.After(inc.SignalAt)
		if !inc.NoteSignal(sig.State, sig.Time) {
			return false
		}
		if flap {
			inc.NoteFlap(h.Policy, sig.Time)
		}
		switch {
		case announce && sig.State == incident.Recovered:
			inc.AnnounceNow(eventEntryID(sig))
		case announce:
			inc.Announce(eventEntryID(sig))
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
		inc.Announce(eventEntryID(sig))
		return true
	})
	if err != nil {
		return incident.Incident{}, fmt.Errorf("re-open %s: %w", inc.ID, err)
	}
	if stored.Status == incident.Resolved {
		return stored, nil
	}
	text := fmt.Sprintf("Incident re-opened (episode %d): the %s fired again within %s of its resolution: %s. The escalation policy starts afresh.",
		stored.Episode, sourceNoun(sig), h.Policy.ReopenWithin.D(), sigText(sig))
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

// sourceNames are how the timeline names each source of signals.
var sourceNames = map[string]string{
	"cloudwatch":   "alarm",
	"ecs":          "ECS event",
	"rds":          "RDS event",
	"sentry":       "Sentry alert",
	"health-check": "health check",
}

// sourceNoun names what sent the signal, e.g. "alarm" or "health check".
func sourceNoun(sig incident.Signal) string {
	if n, ok := sourceNames[sig.Source]; ok {
		return n
	}
	if sig.Source == "" {
		return "signal"
	}
	return sig.Source + " signal"
}

// capitalized is s with its first letter in upper case.
func capitalized(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// recoveredText is the timeline's note of a recovery; an alarm's keeps
// CloudWatch's words.
func recoveredText(sig incident.Signal) string {
	what := "Alarm returned to OK"
	if sig.Source != "cloudwatch" {
		what = capitalized(sourceNoun(sig)) + " reports a recovery"
	}
	return fmt.Sprintf("%s: %s. The incident stays open until a responder resolves it.", what, sigText(sig))
}

// inconclusiveText is the timeline's note of a signal that neither fires
// nor recovers.
func inconclusiveText(sig incident.Signal) string {
	what := "Alarm has insufficient data"
	if sig.Source != "cloudwatch" {
		what = capitalized(sourceNoun(sig)) + " reports neither a failure nor a recovery"
	}
	return fmt.Sprintf("%s: %s. Nobody is paged for it.", what, sigText(sig))
}

// firingText is the timeline's note of a signal that fires again on an
// open incident.
func firingText(sig incident.Signal) string {
	what := "Alarm still firing"
	if sig.Source != "cloudwatch" {
		what = capitalized(sourceNoun(sig)) + " still failing"
	}
	return fmt.Sprintf("%s: %s.", what, sigText(sig))
}
