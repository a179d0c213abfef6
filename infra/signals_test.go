package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
)

// testHealthChecksFile is a checks file whose slowest check takes 10 s,
// relative to the folder of cdk.json.
const testHealthChecksFile = "infra/testdata/health-checks.json"

// compactFile is the file at path (relative to the repository root) as
// compact JSON.
func compactFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", path))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := json.Compact(&out, b); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

// TestHealthCheckSchedule: with a checks file, EventBridge Scheduler runs
// the health-check function every minute, without retries, as a role
// that may invoke exactly that function; the function gets the checks
// and a timeout above its slowest check.
func TestHealthCheckSchedule(t *testing.T) {
	s := synth(t, map[string]any{ContextHealthChecksFile: testHealthChecksFile})
	fn := logicalID(t, s, s.stack.Functions.HealthCheck)
	hc := s.stack.HealthChecks
	if hc.Schedule == nil || hc.Role == nil {
		t.Fatal("no schedule with a checks file")
	}
	role := logicalID(t, s, hc.Role)
	check(t, "schedule", func() {
		s.tmpl.HasResourceProperties(jsii.String("AWS::Scheduler::Schedule"), assertions.Match_ObjectLike(&map[string]any{
			"ScheduleExpression": "rate(1 minute)",
			"State":              "ENABLED",
			"FlexibleTimeWindow": map[string]any{"Mode": "OFF"},
			"Target": map[string]any{
				"Arn":         getAtt(fn, "Arn"),
				"RoleArn":     getAtt(role, "Arn"),
				"RetryPolicy": map[string]any{"MaximumRetryAttempts": 0, "MaximumEventAgeInSeconds": 60},
			},
		}))
	})
	check(t, "scheduler role trust", func() {
		s.tmpl.HasResourceProperties(jsii.String("AWS::IAM::Role"), map[string]any{
			"AssumeRolePolicyDocument": map[string]any{"Statement": []any{map[string]any{
				"Action":    "sts:AssumeRole",
				"Effect":    "Allow",
				"Principal": map[string]any{"Service": "scheduler.amazonaws.com"},
				"Condition": map[string]any{"StringEquals": map[string]any{"aws:SourceAccount": ref("AWS::AccountId")}},
			}}},
		})
	})
	// The scheduler's role may invoke the function, unqualified, and
	// nothing else.
	var grants []string
	for _, p := range s.policiesOf(role) {
		for _, stmt := range list(p["PolicyDocument"].(map[string]any)["Statement"]) {
			stmt := stmt.(map[string]any)
			grants = append(grants, canon(stmt["Action"])+" on "+canon(stmt["Resource"]))
		}
	}
	if want := []string{`"lambda:InvokeFunction" on ` + canon(getAtt(fn, "Arn"))}; strings.Join(grants, "\n") != strings.Join(want, "\n") {
		t.Errorf("scheduler role grants %q, want %q", grants, want)
	}
	p := props(s.resource(t, fn))
	if p["Timeout"] != 40.0 {
		t.Errorf("Timeout = %v, want 40: the slowest check's 10 s and the margin", p["Timeout"])
	}
	if got, want := envOf(t, s, fn)[EnvHealthChecks], compactFile(t, testHealthChecksFile); got != want {
		t.Errorf("%s = %v, want the file compact: %s", EnvHealthChecks, got, want)
	}
	if got := len(s.resourcesOfType("AWS::Scheduler::Schedule")); got != 1 {
		t.Errorf("%d schedules, want 1", got)
	}
}

func TestHealthCheckScheduleSettings(t *testing.T) {
	for _, c := range []struct {
		name      string
		ctx       map[string]any
		schedules int
		note      bool
	}{
		{"another rate", map[string]any{ContextHealthChecksFile: testHealthChecksFile, ContextHealthCheckSchedule: "rate(5 minutes)"}, 1, false},
		{"off", map[string]any{ContextHealthChecksFile: testHealthChecksFile, ContextHealthCheckSchedule: "off"}, 0, false},
		{"no checks file", nil, 0, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := synth(t, c.ctx)
			if got := len(s.resourcesOfType("AWS::Scheduler::Schedule")); got != c.schedules {
				t.Errorf("%d schedules, want %d", got, c.schedules)
			}
			if c.schedules == 1 {
				check(t, "expression", func() {
					s.tmpl.HasResourceProperties(jsii.String("AWS::Scheduler::Schedule"), map[string]any{"ScheduleExpression": "rate(5 minutes)"})
				})
			}
			if c.note {
				check(t, "note", func() {
					assertions.Annotations_FromStack(s.stack.Stack).HasInfo(jsii.String("/"+StackID),
						assertions.Match_StringLikeRegexp(jsii.String("healthChecksFile is not set: the health checks are not scheduled")))
				})
			}
		})
	}
}

// TestSignalSettings: the allow-list reaches the ingest function and the
// Sentry mapping and client secret the api function, as compact JSON and
// a secret it alone may read.
func TestSignalSettings(t *testing.T) {
	s := synth(t, map[string]any{
		ContextEventAllowList:         map[string]any{"clusters": []any{"prod"}, "services": []any{"billing", "billing-db"}},
		ContextSentryMapping:          `{ "services": {"web": "billing"} }`,
		ContextSentryClientSecretName: "team/sentry",
	})
	ingest := envOf(t, s, logicalID(t, s, s.stack.Functions.AlarmIngest))
	if got := ingest[EnvEventAllowList]; got != `{"clusters":["prod"],"services":["billing","billing-db"]}` {
		t.Errorf("%s = %v", EnvEventAllowList, got)
	}
	apiID := logicalID(t, s, s.stack.Functions.API)
	api := envOf(t, s, apiID)
	if got := api[EnvSentryMapping]; got != `{"services":{"web":"billing"}}` {
		t.Errorf("%s = %v", EnvSentryMapping, got)
	}
	secretArn := join("arn:", ref("AWS::Partition"), ":secretsmanager:", ref("AWS::Region"), ":", ref("AWS::AccountId"), ":secret:team/sentry")
	if got := canon(api[EnvSentryClientSecretArn]); got != canon(secretArn) {
		t.Errorf("%s = %s, want %s", EnvSentryClientSecretArn, got, canon(secretArn))
	}
	check(t, "api reads the Sentry secret", func() {
		s.tmpl.HasResourceProperties(jsii.String("AWS::IAM::Policy"), map[string]any{
			"PolicyDocument": map[string]any{"Statement": assertions.Match_ArrayWith(&[]any{assertions.Match_ObjectLike(&map[string]any{
				"Action":   "secretsmanager:GetSecretValue",
				"Resource": assertions.Match_ArrayWith(&[]any{join("arn:", ref("AWS::Partition"), ":secretsmanager:", ref("AWS::Region"), ":", ref("AWS::AccountId"), ":secret:team/sentry-??????")}),
			})})},
		})
	})
	// Unset, the functions use their embedded defaults.
	d := synth(t, nil)
	if _, ok := envOf(t, d, logicalID(t, d, d.stack.Functions.AlarmIngest))[EnvEventAllowList]; ok {
		t.Errorf("%s set without context", EnvEventAllowList)
	}
	if _, ok := envOf(t, d, logicalID(t, d, d.stack.Functions.API))[EnvSentryMapping]; ok {
		t.Errorf("%s set without context", EnvSentryMapping)
	}
}

func TestSignalSettingsErrors(t *testing.T) {
	for _, c := range []struct {
		name string
		ctx  map[string]any
		err  string
	}{
		{"allow-list with an unknown key", map[string]any{ContextEventAllowList: `{"service": ["x"]}`}, `context eventAllowList: invalid: allow-list: json: unknown field "service"`},
		{"allow-list not an object", map[string]any{ContextEventAllowList: 3.0}, "context eventAllowList: 3 (float64) is neither a JSON object nor its text"},
		{"unknown Sentry level", map[string]any{ContextSentryMapping: map[string]any{"levels": map[string]any{"critical": "P0"}}}, `context sentryMapping: invalid: sentry mapping: level "critical" is not one of`},
		{"Sentry mapping not JSON", map[string]any{ContextSentryMapping: "web=api"}, "context sentryMapping: invalid: sentry mapping: not a JSON object"},
		{"not a secret name", map[string]any{ContextSentryClientSecretName: "a secret!"}, `context sentryClientSecretName: "a secret!" is not a Secrets Manager secret name`},
		{"no checks file", map[string]any{ContextHealthChecksFile: "infra/testdata/missing.json"}, "context healthChecksFile: open"},
		{"invalid checks", map[string]any{ContextHealthChecksFile: "cdk.json"}, "context healthChecksFile: "},
		{"not a schedule", map[string]any{ContextHealthChecksFile: testHealthChecksFile, ContextHealthCheckSchedule: "every minute"},
			`context healthCheckSchedule: "every minute" is not a schedule expression`},
	} {
		t.Run(c.name, func(t *testing.T) { synthFails(t, c.ctx, c.err) })
	}
}
