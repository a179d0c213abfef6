package cloudwatch

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/dashboarduz/incident-response/shared/eventbridge/eventstest"
	"github.com/dashboarduz/incident-response/shared/incident"
)

const (
	apiAlarmARN    = "arn:aws:cloudwatch:us-east-1:123456789012:alarm:dashboarduz-api-5xx-errors"
	apiLB          = "app/dashboarduz-production/5f2a9c7d31e4b860"
	dbAlarmARN     = "arn:aws:cloudwatch:us-east-1:123456789012:alarm:dashboarduz-production-db-connections"
	workerAlarmARN = "arn:aws:cloudwatch:us-east-1:123456789012:alarm:dashboarduz-worker-queue-backlog"
)

// stateReason reads state.reason from a fixture, wherever its shape keeps
// it, so the tables need not repeat CloudWatch's long reason texts.
func stateReason(t *testing.T, name string) string {
	t.Helper()
	var v struct {
		Detail    *AlarmData `json:"detail"`
		AlarmData *AlarmData `json:"alarmData"`
	}
	if err := json.Unmarshal(eventstest.Read(t, "cloudwatch", name), &v); err != nil {
		t.Fatal(err)
	}
	d := v.Detail
	if d == nil {
		d = v.AlarmData
	}
	if d == nil || d.State == nil || d.State.Reason == "" {
		t.Fatalf("%s has no state.reason", name)
	}
	return d.State.Reason
}

// errorRateSignal is the signal of the API's error-rate alarm in state,
// from previous.
func errorRateSignal(eventSuffix, eventBridgeID string, at time.Time, st incident.SignalState, state, previous string) incident.Signal {
	const arn = "arn:aws:cloudwatch:us-east-1:123456789012:alarm:dashboarduz-api-error-rate"
	return incident.Signal{
		Source: "cloudwatch", EventID: arn + "@" + eventSuffix, DedupKey: arn,
		Service: "dashboarduz-api", Category: incident.HighErrorRate, Severity: incident.P1,
		Summary: "API 4xx and 5xx responses above 2% of requests", Time: at, State: st,
		Details: map[string]string{
			"eventBridgeId": eventBridgeID, "alarmName": "dashboarduz-api-error-rate", "alarmArn": arn, "region": "us-east-1", "account": "123456789012",
			"namespace": "AWS/ApplicationELB", "metric": "HTTPCode_Target_5XX_Count", "dimensions": "LoadBalancer=" + apiLB,
			"state": state, "previousState": previous, "classificationRule": "api-error-rate",
		},
	}
}

func TestDecodeFixtures(t *testing.T) {
	rules := incident.DefaultClassificationRules()
	tests := []struct {
		file string
		want incident.Signal
	}{
		{
			file: "api-5xx-alarm.json",
			want: incident.Signal{
				Source: "cloudwatch", EventID: apiAlarmARN + "@2026-03-01T03:00:00.000Z/ALARM", DedupKey: apiAlarmARN,
				Service: "dashboarduz-api", Category: incident.ServiceDown, Severity: incident.P0,
				Summary: "API 5xx error rate above 5%",
				Time:    time.Date(2026, 3, 1, 3, 0, 0, 0, time.UTC), State: incident.Firing,
				Details: map[string]string{
					"eventBridgeId": "f7511b61-bb51-49fa-8928-c25a8f4ef894",
					"alarmName":     "dashboarduz-api-5xx-errors", "alarmArn": apiAlarmARN, "region": "us-east-1", "account": "123456789012",
					"namespace": "AWS/ApplicationELB", "metric": "HTTPCode_Target_5XX_Count", "dimensions": "LoadBalancer=" + apiLB,
					"state": "ALARM", "previousState": "OK", "classificationRule": "api-service-down",
				},
			},
		},
		{
			file: "api-5xx-ok.json",
			want: incident.Signal{
				Source: "cloudwatch", EventID: apiAlarmARN + "@2026-03-01T03:07:00.000Z/OK", DedupKey: apiAlarmARN,
				Service: "dashboarduz-api", Category: incident.ServiceDown, Severity: incident.P0,
				Summary: "API 5xx error rate above 5%",
				Time:    time.Date(2026, 3, 1, 3, 7, 0, 0, time.UTC), State: incident.Recovered,
				Details: map[string]string{
					"eventBridgeId": "413cd5f7-73fe-4556-b307-a8141cab55fc",
					"alarmName":     "dashboarduz-api-5xx-errors", "alarmArn": apiAlarmARN, "region": "us-east-1", "account": "123456789012",
					"namespace": "AWS/ApplicationELB", "metric": "HTTPCode_Target_5XX_Count", "dimensions": "LoadBalancer=" + apiLB,
					"state": "OK", "previousState": "ALARM", "classificationRule": "api-service-down",
				},
			},
		},
		{
			file: "api-5xx-insufficient-data.json",
			want: incident.Signal{
				Source: "cloudwatch", EventID: apiAlarmARN + "@2026-03-01T04:30:00.006Z/INSUFFICIENT_DATA", DedupKey: apiAlarmARN,
				Service: "dashboarduz-api", Category: incident.ServiceDown, Severity: incident.P0,
				Summary: "API 5xx error rate above 5%",
				Time:    time.Date(2026, 3, 1, 4, 30, 0, 6e6, time.UTC), State: incident.Inconclusive,
				Details: map[string]string{
					"eventBridgeId": "84fdfeb1-da97-43b1-b74f-b466db25110c",
					"alarmName":     "dashboarduz-api-5xx-errors", "alarmArn": apiAlarmARN, "region": "us-east-1", "account": "123456789012",
					"namespace": "AWS/ApplicationELB", "metric": "HTTPCode_Target_5XX_Count", "dimensions": "LoadBalancer=" + apiLB,
					"state": "INSUFFICIENT_DATA", "previousState": "OK", "classificationRule": "api-service-down",
				},
			},
		},
		{
			file: "worker-queue-backlog-metric-math.json",
			want: incident.Signal{
				Source: "cloudwatch", EventID: workerAlarmARN + "@2026-03-01T05:12:30.517Z/ALARM", DedupKey: workerAlarmARN,
				Service: "dashboarduz-worker", Category: incident.QueueBacklog, Severity: incident.P1,
				Summary: "Jobs waiting across the worker queues above 1000",
				Time:    time.Date(2026, 3, 1, 5, 12, 30, 517e6, time.UTC), State: incident.Firing,
				Details: map[string]string{
					"eventBridgeId": "72597311-65da-4965-bf5e-8f2332753e4a",
					"alarmName":     "dashboarduz-worker-queue-backlog", "alarmArn": workerAlarmARN, "region": "us-east-1", "account": "123456789012",
					// No metricStat returns data, so the first one stands for the alarm.
					"namespace": "AWS/SQS", "metric": "ApproximateNumberOfMessagesVisible", "dimensions": "QueueName=dashboarduz-jobs",
					"state": "ALARM", "previousState": "OK", "classificationRule": "worker-queue-backlog",
				},
			},
		},
		{
			file: "api-composite-alarm.json",
			want: incident.Signal{
				Source: "cloudwatch", EventID: "arn:aws:cloudwatch:us-east-1:123456789012:alarm:dashboarduz-api-health-composite" + "@2026-03-01T03:01:10.245Z/ALARM",
				DedupKey: "arn:aws:cloudwatch:us-east-1:123456789012:alarm:dashboarduz-api-health-composite",
				Service:  "dashboarduz-api", Category: incident.ServiceDown, Severity: incident.P0,
				Summary: "API is down: 5xx errors and failing health checks together",
				Time:    time.Date(2026, 3, 1, 3, 1, 10, 245e6, time.UTC), State: incident.Firing,
				Details: map[string]string{
					"eventBridgeId": "59495d5a-7cfd-49f8-8e7e-0dce55fc3f3a",
					"alarmName":     "dashboarduz-api-health-composite", "alarmArn": "arn:aws:cloudwatch:us-east-1:123456789012:alarm:dashboarduz-api-health-composite",
					"region": "us-east-1", "account": "123456789012",
					"alarmRule": `ALARM("dashboarduz-api-5xx-errors") AND ALARM("dashboarduz-api-unhealthy-hosts")`,
					"state":     "ALARM", "previousState": "OK", "classificationRule": "api-service-down",
				},
			},
		},
		{
			file: "database-direct-invocation.json",
			want: incident.Signal{
				Source: "cloudwatch", EventID: dbAlarmARN + "@2026-03-01T06:45:12.830Z/ALARM", DedupKey: dbAlarmARN,
				Service: "dashboarduz-production-db", Category: incident.Database, Severity: incident.P1,
				Summary: "Database connections above 90% of max_connections",
				Time:    time.Date(2026, 3, 1, 6, 45, 12, 830e6, time.UTC), State: incident.Firing,
				Details: map[string]string{
					"alarmName": "dashboarduz-production-db-connections", "alarmArn": dbAlarmARN, "region": "us-east-1", "account": "123456789012",
					"namespace": "AWS/RDS", "metric": "DatabaseConnections", "dimensions": "DBInstanceIdentifier=dashboarduz-production-db",
					"state": "ALARM", "previousState": "OK", "classificationRule": "database",
				},
			},
		},
		{
			file: "api-cpu-alarm.json",
			want: incident.Signal{
				Source: "cloudwatch", EventID: "arn:aws:cloudwatch:us-east-1:123456789012:alarm:dashboarduz-api-cpu-high" + "@2026-03-01T07:20:41.176Z/ALARM",
				DedupKey: "arn:aws:cloudwatch:us-east-1:123456789012:alarm:dashboarduz-api-cpu-high",
				Service:  "dashboarduz-api", Category: incident.Performance, Severity: incident.P2,
				Summary: "API CPU above 80% for 10 minutes",
				Time:    time.Date(2026, 3, 1, 7, 20, 41, 176e6, time.UTC), State: incident.Firing,
				Details: map[string]string{
					"eventBridgeId": "d2e28791-3404-44fb-b4b6-bb20feae44e0",
					"alarmName":     "dashboarduz-api-cpu-high", "alarmArn": "arn:aws:cloudwatch:us-east-1:123456789012:alarm:dashboarduz-api-cpu-high",
					"region": "us-east-1", "account": "123456789012",
					"namespace": "AWS/ECS", "metric": "CPUUtilization", "dimensions": "ClusterName=dashboarduz-production,ServiceName=dashboarduz-api",
					"alarmTags": "environment=production,team=platform",
					"state":     "ALARM", "previousState": "OK", "classificationRule": "api-cpu-memory",
				},
			},
		},
		// The runbook's other alarms, as the remediation scenarios send
		// them: each recovers or fires with its own classification.
		{
			file: "api-cpu-ok.json",
			want: incident.Signal{
				Source: "cloudwatch", EventID: "arn:aws:cloudwatch:us-east-1:123456789012:alarm:dashboarduz-api-cpu-high@2026-03-01T07:40:41.176Z/OK",
				DedupKey: "arn:aws:cloudwatch:us-east-1:123456789012:alarm:dashboarduz-api-cpu-high",
				Service:  "dashboarduz-api", Category: incident.Performance, Severity: incident.P2,
				Summary: "API CPU above 80% for 10 minutes",
				Time:    time.Date(2026, 3, 1, 7, 40, 41, 176e6, time.UTC), State: incident.Recovered,
				Details: map[string]string{
					"eventBridgeId": "6c0d2e94-17b5-4f3a-a8e2-5d9b1c7f3e60",
					"alarmName":     "dashboarduz-api-cpu-high", "alarmArn": "arn:aws:cloudwatch:us-east-1:123456789012:alarm:dashboarduz-api-cpu-high",
					"region": "us-east-1", "account": "123456789012",
					"namespace": "AWS/ECS", "metric": "CPUUtilization", "dimensions": "ClusterName=dashboarduz-production,ServiceName=dashboarduz-api",
					"alarmTags": "environment=production,team=platform",
					"state":     "OK", "previousState": "ALARM", "classificationRule": "api-cpu-memory",
				},
			},
		},
		{
			file: "api-error-rate-alarm.json",
			want: errorRateSignal("2026-03-01T03:00:00.000Z/ALARM", "9a4c1e37-2b8d-4f60-b5a9-7e3d0c6f1a84", time.Date(2026, 3, 1, 3, 0, 0, 0, time.UTC), incident.Firing, "ALARM", "OK"),
		},
		{
			file: "api-error-rate-ok.json",
			want: errorRateSignal("2026-03-01T03:07:00.000Z/OK", "3e7b9d15-c46a-4a02-8f1e-6b2d5a9c0e47", time.Date(2026, 3, 1, 3, 7, 0, 0, time.UTC), incident.Recovered, "OK", "ALARM"),
		},
		{
			file: "worker-queue-backlog-ok.json",
			want: incident.Signal{
				Source: "cloudwatch", EventID: workerAlarmARN + "@2026-03-01T05:32:30.511Z/OK", DedupKey: workerAlarmARN,
				Service: "dashboarduz-worker", Category: incident.QueueBacklog, Severity: incident.P1,
				Summary: "Jobs waiting across the worker queues above 1000",
				Time:    time.Date(2026, 3, 1, 5, 32, 30, 511e6, time.UTC), State: incident.Recovered,
				Details: map[string]string{
					"eventBridgeId": "0b1f7c52-6a3e-4d2b-9f51-2c8e7a4d6b13",
					"alarmName":     "dashboarduz-worker-queue-backlog", "alarmArn": workerAlarmARN, "region": "us-east-1", "account": "123456789012",
					"namespace": "AWS/SQS", "metric": "ApproximateNumberOfMessagesVisible", "dimensions": "QueueName=dashboarduz-jobs",
					"state": "OK", "previousState": "ALARM", "classificationRule": "worker-queue-backlog",
				},
			},
		},
	}
	covered := map[string]bool{}
	for _, tt := range tests {
		covered[tt.file] = true
		t.Run(tt.file, func(t *testing.T) {
			got, err := Decode(eventstest.Read(t, "cloudwatch", tt.file), rules)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			want := tt.want
			want.Reason = stateReason(t, tt.file)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Decode(%s)\n got %+v\nwant %+v", tt.file, got, want)
			}
			if got.Time.Location() != time.UTC {
				t.Errorf("time %v is not in UTC", got.Time)
			}
		})
	}
	for _, name := range eventstest.Files(t, "cloudwatch") {
		if !covered[name] {
			t.Errorf("fixture %s has no row in TestDecodeFixtures", name)
		}
	}
}

func TestDecodeMalformedFixtures(t *testing.T) {
	tests := map[string][]string{
		"not-json.txt":            {"event is not JSON: invalid character"},
		"wrong-detail-type.json":  {`detail-type is "EC2 Instance State-change Notification", want "CloudWatch Alarm State Change"`},
		"missing-alarm-name.json": {"detail.alarmName is missing"},
		"bad-timestamp.json":      {`detail.state.timestamp "yesterday" is not a CloudWatch timestamp`},
		"bad-state.json":          {`detail.state.value "BROKEN" is not ALARM, OK or INSUFFICIENT_DATA`},
		"empty-object.json":       {"neither detail-type", "nor alarmData"},
	}
	for _, name := range eventstest.Files(t, "malformed") {
		t.Run(name, func(t *testing.T) {
			want, ok := tests[name]
			if !ok {
				t.Fatalf("fixture %s has no row in TestDecodeMalformedFixtures", name)
			}
			checkDecodeError(t, eventstest.Read(t, "malformed", name), want)
		})
	}
}

func checkDecodeError(t *testing.T, raw []byte, want []string) {
	t.Helper()
	s, err := Decode(raw, incident.DefaultClassificationRules())
	if err == nil {
		t.Fatalf("Decode succeeded with %+v, want an error", s)
	}
	de, ok := err.(*DecodeError)
	if !ok {
		t.Fatalf("error %T (%v) is not a *DecodeError returned unwrapped", err, err)
	}
	if !strings.HasPrefix(de.Error(), "invalid CloudWatch alarm event: ") {
		t.Errorf("message %q does not say what failed", de.Error())
	}
	for _, w := range want {
		if !strings.Contains(de.Error(), w) {
			t.Errorf("error %q does not contain %q", de.Error(), w)
		}
	}
}

// mutate decodes a fixture into a generic map, lets edit change it and
// encodes it again.
func mutate(t *testing.T, dir, name string, edit func(m map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(eventstest.Read(t, dir, name), &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	raw, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func obj(m map[string]any, keys ...string) map[string]any {
	for _, k := range keys {
		m = m[k].(map[string]any)
	}
	return m
}

func TestDecodeErrors(t *testing.T) {
	eb := func(edit func(m map[string]any)) []byte {
		return mutate(t, "cloudwatch", "api-5xx-alarm.json", edit)
	}
	direct := func(edit func(m map[string]any)) []byte {
		return mutate(t, "cloudwatch", "database-direct-invocation.json", edit)
	}
	tests := []struct {
		name string
		raw  []byte
		want []string
	}{
		{"empty input", []byte(""), []string{"event is not JSON"}},
		{"truncated", eventstest.Read(t, "cloudwatch", "api-5xx-alarm.json")[:200], []string{"event is not JSON", "unexpected end"}},
		{"array", []byte(`[{"detail-type": "CloudWatch Alarm State Change"}]`), []string{"not an object"}},
		{"null", []byte(`null`), []string{"not an object"}},
		{"string", []byte(`"ALARM"`), []string{"not an object"}},
		{"wrong source", eb(func(m map[string]any) { m["source"] = "aws.ec2" }), []string{`source is "aws.ec2", want "aws.cloudwatch"`}},
		{"missing source", eb(func(m map[string]any) { delete(m, "source") }), []string{`source is "", want "aws.cloudwatch"`}},
		{"empty id", eb(func(m map[string]any) { m["id"] = "" }), []string{"id is missing or empty"}},
		{"missing id", eb(func(m map[string]any) { delete(m, "id") }), []string{"id is missing or empty"}},
		{"detail-type of the wrong type", eb(func(m map[string]any) { m["detail-type"] = 7 }), []string{`detail-type is 7, want "CloudWatch Alarm State Change"`}},
		{"missing detail", eb(func(m map[string]any) { delete(m, "detail") }), []string{"detail is missing"}},
		{"missing state", eb(func(m map[string]any) { delete(obj(m, "detail"), "state") }), []string{"detail.state is missing"}},
		{"missing state value", eb(func(m map[string]any) { delete(obj(m, "detail", "state"), "value") }), []string{"detail.state.value is missing"}},
		{"lowercase state value", eb(func(m map[string]any) { obj(m, "detail", "state")["value"] = "alarm" }), []string{`detail.state.value "alarm" is not ALARM, OK or INSUFFICIENT_DATA`}},
		{"state value of the wrong type", eb(func(m map[string]any) { obj(m, "detail", "state")["value"] = true }), []string{"detail.state.value has the wrong type"}},
		{"missing state timestamp", eb(func(m map[string]any) { delete(obj(m, "detail", "state"), "timestamp") }), []string{"detail.state.timestamp is missing"}},
		{"space-separated timestamp", eb(func(m map[string]any) { obj(m, "detail", "state")["timestamp"] = "2026-03-01 03:00:00" }), []string{`detail.state.timestamp "2026-03-01 03:00:00" is not a CloudWatch timestamp`}},
		{"zero timestamp", eb(func(m map[string]any) { obj(m, "detail", "state")["timestamp"] = "0001-01-01T00:00:00Z" }), []string{"detail.state.timestamp", "out of range"}},
		{"epoch number timestamp", eb(func(m map[string]any) { obj(m, "detail", "state")["timestamp"] = 1772334000 }), []string{"detail.state.timestamp has the wrong type"}},
		{"bad event time", eb(func(m map[string]any) { m["time"] = "Sun, 01 Mar 2026 03:00:00 GMT" }), []string{`time "Sun, 01 Mar 2026 03:00:00 GMT" is not a CloudWatch timestamp`}},
		{"bad previous state", eb(func(m map[string]any) { obj(m, "detail", "previousState")["value"] = "FINE" }), []string{`detail.previousState.value "FINE"`}},
		{"bad previous timestamp", eb(func(m map[string]any) { obj(m, "detail", "previousState")["timestamp"] = "later" }), []string{`detail.previousState.timestamp "later"`}},
		{"no ARN and no region", eb(func(m map[string]any) { m["resources"] = []any{}; delete(m, "region") }), []string{"alarm ARN is unknown"}},
		{"direct: wrong source", direct(func(m map[string]any) { m["source"] = "aws.events" }), []string{`source is "aws.events", want "aws.cloudwatch"`}},
		{"direct: bad alarm ARN", direct(func(m map[string]any) { m["alarmArn"] = "dashboarduz-production-db-connections" }), []string{`alarmArn "dashboarduz-production-db-connections" is not a CloudWatch alarm ARN`}},
		{"direct: missing alarm name", direct(func(m map[string]any) { delete(obj(m, "alarmData"), "alarmName") }), []string{"alarmData.alarmName is missing"}},
		{"direct: missing state", direct(func(m map[string]any) { delete(obj(m, "alarmData"), "state") }), []string{"alarmData.state is missing"}},
		{"direct: bad time", direct(func(m map[string]any) { m["time"] = "now" }), []string{`time "now" is not a CloudWatch timestamp`}},
		{"direct: alarmData is a string", direct(func(m map[string]any) { m["alarmData"] = "ALARM" }), []string{"alarmData has the wrong type: got a JSON string, want an object"}},
		{"direct: alarmData is null", direct(func(m map[string]any) { m["alarmData"] = nil }), []string{"neither detail-type"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkDecodeError(t, tt.raw, tt.want) })
	}
	t.Run("dimensions as a list", func(t *testing.T) {
		raw := eb(func(m map[string]any) {
			metrics := obj(m, "detail", "configuration")["metrics"].([]any)
			obj(metrics[0].(map[string]any), "metricStat", "metric")["dimensions"] = []any{map[string]any{"name": "LoadBalancer", "value": apiLB}}
		})
		checkDecodeError(t, raw, []string{"detail.configuration.metrics.metricStat.metric.dimensions has the wrong type: got a JSON array, want an object"})
	})
}

func TestDecodeVariants(t *testing.T) {
	rules := incident.DefaultClassificationRules()
	decode := func(t *testing.T, raw []byte) incident.Signal {
		t.Helper()
		s, err := Decode(raw, rules)
		if err != nil {
			t.Fatalf("Decode: %v", err)
		}
		return s
	}
	t.Run("without resources the ARN is built from region, account and name", func(t *testing.T) {
		s := decode(t, mutate(t, "cloudwatch", "api-5xx-alarm.json", func(m map[string]any) { m["resources"] = []any{} }))
		if s.DedupKey != apiAlarmARN {
			t.Errorf("DedupKey = %q, want %q", s.DedupKey, apiAlarmARN)
		}
	})
	t.Run("a non-alarm resource is skipped", func(t *testing.T) {
		s := decode(t, mutate(t, "cloudwatch", "api-5xx-alarm.json", func(m map[string]any) {
			m["resources"] = []any{"arn:aws:sns:us-east-1:123456789012:alerts", apiAlarmARN}
		}))
		if s.DedupKey != apiAlarmARN {
			t.Errorf("DedupKey = %q, want %q", s.DedupKey, apiAlarmARN)
		}
	})
	t.Run("china region gets the aws-cn partition", func(t *testing.T) {
		s := decode(t, mutate(t, "cloudwatch", "api-5xx-alarm.json", func(m map[string]any) {
			m["resources"] = nil
			m["region"] = "cn-north-1"
		}))
		if want := "arn:aws-cn:cloudwatch:cn-north-1:123456789012:alarm:dashboarduz-api-5xx-errors"; s.DedupKey != want {
			t.Errorf("DedupKey = %q, want %q", s.DedupKey, want)
		}
	})
	t.Run("direct payload without alarmArn", func(t *testing.T) {
		s := decode(t, mutate(t, "cloudwatch", "database-direct-invocation.json", func(m map[string]any) { delete(m, "alarmArn") }))
		if s.DedupKey != dbAlarmARN {
			t.Errorf("DedupKey = %q, want %q", s.DedupKey, dbAlarmARN)
		}
		if want := dbAlarmARN + "@2026-03-01T06:45:12.830Z/ALARM"; s.EventID != want {
			t.Errorf("EventID = %q, want %q", s.EventID, want)
		}
	})
	t.Run("direct payload recovery has its own event ID", func(t *testing.T) {
		s := decode(t, mutate(t, "cloudwatch", "database-direct-invocation.json", func(m map[string]any) {
			st := obj(m, "alarmData", "state")
			st["value"] = "OK"
			st["timestamp"] = "2026-03-01T07:02:00.114+0000"
		}))
		if want := dbAlarmARN + "@2026-03-01T07:02:00.114Z/OK"; s.EventID != want || s.State != incident.Recovered {
			t.Errorf("EventID, State = %q, %q; want %q, %q", s.EventID, s.State, want, incident.Recovered)
		}
	})
	t.Run("RFC 3339 state timestamp with an offset", func(t *testing.T) {
		s := decode(t, mutate(t, "cloudwatch", "api-5xx-alarm.json", func(m map[string]any) {
			obj(m, "detail", "state")["timestamp"] = "2026-03-01T05:00:00+02:00"
		}))
		if want := time.Date(2026, 3, 1, 3, 0, 0, 0, time.UTC); !s.Time.Equal(want) || s.Time.Location() != time.UTC {
			t.Errorf("Time = %v, want %v", s.Time, want)
		}
	})
	t.Run("without a description the summary names the alarm and state", func(t *testing.T) {
		s := decode(t, mutate(t, "cloudwatch", "api-5xx-alarm.json", func(m map[string]any) {
			delete(obj(m, "detail", "configuration"), "description")
		}))
		if want := "dashboarduz-api-5xx-errors is in ALARM"; s.Summary != want {
			t.Errorf("Summary = %q, want %q", s.Summary, want)
		}
	})
	t.Run("unknown alarm is still paged at P2", func(t *testing.T) {
		s := decode(t, mutate(t, "cloudwatch", "api-5xx-alarm.json", func(m map[string]any) {
			d := obj(m, "detail")
			d["alarmName"] = "mystery"
			delete(d, "configuration")
			m["resources"] = []any{}
		}))
		want := incident.Classification{Service: "mystery", Category: incident.Other, Severity: incident.P2, Rule: incident.DefaultRuleName}
		got := incident.Classification{Service: s.Service, Category: s.Category, Severity: s.Severity, Rule: s.Details["classificationRule"]}
		if got != want {
			t.Errorf("got %+v, want %+v", got, want)
		}
	})
	t.Run("unknown fields are accepted", func(t *testing.T) {
		decode(t, mutate(t, "cloudwatch", "api-5xx-alarm.json", func(m map[string]any) {
			obj(m, "detail")["somethingNew"] = map[string]any{"x": 1}
			obj(m, "detail", "state")["evaluationState"] = "PARTIAL_DATA"
		}))
	})
	t.Run("suppressed actions are recorded", func(t *testing.T) {
		s := decode(t, mutate(t, "cloudwatch", "api-composite-alarm.json", func(m map[string]any) {
			obj(m, "detail", "state")["actionsSuppressedBy"] = "Alarm"
		}))
		if got := s.Details["actionsSuppressedBy"]; got != "Alarm" {
			t.Errorf("actionsSuppressedBy = %q, want Alarm", got)
		}
	})
	t.Run("alarm tags reach the rules", func(t *testing.T) {
		tagged, err := incident.ParseClassificationRules([]byte(`{"rules": [
			{"name": "payments", "match": {"tags": {"team": "payments"}}, "service": "payments", "category": "high-error-rate", "severity": "P1"}
		], "default": {"category": "other", "severity": "P3"}}`))
		if err != nil {
			t.Fatal(err)
		}
		raw := mutate(t, "cloudwatch", "api-cpu-alarm.json", func(m map[string]any) {
			obj(m, "detail")["alarmTags"] = map[string]any{"team": "payments"}
		})
		s, err := Decode(raw, tagged)
		if err != nil {
			t.Fatal(err)
		}
		if s.Service != "payments" || s.Severity != incident.P1 {
			t.Errorf("got %s %s, want payments P1", s.Service, s.Severity)
		}
	})
}

func TestEvaluatedMetric(t *testing.T) {
	yes, no := true, false
	m := func(name string) *MetricStat { return &MetricStat{Metric: Metric{Namespace: "NS", Name: name}} }
	tests := []struct {
		name string
		qs   []MetricDataQuery
		want string // metric name, "" for none
	}{
		{"none", nil, ""},
		{"expression only", []MetricDataQuery{{ID: "e1", Expression: "SELECT 1", ReturnData: &yes}}, ""},
		{"single metric", []MetricDataQuery{{ID: "m1", MetricStat: m("A"), ReturnData: &yes}}, "A"},
		{"metric math picks the first metric", []MetricDataQuery{{ID: "e1", Expression: "m1+m2", ReturnData: &yes}, {ID: "m1", MetricStat: m("A"), ReturnData: &no}, {ID: "m2", MetricStat: m("B"), ReturnData: &no}}, "A"},
		{"returnData wins over order", []MetricDataQuery{{ID: "m1", MetricStat: m("A"), ReturnData: &no}, {ID: "m2", MetricStat: m("B"), ReturnData: &yes}}, "B"},
		{"returnData absent", []MetricDataQuery{{ID: "m1", MetricStat: m("A")}}, "A"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ""
			if mt := evaluatedMetric(tt.qs); mt != nil {
				got = mt.Name
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParseTimestamp(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Time
		wantErr bool
	}{
		{in: "2019-10-02T17:04:40.989+0000", want: time.Date(2019, 10, 2, 17, 4, 40, 989e6, time.UTC)},
		{in: "2019-10-02T17:04:40+0000", want: time.Date(2019, 10, 2, 17, 4, 40, 0, time.UTC)},
		{in: "2019-10-02T19:04:40.989+0200", want: time.Date(2019, 10, 2, 17, 4, 40, 989e6, time.UTC)},
		{in: "2019-10-02T17:04:40Z", want: time.Date(2019, 10, 2, 17, 4, 40, 0, time.UTC)},
		{in: "2019-10-02T17:04:40.5Z", want: time.Date(2019, 10, 2, 17, 4, 40, 5e8, time.UTC)},
		{in: "2019-10-02T12:04:40-05:00", want: time.Date(2019, 10, 2, 17, 4, 40, 0, time.UTC)},
		{in: "yesterday", wantErr: true},
		{in: "", wantErr: true},
		{in: "2019-10-02", wantErr: true},
		{in: "2019-10-02 17:04:40", wantErr: true},
		{in: "2019-10-02T17:04:40", wantErr: true},
		{in: "2019-10-02T17:04:40.989+00", wantErr: true},
		{in: "2023-08-04T12: 36: 15.490+0000", wantErr: true},
		{in: "1570035880", wantErr: true},
		{in: "0001-01-01T00:00:00Z", wantErr: true},
		{in: "0000-01-01T00:30:00+0100", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseTimestamp(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParseTimestamp(%q) error = %v, wantErr %v", tt.in, err, tt.wantErr)
			}
			if !got.Equal(tt.want) || (err == nil && got.Location() != time.UTC) {
				t.Errorf("ParseTimestamp(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestDecodeErrorUnwraps(t *testing.T) {
	_, err := Decode([]byte("{"), incident.DefaultClassificationRules())
	var syntax *json.SyntaxError
	if !errors.As(err, &syntax) {
		t.Errorf("error %v does not wrap the JSON syntax error", err)
	}
}

// One state change can arrive twice, through EventBridge and through an
// alarm action: both must carry one event ID, so ingest counts it once.
func TestOneStateChangeHasOneEventIDOnBothPaths(t *testing.T) {
	raw := eventstest.Read(t, "cloudwatch", "api-5xx-alarm.json")
	var e map[string]any
	if err := json.Unmarshal(raw, &e); err != nil {
		t.Fatal(err)
	}
	direct, err := json.Marshal(map[string]any{
		"source":    "aws.cloudwatch",
		"alarmArn":  e["resources"].([]any)[0],
		"accountId": e["account"],
		"time":      "2026-03-01T03:00:00.120+0000",
		"region":    e["region"],
		"alarmData": e["detail"],
	})
	if err != nil {
		t.Fatal(err)
	}
	rules := incident.DefaultClassificationRules()
	viaRule, err := Decode(raw, rules)
	if err != nil {
		t.Fatal(err)
	}
	viaAction, err := Decode(direct, rules)
	if err != nil {
		t.Fatal(err)
	}
	if viaRule.EventID != viaAction.EventID || viaRule.DedupKey != viaAction.DedupKey {
		t.Errorf("EventBridge: %s %s\nalarm action: %s %s", viaRule.EventID, viaRule.DedupKey, viaAction.EventID, viaAction.DedupKey)
	}
}

func TestIgnoredAlarm(t *testing.T) {
	raw := eventstest.Read(t, "cloudwatch", "api-cpu-alarm.json")
	var e map[string]any
	if err := json.Unmarshal(raw, &e); err != nil {
		t.Fatal(err)
	}
	name := "TargetTracking-service/dashboarduz-production/dashboarduz-api-AlarmHigh-4e1c3a"
	e["detail"].(map[string]any)["alarmName"] = name
	e["resources"] = []any{"arn:aws:cloudwatch:us-east-1:123456789012:alarm:" + name}
	b, _ := json.Marshal(e)
	s, err := Decode(b, incident.DefaultClassificationRules())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(s.Ignored, "autoscaling-target-tracking") {
		t.Errorf("Ignored = %q, want the target-tracking rule named", s.Ignored)
	}
}
