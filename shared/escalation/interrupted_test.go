package escalation_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/dashboarduz/incident-response/shared/escalation"
	"github.com/dashboarduz/incident-response/shared/incident"
)

// crashStore fails the first settling of a page, as if the Page Lambda
// died after PagerDuty took the page and before it recorded that.
type crashStore struct {
	escalation.PageStore
	done bool
}

func (c *crashStore) SettlePage(ctx context.Context, id string, p incident.Page, entryID string, noted bool) error {
	if !c.done {
		c.done = true
		return errors.New("simulated crash before the page is settled")
	}
	return c.PageStore.SettlePage(ctx, id, p, entryID, noted)
}

func TestPageSentButNotSettledIsAcknowledgedInPagerDuty(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, incident.P1)
	st := f.plan(t)
	if st.Action != incident.ActPage || st.Level != 1 {
		t.Fatalf("plan = %+v", st)
	}
	f.pager.Store = &crashStore{PageStore: f.store}
	if _, err := f.pager.Handle(ctx, st); err == nil {
		t.Fatal("want the simulated crash")
	}
	f.pager.Store = f.store

	// The on-call engineer got the page and acknowledges through the API
	// before Step Functions retries the Page task (2 s later).
	f.clock.Set(t0.Add(1 * time.Second))
	inc := f.get(t)
	if err := inc.Acknowledge("oncall@dashboarduz.example", f.clock.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.UpdateIncident(ctx, inc); err != nil {
		t.Fatal(err)
	}
	f.clock.Set(t0.Add(2 * time.Second))
	if _, err := f.pager.Handle(ctx, st); err != nil {
		t.Fatal(err)
	}
	// The acknowledgement's generation plans.
	st2, err := f.planner.Handle(ctx, escalation.State{IncidentID: f.inc.ID, Generation: 1})
	if err != nil {
		t.Fatal(err)
	}
	if st2.Action != incident.ActSync {
		t.Fatalf("plan after the acknowledgement: %+v, want sync", st2)
	}
	if _, err := f.pager.Handle(ctx, st2); err != nil {
		t.Fatal(err)
	}
	inc = f.get(t)
	if len(inc.Pages) != 1 || !inc.Pages[0].At.Equal(t0) || inc.Pages[0].Synced != incident.Acknowledged {
		t.Errorf("pages on the incident = %+v, want the on-call page claimed at 03:00, acknowledged", inc.Pages)
	}
	if a, _ := f.rec.Alert(incident.PageDedupKey(f.inc.ID, 0, 1)); a.State != "acknowledged" || f.rec.Triggers() != 1 {
		t.Errorf("PagerDuty alert = %+v after %d triggers, want the one alert acknowledged", a, f.rec.Triggers())
	}
}

// flakyTimeline fails the first timeline append, as a throttled or timed-out
// PutItem would; Step Functions then retries the Plan task.
type flakyTimeline struct {
	escalation.PlanStore
	failed bool
}

func (f *flakyTimeline) AppendTimeline(ctx context.Context, id string, e incident.Entry) (bool, error) {
	if !f.failed {
		f.failed = true
		return false, errors.New("ProvisionedThroughputExceededException")
	}
	return f.PlanStore.AppendTimeline(ctx, id, e)
}

func TestBreachReachesTheTimelineWhenPlanIsRetried(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, incident.P1)
	if _, err := f.pager.Handle(ctx, f.plan(t)); err != nil {
		t.Fatal(err)
	}
	f.clock.Set(t0.Add(15 * time.Minute))
	fl := &flakyTimeline{PlanStore: f.store}
	f.planner.Store = fl
	if _, err := f.planner.Handle(ctx, escalation.State{IncidentID: f.inc.ID}); err == nil {
		t.Fatal("first Plan at the deadline: want the timeline failure")
	}
	if _, err := f.planner.Handle(ctx, escalation.State{IncidentID: f.inc.ID}); err != nil { // the state machine's retry
		t.Fatal(err)
	}
	inc := f.get(t)
	es, _ := f.store.Timeline(ctx, f.inc.ID)
	n := 0
	for _, e := range es {
		if e.Kind == incident.EntryBreach {
			n++
		}
	}
	if len(inc.Breaches) != 1 || n != 1 {
		t.Errorf("breaches on the incident %+v, %d on the timeline; want the response breach on both", inc.Breaches, n)
	}
}
