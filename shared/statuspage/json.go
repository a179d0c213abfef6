package statuspage

import (
	"encoding/json"
	"fmt"
	"io"
	"time"
)

// Document is the JSON shape of GET /status.json. Every field is always
// present; times are RFC 3339 in UTC, days are YYYY-MM-DD, absent times
// are null. For example:
//
//	{
//	  "page": {"title": "Dashboarduz status", "url": "https://status.example.com/status",
//	           "updatedAt": "2026-03-01T03:20:00Z", "historyFrom": "2025-12-02", "historyDays": 90},
//	  "status": {"state": "major_outage", "description": "Major outage"},
//	  "components": [
//	    {"name": "dashboarduz-api", "displayName": "API", "state": "major_outage", "uptime": 99.98,
//	     "history": [{"date": "2025-12-02", "state": "operational", "incidents": []}, ...]}
//	  ],
//	  "incidents": [
//	    {"id": "inc-20260301-030000-c0f8ae04e8", "title": "API unavailable", "component": "dashboarduz-api",
//	     "impact": "major_outage", "status": "investigating", "startedAt": "2026-03-01T03:00:00Z",
//	     "resolvedAt": null,
//	     "updates": [{"status": "investigating", "message": "We are looking into errors.", "at": "2026-03-01T03:10:00Z"}]}
//	  ],
//	  "pastIncidents": []
//	}
//
// state is one of operational, degraded_performance, partial_outage,
// major_outage; status one of investigating, mitigating, monitoring,
// resolved. incidents are the open ones and pastIncidents those resolved
// within the history, newest first; updates are newest first.
type Document struct {
	Page          DocumentPage        `json:"page"`
	Status        DocumentStatus      `json:"status"`
	Components    []DocumentComponent `json:"components"`
	Incidents     []DocumentIncident  `json:"incidents"`
	PastIncidents []DocumentIncident  `json:"pastIncidents"`
}

// DocumentPage describes the page itself.
type DocumentPage struct {
	Title string `json:"title"`
	URL   string `json:"url"`
	// UpdatedAt is the time of the newest fact on the page.
	UpdatedAt   *time.Time `json:"updatedAt"`
	HistoryFrom string     `json:"historyFrom"`
	HistoryDays int        `json:"historyDays"`
}

// DocumentStatus is the overall state.
type DocumentStatus struct {
	State       State  `json:"state"`
	Description string `json:"description"`
}

// DocumentComponent is one component.
type DocumentComponent struct {
	Name        string        `json:"name"`
	DisplayName string        `json:"displayName"`
	State       State         `json:"state"`
	Uptime      float64       `json:"uptime"`
	History     []DocumentDay `json:"history"`
}

// DocumentDay is one day of a component's history.
type DocumentDay struct {
	Date  string `json:"date"`
	State State  `json:"state"`
	// Incidents are the IDs of the incidents open that day.
	Incidents []string `json:"incidents"`
}

// DocumentIncident is one incident.
type DocumentIncident struct {
	ID         string           `json:"id"`
	Title      string           `json:"title"`
	Component  string           `json:"component"`
	Impact     State            `json:"impact"`
	Status     string           `json:"status"`
	StartedAt  time.Time        `json:"startedAt"`
	ResolvedAt *time.Time       `json:"resolvedAt"`
	Updates    []DocumentUpdate `json:"updates"`
}

// DocumentUpdate is one public update.
type DocumentUpdate struct {
	Status  string    `json:"status"`
	Message string    `json:"message"`
	At      time.Time `json:"at"`
}

// NewDocument shapes the page for JSON.
func NewDocument(p Page) Document {
	doc := Document{
		Page: DocumentPage{
			Title: p.Title, URL: p.URL, UpdatedAt: timePtr(p.Updated),
			HistoryFrom: p.From.Format(time.DateOnly), HistoryDays: p.Days,
		},
		Status:        DocumentStatus{State: p.State, Description: p.State.Summary()},
		Components:    []DocumentComponent{},
		Incidents:     documentIncidents(p.Open),
		PastIncidents: documentIncidents(p.Past),
	}
	for _, c := range p.Components {
		dc := DocumentComponent{Name: c.Name, DisplayName: c.DisplayName, State: c.State, Uptime: c.Uptime, History: make([]DocumentDay, len(c.History))}
		for i, d := range c.History {
			ids := make([]string, len(d.Incidents))
			for j, in := range d.Incidents {
				ids[j] = in.ID
			}
			dc.History[i] = DocumentDay{Date: d.Date.Format(time.DateOnly), State: d.State, Incidents: ids}
		}
		doc.Components = append(doc.Components, dc)
	}
	return doc
}

func documentIncidents(in []PublicIncident) []DocumentIncident {
	out := make([]DocumentIncident, 0, len(in))
	for _, pi := range in {
		di := DocumentIncident{
			ID: pi.ID, Title: pi.Title, Component: pi.Component.Name, Impact: pi.Impact,
			Status: string(pi.Status), StartedAt: pi.StartedAt, ResolvedAt: timePtr(pi.ResolvedAt),
			Updates: make([]DocumentUpdate, len(pi.Updates)),
		}
		for i, u := range pi.Updates {
			di.Updates[i] = DocumentUpdate{Status: string(u.Status), Message: u.Message, At: u.At}
		}
		out = append(out, di)
	}
	return out
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// WriteJSON renders the page as a Document, compact: 90 days of history
// for each component make indentation cost more than the rest.
func WriteJSON(w io.Writer, p Page) error {
	enc := json.NewEncoder(w)
	if err := enc.Encode(NewDocument(p)); err != nil {
		return fmt.Errorf("status page json: %w", err)
	}
	return nil
}
