package triage_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	awscloudwatch "github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	awsecs "github.com/aws/aws-sdk-go-v2/service/ecs"
	awsrds "github.com/aws/aws-sdk-go-v2/service/rds"

	"github.com/dashboarduz/incident-response/shared/cloudwatch"
	"github.com/dashboarduz/incident-response/shared/ecs"
	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/local/awslocal"
	"github.com/dashboarduz/incident-response/shared/local/dynamotest"
	"github.com/dashboarduz/incident-response/shared/logs"
	"github.com/dashboarduz/incident-response/shared/rds"
	"github.com/dashboarduz/incident-response/shared/triage"
	"github.com/dashboarduz/incident-response/shared/triage/evidence"
)

func TestMain(m *testing.M) { dynamotest.Main(m) }

var t0 = time.Date(2026, 3, 1, 3, 0, 0, 0, time.UTC)

var clock = incident.ClockFunc(func() time.Time { return t0.Add(time.Minute) })

func f(v float64) *float64 { return &v }

// world is production as the runbook names it, in trouble: the API runs
// one of four tasks, three stopped with an error, 20 minutes after a
// deployment; its log group holds error lines, one with a password.
func world() awslocal.World {
	exit := int32(137)
	stopped := []awslocal.Task{}
	for i := range 3 {
		stopped = append(stopped, awslocal.Task{ID: fmt.Sprintf("t%d", i), StoppedReason: "Essential container in task exited", StopCode: "EssentialContainerExited",
			StoppedAt: t0.Add(-time.Duration(i+1) * time.Minute), Containers: []awslocal.Container{{Name: "app", ExitCode: &exit, Reason: "OutOfMemoryError: Container killed due to memory usage"}}})
	}
	return awslocal.World{
		Clusters: []awslocal.Cluster{{Name: "dashboarduz-production", Services: []awslocal.Service{
			{Name: "dashboarduz-api", DesiredCount: 4, RunningCount: 1, CPUUtilization: f(91.5), MemoryUtilization: f(97),
				Deployments: []awslocal.Deployment{{ID: "ecs-svc/2", Status: "PRIMARY", TaskDefinition: "dashboarduz-api:43", DesiredCount: 4, RunningCount: 1,
					RolloutState: "COMPLETED", CreatedAt: t0.Add(-20 * time.Minute), UpdatedAt: t0.Add(-18 * time.Minute)}},
				StoppedTasks: stopped},
			{Name: "dashboarduz-worker", DesiredCount: 2, RunningCount: 2, TaskDefinition: "dashboarduz-worker:7", CPUUtilization: f(40), MemoryUtilization: f(55)},
		}}},
		TaskDefinitions: []awslocal.TaskDefinition{{Family: "dashboarduz-api", Revision: 42}},
		LogGroups: []awslocal.LogGroup{{Name: "/ecs/dashboarduz-api", Events: []awslocal.LogEvent{
			{Time: t0.Add(-3 * time.Minute), Stream: "app/1", Message: "INFO request served"},
			{Time: t0.Add(-2 * time.Minute), Stream: "app/1", Message: "ERROR connect to postgres://app:s3cretpass@db:5432 refused"},
			{Time: t0.Add(-30 * time.Second), Stream: "app/2", Message: "FATAL out of memory"},
		}}},
		DBInstances: []awslocal.DBInstance{{Identifier: "dashboarduz-production-db", Class: "db.r6g.large", Engine: "postgres", EngineVersion: "15.4", MultiAZ: true, AllocatedStorage: 100, Connections: f(480)}},
	}
}

// app stands in for the API's /health and /health/queues.
func app(t *testing.T, health, queues string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/health":
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprint(w, health)
		case "/health/queues":
			if strings.HasPrefix(queues, "<") {
				w.Header().Set("Content-Type", "text/html")
			}
			fmt.Fprint(w, queues)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// sources points the default configuration at the app stand-in and the
// AWS one.
func sources(t *testing.T, srv *awslocal.Server, appURL string) (evidence.Config, triage.Configured) {
	t.Helper()
	cfg := evidence.DefaultConfig()
	for name, s := range cfg.Services {
		s.HealthURL = strings.Replace(s.HealthURL, "https://api.yourdomain.com", appURL, 1)
		s.QueuesURL = strings.Replace(s.QueuesURL, "https://api.yourdomain.com", appURL, 1)
		cfg.Services[name] = s
	}
	aws := srv.AWSConfig()
	return cfg, triage.Configured{Config: cfg, Clients: triage.Clients{
		HTTP:    http.DefaultClient,
		ECS:     ecs.New(awsecs.NewFromConfig(aws)),
		Metrics: cloudwatch.NewMetrics(awscloudwatch.NewFromConfig(aws), clock),
		Logs:    logs.NewReader(cloudwatchlogs.NewFromConfig(aws), clock),
		RDS:     rds.New(awsrds.NewFromConfig(aws)),
	}}
}

func startAWS(t *testing.T, w awslocal.World) *awslocal.Server {
	t.Helper()
	srv, err := awslocal.Start(awslocal.Options{World: w, Clock: clock, Hold: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return srv
}

func gather(t *testing.T, s triage.Sources, inc incident.Incident) map[string]incident.TriagePart {
	t.Helper()
	out := map[string]incident.TriagePart{}
	for _, src := range s.For(inc) {
		p := src.Gather(context.Background(), inc)
		out[p.Name] = p
	}
	return out
}

func TestSourcesOfAServiceDown(t *testing.T) {
	srv := startAWS(t, world())
	web := app(t, `{"status":"down","db":"timeout"}`, `{"queues":{}}`)
	_, s := sources(t, srv, web.URL)
	parts := gather(t, s, incident.Incident{Service: "dashboarduz-api", Category: incident.ServiceDown})
	if len(parts) != 4 {
		t.Fatalf("parts %v, want health, ecs-service, metrics, logs", parts)
	}
	for name, p := range parts {
		if p.Error != "" || p.Source == "" || p.Summary == "" {
			t.Errorf("%s: %+v, want a source and a summary and no error", name, p)
		}
	}
	h := parts[incident.PartHealth]
	if h.Facts[incident.FactHealthy] != "false" || h.Facts[incident.FactStatusCode] != "503" || !strings.Contains(h.Summary, `"status":"down"`) {
		t.Errorf("health = %+v", h)
	}
	e := parts[incident.PartECSService]
	want := map[string]string{incident.FactRunning: "1", incident.FactDesired: "4", incident.FactStoppedWithError: "3", incident.FactLastDeploymentAt: "2026-03-01T02:40:00Z"}
	for k, v := range want {
		if e.Facts[k] != v {
			t.Errorf("ecs-service fact %s = %q, want %q", k, e.Facts[k], v)
		}
	}
	if !strings.HasSuffix(e.Facts[incident.FactTaskDefinition], "task-definition/dashboarduz-api:43") || len(e.Lines) != 4 || !strings.Contains(e.Lines[1], "OutOfMemoryError") {
		t.Errorf("ecs-service = %+v", e)
	}
	m := parts[incident.PartMetrics]
	if m.Facts[incident.FactCPUPercent] != "91.5" || m.Facts[incident.FactMemoryPercent] != "97.0" {
		t.Errorf("metrics = %+v", m)
	}
	l := parts[incident.PartLogs]
	if len(l.Lines) != 2 || !strings.Contains(l.Lines[0], "FATAL out of memory") || strings.Contains(strings.Join(l.Lines, " "), "s3cretpass") || !strings.Contains(l.Lines[1], logs.Redacted) {
		t.Errorf("logs = %+v, want the two error lines, newest first, the password redacted", l)
	}
}

func TestSourcesOfAQueueBacklogAndADatabase(t *testing.T) {
	srv := startAWS(t, world())
	web := app(t, `{"status":"ok"}`, `{"queues":{"email":{"waiting":1500,"active":2,"failed":7},"exports":{"waiting":"20"}}}`)
	_, s := sources(t, srv, web.URL)
	q := gather(t, s, incident.Incident{Service: "dashboarduz-worker", Category: incident.QueueBacklog})[incident.PartQueues]
	if q.Error != "" || q.Facts[incident.FactQueueWaiting] != "1520" || len(q.Lines) != 2 || !strings.HasPrefix(q.Lines[0], "email: 1500 waiting") || !strings.Contains(q.Summary, "7 failed") {
		t.Errorf("queues = %+v", q)
	}
	db := gather(t, s, incident.Incident{Service: "dashboarduz-production-db", Category: incident.Database})
	d := db[incident.PartDatabase]
	if d.Error != "" || d.Facts[incident.FactDBStatus] != "available" || d.Facts[incident.FactConnections] != "480" || !strings.Contains(d.Source, "RDS DescribeDBInstances") {
		t.Errorf("database = %+v", d)
	}
	if h := db[incident.PartHealth]; h.Facts[incident.FactHealthy] != "false" {
		t.Errorf("a 503 with status ok is healthy: %+v", h)
	}
}

func TestAFailingPartSaysWhyAndTheRestArrive(t *testing.T) {
	srv := startAWS(t, world())
	if err := srv.AddFault(awslocal.Fault{Service: "ecs", Kind: awslocal.AccessDenied}); err != nil {
		t.Fatal(err)
	}
	web := app(t, `{"status":"ok"}`, `<html><body>502 Bad Gateway</body></html>`)
	_, s := sources(t, srv, web.URL)
	parts := gather(t, s, incident.Incident{Service: "dashboarduz-worker", Category: incident.QueueBacklog})
	if e := parts[incident.PartECSService]; !strings.Contains(e.Error, "access denied") || e.Source == "" {
		t.Errorf("ecs-service = %+v, want access denied", e)
	}
	if q := parts[incident.PartQueues]; !strings.Contains(q.Error, "is not the queues JSON") || !strings.Contains(q.Error, "text/html") {
		t.Errorf("queues = %+v, want the HTML named", q)
	}
	if m := parts[incident.PartMetrics]; m.Error != "" || m.Facts[incident.FactCPUPercent] != "40.0" {
		t.Errorf("metrics = %+v, want it gathered", m)
	}
}

func TestHandlerStoresTheReportWithinItsBound(t *testing.T) {
	srv := startAWS(t, world())
	if err := srv.AddFault(awslocal.Fault{Service: "logs", Kind: awslocal.Timeout}); err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int32
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		fmt.Fprint(w, `{"status":"ok"}`)
	}))
	t.Cleanup(web.Close)
	_, s := sources(t, srv, web.URL)
	store := dynamotest.New(t)
	ctx := t.Context()
	inc := incident.Open(incident.Signal{Source: "cloudwatch", EventID: "e1", DedupKey: "alarm", Service: "dashboarduz-api", Category: incident.ServiceDown,
		Severity: incident.P0, Summary: "API down", Time: t0, State: incident.Firing})
	if err := store.CreateIncident(ctx, inc, incident.Entry{ID: incident.EntryID(t0, "event/e1"), At: t0, Kind: incident.EntryOpened, Actor: "cloudwatch", Text: "opened"}); err != nil {
		t.Fatal(err)
	}
	h := &triage.Handler{Store: store, Sources: s, Clock: clock, Timeout: 500 * time.Millisecond}
	began := time.Now()
	if _, err := h.Handle(ctx, incident.EscalationState{IncidentID: inc.ID}); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(began); took > 4*time.Second {
		t.Errorf("triage took %s with a 500ms bound", took)
	}
	r, err := store.TriageReport(ctx, inc.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]incident.TriagePart{}
	for _, p := range r.Parts {
		byName[p.Name] = p
	}
	if l := byName[incident.PartLogs]; !strings.Contains(l.Error, "timed out") {
		t.Errorf("logs = %+v, want timed out", l)
	}
	if e := byName[incident.PartECSService]; e.Error != "" || e.Facts[incident.FactRunning] != "1" {
		t.Errorf("ecs-service = %+v", e)
	}
	got, tl, _, err := store.TimelinePage(ctx, inc.ID, "", 100)
	if err != nil || got.Triage == nil || len(got.Announcements) != 1 {
		t.Fatalf("incident %+v, %v", got, err)
	}
	last := tl[len(tl)-1]
	if last.Kind != incident.EntryTriage || !strings.Contains(last.Text, "- logs (") || !strings.Contains(last.Text, "could not be gathered: timed out") || !strings.Contains(last.Text, "- ecs-service (ECS DescribeServices") {
		t.Errorf("triage entry = %q", last.Text)
	}
	if calls.Load() != 1 {
		t.Errorf("the health endpoint was called %d times, want once", calls.Load())
	}
}
