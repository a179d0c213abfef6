package statuspage

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dashboarduz/incident-response/shared/incident"
)

// t0 is when the scenario's outage begins.
var t0 = time.Date(2026, 3, 1, 3, 0, 0, 0, time.UTC)

// fakeClock is a settable clock.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// fakeSource serves a settable list of incidents and counts its reads;
// when gate is set, every read waits for it to close.
type fakeSource struct {
	mu        sync.Mutex
	incidents []Incident
	err       error
	gate      chan struct{}
	reads     atomic.Int64
	since     time.Time
}

func (s *fakeSource) PublicIncidents(ctx context.Context, since time.Time) ([]Incident, error) {
	s.reads.Add(1)
	s.mu.Lock()
	gate := s.gate
	s.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.since = since
	return append([]Incident(nil), s.incidents...), s.err
}

func (s *fakeSource) Set(in []Incident, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.incidents, s.err = in, err
}

// internalUpdate is a status update as responders post it: public or not.
type internalUpdate struct {
	At      time.Time
	Status  incident.Status
	Message string
	Public  bool
}

// scenarioIncident is an incident as the system holds it, with the
// fields the integration is to add (a public title, public flags on
// updates). publicView projects it the way the integration must.
type scenarioIncident struct {
	incident.Incident
	PublicTitle string
	Updates     []internalUpdate
}

// publicView keeps only what a responder made public.
func (s scenarioIncident) publicView() Incident {
	in := Incident{
		ID: s.ID, Title: s.PublicTitle, Severity: s.Severity, Status: s.Status, Service: s.Service,
		StartedAt: s.OpenedAt, ResolvedAt: s.ResolvedAt,
	}
	for _, u := range s.Updates {
		if u.Public {
			in.Updates = append(in.Updates, Update{At: u.At, Status: u.Status, Message: u.Message})
		}
	}
	return in
}

// Texts the scenario's incidents carry that the public must never see.
var internalTexts = []string{
	"dashboarduz-api-5xx-rate",             // the alarm's name
	"API 5xx error rate above 5%",          // the internal title and summary
	"Threshold Crossed",                    // the alarm's reason
	"oncall@dashboarduz.example",           // who acknowledged
	"task definition dashboarduz-api:117",  // an internal note
	"Bad deploy 4f2a9c exhausted the pool", // the root cause
	"P0",                                   // the internal severity
}

// A long unbroken token in a public update: it must wrap on a phone.
const longToken = "https://status.example.com/maintenance/2026-03-01/rollback-of-release-2026.03.01-0240-utc-details"

// scenario is the night-time API outage in four states, as the public
// sees it at each: before it, open, with an update posted, resolved.
type scenarioState struct {
	name      string
	now       time.Time
	incidents []scenarioIncident
}

func scenario() []scenarioState {
	// An earlier, resolved incident on the database, so the history has
	// something to show in every state.
	past := scenarioIncident{
		Incident: incident.Incident{
			ID: "inc-20260217-101500-a1b2c3d4e5", Title: "P2 dashboarduz-production-db - Slow queries", Service: "dashboarduz-production-db",
			Severity: incident.P2, Status: incident.Resolved, OpenedAt: t0.Add(-11*24*time.Hour - 16*time.Hour - 45*time.Minute),
			ResolvedAt: t0.Add(-11*24*time.Hour - 14*time.Hour - 45*time.Minute), Summary: "RDS read latency above 200 ms",
		},
		PublicTitle: "Slow dashboards",
		Updates: []internalUpdate{
			{At: t0.Add(-11*24*time.Hour - 16*time.Hour - 30*time.Minute), Status: incident.Investigating, Message: "Dashboards load slowly; we are looking into it.", Public: true},
			{At: t0.Add(-11*24*time.Hour - 14*time.Hour - 45*time.Minute), Status: incident.Resolved, Message: "Dashboards load normally again.", Public: true},
		},
	}
	outage := scenarioIncident{
		Incident: incident.Incident{
			ID: "inc-20260301-030000-c0f8ae04e8", Title: "P0 dashboarduz-api - API 5xx error rate above 5%", Service: "dashboarduz-api",
			Category: incident.ServiceDown, Severity: incident.P0, Status: incident.Triggered, Source: "cloudwatch",
			DedupKey: "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:dashboarduz-api-5xx-rate",
			Summary:  "API 5xx error rate above 5% - Threshold Crossed: 1 datapoint [12.5] was greater than the threshold (5.0).",
			OpenedAt: t0,
		},
		PublicTitle: "API unavailable",
	}
	investigating := internalUpdate{At: t0.Add(5 * time.Minute), Status: incident.Investigating, Message: "We are investigating errors on the API. Dashboards may fail to load.", Public: true}
	note := internalUpdate{At: t0.Add(12 * time.Minute), Status: incident.Investigating, Message: "Rolling back task definition dashboarduz-api:117; oncall@dashboarduz.example on it."}
	mitigating := internalUpdate{At: t0.Add(20 * time.Minute), Status: incident.Mitigating, Message: "We found the cause and are rolling back a faulty release. Details will follow at " + longToken, Public: true}
	resolved := internalUpdate{At: t0.Add(45 * time.Minute), Status: incident.Resolved, Message: "The API is working normally again. We are sorry for the disruption.", Public: true}

	open := outage
	open.Updates = []internalUpdate{investigating}

	updated := outage
	updated.Status, updated.AcknowledgedAt, updated.AcknowledgedBy = incident.Mitigating, t0.Add(12*time.Minute), "oncall@dashboarduz.example"
	updated.Updates = []internalUpdate{investigating, note, mitigating}

	done := updated
	done.Status, done.ResolvedAt, done.ResolvedBy, done.RootCause = incident.Resolved, t0.Add(45*time.Minute), "oncall@dashboarduz.example", "Bad deploy 4f2a9c exhausted the pool"
	done.Updates = []internalUpdate{investigating, note, mitigating, resolved}

	return []scenarioState{
		{name: "no-incident", now: t0.Add(-time.Hour), incidents: []scenarioIncident{past}},
		{name: "incident-open", now: t0.Add(6 * time.Minute), incidents: []scenarioIncident{past, open}},
		{name: "update-posted", now: t0.Add(21 * time.Minute), incidents: []scenarioIncident{past, updated}},
		{name: "resolved", now: t0.Add(50 * time.Minute), incidents: []scenarioIncident{past, done}},
	}
}

// public projects a state's incidents as the integration must.
func (s scenarioState) public() []Incident {
	out := make([]Incident, len(s.incidents))
	for i, in := range s.incidents {
		out[i] = in.publicView()
	}
	return out
}
