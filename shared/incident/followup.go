package incident

import (
	"fmt"
	"slices"
	"time"
)

// The follow-up actions Next returns once no page is due and PagerDuty
// knows what it must: gathering evidence, the runbook's remediations, and
// telling people. Their tasks never hold a page back: a page that falls
// due meanwhile is planned before them on the next round.
const (
	// ActTriage gathers the triage report of the current episode.
	ActTriage Action = "triage"
	// ActRemediate decides, runs, verifies or undoes a remediation.
	ActRemediate Action = "remediate"
	// ActNotify announces timeline entries in Slack and by email, and
	// sends the post-mortem's reminders.
	ActNotify Action = "notify"
)

// MaxAnnounce bounds the timeline entries waiting to be announced, so an
// outage of Slack cannot grow the incident item without limit: past it
// the oldest waiting entry is dropped (the timeline keeps it).
const MaxAnnounce = 100

// Announce queues a timeline entry to be announced in Slack and by email.
// The write that stores the change the entry records also stores the
// queue, so nothing is announced that did not happen and nothing that
// happened is missed. Queuing an entry twice changes nothing.
func (inc *Incident) Announce(entryID string) {
	if entryID == "" || slices.Contains(inc.Announcements, entryID) {
		return
	}
	inc.Announcements = append(inc.Announcements, entryID)
	if over := len(inc.Announcements) - MaxAnnounce; over > 0 {
		inc.Announcements = slices.Delete(inc.Announcements, 0, over)
	}
}

// AnnounceNow queues a timeline entry as Announce does, for a writer
// outside the escalation (a responder's update, an alarm's recovery):
// when the newest generation has already planned, and may be asleep in a
// Wait until its next deadline, it also asks for a new generation, which
// the writer starts, so the entry is announced at once rather than at
// that deadline. A write that already asked for one (an acknowledgement)
// asks for no second.
func (inc *Incident) AnnounceNow(entryID string) {
	inc.Announce(entryID)
	if inc.Generation <= inc.PlannedGeneration {
		inc.Generation = inc.PlannedGeneration + 1
	}
}

// TriageMark says the triage report of an episode has been gathered.
type TriageMark struct {
	Episode int       `json:"episode"`
	At      time.Time `json:"at"`
}

// TriageDue reports whether the current episode still needs its triage
// report: every incident gets one per episode, after its first page.
func (inc *Incident) TriageDue() bool {
	return inc.Triage == nil || inc.Triage.Episode != inc.Episode
}

// followUp returns the follow-up step due now, if any, in the order that
// helps responders most: evidence first, then the remediation it may
// call for, then telling people. It adds the times at which a follow-up
// falls due later to the evaluation's wake-ups. The step's Until is the
// next wake-up, so that a follow-up held back after a failure never holds
// the escalation past a deadline.
func (e *evaluation) followUp() (Step, bool) {
	s, ok := e.dueFollowUp()
	if ok {
		s.Until = earliest(e.wake, e.now)
	}
	return s, ok
}

func (e *evaluation) dueFollowUp() (Step, bool) {
	inc := e.inc
	// A flapping alarm's later episodes page nobody; they are not
	// triaged afresh either.
	if inc.Status != Resolved && inc.TriageDue() && !e.silenced {
		return Step{Action: ActTriage, Reason: fmt.Sprintf("the triage report of episode %d is gathered once the first page is out", inc.Episode)}, true
	}
	if s, ok := remediationStep(inc, e.now, &e.wake); ok {
		return s, true
	}
	if len(inc.Announcements) > 0 {
		return Step{Action: ActNotify, Reason: fmt.Sprintf("%d timeline entries wait to be announced", len(inc.Announcements))}, true
	}
	return postMortemStep(inc, e.now, &e.wake)
}

// FollowUp reports whether an action is one of the follow-ups.
func (a Action) FollowUp() bool {
	return a == ActTriage || a == ActRemediate || a == ActNotify
}

// Post-mortem reminders, keyed so each is sent once.
const (
	// ReminderNear is sent PostMortemNearDue before the post-mortem is due.
	ReminderNear = "post-mortem-near-due"
	// ReminderMissed is sent when the post-mortem is due and not complete.
	ReminderMissed = "post-mortem-missed"
	// PostMortemWithin is the runbook's "Schedule within 48 hours".
	PostMortemWithin = 48 * time.Hour
	// PostMortemNearDue is how long before its due time a post-mortem not
	// yet complete is reminded of.
	PostMortemNearDue = 12 * time.Hour
)

// PostMortemDue returns when the post-mortem of a resolved incident is
// due: PostMortemWithin after its resolution.
func (inc *Incident) PostMortemDue() time.Time {
	if inc.ResolvedAt.IsZero() {
		return time.Time{}
	}
	return inc.ResolvedAt.Add(PostMortemWithin)
}

// DueReminders returns the post-mortem reminders due by now and not yet
// sent, with the time each fell due.
func (inc *Incident) DueReminders(now time.Time) []string {
	var out []string
	for _, r := range inc.reminders() {
		if !now.Before(r.at) && !slices.Contains(inc.Reminded, r.key) {
			out = append(out, r.key)
		}
	}
	return out
}

type reminder struct {
	key string
	at  time.Time
}

func (inc *Incident) reminders() []reminder {
	if inc.Status != Resolved || inc.PostMortemCompleted || inc.ResolvedAt.IsZero() {
		return nil
	}
	due := inc.PostMortemDue()
	suffix := fmt.Sprintf("/%d", inc.Episode)
	return []reminder{{ReminderNear + suffix, due.Add(-PostMortemNearDue)}, {ReminderMissed + suffix, due}}
}

// postMortemStep is a notify step when a post-mortem reminder is due, and
// adds the later ones to the wake-ups.
func postMortemStep(inc Incident, now time.Time, wake *[]time.Time) (Step, bool) {
	due := inc.DueReminders(now)
	for _, r := range inc.reminders() {
		if r.at.After(now) && !slices.Contains(inc.Reminded, r.key) {
			*wake = append(*wake, r.at)
		}
	}
	if len(due) == 0 {
		return Step{}, false
	}
	return Step{Action: ActNotify, Reason: fmt.Sprintf("the post-mortem is due %s and not complete: %s", inc.PostMortemDue().UTC().Format(time.RFC3339), due[0])}, true
}
