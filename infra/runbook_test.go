package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// policyStatements returns the statements of a policy resource.
func policyStatements(t *testing.T, s synthesized, id string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, st := range list(props(s.resource(t, id))["PolicyDocument"].(map[string]any)["Statement"]) {
		out = append(out, st.(map[string]any))
	}
	return out
}

func TestRunbookDefaults(t *testing.T) {
	s := synth(t, nil)
	rb := s.stack.Runbook
	triageEnv := envOf(t, s, logicalID(t, s, s.stack.Functions.Triage))
	remediateEnv := envOf(t, s, logicalID(t, s, s.stack.Functions.Remediate))
	for _, k := range []string{"TRIAGE_SOURCES", "REMEDIATION_POLICY", "REMEDIATION_DRY_RUN", "REMEDIATION_KILL_SWITCH"} {
		if triageEnv[k] != nil || remediateEnv[k] != nil {
			t.Errorf("%s is set with the defaults: the functions use their embedded runbook names", k)
		}
	}
	var actions []string
	for _, st := range policyStatements(t, s, logicalID(t, s, rb.RemediatePolicy)) {
		for _, a := range list(st["Action"]) {
			actions = append(actions, a.(string))
		}
	}
	if got := strings.Join(actions, " "); got != "ecs:DescribeServices ecs:UpdateService ecs:ListTaskDefinitions ssm:GetParameter ssm:PutParameter" {
		t.Errorf("remediate may %s", got)
	}
	if strings.Contains(canon(s.json), "iam:PassRole") {
		t.Error("iam:PassRole is granted without remediationPassRoles")
	}
}

func TestRunbookContext(t *testing.T) {
	dir := t.TempDir()
	sources := filepath.Join(dir, "sources.json")
	if err := os.WriteFile(sources, []byte(`{"timeout": "10s", "metricPeriod": "5m",
  "services": {"shop": {"cluster": "prod", "ecsService": "shop-web", "logGroup": "/ecs/shop", "healthUrl": "https://shop.example.com/health"}},
  "categories": {"default": ["health", "ecs-service", "logs"]}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	role := "arn:aws:iam::123456789012:role/shop-task"
	s := synth(t, map[string]any{
		ContextTriageSourcesFile:     sources,
		ContextRemediationDryRun:     true,
		ContextRemediationKillSwitch: "on",
		ContextRemediationPassRoles:  []any{role},
	})
	triageEnv := envOf(t, s, logicalID(t, s, s.stack.Functions.Triage))
	remediateEnv := envOf(t, s, logicalID(t, s, s.stack.Functions.Remediate))
	apiEnv := envOf(t, s, logicalID(t, s, s.stack.Functions.API))
	if src, _ := triageEnv["TRIAGE_SOURCES"].(string); !strings.Contains(src, `"shop-web"`) || strings.Contains(src, "\n") || remediateEnv["TRIAGE_SOURCES"] != src {
		t.Errorf("TRIAGE_SOURCES = %v", triageEnv["TRIAGE_SOURCES"])
	}
	if remediateEnv["REMEDIATION_DRY_RUN"] != "true" || remediateEnv["REMEDIATION_KILL_SWITCH"] != "on" || apiEnv["REMEDIATION_KILL_SWITCH"] != "on" {
		t.Errorf("remediate env %v, api env %v", remediateEnv, apiEnv)
	}
	tr := canon(policyStatements(t, s, logicalID(t, s, s.stack.Runbook.TriagePolicy)))
	for _, want := range []string{":service/prod/shop-web", ":log-group:/ecs/shop", ":task/prod/*", "ecs:cluster"} {
		if !strings.Contains(tr, want) {
			t.Errorf("triage policy lacks %s: %s", want, tr)
		}
	}
	if strings.Contains(tr, "rds:") || strings.Contains(tr, "dashboarduz-api") {
		t.Errorf("triage may read what its sources do not name: %s", tr)
	}
	var pass map[string]any
	for _, st := range policyStatements(t, s, logicalID(t, s, s.stack.Runbook.RemediatePolicy)) {
		if st["Action"] == "iam:PassRole" {
			pass = st
		}
	}
	if pass == nil || canon(pass["Resource"]) != canon(role) || !strings.Contains(canon(pass["Condition"]), "ecs-tasks.amazonaws.com") {
		t.Errorf("PassRole statement = %v", pass)
	}
}

func TestRunbookContextErrors(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "policy.json")
	if err := os.WriteFile(bad, []byte(`{"dryRun": true}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		ctx  map[string]any
		want string
	}{
		{map[string]any{ContextRemediationPolicyFile: bad}, "remediationPolicyFile"},
		{map[string]any{ContextRemediationKillSwitch: "maybe"}, "remediationKillSwitch"},
		{map[string]any{ContextRemediationPassRoles: []any{"arn:aws:iam::123456789012:role/*"}}, "without wildcards"},
		{map[string]any{ContextTriageSourcesFile: "no/such/file.json"}, "triageSourcesFile"},
	} {
		synthFails(t, c.ctx, c.want)
	}
}
