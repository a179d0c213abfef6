package statuspage

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/dashboarduz/incident-response/shared/incident"
)

// Store is the incident storage the page is read from; the DynamoDB
// adapter (shared/dynamo's Store) implements it.
type Store interface {
	// PublishedIncidents returns the incidents with a public title that
	// are open or were opened at or after since, reading at most limit
	// incident items; complete is false when it stopped there.
	PublishedIncidents(ctx context.Context, since time.Time, limit int) (incidents []incident.Incident, complete bool, err error)
	// PublicUpdates returns the status-update entries of an incident that
	// a responder marked public.
	PublicUpdates(ctx context.Context, id string) ([]incident.Entry, error)
}

// StoreSource defaults.
const (
	// DefaultReadLimit bounds the incident items one build of the page
	// reads: 90 days of a busy team's incidents, yet a bounded read
	// however many the table holds. Past it the newest incidents are
	// shown, and the history's oldest days may miss some (logged).
	DefaultReadLimit = 1000
	// DefaultConcurrency bounds the timeline reads in flight at once.
	DefaultConcurrency = 8
	// Lookback widens the read of the history to incidents opened up to
	// a week before it, the longest resolution target of the runbook
	// (P3), so that one opened just before the history and resolved
	// within it is still shown.
	Lookback = 7 * 24 * time.Hour
)

// ResolvedMessage is the update the public sees at a resolution: the
// root cause and the resolution summary are internal.
const ResolvedMessage = "This incident has been resolved."

// StoreSource is the page's Source over the incident storage: the open
// incidents and those of the history that a responder published, each
// with its public updates and, once resolved, a resolved update. Nothing
// else of an incident leaves this type (see FromIncident).
type StoreSource struct {
	Store Store
	// ReadLimit bounds the incident items read; DefaultReadLimit when
	// zero.
	ReadLimit int
	// Concurrency bounds the timeline reads at once; DefaultConcurrency
	// when zero.
	Concurrency int
}

// PublicIncidents reads the published incidents open or opened since
// (less Lookback), and the public updates of each.
func (s StoreSource) PublicIncidents(ctx context.Context, since time.Time) ([]Incident, error) {
	limit := s.ReadLimit
	if limit <= 0 {
		limit = DefaultReadLimit
	}
	incs, complete, err := s.Store.PublishedIncidents(ctx, since.Add(-Lookback), limit)
	if err != nil {
		return nil, err
	}
	if !complete {
		slog.WarnContext(ctx, "status page: read limit reached; the oldest incidents of the history are left out", "limit", limit, "published", len(incs))
	}
	updates, err := s.updates(ctx, incs)
	if err != nil {
		return nil, err
	}
	out := make([]Incident, 0, len(incs))
	for i, inc := range incs {
		if pi, ok := FromIncident(inc, updates[i]); ok {
			out = append(out, pi)
		}
	}
	return out, nil
}

// updates reads each incident's public updates, a bounded number at once.
func (s StoreSource) updates(ctx context.Context, incs []incident.Incident) ([][]incident.Entry, error) {
	n := s.Concurrency
	if n <= 0 {
		n = DefaultConcurrency
	}
	out := make([][]incident.Entry, len(incs))
	errs := make([]error, len(incs))
	sem := make(chan struct{}, n)
	var wg sync.WaitGroup
	for i, inc := range incs {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			if ctx.Err() != nil {
				errs[i] = ctx.Err()
				return
			}
			out[i], errs[i] = s.Store.PublicUpdates(ctx, inc.ID)
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("public updates of %s: %w", incs[i].ID, err)
		}
	}
	return out, nil
}

// FromIncident is what the public may know of a stored incident: its
// public title, the impact its severity implies, its status, service and
// times, the message of each status update marked public, and a resolved
// update at its resolution. Everything else (the internal title, the
// alarm, summaries, descriptions, root cause, resolution notes, the
// updates' actions and ETAs, who did what, every other timeline entry)
// is left behind. An incident without a public title is not public:
// false.
func FromIncident(inc incident.Incident, entries []incident.Entry) (Incident, bool) {
	title := strings.TrimSpace(inc.PublicTitle)
	if title == "" {
		return Incident{}, false
	}
	out := Incident{
		ID: inc.ID, Title: title, Severity: inc.Severity, Status: inc.Status, Service: inc.Service,
		StartedAt: inc.OpenedAt,
	}
	for _, e := range entries {
		if e.Kind != incident.EntryStatusUpdate || e.Data[incident.DataPublic] != "true" {
			continue
		}
		msg := strings.TrimSpace(e.Data["message"])
		if msg == "" {
			continue
		}
		out.Updates = append(out.Updates, Update{At: e.At, Status: incident.Status(e.Data["status"]), Message: msg})
	}
	if inc.Status == incident.Resolved && !inc.ResolvedAt.IsZero() {
		out.ResolvedAt = inc.ResolvedAt
		out.Updates = append(out.Updates, Update{At: inc.ResolvedAt, Status: incident.Resolved, Message: ResolvedMessage})
	}
	return out, true
}
