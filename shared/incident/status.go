package incident

// Status is where an incident stands in the response process.
type Status string

// The statuses, in the order an incident normally passes through them.
// Investigating, mitigating and monitoring are the responders' status
// updates, as in the runbook's status-update template.
const (
	Triggered     Status = "triggered"
	Acknowledged  Status = "acknowledged"
	Investigating Status = "investigating"
	Mitigating    Status = "mitigating"
	Monitoring    Status = "monitoring"
	Resolved      Status = "resolved"
)

// Statuses lists every status.
var Statuses = []Status{Triggered, Acknowledged, Investigating, Mitigating, Monitoring, Resolved}

// UpdateStatuses are the statuses a responder's status update may set.
var UpdateStatuses = []Status{Investigating, Mitigating, Monitoring}

// ParseStatus returns the status named s.
func ParseStatus(s string) (Status, error) {
	for _, st := range Statuses {
		if string(st) == s {
			return st, nil
		}
	}
	return "", FieldErrorf("status", "status %q is not one of triggered, acknowledged, investigating, mitigating, monitoring, resolved", s)
}

// ParseUpdateStatus returns the status-update status named s.
func ParseUpdateStatus(s string) (Status, error) {
	for _, st := range UpdateStatuses {
		if string(st) == s {
			return st, nil
		}
	}
	return "", FieldErrorf("status", "status %q is not one of investigating, mitigating, monitoring", s)
}

// Open reports whether an incident in this status still needs work.
func (s Status) Open() bool { return s != Resolved }

// transitions holds the legal moves. Resolved is final here; re-opening is
// an explicit operation, not a status change. Once taken on, an incident
// cannot go back to triggered or be acknowledged again.
var transitions = map[Status][]Status{
	Triggered:     {Acknowledged, Investigating, Mitigating, Monitoring, Resolved},
	Acknowledged:  {Investigating, Mitigating, Monitoring, Resolved},
	Investigating: {Investigating, Mitigating, Monitoring, Resolved},
	Mitigating:    {Investigating, Mitigating, Monitoring, Resolved},
	Monitoring:    {Investigating, Mitigating, Monitoring, Resolved},
	Resolved:      {},
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
	switch {
	case s == to:
		return Errorf(EConflict, "incident is already %s", s)
	case s == Resolved:
		return Errorf(EConflict, "incident is resolved and cannot become %s; an alarm that fires again re-opens it", to)
	case to == Acknowledged:
		return Errorf(EConflict, "incident is %s: it was acknowledged already", s)
	}
	return Errorf(EConflict, "incident is %s and cannot become %s", s, to)
}
