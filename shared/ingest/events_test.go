package ingest_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/dashboarduz/incident-response/shared/eventbridge"
	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/ingest"
	"github.com/dashboarduz/incident-response/shared/statemachine"
)

// edit decodes a sample as a map, lets change edit it and encodes it.
func edit(t *testing.T, name string, change func(e, detail map[string]any)) json.RawMessage {
	t.Helper()
	var e map[string]any
	if err := json.Unmarshal(fixture(t, name), &e); err != nil {
		t.Fatal(err)
	}
	d, _ := e["detail"].(map[string]any)
	change(e, d)
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestECSEventsShareTheServiceIncident plays a failed deployment of the
// API: the circuit breaker's failure opens a P2 service-down incident and
// starts its escalation; its rollback, a redelivery and a task of the
// service that had failed to start minutes before join it (one dedup key
// per ECS service; the older task is put on the timeline in its place),
// and the completed rollback is noted as the recovery.
func TestECSEventsShareTheServiceIncident(t *testing.T) {
	ctx := context.Background()
	h, store, st := newHandler(t)
	res, err := h.Handle(ctx, fixture(t, "ecs/deployment-failed.json"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Route != incident.RouteOpen || !strings.Contains(res.Reason, "ECS event") {
		t.Fatalf("result = %+v, want an incident opened by the ECS event", res)
	}
	inc, err := store.GetIncident(ctx, res.IncidentID)
	if err != nil {
		t.Fatal(err)
	}
	if inc.Service != "dashboarduz-api" || inc.Category != incident.ServiceDown || inc.Severity != eventbridge.SeverityDeploymentFailed || inc.Source != "ecs" {
		t.Errorf("incident = %s %s %s from %s, want dashboarduz-api service-down %s from ecs", inc.Service, inc.Category, inc.Severity, inc.Source, eventbridge.SeverityDeploymentFailed)
	}
	task := edit(t, "ecs/task-failed-to-start.json", func(_, d map[string]any) { d["group"] = "service:dashboarduz-api" })
	for _, name := range []string{"ecs/deployment-rolling-back.json", "ecs/deployment-failed.json"} {
		res, err := h.Handle(ctx, fixture(t, name))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if res.IncidentID != inc.ID || res.Route != incident.RouteJoin {
			t.Errorf("%s: result = %+v, want it to join %s", name, res, inc.ID)
		}
	}
	if res, err := h.Handle(ctx, task); err != nil || res.IncidentID != inc.ID || res.Route != incident.RouteJoin {
		t.Errorf("a failed task of the service: %+v, %v; want it to join %s", res, err, inc.ID)
	}
	res, err = h.Handle(ctx, fixture(t, "ecs/deployment-completed.json"))
	if err != nil || res.Route != incident.RouteRecover || res.IncidentID != inc.ID {
		t.Fatalf("completed deployment: %+v, %v; want the recovery of %s", res, err, inc.ID)
	}
	es := timeline(t, store, inc.ID)
	if got := kinds(es); got != "signal,opened,recovered" {
		t.Fatalf("timeline = %s", got)
	}
	if !strings.HasPrefix(es[0].Text, "ECS event still failing: ECS task of dashboarduz-api stopped: it failed to start") {
		t.Errorf("task entry = %q", es[0].Text)
	}
	last := es[len(es)-1]
	if !strings.HasPrefix(last.Text, "ECS event reports a recovery: ECS deployment ecs-svc/8815226014562077315 of dashboarduz-api completed") || last.Actor != "ecs" {
		t.Errorf("recovery entry = %q by %s", last.Text, last.Actor)
	}
	if n := len(openIncidents(t, store)); n != 1 {
		t.Errorf("%d open incidents, want 1", n)
	}
	// One execution for the incident, and one generation that announces
	// the recovery at once.
	if d := st.distinct(); len(d) != 2 || d[statemachine.ExecutionName(inc.ID, 1)] != 1 {
		t.Errorf("escalations started: %v, want the incident's and one for the recovery", d)
	}
}

// TestRDSEventOpensADatabaseIncident: the database reaching its
// storage-full threshold is a P0 database incident.
func TestRDSEventOpensADatabaseIncident(t *testing.T) {
	ctx := context.Background()
	h, store, _ := newHandler(t)
	res, err := h.Handle(ctx, fixture(t, "rds/storage-full.json"))
	if err != nil || res.Route != incident.RouteOpen {
		t.Fatalf("result = %+v, %v; want an opened incident", res, err)
	}
	inc, err := store.GetIncident(ctx, res.IncidentID)
	if err != nil {
		t.Fatal(err)
	}
	if inc.Service != "dashboarduz-production-db" || inc.Category != incident.Database || inc.Severity != incident.P0 {
		t.Errorf("incident = %s %s %s, want the database P0", inc.Service, inc.Category, inc.Severity)
	}
	if !strings.Contains(inc.Title, "storage-full threshold") {
		t.Errorf("title = %q", inc.Title)
	}
}

// TestEventsThatAreNoIncident: a service outside the allow-list, a
// handler configured with none, a task scaled in and a backup are
// ignored, each with its reason on the result, and open nothing.
func TestEventsThatAreNoIncident(t *testing.T) {
	ctx := context.Background()
	h, store, st := newHandler(t)
	unlisted := *h
	unlisted.Allow = eventbridge.AllowList{}
	stranger := edit(t, "ecs/deployment-failed.json", func(e, _ map[string]any) {
		e["resources"] = []any{"arn:aws:ecs:us-east-1:123456789012:service/dashboarduz-production/reporting"}
	})
	tests := []struct {
		name   string
		h      *ingest.Handler
		raw    json.RawMessage
		reason string
	}{
		{"service outside the allow-list", h, stranger, "service reporting is not in the allow-list (dashboarduz-api, dashboarduz-worker, dashboarduz-production-db)"},
		{"no allow-list configured", &unlisted, fixture(t, "rds/storage-full.json"), "service dashboarduz-production-db is not in the allow-list, which is empty"},
		{"task scaled in", h, fixture(t, "ecs/task-stopped-scale-in.json"), "scale-in or a deployment"},
		{"backup finished", h, fixture(t, "rds/backup-finished.json"), "RDS-EVENT-0002 (backup) is not one this system acts on"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := tt.h.Handle(ctx, tt.raw)
			if err != nil {
				t.Fatal(err)
			}
			if res.Route != incident.RouteIgnore || !strings.Contains(res.Reason, tt.reason) {
				t.Errorf("result = %+v, want ignored because %q", res, tt.reason)
			}
		})
	}
	if n := len(openIncidents(t, store)); n != 0 || len(st.distinct()) != 0 {
		t.Errorf("%d incidents, escalations %v; want none", n, st.distinct())
	}
}

// TestBadEventsGoToTheDeadLetterQueue: an event that cannot become a
// signal fails with an *InvalidEventError (the Lambda error type of the
// dead-lettered event) wrapping the decoder's, which names the source,
// the detail-type and the problem.
func TestBadEventsGoToTheDeadLetterQueue(t *testing.T) {
	ctx := context.Background()
	h, store, _ := newHandler(t)
	tests := []struct {
		name string
		raw  json.RawMessage
		want string
	}{
		{"unknown detail-type", json.RawMessage(`{"id":"1","source":"aws.ecs","detail-type":"ECS Container Instance State Change","detail":{}}`),
			"(aws.ecs, ECS Container Instance State Change): no decoder for this source and detail-type"},
		{"task without its ARN", edit(t, "ecs/task-stopped-out-of-memory.json", func(_, d map[string]any) { delete(d, "taskArn") }),
			"(aws.ecs, ECS Task State Change): detail.taskArn is missing"},
		{"deployment of no service", edit(t, "ecs/deployment-failed.json", func(e, _ map[string]any) { e["resources"] = []any{} }),
			"resources hold no ECS service ARN"},
		{"RDS detail of the wrong type", edit(t, "rds/shutdown.json", func(_, d map[string]any) { d["EventCategories"] = "availability" }),
			"detail.EventCategories has the wrong type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := h.Handle(ctx, tt.raw)
			var invalid *ingest.InvalidEventError
			var decoded *eventbridge.InvalidEventError
			if !errors.As(err, &invalid) || !errors.As(err, &decoded) {
				t.Fatalf("err = %v (%T), want an *ingest.InvalidEventError wrapping the decoder's", err, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %q, want it to say %q", err, tt.want)
			}
		})
	}
	if n := len(openIncidents(t, store)); n != 0 {
		t.Errorf("%d incidents from bad events, want none", n)
	}
}
