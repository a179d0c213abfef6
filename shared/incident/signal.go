package incident

import (
	"fmt"
	"time"
)

// SignalState says what a signal reports about the thing it watches.
type SignalState string

// The signal states. A CloudWatch alarm's ALARM, OK and INSUFFICIENT_DATA
// map to them one to one.
const (
	Firing       SignalState = "firing"
	Recovered    SignalState = "ok"
	Inconclusive SignalState = "insufficient-data"
)

// Signal is one observation from any source (a CloudWatch alarm state
// change, another EventBridge event, a health check, a user report),
// normalised so that one function decides what it does to incidents.
type Signal struct {
	// Source names where the signal came from, e.g. "cloudwatch".
	Source string `json:"source"`
	// EventID identifies this observation; a redelivery carries the same ID.
	EventID string `json:"eventId"`
	// DedupKey identifies the thing that fires (an alarm's ARN): signals with
	// the same key belong to the same open incident.
	DedupKey string `json:"dedupKey"`
	// Service is the affected service, e.g. "dashboarduz-api".
	Service  string   `json:"service"`
	Category Category `json:"category"`
	Severity Severity `json:"severity"`
	// Summary is the brief description used in titles and pages.
	Summary string `json:"summary"`
	// Reason is the source's own explanation, e.g. the alarm's state reason.
	Reason  string            `json:"reason,omitempty"`
	Details map[string]string `json:"details,omitempty"`
	Time    time.Time         `json:"time"`
	State   SignalState       `json:"state"`
	// Ignored, when set, says why this signal is no incident at all (a
	// classification rule says so).
	Ignored string `json:"ignored,omitempty"`
}

// RouteKind is what a signal does to incidents.
type RouteKind string

// The possible outcomes of routing a signal.
const (
	// RouteOpen opens a new incident.
	RouteOpen RouteKind = "open"
	// RouteJoin adds a firing signal to the open incident for its key.
	RouteJoin RouteKind = "join"
	// RouteRecover notes on the open incident that its source recovered.
	RouteRecover RouteKind = "recover"
	// RouteNote notes a signal that neither fires nor recovers.
	RouteNote RouteKind = "note"
	// RouteReopen re-opens a resolved incident whose alarm fired again
	// within the policy's re-open window.
	RouteReopen RouteKind = "reopen"
	// RouteIgnore drops a signal that concerns no open incident.
	RouteIgnore RouteKind = "ignore"
)

// Outcome is what one signal did to the incidents: the route taken, the
// incident it concerned, if any, and why.
type Outcome struct {
	Route      RouteKind `json:"route"`
	IncidentID string    `json:"incidentId,omitempty"`
	Reason     string    `json:"reason"`
}

// Route is the decision for one signal, with the reason in words.
type Route struct {
	Kind   RouteKind
	Reason string
}

// RouteSignal decides what signal s does, given the incident its dedup key
// points to (nil when there is none) and the re-open window. It is the one
// place where that decision is made.
func RouteSignal(s Signal, current *Incident, reopenWithin time.Duration) Route {
	if s.Ignored != "" {
		return Route{RouteIgnore, s.Ignored}
	}
	open := current != nil && current.Status.Open()
	switch s.State {
	case Firing:
		if open {
			return Route{RouteJoin, "the alarm is still firing on open incident " + current.ID}
		}
		if current != nil && !s.Time.After(current.SignalAt) {
			// A late redelivery of an event the resolved incident already
			// saw, or one older than its latest signal, must not open a
			// new incident; a firing newer than that is a new outage.
			return Route{RouteIgnore, "the alarm event is not newer than the latest signal of resolved incident " + current.ID}
		}
		if current != nil && reopenWithin > 0 && s.Time.Sub(current.ResolvedAt) <= reopenWithin {
			return Route{RouteReopen, fmt.Sprintf("the alarm fired again within %s of the resolution of %s", reopenWithin, current.ID)}
		}
		return Route{RouteOpen, "the alarm fired with no open incident"}
	case Recovered:
		if open {
			return Route{RouteRecover, "the alarm returned to OK"}
		}
		return Route{RouteIgnore, "the alarm returned to OK with no open incident"}
	case Inconclusive:
		if open {
			return Route{RouteNote, "the alarm has insufficient data; nobody is paged for it"}
		}
		return Route{RouteIgnore, "the alarm has insufficient data and no open incident; nobody is paged for it"}
	}
	return Route{RouteIgnore, "unknown signal state " + string(s.State)}
}
