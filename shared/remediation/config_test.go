package remediation_test

import (
	"strings"
	"testing"

	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/remediation"
)

func TestPolicyFrom(t *testing.T) {
	p, err := remediation.PolicyFrom("", "")
	if err != nil || p.DryRun || p.Rules.QueueBacklog.To != 4 {
		t.Errorf("default = %+v, %v", p.Rules.QueueBacklog, err)
	}
	if p, err := remediation.PolicyFrom("", "TRUE"); err != nil || !p.DryRun {
		t.Errorf("dry run forced: %v, %v", p.DryRun, err)
	}
	if _, err := remediation.PolicyFrom("", "maybe"); err == nil || !strings.Contains(err.Error(), remediation.EnvDryRun) {
		t.Errorf("a bad dry-run value: %v", err)
	}
	if _, err := remediation.PolicyFrom(`{"dryRun": true}`, ""); incident.ErrorCode(err) != incident.EInvalid || !strings.Contains(err.Error(), remediation.EnvPolicy) {
		t.Errorf("an incomplete policy: %v", err)
	}
}
