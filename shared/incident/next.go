package incident

import (
	"fmt"
	"time"
)

// Action is what the escalation state machine does next.
type Action string

// The actions Next can return.
const (
	// ActPage pages a level.
	ActPage Action = "page"
	// ActSync passes an acknowledgement or resolution on to PagerDuty for
	// the pages sent before it.
	ActSync Action = "sync"
	// ActWait sleeps until a time, then plans again.
	ActWait Action = "wait"
	// ActDone ends the escalation.
	ActDone Action = "done"
	// ActNobodyReached ends the escalation as a failure: no level of the
	// path could be paged at all.
	ActNobodyReached Action = "nobody-reached"
)

// Step is the escalation's next step.
type Step struct {
	Action    Action    `json:"action"`
	Level     int       `json:"level,omitempty"`
	LevelName string    `json:"levelName,omitempty"`
	Until     time.Time `json:"until,omitzero"`
	Reason    string    `json:"reason"`
	// HeldBy is the maintenance window that holds the pages, if one does.
	HeldBy string `json:"heldBy,omitempty"`
}

// Breach targets.
const (
	// TargetResponse is the response time: acknowledgement within the
	// severity's acknowledgeWithin.
	TargetResponse = "response"
	// TargetResolution is the resolution target.
	TargetResolution = "resolution"
)

// Breach is a missed target, recorded once per episode.
type Breach struct {
	Target  string    `json:"target"`
	At      time.Time `json:"at"`
	Episode int       `json:"episode,omitempty"`
}

// HasBreach reports whether the target's breach of the current episode is
// recorded.
func (inc *Incident) HasBreach(target string) bool {
	for _, b := range inc.Breaches {
		if b.Target == target && b.Episode == inc.Episode {
			return true
		}
	}
	return false
}

// targetDeadlines returns the current episode's response and resolution
// deadlines.
func targetDeadlines(inc Incident, p Policy) (response, resolution time.Time) {
	sp := p.For(inc.Severity)
	start := inc.Started()
	return start.Add(sp.AcknowledgeWithin.D()), start.Add(sp.ResolveWithin.D())
}

// DueBreaches returns the targets the current episode has missed by now and
// that are not recorded yet. A target is missed when its deadline passed
// before the incident was acknowledged (response) or resolved (resolution).
func DueBreaches(inc Incident, p Policy, now time.Time) []Breach {
	response, resolution := targetDeadlines(inc, p)
	var out []Breach
	missed := func(deadline, doneAt time.Time) bool {
		return !now.Before(deadline) && (doneAt.IsZero() || doneAt.After(deadline))
	}
	ackAt := inc.AcknowledgedAt
	if ackAt.IsZero() {
		ackAt = inc.ResolvedAt
	}
	if !inc.HasBreach(TargetResponse) && missed(response, ackAt) {
		out = append(out, Breach{Target: TargetResponse, At: response, Episode: inc.Episode})
	}
	if !inc.HasBreach(TargetResolution) && missed(resolution, inc.ResolvedAt) {
		out = append(out, Breach{Target: TargetResolution, At: resolution, Episode: inc.Episode})
	}
	return out
}

// RecordBreach adds a breach unless it is recorded already.
func (inc *Incident) RecordBreach(b Breach) bool {
	for _, x := range inc.Breaches {
		if x.Target == b.Target && x.Episode == b.Episode {
			return false
		}
	}
	inc.Breaches = append(inc.Breaches, b)
	return true
}

// needsSync reports whether a page must be told about the incident's
// acknowledgement or resolution, and which.
func needsSync(inc Incident, pg Page) (Status, bool) {
	if !pg.Delivered() || pg.Synced == Resolved {
		return "", false
	}
	// An earlier episode was resolved before this one began, even when
	// telling PagerDuty so was still under way at the re-opening.
	if inc.Status == Resolved || pg.Episode < inc.Episode {
		return Resolved, true
	}
	// Pages sent after the acknowledgement call in more help: whoever
	// receives them acknowledges them in PagerDuty.
	if !inc.AcknowledgedAt.IsZero() && pg.Synced == "" && !pg.At.After(inc.AcknowledgedAt) {
		return Acknowledged, true
	}
	return "", false
}

// PagesToSync returns the pages of every episode that PagerDuty must be
// told are acknowledged or resolved, with the state to send.
func PagesToSync(inc Incident) map[int]Status {
	out := map[int]Status{}
	for i, pg := range inc.Pages {
		if st, ok := needsSync(inc, pg); ok {
			out[i] = st
		}
	}
	return out
}

// due is one level the policy wants paged, and why.
type due struct {
	level  int
	reason string
}

// Next is the escalation policy as a pure function: given the incident as
// stored, the policy, the time and the service's maintenance windows, it
// returns the next step.
//
// A level is due when: it is the first level of a new episode; the latest
// page went unacknowledged past the severity's deadline (the next level,
// up to the severity's highest); the latest page could not be delivered
// (the next level); the incident's category escalates at once; an
// unresolved rule's time has come; or a responder asked for it. A due
// level is paged unless this episode already has a page at that level, or
// a delivered page at a higher one, so an acknowledged incident is never
// paged again at the same or a lower level; due levels go out one step at
// a time, lowest first. A resolved incident pages nobody; a maintenance
// window holds every page until it ends; a flapping incident's later
// episodes page only whom a responder asks for. Telling PagerDuty about an
// acknowledgement or resolution comes after any page that is due, so that
// a PagerDuty outage never delays a page behind it.
func Next(inc Incident, p Policy, now time.Time, windows []MaintenanceWindow) Step {
	sync := len(PagesToSync(inc)) > 0
	syncStep := Step{Action: ActSync, Reason: fmt.Sprintf("PagerDuty is told the incident is %s", inc.Status)}
	if inc.Status == Resolved {
		if sync {
			return syncStep
		}
		return Step{Action: ActDone, Reason: "the incident is resolved"}
	}
	sp := p.For(inc.Severity)
	start := inc.Started()
	pages := inc.EpisodePages()
	highest := p.LevelNumber(sp.HighestLevel)
	var wake []time.Time

	// Targets not yet missed are wake-up times, so breaches are recorded
	// when they happen.
	response, resolution := targetDeadlines(inc, p)
	if !inc.HasBreach(TargetResponse) && inc.AwaitsAcknowledgement() {
		wake = append(wake, response)
	}
	if !inc.HasBreach(TargetResolution) {
		wake = append(wake, resolution)
	}

	var dues []due
	add := func(level int, reason string) {
		if level >= 1 && level <= len(p.Levels) {
			dues = append(dues, due{level, reason})
		}
	}
	silenced := inc.Flapping && inc.Episode > inc.FlappingEpisode
	if !silenced {
		if len(pages) == 0 && inc.AwaitsAcknowledgement() {
			// Acknowledged before its first page (a responder reported it
			// themselves): nobody needs waking.
			reason := "a new incident pages the first level at once"
			if inc.Episode > 0 {
				reason = "the re-opened incident follows the policy afresh"
			}
			add(1, reason)
		}
		for _, c := range p.Immediate {
			if c.Category != inc.Category {
				continue
			}
			target := p.LevelNumber(c.Level)
			from := 1
			if !inc.AwaitsAcknowledgement() {
				from = target // taken on already: only the escalation itself
			}
			for l := from; l <= target; l++ {
				add(l, fmt.Sprintf("%s incidents escalate at once (runbook: %s)", c.Category, c.Rule))
			}
		}
	}
	if len(pages) > 0 {
		last := pages[len(pages)-1]
		lastLevel, _ := p.Level(last.Level)
		switch {
		case !last.Delivered():
			if !silenced && last.Level < max(highest, highestRequested(inc, p)) || silenced && last.Level < highestRequested(inc, p) {
				add(last.Level+1, fmt.Sprintf("the page to %s could not be delivered", lastLevel.Name))
			}
		case !silenced && inc.AwaitsAcknowledgement() && last.Level < highest:
			deadline := last.At.Add(sp.AcknowledgeWithin.D())
			if now.Before(deadline) {
				wake = append(wake, deadline)
			} else {
				add(last.Level+1, fmt.Sprintf("%s did not acknowledge within %s", lastLevel.Name, sp.AcknowledgeWithin.D()))
			}
		}
	}
	if !silenced {
		for _, u := range sp.Unresolved {
			n := p.LevelNumber(u.Level)
			if coveredAt(pages, n) {
				continue
			}
			at := start.Add(u.After.D())
			if now.Before(at) {
				wake = append(wake, at)
				continue
			}
			add(n, fmt.Sprintf("not resolved after %s (runbook: %s)", u.After.D(), u.Rule))
		}
	}
	for _, e := range inc.Escalations {
		if e.Episode == inc.Episode {
			add(e.Level, fmt.Sprintf("%s asked for more expertise: %s", e.By, e.Reason))
		}
	}

	var best *due
	for i, d := range dues {
		if coveredAt(pages, d.level) {
			continue
		}
		if best == nil || d.level < best.level {
			best = &dues[i]
		}
	}
	if best != nil {
		if w, ok := covering(windows, inc.Service, now); ok {
			if sync {
				return syncStep
			}
			return Step{Action: ActWait, Until: earliest(append(wake, w.End), now), HeldBy: w.ID,
				Reason: fmt.Sprintf("maintenance window %s holds the page to level %d until %s", w.ID, best.level, w.End.UTC().Format(time.RFC3339))}
		}
		l, _ := p.Level(best.level)
		return Step{Action: ActPage, Level: best.level, LevelName: l.Name, Reason: best.reason}
	}
	if sync {
		return syncStep
	}
	if len(pages) > 0 && !anyDelivered(pages) && pages[len(pages)-1].Level >= max(highest, highestRequested(inc, p)) {
		return Step{Action: ActNobodyReached, Reason: fmt.Sprintf("no level up to %s could be paged", pages[len(pages)-1].LevelName)}
	}
	if silenced {
		return waitOrDone(wake, now, fmt.Sprintf("the alarm is flapping: it paged once, when it was marked flapping in episode %d; re-openings page only whom a responder asks for", inc.FlappingEpisode), "")
	}
	return waitOrDone(wake, now, "waiting for the next deadline", "nothing more is due; the incident stays open until a responder resolves it")
}

// coveredAt reports whether a due level needs no page: this episode has a
// page at that level (delivered or not), or a delivered page above it.
func coveredAt(pages []Page, level int) bool {
	for _, pg := range pages {
		if pg.Level == level || pg.Level > level && pg.Delivered() {
			return true
		}
	}
	return false
}

// highestRequested is the highest level a responder asked for in this
// episode, so an undeliverable page on the way there goes on past the
// severity's highest level.
func highestRequested(inc Incident, p Policy) int {
	h := 0
	for _, e := range inc.Escalations {
		if e.Episode == inc.Episode {
			h = max(h, e.Level)
		}
	}
	for _, c := range p.Immediate {
		if c.Category == inc.Category {
			h = max(h, p.LevelNumber(c.Level))
		}
	}
	return h
}

func anyDelivered(pages []Page) bool {
	for _, pg := range pages {
		if pg.Delivered() {
			return true
		}
	}
	return false
}

func covering(windows []MaintenanceWindow, service string, now time.Time) (MaintenanceWindow, bool) {
	for _, w := range windows {
		if w.Covers(service, now) {
			return w, true
		}
	}
	return MaintenanceWindow{}, false
}

func wakeAfter(wake []time.Time, now time.Time) []time.Time {
	var out []time.Time
	for _, t := range wake {
		if t.After(now) {
			out = append(out, t)
		}
	}
	return out
}

// earliest returns the earliest of ts after now.
func earliest(ts []time.Time, now time.Time) time.Time {
	var e time.Time
	for _, t := range wakeAfter(ts, now) {
		if e.IsZero() || t.Before(e) {
			e = t
		}
	}
	return e
}

func waitOrDone(wake []time.Time, now time.Time, waitReason, doneReason string) Step {
	if until := earliest(wake, now); !until.IsZero() {
		return Step{Action: ActWait, Until: until, Reason: fmt.Sprintf("%s (next at %s)", waitReason, until.UTC().Format(time.RFC3339))}
	}
	if doneReason == "" {
		doneReason = waitReason
	}
	return Step{Action: ActDone, Reason: doneReason}
}
