package main

import (
	"bytes"
	"context"
	"io"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/dashboarduz/incident-response/scripts/bench"
	"github.com/dashboarduz/incident-response/shared/dynamo"
)

func alarmTemplate(t *testing.T) *bench.Devstack {
	t.Helper()
	d, err := bench.NewDevstack("", filepath.Join("..", "..", "events", "cloudwatch", "api-5xx-alarm.json"), nil)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// playPipeline plays n incidents, uncounted and counted, and returns the
// steps by name as runBench merges them, and the uncounted run.
func playPipeline(t *testing.T, n int) (map[string]bench.Step, pipelineRun) {
	t.Helper()
	ctx := context.Background()
	runs := map[bool]pipelineRun{}
	for _, counted := range []bool{false, true} {
		p, err := newProbe(ctx, endpoint, counted)
		if err != nil {
			t.Fatal(err)
		}
		run, err := p.runPipeline(ctx, alarmTemplate(t).Alarm, n)
		p.stack.Close()
		if err != nil {
			t.Fatal(err)
		}
		runs[counted] = run
	}
	byName := map[string]bench.Step{}
	for _, s := range mergeRuns(runs[true].steps, runs[false].steps) {
		byName[s.Name] = s
	}
	for _, name := range append(lifecycleSteps, stepDuplicate, stepRedelivery) {
		if _, ok := byName[name]; !ok {
			t.Errorf("no step %q", name)
		}
	}
	return byName, runs[false]
}

func TestBenchPipelineMeasuresAnIncidentsLife(t *testing.T) {
	const n = 2
	byName, plain := playPipeline(t, n)
	ingest, first := byName[stepIngest], byName[stepFirstPage]
	if ingest.Invocations[fnIngest] != 1 || ingest.DynamoDBCalls < 1 || ingest.WriteUnits < 1 {
		t.Errorf("ingest of a new alarm: %+v, want one invocation that reads and writes", ingest)
	}
	if first.Pages != 1 || first.Transitions != 2 || first.Invocations[fnPage] != 1 || len(first.Invocations) != 1 {
		t.Errorf("the first page: %+v, want one page through Begin and FirstPage, and no other function", first)
	}
	// The written budget: DynamoDB calls before PagerDuty has the first
	// page (ingest's; FirstPage sends before it writes) and until it is
	// settled, per duplicate, and calls and transitions over a whole life.
	if n := ingest.DynamoDBCalls; n > budgetCallsBeforePage {
		t.Errorf("ingest made %v DynamoDB calls (%v) before the first page, want at most %d", n, ingest.ByOperation, budgetCallsBeforePage)
	}
	if n := ingest.DynamoDBCalls + first.DynamoDBCalls; n > budgetFirstPageCalls {
		t.Errorf("a new alarm made %v DynamoDB calls to its first page (ingest %v, page %v), want at most %d", n, ingest.ByOperation, first.ByOperation, budgetFirstPageCalls)
	}
	if n := byName[stepDuplicate].DynamoDBCalls; n > budgetDuplicateCalls {
		t.Errorf("a duplicate made %v DynamoDB calls, want at most %d", n, budgetDuplicateCalls)
	}
	if n := byName[stepColdDuplicate].DynamoDBCalls; n > budgetColdDuplicate {
		t.Errorf("a duplicate on a function instance that had not seen the alarm made %v DynamoDB calls, want at most %d", n, budgetColdDuplicate)
	}
	if n := byName[stepRedelivery].DynamoDBCalls; n != 0 {
		t.Errorf("a redelivery made %v DynamoDB calls (%v), want none on the instance that ingested the event", n, byName[stepRedelivery].ByOperation)
	}
	var life bench.Step
	for _, name := range lifecycleSteps {
		life = life.Add(byName[name])
	}
	if life.DynamoDBCalls > budgetLifecycleCalls || life.Transitions > budgetLifecycleTransits {
		t.Errorf("an incident's life made %v DynamoDB calls and %v state transitions, want at most %d and %d",
			life.DynamoDBCalls, life.Transitions, budgetLifecycleCalls, budgetLifecycleTransits)
	}
	if f := byName[stepFollowUps]; f.Pages != 0 || f.Invocations[fnTriage] < 1 || f.Invocations[fnNotify] < 1 {
		t.Errorf("after the first page: %+v, want triage and messages, and no page", f)
	}
	if d := byName[stepDuplicate]; d.Pages != 0 || d.Invocations[fnIngest] != 1 || d.DynamoDBCalls < 1 {
		t.Errorf("duplicate: %+v, want one invocation, some calls, no page", d)
	}
	if a := byName[stepAck]; a.Invocations[fnAPI] != 1 || a.Transitions < 1 {
		t.Errorf("acknowledge: %+v, want one API call that re-plans", a)
	}
	// The uncounted run's durations are kept; its DynamoDB figures come
	// from the counted one.
	if plain.steps[0].DynamoDBCalls != 0 {
		t.Error("the uncounted run counted DynamoDB calls")
	}
	if ingest.BilledMs[fnIngest] < 1 {
		t.Errorf("ingest billed %v ms, want at least 1", ingest.BilledMs)
	}
	if a := plain.allocations; a.Alarms != n || a.AllocsPerAlarm < 1 || a.BytesPerAlarm < 1 {
		t.Errorf("allocations %+v", a)
	}
}

func TestBenchAgainstTheDevServerPagesEveryStormAlarmOnce(t *testing.T) {
	t.Setenv("DEVSTACK_KEY_FILE", filepath.Join(t.TempDir(), "key.pem"))
	api, err := bench.StartEventsAPI("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer api.Close()
	o := benchOptions{
		alarmFile: filepath.Join("..", "..", "events", "cloudwatch", "api-5xx-alarm.json"),
		alarms:    5, stormAlarms: 4, stormRepeats: 5, senders: 4, redeliveries: true,
	}
	var r bench.Report
	if err := benchDevServer(context.Background(), endpoint, api, o, &r, io.Discard); err != nil {
		t.Fatal(err)
	}
	if r.Latency == nil || r.Latency.Alarms != 5 || r.Latency.P50Ms <= 0 {
		t.Errorf("latency %+v", r.Latency)
	}
	for _, st := range []*bench.Storm{r.Storm, r.RedeliveryStorm} {
		if st == nil || st.Events != 20 || st.Incidents != 4 || st.Pages != 4 || st.Duplicates != 16 {
			t.Fatalf("storm %+v, want 20 events, 4 incidents, 4 pages, 16 duplicates", st)
		}
	}
	// Each new alarm reads its pointer (with the service's windows) in one
	// batch read; each repeat, on the dev server that saw the alarm, joins
	// in one conditional update.
	if c := r.Storm.DynamoDBCalls; c["BatchGetItem"] < 4 || c["UpdateItem"] < 16 {
		t.Errorf("storm DynamoDB calls %v, want a batch read per alarm and an update per repeat at least", c)
	}
}

func TestPriceItPricesAnIncidentAndAMillionDuplicates(t *testing.T) {
	prices, err := bench.ParsePrices(bench.DefaultPrices)
	if err != nil {
		t.Fatal(err)
	}
	life := bench.Step{Name: "life", ReadUnits: 10, WriteUnits: 20, Transitions: 24, Invocations: map[string]float64{fnPlan: 8}, BilledMs: map[string]float64{fnPlan: 80}}
	r := bench.Report{
		Steps: []bench.Step{
			{Name: stepDuplicate, WriteUnits: 6, Invocations: map[string]float64{fnIngest: 1}, BilledMs: map[string]float64{fnIngest: 5}},
			{Name: stepColdDuplicate, ReadUnits: 2, WriteUnits: 6, Invocations: map[string]float64{fnIngest: 1}, BilledMs: map[string]float64{fnIngest: 5}},
		},
		Lifecycle: &life,
	}
	costs, notes := priceIt(r, prices, 256)
	if len(costs) != 3 || len(notes) == 0 {
		t.Fatalf("%d costs, %d notes", len(costs), len(notes))
	}
	if u := costs[0].Usage; u.Transitions != 24000 || u.APIRequests != 2000 || u.LambdaRequests != 8000 {
		t.Errorf("per 1,000 incidents: %+v", u)
	}
	// A million duplicates: 6 WRU each is $3.75; on fresh instances, 2 RRU
	// more each is $0.25 more.
	if c := costs[1].Cost; c.DynamoDB != 3.75 || c.StepFunctions != 0 || c.Total <= c.DynamoDB {
		t.Errorf("per million duplicates: %+v", c)
	}
	if c := costs[2].Cost; c.DynamoDB != 4 || c.Total <= c.DynamoDB {
		t.Errorf("per million duplicates on fresh instances: %+v", c)
	}
}

// syncBuffer is a bytes.Buffer safe to read while the dev server writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var apiLine = regexp.MustCompile(`Incident API on (http://[0-9.:]+)`)

// runDevWith runs `devstack dev args...` until stop is called; it returns
// the server's base URL and what it printed.
func runDevWith(t *testing.T, args ...string) (string, *syncBuffer, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuffer{}
	done := make(chan error, 1)
	go func() { done <- runDev(ctx, args, out) }()
	stop := func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("dev: %v", err)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if m := apiLine.FindStringSubmatch(out.String()); m != nil {
			return m[1], out, stop
		}
		select {
		case err := <-done:
			t.Fatalf("dev stopped: %v\n%s", err, out.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	stop()
	t.Fatalf("dev did not start: %s", out.String())
	return "", nil, nil
}

func TestDevRunsAgainstAnExistingDynamoDBEndpointAndTable(t *testing.T) {
	t.Setenv("DEVSTACK_KEY_FILE", filepath.Join(t.TempDir(), "key.pem"))
	table := "devstack-existing-" + strings.ReplaceAll(time.Now().Format("150405.000000"), ".", "")
	args := []string{"--addr", "127.0.0.1:0", "--dynamodb-endpoint", endpoint, "--table", table}
	alarm := readFixture(t, "cloudwatch/api-5xx-alarm.json")

	// The first run creates the missing table and opens an incident.
	base, out, stop := runDevWith(t, args...)
	if want := "DynamoDB: " + endpoint + ", table " + table; !strings.Contains(out.String(), want) {
		t.Errorf("dev printed %q, want it to say %q", out.String(), want)
	}
	code, v := do(t, "POST", base+"/events?at=now", "", alarm)
	entries, _ := v["Entries"].([]any)
	if code != 200 || len(entries) != 1 {
		t.Fatalf("POST /events: %d %v", code, v)
	}
	id, _ := entries[0].(map[string]any)["IncidentId"].(string)
	stop()
	if _, err := dynamo.LocalClient(endpoint).DescribeTable(context.Background(), &dynamodb.DescribeTableInput{TableName: aws.String(table)}); err != nil {
		t.Fatalf("the table was not created: %v", err)
	}

	// The second run uses the table as it is: the incident is still there.
	base, _, stop = runDevWith(t, args...)
	defer stop()
	var tok bytes.Buffer
	if err := runToken(nil, &tok); err != nil {
		t.Fatal(err)
	}
	if code, v := do(t, "GET", base+"/incidents/"+id, strings.TrimSpace(tok.String()), nil); code != 200 || v["id"] != id {
		t.Errorf("GET the first run's incident %s: %d %v", id, code, v)
	}
}

func TestNewDynamoClient(t *testing.T) {
	if _, err := newDynamoClient("dynamodb.local:8000", nil); err == nil {
		t.Error("an endpoint without a scheme was accepted")
	}
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_REGION", "eu-west-1")
	for _, c := range []struct {
		endpoint, region, key string
	}{
		{"http://127.0.0.1:8000", "us-east-1", "local"},
		{"http://localhost:8000", "us-east-1", "local"},
		{"https://dynamodb.eu-west-1.amazonaws.com", "eu-west-1", "AKIDEXAMPLE"},
	} {
		client, err := newDynamoClient(c.endpoint, nil)
		if err != nil {
			t.Fatal(err)
		}
		o := client.Options()
		creds, err := o.Credentials.Retrieve(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if o.Region != c.region || creds.AccessKeyID != c.key {
			t.Errorf("%s: region %s, key %s; want %s, %s", c.endpoint, o.Region, creds.AccessKeyID, c.region, c.key)
		}
	}
}
