// Package triage is the Triage task of the escalation state machine: when
// an incident's episode has paged its first level, it gathers what the
// runbook's Triage section asks a responder to look at, from every source
// configured for the incident's service and category, in parallel and
// within a bound, into one report on the timeline and in storage.
package triage

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/dashboarduz/incident-response/shared/escalation"
	"github.com/dashboarduz/incident-response/shared/incident"
)

// Store is the storage the Triage task needs.
type Store interface {
	incident.Updater
	PutTriageReport(ctx context.Context, r incident.TriageReport) error
	AppendTimeline(ctx context.Context, incidentID string, e incident.Entry) (bool, error)
}

// Source gathers one part of a report. It must return within ctx's
// deadline and say in the part why it failed rather than return an error.
type Source interface {
	Gather(ctx context.Context, inc incident.Incident) incident.TriagePart
}

// Sources picks the sources that concern an incident (its service and
// category).
type Sources interface {
	For(inc incident.Incident) []Source
}

// DefaultTimeout bounds how long a triage waits for its slowest source.
const DefaultTimeout = 20 * time.Second

// Handler is the Triage task.
type Handler struct {
	Store   Store
	Sources Sources
	Clock   incident.Clock
	// Timeout bounds the gathering; zero means DefaultTimeout.
	Timeout time.Duration
}

// Handle gathers, stores and records the triage report of the incident's
// current episode, unless it has one already.
func (h *Handler) Handle(ctx context.Context, in incident.EscalationState) (incident.EscalationState, error) {
	if in.IncidentID == "" {
		return in, &escalation.InvalidInputError{Reason: "triage: the input has no incidentId"}
	}
	inc, err := h.Store.GetIncident(ctx, in.IncidentID)
	if incident.ErrorCode(err) == incident.ENotFound {
		return in, &escalation.IncidentNotFoundError{IncidentID: in.IncidentID}
	}
	if err != nil {
		return in, fmt.Errorf("triage %s: %w", in.IncidentID, err)
	}
	if !inc.TriageDue() {
		return in, nil
	}
	report := h.gather(ctx, inc)
	if err := h.Store.PutTriageReport(ctx, report); err != nil {
		return in, fmt.Errorf("triage %s: %w", inc.ID, err)
	}
	e := reportEntry(inc, report)
	if _, err := h.Store.AppendTimeline(ctx, inc.ID, e); err != nil {
		return in, fmt.Errorf("triage %s: %w", inc.ID, err)
	}
	if _, err := incident.Update(ctx, h.Store, inc, func(cur *incident.Incident) bool {
		if cur.Episode != report.Episode || !cur.TriageDue() {
			return false
		}
		cur.Triage = &incident.TriageMark{Episode: report.Episode, At: report.At}
		cur.Announce(e.ID)
		return true
	}); err != nil {
		return in, fmt.Errorf("triage %s: %w", inc.ID, err)
	}
	slog.InfoContext(ctx, "triaged", "incidentId", inc.ID, "episode", report.Episode, "parts", len(report.Parts))
	return in, nil
}

// gather asks every source of the incident at once and waits at most the
// timeout; a source still running then is reported as timed out.
func (h *Handler) gather(ctx context.Context, inc incident.Incident) incident.TriageReport {
	report := incident.TriageReport{IncidentID: inc.ID, Episode: inc.Episode, At: h.Clock.Now()}
	var sources []Source
	if h.Sources != nil {
		sources = h.Sources.For(inc)
	}
	timeout := h.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	report.Parts = make([]incident.TriagePart, len(sources))
	var wg sync.WaitGroup
	for i, s := range sources {
		wg.Go(func() { report.Parts[i] = s.Gather(ctx, inc) })
	}
	wg.Wait()
	return report
}

// reportEntry is the report's timeline entry: one line per part.
func reportEntry(inc incident.Incident, r incident.TriageReport) incident.Entry {
	var b strings.Builder
	if len(r.Parts) == 0 {
		fmt.Fprintf(&b, "Triage: no triage sources are configured for %s (%s).", inc.Service, inc.Category)
	} else {
		fmt.Fprintf(&b, "Triage of %s (%s):", inc.Service, inc.Category)
		for _, p := range r.Parts {
			line := p.Summary
			if p.Error != "" {
				line = "could not be gathered: " + p.Error
			}
			fmt.Fprintf(&b, "\n- %s (%s): %s", p.Name, p.Source, line)
		}
	}
	return incident.Entry{
		ID: incident.EntryID(r.At, fmt.Sprintf("triage/%d", r.Episode)), At: r.At, Kind: incident.EntryTriage, Actor: "triage",
		Text: b.String(), Data: map[string]string{"episode": fmt.Sprint(r.Episode), "parts": fmt.Sprint(len(r.Parts))},
	}
}
