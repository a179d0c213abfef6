package health

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/dashboarduz/incident-response/shared/incident"
)

// SignalSource is the Source of every signal a health check produces.
const SignalSource = "health-check"

// keptResults is how many of its latest results a state keeps.
const keptResults = 5

// State is what is kept of a check between runs: its streaks, what it has
// reported, its recent transitions and results.
type State struct {
	Check string `json:"check"`
	// Failing is the check's own verdict after its thresholds.
	Failing bool `json:"failing"`
	// Firing is what was last reported: true after a Firing signal, false
	// after a Recovered one. While flapping it stays true.
	Firing               bool `json:"firing"`
	ConsecutiveFailures  int  `json:"consecutiveFailures"`
	ConsecutiveSuccesses int  `json:"consecutiveSuccesses"`
	// Transitions are the times Failing changed within the flap window.
	Transitions []time.Time `json:"transitions,omitempty"`
	// Flapping is set while the check changes too often; FlappingSince is
	// when it was marked.
	Flapping      bool      `json:"flapping,omitempty"`
	FlappingSince time.Time `json:"flappingSince,omitzero"`
	// LastResults are the latest results, oldest first.
	LastResults []Result `json:"lastResults,omitempty"`
	// Pending is a signal produced but not yet accepted by ingest; the
	// next run delivers it first, with the same EventID.
	Pending *incident.Signal `json:"pending,omitempty"`
	// Version is the stored version this state was read at; zero for a
	// check never stored. The store writes Version+1 on condition that
	// Version is still current.
	Version int64 `json:"version"`
}

// Step is the pure state transition of a check: given the kept state, a
// new result, the check and the flap policy, it returns the new state and
// the signal to hand to ingest, if this result crosses a threshold.
//
//   - FailureThreshold failures in a row fire (a Firing signal with the
//     check's category and severity); SuccessThreshold passes in a row
//     recover (a Recovered signal).
//   - A check whose verdict changed Threshold times within the flap window
//     is flapping: it fires once, saying so, and stays firing without
//     another signal until its verdict has not changed for a whole
//     window; then a pass recovers it, and a failure leaves it firing.
//
// Every signal has the DedupKey health-check:<name> and an EventID naming
// the check, the state and the result's time, unique per transition.
func Step(prev State, r Result, c Check, p FlapPolicy) (State, *incident.Signal) {
	s, changed := count(prev, r, c, p)
	switch {
	case !s.Flapping && changed && len(s.Transitions) >= p.Threshold:
		s.Flapping, s.FlappingSince, s.Firing = true, r.At, true
		sig := signal(c, r, s, incident.Firing)
		sig.Reason = fmt.Sprintf("The check is flapping: it changed between failing and passing %d times within %s. It is reported as one ongoing incident until it has been stable for %s. Latest: %s",
			len(s.Transitions), p.Window.D(), p.Window.D(), latest(r))
		return s, &sig
	case s.Flapping:
		return calmDown(s, r, c, p)
	case changed && s.Failing && !s.Firing:
		s.Firing = true
		sig := signal(c, r, s, incident.Firing)
		return s, &sig
	case changed && !s.Failing && s.Firing:
		s.Firing = false
		sig := signal(c, r, s, incident.Recovered)
		return s, &sig
	}
	return s, nil
}

// count adds a result to the state: the results kept, the consecutive
// counts, whether the check is failing by its thresholds, and the
// transitions within the flap window. It reports whether the verdict
// changed.
func count(prev State, r Result, c Check, p FlapPolicy) (State, bool) {
	s := prev
	s.Check = c.Name
	s.LastResults = append(append([]Result(nil), prev.LastResults...), r)
	if len(s.LastResults) > keptResults {
		s.LastResults = s.LastResults[len(s.LastResults)-keptResults:]
	}
	if r.OK {
		s.ConsecutiveSuccesses, s.ConsecutiveFailures = s.ConsecutiveSuccesses+1, 0
	} else {
		s.ConsecutiveFailures, s.ConsecutiveSuccesses = s.ConsecutiveFailures+1, 0
	}
	failing := s.Failing
	switch {
	case !failing && s.ConsecutiveFailures >= c.FailureThreshold:
		failing = true
	case failing && s.ConsecutiveSuccesses >= c.SuccessThreshold:
		failing = false
	}
	changed := failing != s.Failing
	s.Failing = failing
	s.Transitions = recent(prev.Transitions, r.At, p.Window.D())
	if changed {
		s.Transitions = append(s.Transitions, r.At)
	}
	return s, changed
}

// calmDown ends a flapping spell once the verdict has not changed for a
// whole window: a pass then recovers the check, a failure leaves it
// firing.
func calmDown(s State, r Result, c Check, p FlapPolicy) (State, *incident.Signal) {
	if len(s.Transitions) > 0 {
		return s, nil
	}
	s.Flapping, s.FlappingSince = false, time.Time{}
	if s.Failing || !s.Firing {
		return s, nil
	}
	s.Firing = false
	sig := signal(c, r, s, incident.Recovered)
	sig.Reason = fmt.Sprintf("The check has been stable for %s after flapping and passes: %s", p.Window.D(), latest(r))
	return s, &sig
}

// recent keeps the times within window before now.
func recent(ts []time.Time, now time.Time, window time.Duration) []time.Time {
	var kept []time.Time
	for _, t := range ts {
		if now.Sub(t) < window {
			kept = append(kept, t)
		}
	}
	return kept
}

// signal builds the signal a transition of check c produces.
func signal(c Check, r Result, s State, state incident.SignalState) incident.Signal {
	sig := incident.Signal{
		Source:   SignalSource,
		EventID:  fmt.Sprintf("%s:%s/%s@%s", SignalSource, c.Name, state, r.At.UTC().Format(time.RFC3339Nano)),
		DedupKey: SignalSource + ":" + c.Name,
		Service:  c.Service,
		Category: c.Category,
		Severity: c.Severity,
		Time:     r.At.UTC(),
		State:    state,
		Details: map[string]string{
			"check":                c.Name,
			"url":                  c.URL,
			"method":               c.Method,
			"consecutiveFailures":  strconv.Itoa(s.ConsecutiveFailures),
			"consecutiveSuccesses": strconv.Itoa(s.ConsecutiveSuccesses),
			"responseTimeMs":       strconv.FormatInt(r.ResponseTimeMS, 10),
		},
	}
	if r.Status != 0 {
		sig.Details["status"] = strconv.Itoa(r.Status)
	}
	if s.Flapping {
		sig.Details["flapping"] = "true"
	}
	if reasons := r.Reasons(); len(reasons) > 0 {
		sig.Details["failures"] = strings.Join(reasons, "; ")
	}
	if state == incident.Firing {
		sig.Summary = fmt.Sprintf("Health check %s is failing", c.Name)
		sig.Reason = fmt.Sprintf("%d failures in a row (threshold %d): %s", s.ConsecutiveFailures, c.FailureThreshold, latest(r))
	} else {
		sig.Summary = fmt.Sprintf("Health check %s passes again", c.Name)
		sig.Reason = fmt.Sprintf("%d passes in a row (threshold %d): %s", s.ConsecutiveSuccesses, c.SuccessThreshold, latest(r))
	}
	return sig
}

// latest says in words what the latest result was.
func latest(r Result) string {
	if reasons := r.Reasons(); len(reasons) > 0 {
		return strings.Join(reasons, "; ")
	}
	return fmt.Sprintf("status %d in %dms, every condition holds", r.Status, r.ResponseTimeMS)
}
