// Package comms is the Notify task of the escalation state machine: it
// announces an incident's timeline entries, as queued by the writes that
// recorded them (incident.Incident.Announce), on every configured channel
// (Slack, stakeholder email), and sends the post-mortem's reminders.
package comms

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/dashboarduz/incident-response/shared/escalation"
	"github.com/dashboarduz/incident-response/shared/incident"
)

// Store is the storage the Notify task needs.
type Store interface {
	incident.Updater
	IncidentWithEntries(ctx context.Context, id string, entryIDs []string) (incident.Incident, []incident.Entry, error)
	AppendTimeline(ctx context.Context, incidentID string, e incident.Entry) (bool, error)
}

// Channel announces entries somewhere people read them.
type Channel interface {
	// Name names the channel on the timeline, e.g. "Slack".
	Name() string
	// Announce announces entries of inc, oldest first.
	Announce(ctx context.Context, inc incident.Incident, entries []incident.Entry) error
	// Remind sends a post-mortem reminder (incident.ReminderNear or
	// incident.ReminderMissed, with its episode suffix).
	Remind(ctx context.Context, inc incident.Incident, reminder string) error
}

// missingAfter is how long an announced entry may be missing from the
// timeline (its writer stores the change first, then the entry) before
// it is given up as never written.
const missingAfter = 10 * time.Minute

// Handler is the Notify task.
type Handler struct {
	Store    Store
	Clock    incident.Clock
	Channels []Channel
}

// Handle announces the incident's queued entries on every channel, sends
// the post-mortem reminders that are due, and records both.
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
	now := h.Clock.Now()
	for _, c := range h.Channels {
		if len(entries) > 0 {
			if err := c.Announce(ctx, inc, entries); err != nil {
				h.noteFailure(ctx, inc, c, err, now)
			}
		}
	}
	reminders := inc.DueReminders(now)
	for _, r := range reminders {
		for _, c := range h.Channels {
			if err := c.Remind(ctx, inc, r); err != nil {
				h.noteFailure(ctx, inc, c, err, now)
			}
		}
	}
	done := settled(in.Entries, entries, now)
	if _, err := incident.Update(ctx, h.Store, inc, func(inc *incident.Incident) bool {
		before := len(inc.Announcements) + len(inc.Reminded)
		inc.Announcements = slices.DeleteFunc(inc.Announcements, func(id string) bool { return slices.Contains(done, id) })
		for _, r := range reminders {
			if !slices.Contains(inc.Reminded, r) {
				inc.Reminded = append(inc.Reminded, r)
			}
		}
		return len(inc.Announcements)+len(inc.Reminded) != before
	}); err != nil {
		return in, fmt.Errorf("notify %s: %w", in.IncidentID, err)
	}
	slog.InfoContext(ctx, "announced", "incidentId", inc.ID, "entries", len(entries), "reminders", len(reminders), "channels", len(h.Channels))
	return in, nil
}

// settled are the queued entries this round is done with: those it
// announced, and those missing from the timeline for longer than any
// writer takes to write them.
func settled(queued []string, entries []incident.Entry, now time.Time) []string {
	var out []string
	for _, id := range queued {
		if slices.ContainsFunc(entries, func(e incident.Entry) bool { return e.ID == id }) || entryTime(id).Before(now.Add(-missingAfter)) {
			out = append(out, id)
		}
	}
	return out
}

// entryTime reads the time an entry ID starts with (see incident.EntryID).
func entryTime(id string) time.Time {
	if len(id) < len("20060102T150405.000000000Z") {
		return time.Time{}
	}
	t, _ := time.Parse("20060102T150405.000000000Z", id[:len("20060102T150405.000000000Z")])
	return t
}

// noteFailure records on the timeline that a channel failed this round.
func (h *Handler) noteFailure(ctx context.Context, inc incident.Incident, c Channel, cause error, now time.Time) {
	slog.WarnContext(ctx, "announce failed", "incidentId", inc.ID, "channel", c.Name(), "error", cause)
	if _, err := h.Store.AppendTimeline(ctx, inc.ID, incident.Entry{
		ID: incident.EntryID(now, "notify-failed/"+c.Name()), At: now, Kind: incident.EntryNotifyFailed, Actor: "notify",
		Text: fmt.Sprintf("%s could not be told: %v", c.Name(), cause),
		Data: map[string]string{"channel": c.Name()},
	}); err != nil {
		slog.ErrorContext(ctx, "record failed announcement", "incidentId", inc.ID, "error", err)
	}
}
