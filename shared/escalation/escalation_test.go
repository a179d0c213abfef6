package escalation_test

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dashboarduz/incident-response/shared/comms"
	"github.com/dashboarduz/incident-response/shared/dynamo"
	"github.com/dashboarduz/incident-response/shared/escalation"
	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/local/dynamotest"
	"github.com/dashboarduz/incident-response/shared/local/pagerdutylocal"
	"github.com/dashboarduz/incident-response/shared/pagerduty"
	"github.com/dashboarduz/incident-response/shared/remediation"
	"github.com/dashboarduz/incident-response/shared/secrets"
	"github.com/dashboarduz/incident-response/shared/triage"
)

// TestMain keeps the logs out of the output unless -v is given,
// and runs the tests against one dynalite.
func TestMain(m *testing.M) { dynamotest.MainQuiet(m) }

var t0 = time.Date(2026, 3, 1, 3, 0, 0, 0, time.UTC)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }

type fixture struct {
	store   *dynamo.Store
	clock   *clock
	rec     *pagerdutylocal.Recorder
	planner *escalation.Planner
	pager   *escalation.Pager
	inc     incident.Incident
}

func keys(p incident.Policy) secrets.StaticRoutingKeys {
	k := secrets.StaticRoutingKeys{}
	for i, l := range p.Levels {
		k[l.Name] = strings.Repeat(string(rune('a'+i)), 32)
	}
	return k
}

func newFixture(t *testing.T, sev incident.Severity) *fixture {
	t.Helper()
	f := &fixture{store: dynamotest.New(t), clock: &clock{t: t0}}
	f.rec = pagerdutylocal.New(f.clock)
	srv, err := pagerdutylocal.Start(f.rec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	policy := incident.DefaultPolicy()
	f.planner = &escalation.Planner{Store: f.store, Policy: policy, Clock: f.clock}
	f.pager = &escalation.Pager{
		Store:     f.store,
		Keys:      keys(policy),
		PagerDuty: pagerduty.New(pagerduty.NewEventsClient(srv.URL), pagerduty.Options{Source: "test", Clock: f.clock}),
		Policy:    policy,
		Clock:     f.clock,
	}
	f.inc = incident.Open(incident.Signal{
		Source: "cloudwatch", EventID: "e1", DedupKey: "arn:alarm", Service: "dashboarduz-api",
		Category: incident.ServiceDown, Severity: sev, Summary: "API 5xx error rate above 5%", Time: t0, State: incident.Firing,
	})
	opened := incident.Entry{ID: incident.EntryID(t0, "event/e1"), At: t0, Kind: incident.EntryOpened, Actor: "cloudwatch", Text: "Incident opened."}
	if err := f.store.CreateIncident(context.Background(), f.inc, opened); err != nil {
		t.Fatal(err)
	}
	return f
}

// plan plans the next step of the escalation itself: follow-ups due
// first (triage with no sources, announcements with no channels) are run
// by their real tasks on the way, as the state machine would.
func (f *fixture) plan(t *testing.T) escalation.State {
	t.Helper()
	ctx := context.Background()
	triager := &triage.Handler{Store: f.store, Clock: f.clock}
	remediator := &remediation.Handler{Store: f.store, Clock: f.clock}
	notifier := &comms.Handler{Store: f.store, Clock: f.clock}
	for range 10 {
		st, err := f.planner.Handle(ctx, escalation.State{IncidentID: f.inc.ID})
		if err != nil {
			t.Fatal(err)
		}
		switch st.Action {
		case incident.ActTriage:
			_, err = triager.Handle(ctx, st)
		case incident.ActRemediate:
			_, err = remediator.Handle(ctx, st)
		case incident.ActNotify:
			_, err = notifier.Handle(ctx, st)
		default:
			return st
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	t.Fatal("the follow-ups never ran out")
	return escalation.State{}
}

func (f *fixture) get(t *testing.T) incident.Incident {
	t.Helper()
	inc, err := f.store.GetIncident(context.Background(), f.inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	return inc
}

func TestPlanThenPage(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, incident.P0)
	st := f.plan(t)
	if st.Action != incident.ActPage || st.Level != 1 || st.LevelName != "on-call" || st.IncidentID != f.inc.ID {
		t.Fatalf("first plan = %+v, want page on-call", st)
	}
	if _, err := f.pager.Handle(ctx, st); err != nil {
		t.Fatal(err)
	}
	if got := f.rec.Triggers(); got != 1 {
		t.Fatalf("triggers = %d, want 1", got)
	}
	ev := f.rec.Events()[0]
	if ev.DedupKey != incident.PageDedupKey(f.inc.ID, 0, 1) || ev.Severity != "critical" || ev.RoutingKey != strings.Repeat("a", 32) {
		t.Errorf("page = %+v", ev)
	}
	inc := f.get(t)
	if len(inc.Pages) != 1 || !inc.Pages[0].At.Equal(t0) || inc.Pages[0].LevelName != "on-call" {
		t.Errorf("pages on the incident = %+v", inc.Pages)
	}

	f.clock.Set(t0.Add(90 * time.Second))
	st = f.plan(t)
	if st.Action != incident.ActWait || st.WaitUntil != "2026-03-01T03:05:00Z" {
		t.Fatalf("second plan = %+v, want wait until 03:05:00Z", st)
	}
	f.clock.Set(t0.Add(5 * time.Minute))
	st = f.plan(t)
	if st.Action != incident.ActPage || st.Level != 2 {
		t.Fatalf("plan at the deadline = %+v, want page level 2", st)
	}
	if _, err := f.pager.Handle(ctx, st); err != nil {
		t.Fatal(err)
	}
	es, err := f.store.Timeline(ctx, f.inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, e := range es {
		texts = append(texts, e.Text)
	}
	if len(es) != 5 || !strings.Contains(texts[2], "Triage") || !strings.Contains(texts[3], "Missed the P0 response time") || !strings.Contains(texts[4], "Team Lead (level 2, team-lead)") {
		t.Errorf("timeline = %q", texts)
	}
}

func TestPageIsSentOnce(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, incident.P1)
	st := f.plan(t)
	for range 3 {
		if _, err := f.pager.Handle(ctx, st); err != nil {
			t.Fatal(err)
		}
	}
	if got := f.rec.Triggers(); got != 1 {
		t.Errorf("triggers = %d after three runs of one Page, want 1", got)
	}
}

func TestConcurrentPagesSendOnce(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, incident.P1)
	st := f.plan(t)
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			_, err := f.pager.Handle(ctx, st)
			var busy *escalation.PageInProgressError
			if err != nil && !errors.As(err, &busy) {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if got := f.rec.Triggers(); got != 1 {
		t.Errorf("triggers = %d, want 1", got)
	}
}

func TestCrashAfterClaimIsTakenOverOnce(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, incident.P0)
	st := f.plan(t)
	// An invocation claimed the page and died before sending it.
	if _, err := f.store.ClaimPage(ctx, f.inc.ID, claim(f.inc.ID, 1), st, t0); err != nil {
		t.Fatal(err)
	}
	_, err := f.pager.Handle(ctx, st)
	var busy *escalation.PageInProgressError
	if !errors.As(err, &busy) || reflect.TypeOf(err).Elem().Name() != "PageInProgressError" {
		t.Fatalf("err = %v, want PageInProgressError while the lease is live", err)
	}
	f.clock.Set(t0.Add(incident.PageLease))
	if _, err := f.pager.Handle(ctx, st); err != nil {
		t.Fatal(err)
	}
	if _, err := f.pager.Handle(ctx, st); err != nil {
		t.Fatal(err)
	}
	if got := f.rec.Triggers(); got != 1 {
		t.Errorf("triggers = %d, want 1", got)
	}
	// The crashed sender may have sent the page: the takeover keeps its
	// time, so the timeline has one entry for it whoever wrote it.
	if p := f.get(t).Pages; len(p) != 1 || !p[0].At.Equal(t0) || p[0].Attempts != 2 {
		t.Errorf("pages = %+v, want the first claim's time and two attempts", p)
	}
}

// claim is the claim a Page invocation makes on level at t0.
func claim(id string, level int) incident.Page {
	l, _ := incident.DefaultPolicy().Level(level)
	return incident.Page{
		Level: level, LevelName: l.Name, At: t0, DedupKey: incident.PageDedupKey(id, 0, level),
		State: incident.PageClaimed, Attempts: 1, LeaseUntil: t0.Add(incident.PageLease),
	}
}

func TestCrashAfterSendResendsWithTheSameDedupKey(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, incident.P0)
	st := f.plan(t)
	// An invocation claimed and sent the page, then died before settling
	// it: after the lease the page is sent again, with the same dedup_key,
	// so PagerDuty holds one alert (at least once, merged by PagerDuty).
	c := claim(f.inc.ID, 1)
	inc, err := f.store.ClaimPage(ctx, f.inc.ID, c, st, t0)
	if err != nil {
		t.Fatal(err)
	}
	l, _ := f.pager.Policy.Level(1)
	if _, err := f.pager.PagerDuty.Trigger(ctx, strings.Repeat("a", 32), inc, 1, l); err != nil {
		t.Fatal(err)
	}
	f.clock.Set(t0.Add(incident.PageLease))
	if _, err := f.pager.Handle(ctx, st); err != nil {
		t.Fatal(err)
	}
	if got := len(f.rec.Alerts()); got != 1 || f.rec.Triggers() != 2 {
		t.Errorf("%d alerts from %d triggers, want 1 alert from 2", got, f.rec.Triggers())
	}
	if p := f.get(t).Pages; len(p) != 1 || !p[0].Delivered() || p[0].Attempts != 2 {
		t.Errorf("pages = %+v, want level 1 delivered on the second attempt", p)
	}
}

func TestPagerDutyOutageIsRetriedAndRecorded(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, incident.P0)
	st := f.plan(t)
	f.rec.FailNext(2, pagerdutylocal.Failure{Status: http.StatusServiceUnavailable})
	for i := range 2 {
		_, err := f.pager.Handle(ctx, st)
		var down *escalation.PagerDutyUnavailableError
		if !errors.As(err, &down) {
			t.Fatalf("attempt %d: err = %v, want *PagerDutyUnavailableError", i+1, err)
		}
		if reflect.TypeOf(err).Elem().Name() != "PagerDutyUnavailableError" {
			t.Fatalf("the error reaches Step Functions as %T; its Retry would not match", err)
		}
		f.clock.Set(f.clock.Now().Add(10 * time.Second))
	}
	if _, err := f.pager.Handle(ctx, st); err != nil {
		t.Fatal(err)
	}
	if got := len(f.rec.Alerts()); got != 1 {
		t.Errorf("%d PagerDuty alerts, want 1", got)
	}
	es, _ := f.store.Timeline(ctx, f.inc.ID)
	var ks []string
	for _, e := range es {
		ks = append(ks, string(e.Kind))
	}
	if got := strings.Join(ks, ","); got != "opened,page-failed,page-failed,paged" {
		t.Errorf("timeline = %s, want two failures then the page", got)
	}
}

func TestNoPageForAcknowledgedIncident(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, incident.P0)
	st := f.plan(t)
	inc := f.get(t)
	inc.Status = incident.Acknowledged
	if _, err := f.store.UpdateIncident(ctx, inc); err != nil {
		t.Fatal(err)
	}
	if _, err := f.pager.Handle(ctx, st); err != nil {
		t.Fatal(err)
	}
	if f.rec.Triggers() != 0 {
		t.Errorf("an acknowledged incident was paged")
	}
	// The P0 rule "not resolved in 30 minutes" still stands.
	if st := f.plan(t); st.Action != incident.ActWait || st.WaitUntil != "2026-03-01T03:30:00Z" {
		t.Errorf("plan = %+v, want a wait for the 30-minute rule", st)
	}
}

func TestMissingIncident(t *testing.T) {
	f := newFixture(t, incident.P2)
	_, err := f.planner.Handle(context.Background(), escalation.State{IncidentID: "inc-missing"})
	var nf *escalation.IncidentNotFoundError
	if !errors.As(err, &nf) {
		t.Errorf("plan err = %v, want *IncidentNotFoundError", err)
	}
	_, err = f.pager.Handle(context.Background(), escalation.State{IncidentID: "inc-missing", Level: 1})
	if !errors.As(err, &nf) {
		t.Errorf("page err = %v, want *IncidentNotFoundError", err)
	}
}

func TestWaitTimestamp(t *testing.T) {
	tests := map[time.Time]string{
		t0:                                "2026-03-01T03:00:00Z",
		t0.Add(time.Nanosecond):           "2026-03-01T03:00:01Z",
		t0.Add(5*time.Minute + 999999999): "2026-03-01T03:05:01Z",
	}
	for in, want := range tests {
		if got := escalation.WaitTimestamp(in); got != want {
			t.Errorf("WaitTimestamp(%s) = %s, want %s", in, got, want)
		}
	}
}

func TestRejectedPageEscalatesPastTheLevel(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, incident.P1)
	f.rec.FailNext(1, pagerdutylocal.Failure{Status: http.StatusBadRequest, Message: "Invalid routing key"})
	st := f.plan(t)
	if _, err := f.pager.Handle(ctx, st); err != nil {
		t.Fatalf("a rejected page returned %v; the escalation must go on, not retry it", err)
	}
	inc := f.get(t)
	if len(inc.Pages) != 1 || inc.Pages[0].Delivered() {
		t.Fatalf("pages = %+v, want level 1 recorded as undeliverable", inc.Pages)
	}
	next := f.plan(t)
	if next.Action != incident.ActPage || next.Level != 2 {
		t.Fatalf("plan after the rejection = %+v, want page level 2 at once", next)
	}
	if _, err := f.pager.Handle(ctx, next); err != nil {
		t.Fatal(err)
	}
	if got := len(f.rec.Alerts()); got != 1 {
		t.Errorf("%d alerts, want 1 (level 2)", got)
	}
	es, _ := f.store.Timeline(ctx, f.inc.ID)
	var ks []string
	for _, e := range es {
		ks = append(ks, string(e.Kind))
	}
	if got := strings.Join(ks, ","); got != "opened,page-rejected,paged" {
		t.Errorf("timeline = %s", got)
	}
}

func TestMissingRoutingKeyEscalatesPastTheLevel(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, incident.P0)
	keys := keys(f.pager.Policy)
	delete(keys, "on-call")
	f.pager.Keys = keys
	if _, err := f.pager.Handle(ctx, f.plan(t)); err != nil {
		t.Fatal(err)
	}
	if p := f.get(t).Pages; len(p) != 1 || p[0].Delivered() || !strings.Contains(p[0].Failure, "on-call") {
		t.Errorf("pages = %+v, want level 1 undeliverable, naming the level", p)
	}
	if f.rec.Requests() != 0 {
		t.Errorf("PagerDuty got %d requests without a routing key", f.rec.Requests())
	}
}

func TestInvalidInputIsNotRetried(t *testing.T) {
	f := newFixture(t, incident.P2)
	var bad *escalation.InvalidInputError
	if _, err := f.planner.Handle(context.Background(), escalation.State{}); !errors.As(err, &bad) {
		t.Errorf("plan without an incident: %v, want *InvalidInputError", err)
	}
	if _, err := f.pager.Handle(context.Background(), escalation.State{IncidentID: f.inc.ID, Level: 9}); !errors.As(err, &bad) {
		t.Errorf("page of level 9: %v, want *InvalidInputError", err)
	}
}

// brokenSecret fails every lookup the way an unreadable secret does.
type brokenSecret struct {
	fixed secrets.StaticRoutingKeys
}

func (b *brokenSecret) RoutingKey(ctx context.Context, level string) (string, error) {
	if b.fixed != nil {
		return b.fixed.RoutingKey(ctx, level)
	}
	return "", incident.Errorf(incident.EInvalid, "secret keys is not valid JSON")
}

func TestBrokenSecretBlocksThePageUntilFixed(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, incident.P0)
	secret := &brokenSecret{}
	f.pager.Keys = secret
	st := f.plan(t)
	_, err := f.pager.Handle(ctx, st)
	var blocked *escalation.PageBlockedError
	if !errors.As(err, &blocked) || reflect.TypeOf(err).Elem().Name() != "PageBlockedError" {
		t.Fatalf("err = %v (%T), want *PageBlockedError: a broken secret must not skip every level", err, err)
	}
	if inc := f.get(t); len(inc.EpisodePages()) != 0 {
		t.Fatalf("pages = %+v, want none recorded while blocked", inc.Pages)
	}
	secret.fixed = keys(f.pager.Policy)
	f.clock.Set(t0.Add(time.Minute))
	if _, err := f.pager.Handle(ctx, f.plan(t)); err != nil {
		t.Fatal(err)
	}
	if p := f.get(t).Pages; len(p) != 1 || !p[0].Delivered() || p[0].Level != 1 {
		t.Errorf("pages = %+v, want level 1 delivered once the secret is fixed", p)
	}
}

func TestInvalidEventBodyBlocksRatherThanSkips(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, incident.P2)
	f.rec.FailNext(1, pagerdutylocal.Failure{Status: http.StatusBadRequest, Message: "Event object is invalid"})
	_, err := f.pager.Handle(ctx, f.plan(t))
	var blocked *escalation.PageBlockedError
	if !errors.As(err, &blocked) {
		t.Fatalf("err = %v, want *PageBlockedError", err)
	}
	if inc := f.get(t); len(inc.EpisodePages()) != 0 {
		t.Errorf("pages = %+v, want none recorded", inc.Pages)
	}
}

// TestTakeoverHonoursAWindowOpenedSincePlanning: a claim left by a
// crashed sender is taken over only after the policy is asked again, with
// the service's maintenance windows: a window that began since the plan
// holds the page.
func TestTakeoverHonoursAWindowOpenedSincePlanning(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, incident.P2)
	st := f.plan(t)
	if st.Action != incident.ActPage || st.Level != 1 {
		t.Fatalf("plan = %+v, want a page to level 1", st)
	}
	if _, err := f.store.ClaimPage(ctx, f.inc.ID, claim(f.inc.ID, 1), st, t0); err != nil {
		t.Fatal(err)
	}
	after := t0.Add(incident.PageLease)
	w := incident.MaintenanceWindow{ID: "mw-1", Service: f.inc.Service, Start: after.Add(-time.Minute), End: after.Add(time.Hour),
		Reason: "database upgrade", CreatedBy: "ic@example.com", CreatedAt: after.Add(-time.Minute)}
	if err := f.store.CreateMaintenanceWindow(ctx, w, after.Add(-time.Minute), nil); err != nil {
		t.Fatal(err)
	}
	f.clock.Set(after)
	if _, err := f.pager.Handle(ctx, st); err != nil {
		t.Fatal(err)
	}
	if got := f.rec.Triggers(); got != 0 {
		t.Errorf("triggers = %d, want none while the window holds the service", got)
	}
}
