package escalation

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"time"

	"github.com/dashboarduz/incident-response/shared/incident"
)

// sync tells PagerDuty that the pages sent before the incident's
// acknowledgement are acknowledged, or that every page is resolved, and
// records what it told in one write. PagerDuty treats a repeated
// acknowledge or resolve for a dedup key as a no-op, so a retried sync is
// harmless. A page whose routing key PagerDuty now refuses is marked done
// with the failure on the timeline: retrying cannot help, and the
// responders can close it in PagerDuty. Any other failure records what was
// told so far and goes back as the error the state machine retries on.
func (p *Pager) sync(ctx context.Context, in State) error {
	inc, err := p.Store.GetIncident(ctx, in.IncidentID)
	if incident.ErrorCode(err) == incident.ENotFound {
		return &IncidentNotFoundError{IncidentID: in.IncidentID}
	}
	if err != nil {
		return fmt.Errorf("sync %s: %w", in.IncidentID, err)
	}
	now := p.Clock.Now()
	todo := incident.PagesToSync(inc)
	told := map[[2]int]incident.Status{}
	var entries []incident.Entry
	var failure error
	for _, i := range slices.Sorted(maps.Keys(todo)) {
		pg, st := inc.Pages[i], todo[i]
		e, err := p.tell(ctx, inc, pg, st, now)
		if err != nil {
			failure = err
			break
		}
		told[[2]int{pg.Episode, pg.Level}] = st
		entries = append(entries, e)
	}
	if len(told) > 0 {
		if err := p.Store.MarkSynced(ctx, inc.ID, told); err != nil {
			return fmt.Errorf("sync %s: %w", inc.ID, err)
		}
		for _, e := range entries {
			if _, err := p.Store.AppendTimeline(ctx, inc.ID, e); err != nil {
				return fmt.Errorf("sync %s: %w", inc.ID, err)
			}
		}
	}
	return failure
}

// tell passes one page's new state on to PagerDuty and returns the
// timeline entry that says so. A failure retrying may cure is recorded on
// the timeline and returned as the error the state machine retries on.
func (p *Pager) tell(ctx context.Context, inc incident.Incident, pg incident.Page, st incident.Status, now time.Time) (incident.Entry, error) {
	key, err := p.Keys.RoutingKey(ctx, inc.RoutingKeyName(pg.LevelName))
	if err == nil {
		if st == incident.Resolved {
			err = p.PagerDuty.Resolve(ctx, key, pg.DedupKey)
		} else {
			err = p.PagerDuty.Acknowledge(ctx, key, pg.DedupKey)
		}
	}
	e := incident.Entry{
		ID:    incident.EntryID(now, fmt.Sprintf("sync/%s/%s%d", st, episodeKey(pg.Episode), pg.Level)),
		At:    now,
		Kind:  incident.EntryPagerDutySynced,
		Actor: "escalation",
		Text:  fmt.Sprintf("PagerDuty was told the page to %s is %s.", pg.LevelName, st),
		Data:  map[string]string{"level": fmt.Sprint(pg.Level), "dedupKey": pg.DedupKey, "status": string(st)},
	}
	switch code := incident.ErrorCode(err); code {
	case "":
		return e, nil
	case incident.EUndeliverable:
		e.Kind = incident.EntrySyncFailed
		e.Text = fmt.Sprintf("PagerDuty could not be told the page to %s is %s, and retrying will not help: %v. Close it in PagerDuty.", pg.LevelName, st, err)
		return e, nil
	default:
		slog.WarnContext(ctx, "pagerduty sync failed", "incidentId", inc.ID, "level", pg.Level, "status", st, "error", err)
		p.noteSyncFailure(ctx, inc, pg, st, err, now)
		if code == incident.EUnavailable {
			return incident.Entry{}, &PagerDutyUnavailableError{Reason: err.Error()}
		}
		return incident.Entry{}, &PageBlockedError{Reason: err.Error()}
	}
}

// noteSyncFailure records a failed attempt on the timeline.
func (p *Pager) noteSyncFailure(ctx context.Context, inc incident.Incident, pg incident.Page, st incident.Status, cause error, now time.Time) {
	if _, err := p.Store.AppendTimeline(ctx, inc.ID, incident.Entry{
		ID:    incident.EntryID(now, fmt.Sprintf("sync-failed/%s/%s%d", st, episodeKey(pg.Episode), pg.Level)),
		At:    now,
		Kind:  incident.EntrySyncFailed,
		Actor: "escalation",
		Text:  fmt.Sprintf("Telling PagerDuty the page to %s is %s failed; it will be retried: %v", pg.LevelName, st, cause),
		Data:  map[string]string{"level": fmt.Sprint(pg.Level), "status": string(st)},
	}); err != nil {
		slog.ErrorContext(ctx, "record failed sync", "incidentId", inc.ID, "error", err)
	}
}
