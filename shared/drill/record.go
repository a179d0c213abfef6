package drill

import (
	"time"
)

// The hops of a drill, in the order the signal takes them.
const (
	// HopAccepted: CloudWatch accepted the drill alarm's change to ALARM.
	HopAccepted = "event-accepted"
	// HopStored: the ingest function stored an incident for it.
	HopStored = "incident-stored"
	// HopEscalated: the incident's escalation execution started.
	HopEscalated = "escalation-started"
	// HopPaged: the first level's page is recorded as delivered to
	// PagerDuty.
	HopPaged = "page-delivered"
	// HopResolved: the drill resolved its incident and PagerDuty was told
	// that every page is resolved.
	HopResolved = "resolved"
)

// Hops lists the hops in order.
var Hops = []string{HopAccepted, HopStored, HopEscalated, HopPaged, HopResolved}

// Hop is what the drill saw of one hop.
type Hop struct {
	Name string `json:"name" dynamodbav:"name"`
	// OK says the hop was seen done within its time limit.
	OK bool `json:"ok" dynamodbav:"ok"`
	// Seconds is the time from the drill's start to when the hop was seen
	// done (or given up on).
	Seconds float64 `json:"seconds" dynamodbav:"seconds"`
	// Error says why the hop failed.
	Error string `json:"error,omitempty" dynamodbav:"error,omitempty"`
}

// Record is the result of one drill.
type Record struct {
	// ID is "drill-" and the start time, e.g. drill-20260301-100000.
	ID         string    `json:"id" dynamodbav:"drillId"`
	StartedAt  time.Time `json:"startedAt" dynamodbav:"startedAt"`
	FinishedAt time.Time `json:"finishedAt" dynamodbav:"finishedAt"`
	// Passed is true when every hop passed.
	Passed bool `json:"passed" dynamodbav:"passed"`
	// IncidentID is the incident the drill's alarm opened, once found.
	IncidentID string `json:"incidentId,omitempty" dynamodbav:"incidentId,omitempty"`
	// Cleared is an incident of an earlier drill that was still open and
	// that this drill resolved before raising its alarm.
	Cleared string `json:"cleared,omitempty" dynamodbav:"cleared,omitempty"`
	Hops    []Hop  `json:"hops" dynamodbav:"hops"`
}

// Failure returns the first failed hop's name and error, or empty strings
// when the drill passed.
func (r Record) Failure() (hop, reason string) {
	for _, h := range r.Hops {
		if !h.OK {
			return h.Name, h.Error
		}
	}
	return "", ""
}

// recordID names a drill by its start.
func recordID(start time.Time) string {
	return "drill-" + start.UTC().Format("20060102-150405")
}

// Failing reports whether the drill watch must raise its alarm at now: the
// latest drill failed, or no drill has passed for longer than maxAge,
// counted from the latest drill or, when none has run yet, from since (when
// the watch began). latest is nil when no drill has run. The reason says
// which, for the log.
func Failing(latest *Record, since, now time.Time, maxAge time.Duration) (bool, string) {
	if latest != nil {
		if !latest.Passed {
			hop, why := latest.Failure()
			return true, "the latest fire drill, " + latest.ID + ", failed at " + hop + ": " + why
		}
		if age := now.Sub(latest.StartedAt); age > maxAge {
			return true, "the latest fire drill, " + latest.ID + ", ran " + age.Round(time.Hour).String() + " ago, more than the " + maxAge.String() + " allowed"
		}
		return false, "the latest fire drill, " + latest.ID + ", passed"
	}
	if age := now.Sub(since); age > maxAge {
		return true, "no fire drill has run in the " + age.Round(time.Hour).String() + " since the watch began, more than the " + maxAge.String() + " allowed"
	}
	return false, "no fire drill has run yet; the first is due within " + (maxAge - now.Sub(since)).Round(time.Hour).String()
}
