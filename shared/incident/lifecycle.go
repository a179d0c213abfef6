package incident

import (
	"fmt"
	"strings"
	"time"
)

// The operations below change an incident in memory; the caller stores it
// with a conditional update and, because each one can move an escalation
// deadline or needs PagerDuty told, starts the escalation's new
// generation.

// Acknowledge records that by has taken the incident on.
func (inc *Incident) Acknowledge(by string, at time.Time) error {
	if err := inc.Status.Transition(Acknowledged); err != nil {
		return err
	}
	inc.Status = Acknowledged
	inc.AcknowledgedAt, inc.AcknowledgedBy = at.UTC(), by
	inc.Generation++
	return nil
}

// UpdateStatus records a responder's status update. An update to an
// incident nobody has acknowledged acknowledges it: somebody is on it.
func (inc *Incident) UpdateStatus(st Status, by string, at time.Time) error {
	if err := inc.Status.Transition(st); err != nil {
		return err
	}
	if inc.AcknowledgedAt.IsZero() {
		inc.AcknowledgedAt, inc.AcknowledgedBy = at.UTC(), by
		inc.Generation++
	}
	inc.Status = st
	return nil
}

// Resolve closes the incident with its root cause.
func (inc *Incident) Resolve(by, rootCause, summary string, at time.Time) error {
	if err := inc.Status.Transition(Resolved); err != nil {
		return err
	}
	if strings.TrimSpace(rootCause) == "" {
		return FieldErrorf("rootCause", "rootCause is required to resolve an incident")
	}
	inc.Status = Resolved
	inc.ResolvedAt, inc.ResolvedBy = at.UTC(), by
	inc.RootCause, inc.Resolution = rootCause, summary
	inc.Generation++
	return nil
}

// ChangeSeverity sets a new severity; the escalation re-plans with its
// deadlines.
func (inc *Incident) ChangeSeverity(s Severity) error {
	if !inc.Status.Open() {
		return Errorf(EConflict, "incident is resolved; its severity can no longer change")
	}
	if s == inc.Severity {
		return Errorf(EConflict, "incident is already %s", s)
	}
	inc.Severity = s
	inc.Generation++
	return nil
}

// RequestEscalation asks for a level to be paged now: the named one, or
// the next above the highest reached in this episode when name is empty. A
// level whose page could not be delivered may be asked for again (after
// its routing key is fixed): its failed page is dropped from the incident
// (the timeline keeps it) so that it is paged anew.
func (inc *Incident) RequestEscalation(p Policy, name, by, reason string, at time.Time) (EscalationRequest, error) {
	if !inc.Status.Open() {
		return EscalationRequest{}, Errorf(EConflict, "incident is resolved; there is nobody to escalate to")
	}
	reached := 0
	for _, pg := range inc.EpisodePages() {
		if pg.Delivered() {
			reached = max(reached, pg.Level)
		}
	}
	n := reached + 1
	if name != "" {
		if n = p.LevelNumber(name); n == 0 {
			return EscalationRequest{}, FieldErrorf("level", "level %q is not in the escalation path %s", name, levelNames(p))
		}
		if n <= reached {
			return EscalationRequest{}, Errorf(EConflict, "level %s was already paged for this incident (highest level reached: %d)", name, reached)
		}
	}
	l, ok := p.Level(n)
	if !ok {
		return EscalationRequest{}, Errorf(EConflict, "every level of the escalation path has been reached; there is nobody higher to escalate to")
	}
	failed := false
	kept := inc.Pages[:0:0]
	for _, pg := range inc.Pages {
		if pg.Episode == inc.Episode && pg.Level == n && pg.State == PageRejected {
			failed = true
			continue
		}
		kept = append(kept, pg)
	}
	if !failed {
		for _, e := range inc.Escalations {
			if e.Episode == inc.Episode && e.Level == n {
				return EscalationRequest{}, Errorf(EConflict, "an escalation to %s is already under way", l.Name)
			}
		}
	}
	inc.Pages = kept
	e := EscalationRequest{Episode: inc.Episode, Level: n, LevelName: l.Name, At: at.UTC(), By: by, Reason: reason}
	inc.Escalations = append(inc.Escalations, e)
	inc.Generation++
	return e, nil
}

func levelNames(p Policy) string {
	var names []string
	for _, l := range p.Levels {
		names = append(names, l.Name)
	}
	return "(" + strings.Join(names, ", ") + ")"
}

// Reopen starts a new episode of a resolved incident whose alarm fired
// again at time at. It reports whether the alarm is now marked flapping.
func (inc *Incident) Reopen(p Policy, at time.Time) (markedFlapping bool) {
	inc.Status = Triggered
	inc.Episode++
	inc.EpisodeStart = at.UTC()
	inc.AcknowledgedAt, inc.AcknowledgedBy = time.Time{}, ""
	inc.ResolvedAt, inc.ResolvedBy, inc.RootCause, inc.Resolution = time.Time{}, "", "", ""
	inc.Generation++
	return inc.NoteFlap(p, at)
}

// NoteFlap records that the alarm fired again after recovering, at time
// at, and marks the incident flapping when that happened more than the
// policy's threshold within its window. It reports whether it was marked
// flapping just now.
func (inc *Incident) NoteFlap(p Policy, at time.Time) bool {
	at = at.UTC()
	kept := inc.Flaps[:0:0]
	for _, t := range inc.Flaps {
		if at.Sub(t) < p.Flapping.Window.D() && !t.Equal(at) {
			kept = append(kept, t)
		}
	}
	inc.Flaps = append(kept, at)
	flapping := len(inc.Flaps) > p.Flapping.Threshold
	marked := flapping && !inc.Flapping
	if marked {
		inc.FlappingEpisode, inc.FlappingAt = inc.Episode, at
	}
	inc.Flapping = flapping
	return marked
}

// FlappingText explains the flapping mark for the timeline.
func FlappingText(p Policy, inc Incident) string {
	return fmt.Sprintf("The alarm is flapping: it fired again after recovering %d times within %s (threshold %d). This episode pages as usual; later re-openings page nobody until it calms down.",
		len(inc.Flaps), p.Flapping.Window.D(), p.Flapping.Threshold)
}
