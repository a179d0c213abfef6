package remediation

import (
	"fmt"

	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/lambdaenv"
)

// The environment variables the Remediate function (and, for the kill
// switch's default, the api function) read at cold start.
const (
	// EnvPolicy, when set, holds the remediation policy document (JSON)
	// that replaces the embedded default.
	EnvPolicy = "REMEDIATION_POLICY"
	// EnvDryRun, "true", makes every action a dry run whatever the policy
	// says: the stack's switch for a first deployment.
	EnvDryRun = "REMEDIATION_DRY_RUN"
	// EnvKillSwitch, "on", is the kill switch while the table holds no
	// setting (lambdaenv reads it, for the api function too).
	EnvKillSwitch = lambdaenv.EnvRemediationKillSwitch
)

// PolicyFrom returns the remediation policy in doc, validated, or the
// embedded default when doc is empty, made a dry run everywhere when
// dryRun is "true".
func PolicyFrom(doc, dryRun string) (incident.RemediationPolicy, error) {
	p := incident.DefaultRemediationPolicy()
	if doc != "" {
		var err error
		if p, err = incident.ParseRemediationPolicy([]byte(doc)); err != nil {
			return incident.RemediationPolicy{}, fmt.Errorf("%s: %w", EnvPolicy, err)
		}
	}
	on, err := lambdaenv.ParseFlag(EnvDryRun, dryRun, "true", "false")
	if err != nil {
		return incident.RemediationPolicy{}, err
	}
	p.DryRun = p.DryRun || on
	return p, nil
}
