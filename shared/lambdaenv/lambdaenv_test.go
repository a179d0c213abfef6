package lambdaenv

import (
	"strings"
	"testing"

	"github.com/dashboarduz/incident-response/shared/incident"
)

func TestRequired(t *testing.T) {
	t.Setenv("LAMBDAENV_A", "a")
	t.Setenv("LAMBDAENV_B", "")
	got, err := Required("LAMBDAENV_A")
	if err != nil || len(got) != 1 || got[0] != "a" {
		t.Fatalf("Required(A) = %v, %v", got, err)
	}
	_, err = Required("LAMBDAENV_A", "LAMBDAENV_B", "LAMBDAENV_C")
	if err == nil || !strings.Contains(err.Error(), "LAMBDAENV_B LAMBDAENV_C") || strings.Contains(err.Error(), "LAMBDAENV_A") {
		t.Errorf("err = %v, want both missing variables named, and only those", err)
	}
}

func TestPolicy(t *testing.T) {
	t.Setenv(EnvEscalationPolicy, "")
	p, err := Policy()
	if err != nil || p.Severities["P0"].AcknowledgeWithin.D().String() != "5m0s" {
		t.Fatalf("default policy = %+v, %v", p.Severities["P0"], err)
	}
	doc := strings.Replace(string(incident.DefaultPolicyJSON()), `"acknowledgeWithin": "5m"`, `"acknowledgeWithin": "2m"`, 1)
	t.Setenv(EnvEscalationPolicy, doc)
	if p, err = Policy(); err != nil || p.Severities["P0"].AcknowledgeWithin.D().String() != "2m0s" {
		t.Fatalf("configured policy = %+v, %v", p.Severities["P0"], err)
	}
	t.Setenv(EnvEscalationPolicy, `{"levels":[]}`)
	if _, err := Policy(); err == nil || !strings.Contains(err.Error(), EnvEscalationPolicy) {
		t.Fatalf("invalid policy err = %v, want it to name %s", err, EnvEscalationPolicy)
	}
}
