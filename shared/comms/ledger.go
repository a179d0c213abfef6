package comms

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/notify"
)

// outcome is where one message stands after the round tried it.
type outcome int

const (
	// settled: sent or given up, now or before.
	settled outcome = iota
	// waiting: not sent this round (failed, held by another sender, or
	// not to be tried before a Retry-After); later messages of the
	// channel wait behind it.
	waiting
)

func (h *Handler) maxAttempts() int {
	if h.MaxAttempts <= 0 {
		return DefaultMaxAttempts
	}
	return h.MaxAttempts
}

func (h *Handler) lease() time.Duration {
	if h.Lease <= 0 {
		return DefaultLease
	}
	return h.Lease
}

func (h *Handler) maxPerRound() int {
	if h.MaxPerRound <= 0 {
		return DefaultMaxPerRound
	}
	return h.MaxPerRound
}

// announceOn announces the queued entries on one channel, oldest first,
// and stops at the first that must wait, so the channel's messages keep
// their order.
func (r *round) announceOn(ctx context.Context, c Channel, queued []incident.Entry) error {
	sends := 0
	for i, e := range queued {
		if !c.Announces(r.inc, e) {
			r.done[c.Name()] = append(r.done[c.Name()], e.ID)
			continue
		}
		if d, ok := r.inc.DeliveryFor(c.Name(), e.ID); ok && d.Settled() {
			r.done[c.Name()] = append(r.done[c.Name()], e.ID)
			continue
		}
		if sends == r.h.maxPerRound() {
			// The rest go out on the next round, after the plan has had
			// its turn.
			r.hold(len(queued)-i, "")
			return nil
		}
		sends++
		entry := e
		out, err := r.deliver(ctx, c, incident.Delivery{Channel: c.Name(), Subject: e.ID}, func(inc incident.Incident) Message {
			return Message{Incident: inc, Entry: &entry, Timeline: r.timelineUpTo(ctx, entry)}
		})
		if err != nil {
			return err
		}
		if out == waiting {
			r.hold(len(queued)-i, "")
			return nil
		}
		r.done[c.Name()] = append(r.done[c.Name()], e.ID)
	}
	return nil
}

// remindOn sends the due reminders on one channel.
func (r *round) remindOn(ctx context.Context, c Channel, reminders []string) error {
	for _, key := range reminders {
		if !c.Reminds(r.inc) {
			r.done[c.Name()] = append(r.done[c.Name()], key)
			continue
		}
		if d, ok := r.inc.DeliveryFor(c.Name(), key); ok && d.Settled() {
			r.done[c.Name()] = append(r.done[c.Name()], key)
			continue
		}
		out, err := r.deliver(ctx, c, incident.Delivery{Channel: c.Name(), Subject: key, Reminder: true}, func(inc incident.Incident) Message {
			return Message{Incident: inc, Reminder: key}
		})
		if err != nil {
			return err
		}
		if out == waiting {
			r.hold(1, "")
			continue
		}
		r.done[c.Name()] = append(r.done[c.Name()], key)
	}
	return nil
}

// deliver sends one message exactly once: it claims it in the ledger,
// sends it, and records the outcome. It returns an error only when the
// ledger cannot be read or written; a channel's failure is recorded and
// reported as waiting (or settled, once given up).
func (r *round) deliver(ctx context.Context, c Channel, d incident.Delivery, build func(incident.Incident) Message) (outcome, error) {
	prev, held := r.inc.DeliveryFor(d.Channel, d.Subject)
	if held && prev.State == incident.DeliveryClaimed && prev.LeaseUntil.After(r.now) {
		r.hold(0, fmt.Sprintf("%s: %s is held until %s", c.Name(), what(d, r.known), prev.LeaseUntil.UTC().Format(time.RFC3339)))
		return waiting, nil
	}
	d.State, d.Attempts, d.At, d.LeaseUntil = incident.DeliveryClaimed, prev.Attempts+1, r.now, r.now.Add(r.h.lease())
	claimed, err := r.h.Store.ClaimDelivery(ctx, r.inc.ID, d, r.now)
	if incident.ErrorCode(err) == incident.EConflict {
		// Another Notify took it, or its subject is done with: the next
		// round reads the ledger afresh.
		r.hold(0, fmt.Sprintf("%s: %s was claimed by another sender", c.Name(), what(d, r.known)))
		return waiting, nil
	}
	if err != nil {
		return waiting, fmt.Errorf("notify %s: %w", r.inc.ID, err)
	}
	r.inc = claimed
	if d.Attempts > r.h.maxAttempts() {
		// A sender that claimed the last attempt stopped before recording
		// it: that attempt counts, and no other is made.
		return settled, r.giveUp(ctx, c, d, errors.New(firstNonEmpty(prev.Failure, "the last attempt did not finish")), nil)
	}
	out, sendErr := c.Send(ctx, build(claimed))
	if sendErr == nil {
		d.State, d.LeaseUntil, d.Failure = incident.DeliverySent, time.Time{}, ""
		return settled, r.record(ctx, d, out.Thread)
	}
	var perm *PermanentError
	if errors.As(sendErr, &perm) || d.Attempts >= r.h.maxAttempts() {
		return settled, r.giveUp(ctx, c, d, sendErr, out.Thread)
	}
	after := max(errorsAsRetryAfter(sendErr), backoff(d.Attempts))
	d.LeaseUntil, d.Failure = r.now.Add(after), sendErr.Error()
	if err := r.record(ctx, d, out.Thread); err != nil {
		return waiting, err
	}
	r.note(ctx, c, d, fmt.Sprintf("%s could not send %s (attempt %d of %d): %v. It is tried again %s; the channel's later messages wait for it.",
		title(c.Name()), what(d, r.known), d.Attempts, r.h.maxAttempts(), sendErr, retryWords(after)), false)
	r.hold(0, fmt.Sprintf("%s: %v", c.Name(), sendErr))
	return waiting, nil
}

// giveUp records a message as given up, with a timeline entry saying so.
func (r *round) giveUp(ctx context.Context, c Channel, d incident.Delivery, cause error, thread *incident.SlackThread) error {
	d.State, d.LeaseUntil, d.At, d.Failure = incident.DeliveryGivenUp, time.Time{}, r.now, cause.Error()
	if err := r.record(ctx, d, thread); err != nil {
		return err
	}
	slog.ErrorContext(ctx, "message given up", "incidentId", r.inc.ID, "channel", c.Name(), "subject", d.Subject, "attempts", d.Attempts, "error", cause)
	r.note(ctx, c, d, fmt.Sprintf("%s gave up on %s after %d attempts: %v. It will not be sent; later messages go on.",
		title(c.Name()), what(d, r.known), min(d.Attempts, r.h.maxAttempts()), cause), true)
	return nil
}

// record writes a message's outcome and keeps the round's copy of the
// incident in step, so the round's last write needs no re-read.
func (r *round) record(ctx context.Context, d incident.Delivery, thread *incident.SlackThread) error {
	if err := r.h.Store.RecordDelivery(ctx, r.inc.ID, d, thread); err != nil {
		if incident.ErrorCode(err) == incident.EConflict {
			slog.WarnContext(ctx, "message record lost to a takeover", "incidentId", r.inc.ID, "key", d.Key(), "error", err)
			return nil
		}
		return fmt.Errorf("notify %s: %w", r.inc.ID, err)
	}
	r.inc.Version++
	i := slices.IndexFunc(r.inc.Deliveries, func(x incident.Delivery) bool { return x.Key() == d.Key() })
	if i < 0 {
		r.inc.Deliveries = append(r.inc.Deliveries, d)
	} else {
		r.inc.Deliveries[i] = d
	}
	if thread != nil {
		t := *thread
		r.inc.Slack = &t
	}
	return nil
}

// note records a failed or given-up message on the timeline. A failure to
// write it is logged: the ledger already holds the outcome.
func (r *round) note(ctx context.Context, c Channel, d incident.Delivery, text string, gaveUp bool) {
	data := map[string]string{"channel": c.Name(), "subject": d.Subject, "attempt": fmt.Sprint(d.Attempts)}
	if gaveUp {
		data["gaveUp"] = "true"
	}
	e := incident.Entry{
		ID: incident.EntryID(r.now, fmt.Sprintf("notify-failed/%s/%d/%s", c.Name(), d.Attempts, d.Subject)), At: r.now,
		Kind: incident.EntryNotifyFailed, Actor: "notify", Text: text, Data: data,
	}
	if _, err := r.h.Store.AppendTimeline(ctx, r.inc.ID, e); err != nil {
		slog.ErrorContext(ctx, "record failed message", "incidentId", r.inc.ID, "channel", c.Name(), "error", err)
	}
}

// resolutionHistory bounds how much of a timeline a resolution's summary
// reads: its latest entries, a few pages, however long the timeline grew.
const resolutionHistory = 4 * incident.MaxTimelinePage

// timelineUpTo is what the round knows of the timeline up to e: the latest
// resolutionHistory entries for a resolution (read once), else the entries
// read.
func (r *round) timelineUpTo(ctx context.Context, e incident.Entry) []incident.Entry {
	src := r.known
	if k, _ := notify.KindOf(e); k == notify.KindResolution {
		if r.timeline == nil {
			tl, err := r.latestTimeline(ctx)
			if err != nil {
				// The resolution still goes out; its summary of what was
				// done is then the queued entries'.
				slog.WarnContext(ctx, "read timeline for the resolution", "incidentId", r.inc.ID, "error", err)
				tl = r.known
			}
			r.timeline = tl
		}
		src = r.timeline
	}
	var out []incident.Entry
	for _, x := range src {
		if x.ID <= e.ID {
			out = append(out, x)
		}
	}
	if !slices.ContainsFunc(out, func(x incident.Entry) bool { return x.ID == e.ID }) {
		out = append(out, e)
	}
	return out
}

// latestTimeline reads the incident's latest resolutionHistory timeline
// entries, oldest first, a page at a time from the newest.
func (r *round) latestTimeline(ctx context.Context) ([]incident.Entry, error) {
	var tl []incident.Entry
	before := ""
	for len(tl) < resolutionHistory {
		_, page, more, err := r.h.Store.TimelinePage(ctx, r.inc.ID, before, incident.MaxTimelinePage)
		if err != nil {
			return nil, err
		}
		tl = append(page, tl...)
		if !more || len(page) == 0 {
			break
		}
		before = page[0].ID
	}
	return tl, nil
}

// what names a message for the timeline: "the page message of <entry>",
// "the post-mortem reminder".
func what(d incident.Delivery, known []incident.Entry) string {
	if d.Reminder {
		return "the post-mortem reminder (" + d.Subject + ")"
	}
	for _, e := range known {
		if e.ID == d.Subject {
			if k, ok := notify.KindOf(e); ok {
				return "the " + string(k) + " message for " + e.ID
			}
		}
	}
	return "the message for " + d.Subject
}

func title(name string) string {
	switch name {
	case "slack":
		return "Slack"
	case "email":
		return "Email"
	}
	return name
}

// Backoff between attempts at one message: the first retry after
// firstRetry, doubling, at most maxRetryWait, so DefaultMaxAttempts span
// about twenty minutes of an outage and the state machine's quick
// retries of the task do not spend them.
const (
	firstRetry   = 30 * time.Second
	maxRetryWait = 5 * time.Minute
)

// backoff is the wait after the failed attempt n (1-based).
func backoff(n int) time.Duration {
	return min(firstRetry<<min(max(n-1, 0), 10), maxRetryWait)
}

func retryWords(after time.Duration) string {
	return "in " + after.Round(time.Second).String()
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if strings.TrimSpace(s) != "" {
			return s
		}
	}
	return ""
}
