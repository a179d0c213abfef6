package awslocal_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/dashboarduz/incident-response/shared/local/awslocal"
)

const scenarioWorld = `{
  "clusters": [{"name": "dashboarduz", "services": [
    {"name": "dashboarduz-worker", "desiredCount": 2, "runningCount": 2, "taskDefinition": "dashboarduz-worker:3", "cpuUtilization": 40}
  ]}],
  "parameters": [{"name": "/dashboarduz/maintenance-mode", "value": "off"}],
  "logGroups": [{"name": "/ecs/dashboarduz-worker", "events": [
    {"time": "2026-03-01T02:59:00Z", "message": "ERROR b"},
    {"time": "2026-03-01T02:58:00Z", "message": "ERROR a"}
  ]}]
}`

func TestDecodeWorld(t *testing.T) {
	w, err := awslocal.DecodeWorld([]byte(scenarioWorld))
	if err != nil {
		t.Fatal(err)
	}
	s := w.Clusters[0].Services[0]
	if len(s.Deployments) != 1 || s.Deployments[0].Status != "PRIMARY" || s.Status != "ACTIVE" {
		t.Errorf("service = %+v, want ACTIVE with one PRIMARY deployment", s)
	}
	if len(w.TaskDefinitions) != 1 || w.TaskDefinitions[0].Family != "dashboarduz-worker" || w.TaskDefinitions[0].Revision != 3 {
		t.Errorf("task definitions = %+v, want the one the service uses", w.TaskDefinitions)
	}
	if p := w.Parameters[0]; p.Version != 1 || p.Type != "String" {
		t.Errorf("parameter = %+v", p)
	}
	if e := w.LogGroups[0].Events; e[0].Message != "ERROR a" {
		t.Errorf("events not in time order: %+v", e)
	}
	b, err := json.Marshal(w)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := awslocal.DecodeWorld(b); err != nil {
		t.Errorf("a world does not read back its own JSON: %v", err)
	}
}

func TestDecodeWorldRefuses(t *testing.T) {
	tests := map[string]string{
		"unknown field":       `{"clusters": [{"name": "c", "servces": []}]}`,
		"no task definition":  `{"clusters": [{"name": "c", "services": [{"name": "s"}]}]}`,
		"bad task definition": `{"clusters": [{"name": "c", "services": [{"name": "s", "taskDefinition": "s:x"}]}]}`,
	}
	for name, doc := range tests {
		if _, err := awslocal.DecodeWorld([]byte(doc)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestFaultJSON(t *testing.T) {
	var f awslocal.Fault
	if err := json.Unmarshal([]byte(`{"service": "ecs", "operation": "UpdateService", "kind": "throttle", "count": 2}`), &f); err != nil {
		t.Fatal(err)
	}
	if f != (awslocal.Fault{Service: "ecs", Operation: "UpdateService", Kind: awslocal.Throttle, Count: 2}) {
		t.Errorf("fault = %+v", f)
	}
}

func TestUpdateAndCallsAreCopies(t *testing.T) {
	srv := start(t)
	if err := srv.Update(func(w *awslocal.World) { w.Clusters[0].Services[1].DesiredCount = 9 }); err != nil {
		t.Fatal(err)
	}
	w := srv.World()
	w.Clusters[0].Services[1].DesiredCount = 1
	if got := srv.World().Clusters[0].Services[1].DesiredCount; got != 9 {
		t.Errorf("desired = %d, want 9: World must return a copy", got)
	}
	if err := srv.Update(func(w *awslocal.World) {
		w.Clusters[0].Services[1].TaskDefinition = ""
		w.Clusters[0].Services[1].Deployments = nil
	}); err == nil || !strings.Contains(err.Error(), "dashboarduz-worker") {
		t.Errorf("an invalid update: %v, want it refused", err)
	}
}
