package main

import (
	"strings"
	"testing"

	"github.com/dashboarduz/incident-response/shared/comms"
	"github.com/dashboarduz/incident-response/shared/slack"
)

// commsContext turns every communication setting on.
var commsContext = map[string]any{
	ContextSlackSecretName:             "dashboarduz/incident-response/slack",
	ContextSlackOwnChannelSeverities:   []any{"P0", "P1"},
	ContextSlackUserDirectory:          map[string]any{"U024BE7LH": map[string]any{"email": "dana@dashboarduz.example", "role": "responder"}},
	ContextSlackTeamID:                 "T0DASHBRDZ",
	ContextPagerDutyAPIKeySecretName:   "dashboarduz/incident-response/pagerduty-api-key",
	ContextPagerDutyEscalationPolicies: map[string]any{"on-call": "PABC123", "team-lead": "PDEF456"},
	ContextEmailFrom:                   "Incidents <incidents@dashboarduz.example>",
	ContextEmailRecipients:             "cto@dashboarduz.example,status@dashboarduz.example",
	ContextIncidentURLBase:             "https://incidents.dashboarduz.example",
}

// statementsOf returns each action the function's role is granted, with
// the resources, canonicalised.
func statementsOf(t *testing.T, s synthesized, fnID string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, p := range s.policiesOf(roleOf(t, s, fnID)) {
		for _, stmt := range list(p["PolicyDocument"].(map[string]any)["Statement"]) {
			st := stmt.(map[string]any)
			for _, a := range list(st["Action"]) {
				for _, res := range list(st["Resource"]) {
					out[a.(string)] = append(out[a.(string)], canon(res))
				}
			}
		}
	}
	return out
}

func TestCommsSettings(t *testing.T) {
	s := synth(t, commsContext)
	notifyID := logicalID(t, s, s.stack.Functions.Notify)
	apiID := logicalID(t, s, s.stack.Functions.API)
	env := envOf(t, s, notifyID)
	for k, want := range map[string]string{
		comms.EnvSlackChannel:                "#incidents",
		comms.EnvSlackOwnChannelSeverities:   "P0,P1",
		comms.EnvSlackUserDirectory:          `{"U024BE7LH":{"email":"dana@dashboarduz.example","role":"responder"}}`,
		comms.EnvPagerDutyEscalationPolicies: `{"on-call":"PABC123","team-lead":"PDEF456"}`,
		comms.EnvEmailFrom:                   "Incidents <incidents@dashboarduz.example>",
		comms.EnvEmailTo:                     "cto@dashboarduz.example,status@dashboarduz.example",
		comms.EnvIncidentURLBase:             "https://incidents.dashboarduz.example",
	} {
		if env[k] != want {
			t.Errorf("notify %s = %v, want %q", k, env[k], want)
		}
	}
	for k, name := range map[string]string{comms.EnvSlackSecretArn: "dashboarduz/incident-response/slack", comms.EnvPagerDutyAPIKeySecretArn: "dashboarduz/incident-response/pagerduty-api-key"} {
		if got := canon(env[k]); !strings.Contains(got, ":secret:"+name+`"`) {
			t.Errorf("notify %s = %s, want the ARN of %s", k, got, name)
		}
	}
	apiEnv := envOf(t, s, apiID)
	if !strings.Contains(canon(apiEnv[slack.EnvSecretArn]), ":secret:dashboarduz/incident-response/slack\"") || apiEnv[slack.EnvTeamID] != "T0DASHBRDZ" || apiEnv[slack.EnvUserDirectory] == nil {
		t.Errorf("api's Slack settings: %v", apiEnv)
	}

	grants := statementsOf(t, s, notifyID)
	secrets := grants["secretsmanager:GetSecretValue"]
	if len(secrets) != 2 || !strings.Contains(strings.Join(secrets, " "), ":secret:dashboarduz/incident-response/slack-??????") ||
		!strings.Contains(strings.Join(secrets, " "), ":secret:dashboarduz/incident-response/pagerduty-api-key-??????") {
		t.Errorf("notify may read the secrets %v, want exactly the Slack app's and the REST API key's", secrets)
	}
	if ses := grants["ses:SendEmail"]; len(ses) != 1 || !strings.Contains(ses[0], ":identity/dashboarduz.example") {
		t.Errorf("notify may send email as %v, want the sender's domain identity", ses)
	}
	for a := range grants {
		if strings.HasPrefix(a, "secretsmanager:") && a != "secretsmanager:GetSecretValue" || strings.HasPrefix(a, "ses:") && a != "ses:SendEmail" {
			t.Errorf("notify is granted %s", a)
		}
	}
	apiSecrets := statementsOf(t, s, apiID)["secretsmanager:GetSecretValue"]
	if len(apiSecrets) != 3 || !strings.Contains(strings.Join(apiSecrets, " "), ":secret:dashboarduz/incident-response/slack-??????") {
		t.Errorf("api may read %v, want the PagerDuty and Sentry webhook secrets and the Slack app's", apiSecrets)
	}
}

// TestCommsOffByDefault: without settings, Notify reads no secret and
// sends no email.
func TestCommsOffByDefault(t *testing.T) {
	s := synth(t, nil)
	notifyID := logicalID(t, s, s.stack.Functions.Notify)
	env := envOf(t, s, notifyID)
	for _, k := range []string{comms.EnvSlackSecretArn, comms.EnvPagerDutyAPIKeySecretArn, comms.EnvEmailFrom, comms.EnvEmailTo} {
		if _, ok := env[k]; ok {
			t.Errorf("notify has %s without its setting", k)
		}
	}
	for a := range statementsOf(t, s, notifyID) {
		if strings.HasPrefix(a, "secretsmanager:") || strings.HasPrefix(a, "ses:") {
			t.Errorf("notify is granted %s without its setting", a)
		}
	}
	if _, ok := envOf(t, s, logicalID(t, s, s.stack.Functions.API))[slack.EnvSecretArn]; ok {
		t.Error("api has the Slack secret without its setting")
	}
}

func TestCommsContextErrors(t *testing.T) {
	for _, c := range []struct {
		name  string
		ctx   map[string]any
		error string
	}{
		{"recipients without a sender", map[string]any{ContextEmailRecipients: "cto@dashboarduz.example"}, "names no sender"},
		{"sender without recipients", map[string]any{ContextEmailFrom: "incidents@dashboarduz.example"}, "no recipients"},
		{"unknown level", map[string]any{ContextPagerDutyEscalationPolicies: map[string]any{"vp": "P1"}}, `"vp" is not a level`},
		{"key without policies", map[string]any{ContextPagerDutyAPIKeySecretName: "pd-key"}, "maps no level"},
		{"bad directory", map[string]any{ContextSlackUserDirectory: map[string]any{"dana": map[string]any{}}}, "slack user directory"},
		{"bad severity", map[string]any{ContextSlackOwnChannelSeverities: "P9"}, comms.EnvSlackOwnChannelSeverities},
		{"bad secret name", map[string]any{ContextSlackSecretName: "has spaces in it"}, "not a Secrets Manager secret name"},
		{"directory not JSON", map[string]any{ContextSlackUserDirectory: "{nope"}, "is not JSON"},
	} {
		t.Run(c.name, func(t *testing.T) { synthFails(t, c.ctx, c.error) })
	}
}
