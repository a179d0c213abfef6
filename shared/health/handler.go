package health

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/dashboarduz/incident-response/shared/incident"
)

// StateStore keeps each check's state between runs.
type StateStore interface {
	// HealthState returns the stored state of a check; a check never
	// stored is an ENotFound *incident.Error.
	HealthState(ctx context.Context, check string) (State, error)
	// PutHealthState stores s on condition that the stored version is
	// still s.Version (or that there is none, for version zero), and
	// returns s with its new version. Losing to another writer is an
	// EConflict *incident.Error.
	PutHealthState(ctx context.Context, s State) (State, error)
}

// Ingester applies a signal to the incidents; *ingest.Handler implements
// it.
type Ingester interface {
	Ingest(ctx context.Context, sig incident.Signal) (incident.Outcome, error)
}

// maxRaces bounds how often a check's state is read again after another
// run wrote it first.
const maxRaces = 5

// Handler runs every check, keeps their states and hands the signals they
// produce to ingest. It is the health-check function's handler, invoked
// by a schedule.
type Handler struct {
	Config   Config
	Checker  *Checker
	Store    StateStore
	Ingester Ingester
}

// Report says what one run did.
type Report struct {
	Checks []CheckReport `json:"checks"`
}

// CheckReport says what one check did in a run.
type CheckReport struct {
	Check    string   `json:"check"`
	OK       bool     `json:"ok"`
	Reasons  []string `json:"reasons,omitempty"`
	Failing  bool     `json:"failing"`
	Firing   bool     `json:"firing"`
	Flapping bool     `json:"flapping,omitempty"`
	// Signals are the signals handed to ingest in this run, with what
	// ingest did with them.
	Signals []SignalReport `json:"signals,omitempty"`
	// Problem says why the check's state or signal could not be kept; the
	// next run tries again.
	Problem string `json:"problem,omitempty"`
}

// SignalReport is one signal handed to ingest.
type SignalReport struct {
	EventID    string               `json:"eventId"`
	State      incident.SignalState `json:"state"`
	Route      incident.RouteKind   `json:"route"`
	IncidentID string               `json:"incidentId,omitempty"`
}

// Handle is the Lambda entry point; it takes no payload, so whatever the
// schedule sends (or nothing) is fine. It runs every check at once, then
// keeps each state and delivers each signal. A check whose state or
// signal could not be kept is reported and makes the run fail, after
// every other check has been kept: the next run is the retry, and a
// signal saved as pending is delivered then.
func (h *Handler) Handle(ctx context.Context) (Report, error) {
	results := h.Checker.CheckAll(ctx, h.Config.Checks)
	report := Report{Checks: make([]CheckReport, len(results))}
	errs := make([]error, len(results))
	var wg sync.WaitGroup
	for i, ch := range h.Config.Checks {
		wg.Go(func() { report.Checks[i], errs[i] = h.keep(ctx, ch, results[i]) })
	}
	wg.Wait()
	for i, cr := range report.Checks {
		level := slog.LevelInfo
		if errs[i] != nil {
			level = slog.LevelError
		}
		slog.Log(ctx, level, "health check", "check", cr.Check, "ok", cr.OK, "reasons", cr.Reasons,
			"failing", cr.Failing, "firing", cr.Firing, "flapping", cr.Flapping, "signals", len(cr.Signals), "problem", cr.Problem)
	}
	return report, errors.Join(errs...)
}

// keep applies one result to its check's state, delivering any signal
// left pending by an earlier run first. The state, with a new signal as
// pending, is stored before the signal goes to ingest, and the pending
// mark is cleared after: a signal is never lost, and one delivered twice
// carries one EventID, which ingest counts once.
func (h *Handler) keep(ctx context.Context, ch Check, r Result) (CheckReport, error) {
	cr := CheckReport{Check: ch.Name, OK: r.OK, Reasons: r.Reasons()}
	fail := func(err error) (CheckReport, error) {
		cr.Problem = err.Error()
		return cr, fmt.Errorf("health check %s: %w", ch.Name, err)
	}
	for range maxRaces {
		prev, err := h.Store.HealthState(ctx, ch.Name)
		switch {
		case incident.ErrorCode(err) == incident.ENotFound:
			prev = State{Check: ch.Name}
		case err != nil:
			return fail(err)
		}
		if prev.Pending != nil {
			if err := h.deliver(ctx, *prev.Pending, &cr); err != nil {
				return fail(err)
			}
			prev.Pending = nil
		}
		next, sig := Step(prev, r, ch, h.Config.Flapping)
		next.Pending = sig
		saved, err := h.Store.PutHealthState(ctx, next)
		if incident.ErrorCode(err) == incident.EConflict {
			continue
		}
		if err != nil {
			return fail(err)
		}
		cr.Failing, cr.Firing, cr.Flapping = saved.Failing, saved.Firing, saved.Flapping
		if sig == nil {
			return cr, nil
		}
		if err := h.deliver(ctx, *sig, &cr); err != nil {
			return fail(err)
		}
		saved.Pending = nil
		if _, err := h.Store.PutHealthState(ctx, saved); err != nil && incident.ErrorCode(err) != incident.EConflict {
			// The signal is delivered; a later run delivers it again under
			// the same EventID, which ingest counts once.
			return fail(err)
		}
		return cr, nil
	}
	return fail(fmt.Errorf("state still contended after %d attempts", maxRaces))
}

// deliver hands a signal to ingest and notes what ingest did.
func (h *Handler) deliver(ctx context.Context, sig incident.Signal, cr *CheckReport) error {
	res, err := h.Ingester.Ingest(ctx, sig)
	if err != nil {
		return fmt.Errorf("ingest %s: %w", sig.EventID, err)
	}
	cr.Signals = append(cr.Signals, SignalReport{EventID: sig.EventID, State: sig.State, Route: res.Route, IncidentID: res.IncidentID})
	return nil
}
