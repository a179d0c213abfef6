package escalation

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/dashboarduz/incident-response/shared/incident"
)

// PageStore is the storage the Page task needs.
type PageStore interface {
	IncidentGetter
	IncidentAndWindows(ctx context.Context, id, service string) (incident.Incident, []incident.MaintenanceWindow, error)
	AppendTimeline(ctx context.Context, incidentID string, e incident.Entry) (bool, error)
	ClaimPage(ctx context.Context, id string, p incident.Page, plan incident.EscalationState, now time.Time) (incident.Incident, error)
	SettlePage(ctx context.Context, id string, p incident.Page, entryID string, noted bool) error
	ReleasePage(ctx context.Context, id string, p incident.Page, now time.Time) error
	MarkSynced(ctx context.Context, id string, synced map[[2]int]incident.Status) error
}

// RoutingKeys finds the PagerDuty routing key of an escalation level.
type RoutingKeys interface {
	RoutingKey(ctx context.Context, level string) (string, error)
}

// forgetter is implemented by routing keys that cache what they read.
type forgetter interface{ Forget() }

// PagerDuty sends pages and passes acknowledgements and resolutions on.
// Its errors carry incident error codes: EUnavailable (retry later),
// EUndeliverable (this level's routing key is refused), EInvalid (the
// event itself is refused).
type PagerDuty interface {
	Trigger(ctx context.Context, routingKey string, inc incident.Incident, level int, l incident.Level) (string, error)
	Acknowledge(ctx context.Context, routingKey, dedupKey string) error
	Resolve(ctx context.Context, routingKey, dedupKey string) error
}

// PagerDutyUnavailableError means PagerDuty did not take an event but may
// later (429, 5xx, no answer). Sending it again is safe because its
// dedup_key is fixed, so the state machine retries on this type's name.
// The name stutters on purpose: it is the errorType Step Functions matches.
type PagerDutyUnavailableError struct {
	Reason string
}

// Error returns the reason.
func (e *PagerDutyUnavailableError) Error() string { return e.Reason }

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

// Pager is the Page task. A page is claimed in the incident's page ledger
// before it is sent and settled after, so a retried or re-run Page never
// pages a level twice; the PagerDuty dedup_key makes even a resend after a
// crash land on the same PagerDuty incident.
type Pager struct {
	Store     PageStore
	Keys      RoutingKeys
	PagerDuty PagerDuty
	Policy    incident.Policy
	Clock     incident.Clock
	// Lease is how long a claim keeps others from sending the page; zero
	// means incident.PageLease.
	Lease time.Duration
}

// Handle pages the level the plan chose, unless the incident no longer
// needs it, or, for a sync step, passes the incident's acknowledgement or
// resolution on to PagerDuty.
func (p *Pager) Handle(ctx context.Context, in State) (State, error) {
	if in.IncidentID == "" {
		return State{}, &InvalidInputError{Reason: "page: the input has no incidentId"}
	}
	if in.Action == incident.ActSync {
		return in, p.sync(ctx, in)
	}
	level, ok := p.Policy.Level(in.Level)
	if !ok {
		return State{}, &InvalidInputError{Reason: fmt.Sprintf("page %s: level %d is not in the escalation policy", in.IncidentID, in.Level)}
	}
	now := p.Clock.Now()
	if in.FirstPage != nil && in.FirstPageError == nil {
		return in, p.firstPage(ctx, in, level, now)
	}
	if in.Status == "" || in.Severity == "" {
		// A plan that does not say what it saw: read and decide afresh.
		return in, p.reconsider(ctx, in, level, now)
	}
	claim := p.claimOf(in.IncidentID, in.Episode, in.Level, level, 1, now)
	inc, err := p.Store.ClaimPage(ctx, in.IncidentID, claim, in, now)
	switch incident.ErrorCode(err) {
	case "":
		return in, p.deliver(ctx, inc, claim, level, in.Reason, now)
	case incident.EConflict:
		return in, p.reconsider(ctx, in, level, now)
	case incident.ENotFound:
		return State{}, &IncidentNotFoundError{IncidentID: in.IncidentID}
	}
	return State{}, fmt.Errorf("page %s level %d: %w", in.IncidentID, in.Level, err)
}

// firstPage sends a new incident's first page on the claim ingest made
// in the write that created the incident: the FirstPage state's task, run
// once per execution and never retried, so it is the claim's one holder.
// A claim older than incident.FirstPageWithin is claimed again as any
// page is.
func (p *Pager) firstPage(ctx context.Context, in State, level incident.Level, now time.Time) error {
	fp := in.FirstPage
	claim := fp.Claim
	if fp.Incident.ID != in.IncidentID || claim.Level != in.Level || claim.Episode != in.Episode {
		return &InvalidInputError{Reason: fmt.Sprintf("page %s: the first page's claim (level %d, episode %d) is not the planned page", in.IncidentID, claim.Level, claim.Episode)}
	}
	if !fp.Usable(now) {
		slog.InfoContext(ctx, "first page claimed again", "incidentId", in.IncidentID, "claimedAt", claim.At)
		return p.reconsider(ctx, in, level, now)
	}
	return p.deliver(ctx, fp.Incident, claim, level, in.Reason, now)
}

// claimOf is a claim on the page to level n of an episode.
func (p *Pager) claimOf(id string, episode, n int, level incident.Level, attempt int, now time.Time) incident.Page {
	lease := p.Lease
	if lease <= 0 {
		lease = incident.PageLease
	}
	return incident.Page{
		Level: n, LevelName: level.Name, At: now, DedupKey: incident.PageDedupKey(id, episode, n),
		State: incident.PageClaimed, Episode: episode, Attempts: attempt, LeaseUntil: now.Add(lease),
	}
}

// reconsider handles a claim the ledger refused: the incident changed
// since the plan, or the page is claimed or settled already. It reads the
// incident and decides afresh: write a settled page's timeline entry, page
// nobody when the policy no longer wants the page, wait for a live claim,
// or take over a claim whose lease ran out.
func (p *Pager) reconsider(ctx context.Context, in State, level incident.Level, now time.Time) error {
	inc, windows, err := p.Store.IncidentAndWindows(ctx, in.IncidentID, in.Service)
	if incident.ErrorCode(err) == incident.ENotFound {
		return &IncidentNotFoundError{IncidentID: in.IncidentID}
	}
	if err != nil {
		return fmt.Errorf("page %s: %w", in.IncidentID, err)
	}
	entry, claimed := inc.LedgerEntry(inc.Episode, in.Level)
	if claimed && entry.Recorded() {
		// Settled by an earlier attempt that may have stopped before the
		// timeline entry: write it if it is missing, page nobody.
		slog.InfoContext(ctx, "page already recorded", "incidentId", inc.ID, "level", in.Level, "delivered", entry.Delivered())
		return p.notePage(ctx, inc.ID, entry, level, in.Reason)
	}
	if step := incident.Next(inc, p.Policy, now, windows); step.Action != incident.ActPage || step.Level != in.Level {
		// Acknowledged, resolved, held by a maintenance window or
		// re-planned since the plan was made: nobody is paged. A claim an earlier attempt left behind stays in
		// the ledger, so PagerDuty is told of the acknowledgement or
		// resolution in case that attempt sent the page.
		slog.InfoContext(ctx, "page skipped", "incidentId", inc.ID, "level", in.Level, "status", inc.Status, "now", step.Action)
		return nil
	}
	attempt := 1
	if claimed {
		if entry.LeaseUntil.After(now) {
			return &PageInProgressError{IncidentID: inc.ID, Level: in.Level}
		}
		attempt = entry.Attempts + 1
	}
	claim := p.claimOf(inc.ID, inc.Episode, in.Level, level, attempt, now)
	if claimed && !entry.Released {
		// The earlier sender stopped without a word: it may have sent the
		// page and written its entry. The takeover resends the same page
		// and keeps its time, so it writes that entry, not a second one.
		claim.At = entry.At
	}
	fresh := incident.PlannedState(inc, in.Generation, incident.Step{Action: incident.ActPage, Level: in.Level})
	if inc, err = p.Store.ClaimPage(ctx, inc.ID, claim, fresh, now); err != nil {
		if incident.ErrorCode(err) == incident.EConflict {
			return &PageInProgressError{IncidentID: in.IncidentID, Level: in.Level}
		}
		return fmt.Errorf("page %s level %d: %w", in.IncidentID, in.Level, err)
	}
	return p.deliver(ctx, inc, claim, level, in.Reason, now)
}

// deliver sends a claimed page and settles it: sent, or rejected when the
// level can never be paged. Any other failure releases the claim and goes
// back as the error the state machine retries on.
func (p *Pager) deliver(ctx context.Context, inc incident.Incident, claim incident.Page, level incident.Level, reason string, now time.Time) error {
	if err := p.send(ctx, inc, claim, level, now); err != nil {
		if incident.ErrorCode(err) == incident.EUndeliverable {
			return p.reject(ctx, inc, claim, level, err.Error(), now)
		}
		return err
	}
	sent := claim
	sent.State = incident.PageSent
	if err := p.settle(ctx, inc.ID, sent, level, reason); err != nil {
		return err
	}
	slog.InfoContext(ctx, "paged", "incidentId", inc.ID, "level", claim.Level, "levelName", level.Name)
	return nil
}

// settle writes a page's timeline entry, then records its outcome in the
// ledger, noting there that the entry is written: the timeline says what
// happened even if the outcome is never recorded, and Plan writes the
// entry of an outcome recorded without it (see Planner.findings). A
// failed entry goes back as the error after the outcome is recorded, so
// the retried step writes it.
func (p *Pager) settle(ctx context.Context, id string, page incident.Page, level incident.Level, reason string) error {
	e := pageEntry(page, level, reason)
	_, entryErr := p.Store.AppendTimeline(ctx, id, e)
	if err := p.Store.SettlePage(ctx, id, page, e.ID, entryErr == nil); err != nil {
		return fmt.Errorf("page %s level %d: %s, but %w", id, page.Level, page.State, err)
	}
	if entryErr != nil {
		return fmt.Errorf("page %s level %d: %w", id, page.Level, entryErr)
	}
	return nil
}

// notePage writes the timeline entry of a recorded page, delivered or not.
// Its ID comes from the page's level and time, so writing it again changes
// nothing.
func (p *Pager) notePage(ctx context.Context, incidentID string, page incident.Page, level incident.Level, reason string) error {
	if _, err := p.Store.AppendTimeline(ctx, incidentID, pageEntry(page, level, reason)); err != nil {
		return fmt.Errorf("page %s level %d: %w", incidentID, page.Level, err)
	}
	return nil
}

// pageEntry is the timeline entry of a recorded page.
func pageEntry(page incident.Page, level incident.Level, reason string) incident.Entry {
	e := incident.Entry{
		ID:    pageEntryID(page),
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
	return e
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
// timeline unless it is the level's own (deliver records those with the
// page). The errors the state machine tells apart go back as their named
// types, unwrapped, so their type names reach the Retry rules.
func (p *Pager) send(ctx context.Context, inc incident.Incident, claim incident.Page, level incident.Level, now time.Time) error {
	key, err := p.Keys.RoutingKey(ctx, inc.RoutingKeyName(level.Name))
	if err == nil {
		_, err = p.PagerDuty.Trigger(ctx, key, inc, claim.Level, level)
	}
	if err == nil {
		return nil
	}
	if rerr := p.Store.ReleasePage(ctx, inc.ID, claim, now); rerr != nil {
		slog.ErrorContext(ctx, "release page claim", "incidentId", inc.ID, "error", rerr)
	}
	code := incident.ErrorCode(err)
	if code == incident.EUndeliverable {
		return err
	}
	n, attempt := claim.Level, claim.Attempts
	text := fmt.Sprintf("Page to %s (level %d) failed, attempt %d; it will be retried: %v", level.Title, n, attempt, err)
	switch code {
	case incident.EInvalid:
		// The same message as reject's feeds the pages-rejected alarm.
		slog.ErrorContext(ctx, "page rejected", "incidentId", inc.ID, "level", n, "levelName", level.Name, "error", err)
		p.forgetKeys()
		text = fmt.Sprintf("Page to %s (level %d) failed, attempt %d; it is retried every minute until the cause is fixed: %v", level.Title, n, attempt, err)
		err = &PageBlockedError{Reason: err.Error()}
	case incident.EUnavailable:
		slog.WarnContext(ctx, "page failed", "incidentId", inc.ID, "level", n, "attempt", attempt, "error", err)
		err = &PagerDutyUnavailableError{Reason: err.Error()}
	default:
		slog.WarnContext(ctx, "page failed", "incidentId", inc.ID, "level", n, "attempt", attempt, "error", err)
	}
	if _, terr := p.Store.AppendTimeline(ctx, inc.ID, incident.Entry{
		ID:    incident.EntryID(now, fmt.Sprintf("page-failed/%s%d/%d", episodeKey(claim.Episode), n, attempt)),
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

// reject records a page that cannot be delivered to its level: in the
// ledger, so the policy escalates past the level at once instead of
// retrying it forever, and on the timeline. The "page rejected" log record
// feeds the stack's pages-rejected alarm. Cached routing keys are dropped,
// so a corrected secret is read on the next page.
func (p *Pager) reject(ctx context.Context, inc incident.Incident, claim incident.Page, level incident.Level, reason string, now time.Time) error {
	slog.ErrorContext(ctx, "page rejected", "incidentId", inc.ID, "level", claim.Level, "levelName", level.Name, "error", reason)
	p.forgetKeys()
	rejected := claim
	rejected.State, rejected.Failure = incident.PageRejected, reason
	return p.settle(ctx, inc.ID, rejected, level, "")
}

func (p *Pager) forgetKeys() {
	if f, ok := p.Keys.(forgetter); ok {
		f.Forget()
	}
}

// pageEntryID is the ID of a page's timeline entry; the first episode
// keeps the plain form of its key.
func pageEntryID(page incident.Page) string {
	return incident.EntryID(page.At, fmt.Sprintf("page/%s%d", episodeKey(page.Episode), page.Level))
}

// episodeKey is "" for the first episode and "r<n>/" for re-openings.
func episodeKey(episode int) string {
	if episode == 0 {
		return ""
	}
	return fmt.Sprintf("r%d/", episode)
}
