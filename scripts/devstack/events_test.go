package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/dashboarduz/incident-response/shared/incident"
)

// postEvents sends a body to the dev server's POST /events and returns
// its entries.
func postEvents(t *testing.T, s *Stack, query string, body []byte) []EventResult {
	t.Helper()
	rec := httptest.NewRecorder()
	s.DevHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/events"+query, bytes.NewReader(body)))
	var resp struct {
		FailedEntryCount int
		Entries          []EventResult
	}
	if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &resp) != nil {
		t.Fatalf("POST /events = %d %s", rec.Code, rec.Body)
	}
	return resp.Entries
}

// TestDevServerRoutesECSAndRDSEvents: POST /events routes ECS and RDS
// events as the stack's rules do. A failed deployment and the database
// shutting down each open an incident and page on-call; a task that is
// running matches no rule; a service outside the allow-list is ignored
// with the reason; an ECS event that cannot be decoded goes to the
// dead-letter queue; the same events as a PutEvents batch are routed the
// same way.
func TestDevServerRoutesECSAndRDSEvents(t *testing.T) {
	ctx := context.Background()
	s := newStack(t)
	stranger := bytes.ReplaceAll(readFixture(t, "ecs/deployment-failed.json"), []byte("/dashboarduz-api"), []byte("/reporting"))
	broken := bytes.Replace(readFixture(t, "ecs/task-stopped-out-of-memory.json"), []byte(`"taskArn"`), []byte(`"taskArnX"`), -1)
	tests := []struct {
		name  string
		raw   []byte
		route incident.RouteKind
		code  string
		says  string
	}{
		{"ecs/deployment-failed.json", readFixture(t, "ecs/deployment-failed.json"), incident.RouteOpen, "", "ECS event fired"},
		{"rds/shutdown.json", readFixture(t, "rds/shutdown.json"), incident.RouteOpen, "", "RDS event fired"},
		{"ecs/task-running.json", readFixture(t, "ecs/task-running.json"), incident.RouteIgnore, "", `no rule matches source "aws.ecs", detail-type "ECS Task State Change"`},
		{"a service outside the allow-list", stranger, incident.RouteIgnore, "", "service reporting is not in the allow-list"},
		{"a task without its ARN", broken, "", "RejectedToDeadLetterQueue", "detail.taskArn is missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := postEvents(t, s, "?at=now", tt.raw)
			if len(got) != 1 {
				t.Fatalf("entries = %+v", got)
			}
			e := got[0]
			if e.Route != tt.route || e.ErrorCode != tt.code || !strings.Contains(e.Reason+e.ErrorMessage, tt.says) {
				t.Errorf("entry = %+v, want route %q, error code %q, saying %q", e, tt.route, tt.code, tt.says)
			}
		})
	}
	if err := s.Exec.RunReady(ctx); err != nil {
		t.Fatal(err)
	}
	incs, err := s.Incidents(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var services []string
	for _, inc := range incs {
		services = append(services, inc.Service+"/"+string(inc.Category))
	}
	if strings.Join(services, " ") != "dashboarduz-api/service-down dashboarduz-production-db/database" {
		t.Errorf("incidents = %v", services)
	}
	if n := s.Recorder.Triggers(); n != 2 {
		t.Errorf("%d pages, want on-call paged once for each incident", n)
	}

	// The rollback as a PutEvents entry joins the deployment's incident;
	// a deployment going ahead matches no rule.
	var ev map[string]any
	if err := json.Unmarshal(readFixture(t, "ecs/deployment-rolling-back.json"), &ev); err != nil {
		t.Fatal(err)
	}
	rollback, _ := json.Marshal(ev["detail"])
	ahead := strings.Replace(string(rollback), "circuit breaker: rolling back to", "started for", 1)
	batch, _ := json.Marshal(map[string]any{"Entries": []map[string]any{
		{"Source": "aws.ecs", "DetailType": "ECS Deployment State Change", "Detail": string(rollback), "Resources": ev["resources"]},
		{"Source": "aws.ecs", "DetailType": "ECS Deployment State Change", "Detail": ahead, "Resources": ev["resources"]},
	}})
	got := postEvents(t, s, "", batch)
	if len(got) != 2 || got[0].Route != incident.RouteJoin || got[0].IncidentID != incs[0].ID {
		t.Errorf("rollback = %+v, want a join of %s", got, incs[0].ID)
	}
	if len(got) == 2 && (got[1].Route != incident.RouteIgnore || !strings.Contains(got[1].Reason, "no rule matches")) {
		t.Errorf("deployment going ahead = %+v, want no rule", got[1])
	}
}
