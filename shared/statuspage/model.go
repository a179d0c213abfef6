// Package statuspage is the public status page: what a customer may know
// about the platform's health, built from public data only, and rendered
// as HTML (GET /status), JSON (GET /status.json) and an Atom feed
// (GET /status.atom) by a cached, concurrency-safe http.Handler.
//
// Nothing internal can reach the page by construction: Build takes
// Incident, a type with only the fields a responder has made public (the
// public title, the public status updates) and the few facts a visitor
// needs (severity, status, service, start and resolution times). Alarm
// names, summaries, descriptions, root causes, responders and timeline
// entries have no field to travel in.
package statuspage

import (
	"cmp"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/dashboarduz/incident-response/shared/incident"
)

// Incident is what the public may know of one incident. The integration
// fills it from incidents a responder published (those with a public
// title) and their public updates only.
type Incident struct {
	// ID is the incident's ID: opaque, it anchors links and feed entries.
	ID string
	// Title is the public title a responder gave; an incident without one
	// is not public and is left out.
	Title string
	// Severity sets the impact on the component (see Impact).
	Severity incident.Severity
	// Status is where the response stands; the public sees
	// investigating, mitigating, monitoring or resolved (see PublicStatus).
	Status incident.Status
	// Service is the affected service; it must be one of the page's
	// components, or the incident is left out.
	Service    string
	StartedAt  time.Time
	ResolvedAt time.Time
	// Updates are the status updates a responder marked public.
	Updates []Update
}

// Update is one public status update.
type Update struct {
	At      time.Time
	Status  incident.Status
	Message string
}

// State is a component's condition as the public sees it. The values are
// the ones widely used by hosted status pages, so existing tooling reads
// them.
type State string

// The states, from best to worst.
const (
	Operational         State = "operational"
	DegradedPerformance State = "degraded_performance"
	PartialOutage       State = "partial_outage"
	MajorOutage         State = "major_outage"
)

// states lists the states from best to worst.
var states = []State{Operational, DegradedPerformance, PartialOutage, MajorOutage}

// rank orders states; an unknown state ranks as operational.
func (s State) rank() int { return max(slices.Index(states, s), 0) }

// Worse returns the worse of a and b.
func Worse(a, b State) State {
	if b.rank() > a.rank() {
		return b
	}
	return a
}

// Label is the state in words, for a component.
func (s State) Label() string {
	switch s {
	case DegradedPerformance:
		return "Degraded performance"
	case PartialOutage:
		return "Partial outage"
	case MajorOutage:
		return "Major outage"
	}
	return "Operational"
}

// Summary is the state in words, for the whole page.
func (s State) Summary() string {
	if s.rank() == 0 {
		return "All systems operational"
	}
	return s.Label()
}

// Impact is the state an open incident of severity s puts its component
// in, after the runbook's definitions: P0 is a complete outage, P1 a major
// feature unavailable, P2 a minor one or slowness. P3 (cosmetic issues,
// minor bugs) leaves the component operational; the incident is still
// listed.
func Impact(s incident.Severity) State {
	switch s {
	case incident.P0:
		return MajorOutage
	case incident.P1:
		return PartialOutage
	case incident.P2:
		return DegradedPerformance
	}
	return Operational
}

// PublicStatus is the status the public sees: the runbook's status-update
// words. Triggered and acknowledged read as investigating, since the
// difference is internal.
func PublicStatus(s incident.Status) incident.Status {
	switch s {
	case incident.Mitigating, incident.Monitoring, incident.Resolved:
		return s
	}
	return incident.Investigating
}

// StatusLabel is a public status in words.
func StatusLabel(s incident.Status) string {
	switch PublicStatus(s) {
	case incident.Mitigating:
		return "Mitigating"
	case incident.Monitoring:
		return "Monitoring"
	case incident.Resolved:
		return "Resolved"
	}
	return "Investigating"
}

// Component is a part of the platform the page reports on: one of the
// runbook's services.
type Component struct {
	// Name is the service name incidents carry, e.g. dashboarduz-api.
	Name string
	// DisplayName is what visitors read, e.g. API.
	DisplayName string
}

// DefaultComponents are the runbook's services.
func DefaultComponents() []Component {
	return []Component{
		{Name: "dashboarduz-api", DisplayName: "API"},
		{Name: "dashboarduz-worker", DisplayName: "Background jobs"},
		{Name: "dashboarduz-production-db", DisplayName: "Database"},
	}
}

// Defaults.
const (
	// DefaultTitle is the page's default title.
	DefaultTitle = "Dashboarduz status"
	// DefaultDays is how many days of history the page shows.
	DefaultDays = 90
	// DefaultURL is where the page is assumed to be when Config.URL is
	// empty (local mode); feed IDs and links are built from it.
	DefaultURL = "http://localhost/status"
)

// Config says what the page shows.
type Config struct {
	// Title heads the page and the feed; DefaultTitle when empty.
	Title string
	// URL is the public address of the HTML page; the feed's IDs and links
	// derive from it, so it must not change once published. DefaultURL
	// when empty.
	URL string
	// Components are the services shown, in order; DefaultComponents when
	// empty.
	Components []Component
	// Days of history; DefaultDays when zero.
	Days int
}

// WithDefaults fills the empty settings; a component without a display
// name shows its name.
func (c Config) WithDefaults() Config {
	if c.Title == "" {
		c.Title = DefaultTitle
	}
	if c.URL == "" {
		c.URL = DefaultURL
	}
	if len(c.Components) == 0 {
		c.Components = DefaultComponents()
	}
	// A copy, so the caller's slice is never written to.
	c.Components = slices.Clone(c.Components)
	for i, comp := range c.Components {
		if comp.DisplayName == "" {
			c.Components[i].DisplayName = comp.Name
		}
	}
	if c.Days <= 0 {
		c.Days = DefaultDays
	}
	return c
}

// Page is everything a visitor sees, independent of the format.
type Page struct {
	Title string
	URL   string
	// State is the worst state of any component.
	State      State
	Components []ComponentStatus
	// Open are the unresolved incidents, newest first.
	Open []PublicIncident
	// Past are the incidents resolved within the history, newest first.
	Past []PublicIncident
	// From is the first day of the history (UTC midnight); Days counts them.
	From time.Time
	Days int
	// Updated is the time of the newest fact shown (a start, an update or a
	// resolution), zero when there is none. It is not the time of
	// building, so identical content renders identically.
	Updated time.Time
}

// ComponentStatus is one component with its state and history.
type ComponentStatus struct {
	Component
	State State
	// Uptime is the percentage of the history (up to now) without a
	// partial or major outage, rounded down to two decimals, so any
	// outage shows below 100.
	Uptime float64
	// History has one day per day of the page's history, oldest first.
	History []Day
}

// Day is one day of a component's history.
type Day struct {
	// Date is the day's UTC midnight.
	Date time.Time
	// State is the worst impact of the incidents open that day.
	State State
	// Incidents are those open at some time that day.
	Incidents []DayIncident
}

// DayIncident names an incident of a day.
type DayIncident struct {
	ID    string
	Title string
}

// PublicIncident is an incident as the page shows it.
type PublicIncident struct {
	ID    string
	Title string
	// Impact is the state the incident puts its component in while open.
	Impact State
	// Status is the public status (see PublicStatus).
	Status    incident.Status
	Component Component
	StartedAt time.Time
	// ResolvedAt is zero while the incident is open.
	ResolvedAt time.Time
	// Updates are the public updates, newest first.
	Updates []Update
}

// Open reports whether the incident is unresolved.
func (p PublicIncident) Open() bool { return p.ResolvedAt.IsZero() }

// Build makes the page from the public incidents as of now. Incidents
// without a public title, of services that are not components, starting
// after now, or resolved before the history begins are left out.
func Build(cfg Config, incidents []Incident, now time.Time) Page {
	cfg = cfg.WithDefaults()
	now = now.UTC()
	today := day(now)
	from := today.AddDate(0, 0, -(cfg.Days - 1))
	page := Page{Title: cfg.Title, URL: cfg.URL, State: Operational, From: from, Days: cfg.Days}

	index := map[string]int{}
	for i, c := range cfg.Components {
		index[c.Name] = i
		hist := make([]Day, cfg.Days)
		for d := range hist {
			hist[d] = Day{Date: from.AddDate(0, 0, d), State: Operational}
		}
		page.Components = append(page.Components, ComponentStatus{Component: c, State: Operational, History: hist})
	}
	outages := make([][]span, len(cfg.Components))

	for _, in := range sortedIncidents(incidents) {
		ci, ok := index[in.Service]
		if !ok || !shown(in, from, now) {
			continue
		}
		pi := publicIncident(in, cfg.Components[ci], now)
		comp := &page.Components[ci]
		end := pi.ResolvedAt
		if pi.Open() {
			end = now
			page.Open = append(page.Open, pi)
			comp.State = Worse(comp.State, pi.Impact)
		} else {
			page.Past = append(page.Past, pi)
		}
		markDays(comp.History, pi, end)
		if pi.Impact.rank() >= PartialOutage.rank() {
			outages[ci] = append(outages[ci], span{pi.StartedAt, end})
		}
		page.Updated = latest(page.Updated, pi)
	}
	for i := range page.Components {
		page.Components[i].Uptime = uptime(outages[i], from, now)
		page.State = Worse(page.State, page.Components[i].State)
	}
	return page
}

// sortedIncidents returns the incidents newest first, ties by ID, so the
// page does not depend on the order the source returned them in.
func sortedIncidents(in []Incident) []Incident {
	out := slices.Clone(in)
	slices.SortStableFunc(out, func(a, b Incident) int {
		if c := b.StartedAt.Compare(a.StartedAt); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return out
}

// shown reports whether an incident belongs on a page whose history
// starts at from.
func shown(in Incident, from, now time.Time) bool {
	if strings.TrimSpace(in.Title) == "" || in.StartedAt.IsZero() || in.StartedAt.After(now) {
		return false
	}
	return in.ResolvedAt.IsZero() || !in.ResolvedAt.Before(from)
}

// publicIncident shapes one incident for the page. An incident with a
// resolution time is resolved whatever its status says, and one resolved
// in the future (clock skew) is still open.
func publicIncident(in Incident, c Component, now time.Time) PublicIncident {
	pi := PublicIncident{
		ID:        in.ID,
		Title:     strings.TrimSpace(in.Title),
		Impact:    Impact(in.Severity),
		Status:    PublicStatus(in.Status),
		Component: c,
		StartedAt: in.StartedAt.UTC(),
	}
	if !in.ResolvedAt.IsZero() && !in.ResolvedAt.After(now) {
		pi.ResolvedAt = in.ResolvedAt.UTC()
		pi.Status = incident.Resolved
	} else if pi.Status == incident.Resolved {
		pi.Status = incident.Monitoring
	}
	for _, u := range in.Updates {
		if u.At.IsZero() || u.At.After(now) {
			continue
		}
		pi.Updates = append(pi.Updates, Update{At: u.At.UTC(), Status: PublicStatus(u.Status), Message: strings.TrimSpace(u.Message)})
	}
	slices.SortStableFunc(pi.Updates, func(a, b Update) int { return b.At.Compare(a.At) })
	return pi
}

// markDays records the incident on every day of hist it was open, up to
// end.
func markDays(hist []Day, pi PublicIncident, end time.Time) {
	if len(hist) == 0 {
		return
	}
	from := hist[0].Date
	first := max(0, daysBetween(from, day(pi.StartedAt)))
	last := min(len(hist)-1, daysBetween(from, day(end)))
	for d := first; d <= last; d++ {
		hist[d].State = Worse(hist[d].State, pi.Impact)
		hist[d].Incidents = append(hist[d].Incidents, DayIncident{ID: pi.ID, Title: pi.Title})
	}
}

// latest returns the later of t and the newest time the incident shows.
func latest(t time.Time, pi PublicIncident) time.Time {
	for _, u := range []time.Time{pi.StartedAt, pi.ResolvedAt} {
		if u.After(t) {
			t = u
		}
	}
	if len(pi.Updates) > 0 && pi.Updates[0].At.After(t) {
		t = pi.Updates[0].At
	}
	return t
}

// span is a time interval [start, end).
type span struct{ start, end time.Time }

// uptime is the percentage of [from, now) outside every outage, rounded
// down to two decimals. Overlapping outages count once.
func uptime(outages []span, from, now time.Time) float64 {
	window := now.Sub(from)
	if window <= 0 {
		return 100
	}
	slices.SortFunc(outages, func(a, b span) int { return a.start.Compare(b.start) })
	var down time.Duration
	var cur time.Time // the end of what has been counted so far
	for _, o := range outages {
		start, end := later(o.start, from, cur), earlier(o.end, now)
		if end.After(start) {
			down += end.Sub(start)
			cur = end
		}
	}
	// The epsilon keeps a float error in an exact share (0.99 as
	// 0.98999...) from rounding a whole hundredth down.
	return math.Floor((1-down.Seconds()/window.Seconds())*10000+1e-6) / 100
}

func later(ts ...time.Time) time.Time {
	out := ts[0]
	for _, t := range ts[1:] {
		if t.After(out) {
			out = t
		}
	}
	return out
}

func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// day returns t's UTC midnight.
func day(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// daysBetween counts whole days from midnight a to midnight b.
func daysBetween(a, b time.Time) int {
	return int(math.Round(b.Sub(a).Hours() / 24))
}
