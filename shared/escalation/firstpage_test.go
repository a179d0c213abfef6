package escalation_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dashboarduz/incident-response/shared/escalation"
	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/local/dynamotest"
	"github.com/dashboarduz/incident-response/shared/local/pagerdutylocal"
)

// callLog records the Page task's store calls, and how many pages
// PagerDuty had taken at each.
type callLog struct {
	escalation.PageStore
	rec   *pagerdutylocal.Recorder
	mu    sync.Mutex
	calls []string
}

func (c *callLog) note(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls = append(c.calls, name+"@"+string(rune('0'+c.rec.Triggers())))
}

func (c *callLog) take() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := strings.Join(c.calls, ",")
	c.calls = nil
	return s
}

func (c *callLog) IncidentAndWindows(ctx context.Context, id, service string) (incident.Incident, []incident.MaintenanceWindow, error) {
	c.note("IncidentAndWindows")
	return c.PageStore.IncidentAndWindows(ctx, id, service)
}

func (c *callLog) AppendTimeline(ctx context.Context, id string, e incident.Entry) (bool, error) {
	c.note("AppendTimeline")
	return c.PageStore.AppendTimeline(ctx, id, e)
}

func (c *callLog) ClaimPage(ctx context.Context, id string, p incident.Page, plan incident.EscalationState, now time.Time) (incident.Incident, error) {
	c.note("ClaimPage")
	return c.PageStore.ClaimPage(ctx, id, p, plan, now)
}

func (c *callLog) SettlePage(ctx context.Context, id string, p incident.Page, entryID string, noted bool) error {
	c.note("SettlePage")
	return c.PageStore.SettlePage(ctx, id, p, entryID, noted)
}

func (c *callLog) ReleasePage(ctx context.Context, id string, p incident.Page, now time.Time) error {
	c.note("ReleasePage")
	return c.PageStore.ReleasePage(ctx, id, p, now)
}

// newFirstPage is a fixture whose incident was created, as ingest creates
// it, with its first page claimed at t0; it returns the execution's first
// state and the log of the Page task's store calls.
func newFirstPage(t *testing.T) (*fixture, escalation.State, *callLog) {
	t.Helper()
	f := newFixture(t, incident.P0)
	f.store = dynamotest.New(t)
	step := incident.Next(f.inc, f.planner.Policy, t0, nil)
	if step.Action != incident.ActPage || step.Level != 1 {
		t.Fatalf("first step %+v, want a page to level 1", step)
	}
	inc := f.inc
	start := inc.ClaimFirstPage(step, t0)
	opened := incident.Entry{ID: incident.EntryID(t0, "event/e1"), At: t0, Kind: incident.EntryOpened, Actor: "cloudwatch", Text: "Incident opened."}
	if err := f.store.CreateIncident(context.Background(), inc, opened); err != nil {
		t.Fatal(err)
	}
	f.planner.Store = f.store
	log := &callLog{PageStore: f.store, rec: f.rec}
	f.pager.Store = log
	return f, start, log
}

// TestFirstPageIsSentOnIngestsClaim: the first page goes to PagerDuty
// before any store call, then its timeline entry and its outcome are
// written; Plan then counts it as any page.
func TestFirstPageIsSentOnIngestsClaim(t *testing.T) {
	ctx := context.Background()
	f, start, log := newFirstPage(t)
	f.clock.Set(t0.Add(300 * time.Millisecond))
	if _, err := f.pager.Handle(ctx, start); err != nil {
		t.Fatal(err)
	}
	if got := log.take(); got != "AppendTimeline@1,SettlePage@1" {
		t.Errorf("store calls (@ pages taken) = %s, want the page first, then AppendTimeline,SettlePage", got)
	}
	if got := f.rec.Triggers(); got != 1 {
		t.Fatalf("triggers = %d, want 1", got)
	}
	ev := f.rec.Events()[0]
	if ev.DedupKey != incident.PageDedupKey(f.inc.ID, 0, 1) || ev.Severity != "critical" || !strings.Contains(ev.Summary, "API 5xx error rate above 5%") {
		t.Errorf("page = %+v", ev)
	}
	inc := f.get(t)
	if p, ok := inc.PageFor(1); !ok || p.State != incident.PageSent || !p.At.Equal(t0) || p.Attempts != 1 {
		t.Errorf("ledger = %+v, want level 1 sent, claimed at t0", inc.Pages)
	}
	f.clock.Set(t0.Add(time.Minute))
	if st := f.plan(t); st.Action != incident.ActWait || st.FirstPage != nil {
		t.Errorf("plan after the first page = %+v, want a wait without the first page", st)
	}
	if got := f.rec.Triggers(); got != 1 {
		t.Errorf("triggers = %d, want 1", got)
	}
}

// TestFirstPageFailureGoesToPage: a failed send releases ingest's claim,
// and the Page state the failure is caught into claims the page again and
// sends it, once.
func TestFirstPageFailureGoesToPage(t *testing.T) {
	ctx := context.Background()
	f, start, log := newFirstPage(t)
	f.rec.FailNext(1, pagerdutylocal.Failure{Status: 503})
	_, err := f.pager.Handle(ctx, start)
	var unavailable *escalation.PagerDutyUnavailableError
	if !errors.As(err, &unavailable) {
		t.Fatalf("first page error = %v, want PagerDutyUnavailableError", err)
	}
	if got := log.take(); got != "ReleasePage@0,AppendTimeline@0" {
		t.Errorf("store calls = %s, want the claim released and the failure on the timeline", got)
	}
	caught := start
	caught.FirstPageError = &incident.TaskFailure{Error: "PagerDutyUnavailableError", Cause: err.Error()}
	f.clock.Set(t0.Add(10 * time.Second))
	if _, err := f.pager.Handle(ctx, caught); err != nil {
		t.Fatal(err)
	}
	if got := f.rec.Triggers(); got != 1 {
		t.Errorf("triggers = %d, want 1", got)
	}
	inc := f.get(t)
	if p, ok := inc.PageFor(1); !ok || p.State != incident.PageSent || p.Attempts != 2 {
		t.Errorf("ledger = %+v, want level 1 sent on the second claim", inc.Pages)
	}
}

// TestStaleFirstPageIsClaimedAgain: a first page whose claim is older
// than incident.FirstPageWithin is not sent on it; while the claim's lease
// lasts the page waits, and after it the page is taken over and sent once.
func TestStaleFirstPageIsClaimedAgain(t *testing.T) {
	ctx := context.Background()
	f, start, _ := newFirstPage(t)
	f.clock.Set(t0.Add(incident.FirstPageWithin))
	_, err := f.pager.Handle(ctx, start)
	var inProgress *escalation.PageInProgressError
	if !errors.As(err, &inProgress) || f.rec.Triggers() != 0 {
		t.Fatalf("stale first page: %v, %d triggers; want PageInProgressError and no page", err, f.rec.Triggers())
	}
	f.clock.Set(t0.Add(incident.PageLease))
	caught := start
	caught.FirstPageError = &incident.TaskFailure{Error: "PageInProgressError"}
	if _, err := f.pager.Handle(ctx, caught); err != nil {
		t.Fatal(err)
	}
	if got := f.rec.Triggers(); got != 1 {
		t.Errorf("triggers = %d, want 1", got)
	}
}

// TestFirstPageMustBeThePlannedPage: a first page whose claim is not the
// planned page is refused as input the task can never act on.
func TestFirstPageMustBeThePlannedPage(t *testing.T) {
	f, start, _ := newFirstPage(t)
	start.Level = 2
	_, err := f.pager.Handle(context.Background(), start)
	var invalid *escalation.InvalidInputError
	if !errors.As(err, &invalid) || f.rec.Triggers() != 0 {
		t.Fatalf("mismatched first page: %v, %d triggers; want InvalidInputError and no page", err, f.rec.Triggers())
	}
}
