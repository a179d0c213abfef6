// Package response is what responders do to incidents: report one,
// acknowledge it, post status updates, change its severity, escalate it,
// resolve it, and hold pages for maintenance. The API and the PagerDuty
// webhook call it; every operation is a conditional update of the incident
// in storage, an entry on its timeline naming who acted, and, where the
// escalation must see the change at once, the start of the escalation's
// next generation.
package response

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/metrics"
)

// Store is the storage the service needs.
type Store interface {
	incident.Updater
	CreateIncident(ctx context.Context, inc incident.Incident, opening incident.Entry) error
	AppendTimeline(ctx context.Context, incidentID string, e incident.Entry) (bool, error)
	TimelinePage(ctx context.Context, id, before string, limit int) (incident.Incident, []incident.Entry, bool, error)
	TriageReport(ctx context.Context, id string, episode int) (incident.TriageReport, error)
	KillSwitch(ctx context.Context) (incident.KillSwitch, error)
	SetKillSwitch(ctx context.Context, k incident.KillSwitch) (incident.KillSwitch, error)
	ListIncidents(ctx context.Context, f incident.ListFilter) ([]incident.Incident, string, error)
	ListOpen(ctx context.Context, service string) ([]incident.Incident, error)
	OpenIncidentID(ctx context.Context, dedupKey string) (string, bool, error)
	ClaimDedupKey(ctx context.Context, dedupKey, incidentID, replacing string) error
	CreateMaintenanceWindow(ctx context.Context, w incident.MaintenanceWindow, now time.Time, allow func(active []incident.MaintenanceWindow) error) error
	MaintenanceWindows(ctx context.Context, service string) ([]incident.MaintenanceWindow, error)
	MaintenanceWindow(ctx context.Context, id string) (incident.MaintenanceWindow, error)
	EndMaintenanceWindow(ctx context.Context, id, by string, at time.Time) (incident.MaintenanceWindow, error)
}

// Starter starts the escalation execution of an incident's generation;
// starting it again is not an error.
type Starter interface {
	StartEscalation(ctx context.Context, st incident.EscalationState) error
}

// Service carries out responders' operations.
type Service struct {
	Store   Store
	Starter Starter
	Policy  incident.Policy
	Clock   incident.Clock
	// KillSwitchDefault is the remediation kill switch while the table
	// holds no setting: the deployment's default.
	KillSwitchDefault bool
}

// Report opens an incident from a user's report and starts its
// escalation.
func (s *Service) Report(ctx context.Context, actor string, r Report) (incident.Incident, error) {
	for _, f := range []struct{ field, value string }{{"title", r.Title}, {"service", r.Service}, {"description", r.Description}} {
		if strings.TrimSpace(f.value) == "" {
			return incident.Incident{}, incident.FieldErrorf(f.field, "%s is required", f.field)
		}
	}
	sev, err := incident.ParseSeverity(r.Severity)
	if err != nil {
		return incident.Incident{}, asField("severity", err)
	}
	cat, err := incident.ParseCategory(r.Category)
	if err != nil {
		return incident.Incident{}, asField("category", err)
	}
	now := s.Clock.Now()
	sig := incident.Signal{
		Source:   incident.SourceUserReport,
		EventID:  actor + "@" + now.Format(time.RFC3339Nano),
		DedupKey: "report/" + r.Service + "/" + r.Title,
		Service:  r.Service, Category: cat, Severity: sev,
		Summary: r.Title, Time: now, State: incident.Firing,
	}
	inc := incident.Open(sig)
	inc.Title = r.Title
	inc.Description = r.Description
	sum := sha256.Sum256([]byte(strings.Join([]string{r.Service, r.Title, r.Severity, r.Category, r.Description}, "\x00")))
	fingerprint := hex.EncodeToString(sum[:])
	key := r.IdempotencyKey
	if key == "" {
		// Without a key, the same report from the same caller within the
		// same ten minutes is a retry or a double submission.
		key = "same-report/" + fingerprint + "/" + now.Truncate(reportDedupWindow).Format(time.RFC3339)
	}
	{
		// A retried report finds the open incident the first call opened,
		// or finishes opening it.
		id, existing, err := s.claimReport(ctx, actor, key, fingerprint, inc.ID)
		if err != nil {
			return incident.Incident{}, err
		}
		if id != inc.ID {
			if existing != nil {
				inc = *existing
			} else {
				inc.ID = id // the first call stopped before creating it
			}
		}
	}
	reported := incident.Entry{
		ID: entryID(inc.OpenedAt, "reported"), At: inc.OpenedAt, Kind: incident.EntryReported, Actor: actor,
		Text: fmt.Sprintf("Incident reported by %s: %s %s %s (%s). %s", actor, inc.Severity, inc.Severity.Name(), inc.Service, inc.Category, inc.Description),
		Data: map[string]string{"description": inc.Description},
	}
	inc.Announce(reported.ID)
	if err := s.Store.CreateIncident(ctx, inc, reported); err != nil && incident.ErrorCode(err) != incident.EConflict {
		return incident.Incident{}, fmt.Errorf("report: %w", err)
	}
	if err := s.Starter.StartEscalation(ctx, incident.StartOf(inc)); err != nil {
		return incident.Incident{}, fmt.Errorf("report %s: %w", inc.ID, err)
	}
	return s.Store.GetIncident(ctx, inc.ID)
}

// reportDedupWindow is how long an identical report without an
// idempotency key counts as the same report.
const reportDedupWindow = 10 * time.Minute

// claimReport claims a report's idempotency key for the incident id, and
// returns the incident the key is claimed for: id, or the one an earlier
// call with the same key claimed it for, with that incident when it is
// stored. The claim records the report's fingerprint beside the incident
// ("<id>#<fingerprint>"): the same key with another report is a conflict
// naming the header, never an answer with the first incident. A key whose
// incident has been resolved is claimed afresh for id: the report is a new
// occurrence, which opens a new incident and pages.
func (s *Service) claimReport(ctx context.Context, actor, key, fingerprint, id string) (string, *incident.Incident, error) {
	sum := sha256.Sum256([]byte(actor + "\x00" + key))
	dedup := "report-key/" + hex.EncodeToString(sum[:])
	for range 3 {
		value, found, err := s.Store.OpenIncidentID(ctx, dedup)
		if err != nil {
			return "", nil, err
		}
		replacing := ""
		if found {
			existing, fp, _ := strings.Cut(value, "#")
			if fp != "" && fp != fingerprint {
				return "", nil, &incident.Error{Code: incident.EConflict, Field: "Idempotency-Key",
					Message: "this Idempotency-Key was used for a different report; send a new key for a new report"}
			}
			inc, err := s.Store.GetIncident(ctx, existing)
			switch {
			case incident.ErrorCode(err) == incident.ENotFound:
				return existing, nil, nil // the first call stopped before creating it
			case err != nil:
				return "", nil, err
			case inc.Status != incident.Resolved:
				return existing, &inc, nil
			}
			replacing = value
		}
		err = s.Store.ClaimDedupKey(ctx, dedup, id+"#"+fingerprint, replacing)
		if err == nil {
			return id, nil, nil
		}
		if incident.ErrorCode(err) != incident.EConflict {
			return "", nil, err
		}
	}
	return "", nil, fmt.Errorf("report: idempotency key still contended")
}

// asField names the request field of a validation error.
func asField(field string, err error) error {
	if e, ok := err.(*incident.Error); ok && e.Field == "" {
		return &incident.Error{Code: e.Code, Message: e.Message, Field: field}
	}
	return err
}

// List returns one page of incidents.
func (s *Service) List(ctx context.Context, r ListRequest) (IncidentList, error) {
	f := incident.ListFilter{Service: r.Service, Cursor: r.Cursor, Limit: int32(r.Limit)}
	if r.Status != "" {
		st, err := incident.ParseStatus(r.Status)
		if err != nil {
			return IncidentList{}, err
		}
		f.Status = st
	}
	if r.Severity != "" {
		sev, err := incident.ParseSeverity(r.Severity)
		if err != nil {
			return IncidentList{}, asField("severity", err)
		}
		f.Severity = sev
	}
	incs, next, err := s.Store.ListIncidents(ctx, f)
	if err != nil {
		return IncidentList{}, err
	}
	if incs == nil {
		incs = []incident.Incident{}
	}
	return IncidentList{Incidents: incs, Next: next}, nil
}

// Get returns an incident with its timeline and the triage report of
// its current episode: the latest DefaultTimelinePage entries, in one
// query however long the timeline, and the report, once gathered, in one
// read more (which Get always makes: a report written by a triage cut
// short before it marked the incident is shown too).
func (s *Service) Get(ctx context.Context, id string) (IncidentWithTimeline, error) {
	inc, tl, more, err := s.Store.TimelinePage(ctx, id, "", DefaultTimelinePage)
	if err != nil {
		return IncidentWithTimeline{}, err
	}
	out := IncidentWithTimeline{Incident: inc, Timeline: tl}
	if more {
		out.TimelineBefore = tl[0].ID
	}
	r, err := s.Store.TriageReport(ctx, id, inc.Episode)
	switch {
	case err == nil:
		out.Triage = &r
	case incident.ErrorCode(err) != incident.ENotFound:
		return IncidentWithTimeline{}, err
	}
	return out, nil
}

// headlineLength is the most characters of a message a headline keeps.
const headlineLength = 120

// headline is the first line of a message, cut to headlineLength
// characters, with an ellipsis when anything was left out.
func headline(msg string) string {
	first, rest, _ := strings.Cut(strings.TrimSpace(msg), "\n")
	first = strings.TrimSpace(first)
	cut := strings.TrimSpace(rest) != ""
	if r := []rune(first); len(r) > headlineLength {
		first, cut = strings.TrimSpace(string(r[:headlineLength])), true
	}
	if cut {
		first += "…"
	}
	return first
}

// DefaultTimelinePage is how many of its latest timeline entries an
// incident is answered with, and the default page of Timeline.
const DefaultTimelinePage = 100

// Timeline answers a page of an incident's timeline: the latest limit
// entries older than the entry before (the latest when before is empty),
// oldest first. A limit of zero means DefaultTimelinePage.
func (s *Service) Timeline(ctx context.Context, id, before string, limit int) (TimelinePage, error) {
	if limit == 0 {
		limit = DefaultTimelinePage
	}
	if err := checkEntryID("before", before); err != nil {
		return TimelinePage{}, err
	}
	_, tl, more, err := s.Store.TimelinePage(ctx, id, before, limit)
	if err != nil {
		return TimelinePage{}, err
	}
	out := TimelinePage{Entries: tl}
	if more {
		out.Before = tl[0].ID
	}
	return out, nil
}

// checkEntryID refuses a cursor that cannot be a timeline entry's ID.
func checkEntryID(field, id string) error {
	if len(id) > maxEntryIDLength {
		return incident.FieldErrorf(field, "%s is %d bytes long; an entry ID is at most %d", field, len(id), maxEntryIDLength)
	}
	for _, r := range id {
		if r < 0x21 || r > 0x7e {
			return incident.FieldErrorf(field, "%s must be an entry ID as the timeline answers it (printable ASCII, no spaces)", field)
		}
	}
	return nil
}

// maxEntryIDLength bounds a cursor: entry IDs are a time and a short key.
const maxEntryIDLength = 512

// change applies op to the stored incident, records it on the timeline
// with noteFn, then starts the escalation's new generation so that the
// change takes effect at once. The entry is written before the start, so a
// failed start loses no record of who did what. When op refuses (a
// conflict such as acknowledging a resolved incident), healFn, when set,
// writes the entry of the earlier operation again (a no-op when it is
// there; it completes a call cut short after its write), and the current
// generation is started anyway: that is a no-op when it runs, and it
// finishes the work of an earlier call cut short after its write.
func (s *Service) change(ctx context.Context, id string, op func(*incident.Incident) error, noteFn, healFn func(incident.Incident) error) (incident.Incident, error) {
	inc, err := s.Store.GetIncident(ctx, id)
	if err != nil {
		return incident.Incident{}, err
	}
	var opErr error
	stored, err := incident.Update(ctx, s.Store, inc, func(inc *incident.Incident) bool {
		opErr = op(inc)
		return opErr == nil
	})
	if err != nil {
		return incident.Incident{}, err
	}
	if opErr == nil {
		if err := noteFn(stored); err != nil {
			return incident.Incident{}, err
		}
	} else if healFn != nil {
		if err := healFn(stored); err != nil {
			slog.ErrorContext(ctx, "complete an earlier operation's timeline entry", "incidentId", stored.ID, "error", err)
		}
	}
	if serr := s.Starter.StartEscalation(ctx, incident.StartOf(stored)); serr != nil {
		if opErr != nil {
			slog.ErrorContext(ctx, "restart escalation", "incidentId", stored.ID, "error", serr)
			return incident.Incident{}, opErr
		}
		return incident.Incident{}, fmt.Errorf("%s: start escalation generation %d: %w", stored.ID, stored.Generation, serr)
	}
	if opErr != nil {
		return incident.Incident{}, opErr
	}
	return stored, nil
}

// Acknowledge records that actor has taken the incident on.
func (s *Service) Acknowledge(ctx context.Context, actor, id string, a Acknowledgement) (incident.Incident, error) {
	return s.acknowledgeAt(ctx, actor, id, a, s.Clock.Now())
}

// acknowledgeAt acknowledges as of time now: the clock's, or the time a
// PagerDuty webhook says the acknowledgement happened there.
func (s *Service) acknowledgeAt(ctx context.Context, actor, id string, a Acknowledgement, now time.Time) (incident.Incident, error) {
	note := func(inc incident.Incident) error {
		if inc.AcknowledgedAt.IsZero() {
			return nil
		}
		text := fmt.Sprintf("Acknowledged by %s.", inc.AcknowledgedBy)
		if a.Message != "" && inc.AcknowledgedBy == actor {
			text = fmt.Sprintf("Acknowledged by %s: %s", actor, a.Message)
		}
		return s.noteAt(ctx, inc, inc.AcknowledgedAt, inc.AcknowledgedBy, incident.EntryAcknowledged, fmt.Sprintf("acknowledged/%d", inc.Episode), text, nil)
	}
	inc, err := s.change(ctx, id, func(inc *incident.Incident) error {
		if err := inc.Acknowledge(actor, now); err != nil {
			return err
		}
		announce(inc, inc.AcknowledgedAt, fmt.Sprintf("acknowledged/%d", inc.Episode))
		return nil
	}, note, note)
	if err != nil {
		return incident.Incident{}, err
	}
	metrics.Acknowledged(ctx, inc)
	return inc, nil
}

// PostUpdate records a status update in the runbook's status-update form.
func (s *Service) PostUpdate(ctx context.Context, actor, id string, u StatusUpdate) (incident.Incident, error) {
	st, err := incident.ParseUpdateStatus(u.Status)
	if err != nil {
		return incident.Incident{}, err
	}
	if strings.TrimSpace(u.Message) == "" {
		return incident.Incident{}, incident.FieldErrorf("message", "message is required: say what is known")
	}
	now := s.Clock.Now()
	acknowledging := false
	note := func(inc incident.Incident) error {
		// The update itself is in data, once; the text is its headline
		// (M7: updates were stored twice).
		data := map[string]string{"status": string(st), "message": u.Message}
		text := fmt.Sprintf("Status update (%s): %s", titleCase(string(st)), headline(u.Message))
		if u.Actions != "" {
			data[incident.DataActions] = u.Actions
		}
		if u.ETA != nil {
			data["eta"] = u.ETA.UTC().Format(time.RFC3339)
		}
		if u.Public {
			data[incident.DataPublic] = "true"
		}
		return s.noteAt(ctx, inc, now, actor, incident.EntryStatusUpdate, "update/"+actor, text, data)
	}
	inc, err := s.change(ctx, id, func(inc *incident.Incident) error {
		acknowledging = inc.AcknowledgedAt.IsZero()
		if err := inc.UpdateStatus(st, actor, now); err != nil {
			return err
		}
		if t := strings.TrimSpace(u.PublicTitle); t != "" {
			inc.PublicTitle = t
		}
		announce(inc, now, "update/"+actor)
		return nil
	}, note, nil)
	if err != nil {
		return incident.Incident{}, err
	}
	if acknowledging {
		metrics.Acknowledged(ctx, inc)
	}
	return inc, nil
}

func titleCase(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// ChangeSeverity sets a new severity; the escalation re-plans with its
// deadlines at once.
func (s *Service) ChangeSeverity(ctx context.Context, actor, id string, c SeverityChange) (incident.Incident, error) {
	sev, err := incident.ParseSeverity(c.Severity)
	if err != nil {
		return incident.Incident{}, asField("severity", err)
	}
	var from incident.Severity
	now := s.Clock.Now()
	note := func(inc incident.Incident) error {
		text := fmt.Sprintf("Severity changed from %s to %s by %s.", from, sev, actor)
		if c.Reason != "" {
			text = fmt.Sprintf("Severity changed from %s to %s by %s: %s", from, sev, actor, c.Reason)
		}
		return s.noteAt(ctx, inc, now, actor, incident.EntrySeverityChanged, "severity/"+string(sev), text, map[string]string{"from": string(from), "to": string(sev)})
	}
	return s.change(ctx, id, func(inc *incident.Incident) error {
		from = inc.Severity
		if err := inc.ChangeSeverity(sev); err != nil {
			return err
		}
		announce(inc, now, "severity/"+string(sev))
		return nil
	}, note, nil)
}

// Escalate pages a level now: the named one, or the next above the
// highest paged.
func (s *Service) Escalate(ctx context.Context, actor, id string, e Escalation) (incident.Incident, error) {
	now := s.Clock.Now()
	var req incident.EscalationRequest
	note := func(inc incident.Incident) error { return s.noteEscalation(ctx, inc, req) }
	// A refused request (one already under way) completes the entries of
	// the episode's earlier requests, which a call cut short may lack.
	heal := func(inc incident.Incident) error {
		for _, r := range inc.Escalations {
			if r.Episode == inc.Episode {
				if err := s.noteEscalation(ctx, inc, r); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return s.change(ctx, id, func(inc *incident.Incident) error {
		var err error
		if req, err = inc.RequestEscalation(s.Policy, e.Level, actor, e.Reason, now); err != nil {
			return err
		}
		announce(inc, req.At, fmt.Sprintf("escalate/%d/%d", req.Episode, req.Level))
		return nil
	}, note, heal)
}

// noteEscalation records an escalation request on the timeline, keyed by
// its episode, level and time.
func (s *Service) noteEscalation(ctx context.Context, inc incident.Incident, req incident.EscalationRequest) error {
	l, _ := s.Policy.Level(req.Level)
	text := fmt.Sprintf("%s asked for more expertise: escalating to %s (level %d, %s).", req.By, l.Title, req.Level, l.Name)
	if req.Reason != "" {
		text = fmt.Sprintf("%s asked for more expertise: escalating to %s (level %d, %s): %s", req.By, l.Title, req.Level, l.Name, req.Reason)
	}
	return s.noteAt(ctx, inc, req.At, req.By, incident.EntryEscalated, fmt.Sprintf("escalate/%d/%d", req.Episode, req.Level), text, map[string]string{"level": fmt.Sprint(req.Level), "levelName": l.Name})
}

// Resolve closes the incident with its root cause; the escalation tells
// PagerDuty that every page is resolved.
func (s *Service) Resolve(ctx context.Context, actor, id string, r Resolution) (incident.Incident, error) {
	return s.resolveAt(ctx, actor, id, r, s.Clock.Now())
}

// resolveAt resolves as of time now (see acknowledgeAt).
func (s *Service) resolveAt(ctx context.Context, actor, id string, r Resolution, now time.Time) (incident.Incident, error) {
	if strings.TrimSpace(r.RootCause) == "" {
		return incident.Incident{}, incident.FieldErrorf("rootCause", "rootCause is required to resolve an incident")
	}
	note := func(inc incident.Incident) error {
		if inc.Status != incident.Resolved {
			return nil
		}
		text := fmt.Sprintf("Resolved by %s. Root cause: %s", inc.ResolvedBy, inc.RootCause)
		if inc.Resolution != "" {
			text += ". Resolution: " + inc.Resolution
		}
		return s.noteAt(ctx, inc, inc.ResolvedAt, inc.ResolvedBy, incident.EntryResolved, fmt.Sprintf("resolved/%d", inc.Episode), text, map[string]string{"rootCause": inc.RootCause})
	}
	inc, err := s.change(ctx, id, func(inc *incident.Incident) error {
		if err := inc.Resolve(actor, r.RootCause, r.Summary, now); err != nil {
			return err
		}
		announce(inc, inc.ResolvedAt, fmt.Sprintf("resolved/%d", inc.Episode))
		return nil
	}, note, note)
	if err != nil {
		return incident.Incident{}, err
	}
	metrics.Resolved(ctx, inc)
	return inc, nil
}

// ScheduleMaintenance stores a maintenance window for a service.
func (s *Service) ScheduleMaintenance(ctx context.Context, actor string, m MaintenanceRequest) (incident.MaintenanceWindow, error) {
	now := s.Clock.Now()
	w := incident.MaintenanceWindow{Service: m.Service, Start: m.Start.UTC(), End: m.End.UTC(), Reason: m.Reason, CreatedBy: actor, CreatedAt: now}
	if err := w.Validate(); err != nil {
		return incident.MaintenanceWindow{}, err
	}
	w.ID = incident.NewMaintenanceWindowID(w.Service, w.Start, now)
	allow := func(active []incident.MaintenanceWindow) error {
		return incident.CheckMaintenanceSchedule(active, w, now)
	}
	if err := allow(nil); err != nil {
		return incident.MaintenanceWindow{}, err
	}
	if err := s.Store.CreateMaintenanceWindow(ctx, w, now, allow); err != nil {
		return incident.MaintenanceWindow{}, err
	}
	return w, nil
}

// MaintenanceWindows lists the windows of a service, or of every service.
func (s *Service) MaintenanceWindows(ctx context.Context, service string) ([]incident.MaintenanceWindow, error) {
	ws, err := s.Store.MaintenanceWindows(ctx, service)
	if ws == nil && err == nil {
		ws = []incident.MaintenanceWindow{}
	}
	return ws, err
}

// EndMaintenance ends a window now. The open incidents of its service
// re-plan at once, so pages it held go out without waiting for the
// window's planned end. Ending a window that has already ended is a
// conflict, but re-plans the service's open incidents all the same, so a
// call cut short part-way is completed by calling again.
func (s *Service) EndMaintenance(ctx context.Context, actor, id string) (incident.MaintenanceWindow, error) {
	now := s.Clock.Now()
	w, endErr := s.Store.EndMaintenanceWindow(ctx, id, actor, now)
	if endErr != nil {
		if incident.ErrorCode(endErr) != incident.EConflict {
			return incident.MaintenanceWindow{}, endErr
		}
		var err error
		if w, err = s.Store.MaintenanceWindow(ctx, id); err != nil {
			return incident.MaintenanceWindow{}, err
		}
	}
	open, err := s.Store.ListOpen(ctx, w.Service)
	if err != nil {
		return incident.MaintenanceWindow{}, err
	}
	var errs []error
	for _, inc := range open {
		replan := func(inc *incident.Incident) error { inc.Generation++; return nil }
		if _, err := s.change(ctx, inc.ID, replan, func(incident.Incident) error { return nil }, nil); err != nil {
			errs = append(errs, err)
		}
	}
	slog.InfoContext(ctx, "maintenance ended", "window", w.ID, "service", w.Service, "by", actor, "replanned", len(open)-len(errs))
	if err := errors.Join(errs...); err != nil {
		return incident.MaintenanceWindow{}, fmt.Errorf("maintenance window %s ended; re-planning its service's incidents: %w", w.ID, err)
	}
	if endErr != nil {
		return incident.MaintenanceWindow{}, endErr
	}
	return w, nil
}

// PagerDutyWebhook applies an acknowledgement or resolution made in
// PagerDuty to the incident one of its pages belongs to. PagerDuty's
// incident_key is the page's dedup key. Events about a page of an earlier
// episode, or that the incident has already seen, change nothing; a key
// that is not one of ours, or that names a level of the current episode
// that was never paged (not recorded on the incident, not claimed in the
// page ledger), is ENotFound and changes nothing. The change is recorded
// at the time it happened in PagerDuty (OccurredAt), bounded by the
// episode's start and now, so a late redelivery records no false breach.
func (s *Service) PagerDutyWebhook(ctx context.Context, e PagerDutyEvent) error {
	if e.Type != "incident.acknowledged" && e.Type != "incident.resolved" {
		return incident.Errorf(incident.EInvalid, "PagerDuty event type %q is not handled", e.Type)
	}
	// The key names the incident and the episode of the page, recorded on
	// the incident or not yet (its Page task stopped after sending).
	id, episode, level, ok := incident.ParsePageDedupKey(e.IncidentKey)
	if !ok {
		return incident.Errorf(incident.ENotFound, "PagerDuty incident key %q is not a page of this system", e.IncidentKey)
	}
	inc, err := s.Store.GetIncident(ctx, id)
	if err != nil {
		return err
	}
	if episode > inc.Episode {
		return incident.Errorf(incident.ENotFound, "incident %s has no page with key %q", id, e.IncidentKey)
	}
	actor := "pagerduty"
	if e.Agent != "" {
		actor = "pagerduty:" + e.Agent
	}
	if episode != inc.Episode {
		slog.InfoContext(ctx, "pagerduty webhook for an earlier episode", "incidentId", id, "type", e.Type, "key", e.IncidentKey)
		return nil
	}
	if !s.paged(inc, level) {
		slog.WarnContext(ctx, "pagerduty webhook for a page never sent", "incidentId", id, "type", e.Type, "key", e.IncidentKey)
		return incident.Errorf(incident.ENotFound, "incident %s has no page with key %q", id, e.IncidentKey)
	}
	at := webhookTime(ctx, e.OccurredAt, inc.Started(), s.Clock.Now())
	// A redelivery, or PagerDuty echoing what this system told it, goes
	// through the operation too: its conflict restarts the current
	// generation and completes the timeline entry of a call cut short.
	var opErr error
	if e.Type == "incident.acknowledged" {
		_, opErr = s.acknowledgeAt(ctx, actor, id, Acknowledgement{Message: "acknowledged in PagerDuty"}, at)
	} else {
		_, opErr = s.resolveAt(ctx, actor, id, Resolution{RootCause: "not recorded: resolved in PagerDuty", Summary: "resolved in PagerDuty by " + actor}, at)
	}
	if incident.ErrorCode(opErr) == incident.EConflict {
		// Acknowledged or resolved here meanwhile: nothing left to do.
		return nil
	}
	return opErr
}

// paged reports whether the current episode of inc paged level: a level
// of the policy whose page is in the page ledger, sent or rejected, or
// claimed (being sent, or sent by a Page task that stopped before it
// recorded the outcome).
func (s *Service) paged(inc incident.Incident, level int) bool {
	if _, ok := s.Policy.Level(level); !ok {
		return false
	}
	_, ok := inc.LedgerEntry(inc.Episode, level)
	return ok
}

// webhookSkew is how far in the future a webhook's occurred_at may be,
// for PagerDuty's clock and ours to disagree, before it is logged as
// wrong; within it or beyond, a future time is recorded as now.
const webhookSkew = 30 * time.Second

// webhookTime is when a change made in PagerDuty is recorded: when it
// occurred there, but never before the episode started, nor after now (a
// time in the future, within the skew or beyond, or none at all, is now).
func webhookTime(ctx context.Context, occurred, started, now time.Time) time.Time {
	switch {
	case occurred.IsZero() || occurred.After(now):
		if occurred.After(now.Add(webhookSkew)) {
			slog.WarnContext(ctx, "pagerduty webhook occurred_at is in the future; recorded at now", "occurredAt", occurred, "now", now)
		}
		return now
	case occurred.Before(started):
		return started
	}
	return occurred
}

// entryID is the ID of the timeline entry of an API operation at time at
// with key: the same for a retried or completed call, so writing the
// entry again changes nothing, and the one its announcement names.
func entryID(at time.Time, key string) string {
	return incident.EntryID(at, "api/"+key)
}

// announce queues the timeline entry noteAt writes for an operation at
// time at with key, in the same write as the operation's change, and asks
// for a new generation when none is pending, so the entry is announced
// now, not at the escalation's next deadline.
func announce(inc *incident.Incident, at time.Time, key string) {
	inc.AnnounceNow(entryID(at, key))
}

// noteAt appends a timeline entry for an operation at time at, with the
// ID entryID gives it.
func (s *Service) noteAt(ctx context.Context, inc incident.Incident, at time.Time, actor string, kind incident.EntryKind, key, text string, data map[string]string) error {
	if _, err := s.Store.AppendTimeline(ctx, inc.ID, incident.Entry{
		ID: entryID(at, key), At: at.UTC(), Kind: kind, Actor: actor, Text: text, Data: data,
	}); err != nil {
		return fmt.Errorf("%s: record %s: %w", inc.ID, kind, err)
	}
	return nil
}
