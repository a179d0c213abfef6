package escalation

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/dashboarduz/incident-response/shared/dynamo"
	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/pagerduty"
	"github.com/dashboarduz/incident-response/shared/secrets"
)

// PageStore is the storage the Page task needs.
type PageStore interface {
	IncidentGetter
	UpdateIncident(ctx context.Context, inc incident.Incident) (incident.Incident, error)
	AppendTimeline(ctx context.Context, incidentID string, e incident.Entry) (bool, error)
	ClaimPage(ctx context.Context, incidentID string, episode, level int, dedupKey string, now time.Time, lease time.Duration) (dynamo.PageClaim, error)
	ReleasePageClaim(ctx context.Context, incidentID string, episode, level int, now time.Time) error
	MarkPageSent(ctx context.Context, incidentID string, episode, level int, at time.Time) error
	PageLedger(ctx context.Context, incidentID string, episode, level int) (dynamo.PageClaim, bool, error)
}

// RoutingKeys finds the PagerDuty routing key of an escalation level.
type RoutingKeys interface {
	RoutingKey(ctx context.Context, level string) (string, error)
}

// forgetter is implemented by routing keys that cache what they read.
type forgetter interface{ Forget() }

// PagerDuty sends pages and passes acknowledgements and resolutions on.
type PagerDuty interface {
	Trigger(ctx context.Context, routingKey string, inc incident.Incident, level int, l incident.Level) (string, error)
	Acknowledge(ctx context.Context, routingKey, dedupKey string) error
	Resolve(ctx context.Context, routingKey, dedupKey string) error
}

// PageInProgressError means another invocation holds the claim on this
// page; the state machine retries after it has finished or its lease has
// run out.
type PageInProgressError struct {
	IncidentID string
	Level      int
}

// Error says which page is being sent.
func (e *PageInProgressError) Error() string {
	return fmt.Sprintf("the page for level %d of %s is being sent by another invocation", e.Level, e.IncidentID)
}

// DefaultLease is how long a claim on a page keeps others from sending it:
// longer than the Page function's timeout, so a live sender is never
// doubled, and short enough that a crashed one is taken over soon.
const DefaultLease = 90 * time.Second

// Pager is the Page task. A page is claimed in the ledger before it is
// sent and marked sent after, so a retried or re-run Page never pages a
// level twice; the PagerDuty dedup_key makes even a resend after a crash
// land on the same PagerDuty incident.
type Pager struct {
	Store     PageStore
	Keys      RoutingKeys
	PagerDuty PagerDuty
	Policy    incident.Policy
	Clock     incident.Clock
	Lease     time.Duration
}

// Handle pages the level the plan chose, unless the incident no longer
// needs it, or, for a sync step, passes the incident's acknowledgement or
// resolution on to PagerDuty.
func (p *Pager) Handle(ctx context.Context, in State) (State, error) {
	if in.IncidentID == "" {
		return State{}, &InvalidInputError{Reason: "page: the input has no incidentId"}
	}
	inc, err := p.Store.GetIncident(ctx, in.IncidentID)
	if incident.ErrorCode(err) == incident.ENotFound {
		return State{}, &IncidentNotFoundError{IncidentID: in.IncidentID}
	}
	if err != nil {
		return State{}, fmt.Errorf("page %s: %w", in.IncidentID, err)
	}
	if in.Action == incident.ActSync {
		return in, p.sync(ctx, inc)
	}
	level, ok := p.Policy.Level(in.Level)
	if !ok {
		return State{}, &InvalidInputError{Reason: fmt.Sprintf("page %s: level %d is not in the escalation policy", in.IncidentID, in.Level)}
	}
	if page, done := inc.PageFor(in.Level); done {
		// Recorded by an earlier attempt that may have stopped before the
		// timeline entry: write it if it is missing, page nobody.
		slog.InfoContext(ctx, "page already recorded", "incidentId", inc.ID, "level", in.Level, "delivered", page.Delivered())
		return in, p.notePage(ctx, inc.ID, page, level, in.Reason)
	}
	now := p.Clock.Now()
	if step := incident.Next(inc, p.Policy, now, nil); step.Action != incident.ActPage || step.Level != in.Level {
		// Acknowledged, resolved or re-planned since the plan was made:
		// nobody is paged. An earlier attempt may have sent the page and
		// stopped before recording it: record it now, so that PagerDuty
		// is told of the acknowledgement or resolution and webhooks about
		// it find it.
		slog.InfoContext(ctx, "page skipped", "incidentId", inc.ID, "level", in.Level, "status", inc.Status, "now", step.Action)
		return in, p.recordEarlierAttempt(ctx, inc, in.Level, level)
	}
	episode := inc.Episode
	dedupKey := incident.PageDedupKey(inc.ID, episode, in.Level)
	lease := p.Lease
	if lease <= 0 {
		lease = DefaultLease
	}
	claim, err := p.Store.ClaimPage(ctx, inc.ID, episode, in.Level, dedupKey, now, lease)
	if incident.ErrorCode(err) == incident.EConflict {
		return State{}, &PageInProgressError{IncidentID: inc.ID, Level: in.Level}
	}
	if err != nil {
		return State{}, fmt.Errorf("page %s level %d: %w", inc.ID, in.Level, err)
	}
	sentAt := claim.SentAt
	if claim.State != dynamo.PageSent {
		if err := p.send(ctx, inc, in.Level, level, claim.Attempts, now); err != nil {
			if levelUndeliverable(err) {
				return in, p.reject(ctx, inc, in.Level, level, dedupKey, err.Error(), now)
			}
			return State{}, err
		}
		if err := p.Store.MarkPageSent(ctx, inc.ID, episode, in.Level, now); err != nil {
			return State{}, fmt.Errorf("page %s level %d: sent, but %w", inc.ID, in.Level, err)
		}
		sentAt = now
	}

	page := incident.Page{Level: in.Level, LevelName: level.Name, At: sentAt, DedupKey: dedupKey, Episode: episode}
	if err := p.recordPage(ctx, inc, page); err != nil {
		return State{}, err
	}
	if err := p.notePage(ctx, inc.ID, page, level, in.Reason); err != nil {
		return State{}, err
	}
	slog.InfoContext(ctx, "paged", "incidentId", inc.ID, "level", in.Level, "levelName", level.Name)
	return in, nil
}

// recordEarlierAttempt records a page that an earlier attempt claimed, and
// may have sent, but did not record on the incident. A page that may not
// have gone out is recorded all the same: acknowledging or resolving a
// dedup key PagerDuty never saw is harmless, leaving an alert open is not.
func (p *Pager) recordEarlierAttempt(ctx context.Context, inc incident.Incident, n int, level incident.Level) error {
	claim, found, err := p.Store.PageLedger(ctx, inc.ID, inc.Episode, n)
	if err != nil || !found {
		return err
	}
	at := claim.SentAt
	if at.IsZero() {
		at = claim.ClaimedAt
	}
	page := incident.Page{Level: n, LevelName: level.Name, At: at, DedupKey: claim.DedupKey, Episode: inc.Episode}
	if err := p.recordPage(ctx, inc, page); err != nil {
		return err
	}
	return p.notePage(ctx, inc.ID, page, level, "recorded from the page ledger after an interrupted attempt")
}

// notePage writes the timeline entry of a recorded page, delivered or not.
// Its ID comes from the page's level and time, so writing it again changes
// nothing.
func (p *Pager) notePage(ctx context.Context, incidentID string, page incident.Page, level incident.Level, reason string) error {
	e := incident.Entry{
		ID:    incident.EntryID(page.At, pageEntryKey(page)),
		At:    page.At,
		Kind:  incident.EntryPaged,
		Actor: "escalation",
		Data:  map[string]string{"level": fmt.Sprint(page.Level), "levelName": level.Name, "dedupKey": page.DedupKey},
	}
	switch {
	case !page.Delivered():
		e.Kind = incident.EntryPageRejected
		e.Text = fmt.Sprintf("The page to %s (level %d, %s) cannot be delivered, so the escalation goes on without it: %s. Fix the routing key in the secret.", level.Title, page.Level, level.Name, page.Failure)
	case reason != "":
		e.Text = fmt.Sprintf("Paged %s (level %d, %s) through PagerDuty: %s.", level.Title, page.Level, level.Name, reason)
	default:
		e.Text = fmt.Sprintf("Paged %s (level %d, %s) through PagerDuty.", level.Title, page.Level, level.Name)
	}
	if _, err := p.Store.AppendTimeline(ctx, incidentID, e); err != nil {
		return fmt.Errorf("page %s level %d: %w", incidentID, page.Level, err)
	}
	return nil
}

// PageBlockedError means a page cannot be sent for a reason that is not
// the level's own and that retrying soon will not cure: the secret cannot
// be read as routing keys, or PagerDuty refused the event itself. The
// state machine waits a minute and plans again, so the page goes out once
// the cause is fixed; meanwhile the pages-rejected alarm says so.
type PageBlockedError struct {
	Reason string
}

// Error returns the reason.
func (e *PageBlockedError) Error() string { return e.Reason }

// send looks up the routing key and triggers the page. A failure releases
// the claim so that the next attempt may send again, and is recorded on the
// timeline unless it is the level's own (Handle records those with the
// page). Errors go back unwrapped, so their type names reach the Retry
// rules.
func (p *Pager) send(ctx context.Context, inc incident.Incident, n int, level incident.Level, attempt int, now time.Time) error {
	key, err := p.Keys.RoutingKey(ctx, level.Name)
	if err == nil {
		_, err = p.PagerDuty.Trigger(ctx, key, inc, n, level)
	}
	if err == nil {
		return nil
	}
	if rerr := p.Store.ReleasePageClaim(ctx, inc.ID, inc.Episode, n, now); rerr != nil {
		slog.ErrorContext(ctx, "release page claim", "incidentId", inc.ID, "error", rerr)
	}
	if levelUndeliverable(err) {
		return err
	}
	text := fmt.Sprintf("Page to %s (level %d) failed, attempt %d; it will be retried: %v", level.Title, n, attempt, err)
	if blocked(err) {
		// The same message as reject's feeds the pages-rejected alarm.
		slog.ErrorContext(ctx, "page rejected", "incidentId", inc.ID, "level", n, "levelName", level.Name, "error", err)
		p.forgetKeys()
		text = fmt.Sprintf("Page to %s (level %d) failed, attempt %d; it is retried every minute until the cause is fixed: %v", level.Title, n, attempt, err)
		err = &PageBlockedError{Reason: err.Error()}
	} else {
		slog.WarnContext(ctx, "page failed", "incidentId", inc.ID, "level", n, "attempt", attempt, "error", err)
	}
	if _, terr := p.Store.AppendTimeline(ctx, inc.ID, incident.Entry{
		ID:    incident.EntryID(now, fmt.Sprintf("page-failed/%s%d/%d", episodeKey(inc.Episode), n, attempt)),
		At:    now,
		Kind:  incident.EntryPageFailed,
		Actor: "escalation",
		Text:  text,
		Data:  map[string]string{"level": fmt.Sprint(n), "attempt": fmt.Sprint(attempt)},
	}); terr != nil {
		slog.ErrorContext(ctx, "record failed page", "incidentId", inc.ID, "error", terr)
	}
	return err
}

// levelUndeliverable reports whether a page failed for a reason of its
// level's own, which no retry cures: the secret has no usable routing key
// for the level, or PagerDuty refused the level's routing key.
func levelUndeliverable(err error) bool {
	var keyErr *secrets.LevelKeyError
	if errors.As(err, &keyErr) {
		return true
	}
	var rejected *pagerduty.PagerDutyRejectedError
	return errors.As(err, &rejected) && rejected.RoutingKeyRefused()
}

// blocked reports whether a page failed for a reason that is not its
// level's own and that a quick retry will not cure.
func blocked(err error) bool {
	var rejected *pagerduty.PagerDutyRejectedError
	return errors.As(err, &rejected) || incident.ErrorCode(err) == incident.EInvalid
}

// reject records a page that cannot be delivered to its level: on the
// incident, so the policy escalates past the level at once instead of
// retrying it forever, and on the timeline. The "page rejected" log record
// feeds the stack's pages-rejected alarm. Cached routing keys are dropped,
// so a corrected secret is read on the next page.
func (p *Pager) reject(ctx context.Context, inc incident.Incident, n int, level incident.Level, dedupKey, reason string, now time.Time) error {
	slog.ErrorContext(ctx, "page rejected", "incidentId", inc.ID, "level", n, "levelName", level.Name, "error", reason)
	p.forgetKeys()
	page := incident.Page{Level: n, LevelName: level.Name, At: now, DedupKey: dedupKey, Failure: reason, Episode: inc.Episode}
	if err := p.recordPage(ctx, inc, page); err != nil {
		return err
	}
	return p.notePage(ctx, inc.ID, page, level, "")
}

func (p *Pager) forgetKeys() {
	if f, ok := p.Keys.(forgetter); ok {
		f.Forget()
	}
}

// recordPage adds the page to the incident, re-reading on a version
// conflict.
func (p *Pager) recordPage(ctx context.Context, inc incident.Incident, page incident.Page) error {
	_, err := incident.Update(ctx, p.Store, inc, func(inc *incident.Incident) bool { return inc.RecordPage(page) })
	if err != nil {
		return fmt.Errorf("record page on %s: %w", inc.ID, err)
	}
	return nil
}

// pageEntryKey keys a page's timeline entry; the first episode keeps the
// plain form.
func pageEntryKey(page incident.Page) string {
	return fmt.Sprintf("page/%s%d", episodeKey(page.Episode), page.Level)
}

// episodeKey is "" for the first episode and "r<n>/" for re-openings.
func episodeKey(episode int) string {
	if episode == 0 {
		return ""
	}
	return fmt.Sprintf("r%d/", episode)
}
