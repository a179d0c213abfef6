package incident

// Status is where an incident stands in the response process.
type Status string

// The statuses, in the order an incident normally passes through them.
const (
	Triggered    Status = "triggered"
	Acknowledged Status = "acknowledged"
	Mitigating   Status = "mitigating"
	Resolved     Status = "resolved"
)

// Statuses lists every status.
var Statuses = []Status{Triggered, Acknowledged, Mitigating, Resolved}

// ParseStatus returns the status named s.
func ParseStatus(s string) (Status, error) {
	for _, st := range Statuses {
		if string(st) == s {
			return st, nil
		}
	}
	return "", Errorf(EInvalid, "status %q is not one of triggered, acknowledged, mitigating, resolved", s)
}

// Open reports whether an incident in this status still needs work.
func (s Status) Open() bool { return s != Resolved }

// transitions holds the legal moves. Resolved is final here; re-opening is
// an explicit operation, not a status change.
var transitions = map[Status][]Status{
	Triggered:    {Acknowledged, Mitigating, Resolved},
	Acknowledged: {Mitigating, Resolved},
	Mitigating:   {Acknowledged, Resolved},
	Resolved:     {},
}

// CanTransition reports whether an incident may move from status s to to.
func (s Status) CanTransition(to Status) bool {
	for _, t := range transitions[s] {
		if t == to {
			return true
		}
	}
	return false
}

// Transition checks the move from s to to and returns a conflict error that
// explains the current state when it is illegal.
func (s Status) Transition(to Status) error {
	if s.CanTransition(to) {
		return nil
	}
	if s == to {
		return Errorf(EConflict, "incident is already %s", s)
	}
	return Errorf(EConflict, "incident is %s and cannot become %s", s, to)
}
