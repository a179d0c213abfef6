package eventbridge

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/dashboarduz/incident-response/shared/cloudwatch"
	"github.com/dashboarduz/incident-response/shared/eventbridge/eventstest"
	"github.com/dashboarduz/incident-response/shared/incident"
)

const (
	apiServiceARN    = "arn:aws:ecs:us-east-1:123456789012:service/dashboarduz-production/dashboarduz-api"
	workerServiceARN = "arn:aws:ecs:us-east-1:123456789012:service/dashboarduz-production/dashboarduz-worker"
	dbARN            = "arn:aws:rds:us-east-1:123456789012:db:dashboarduz-production-db"
)

func testDecoder() *Decoder {
	return &Decoder{Rules: incident.DefaultClassificationRules(), Allow: DefaultAllowList()}
}

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

// TestDecodeFailedDeployment compares one whole signal, so that a field
// the decoder forgets fails here.
func TestDecodeFailedDeployment(t *testing.T) {
	got, err := testDecoder().Decode(eventstest.Read(t, "ecs", "deployment-failed.json"))
	if err != nil {
		t.Fatal(err)
	}
	want := incident.Signal{
		Source:   "ecs",
		EventID:  apiServiceARN + "/deployment/ecs-svc/4571823606251437590/SERVICE_DEPLOYMENT_FAILED",
		DedupKey: apiServiceARN,
		Service:  "dashboarduz-api",
		Category: incident.ServiceDown,
		Severity: incident.P2,
		Summary:  "ECS deployment ecs-svc/4571823606251437590 of dashboarduz-api failed",
		Reason:   "ECS deployment circuit breaker: task failed to start.",
		Details: map[string]string{
			"deploymentId": "ecs-svc/4571823606251437590", "eventName": "SERVICE_DEPLOYMENT_FAILED", "eventType": "ERROR",
			"cluster": "dashboarduz-production", "ecsService": "dashboarduz-api",
			"eventBridgeId": "7c5b1c4e-2b1f-4a57-9d0e-3f1f2b6c8a01", "region": "us-east-1", "account": "123456789012",
		},
		Time:  at("2026-03-01T02:52:13.871Z"),
		State: incident.Firing,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}

// TestDecodeFixtures decodes every ECS and RDS fixture and checks what the
// signal says about it.
func TestDecodeFixtures(t *testing.T) {
	type want struct {
		state    incident.SignalState
		service  string
		severity incident.Severity
		category incident.Category
		dedupKey string
		eventID  string
		time     string
		summary  string // a part of the summary
		ignored  string // a part of Ignored; "" when the signal counts
	}
	tests := []struct {
		file string
		want want
	}{
		{"ecs/deployment-rolling-back.json", want{incident.Firing, "dashboarduz-api", incident.P2, incident.ServiceDown, apiServiceARN,
			apiServiceARN + "/deployment/ecs-svc/4571823606251437590/SERVICE_DEPLOYMENT_IN_PROGRESS/rollback", "2026-03-01T02:52:14.902Z", "is being rolled back", ""}},
		{"ecs/deployment-in-progress.json", want{incident.Inconclusive, "dashboarduz-api", incident.P2, incident.ServiceDown, apiServiceARN,
			apiServiceARN + "/deployment/ecs-svc/4571823606251437590/SERVICE_DEPLOYMENT_IN_PROGRESS", "2026-03-01T02:40:01.118Z", "in progress", "deployment in progress is no incident"}},
		{"ecs/deployment-completed.json", want{incident.Recovered, "dashboarduz-api", incident.P2, incident.ServiceDown, apiServiceARN,
			apiServiceARN + "/deployment/ecs-svc/8815226014562077315/SERVICE_DEPLOYMENT_COMPLETED", "2026-03-01T03:01:46.530Z", "completed", ""}},
		{"ecs/service-task-start-impaired.json", want{incident.Firing, "dashboarduz-worker", incident.P1, incident.ServiceDown, workerServiceARN,
			workerServiceARN + "/SERVICE_TASK_START_IMPAIRED@2026-03-01T02:55:38.725Z", "2026-03-01T02:55:38.725Z", "cannot start tasks consistently", ""}},
		{"ecs/service-task-placement-failure.json", want{incident.Firing, "dashboarduz-worker", incident.P1, incident.ServiceDown, workerServiceARN,
			workerServiceARN + "/SERVICE_TASK_PLACEMENT_FAILURE@2026-03-01T02:56:09.087Z", "2026-03-01T02:56:09.087Z", "cannot place a task (RESOURCE:FARGATE)", ""}},
		{"ecs/service-steady-state.json", want{incident.Recovered, "dashboarduz-worker", incident.P1, incident.ServiceDown, workerServiceARN,
			workerServiceARN + "/SERVICE_STEADY_STATE@2026-03-01T03:12:22.695Z", "2026-03-01T03:12:22.695Z", "reached a steady state", ""}},
		{"ecs/task-stopped-out-of-memory.json", want{incident.Firing, "dashboarduz-worker", incident.P2, incident.ServiceDown, workerServiceARN,
			"arn:aws:ecs:us-east-1:123456789012:task/dashboarduz-production/c13b4cb40f1f4fe4a2971f76ae5a47ad@v5/STOPPED", "2026-03-01T02:48:31.219Z",
			"container worker exited with code 137 (OutOfMemoryError: Container killed due to memory usage)", ""}},
		{"ecs/task-failed-to-start.json", want{incident.Firing, "dashboarduz-api", incident.P2, incident.ServiceDown, apiServiceARN,
			"arn:aws:ecs:us-east-1:123456789012:task/dashboarduz-production/5f0e9a3b7c2d4e1f8a6b0c9d2e4f6a8b@v3/STOPPED", "2026-03-01T02:47:05.032Z",
			"it failed to start: CannotPullContainerError", ""}},
		{"ecs/task-stopped-elb-health-checks.json", want{incident.Firing, "dashboarduz-api", incident.P2, incident.ServiceDown, apiServiceARN,
			"arn:aws:ecs:us-east-1:123456789012:task/dashboarduz-production/8a7b6c5d4e3f20110a9b8c7d6e5f4a3b@v6/STOPPED", "2026-03-01T02:58:44.090Z",
			"the scheduler replaced it: Task failed ELB health checks", ""}},
		{"ecs/task-stopped-scale-in.json", want{incident.Inconclusive, "dashboarduz-worker", incident.P2, incident.ServiceDown, workerServiceARN,
			"arn:aws:ecs:us-east-1:123456789012:task/dashboarduz-production/1d2c3b4a5f6e7d8c9b0a1f2e3d4c5b6a@v5/STOPPED", "2026-03-01T04:20:09.600Z",
			"ECS task of dashboarduz-worker stopped", "scale-in or a deployment replacing tasks"}},
		{"ecs/task-running.json", want{incident.Inconclusive, "dashboarduz-worker", incident.P2, incident.ServiceDown, workerServiceARN,
			"arn:aws:ecs:us-east-1:123456789012:task/dashboarduz-production/1d2c3b4a5f6e7d8c9b0a1f2e3d4c5b6a@v2/RUNNING", "2026-03-01T03:06:05.891Z",
			"running", "the task is RUNNING"}},
		{"rds/failover-started.json", want{incident.Firing, "dashboarduz-production-db", incident.P2, incident.Database, dbARN,
			dbARN + "/RDS-EVENT-0013@2026-03-01T03:20:11.204Z", "2026-03-01T03:20:11.204Z", "started a Multi-AZ failover", ""}},
		{"rds/failover-completed.json", want{incident.Recovered, "dashboarduz-production-db", incident.P2, incident.Database, dbARN,
			dbARN + "/RDS-EVENT-0015@2026-03-01T03:21:48.517Z", "2026-03-01T03:21:48.517Z", "completed a Multi-AZ failover", ""}},
		{"rds/multi-az-failover-completed-legacy.json", want{incident.Recovered, "dashboarduz-production-db", incident.P2, incident.Database, dbARN,
			dbARN + "/no-event-id/68f6e973-1a0c-d37b-f2f2-94a7f62ffd4e@2026-03-01T03:21:50.292Z", "2026-03-01T03:21:50.292Z", "completed a Multi-AZ failover", ""}},
		{"rds/storage-full.json", want{incident.Firing, "dashboarduz-production-db", incident.P0, incident.Database, dbARN,
			dbARN + "/RDS-EVENT-0221@2026-03-01T05:02:33.88Z", "2026-03-01T05:02:33.880Z", "storage-full threshold", ""}},
		{"rds/low-storage.json", want{incident.Firing, "dashboarduz-production-db", incident.P2, incident.Database, dbARN,
			dbARN + "/RDS-EVENT-0089@2026-03-01T04:40:02.116Z", "2026-03-01T04:40:02.116Z", "more than 90%", ""}},
		{"rds/shutdown.json", want{incident.Firing, "dashboarduz-production-db", incident.P1, incident.Database, dbARN,
			dbARN + "/RDS-EVENT-0004@2026-03-01T03:19:57.031Z", "2026-03-01T03:19:57.031Z", "shut down", ""}},
		{"rds/restarted.json", want{incident.Recovered, "dashboarduz-production-db", incident.P1, incident.Database, dbARN,
			dbARN + "/RDS-EVENT-0006@2026-03-01T03:22:40.662Z", "2026-03-01T03:22:40.662Z", "restarted", ""}},
		{"rds/backup-finished.json", want{incident.Inconclusive, "dashboarduz-production-db", incident.P3, incident.Database, dbARN,
			dbARN + "/RDS-EVENT-0002@2026-03-01T07:20:20.112Z", "2026-03-01T07:20:20.112Z", "Finished DB Instance backup", "RDS-EVENT-0002 (backup) is not one this system acts on"}},
	}
	covered := map[string]bool{"ecs/deployment-failed.json": true}
	d := testDecoder()
	for _, tt := range tests {
		covered[tt.file] = true
		t.Run(tt.file, func(t *testing.T) {
			dir, name, _ := strings.Cut(tt.file, "/")
			s, err := d.Decode(eventstest.Read(t, dir, name))
			if err != nil {
				t.Fatal(err)
			}
			w := tt.want
			got := want{s.State, s.Service, s.Severity, s.Category, s.DedupKey, s.EventID, s.Time.Format(time.RFC3339Nano), "", ""}
			exp := w
			exp.time = at(w.time).Format(time.RFC3339Nano)
			exp.summary, exp.ignored = "", ""
			if got != exp {
				t.Errorf("got  %+v\nwant %+v", got, exp)
			}
			if !strings.Contains(s.Summary, w.summary) {
				t.Errorf("Summary = %q, want it to contain %q", s.Summary, w.summary)
			}
			if (w.ignored == "") != (s.Ignored == "") || !strings.Contains(s.Ignored, w.ignored) {
				t.Errorf("Ignored = %q, want %q", s.Ignored, w.ignored)
			}
			if s.Source != "ecs" && s.Source != "rds" || s.Details["eventBridgeId"] == "" {
				t.Errorf("Source %q, details %v", s.Source, s.Details)
			}
		})
	}
	for _, dir := range []string{"ecs", "rds"} {
		for _, name := range eventstest.Files(t, dir) {
			if !covered[dir+"/"+name] {
				t.Errorf("fixture %s/%s has no row in the table", dir, name)
			}
		}
	}
}

// TestDecodeAlarmsDelegates checks that alarm events give exactly what
// cloudwatch.Decode gives, through EventBridge and as an alarm action.
func TestDecodeAlarmsDelegates(t *testing.T) {
	rules := incident.DefaultClassificationRules()
	for _, name := range eventstest.Files(t, "cloudwatch") {
		t.Run(name, func(t *testing.T) {
			raw := eventstest.Read(t, "cloudwatch", name)
			want, err := cloudwatch.Decode(raw, rules)
			if err != nil {
				t.Fatal(err)
			}
			got, err := testDecoder().Decode(raw)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got  %+v\nwant %+v", got, want)
			}
		})
	}
}

// mutate decodes a fixture as a map, lets change edit it and encodes it.
func mutate(t *testing.T, dir, name string, change func(e map[string]any)) []byte {
	t.Helper()
	var e map[string]any
	if err := json.Unmarshal(eventstest.Read(t, dir, name), &e); err != nil {
		t.Fatal(err)
	}
	change(e)
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func detail(e map[string]any) map[string]any { return e["detail"].(map[string]any) }

func TestAllowList(t *testing.T) {
	tests := []struct {
		name    string
		raw     func(t *testing.T) []byte
		allow   AllowList
		ignored string
	}{
		{
			name: "service not allowed",
			raw: func(t *testing.T) []byte {
				return mutate(t, "ecs", "deployment-failed.json", func(e map[string]any) {
					e["resources"] = []any{"arn:aws:ecs:us-east-1:123456789012:service/dashboarduz-production/reporting"}
				})
			},
			allow:   DefaultAllowList(),
			ignored: "service reporting is not in the allow-list (dashboarduz-api, dashboarduz-worker, dashboarduz-production-db)",
		},
		{
			name: "cluster not allowed",
			raw: func(t *testing.T) []byte {
				return mutate(t, "ecs", "task-stopped-out-of-memory.json", func(e map[string]any) {
					detail(e)["clusterArn"] = "arn:aws:ecs:us-east-1:123456789012:cluster/staging"
				})
			},
			allow:   DefaultAllowList(),
			ignored: "cluster staging is not in the allow-list (dashboarduz-production)",
		},
		{
			name:    "empty allow-list allows nothing",
			raw:     func(t *testing.T) []byte { return eventstest.Read(t, "ecs", "service-task-start-impaired.json") },
			allow:   AllowList{},
			ignored: "service dashboarduz-worker is not in the allow-list, which is empty",
		},
		{
			name: "database not allowed",
			raw: func(t *testing.T) []byte {
				return mutate(t, "rds", "storage-full.json", func(e map[string]any) {
					detail(e)["SourceArn"] = "arn:aws:rds:us-east-1:123456789012:db:analytics-db"
				})
			},
			allow:   DefaultAllowList(),
			ignored: "service analytics-db is not in the allow-list",
		},
		{
			name:  "every cluster when none is listed",
			raw:   func(t *testing.T) []byte { return eventstest.Read(t, "ecs", "deployment-failed.json") },
			allow: AllowList{Services: []string{"dashboarduz-api"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &Decoder{Allow: tt.allow}
			s, err := d.Decode(tt.raw(t))
			if err != nil {
				t.Fatal(err)
			}
			if (tt.ignored == "") != (s.Ignored == "") || !strings.Contains(s.Ignored, tt.ignored) {
				t.Errorf("Ignored = %q, want %q", s.Ignored, tt.ignored)
			}
			if s.State != incident.Firing {
				t.Errorf("State = %s: an ignored signal still says what happened", s.State)
			}
		})
	}
}

func TestTaskVerdicts(t *testing.T) {
	code := func(n int) *int { return &n }
	tests := []struct {
		name       string
		stopCode   string
		reason     string
		containers []ECSContainer
		fails      string // part of the failure; "" when ignored
		ignored    string
	}{
		{"clean exit", stopEssentialExited, "Essential container in task exited", []ECSContainer{{Name: "api", ExitCode: code(0)}}, "", "exited with code 0"},
		{"sidecar failed", stopEssentialExited, "Essential container in task exited", []ECSContainer{{Name: "api", ExitCode: code(0)}, {Name: "envoy", ExitCode: code(1)}}, "container envoy exited with code 1", ""},
		{"no exit code", stopEssentialExited, "Essential container in task exited", []ECSContainer{{Name: "api"}}, "container api stopped with no exit code", ""},
		{"user stop", stopUser, "Task stopped by user", nil, "", "a user or an API call stopped it"},
		{"spot", stopSpot, "Your Spot Task was interrupted.", nil, "", "AWS reclaimed its capacity (SpotInterruption)"},
		{"container health checks", stopScheduler, "Task failed container health checks", nil, "the scheduler replaced it", ""},
		{"deployment replaces", stopScheduler, "Scaling activity initiated by (deployment ecs-svc/1)", nil, "", "scale-in or a deployment"},
		{"no stop code, failed", "", "", []ECSContainer{{Name: "api", ExitCode: code(2)}}, "exited with code 2", ""},
		{"no stop code, clean", "", "", []ECSContainer{{Name: "api"}}, "", "without a stop code"},
		{"unknown stop code", "SomethingNew", "", nil, "", "stop code SomethingNew"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			failure, ignored := taskVerdict(ECSTaskStateChange{LastStatus: "STOPPED", StopCode: tt.stopCode, StoppedReason: tt.reason, Containers: tt.containers})
			if (tt.fails == "") != (failure == "") || !strings.Contains(failure, tt.fails) {
				t.Errorf("failure = %q, want %q", failure, tt.fails)
			}
			if (tt.ignored == "") != (ignored == "") || !strings.Contains(ignored, tt.ignored) {
				t.Errorf("ignored = %q, want %q", ignored, tt.ignored)
			}
		})
	}
}

func TestRDSMessagesWithoutEventID(t *testing.T) {
	tests := []struct {
		message  string
		state    incident.SignalState
		severity incident.Severity
		ignored  bool
	}{
		{"Multi-AZ instance failover started.", incident.Firing, incident.P2, false},
		{"Multi-AZ instance failover completed", incident.Recovered, incident.P2, false},
		{"The DB instance has reached the storage-full threshold, and the database has been shut down.", incident.Firing, incident.P0, false},
		{"The free storage capacity for DB Instance x is low at 8% of the provisioned storage", incident.Firing, incident.P2, false},
		{"DB instance is not available", incident.Firing, incident.P1, false},
		{"DB instance shutdown", incident.Firing, incident.P1, false},
		{"Finished applying modification to DB instance class", incident.Inconclusive, incident.P3, true},
	}
	for _, tt := range tests {
		t.Run(tt.message, func(t *testing.T) {
			raw := mutate(t, "rds", "shutdown.json", func(e map[string]any) {
				delete(detail(e), "EventID")
				detail(e)["Message"] = tt.message
			})
			s, err := testDecoder().Decode(raw)
			if err != nil {
				t.Fatal(err)
			}
			if s.State != tt.state || s.Severity != tt.severity || (s.Ignored != "") != tt.ignored {
				t.Errorf("got %s %s ignored %q, want %s %s ignored %v", s.State, s.Severity, s.Ignored, tt.state, tt.severity, tt.ignored)
			}
		})
	}
}

func TestInvalidEvents(t *testing.T) {
	tests := []struct {
		name string
		raw  func(t *testing.T) []byte
		want string // part of the message
	}{
		{"not JSON", func(*testing.T) []byte { return []byte("<html>") }, "event is not JSON"},
		{"array", func(*testing.T) []byte { return []byte(`[1]`) }, "not an object"},
		{"unknown source", func(*testing.T) []byte {
			return []byte(`{"id":"1","source":"aws.ec2","detail-type":"EC2 Instance State-change Notification","detail":{}}`)
		}, "(aws.ec2, EC2 Instance State-change Notification): no decoder for this source and detail-type"},
		{"nothing", func(*testing.T) []byte { return []byte(`{}`) }, "(no source, no detail-type)"},
		{"cluster event", func(*testing.T) []byte {
			return []byte(`{"id":"1","source":"aws.rds","detail-type":"RDS DB Cluster Event","detail":{}}`)
		}, "(aws.rds, RDS DB Cluster Event)"},
		{"missing detail", func(t *testing.T) []byte {
			return mutate(t, "ecs", "deployment-failed.json", func(e map[string]any) { delete(e, "detail") })
		}, "(aws.ecs, ECS Deployment State Change): detail is missing"},
		{"detail not an object", func(t *testing.T) []byte {
			return mutate(t, "ecs", "deployment-failed.json", func(e map[string]any) { e["detail"] = "x" })
		}, `detail is "x", want an object`},
		{"missing id", func(t *testing.T) []byte {
			return mutate(t, "rds", "shutdown.json", func(e map[string]any) { delete(e, "id") })
		}, "id is missing"},
		{"wrong type", func(t *testing.T) []byte {
			return mutate(t, "ecs", "task-stopped-out-of-memory.json", func(e map[string]any) { detail(e)["version"] = "five" })
		}, "detail.version has the wrong type: got a JSON string"},
		{"bad time", func(t *testing.T) []byte {
			return mutate(t, "ecs", "service-steady-state.json", func(e map[string]any) { detail(e)["createdAt"] = "yesterday" })
		}, `detail.createdAt "yesterday" is not a CloudWatch timestamp`},
		{"no service ARN", func(t *testing.T) []byte {
			return mutate(t, "ecs", "deployment-failed.json", func(e map[string]any) { e["resources"] = []any{"arn:aws:ecs:us-east-1:1:cluster/x"} })
		}, "resources hold no ECS service ARN"},
		{"no deployment ID", func(t *testing.T) []byte {
			return mutate(t, "ecs", "deployment-failed.json", func(e map[string]any) { delete(detail(e), "deploymentId") })
		}, "detail.deploymentId is missing"},
		{"bad group", func(t *testing.T) []byte {
			return mutate(t, "ecs", "task-running.json", func(e map[string]any) { detail(e)["group"] = "dashboarduz-worker" })
		}, `detail.group "dashboarduz-worker" is neither`},
		{"bad cluster ARN", func(t *testing.T) []byte {
			return mutate(t, "ecs", "task-running.json", func(e map[string]any) { detail(e)["clusterArn"] = "dashboarduz-production" })
		}, "is not an ECS cluster ARN"},
		{"no DB ARN", func(t *testing.T) []byte {
			return mutate(t, "rds", "shutdown.json", func(e map[string]any) {
				detail(e)["SourceArn"] = ""
				e["resources"] = []any{}
			})
		}, "hold a DB instance ARN"},
		{"bad alarm", func(t *testing.T) []byte {
			return mutate(t, "cloudwatch", "api-5xx-alarm.json", func(e map[string]any) { delete(detail(e), "alarmName") })
		}, "(aws.cloudwatch, CloudWatch Alarm State Change): invalid CloudWatch alarm event: detail.alarmName is missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := testDecoder().Decode(tt.raw(t))
			var ie *InvalidEventError
			if !errors.As(err, &ie) {
				t.Fatalf("error %v (%T) is not an *InvalidEventError; signal %+v", err, err, s)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
			if !reflect.DeepEqual(s, incident.Signal{}) {
				t.Errorf("a failed Decode returned a signal: %+v", s)
			}
		})
	}
}

// A duplicate of an ECS event under another EventBridge id is the same
// event to ingest.
func TestDuplicateTaskEventKeepsItsEventID(t *testing.T) {
	first, err := testDecoder().Decode(eventstest.Read(t, "ecs", "task-stopped-out-of-memory.json"))
	if err != nil {
		t.Fatal(err)
	}
	dup := mutate(t, "ecs", "task-stopped-out-of-memory.json", func(e map[string]any) {
		e["id"] = "another-id"
		e["time"] = "2026-03-01T02:48:33Z"
	})
	second, err := testDecoder().Decode(dup)
	if err != nil {
		t.Fatal(err)
	}
	if first.EventID != second.EventID {
		t.Errorf("event IDs differ: %s and %s", first.EventID, second.EventID)
	}
}

func TestParseAllowList(t *testing.T) {
	a, err := ParseAllowList([]byte(`{"clusters":["c"],"services":["s1","s2"]}`))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, AllowList{Clusters: []string{"c"}, Services: []string{"s1", "s2"}}) {
		t.Errorf("got %+v", a)
	}
	for _, bad := range []string{`{"service":["x"]}`, `{"services":[""]}`, `[]`, `{`} {
		if _, err := ParseAllowList([]byte(bad)); incident.ErrorCode(err) != incident.EInvalid {
			t.Errorf("ParseAllowList(%s) = %v, want an invalid error", bad, err)
		}
	}
}

func TestRoutesAreDecoded(t *testing.T) {
	for _, r := range Routes {
		raw, _ := json.Marshal(map[string]any{"id": "x", "source": r.Source, "detail-type": r.DetailType, "detail": map[string]any{}})
		_, err := testDecoder().Decode(raw)
		if err != nil && strings.Contains(err.Error(), "no decoder") {
			t.Errorf("route %s/%s has no decoder", r.Source, r.DetailType)
		}
	}
}

func TestAllowListFrom(t *testing.T) {
	a, err := AllowListFrom("")
	if err != nil || !reflect.DeepEqual(a, DefaultAllowList()) {
		t.Errorf("AllowListFrom(\"\") = %+v, %v; want the default", a, err)
	}
	a, err = AllowListFrom(`{"services":["billing"]}`)
	if err != nil || !reflect.DeepEqual(a, AllowList{Services: []string{"billing"}}) {
		t.Errorf("got %+v, %v", a, err)
	}
	if _, err := AllowListFrom(`{"service":["x"]}`); err == nil || !strings.Contains(err.Error(), EnvAllowList) {
		t.Errorf("a bad document: %v, want an error naming %s", err, EnvAllowList)
	}
}
