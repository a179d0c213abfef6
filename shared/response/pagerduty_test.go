package response_test

import (
	"errors"
	"testing"
	"time"

	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/response"
)

func pdEvent(typ, key string) response.PagerDutyEvent {
	return response.PagerDutyEvent{ID: "evt-" + typ, Type: typ, IncidentKey: key, Agent: "On-Call Engineer", OccurredAt: t0}
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
		at := f.clock.Now()
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
		at := f.clock.Now()
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
	// recorded on the incident (its Page task stopped after sending): the
	// key alone says which incident and episode it belongs to.
	t.Run("a page of this episode not recorded yet", func(t *testing.T) {
		f := newFixture(t)
		inc, _ := paged(t, f)
		if err := f.svc.PagerDutyWebhook(ctx, pdEvent("incident.acknowledged", incident.PageDedupKey(inc.ID, 0, 3))); err != nil {
			t.Fatal(err)
		}
		if got := f.get(t, inc.ID); got.Status != incident.Acknowledged {
			t.Errorf("status = %s, want acknowledged", got.Status)
		}
	})

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
