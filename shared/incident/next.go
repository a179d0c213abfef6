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
// acknowledgement or resolution, and which. A claimed page counts as
// possibly delivered: leaving an alert open is worse than telling
// PagerDuty about a dedup key it never saw.
func needsSync(inc Incident, pg Page) (Status, bool) {
	if !pg.MayHaveReached() || pg.Synced == Resolved {
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
// told are acknowledged or resolved, by index in inc.Pages, with the state
// to send.
func PagesToSync(inc Incident) map[int]Status {
	out := map[int]Status{}
	for i, pg := range inc.Pages {
		if st, ok := needsSync(inc, pg); ok {
			out[i] = st
		}
	}
	return out
}

// due is one level the policy wants paged, and why. A requested level
// (a responder asked for it) is never held by a maintenance window.
type due struct {
	level     int
	reason    string
	requested bool
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
// window holds every page until it ends, except a level a responder asked
// for and the pages of P0 security and data-loss incidents; a flapping
// incident's later episodes page only whom a responder asks for. Telling
// PagerDuty about an acknowledgement or resolution comes after any page
// that is due, so that a PagerDuty outage never delays a page behind it.
func Next(inc Incident, p Policy, now time.Time, windows []MaintenanceWindow) Step {
	e := newEvaluation(inc, p, now)
	if inc.Status == Resolved {
		if e.sync {
			return e.syncStep()
		}
		if s, ok := e.followUp(); ok {
			return s
		}
		return waitOrDone(e.wake, now, "waiting for the post-mortem's next reminder", "the incident is resolved")
	}
	if best, ok := e.lowestDue(); ok {
		return e.pageOrHold(best, windows)
	}
	return e.idle()
}

// evaluation is one run of Next: the facts every rule reads, the levels
// found due and the times to wake up at.
type evaluation struct {
	inc      Incident
	p        Policy
	sp       SeverityPolicy
	now      time.Time
	pages    []Page
	highest  int
	silenced bool
	sync     bool
	dues     []due
	wake     []time.Time
}

func newEvaluation(inc Incident, p Policy, now time.Time) *evaluation {
	sp := p.For(inc.Severity)
	return &evaluation{
		inc: inc, p: p, sp: sp, now: now,
		pages:    inc.EpisodePages(),
		highest:  p.LevelNumber(sp.HighestLevel),
		silenced: inc.Flapping && inc.Episode > inc.FlappingEpisode,
		sync:     len(PagesToSync(inc)) > 0,
	}
}

// add marks a level of the policy due.
func (e *evaluation) add(level int, reason string, requested bool) {
	if level >= 1 && level <= len(e.p.Levels) {
		e.dues = append(e.dues, due{level, reason, requested})
	}
}

// collect runs every rule of the runbook's policy; each adds the levels it
// finds due and the times it must look again.
func (e *evaluation) collect() {
	e.targetWakes()
	if !e.silenced {
		e.firstPage()
		e.immediateCategories()
	}
	e.lastPageRules()
	if !e.silenced {
		e.unresolvedRules()
	}
	e.requestedLevels()
}

// targetWakes wakes the escalation at the targets not yet missed, so
// breaches are recorded when they happen.
func (e *evaluation) targetWakes() {
	response, resolution := targetDeadlines(e.inc, e.p)
	if !e.inc.HasBreach(TargetResponse) && e.inc.AwaitsAcknowledgement() {
		e.wake = append(e.wake, response)
	}
	if !e.inc.HasBreach(TargetResolution) {
		e.wake = append(e.wake, resolution)
	}
}

// firstPage: a new (or re-opened) incident pages the first level at once,
// unless a responder took it on before its first page.
func (e *evaluation) firstPage() {
	if len(e.pages) > 0 || !e.inc.AwaitsAcknowledgement() {
		return
	}
	reason := "a new incident pages the first level at once"
	if e.inc.Episode > 0 {
		reason = "the re-opened incident follows the policy afresh"
	}
	e.add(1, reason, false)
}

// immediateCategories: security and data-loss incidents page every level
// up to the rule's at once; once taken on, only the rule's level itself.
func (e *evaluation) immediateCategories() {
	for _, c := range e.p.Immediate {
		if c.Category != e.inc.Category {
			continue
		}
		target := e.p.LevelNumber(c.Level)
		from := 1
		if !e.inc.AwaitsAcknowledgement() {
			from = target
		}
		for l := from; l <= target; l++ {
			e.add(l, fmt.Sprintf("%s incidents escalate at once (runbook: %s)", c.Category, c.Rule), false)
		}
	}
}

// lastPageRules: an undeliverable page moves on to the next level at once;
// an unacknowledged one does when its deadline passes.
func (e *evaluation) lastPageRules() {
	if len(e.pages) == 0 {
		return
	}
	last := e.pages[len(e.pages)-1]
	lastLevel, _ := e.p.Level(last.Level)
	requested := highestRequested(e.inc, e.p)
	switch {
	case !last.Delivered():
		if !e.silenced && last.Level < max(e.highest, requested) || e.silenced && last.Level < requested {
			e.add(last.Level+1, fmt.Sprintf("the page to %s could not be delivered", lastLevel.Name), false)
		}
	case !e.silenced && e.inc.AwaitsAcknowledgement() && last.Level < e.highest:
		deadline := last.At.Add(e.sp.AcknowledgeWithin.D())
		if e.now.Before(deadline) {
			e.wake = append(e.wake, deadline)
			return
		}
		e.add(last.Level+1, fmt.Sprintf("%s did not acknowledge within %s", lastLevel.Name, e.sp.AcknowledgeWithin.D()), false)
	}
}

// unresolvedRules: levels paged when the incident is still unresolved a
// while after its episode began, acknowledged or not.
func (e *evaluation) unresolvedRules() {
	start := e.inc.Started()
	for _, u := range e.sp.Unresolved {
		n := e.p.LevelNumber(u.Level)
		if coveredAt(e.pages, n) {
			continue
		}
		at := start.Add(u.After.D())
		if e.now.Before(at) {
			e.wake = append(e.wake, at)
			continue
		}
		e.add(n, fmt.Sprintf("not resolved after %s (runbook: %s)", u.After.D(), u.Rule), false)
	}
}

// requestedLevels: the levels responders asked for in this episode.
func (e *evaluation) requestedLevels() {
	for _, r := range e.inc.Escalations {
		if r.Episode == e.inc.Episode {
			e.add(r.Level, fmt.Sprintf("%s asked for more expertise: %s", r.By, r.Reason), true)
		}
	}
}

// lowestDue returns the lowest due level that no page covers yet.
func (e *evaluation) lowestDue() (due, bool) {
	e.collect()
	var best *due
	for i, d := range e.dues {
		if coveredAt(e.pages, d.level) {
			continue
		}
		if best == nil || d.level < best.level || d.level == best.level && d.requested {
			best = &e.dues[i]
		}
	}
	if best == nil {
		return due{}, false
	}
	return *best, true
}

// pageOrHold pages the due level unless a maintenance window holds it.
func (e *evaluation) pageOrHold(d due, windows []MaintenanceWindow) Step {
	if w, ok := covering(windows, e.inc.Service, e.now); ok && !d.requested && !e.inc.NeverHeld() {
		if e.sync {
			return e.syncStep()
		}
		return Step{Action: ActWait, Until: earliest(append(e.wake, w.End), e.now), HeldBy: w.ID,
			Reason: fmt.Sprintf("maintenance window %s holds the page to level %d until %s", w.ID, d.level, w.End.UTC().Format(time.RFC3339))}
	}
	l, _ := e.p.Level(d.level)
	return Step{Action: ActPage, Level: d.level, LevelName: l.Name, Reason: d.reason}
}

// idle is the step when no page is due: tell PagerDuty what it must know,
// give up when nobody at all could be paged, run a follow-up that is due,
// or wait for the next time a rule may fire.
func (e *evaluation) idle() Step {
	if e.sync {
		return e.syncStep()
	}
	if len(e.pages) > 0 && !anyDelivered(e.pages) && e.pages[len(e.pages)-1].Level >= max(e.highest, highestRequested(e.inc, e.p)) {
		return Step{Action: ActNobodyReached, Reason: fmt.Sprintf("no level up to %s could be paged", e.pages[len(e.pages)-1].LevelName)}
	}
	if s, ok := e.followUp(); ok {
		return s
	}
	if e.silenced {
		return waitOrDone(e.wake, e.now, fmt.Sprintf("the alarm is flapping: it paged once, when it was marked flapping in episode %d; re-openings page only whom a responder asks for", e.inc.FlappingEpisode), "")
	}
	return waitOrDone(e.wake, e.now, "waiting for the next deadline", "nothing more is due; the incident stays open until a responder resolves it")
}

func (e *evaluation) syncStep() Step {
	return Step{Action: ActSync, Reason: fmt.Sprintf("PagerDuty is told the incident is %s", e.inc.Status)}
}

// NeverHeld reports whether no maintenance window may hold the incident's
// pages: a P0 security or data-loss incident is never silenced.
func (inc *Incident) NeverHeld() bool {
	return inc.Severity == P0 && (inc.Category == Security || inc.Category == DataLoss)
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

// earliest returns the earliest of ts after now, or the zero time.
func earliest(ts []time.Time, now time.Time) time.Time {
	var e time.Time
	for _, t := range ts {
		if t.After(now) && (e.IsZero() || t.Before(e)) {
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
