package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dashboarduz/incident-response/shared/local/dynalite"
	"github.com/dashboarduz/incident-response/shared/local/pagerdutylocal"
)

// endpoint is one dynalite shared by this package's tests; each stack gets
// its own table.
var endpoint string

func TestMain(m *testing.M) {
	srv, err := dynalite.Start(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	endpoint = srv.Endpoint
	code := m.Run()
	if err := srv.Stop(); err != nil {
		// dynalite died under the tests: say why, and fail.
		fmt.Fprintln(os.Stderr, err)
		code = 1
	}
	os.Exit(code)
}

func newStack(t *testing.T) *Stack {
	t.Helper()
	// The fixtures' events happened at 03:00 on 1 March 2026.
	s, err := NewStack(context.Background(), Options{DynamoEndpoint: endpoint, Start: time.Date(2026, 3, 1, 3, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "events", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// distinctAlarms returns the ALARM events of 100 different alarms.
func distinctAlarms(t *testing.T) [][]byte {
	t.Helper()
	evs, err := ReadEvents(filepath.Join("..", "..", "events", "replay", "100-alarms.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 100 {
		t.Fatalf("%d events in 100-alarms.json", len(evs))
	}
	return evs
}

func TestReplayOneAlarmManyTimesOpensOneIncidentAndPagesOnce(t *testing.T) {
	s := newStack(t)
	ev := readFixture(t, "cloudwatch/api-5xx-alarm.json")
	sum, err := s.Replay(context.Background(), [][]byte{ev}, ReplayOptions{Repeat: 200, Concurrency: 16, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	want := ReplaySummary{Events: 200, Accepted: 200, Incidents: 1, Pages: 1, Executions: 1}
	if sum.Events != want.Events || sum.Accepted != want.Accepted || sum.Rejected != 0 || sum.Failed != 0 ||
		sum.Incidents != want.Incidents || sum.Pages != want.Pages || sum.Executions != want.Executions {
		t.Errorf("summary = %+v, want %+v", sum, want)
	}
}

func TestReplayDistinctAlarmsThenRedeliverLater(t *testing.T) {
	ctx := context.Background()
	s := newStack(t)
	events := distinctAlarms(t)
	sum, err := s.Replay(ctx, events, ReplayOptions{Repeat: 1, Concurrency: 16, Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Incidents != 100 || sum.Pages != 100 || sum.Rejected != 0 || sum.Failed != 0 {
		t.Fatalf("first delivery: %+v, want 100 incidents and 100 pages", sum)
	}
	// An hour later EventBridge delivers the same events again: nothing new
	// opens and nobody is paged again for them (the escalation of the open
	// incidents goes on, which is what the hour shows).
	later := s.Clock.Now().Add(time.Hour)
	if err := s.Exec.RunUntil(ctx, later); err != nil {
		t.Fatal(err)
	}
	pagesBefore := s.Recorder.Triggers()
	again, err := s.Replay(ctx, events, ReplayOptions{Repeat: 2, Concurrency: 8, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	if again.Incidents != 100 || again.Pages != pagesBefore || again.Failed != 0 {
		t.Errorf("redelivery: %+v, want 100 incidents and still %d pages", again, pagesBefore)
	}
}

func TestReplayRejectsMalformedEvents(t *testing.T) {
	s := newStack(t)
	var events [][]byte
	files, err := filepath.Glob(filepath.Join("..", "..", "events", "malformed", "*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no malformed fixtures: %v", err)
	}
	for _, f := range files {
		evs, err := ReadEvents(f)
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, evs...)
	}
	events = append(events, []byte(`{"source":"aws.ecs","detail-type":"ECS Task State Change","detail":{}}`))
	sum, err := s.Replay(context.Background(), events, ReplayOptions{Repeat: 3, Concurrency: 4, Seed: 4})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Rejected != 3*len(events) || sum.Accepted != 0 || sum.Incidents != 0 || sum.Pages != 0 {
		t.Errorf("summary = %+v, want all %d rejected, nothing opened or paged", sum, 3*len(events))
	}
	var reasons []string
	for r := range sum.Reasons {
		reasons = append(reasons, r)
	}
	all := strings.Join(reasons, "\n")
	for _, want := range []string{"not JSON", "detail-type", "alarmName is missing", "timestamp", "no rule matches source \"aws.ecs\""} {
		if !strings.Contains(all, want) {
			t.Errorf("no rejection names %q; reasons:\n%s", want, all)
		}
	}
}

func TestDemoScenario(t *testing.T) {
	t.Chdir(filepath.Join("..", ".."))
	sc, err := LoadScenario(DemoScenario)
	if err != nil {
		t.Fatal(err)
	}
	s := newStack(t)
	sum, err := s.Play(context.Background(), sc)
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckExpectations(sc, sum); err != nil {
		t.Fatal(err)
	}
	if len(sum.Incidents) != 1 || len(sum.Incidents[0].Pages) < 2 || sum.Incidents[0].Pages[1] != (PageSummary{Level: 2, LevelName: "team-lead", At: "5m0s"}) {
		t.Errorf("summary = %+v, want the team lead paged at 5m0s", sum)
	}
	var out bytes.Buffer
	if err := s.PrintTimeline(context.Background(), &out, sc.Start); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"opened", "Paged Team Lead (level 2, team-lead)", "+5m0s", "recovered", "+7m0s"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("timeline lacks %q:\n%s", want, out.String())
		}
	}
}

func TestCheckExpectationsCatchesADifference(t *testing.T) {
	sc := Scenario{Name: "x", Expect: []ExpectedIncident{{Severity: "P0", Pages: []PageSummary{{Level: 1, At: "0s"}}}}}
	sum := ScenarioSummary{Incidents: []IncidentSummary{{Severity: "P0", Pages: []PageSummary{{Level: 1, At: "1m0s"}}}}}
	if err := CheckExpectations(sc, sum); err == nil || !strings.Contains(err.Error(), "level 1 at 1m0s") {
		t.Errorf("err = %v, want a page mismatch", err)
	}
}

func TestRunReplayCommandPrintsJSONLast(t *testing.T) {
	var out bytes.Buffer
	f := filepath.Join("..", "..", "events", "cloudwatch", "api-5xx-alarm.json")
	if err := run(context.Background(), []string{"replay", "--repeat", "5", "--concurrency", "2", f}, &out); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var sum map[string]any
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &sum); err != nil {
		t.Fatalf("last line is not JSON: %q", lines[len(lines)-1])
	}
	for _, k := range []string{"events", "rejected", "incidents", "pages"} {
		if _, ok := sum[k]; !ok {
			t.Errorf("summary lacks %q: %v", k, sum)
		}
	}
	if sum["events"] != 5.0 || sum["incidents"] != 1.0 || sum["pages"] != 1.0 {
		t.Errorf("summary = %v", sum)
	}
}

// pageTimes returns the virtual times of an incident's failed pages
// and of its delivered ones, as offsets from start.
func pageTimes(t *testing.T, s *Stack, start time.Time) (failed, paged []string) {
	t.Helper()
	incs, err := s.Incidents(context.Background())
	if err != nil || len(incs) != 1 {
		t.Fatalf("incidents = %v, %v; want one", incs, err)
	}
	es, err := s.Store.Timeline(context.Background(), incs[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		switch e.Kind {
		case "page-failed":
			failed = append(failed, e.At.Sub(start).String())
		case "paged":
			paged = append(paged, e.At.Sub(start).String())
		}
	}
	return failed, paged
}

func TestPagerDutyOutageIsRetriedByTheStateMachine(t *testing.T) {
	ctx := context.Background()
	s := newStack(t)
	start := s.Clock.Now()
	s.Recorder.FailNext(3, pagerdutylocal.Failure{Status: 503})
	if _, err := s.Deliver(ctx, AtTime(readFixture(t, "cloudwatch/api-5xx-alarm.json"), start)); err != nil {
		t.Fatal(err)
	}
	if err := s.Exec.RunUntil(ctx, start.Add(4*time.Minute)); err != nil {
		t.Fatal(err)
	}
	failed, paged := pageTimes(t, s, start)
	// FirstPage fails at 0 s and its Catch waits 10 s (FirstPageBackoff)
	// before Page, whose Retry for PagerDutyUnavailableError is 10 s,
	// doubling: attempts at 0 s, 10 s, 20 s, 40 s.
	if got, want := strings.Join(failed, ","), "0s,10s,20s"; got != want {
		t.Errorf("failed pages at %s, want %s", got, want)
	}
	if got, want := strings.Join(paged, ","), "40s"; got != want {
		t.Errorf("delivered pages at %s, want %s", got, want)
	}
	if n := len(s.Recorder.AllAlerts()); n != 1 {
		t.Errorf("%d PagerDuty alerts, want 1", n)
	}
}

func TestLongPagerDutyOutageDelaysThePageButNeverDropsIt(t *testing.T) {
	ctx := context.Background()
	s := newStack(t)
	start := s.Clock.Now()
	// More failures than the Retry allows: the Catch waits a minute and
	// plans again, which pages again.
	s.Recorder.FailNext(12, pagerdutylocal.Failure{Status: 429, RetryAfter: time.Second})
	if _, err := s.Deliver(ctx, AtTime(readFixture(t, "cloudwatch/api-5xx-alarm.json"), start)); err != nil {
		t.Fatal(err)
	}
	if err := s.Exec.RunUntil(ctx, start.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	failed, paged := pageTimes(t, s, start)
	if len(failed) != 12 {
		t.Errorf("%d failed attempts on the timeline, want 12: %v", len(failed), failed)
	}
	if len(paged) == 0 {
		t.Fatal("the page was dropped")
	}
	alerts := map[string]bool{}
	for _, a := range s.Recorder.AllAlerts() {
		alerts[a.DedupKey] = true
	}
	incs, _ := s.Incidents(ctx)
	if !alerts[incs[0].ID+"/level-1"] || len(incs[0].Pages) != len(alerts) {
		t.Errorf("alerts %v, pages %+v: want one alert per delivered level", alerts, incs[0].Pages)
	}
	x, _ := s.Exec.Execution(incs[0].ID)
	if x.Status == "FAILED" {
		t.Errorf("the escalation failed: %s %s", x.Error, x.Cause)
	}
}

func TestRejectedPageEscalatesAtOnceAndEndsNothing(t *testing.T) {
	ctx := context.Background()
	s := newStack(t)
	start := s.Clock.Now()
	s.Recorder.FailNext(1, pagerdutylocal.Failure{Status: 400, Message: "Invalid routing key"})
	if _, err := s.Deliver(ctx, AtTime(readFixture(t, "cloudwatch/api-5xx-alarm.json"), start)); err != nil {
		t.Fatal(err)
	}
	if err := s.Exec.RunUntil(ctx, start.Add(7*time.Minute)); err != nil {
		t.Fatal(err)
	}
	incs, err := s.Incidents(ctx)
	if err != nil || len(incs) != 1 {
		t.Fatalf("incidents = %v, %v", incs, err)
	}
	var got []string
	for _, p := range incs[0].Pages {
		got = append(got, fmt.Sprintf("%d@%s delivered=%v", p.Level, p.At.Sub(start), p.Delivered()))
	}
	want := "1@0s delivered=false,2@0s delivered=true,3@5m0s delivered=true"
	if strings.Join(got, ",") != want {
		t.Errorf("pages = %s, want %s", strings.Join(got, ","), want)
	}
	if x, _ := s.Exec.Execution(incs[0].ID); x.Status != "RUNNING" {
		t.Errorf("execution %s: %s %s", x.Status, x.Error, x.Cause)
	}
}

func TestNobodyReachedFailsTheExecution(t *testing.T) {
	ctx := context.Background()
	s := newStack(t)
	start := s.Clock.Now()
	// Every level's routing key is refused: P0 goes up to the CTO, four pages.
	s.Recorder.FailNext(4, pagerdutylocal.Failure{Status: 400, Message: "Invalid routing key"})
	if _, err := s.Deliver(ctx, AtTime(readFixture(t, "cloudwatch/api-5xx-alarm.json"), start)); err != nil {
		t.Fatal(err)
	}
	if err := s.Exec.RunUntil(ctx, start.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	incs, _ := s.Incidents(ctx)
	x, _ := s.Exec.Execution(incs[0].ID)
	if x.Status != "FAILED" || x.Error != "NobodyReached" {
		t.Errorf("execution %s %s, want FAILED NobodyReached so the escalation-failures alarm fires", x.Status, x.Error)
	}
	if n := len(incs[0].Pages); n != 4 {
		t.Errorf("%d pages recorded, want 4 undeliverable", n)
	}
}

func TestInvalidTaskInputFailsTheExecution(t *testing.T) {
	ctx := context.Background()
	s := newStack(t)
	if err := s.Exec.Start(ctx, "bad-input", []byte(`{"incidentId": ""}`)); err != nil {
		t.Fatal(err)
	}
	if err := s.Exec.RunReady(ctx); err != nil {
		t.Fatal(err)
	}
	x, _ := s.Exec.Execution("bad-input")
	if x.Status != "FAILED" || x.Error != "InvalidInput" {
		t.Errorf("execution %s %s, want FAILED InvalidInput", x.Status, x.Error)
	}
}

func TestBlockedPageIsRetriedEveryMinuteUntilItGoesOut(t *testing.T) {
	ctx := context.Background()
	s := newStack(t)
	start := s.Clock.Now()
	s.Recorder.FailNext(3, pagerdutylocal.Failure{Status: 400, Message: "Event object is invalid"})
	if _, err := s.Deliver(ctx, AtTime(readFixture(t, "cloudwatch/api-5xx-alarm.json"), start)); err != nil {
		t.Fatal(err)
	}
	if err := s.Exec.RunUntil(ctx, start.Add(4*time.Minute)); err != nil {
		t.Fatal(err)
	}
	failed, paged := pageTimes(t, s, start)
	if got, want := strings.Join(failed, ","), "0s,1m0s,2m0s"; got != want {
		t.Errorf("failed attempts at %s, want %s", got, want)
	}
	if got, want := strings.Join(paged, ","), "3m0s"; got != want {
		t.Errorf("delivered at %s, want %s", got, want)
	}
}

// BenchmarkPipeline measures one alarm event through the whole local
// pipeline: ingest against dynalite, the state machine's first Plan and
// Page, and the PagerDuty recorder. Each operation is a new alarm.
func BenchmarkPipeline(b *testing.B) {
	ctx := context.Background()
	// At the fixture's time, so each alarm is new: opened and paged once.
	s, err := NewStack(ctx, Options{DynamoEndpoint: endpoint, Start: time.Date(2026, 3, 1, 3, 0, 0, 0, time.UTC)})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	var base map[string]any
	if err := json.Unmarshal(readFixture(b, "cloudwatch/api-5xx-alarm.json"), &base); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		name := fmt.Sprintf("bench-pipeline-%d", i)
		base["id"] = fmt.Sprintf("bench-%d", i)
		base["resources"] = []string{"arn:aws:cloudwatch:us-east-1:123456789012:alarm:" + name}
		base["detail"].(map[string]any)["alarmName"] = name
		raw, _ := json.Marshal(base)
		if _, err := s.Deliver(ctx, raw); err != nil {
			b.Fatal(err)
		}
		if err := s.Exec.RunReady(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if got := s.Recorder.Triggers(); got < b.N {
		b.Fatalf("%d pages for %d alarms", got, b.N)
	}
}

// TestLongEscalationHandsOverToFreshExecutions: a P0 nobody acknowledges
// through a long PagerDuty outage keeps planning; past the plans one
// execution may make it hands over to a fresh one of the same generation,
// so none outgrows Step Functions' history, and every level is still
// paged once.
func TestLongEscalationHandsOverToFreshExecutions(t *testing.T) {
	ctx := context.Background()
	s, err := NewStack(ctx, Options{DynamoEndpoint: endpoint, Start: time.Date(2026, 3, 1, 3, 0, 0, 0, time.UTC), HandoverAfter: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	start := s.Clock.Now()
	s.Recorder.FailNext(20, pagerdutylocal.Failure{Status: 503})
	if _, err := s.Deliver(ctx, AtTime(readFixture(t, "cloudwatch/api-5xx-alarm.json"), start)); err != nil {
		t.Fatal(err)
	}
	if err := s.Exec.RunUntil(ctx, start.Add(3*time.Hour)); err != nil {
		t.Fatal(err)
	}
	incs, _ := s.Incidents(ctx)
	var names []string
	for _, x := range s.Exec.Executions() {
		names = append(names, x.Name)
		if x.Status == "FAILED" {
			t.Errorf("execution %s failed: %s %s", x.Name, x.Error, x.Cause)
		}
	}
	if !slices.Contains(names, incs[0].ID+"-h1") || !slices.Contains(names, incs[0].ID+"-h2") {
		t.Errorf("executions %v, want hand-overs %s-h1, -h2 ...", names, incs[0].ID)
	}
	levels := map[string]int{}
	for _, a := range s.Recorder.AllAlerts() {
		levels[a.DedupKey]++
	}
	if len(levels) != 4 || s.Recorder.Triggers()-20 > len(levels) {
		t.Errorf("alerts %v after %d triggers (20 failed), want each of the four levels once", levels, s.Recorder.Triggers())
	}
}
