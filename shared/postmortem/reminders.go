package postmortem

import (
	"slices"
	"time"
)

// NearDue is how long before its due time a post-mortem gets a reminder
// that it is near: enough for a team to find a slot the same working day.
const NearDue = 12 * time.Hour

// ReminderKind says what a reminder is about.
type ReminderKind string

// The reminders.
const (
	// ReminderNearDue: the post-mortem is due within NearDue.
	ReminderNearDue ReminderKind = "near-due"
	// ReminderMissed: the post-mortem's due time passed before it was
	// completed.
	ReminderMissed ReminderKind = "missed"
	// ReminderItemOverdue: an open action item passed its due time.
	ReminderItemOverdue ReminderKind = "action-item-overdue"
)

// Reminder is one reminder to send.
type Reminder struct {
	Kind       ReminderKind `json:"kind"`
	IncidentID string       `json:"incidentId"`
	// ActionItemID is set for ReminderItemOverdue.
	ActionItemID string `json:"actionItemId,omitempty"`
	// At is when the reminder became due.
	At time.Time `json:"at"`
	// Key names the reminder for good: the ledger key that makes sending
	// it exactly-once, and what Reminded records.
	Key string `json:"key"`
}

// reminders lists every reminder the post-mortem will ever call for in
// its current state, sent or not, in order of time.
func reminders(pm PostMortem) []Reminder {
	var out []Reminder
	key := "postmortem/" + pm.IncidentID + "/"
	if pm.CompletedAt.IsZero() {
		out = append(out,
			Reminder{Kind: ReminderNearDue, IncidentID: pm.IncidentID, At: pm.DueAt.Add(-NearDue), Key: key + string(ReminderNearDue)},
			Reminder{Kind: ReminderMissed, IncidentID: pm.IncidentID, At: pm.DueAt, Key: key + string(ReminderMissed)},
		)
	}
	for _, a := range pm.ActionItems {
		if a.Status == ItemOpen && !a.DueAt.IsZero() {
			out = append(out, Reminder{
				Kind: ReminderItemOverdue, IncidentID: pm.IncidentID, ActionItemID: a.ID, At: a.DueAt,
				// The due time is in the key: an item given a new due
				// date is reminded of again when it passes that one.
				Key: key + "action-items/" + a.ID + "/overdue/" + a.DueAt.UTC().Format("20060102T150405Z"),
			})
		}
	}
	slices.SortStableFunc(out, func(a, b Reminder) int { return a.At.Compare(b.At) })
	return out
}

// DueReminders returns the reminders due at time now that were not sent
// yet, oldest first. A near-due reminder whose moment passed together with
// the due time is not sent: the missed one says more.
func DueReminders(pm PostMortem, now time.Time) []Reminder {
	var out []Reminder
	for _, r := range reminders(pm) {
		if r.At.After(now) || slices.Contains(pm.Reminded, r.Key) {
			continue
		}
		if r.Kind == ReminderNearDue && !now.Before(pm.DueAt) {
			continue
		}
		out = append(out, r)
	}
	return out
}

// NextReminderAt returns when the next reminder not yet sent falls due,
// for a scheduler to wait until; false when none is left.
func NextReminderAt(pm PostMortem, now time.Time) (time.Time, bool) {
	for _, r := range reminders(pm) {
		if r.At.After(now) && !slices.Contains(pm.Reminded, r.Key) {
			return r.At, true
		}
	}
	return time.Time{}, false
}

// MarkReminded returns pm with the reminder recorded as sent.
func MarkReminded(pm PostMortem, r Reminder) PostMortem {
	if slices.Contains(pm.Reminded, r.Key) {
		return pm
	}
	pm = pm.clone()
	pm.Reminded = append(pm.Reminded, r.Key)
	return pm
}
