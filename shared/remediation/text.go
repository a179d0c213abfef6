package remediation

import (
	"fmt"
	"time"

	"github.com/dashboarduz/incident-response/shared/incident"
)

// clock formats a time of day for the timeline.
func clock(t time.Time) string { return t.UTC().Format("15:04:05") }

// decisionText says what was decided and why, as the timeline shows it.
func decisionText(inc incident.Incident, rem incident.Remediation) string {
	what := rem.Describe()
	switch rem.State {
	case incident.RemedyNone:
		return fmt.Sprintf("No automatic remediation: %s.", rem.Reason)
	case incident.RemedyRefused:
		return fmt.Sprintf("Remediation refused: would %s, because %s; but %s.", what, rem.Reason, rem.Outcome)
	case incident.RemedyDryRun:
		return fmt.Sprintf("Dry run: would %s, because %s. Nothing was changed.", what, rem.Reason)
	case incident.RemedyAwaiting:
		return fmt.Sprintf("Remediation waits for approval until %s: %s, because %s. A commander approves with POST /incidents/%s/actions/%s/approve or rejects with .../reject; paging goes on meanwhile.",
			clock(rem.ApprovalExpires), what, rem.Reason, inc.ID, rem.Action)
	}
	return fmt.Sprintf("Remediation decided: %s, because %s.", what, rem.Reason)
}

// madeText says what an action did.
func madeText(rem incident.Remediation) string {
	switch rem.State {
	case incident.RemedyApplied:
		return fmt.Sprintf("Remediation made: %s. It goes off when the incident is resolved.", rem.Result)
	case incident.RemedyVerifying:
		return fmt.Sprintf("Remediation made: %s. Verifying until %s that the signal recovers.", rem.Result, clock(rem.VerifyUntil))
	}
	return fmt.Sprintf("Remediation made: %s.", rem.Result)
}
