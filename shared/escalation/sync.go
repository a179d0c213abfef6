package escalation

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"time"

	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/pagerduty"
)

// sync tells PagerDuty that the pages sent before the incident's
// acknowledgement are acknowledged, or that every page is resolved.
// PagerDuty treats a repeated acknowledge or resolve for a dedup key as a
// no-op, so a retried sync is harmless. A page whose routing key PagerDuty
// now refuses is marked done with the failure on the timeline: retrying
// cannot help, and the responders can close it in PagerDuty. Any other
// failure goes back unwrapped so that the state machine retries it.
func (p *Pager) sync(ctx context.Context, inc incident.Incident) error {
	todo := incident.PagesToSync(inc)
	now := p.Clock.Now()
	for _, i := range slices.Sorted(maps.Keys(todo)) {
		pg, st := inc.Pages[i], todo[i]
		key, err := p.Keys.RoutingKey(ctx, pg.LevelName)
		if err == nil {
			if st == incident.Resolved {
				err = p.PagerDuty.Resolve(ctx, key, pg.DedupKey)
			} else {
				err = p.PagerDuty.Acknowledge(ctx, key, pg.DedupKey)
			}
		}
		text := fmt.Sprintf("PagerDuty was told the page to %s is %s.", pg.LevelName, st)
		kind := incident.EntryPagerDutySynced
		if err != nil {
			if !levelUndeliverable(err) {
				slog.WarnContext(ctx, "pagerduty sync failed", "incidentId", inc.ID, "level", pg.Level, "status", st, "error", err)
				p.noteSyncFailure(ctx, inc, pg, st, err, now)
				var unavailable *pagerduty.PagerDutyUnavailableError
				if errors.As(err, &unavailable) {
					return err
				}
				return &PageBlockedError{Reason: err.Error()}
			}
			kind = incident.EntrySyncFailed
			text = fmt.Sprintf("PagerDuty could not be told the page to %s is %s, and retrying will not help: %v. Close it in PagerDuty.", pg.LevelName, st, err)
		}
		if _, err := incident.Update(ctx, p.Store, inc, func(inc *incident.Incident) bool {
			for j := range inc.Pages {
				if inc.Pages[j].Episode == pg.Episode && inc.Pages[j].Level == pg.Level && inc.Pages[j].Synced != st && inc.Pages[j].Synced != incident.Resolved {
					inc.Pages[j].Synced = st
					return true
				}
			}
			return false
		}); err != nil {
			return fmt.Errorf("sync %s: %w", inc.ID, err)
		}
		if _, err := p.Store.AppendTimeline(ctx, inc.ID, incident.Entry{
			ID:    incident.EntryID(now, fmt.Sprintf("sync/%s/%s%d", st, episodeKey(pg.Episode), pg.Level)),
			At:    now,
			Kind:  kind,
			Actor: "escalation",
			Text:  text,
			Data:  map[string]string{"level": fmt.Sprint(pg.Level), "dedupKey": pg.DedupKey, "status": string(st)},
		}); err != nil {
			return fmt.Errorf("sync %s: %w", inc.ID, err)
		}
		if inc, err = p.Store.GetIncident(ctx, inc.ID); err != nil {
			return fmt.Errorf("sync %s: %w", inc.ID, err)
		}
	}
	return nil
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
