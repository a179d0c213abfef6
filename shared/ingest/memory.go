package ingest

import (
	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/dashboarduz/incident-response/shared/incident"
)

// DefaultMemorySize is how many dedup keys and events a function
// instance's Memory holds: a few hundred kilobytes.
const DefaultMemorySize = 10000

// Memory is what a handler remembers of the signals it ingested lately,
// so that a warm function instance spends fewer DynamoDB calls on the
// noise of an open incident:
//   - which incident each dedup key pointed at: a repeat of a firing
//     signal joins that incident in one conditional write, without reading
//     the pointer first. A remembered pointer can only be out of date in
//     one way, moved on to a new incident, and the join's condition (the
//     incident still open) catches that, since a pointer moves only off a
//     resolved incident;
//   - which events it ingested to the end: a redelivery of one is answered
//     without a call, since ingesting it again would change nothing.
//
// Both are bounded, least recently used out first, and safe for
// concurrent use. A nil *Memory remembers nothing: every signal reads the
// table.
type Memory struct {
	pointers *lru.Cache[string, string]
	events   *lru.Cache[string, Result]
}

// NewMemory returns a Memory of at most size dedup keys and size events;
// a size below 1 means DefaultMemorySize.
func NewMemory(size int) *Memory {
	if size < 1 {
		size = DefaultMemorySize
	}
	// lru.New fails only on a size below 1.
	pointers, _ := lru.New[string, string](size)
	events, _ := lru.New[string, Result](size)
	return &Memory{pointers: pointers, events: events}
}

// pointer returns the incident dedupKey pointed at when last seen.
func (m *Memory) pointer(dedupKey string) (string, bool) {
	if m == nil {
		return "", false
	}
	return m.pointers.Get(dedupKey)
}

// point remembers that dedupKey points at incident id.
func (m *Memory) point(dedupKey, id string) {
	if m != nil && id != "" {
		m.pointers.Add(dedupKey, id)
	}
}

// eventKey names a signal's event; "" for a signal without an event ID,
// which is never remembered.
func eventKey(sig incident.Signal) string {
	if sig.EventID == "" {
		return ""
	}
	return sig.Source + "\x00" + sig.EventID + "\x00" + sig.DedupKey
}

// ingested returns what a redelivery of sig's event is answered with, if
// the event was ingested to the end.
func (m *Memory) ingested(sig incident.Signal) (Result, bool) {
	k := eventKey(sig)
	if m == nil || k == "" {
		return Result{}, false
	}
	res, ok := m.events.Get(k)
	if !ok {
		return Result{}, false
	}
	if res.Route == incident.RouteOpen || res.Route == incident.RouteReopen {
		// The event belongs to the incident it opened, as a redelivery
		// read from the table says while the incident is open.
		res.Route = incident.RouteJoin
	}
	res.Reason = "the event was already ingested"
	return res, true
}

// done remembers that sig's event was ingested to the end, with res.
func (m *Memory) done(sig incident.Signal, res Result) {
	if k := eventKey(sig); m != nil && k != "" {
		m.events.Add(k, res)
	}
}
