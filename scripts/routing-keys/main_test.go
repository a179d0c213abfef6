package main

import (
	"strings"
	"testing"

	"github.com/dashboarduz/incident-response/shared/incident"
)

func TestParseKeys(t *testing.T) {
	k := strings.Repeat("a", 32)
	all := []string{"on-call=" + k, "team-lead=" + k, "engineering-manager=" + k, "cto=" + k}
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"every level", all, ""},
		{"every level and the fire drill's test key", append(append([]string{}, all...), "fire-drill="+k), ""},
		{"the fire drill's key must be a key too", append(append([]string{}, all...), "fire-drill=short"), "has 5 characters"},
		{"missing level", all[:3], "no routing key for level(s) [cto]"},
		{"unknown level", append(append([]string{}, all...), "ceo="+k), `"ceo" is not an escalation level`},
		{"short key", append(append([]string{}, all[:3]...), "cto=abc"), "has 3 characters"},
		{"not level=key", append(append([]string{}, all...), "cto"), "is not level=KEY"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseKeys(tt.args, incident.DefaultPolicy())
			if tt.wantErr == "" {
				if err != nil || len(got) != len(tt.args) {
					t.Fatalf("ParseKeys = %v, %v", got, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestCheckOperatorURL(t *testing.T) {
	key := strings.Repeat("b", 32)
	for _, c := range []struct {
		url  string
		want string // "" accepts
	}{
		{"https://events.pagerduty.com/integration/" + key + "/enqueue", ""},
		{"https://events.eu.pagerduty.com/integration/" + key + "/enqueue", ""},
		{"http://events.pagerduty.com/integration/" + key + "/enqueue", "must be an https URL"},
		{"https://example.com/integration/" + key + "/enqueue", "is not a PagerDuty integration URL"},
		{"https://events.pagerduty.com/v2/enqueue", "is not a PagerDuty integration URL"},
		{key, "must be an https URL"},
	} {
		err := CheckOperatorURL(c.url)
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("CheckOperatorURL(%q) = %v, want %q", c.url, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), key) {
			t.Errorf("the error quotes the integration key: %v", err)
		}
	}
}

func TestCheckValues(t *testing.T) {
	for _, c := range []struct {
		name    string
		url     string
		secrets []secretValue
		ok      bool
	}{
		{"nothing", "", nil, true},
		{"a Sentry client secret", "", []secretValue{{value: "4f1c9e2a7b", name: DefaultSentrySecretName}}, true},
		{"a rotation", "", []secretValue{{value: `["new","old"]`, name: DefaultSentrySecretName}}, true},
		{"an empty array", "", []secretValue{{value: `[]`, name: DefaultSentrySecretName}}, false},
		{"a broken array", "", []secretValue{{value: `["new",`, name: DefaultWebhookSecretName}}, false},
		{"not PagerDuty", "https://example.com/hook", nil, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if err := checkValues(c.url, c.secrets); (err == nil) != c.ok {
				t.Errorf("checkValues = %v, want ok %v", err, c.ok)
			}
		})
	}
}
