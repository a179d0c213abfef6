package incident

import (
	"fmt"
	"time"
)

// Severity is the runbook's incident severity, P0 (critical) to P3 (low).
type Severity string

// The runbook's four severity levels.
const (
	P0 Severity = "P0"
	P1 Severity = "P1"
	P2 Severity = "P2"
	P3 Severity = "P3"
)

// Severities lists every severity, most severe first.
var Severities = []Severity{P0, P1, P2, P3}

// ParseSeverity returns the severity named s ("P0" to "P3").
func ParseSeverity(s string) (Severity, error) {
	switch Severity(s) {
	case P0, P1, P2, P3:
		return Severity(s), nil
	}
	return "", Errorf(EInvalid, "severity %q is not one of P0, P1, P2, P3", s)
}

// Name is the runbook's word for the severity.
func (s Severity) Name() string {
	switch s {
	case P0:
		return "Critical"
	case P1:
		return "High"
	case P2:
		return "Medium"
	case P3:
		return "Low"
	}
	return "Unknown"
}

// ResponseTime is the runbook's response time: how soon a responder must
// be engaged. P0's "Immediate" is zero; the escalation policy turns it into
// an acknowledgement deadline.
func (s Severity) ResponseTime() time.Duration {
	switch s {
	case P0:
		return 0
	case P1:
		return 15 * time.Minute
	case P2:
		return time.Hour
	case P3:
		return 4 * time.Hour
	}
	panic(fmt.Sprintf("incident: unknown severity %q", string(s)))
}

// ResolutionTarget is the runbook's resolution target for the severity.
func (s Severity) ResolutionTarget() time.Duration {
	switch s {
	case P0:
		return time.Hour
	case P1:
		return 4 * time.Hour
	case P2:
		return 24 * time.Hour
	case P3:
		return 7 * 24 * time.Hour
	}
	panic(fmt.Sprintf("incident: unknown severity %q", string(s)))
}
