package response_test

import (
	"errors"
	"testing"
	"time"

	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/response"
)

func pdEvent(typ, key string) response.PagerDutyEvent {
	return response.PagerDutyEvent{ID: "evt-" + typ, Type: typ, IncidentKey: key, Agent: "On-Call Engineer", OccurredAt: t0.Add(30 * time.Second)}
}

func TestPagerDutyWebhook(t *testing.T) {
	// paged reports an incident and records its first page, as the
	// escalation would have.
	paged := func(t *testing.T, f *fixture) (incident.Incident, string) {
		t.Helper()
		inc := f.report(t, "api", "P1", "api down")
		p := page(inc.ID, 0, 1)
		return f.setPages(t, inc.ID, 0, p), p.DedupKey
	}

	t.Run("acknowledged, then redelivered", func(t *testing.T) {
		f := newFixture(t)
		inc, key := paged(t, f)
		at := pdEvent("", "").OccurredAt // recorded as of when it happened in PagerDuty
		n := f.starter.count()
		if err := f.svc.PagerDutyWebhook(ctx, pdEvent("incident.acknowledged", key)); err != nil {
			t.Fatal(err)
		}
		got := f.get(t, inc.ID)
		if got.Status != incident.Acknowledged || got.AcknowledgedBy != "pagerduty:On-Call Engineer" || !got.AcknowledgedAt.Equal(at) || got.Generation != inc.Generation+1 {
			t.Errorf("incident = %+v, want acknowledged by pagerduty:On-Call Engineer at %s", got, at)
		}
		wantStarts(t, f.starter.since(n), start{inc.ID, inc.Generation + 1})
		if e := f.last(t, inc.ID); e.Kind != incident.EntryAcknowledged || e.Actor != "pagerduty:On-Call Engineer" {
			t.Errorf("entry = %+v, want acknowledged by pagerduty:On-Call Engineer", e)
		}

		f.clock.advance(time.Minute)
		entries := len(f.timeline(t, inc.ID))
		if err := f.svc.PagerDutyWebhook(ctx, pdEvent("incident.acknowledged", key)); err != nil {
			t.Errorf("redelivery: error = %v, want nil", err)
		}
		if again := f.get(t, inc.ID); again.Version != got.Version {
			t.Errorf("redelivery changed the incident: %+v", again)
		}
		if g := len(f.timeline(t, inc.ID)); g != entries {
			t.Errorf("redelivery: timeline has %d entries, want %d", g, entries)
		}
	})

	t.Run("without an agent", func(t *testing.T) {
		f := newFixture(t)
		inc, key := paged(t, f)
		e := pdEvent("incident.acknowledged", key)
		e.Agent = ""
		if err := f.svc.PagerDutyWebhook(ctx, e); err != nil {
			t.Fatal(err)
		}
		if got := f.get(t, inc.ID); got.AcknowledgedBy != "pagerduty" {
			t.Errorf("acknowledged by %q, want pagerduty", got.AcknowledgedBy)
		}
	})

	t.Run("resolved, then redelivered", func(t *testing.T) {
		f := newFixture(t)
		inc, key := paged(t, f)
		at := pdEvent("", "").OccurredAt // recorded as of when it happened in PagerDuty
		n := f.starter.count()
		if err := f.svc.PagerDutyWebhook(ctx, pdEvent("incident.resolved", key)); err != nil {
			t.Fatal(err)
		}
		got := f.get(t, inc.ID)
		if got.Status != incident.Resolved || got.ResolvedBy != "pagerduty:On-Call Engineer" || !got.ResolvedAt.Equal(at) || got.RootCause == "" {
			t.Errorf("incident = %+v, want resolved by pagerduty:On-Call Engineer at %s with a root cause", got, at)
		}
		wantStarts(t, f.starter.since(n), start{inc.ID, inc.Generation + 1})
		if e := f.last(t, inc.ID); e.Kind != incident.EntryResolved || e.Actor != "pagerduty:On-Call Engineer" {
			t.Errorf("entry = %+v", e)
		}

		f.clock.advance(time.Minute)
		for _, typ := range []string{"incident.resolved", "incident.acknowledged"} {
			if err := f.svc.PagerDutyWebhook(ctx, pdEvent(typ, key)); err != nil {
				t.Errorf("%s after resolution: error = %v, want nil", typ, err)
			}
		}
		if again := f.get(t, inc.ID); again.Version != got.Version {
			t.Errorf("redelivery changed the incident: %+v", again)
		}
	})

	t.Run("resolved after acknowledged", func(t *testing.T) {
		f := newFixture(t)
		inc, key := paged(t, f)
		if err := f.svc.PagerDutyWebhook(ctx, pdEvent("incident.acknowledged", key)); err != nil {
			t.Fatal(err)
		}
		f.clock.advance(time.Minute)
		if err := f.svc.PagerDutyWebhook(ctx, pdEvent("incident.resolved", key)); err != nil {
			t.Fatal(err)
		}
		if got := f.get(t, inc.ID); got.Status != incident.Resolved || got.AcknowledgedBy != "pagerduty:On-Call Engineer" {
			t.Errorf("incident = %+v, want resolved and the acknowledgement kept", got)
		}
	})

	t.Run("a page of an earlier episode changes nothing", func(t *testing.T) {
		f := newFixture(t)
		inc := f.report(t, "api", "P1", "api down")
		old := page(inc.ID, 0, 1)
		stored := f.setPages(t, inc.ID, 1, old)
		entries := len(f.timeline(t, inc.ID))
		n := f.starter.count()
		for _, typ := range []string{"incident.acknowledged", "incident.resolved"} {
			if err := f.svc.PagerDutyWebhook(ctx, pdEvent(typ, old.DedupKey)); err != nil {
				t.Errorf("%s: error = %v, want nil", typ, err)
			}
		}
		if got := f.get(t, inc.ID); got.Version != stored.Version || got.Status != incident.Triggered {
			t.Errorf("incident = %+v, want it unchanged", got)
		}
		if g := len(f.timeline(t, inc.ID)); g != entries {
			t.Errorf("timeline has %d entries, want %d", g, entries)
		}
		wantStarts(t, f.starter.since(n))
	})

	t.Run("a page of the current re-opened episode", func(t *testing.T) {
		f := newFixture(t)
		inc := f.report(t, "api", "P1", "api down")
		cur := page(inc.ID, 1, 1)
		f.setPages(t, inc.ID, 1, page(inc.ID, 0, 1), cur)
		if err := f.svc.PagerDutyWebhook(ctx, pdEvent("incident.acknowledged", cur.DedupKey)); err != nil {
			t.Fatal(err)
		}
		if got := f.get(t, inc.ID); got.Status != incident.Acknowledged {
			t.Errorf("status = %s, want acknowledged", got.Status)
		}
	})

	for _, tc := range []struct{ name, key string }{
		{"a key that is not ours", "foo"},
		{"an empty key", ""},
		{"a missing incident", "inc-x/level-1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			err := f.svc.PagerDutyWebhook(ctx, pdEvent("incident.acknowledged", tc.key))
			wantError(t, err, incident.ENotFound, "")
			wantStarts(t, f.starter.since(0))
		})
	}

	// A page can reach PagerDuty and be acknowledged there before it is
	// recorded on the incident (its Page task stopped after sending): its
	// claim in the page ledger says it was paged.
	t.Run("a page of this episode claimed but not recorded yet", func(t *testing.T) {
		f := newFixture(t)
		inc, _ := paged(t, f)
		key := incident.PageDedupKey(inc.ID, 0, 2)
		now := f.clock.Now()
		claim := incident.Page{Level: 2, LevelName: "team-lead", At: now, DedupKey: key, State: incident.PageClaimed, Attempts: 1, LeaseUntil: now.Add(time.Minute)}
		if _, err := f.store.ClaimPage(ctx, inc.ID, claim, incident.PlannedState(inc, 0, incident.Step{}), now); err != nil {
			t.Fatal(err)
		}
		if err := f.svc.PagerDutyWebhook(ctx, pdEvent("incident.acknowledged", key)); err != nil {
			t.Fatal(err)
		}
		if got := f.get(t, inc.ID); got.Status != incident.Acknowledged {
			t.Errorf("status = %s, want acknowledged", got.Status)
		}
	})

	// Finding M3: a signed webhook acted on any key shaped <id>/level-N;
	// level-42 resolved a P0. Only a page this episode sent or claimed
	// counts.
	for _, c := range []struct{ name, key string }{
		{"a level not in the policy", "/level-42"},
		{"a level of the policy never paged", "/level-3"},
		{"level zero", "/level-0"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			inc, _ := paged(t, f)
			entries := len(f.timeline(t, inc.ID))
			n := f.starter.count()
			for _, typ := range []string{"incident.resolved", "incident.acknowledged"} {
				err := f.svc.PagerDutyWebhook(ctx, pdEvent(typ, inc.ID+c.key))
				wantError(t, err, incident.ENotFound, "")
			}
			if got := f.get(t, inc.ID); got.Version != inc.Version || got.Status != incident.Triggered {
				t.Errorf("incident = %+v, want it unchanged", got)
			}
			if g := len(f.timeline(t, inc.ID)); g != entries {
				t.Errorf("timeline has %d entries, want %d", g, entries)
			}
			wantStarts(t, f.starter.since(n))
		})
	}

	t.Run("a page of a later episode than the incident's", func(t *testing.T) {
		f := newFixture(t)
		inc, _ := paged(t, f)
		err := f.svc.PagerDutyWebhook(ctx, pdEvent("incident.acknowledged", incident.PageDedupKey(inc.ID, 2, 1)))
		wantError(t, err, incident.ENotFound, "")
		if got := f.get(t, inc.ID); got.Status != incident.Triggered {
			t.Errorf("status = %s, want triggered", got.Status)
		}
	})

	t.Run("an unknown event type", func(t *testing.T) {
		f := newFixture(t)
		inc, key := paged(t, f)
		err := f.svc.PagerDutyWebhook(ctx, pdEvent("incident.annotated", key))
		wantError(t, err, incident.EInvalid, "")
		if got := f.get(t, inc.ID); got.Version != inc.Version {
			t.Errorf("incident = %+v, want it unchanged", got)
		}
	})
}

// TestPagerDutyRedeliveryCompletesAFailedStart: the first delivery's write
// lands but its escalation does not start (PagerDuty gets a 500); the
// redelivery starts the acknowledgement's generation.
func TestPagerDutyRedeliveryCompletesAFailedStart(t *testing.T) {
	f := newFixture(t)
	inc := f.report(t, "api", "P1", "api down")
	p := page(inc.ID, 0, 1)
	f.setPages(t, inc.ID, 0, p)
	f.starter.failWith(errors.New("ThrottlingException"))
	if err := f.svc.PagerDutyWebhook(ctx, pdEvent("incident.acknowledged", p.DedupKey)); err == nil {
		t.Fatal("first delivery: want the start's error, so PagerDuty retries")
	}
	f.starter.failWith(nil)
	n := f.starter.count()
	if err := f.svc.PagerDutyWebhook(ctx, pdEvent("incident.acknowledged", p.DedupKey)); err != nil {
		t.Fatal(err)
	}
	got := f.get(t, inc.ID)
	wantStarts(t, f.starter.since(n), start{inc.ID, got.Generation})
	if got.Status != incident.Acknowledged {
		t.Errorf("status = %s, want acknowledged", got.Status)
	}
}

// TestPagerDutyWebhookTime: an acknowledgement or resolution made in
// PagerDuty is recorded at the time it happened there (occurred_at), so a
// delivery retried after the response deadline does not record a breach
// that did not happen (finding L16); the time is bounded by the episode's
// start and by now.
func TestPagerDutyWebhookTime(t *testing.T) {
	p1Deadline := incident.DefaultPolicy().For(incident.P1).AcknowledgeWithin.D()
	t.Run("a late delivery after the response deadline", func(t *testing.T) {
		f := newFixture(t)
		inc := f.report(t, "api", "P1", "api down")
		p := page(inc.ID, 0, 1)
		f.setPages(t, inc.ID, 0, p)
		acked := inc.OpenedAt.Add(p1Deadline - 2*time.Minute)
		f.clock.advance(p1Deadline + 20*time.Minute)
		e := pdEvent("incident.acknowledged", p.DedupKey)
		e.OccurredAt = acked
		if err := f.svc.PagerDutyWebhook(ctx, e); err != nil {
			t.Fatal(err)
		}
		got := f.get(t, inc.ID)
		if !got.AcknowledgedAt.Equal(acked) {
			t.Errorf("acknowledged at %s, want %s (occurred_at)", got.AcknowledgedAt, acked)
		}
		for _, b := range incident.DueBreaches(got, f.svc.Policy, f.clock.Now()) {
			if b.Target == incident.TargetResponse {
				t.Errorf("a response breach is due after an acknowledgement in time: %+v", b)
			}
		}
		if e := f.last(t, inc.ID); !e.At.Equal(acked) {
			t.Errorf("timeline entry at %s, want %s", e.At, acked)
		}
	})
	t.Run("resolved late", func(t *testing.T) {
		f := newFixture(t)
		inc := f.report(t, "api", "P1", "api down")
		p := page(inc.ID, 0, 1)
		f.setPages(t, inc.ID, 0, p)
		resolved := inc.OpenedAt.Add(3 * time.Minute)
		f.clock.advance(5 * time.Hour)
		e := pdEvent("incident.resolved", p.DedupKey)
		e.OccurredAt = resolved
		if err := f.svc.PagerDutyWebhook(ctx, e); err != nil {
			t.Fatal(err)
		}
		got := f.get(t, inc.ID)
		if !got.ResolvedAt.Equal(resolved) || len(incident.DueBreaches(got, f.svc.Policy, f.clock.Now())) != 0 {
			t.Errorf("resolved at %s with breaches %v, want %s and none", got.ResolvedAt, incident.DueBreaches(got, f.svc.Policy, f.clock.Now()), resolved)
		}
	})
	for _, c := range []struct {
		name string
		at   func(opened, now time.Time) time.Time
		want func(opened, now time.Time) time.Time
	}{
		{"in the future beyond the skew: now", func(_, now time.Time) time.Time { return now.Add(time.Hour) }, func(_, now time.Time) time.Time { return now }},
		{"slightly in the future: now", func(_, now time.Time) time.Time { return now.Add(5 * time.Second) }, func(_, now time.Time) time.Time { return now }},
		{"before the incident opened: its opening", func(opened, _ time.Time) time.Time { return opened.Add(-time.Hour) }, func(opened, _ time.Time) time.Time { return opened }},
		{"missing: now", func(time.Time, time.Time) time.Time { return time.Time{} }, func(_, now time.Time) time.Time { return now }},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			inc := f.report(t, "api", "P1", "api down")
			p := page(inc.ID, 0, 1)
			f.setPages(t, inc.ID, 0, p)
			now := f.clock.advance(10 * time.Minute)
			e := pdEvent("incident.acknowledged", p.DedupKey)
			e.OccurredAt = c.at(inc.OpenedAt, now)
			if err := f.svc.PagerDutyWebhook(ctx, e); err != nil {
				t.Fatal(err)
			}
			if got, want := f.get(t, inc.ID).AcknowledgedAt, c.want(inc.OpenedAt, now); !got.Equal(want) {
				t.Errorf("acknowledged at %s, want %s", got, want)
			}
		})
	}
}
