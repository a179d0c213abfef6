// Package comms is the Notify task of the escalation state machine: it
// announces an incident's timeline entries, as queued by the writes that
// recorded them (incident.Incident.Announce), on every configured channel
// (Slack, stakeholder email), and sends the post-mortem's reminders.
//
// Each message is sent exactly once, as a page is: the task claims it in
// the message ledger kept in the incident item (incident.Delivery) before
// sending it and records the outcome after, so a retried or concurrent
// Notify never sends it twice; only a crash between the channel's answer
// and the record can send it again, once its claim's lease has run out.
// A failed send is recorded on the timeline and tried again on a later
// round, after Retry-After when the channel gave one, and given up after
// MaxAttempts with a timeline entry saying so. Messages of one channel go
// out in timeline order: one that waits holds back the later ones of its
// channel, never those of another channel, and never a page.
package comms

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/dashboarduz/incident-response/shared/escalation"
	"github.com/dashboarduz/incident-response/shared/incident"
)

// Store is the storage the Notify task needs.
type Store interface {
	incident.Updater
	IncidentWithEntries(ctx context.Context, id string, entryIDs []string) (incident.Incident, []incident.Entry, error)
	TimelinePage(ctx context.Context, id, before string, limit int) (incident.Incident, []incident.Entry, bool, error)
	AppendTimeline(ctx context.Context, incidentID string, e incident.Entry) (bool, error)
	ClaimDelivery(ctx context.Context, id string, d incident.Delivery, now time.Time) (incident.Incident, error)
	RecordDelivery(ctx context.Context, id string, d incident.Delivery, thread *incident.SlackThread) error
}

// Channel is somewhere people read about incidents. The Handler keeps the
// ledger and the order; a channel says what it announces and sends one
// message at a time.
type Channel interface {
	// Name names the channel in the ledger and on the timeline, e.g.
	// "slack"; it has no "/".
	Name() string
	// Announces reports whether the channel announces entry e of inc.
	Announces(inc incident.Incident, e incident.Entry) bool
	// Reminds reports whether the channel sends inc's post-mortem
	// reminders.
	Reminds(inc incident.Incident) bool
	// Send sends one message. An error wrapping a *PermanentError is
	// given up at once; any other is tried again on a later round.
	Send(ctx context.Context, m Message) (Outcome, error)
}

// Message is what a channel is asked to send: the announcement of one
// timeline entry, or one post-mortem reminder.
type Message struct {
	// Incident is the incident as stored with the message's claim.
	Incident incident.Incident
	// Entry is the timeline entry announced; nil for a reminder.
	Entry *incident.Entry
	// Reminder is the reminder's key (incident.ReminderNear or
	// incident.ReminderMissed and the episode), for a reminder.
	Reminder string
	// Timeline is what the task knows of the timeline up to the entry,
	// oldest first: the whole of it for a resolution, whose message sums
	// up what was done; otherwise at least the entry.
	Timeline []incident.Entry
}

// Outcome is what a channel reports of a message it sent, to store with
// the message's record.
type Outcome struct {
	// Thread is the incident's Slack thread, when the message posted it
	// (the alert) or changed it; nil otherwise.
	Thread *incident.SlackThread
}

// PermanentError is a failure no retry can cure (a message the channel
// refuses as it is): the message is given up at once.
type PermanentError struct {
	Err error
}

// Error returns the cause's message.
func (e *PermanentError) Error() string { return e.Err.Error() }

// Unwrap returns the cause.
func (e *PermanentError) Unwrap() error { return e.Err }

// RetryAfterError is a failure that tells when to try again (Slack's
// Retry-After): the message is not tried before then.
type RetryAfterError interface {
	error
	RetryAfterDuration() time.Duration
}

// AnnouncementsPendingError means some messages could not be sent this
// round and wait for a later one: a channel failed, or another Notify
// holds a message's claim. The state machine retries the task and, once
// its retries are spent, plans again with follow-ups held back for a
// minute, so nothing spins and no page waits.
type AnnouncementsPendingError struct {
	IncidentID string
	// Waiting counts the messages that wait.
	Waiting int
	// Reasons say why, one per channel that waits.
	Reasons []string
}

// Error says what waits and why.
func (e *AnnouncementsPendingError) Error() string {
	return fmt.Sprintf("notify %s: %d messages wait for a later round: %s", e.IncidentID, e.Waiting, strings.Join(e.Reasons, "; "))
}

// Defaults of Handler.
const (
	DefaultMaxAttempts = 8
	// DefaultLease is how long a claim holds a message: longer than the
	// task may run, so a live sender is never taken over.
	DefaultLease = 2 * time.Minute
	// DefaultMaxPerRound bounds the messages one channel sends in one
	// round, so a long queue (after an outage) gives the plan a turn
	// between batches and a page due meanwhile goes out first.
	DefaultMaxPerRound = 10
)

// missingAfter is how long an announced entry may be missing from the
// timeline (its writer stores the change first, then the entry) before
// it is given up as never written.
const missingAfter = 10 * time.Minute

// Handler is the Notify task.
type Handler struct {
	Store    Store
	Clock    incident.Clock
	Channels []Channel
	// MaxAttempts bounds the attempts at one message; zero means
	// DefaultMaxAttempts.
	MaxAttempts int
	// Lease is how long a claim holds a message; zero means DefaultLease.
	Lease time.Duration
	// MaxPerRound bounds the messages one channel sends per round; zero
	// means DefaultMaxPerRound.
	MaxPerRound int
}

// round is one invocation's work on one incident.
type round struct {
	h   *Handler
	inc incident.Incident
	now time.Time
	// known are the entries read, oldest first; timeline is the whole
	// timeline once read.
	known    []incident.Entry
	timeline []incident.Entry
	// done[channel] are the subjects the channel is done with.
	done map[string][]string
	// waiting counts the messages held back; reasons say why.
	waiting int
	reasons []string
}

// Handle announces the incident's queued entries on every channel, sends
// the post-mortem reminders that are due, and takes what every channel
// is done with off the queue.
func (h *Handler) Handle(ctx context.Context, in incident.EscalationState) (incident.EscalationState, error) {
	if in.IncidentID == "" {
		return in, &escalation.InvalidInputError{Reason: "notify: the input has no incidentId"}
	}
	// The plan named the queued entries, so one batch reads them with the
	// incident; entries queued since wait for the next round.
	inc, entries, err := h.Store.IncidentWithEntries(ctx, in.IncidentID, in.Entries)
	if incident.ErrorCode(err) == incident.ENotFound {
		return in, &escalation.IncidentNotFoundError{IncidentID: in.IncidentID}
	}
	if err != nil {
		return in, fmt.Errorf("notify %s: %w", in.IncidentID, err)
	}
	r := &round{h: h, inc: inc, now: h.Clock.Now(), known: entries, done: map[string][]string{}}
	queued := r.queued(entries)
	for _, c := range h.Channels {
		if err := r.announceOn(ctx, c, queued); err != nil {
			return in, err
		}
	}
	reminders := r.inc.DueReminders(r.now)
	for _, c := range h.Channels {
		if err := r.remindOn(ctx, c, reminders); err != nil {
			return in, err
		}
	}
	entryIDs := r.settledEntries(in.Entries, queued)
	sent := r.settledReminders(reminders)
	if err := r.dequeue(ctx, entryIDs, sent); err != nil {
		return in, err
	}
	slog.InfoContext(ctx, "announced", "incidentId", inc.ID, "entries", len(entryIDs), "reminders", len(sent), "waiting", r.waiting, "channels", len(h.Channels))
	if r.waiting > 0 && len(r.reasons) > 0 {
		return in, &AnnouncementsPendingError{IncidentID: inc.ID, Waiting: r.waiting, Reasons: r.reasons}
	}
	return in, nil
}

// queued are the entries read that still wait in the queue: another
// Notify may have announced the others since the plan.
func (r *round) queued(entries []incident.Entry) []incident.Entry {
	var out []incident.Entry
	for _, e := range entries {
		if slices.Contains(r.inc.Announcements, e.ID) {
			out = append(out, e)
		}
	}
	return out
}

// settledEntries are the queued entries every channel is done with, and
// those missing from the timeline for longer than any writer takes to
// write them. A planned entry missing but young makes the round wait.
func (r *round) settledEntries(planned []string, queued []incident.Entry) []string {
	var out []string
	for _, id := range planned {
		if !slices.Contains(r.inc.Announcements, id) {
			continue
		}
		if !slices.ContainsFunc(queued, func(e incident.Entry) bool { return e.ID == id }) {
			if entryTime(id).Before(r.now.Add(-missingAfter)) {
				out = append(out, id)
			} else {
				r.hold(1, "an announced entry is not on the timeline yet")
			}
			continue
		}
		if r.doneEverywhere(id) {
			out = append(out, id)
		}
	}
	return out
}

func (r *round) settledReminders(due []string) []string {
	var out []string
	for _, key := range due {
		if r.doneEverywhere(key) {
			out = append(out, key)
		}
	}
	return out
}

func (r *round) doneEverywhere(subject string) bool {
	for _, c := range r.h.Channels {
		if !slices.Contains(r.done[c.Name()], subject) {
			return false
		}
	}
	return true
}

// hold notes messages that wait for a later round.
func (r *round) hold(n int, reason string) {
	r.waiting += n
	if reason != "" && !slices.Contains(r.reasons, reason) {
		r.reasons = append(r.reasons, reason)
	}
}

// dequeue takes the entries and reminders every channel is done with off
// the queue, and their messages out of the ledger, in one write.
func (r *round) dequeue(ctx context.Context, entryIDs, reminders []string) error {
	if len(entryIDs) == 0 && len(reminders) == 0 {
		return nil
	}
	subjects := append(slices.Clone(entryIDs), reminders...)
	_, err := incident.Update(ctx, r.h.Store, r.inc, func(inc *incident.Incident) bool {
		changed := inc.DropDeliveries(subjects)
		before := len(inc.Announcements)
		inc.Announcements = slices.DeleteFunc(inc.Announcements, func(id string) bool { return slices.Contains(entryIDs, id) })
		changed = changed || len(inc.Announcements) != before
		for _, key := range reminders {
			if !slices.Contains(inc.Reminded, key) {
				inc.Reminded = append(inc.Reminded, key)
				changed = true
			}
		}
		return changed
	})
	if err != nil {
		return fmt.Errorf("notify %s: %w", r.inc.ID, err)
	}
	return nil
}

// entryTime reads the time an entry ID starts with (see incident.EntryID).
func entryTime(id string) time.Time {
	const layout = "20060102T150405.000000000Z"
	if len(id) < len(layout) {
		return time.Time{}
	}
	t, _ := time.Parse(layout, id[:len(layout)])
	return t
}

// errorsAsRetryAfter finds a Retry-After hint in err's chain.
func errorsAsRetryAfter(err error) time.Duration {
	var ra RetryAfterError
	if errors.As(err, &ra) {
		return ra.RetryAfterDuration()
	}
	return 0
}
