package drill

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/metrics"
)

// Alarm is the drill's CloudWatch alarm.
type Alarm interface {
	// Raise sets the alarm to ALARM, as a real breach would; CloudWatch
	// then emits the state change that the ingest rule routes.
	Raise(ctx context.Context, reason string) error
}

// Incidents reads the incidents the drill follows; shared/dynamo's Store
// implements it.
type Incidents interface {
	OpenIncidentID(ctx context.Context, dedupKey string) (string, bool, error)
	GetIncident(ctx context.Context, id string) (incident.Incident, error)
}

// Escalations tells whether an incident's escalation has started.
type Escalations interface {
	EscalationStarted(ctx context.Context, incidentID string, generation int) (bool, error)
}

// Resolver resolves an incident as a responder would, so that the
// escalation tells PagerDuty; shared/response's Service does the work.
type Resolver interface {
	Resolve(ctx context.Context, incidentID, rootCause string) error
}

// ResolverFunc adapts a function to Resolver.
type ResolverFunc func(ctx context.Context, incidentID, rootCause string) error

// Resolve calls f.
func (f ResolverFunc) Resolve(ctx context.Context, incidentID, rootCause string) error {
	return f(ctx, incidentID, rootCause)
}

// Log keeps the drills' records.
type Log interface {
	RecordDrill(ctx context.Context, r Record) error
}

// Default time limits of the hops, counted from when the previous hop was
// seen done. EventBridge delivers within seconds and PagerDuty answers
// within a second; the limits leave room for the retries each hop makes
// (EventBridge's, the state machine's on a 429 or a 5xx) without hiding an
// outage.
const (
	DefaultStoredWithin    = 2 * time.Minute
	DefaultEscalatedWithin = time.Minute
	DefaultPagedWithin     = 3 * time.Minute
	DefaultResolvedWithin  = 3 * time.Minute
	// DefaultPollEvery is how often a hop is looked at.
	DefaultPollEvery = 2 * time.Second
	// clockSkew is how much earlier than the drill's start the incident's
	// opening may be stamped: the signal's time is CloudWatch's clock.
	clockSkew = time.Minute
)

// MaxDuration bounds a whole drill with the default limits; the function
// running it needs a longer timeout.
const MaxDuration = DefaultStoredWithin + DefaultEscalatedWithin + DefaultPagedWithin + DefaultResolvedWithin + time.Minute

// rootCause is what the drill writes when it resolves its incident.
const rootCause = "Fire drill: a synthetic incident the system raised on its test service to prove it can still page."

// Drill runs fire drills. The zero durations take the defaults.
type Drill struct {
	Alarm       Alarm
	Incidents   Incidents
	Escalations Escalations
	Resolver    Resolver
	Log         Log
	Clock       incident.Clock
	// Sleep waits between looks at a hop; it returns ctx's error when ctx
	// ends first.
	Sleep func(ctx context.Context, d time.Duration) error
	// AlarmARN is the drill alarm's ARN: the dedup key of its signals.
	AlarmARN string
	// Function names the function running the drill, the dimension of its
	// metrics.
	Function string

	StoredWithin, EscalatedWithin, PagedWithin, ResolvedWithin, PollEvery time.Duration
}

// Sleep is the wall-clock Sleep for Drill.Sleep: incident.Sleep.
func Sleep(ctx context.Context, d time.Duration) error { return incident.Sleep(ctx, d) }

// run is one drill in progress.
type run struct {
	d     *Drill
	start time.Time
	rec   Record
	// since is when the previous hop was seen done: each hop's limit runs
	// from it.
	since time.Time
}

// Run runs one drill and records it. A drill that fails a hop is a result,
// not an error: it is recorded and emitted, and the heartbeat raises the
// alarm. The error is for a drill that could not be recorded.
func (d *Drill) Run(ctx context.Context) (Record, error) {
	start := d.Clock.Now()
	r := &run{d: d, start: start, since: start, rec: Record{ID: recordID(start), StartedAt: start}}
	slog.InfoContext(ctx, "fire drill started", "drillId", r.rec.ID)

	if r.clearEarlier(ctx) && r.raise(ctx) {
		var inc incident.Incident
		if r.stored(ctx, &inc) && r.escalated(ctx, inc) {
			r.paged(ctx, inc.ID)
		}
	}
	// Resolve whatever incident the drill opened, even after a failed hop,
	// so that the test service is left clean for the next drill.
	r.resolve(ctx)

	r.rec.FinishedAt = d.Clock.Now()
	r.rec.Passed = len(r.rec.Hops) == len(Hops)
	for _, h := range r.rec.Hops {
		r.rec.Passed = r.rec.Passed && h.OK
	}
	d.emit(ctx, r.rec)
	if hop, why := r.rec.Failure(); hop != "" {
		slog.ErrorContext(ctx, "fire drill failed", "drillId", r.rec.ID, "incidentId", r.rec.IncidentID, "hop", hop, "error", why)
	} else {
		slog.InfoContext(ctx, "fire drill passed", "drillId", r.rec.ID, "incidentId", r.rec.IncidentID, "seconds", r.rec.FinishedAt.Sub(start).Seconds())
	}
	// The record is written with a context of its own: a drill cut short
	// by the function's deadline must still say so.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := d.Log.RecordDrill(rctx, r.rec); err != nil {
		return r.rec, fmt.Errorf("record fire drill %s: %w", r.rec.ID, err)
	}
	return r.rec, nil
}

// hop records a hop's outcome at now.
func (r *run) hop(name string, err error) bool {
	now := r.d.Clock.Now()
	h := Hop{Name: name, OK: err == nil, Seconds: now.Sub(r.start).Seconds()}
	if err != nil {
		h.Error = err.Error()
	}
	r.rec.Hops = append(r.rec.Hops, h)
	r.since = now
	return h.OK
}

// clearEarlier resolves an incident of an earlier drill that is still
// open: the drill's alarm would otherwise join it and page nobody. Failing
// to is the first hop's failure.
func (r *run) clearEarlier(ctx context.Context) bool {
	id, found, err := r.d.Incidents.OpenIncidentID(ctx, r.d.AlarmARN)
	if err == nil && found {
		var inc incident.Incident
		inc, err = r.d.Incidents.GetIncident(ctx, id)
		if err == nil && inc.Status != incident.Resolved {
			if err = r.d.Resolver.Resolve(ctx, id, rootCause+" It was left open by an earlier drill."); err == nil {
				r.rec.Cleared = id
				slog.WarnContext(ctx, "fire drill resolved an earlier drill's incident", "incidentId", id)
			}
		}
	}
	if err != nil {
		return r.hop(HopAccepted, fmt.Errorf("resolve the incident an earlier drill left open: %w", err))
	}
	return true
}

// raise sets the drill's alarm to ALARM.
func (r *run) raise(ctx context.Context) bool {
	err := r.d.Alarm.Raise(ctx, fmt.Sprintf("Fire drill %s: a synthetic breach to prove the system can still page.", r.rec.ID))
	if err != nil {
		err = fmt.Errorf("raise the drill alarm: %w", err)
	}
	return r.hop(HopAccepted, err)
}

// errNotYet says a hop is not done yet; poll keeps looking.
var errNotYet = errors.New("not yet")

// poll calls look until it returns nil, a final error (anything but
// errNotYet or a transient failure, which it keeps looking past), or the
// hop's limit passes. The hop's error then says what was last seen.
func (r *run) poll(ctx context.Context, name string, within time.Duration, look func() (final bool, err error)) bool {
	every := orDefault(r.d.PollEvery, DefaultPollEvery)
	deadline := r.since.Add(within)
	for {
		final, err := look()
		if err == nil || final {
			return r.hop(name, err)
		}
		if !r.d.Clock.Now().Before(deadline) {
			return r.hop(name, fmt.Errorf("not seen within %s: %w", within, err))
		}
		if serr := r.d.Sleep(ctx, every); serr != nil {
			return r.hop(name, fmt.Errorf("cut short after %s: %w", r.d.Clock.Now().Sub(r.since).Round(time.Second), err))
		}
	}
}

// stored waits for the incident the alarm opened: the one the alarm's
// pointer names, open, and opened (or re-opened) by this drill.
func (r *run) stored(ctx context.Context, out *incident.Incident) bool {
	return r.poll(ctx, HopStored, orDefault(r.d.StoredWithin, DefaultStoredWithin), func() (bool, error) {
		id, found, err := r.d.Incidents.OpenIncidentID(ctx, r.d.AlarmARN)
		if err != nil {
			return false, err
		}
		if !found {
			return false, fmt.Errorf("%w: no incident for the drill alarm", errNotYet)
		}
		inc, err := r.d.Incidents.GetIncident(ctx, id)
		if err != nil {
			return false, err
		}
		if inc.Status == incident.Resolved || inc.Started().Before(r.start.Add(-clockSkew)) {
			return false, fmt.Errorf("%w: the drill alarm's incident %s is from an earlier drill", errNotYet, id)
		}
		r.rec.IncidentID = id
		*out = inc
		return false, nil
	})
}

// escalated waits for the incident's escalation execution.
func (r *run) escalated(ctx context.Context, inc incident.Incident) bool {
	return r.poll(ctx, HopEscalated, orDefault(r.d.EscalatedWithin, DefaultEscalatedWithin), func() (bool, error) {
		ok, err := r.d.Escalations.EscalationStarted(ctx, inc.ID, inc.Generation)
		if err != nil {
			return false, err
		}
		if !ok {
			return false, fmt.Errorf("%w: no escalation execution for %s generation %d", errNotYet, inc.ID, inc.Generation)
		}
		return false, nil
	})
}

// paged waits for the first level's page of the incident's current
// episode. A page recorded as undeliverable fails the hop at once.
func (r *run) paged(ctx context.Context, id string) bool {
	return r.poll(ctx, HopPaged, orDefault(r.d.PagedWithin, DefaultPagedWithin), func() (bool, error) {
		inc, err := r.d.Incidents.GetIncident(ctx, id)
		if err != nil {
			return false, err
		}
		page, ok := inc.PageFor(1)
		switch {
		case !ok:
			return false, fmt.Errorf("%w: no page recorded for level 1 of %s", errNotYet, id)
		case !page.Delivered():
			return true, fmt.Errorf("the page to level 1 (%s) was not delivered: %s", page.LevelName, page.Failure)
		}
		return false, nil
	})
}

// resolve resolves the drill's incident and waits until PagerDuty has been
// told that each of its pages is resolved. Without an incident there is
// nothing to resolve and the hop is not recorded: the drill failed earlier.
func (r *run) resolve(ctx context.Context) {
	id := r.rec.IncidentID
	if id == "" {
		return
	}
	// Resolving must not depend on the hops before it having had time left.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), orDefault(r.d.ResolvedWithin, DefaultResolvedWithin)+30*time.Second)
	defer cancel()
	if err := r.d.Resolver.Resolve(ctx, id, rootCause); err != nil {
		r.hop(HopResolved, fmt.Errorf("resolve %s: %w", id, err))
		return
	}
	r.poll(ctx, HopResolved, orDefault(r.d.ResolvedWithin, DefaultResolvedWithin), func() (bool, error) {
		inc, err := r.d.Incidents.GetIncident(ctx, id)
		if err != nil {
			return false, err
		}
		for _, p := range inc.EpisodePages() {
			if p.Delivered() && p.Synced != incident.Resolved {
				return false, fmt.Errorf("%w: PagerDuty not yet told that the page to level %d is resolved", errNotYet, p.Level)
			}
		}
		return false, nil
	})
}

// emit writes the drill's metrics: each hop's time and outcome, and
// whether the drill passed.
func (d *Drill) emit(ctx context.Context, rec Record) {
	fn := metrics.Dimension{Name: metrics.DimensionFunction, Value: d.Function}
	for _, h := range rec.Hops {
		hop := metrics.Dimension{Name: metrics.DimensionHop, Value: h.Name}
		failed := 0.0
		if !h.OK {
			failed = 1
		} else {
			metrics.Emit(ctx, metrics.FireDrillHopSeconds, h.Seconds, "Seconds", fn, hop)
		}
		metrics.Emit(ctx, metrics.FireDrillHopFailed, failed, "Count", fn, hop)
	}
	passed := 0.0
	if rec.Passed {
		passed = 1
	}
	metrics.Emit(ctx, metrics.FireDrillPassed, passed, "Count", fn)
}

// orDefault returns d, or def when d is not positive.
func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}
