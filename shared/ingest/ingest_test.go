package ingest_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dashboarduz/incident-response/shared/dynamo"
	"github.com/dashboarduz/incident-response/shared/eventbridge"
	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/ingest"
	"github.com/dashboarduz/incident-response/shared/local/dynamotest"
	"github.com/dashboarduz/incident-response/shared/statemachine"
)

// starts records the escalations a handler started.
type starts struct {
	mu     sync.Mutex
	ids    []string
	states []incident.EscalationState
	err    error
}

func (s *starts) StartEscalation(_ context.Context, st incident.EscalationState) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ids = append(s.ids, statemachine.ExecutionName(st.IncidentID, st.Generation))
	s.states = append(s.states, st)
	return s.err
}

func (s *starts) distinct() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := map[string]int{}
	for _, id := range s.ids {
		m[id]++
	}
	return m
}

func fixture(t *testing.T, name string) json.RawMessage {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "events", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func newHandler(t *testing.T) (*ingest.Handler, *dynamo.Store, *starts) {
	t.Helper()
	store := dynamotest.New(t)
	st := &starts{}
	return &ingest.Handler{Store: store, Starter: st, Rules: incident.DefaultClassificationRules(), Allow: eventbridge.DefaultAllowList(),
		Policy: incident.DefaultPolicy(), Memory: ingest.NewMemory(0)}, store, st
}

func openIncidents(t *testing.T, store *dynamo.Store) []incident.Incident {
	t.Helper()
	incs, err := store.ListOpen(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	return incs
}

func timeline(t *testing.T, store *dynamo.Store, id string) []incident.Entry {
	t.Helper()
	es, err := store.Timeline(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return es
}

func kinds(es []incident.Entry) string {
	var ks []string
	for _, e := range es {
		ks = append(ks, string(e.Kind))
	}
	return strings.Join(ks, ",")
}

func TestAlarmOpensOneIncident(t *testing.T) {
	ctx := context.Background()
	h, store, st := newHandler(t)
	res, err := h.Handle(ctx, fixture(t, "cloudwatch/api-5xx-alarm.json"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Route != incident.RouteOpen || res.IncidentID == "" {
		t.Fatalf("result = %+v, want an opened incident", res)
	}
	inc, err := store.GetIncident(ctx, res.IncidentID)
	if err != nil {
		t.Fatal(err)
	}
	want := incident.Incident{
		ID: res.IncidentID, Service: "dashboarduz-api", Category: incident.ServiceDown, Severity: incident.P0,
		Status: incident.Triggered, Source: "cloudwatch", SignalState: incident.Firing,
		DedupKey: "arn:aws:cloudwatch:us-east-1:123456789012:alarm:dashboarduz-api-5xx-errors",
		OpenedAt: time.Date(2026, 3, 1, 3, 0, 0, 0, time.UTC),
	}
	got := inc
	got.Title, got.Summary, got.Version = "", "", 0
	if got.ID != want.ID || got.Service != want.Service || got.Category != want.Category || got.Severity != want.Severity ||
		got.Status != want.Status || got.Source != want.Source || got.SignalState != want.SignalState ||
		got.DedupKey != want.DedupKey || !got.OpenedAt.Equal(want.OpenedAt) {
		t.Errorf("incident = %+v\nwant %+v", got, want)
	}
	if !strings.HasPrefix(inc.Title, "P0 dashboarduz-api - ") {
		t.Errorf("title = %q", inc.Title)
	}
	if got := kinds(timeline(t, store, inc.ID)); got != "opened" {
		t.Errorf("timeline = %s, want opened", got)
	}
	if got := st.distinct(); len(got) != 1 || got[inc.ID] == 0 {
		t.Errorf("escalations started = %v, want one for %s", got, inc.ID)
	}
}

func TestRedeliveryChangesNothing(t *testing.T) {
	ctx := context.Background()
	h, store, st := newHandler(t)
	ev := fixture(t, "cloudwatch/api-5xx-alarm.json")
	first, err := h.Handle(ctx, ev)
	if err != nil {
		t.Fatal(err)
	}
	before, _ := store.GetIncident(ctx, first.IncidentID)
	for range 3 {
		res, err := h.Handle(ctx, ev)
		if err != nil {
			t.Fatal(err)
		}
		if res.IncidentID != first.IncidentID {
			t.Fatalf("redelivery went to %s, want %s", res.IncidentID, first.IncidentID)
		}
	}
	after, _ := store.GetIncident(ctx, first.IncidentID)
	if after.Version != before.Version {
		t.Errorf("redelivery wrote the incident: version %d -> %d", before.Version, after.Version)
	}
	if n := len(openIncidents(t, store)); n != 1 {
		t.Errorf("%d open incidents, want 1", n)
	}
	if got := kinds(timeline(t, store, first.IncidentID)); got != "opened" {
		t.Errorf("timeline = %s, want opened", got)
	}
	if got := st.distinct(); len(got) != 1 {
		t.Errorf("escalations started for %v, want one incident", got)
	}
}

func TestConcurrentDuplicatesOpenOneIncident(t *testing.T) {
	ctx := context.Background()
	h, store, _ := newHandler(t)
	ev := fixture(t, "cloudwatch/api-5xx-alarm.json")
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for range 40 {
		wg.Go(func() {
			if _, err := h.Handle(ctx, ev); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	incs := openIncidents(t, store)
	if len(incs) != 1 {
		t.Fatalf("%d open incidents, want 1", len(incs))
	}
	if got := kinds(timeline(t, store, incs[0].ID)); got != "opened" {
		t.Errorf("timeline = %s, want opened", got)
	}
}

func TestAlarmLifecycle(t *testing.T) {
	ctx := context.Background()
	h, store, _ := newHandler(t)
	opened, err := h.Handle(ctx, fixture(t, "cloudwatch/api-5xx-alarm.json"))
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		fixture string
		want    incident.RouteKind
		state   incident.SignalState
	}{
		{"cloudwatch/api-5xx-ok.json", incident.RouteRecover, incident.Recovered},
		{"cloudwatch/api-5xx-insufficient-data.json", incident.RouteNote, incident.Inconclusive},
	}
	for _, s := range steps {
		res, err := h.Handle(ctx, fixture(t, s.fixture))
		if err != nil {
			t.Fatalf("%s: %v", s.fixture, err)
		}
		if res.Route != s.want || res.IncidentID != opened.IncidentID {
			t.Errorf("%s: result %+v, want %s on %s", s.fixture, res, s.want, opened.IncidentID)
		}
		inc, _ := store.GetIncident(ctx, opened.IncidentID)
		if inc.SignalState != s.state || inc.Status != incident.Triggered {
			t.Errorf("%s: signal state %s status %s, want %s triggered", s.fixture, inc.SignalState, inc.Status, s.state)
		}
	}
	if got := kinds(timeline(t, store, opened.IncidentID)); got != "opened,recovered,insufficient-data" {
		t.Errorf("timeline = %s", got)
	}
	if n := len(openIncidents(t, store)); n != 1 {
		t.Errorf("%d open incidents, want 1: OK notes the recovery, it does not resolve", n)
	}
}

func TestRecoveryWithoutIncidentIsIgnored(t *testing.T) {
	ctx := context.Background()
	h, store, st := newHandler(t)
	for _, f := range []string{"cloudwatch/api-5xx-ok.json", "cloudwatch/api-5xx-insufficient-data.json"} {
		res, err := h.Handle(ctx, fixture(t, f))
		if err != nil {
			t.Fatal(err)
		}
		if res.Route != incident.RouteIgnore || res.Reason == "" {
			t.Errorf("%s: result %+v, want ignored with a reason", f, res)
		}
	}
	if n := len(openIncidents(t, store)); n != 0 {
		t.Errorf("%d incidents, want none", n)
	}
	if len(st.distinct()) != 0 {
		t.Errorf("escalations started: %v", st.distinct())
	}
}

func TestAnotherAlarmEventJoins(t *testing.T) {
	ctx := context.Background()
	h, store, _ := newHandler(t)
	first, err := h.Handle(ctx, fixture(t, "cloudwatch/api-5xx-alarm.json"))
	if err != nil {
		t.Fatal(err)
	}
	again := withID(t, fixture(t, "cloudwatch/api-5xx-alarm.json"), "0d9f8a77-0000-4000-8000-000000000002")
	res, err := h.Handle(ctx, again)
	if err != nil {
		t.Fatal(err)
	}
	if res.Route != incident.RouteJoin || res.IncidentID != first.IncidentID {
		t.Errorf("result = %+v, want join of %s", res, first.IncidentID)
	}
	// A repeat of a firing alarm is counted on the incident in one write,
	// not written to the timeline.
	if got := kinds(timeline(t, store, first.IncidentID)); got != "opened" {
		t.Errorf("timeline = %s, want opened", got)
	}
	inc, err := store.GetIncident(ctx, first.IncidentID)
	if err != nil {
		t.Fatal(err)
	}
	if inc.Signals != 1 || !inc.SignalAt.Equal(time.Date(2026, 3, 1, 3, 1, 0, 0, time.UTC)) {
		t.Errorf("signals %d, latest at %v; want 1 at 03:01", inc.Signals, inc.SignalAt)
	}
}

func TestAlarmAfterResolutionOpensANewIncident(t *testing.T) {
	ctx := context.Background()
	h, store, _ := newHandler(t)
	first, err := h.Handle(ctx, fixture(t, "cloudwatch/api-5xx-alarm.json"))
	if err != nil {
		t.Fatal(err)
	}
	inc, _ := store.GetIncident(ctx, first.IncidentID)
	inc.Status = incident.Resolved
	inc.ResolvedAt = time.Date(2026, 3, 1, 3, 30, 0, 0, time.UTC)
	if _, err := store.UpdateIncident(ctx, inc); err != nil {
		t.Fatal(err)
	}
	// A late redelivery of the opening event (Lambda's async retries last
	// hours) must not open anything. The table decides it here: a function
	// instance that remembers the event answers from memory that it was
	// ingested (TestMemory).
	h.Memory = nil
	late, err := h.Handle(ctx, fixture(t, "cloudwatch/api-5xx-alarm.json"))
	if err != nil {
		t.Fatal(err)
	}
	if late.Route != incident.RouteIgnore {
		t.Errorf("late event: %+v, want ignored", late)
	}
	// 31 minutes after the resolution is past the re-open window.
	res, err := h.Handle(ctx, withTime(t, fixture(t, "cloudwatch/api-5xx-alarm.json"), "0d9f8a77-0000-4000-8000-000000000006", "2026-03-01T04:01:00.000+0000"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Route != incident.RouteOpen || res.IncidentID == first.IncidentID {
		t.Errorf("result = %+v, want a new incident", res)
	}
}

func TestAlarmWithinTheReopenWindowReopens(t *testing.T) {
	ctx := context.Background()
	h, store, st := newHandler(t)
	first, err := h.Handle(ctx, fixture(t, "cloudwatch/api-5xx-alarm.json"))
	if err != nil {
		t.Fatal(err)
	}
	resolve := func(at time.Time) {
		t.Helper()
		inc, _ := store.GetIncident(ctx, first.IncidentID)
		if err := inc.Resolve("oncall@example.com", "bad deploy", "", at); err != nil {
			t.Fatal(err)
		}
		if _, err := store.UpdateIncident(ctx, inc); err != nil {
			t.Fatal(err)
		}
	}
	resolve(time.Date(2026, 3, 1, 3, 30, 0, 0, time.UTC))
	again := withTime(t, fixture(t, "cloudwatch/api-5xx-alarm.json"), "0d9f8a77-0000-4000-8000-000000000007", "2026-03-01T03:50:00.000+0000")
	for range 3 { // redeliveries re-open once
		res, err := h.Handle(ctx, again)
		if err != nil {
			t.Fatal(err)
		}
		if res.IncidentID != first.IncidentID {
			t.Fatalf("result = %+v, want %s re-opened", res, first.IncidentID)
		}
	}
	inc, _ := store.GetIncident(ctx, first.IncidentID)
	if inc.Status != incident.Triggered || inc.Episode != 1 || !inc.EpisodeStart.Equal(time.Date(2026, 3, 1, 3, 50, 0, 0, time.UTC)) || !inc.ResolvedAt.IsZero() {
		t.Errorf("re-opened incident = status %s, episode %d, start %s, resolved %s", inc.Status, inc.Episode, inc.EpisodeStart, inc.ResolvedAt)
	}
	if got := kinds(timeline(t, store, first.IncidentID)); got != "opened,reopened" {
		t.Errorf("timeline = %s, want opened,reopened", got)
	}
	if d := st.distinct(); d[first.IncidentID+"-g2"] == 0 {
		t.Errorf("executions started = %v, want generation 2 (after the resolution's generation 1)", d)
	}
}

func TestFlappingAlarmIsMarkedOnce(t *testing.T) {
	ctx := context.Background()
	h, store, _ := newHandler(t)
	first, err := h.Handle(ctx, fixture(t, "cloudwatch/api-5xx-alarm.json"))
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 3, 1, 3, 0, 0, 0, time.UTC)
	// Resolved and fired again four times, ten minutes apart: the fourth
	// is more than the threshold of three within two hours.
	for i := 1; i <= 4; i++ {
		inc, _ := store.GetIncident(ctx, first.IncidentID)
		if err := inc.Resolve("oncall@example.com", "flaky", "", t0.Add(time.Duration(i*10-5)*time.Minute)); err != nil {
			t.Fatal(err)
		}
		if _, err := store.UpdateIncident(ctx, inc); err != nil {
			t.Fatal(err)
		}
		at := t0.Add(time.Duration(i*10) * time.Minute).Format("2006-01-02T15:04:05.000-0700")
		if _, err := h.Handle(ctx, withTime(t, fixture(t, "cloudwatch/api-5xx-alarm.json"), fmt.Sprintf("0d9f8a77-0000-4000-8000-00000000010%d", i), at)); err != nil {
			t.Fatal(err)
		}
	}
	inc, _ := store.GetIncident(ctx, first.IncidentID)
	if !inc.Flapping || inc.FlappingEpisode != 4 || inc.Episode != 4 {
		t.Errorf("incident = flapping %v since episode %d, episode %d; want flapping since 4", inc.Flapping, inc.FlappingEpisode, inc.Episode)
	}
	if got := kinds(timeline(t, store, first.IncidentID)); got != "opened,reopened,reopened,reopened,reopened,flapping" {
		t.Errorf("timeline = %s", got)
	}
}

func TestDirectInvocationOpensAnIncident(t *testing.T) {
	ctx := context.Background()
	h, store, _ := newHandler(t)
	res, err := h.Handle(ctx, fixture(t, "cloudwatch/database-direct-invocation.json"))
	if err != nil {
		t.Fatal(err)
	}
	inc, err := store.GetIncident(ctx, res.IncidentID)
	if err != nil {
		t.Fatal(err)
	}
	if inc.Service != "dashboarduz-production-db" || inc.Category != incident.Database {
		t.Errorf("incident = %s %s, want the database", inc.Service, inc.Category)
	}
}

func TestMalformedEventsAreRejected(t *testing.T) {
	ctx := context.Background()
	h, store, st := newHandler(t)
	tests := []struct {
		file, want string
	}{
		{"malformed/not-json.txt", "not JSON"},
		{"malformed/wrong-detail-type.json", "detail-type"},
		{"malformed/missing-alarm-name.json", "alarmName"},
		{"malformed/bad-timestamp.json", "timestamp"},
		{"malformed/bad-state.json", "state"},
		{"malformed/empty-object.json", ""},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			_, err := h.Handle(ctx, fixture(t, tt.file))
			var invalid *ingest.InvalidEventError
			if !errors.As(err, &invalid) {
				t.Fatalf("err = %v, want *InvalidEventError", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %q, want it to name %q", err, tt.want)
			}
		})
	}
	if n := len(openIncidents(t, store)); n != 0 {
		t.Errorf("%d incidents from malformed events, want none", n)
	}
	if len(st.distinct()) != 0 {
		t.Errorf("escalations started: %v", st.distinct())
	}
}

func TestHalfOpenedIncidentIsHealed(t *testing.T) {
	// A crash between claiming the alarm and writing the incident leaves a
	// pointer to nothing; the next firing event completes the opening.
	ctx := context.Background()
	h, store, st := newHandler(t)
	key := "arn:aws:cloudwatch:us-east-1:123456789012:alarm:dashboarduz-api-5xx-errors"
	if err := store.ClaimDedupKey(ctx, key, "inc-20260301-025900-0000000000", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Handle(ctx, fixture(t, "cloudwatch/api-5xx-alarm.json")); err != nil {
		t.Fatal(err)
	}
	inc, err := store.GetIncident(ctx, "inc-20260301-025900-0000000000")
	if err != nil {
		t.Fatalf("the half-opened incident was not completed: %v", err)
	}
	if inc.Severity != incident.P0 || st.distinct()[inc.ID] == 0 {
		t.Errorf("incident %+v, escalations %v", inc, st.distinct())
	}
	if n := len(openIncidents(t, store)); n != 1 {
		t.Errorf("%d open incidents, want 1", n)
	}
}

func TestStartFailureIsReturnedForRetry(t *testing.T) {
	ctx := context.Background()
	h, store, st := newHandler(t)
	st.err = errors.New("ThrottlingException")
	if _, err := h.Handle(ctx, fixture(t, "cloudwatch/api-5xx-alarm.json")); err == nil {
		t.Fatal("a failed start was swallowed; the event would not be retried")
	}
	st.err = nil
	res, err := h.Handle(ctx, fixture(t, "cloudwatch/api-5xx-alarm.json"))
	if err != nil {
		t.Fatal(err)
	}
	if st.distinct()[res.IncidentID] < 2 {
		t.Errorf("the retry did not start the escalation: %v", st.distinct())
	}
	if n := len(openIncidents(t, store)); n != 1 {
		t.Errorf("%d open incidents, want 1", n)
	}
}

// withID returns the EventBridge event with another event id, a minute
// later.
func withID(t *testing.T, ev json.RawMessage, id string) json.RawMessage {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(ev, &m); err != nil {
		t.Fatal(err)
	}
	m["id"] = id
	state := m["detail"].(map[string]any)["state"].(map[string]any)
	at, err := time.Parse("2006-01-02T15:04:05.000-0700", state["timestamp"].(string))
	if err != nil {
		t.Fatal(err)
	}
	state["timestamp"] = at.Add(time.Minute).Format("2006-01-02T15:04:05.000-0700")
	out, _ := json.Marshal(m)
	return out
}

// TestMain keeps the logs out of the output unless -v is given,
// and runs the tests against one dynalite.
func TestMain(m *testing.M) { dynamotest.MainQuiet(m) }

func TestSignalStateFollowsTheLatestChange(t *testing.T) {
	ctx := context.Background()
	h, store, _ := newHandler(t)
	opened, err := h.Handle(ctx, fixture(t, "cloudwatch/api-5xx-alarm.json"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Handle(ctx, fixture(t, "cloudwatch/api-5xx-ok.json")); err != nil {
		t.Fatal(err)
	}
	// The alarm fires again (a minute after the original, before the OK at
	// 03:07: a late delivery) and then again at 03:08.
	late := withID(t, fixture(t, "cloudwatch/api-5xx-alarm.json"), "0d9f8a77-0000-4000-8000-000000000004")
	if _, err := h.Handle(ctx, late); err != nil {
		t.Fatal(err)
	}
	if inc, _ := store.GetIncident(ctx, opened.IncidentID); inc.SignalState != incident.Recovered {
		t.Errorf("a late ALARM from 03:01 overwrote the OK from 03:07: %s", inc.SignalState)
	}
	refire := withTime(t, fixture(t, "cloudwatch/api-5xx-alarm.json"), "0d9f8a77-0000-4000-8000-000000000005", "2026-03-01T03:08:00.000+0000")
	if _, err := h.Handle(ctx, refire); err != nil {
		t.Fatal(err)
	}
	if inc, _ := store.GetIncident(ctx, opened.IncidentID); inc.SignalState != incident.Firing {
		t.Errorf("after the alarm fired again the incident says %s", inc.SignalState)
	}
}

func TestIgnoredAlarmOpensNothing(t *testing.T) {
	ctx := context.Background()
	h, store, st := newHandler(t)
	var m map[string]any
	if err := json.Unmarshal(fixture(t, "cloudwatch/api-cpu-alarm.json"), &m); err != nil {
		t.Fatal(err)
	}
	name := "TargetTracking-service/dashboarduz-production/dashboarduz-api-AlarmHigh-4e1c3a"
	m["detail"].(map[string]any)["alarmName"] = name
	m["resources"] = []string{"arn:aws:cloudwatch:us-east-1:123456789012:alarm:" + name}
	raw, _ := json.Marshal(m)
	res, err := h.Handle(ctx, raw)
	if err != nil {
		t.Fatal(err)
	}
	if res.Route != incident.RouteIgnore || !strings.Contains(res.Reason, "not an incident") {
		t.Errorf("result = %+v, want ignored by the classification rule", res)
	}
	if n := len(openIncidents(t, store)); n != 0 || len(st.distinct()) != 0 {
		t.Errorf("%d incidents, escalations %v; want none", n, st.distinct())
	}
}

// withTime returns the EventBridge event with another id and another state
// timestamp.
func withTime(t *testing.T, ev json.RawMessage, id, timestamp string) json.RawMessage {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(ev, &m); err != nil {
		t.Fatal(err)
	}
	m["id"] = id
	m["detail"].(map[string]any)["state"].(map[string]any)["timestamp"] = timestamp
	out, _ := json.Marshal(m)
	return out
}

func TestNewIncidentStartsWithItsFirstPagePlanned(t *testing.T) {
	ctx := context.Background()
	h, store, st := newHandler(t)
	at := time.Date(2026, 3, 1, 3, 0, 0, 0, time.UTC)
	h.Clock = incident.ClockFunc(func() time.Time { return at })
	res, err := h.Handle(ctx, fixture(t, "cloudwatch/api-5xx-alarm.json"))
	if err != nil {
		t.Fatal(err)
	}
	stored, err := store.GetIncident(ctx, res.IncidentID)
	if err != nil {
		t.Fatal(err)
	}
	// The write that created the incident claimed its first page, and the
	// execution starts by sending it on that claim.
	claim := incident.Page{
		Level: 1, LevelName: "on-call", At: at, DedupKey: res.IncidentID + "/level-1", State: incident.PageClaimed,
		Attempts: 1, LeaseUntil: at.Add(incident.PageLease),
	}
	if len(stored.Pages) != 1 || !reflect.DeepEqual(stored.Pages[0], claim) {
		t.Errorf("page ledger %+v, want the claim %+v", stored.Pages, claim)
	}
	want := incident.EscalationState{
		IncidentID: res.IncidentID, Service: "dashboarduz-api", Action: incident.ActPage, Level: 1, LevelName: "on-call",
		Reason: "a new incident pages the first level at once", Status: incident.Triggered, Severity: incident.P0,
		FirstPage: &incident.FirstPage{Claim: claim, Incident: stored.PageBrief()},
	}
	if len(st.states) != 1 || !reflect.DeepEqual(st.states[0], want) {
		t.Fatalf("started %+v (first page %+v), want %+v (first page %+v)", st.states, st.states[0].FirstPage, want, want.FirstPage)
	}

	// Under a maintenance window, Plan decides: the start carries no step.
	w := incident.MaintenanceWindow{ID: "mw-1", Service: "dashboarduz-worker", Start: at.Add(-time.Hour), End: at.Add(time.Hour), Reason: "upgrade"}
	if err := store.CreateMaintenanceWindow(ctx, w, at, nil); err != nil {
		t.Fatal(err)
	}
	res, err = h.Handle(ctx, fixture(t, "cloudwatch/worker-queue-backlog-metric-math.json"))
	if err != nil {
		t.Fatal(err)
	}
	if last := st.states[len(st.states)-1]; !reflect.DeepEqual(last, incident.StartOf(incident.Incident{ID: res.IncidentID, Service: "dashboarduz-worker"})) {
		t.Fatalf("started %+v under maintenance, want a plain start", last)
	}
}
