package comms

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/slack"
)

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestSettingsFromEnv(t *testing.T) {
	policy := incident.DefaultPolicy()
	s, err := SettingsFromEnv(envOf(map[string]string{
		EnvSlackSecretArn:              "arn:aws:secretsmanager:us-east-1:1:secret:dashboarduz/incident-response/slack",
		EnvSlackChannel:                "#ops-incidents",
		EnvSlackOwnChannelSeverities:   "p0, P1",
		EnvSlackUserDirectory:          `{"U0DANA": {"email": "dana@dashboarduz.example"}}`,
		EnvPagerDutyEscalationPolicies: `{"on-call": "PABC123", "team-lead": "PDEF456"}`,
		EnvEmailFrom:                   "Incidents <incidents@dashboarduz.example>",
		EnvEmailTo:                     "cto@dashboarduz.example, status@dashboarduz.example",
		EnvIncidentURLBase:             "https://incidents.dashboarduz.example/",
	}), policy)
	if err != nil {
		t.Fatal(err)
	}
	if !s.SlackOn() || !s.EmailOn() || s.SlackChannel != "#ops-incidents" || len(s.OwnChannelFor) != 2 || !inDirectory(s.Directory, "U0DANA") ||
		s.EscalationPolicies["team-lead"] != "PDEF456" || len(s.EmailTo) != 2 || s.IncidentURLBase != "https://incidents.dashboarduz.example" {
		t.Errorf("settings %+v", s)
	}
	none, err := SettingsFromEnv(envOf(map[string]string{EnvSlackOwnChannelSeverities: "none"}), policy)
	if err != nil || none.OwnChannelFor == nil || len(none.OwnChannelFor) != 0 || none.SlackOn() || none.EmailOn() {
		t.Errorf("none: %+v, %v", none, err)
	}
	bad := []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{EnvSlackOwnChannelSeverities: "P5"}, EnvSlackOwnChannelSeverities},
		{map[string]string{EnvSlackUserDirectory: `{"dana": {}}`}, EnvSlackUserDirectory},
		{map[string]string{EnvPagerDutyEscalationPolicies: `{"vp": "P1"}`}, "not a level"},
		{map[string]string{EnvPagerDutyEscalationPolicies: `["P1"]`}, EnvPagerDutyEscalationPolicies},
		{map[string]string{EnvEmailTo: "cto@dashboarduz.example"}, "names no sender"},
		{map[string]string{EnvEmailFrom: "incidents@dashboarduz.example"}, "no recipients"},
		{map[string]string{EnvEmailFrom: "incidents@dashboarduz.example", EnvEmailTo: "not an address"}, "not an email address"},
		{map[string]string{EnvEmailFrom: "x@y.example", EnvEmailTo: "a@y.example", EnvEmailSeverities: "high"}, EnvEmailSeverities},
	}
	for _, b := range bad {
		if _, err := SettingsFromEnv(envOf(b.env), policy); err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("%v: err = %v, want %q", b.env, err, b.want)
		}
	}
}

// TestMissingConfigurationTurnsChannelsOff: without Slack's secret or an
// email sender, the task has no channel and reads no secret.
func TestMissingConfigurationTurnsChannelsOff(t *testing.T) {
	s, err := SettingsFromEnv(envOf(nil), incident.DefaultPolicy())
	if err != nil {
		t.Fatal(err)
	}
	chs, err := NewChannels(s, Deps{Clock: incident.SystemClock{}})
	if err != nil || len(chs) != 0 {
		t.Fatalf("channels %v, %v; want none", chs, err)
	}
	s.SlackSecret, s.EmailFrom, s.EmailTo = "slack", "incidents@dashboarduz.example", []string{"cto@dashboarduz.example"}
	if _, err := NewChannels(s, Deps{}); err == nil {
		t.Error("Slack and email on without their clients: no error")
	}
	chs, err = NewChannels(s, Deps{SlackTokens: tokens("xoxb-1"), SES: sesv2.New(sesv2.Options{Region: "us-east-1"}), Clock: incident.SystemClock{}})
	if err != nil || len(chs) != 2 || chs[0].Name() != SlackChannelName || chs[1].Name() != EmailChannelName {
		t.Fatalf("channels %v, %v", chs, err)
	}
}

// inDirectory reports whether the directory maps the Slack user id.
func inDirectory(d slack.Directory, id string) bool {
	_, ok := d.Lookup(id)
	return ok
}

type tokens string

func (t tokens) SlackBotToken(context.Context) (string, error) { return string(t), nil }

var _ slack.TokenSource = tokens("")
