package awslocal

import (
	"fmt"
	"net/http"
)

// FaultKind is what a fault makes the server answer.
type FaultKind string

// The faults the server can answer with.
const (
	// Throttle answers the service's throttling error (ThrottlingException
	// or Throttling with HTTP 400 for the JSON, CBOR and query services;
	// the 429 its model declares for SES v2). The SDK
	// retries it.
	Throttle FaultKind = "throttle"
	// AccessDenied answers the service's access-denied error, as when the
	// caller's role lacks the permission. The SDK does not retry it.
	AccessDenied FaultKind = "access-denied"
	// ServerError answers the service's internal error with a 5xx. The
	// SDK retries it.
	ServerError FaultKind = "server-error"
	// Timeout holds the response, without doing the operation, until the
	// caller gives up (its deadline passes); a caller without a deadline
	// gets a 5xx after Options.Hold.
	Timeout FaultKind = "timeout"
	// TimeoutApplied does the operation, then holds the response as
	// Timeout does: the change is made but the caller never hears of it,
	// which is what exactly-once ledgers are for.
	TimeoutApplied FaultKind = "timeout-applied"
)

// Fault makes calls to a service's operation fail. Its JSON form can sit
// in a scenario file.
type Fault struct {
	// Service is ecs, cloudwatch, logs, rds, ssm or ses.
	Service string `json:"service"`
	// Operation is e.g. UpdateService; empty matches every operation of
	// the service.
	Operation string    `json:"operation,omitempty"`
	Kind      FaultKind `json:"kind"`
	// Count is how many calls fail; 0 fails every call until the fault is
	// cleared.
	Count int `json:"count,omitempty"`
}

// AddFault adds a fault; the first fault that matches a call applies.
func (s *Server) AddFault(f Fault) error {
	if servicesByName[f.Service] == nil {
		return fmt.Errorf("awslocal: fault for unknown service %q", f.Service)
	}
	switch f.Kind {
	case Throttle, AccessDenied, ServerError, Timeout, TimeoutApplied:
	default:
		return fmt.Errorf("awslocal: unknown fault kind %q", f.Kind)
	}
	if f.Count < 0 {
		return fmt.Errorf("awslocal: fault count %d is negative", f.Count)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, f)
	return nil
}

// ClearFaults removes every fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// takeFault returns the kind of the first fault matching the call, using
// up one of its calls, or "" when none matches.
func (s *Server) takeFault(service, op string) FaultKind {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		if f.Service != service || (f.Operation != "" && f.Operation != op) {
			continue
		}
		if f.Count > 0 {
			s.faults[i].Count--
			if s.faults[i].Count == 0 {
				s.faults = append(s.faults[:i], s.faults[i+1:]...)
			}
		}
		return f.Kind
	}
	return ""
}

// faultCodes are a service's own codes for the faults; every service
// answers its internal error with a 500.
type faultCodes struct {
	throttle, throttleQuery string
	throttleStatus          int
	denied                  string
	deniedStatus            int
	internal                string
}

// faultError is the service's error for a fault kind.
func (svc *service) faultError(kind FaultKind, op string) *apiError {
	c := svc.codes
	switch kind {
	case Throttle:
		return &apiError{Code: c.throttle, QueryCode: c.throttleQuery, Status: c.throttleStatus, Message: "Rate exceeded"}
	case AccessDenied:
		return &apiError{Code: c.denied, Status: c.deniedStatus, Message: fmt.Sprintf("User: arn:aws:sts::%s:assumed-role/incident-response/local is not authorized to perform: %s:%s because no identity-based policy allows the %s:%s action", Account, svc.iamPrefix, op, svc.iamPrefix, op)}
	default:
		return &apiError{Code: c.internal, Status: http.StatusInternalServerError, Message: "We encountered an internal error. Please try again."}
	}
}
