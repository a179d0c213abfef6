package incident

import "time"

// Remediation is one of the runbook's remediations for an incident: what
// was decided, under which guard rails, and how it went.
type Remediation struct {
	// Action names the remediation, e.g. "restart-service".
	Action string `json:"action"`
	// Episode is the incident's episode the remediation belongs to.
	Episode int `json:"episode"`
	// State is where the remediation stands.
	State string `json:"state"`
	// At is when it last changed state.
	At time.Time `json:"at"`
}

// remediationStep is a remediate step when a remediation of the incident
// has something to do now, and adds the times at which one will (an
// approval's expiry, the end of a verification window) to the wake-ups.
func remediationStep(inc Incident, now time.Time, wake *[]time.Time) (Step, bool) {
	return Step{}, false
}
