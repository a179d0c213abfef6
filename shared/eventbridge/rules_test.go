package eventbridge

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/dashboarduz/incident-response/shared/eventbridge/eventstest"
)

// TestRulesCoverRoutes checks that every route Decode reads has a rule,
// that every rule routes something Decode reads, and that each pattern
// uses only the syntax MatchPattern knows.
func TestRulesCoverRoutes(t *testing.T) {
	rules := IngestRules()
	names := map[string]bool{}
	for _, r := range rules {
		if names[r.Name] || r.Name == "" || r.Description == "" {
			t.Errorf("rule %q: empty or repeated name, or no description", r.Name)
		}
		names[r.Name] = true
		if !slices.Contains(Routes, r.Route) {
			t.Errorf("rule %s routes %s/%s, which Decode does not read", r.Name, r.Source, r.DetailType)
		}
		if err := checkPattern(r.Pattern()); err != nil {
			t.Errorf("rule %s: %v", r.Name, err)
		}
	}
	for _, route := range Routes {
		if !slices.ContainsFunc(rules, func(r Rule) bool { return r.Route == route }) {
			t.Errorf("route %s/%s has no rule", route.Source, route.DetailType)
		}
	}
}

// TestRulesRouteEverySignalThatCounts decodes every EventBridge sample:
// each one that fires or recovers must be routed, by the rule of its own
// route; one the rules keep out must be one Decode ignores, so a rule never
// drops what would have been a signal. keptOut lists the samples the rules
// keep out, so a rule that grows wider or narrower shows here.
func TestRulesRouteEverySignalThatCounts(t *testing.T) {
	keptOut := []string{"ecs/deployment-in-progress.json", "ecs/task-running.json"}
	var gotOut []string
	d := testDecoder()
	for _, dir := range []string{"cloudwatch", "ecs", "rds"} {
		for _, name := range eventstest.Files(t, dir) {
			raw := eventstest.Read(t, dir, name)
			var head struct {
				Source     string `json:"source"`
				DetailType string `json:"detail-type"`
			}
			if err := json.Unmarshal(raw, &head); err != nil {
				t.Fatal(err)
			}
			if head.DetailType == "" {
				continue // an alarm action's payload, which invokes the function directly
			}
			s, err := d.Decode(raw)
			if err != nil {
				t.Fatalf("%s/%s: %v", dir, name, err)
			}
			rule, routed := RuleFor(raw)
			switch {
			case !routed:
				gotOut = append(gotOut, dir+"/"+name)
				if s.Ignored == "" {
					t.Errorf("%s/%s is a %s signal, but no rule routes it", dir, name, s.State)
				}
			case rule.Route != (Route{head.Source, head.DetailType}):
				t.Errorf("%s/%s is routed by rule %s of another route", dir, name, rule.Name)
			}
		}
	}
	if !slices.Equal(gotOut, keptOut) {
		t.Errorf("the rules keep out %v, want %v", gotOut, keptOut)
	}
}

// TestRulesKeepOutWhatIsNoIncident checks the narrowing on events that
// differ from a routed sample in the one field that matters.
func TestRulesKeepOutWhatIsNoIncident(t *testing.T) {
	tests := []struct {
		name   string
		raw    func(t *testing.T) []byte
		routed bool
	}{
		{"task stopped by a user", func(t *testing.T) []byte {
			return mutate(t, "ecs", "task-stopped-out-of-memory.json", func(e map[string]any) { detail(e)["stopCode"] = stopUser })
		}, false},
		{"task reclaimed by Spot", func(t *testing.T) []byte {
			return mutate(t, "ecs", "task-stopped-out-of-memory.json", func(e map[string]any) { detail(e)["stopCode"] = stopSpot })
		}, false},
		{"task stopping, not yet stopped", func(t *testing.T) []byte {
			return mutate(t, "ecs", "task-stopped-out-of-memory.json", func(e map[string]any) { detail(e)["lastStatus"] = "DEPROVISIONING" })
		}, false},
		{"task with a stop code unknown today", func(t *testing.T) []byte {
			return mutate(t, "ecs", "task-stopped-out-of-memory.json", func(e map[string]any) { detail(e)["stopCode"] = "SomethingNew" })
		}, true},
		{"deployment rolling back", func(t *testing.T) []byte { return eventstest.Read(t, "ecs", "deployment-rolling-back.json") }, true},
		{"deployment in progress without a rollback", func(t *testing.T) []byte {
			return mutate(t, "ecs", "deployment-rolling-back.json", func(e map[string]any) { detail(e)["reason"] = "ECS deployment ecs-svc/1 in progress." })
		}, false},
		{"service desired count changed", func(t *testing.T) []byte {
			return mutate(t, "ecs", "service-steady-state.json", func(e map[string]any) { detail(e)["eventName"] = "SERVICE_DESIRED_COUNT_UPDATED" })
		}, false},
		{"RDS event of any kind", func(t *testing.T) []byte {
			return mutate(t, "rds", "backup-finished.json", func(e map[string]any) { detail(e)["EventID"] = "RDS-EVENT-9999" })
		}, true},
		{"RDS cluster event", func(t *testing.T) []byte {
			return mutate(t, "rds", "shutdown.json", func(e map[string]any) { e["detail-type"] = "RDS DB Cluster Event" })
		}, false},
		{"another source", func(t *testing.T) []byte {
			return mutate(t, "cloudwatch", "api-5xx-alarm.json", func(e map[string]any) { e["source"] = "custom.cloudwatch" })
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, routed := RuleFor(tt.raw(t))
			if routed != tt.routed {
				t.Errorf("routed = %v, want %v", routed, tt.routed)
			}
		})
	}
}

func TestMatchPattern(t *testing.T) {
	event := `{"source":"aws.ecs","detail":{"name":"SERVICE_TASK_START_IMPAIRED","reason":"rolling back to x","codes":[1,137],
		"tags":["a","b"],"nested":{"x":"y"},"none":null}}`
	tests := []struct {
		pattern string
		want    bool
	}{
		{`{"source":["aws.ecs"]}`, true},
		{`{"source":["aws.rds","aws.ecs"]}`, true},
		{`{"source":["aws.rds"]}`, false},
		{`{"detail":{"name":[{"prefix":"SERVICE_"}]}}`, true},
		{`{"detail":{"name":[{"suffix":"_IMPAIRED"}]}}`, true},
		{`{"detail":{"name":[{"equals-ignore-case":"service_task_start_impaired"}]}}`, true},
		{`{"detail":{"reason":[{"wildcard":"*rolling back*"}]}}`, true},
		{`{"detail":{"reason":[{"wildcard":"rolling*x"}]}}`, true},
		{`{"detail":{"reason":[{"wildcard":"*back"}]}}`, false},
		{`{"detail":{"name":[{"anything-but":["A","B"]}]}}`, true},
		{`{"detail":{"name":[{"anything-but":"SERVICE_TASK_START_IMPAIRED"}]}}`, false},
		{`{"detail":{"missing":[{"anything-but":["A"]}]}}`, false},
		{`{"detail":{"missing":[{"exists":false}]}}`, true},
		{`{"detail":{"name":[{"exists":true}]}}`, true},
		{`{"detail":{"codes":[137]}}`, true},
		{`{"detail":{"tags":["b"]}}`, true},
		{`{"detail":{"none":[null]}}`, true},
		{`{"detail":{"nested":{"x":["y"]}}}`, true},
		{`{"detail":{"name":{"x":["y"]}}}`, false},
		{`{"detail":{"$or":[{"name":["X"]},{"reason":[{"prefix":"rolling"}]}]}}`, true},
		{`{"detail":{"$or":[{"name":["X"]},{"reason":["Y"]}]}}`, false},
		{`{"source":["aws.ecs"],"detail":{"name":["X"]}}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.pattern, func(t *testing.T) {
			var p map[string]any
			if err := json.Unmarshal([]byte(tt.pattern), &p); err != nil {
				t.Fatal(err)
			}
			got, err := MatchPattern(p, []byte(event))
			if err != nil || got != tt.want {
				t.Errorf("MatchPattern = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
	for _, bad := range []string{
		`{"detail":{"n":[{"numeric":[">",0]}]}}`,
		`{"detail":{"n":[{"prefix":"a","suffix":"b"}]}}`,
		`{"detail":{"$or":[{"n":["a"]}]}}`,
		`{"detail":"x"}`,
		`{"detail":{"n":[{"anything-but":{"prefix":"a"}}]}}`,
	} {
		var p map[string]any
		if err := json.Unmarshal([]byte(bad), &p); err != nil {
			t.Fatal(err)
		}
		for _, ev := range []string{event, "not json"} {
			if _, err := MatchPattern(p, []byte(ev)); err == nil || !strings.Contains(err.Error(), "pattern") {
				t.Errorf("MatchPattern(%s, %.10s) = %v, want an error naming the pattern", bad, ev, err)
			}
		}
	}
}
