package statuspage

import (
	"bytes"
	"testing"
	"time"

	"github.com/dashboarduz/incident-response/shared/incident"
)

func TestImpact(t *testing.T) {
	for _, c := range []struct {
		sev  incident.Severity
		want State
	}{
		{incident.P0, MajorOutage},
		{incident.P1, PartialOutage},
		{incident.P2, DegradedPerformance},
		{incident.P3, Operational},
	} {
		if got := Impact(c.sev); got != c.want {
			t.Errorf("Impact(%s) = %s, want %s", c.sev, got, c.want)
		}
	}
}

func TestPublicStatus(t *testing.T) {
	for in, want := range map[incident.Status]incident.Status{
		incident.Triggered:     incident.Investigating,
		incident.Acknowledged:  incident.Investigating,
		incident.Investigating: incident.Investigating,
		incident.Mitigating:    incident.Mitigating,
		incident.Monitoring:    incident.Monitoring,
		incident.Resolved:      incident.Resolved,
		"":                     incident.Investigating,
	} {
		if got := PublicStatus(in); got != want {
			t.Errorf("PublicStatus(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestWorse(t *testing.T) {
	if got := Worse(PartialOutage, DegradedPerformance); got != PartialOutage {
		t.Errorf("Worse(partial, degraded) = %s", got)
	}
	if got := Worse(Operational, MajorOutage); got != MajorOutage {
		t.Errorf("Worse(operational, major) = %s", got)
	}
	if got := Worse(Operational, "bogus"); got != Operational {
		t.Errorf("Worse(operational, bogus) = %s", got)
	}
}

// open is an open public incident for the tests.
func openIncident(id, service string, sev incident.Severity, start time.Time) Incident {
	return Incident{ID: id, Title: "Title of " + id, Severity: sev, Status: incident.Investigating, Service: service, StartedAt: start}
}

func TestBuildComponentStates(t *testing.T) {
	now := t0.Add(time.Hour)
	for _, c := range []struct {
		name      string
		incidents []Incident
		api, db   State
		overall   State
		open      int
	}{
		{name: "nothing", api: Operational, db: Operational, overall: Operational},
		{
			name:      "one P1 on the API",
			incidents: []Incident{openIncident("a", "dashboarduz-api", incident.P1, t0)},
			api:       PartialOutage, db: Operational, overall: PartialOutage, open: 1,
		},
		{
			name: "the worst open incident wins",
			incidents: []Incident{
				openIncident("a", "dashboarduz-api", incident.P2, t0),
				openIncident("b", "dashboarduz-api", incident.P0, t0.Add(time.Minute)),
				openIncident("c", "dashboarduz-production-db", incident.P3, t0),
			},
			api: MajorOutage, db: Operational, overall: MajorOutage, open: 3,
		},
		{
			name: "resolved incidents do not count",
			incidents: []Incident{
				{ID: "a", Title: "Done", Severity: incident.P0, Status: incident.Resolved, Service: "dashboarduz-api", StartedAt: t0, ResolvedAt: t0.Add(30 * time.Minute)},
			},
			api: Operational, db: Operational, overall: Operational,
		},
		{
			name: "an incident without a public title is not public",
			incidents: []Incident{
				{ID: "a", Title: "  ", Severity: incident.P0, Service: "dashboarduz-api", StartedAt: t0},
			},
			api: Operational, db: Operational, overall: Operational,
		},
		{
			name:      "an incident of a service that is not a component is left out",
			incidents: []Incident{openIncident("a", "incident-response", incident.P0, t0)},
			api:       Operational, db: Operational, overall: Operational,
		},
		{
			name:      "an incident that starts after now is left out",
			incidents: []Incident{openIncident("a", "dashboarduz-api", incident.P0, now.Add(time.Minute))},
			api:       Operational, db: Operational, overall: Operational,
		},
		{
			name: "a resolution time after now leaves the incident open",
			incidents: []Incident{
				{ID: "a", Title: "Skewed", Severity: incident.P2, Status: incident.Resolved, Service: "dashboarduz-production-db", StartedAt: t0, ResolvedAt: now.Add(time.Minute)},
			},
			api: Operational, db: DegradedPerformance, overall: DegradedPerformance, open: 1,
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := Build(Config{}, c.incidents, now)
			if got := p.Components[0].State; got != c.api {
				t.Errorf("API state = %s, want %s", got, c.api)
			}
			if got := p.Components[2].State; got != c.db {
				t.Errorf("database state = %s, want %s", got, c.db)
			}
			if p.State != c.overall {
				t.Errorf("overall = %s, want %s", p.State, c.overall)
			}
			if len(p.Open) != c.open {
				t.Errorf("open incidents = %d, want %d", len(p.Open), c.open)
			}
		})
	}
}

func TestBuildDefaultsAndConfig(t *testing.T) {
	p := Build(Config{}, nil, t0)
	if p.Title != DefaultTitle || p.URL != DefaultURL || p.Days != DefaultDays {
		t.Errorf("defaults: title %q url %q days %d", p.Title, p.URL, p.Days)
	}
	var names []string
	for _, c := range p.Components {
		names = append(names, c.Name)
		if len(c.History) != DefaultDays {
			t.Errorf("%s: %d days of history, want %d", c.Name, len(c.History), DefaultDays)
		}
	}
	if want := []string{"dashboarduz-api", "dashboarduz-worker", "dashboarduz-production-db"}; !equal(names, want) {
		t.Errorf("components %v, want %v", names, want)
	}
	if want := time.Date(2025, 12, 2, 0, 0, 0, 0, time.UTC); !p.From.Equal(want) {
		t.Errorf("history from %s, want %s (90 days ending today)", p.From, want)
	}
	if last := p.Components[0].History[DefaultDays-1].Date; !last.Equal(day(t0)) {
		t.Errorf("last day %s, want today %s", last, day(t0))
	}

	comps := []Component{{Name: "svc"}}
	p = Build(Config{Title: "Acme", Days: 7, Components: comps}, []Incident{openIncident("a", "svc", incident.P1, t0)}, t0.Add(time.Minute))
	if comps[0].DisplayName != "" {
		t.Error("the caller's components were changed")
	}
	if p.Title != "Acme" || len(p.Components) != 1 || p.Components[0].DisplayName != "svc" || len(p.Components[0].History) != 7 {
		t.Errorf("configured page: %+v", p)
	}
	if p.Components[0].State != PartialOutage {
		t.Errorf("configured component state %s", p.Components[0].State)
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestBuildHistory(t *testing.T) {
	now := t0.Add(time.Hour)
	// Three days of P1 ending yesterday, a P2 today, and one resolved long
	// before the history began.
	incidents := []Incident{
		{ID: "long", Title: "Long", Severity: incident.P1, Service: "dashboarduz-worker", StartedAt: t0.Add(-3 * 24 * time.Hour), ResolvedAt: t0.Add(-24 * time.Hour)},
		{ID: "today", Title: "Today", Severity: incident.P2, Service: "dashboarduz-worker", StartedAt: t0, ResolvedAt: t0.Add(10 * time.Minute)},
		{ID: "ancient", Title: "Ancient", Severity: incident.P0, Service: "dashboarduz-worker", StartedAt: t0.Add(-200 * 24 * time.Hour), ResolvedAt: t0.Add(-199 * 24 * time.Hour)},
		{ID: "straddles", Title: "Straddles", Severity: incident.P3, Service: "dashboarduz-api", StartedAt: t0.Add(-120 * 24 * time.Hour), ResolvedAt: t0.Add(-89 * 24 * time.Hour)},
	}
	p := Build(Config{}, incidents, now)
	worker := p.Components[1].History
	want := map[int]State{89: DegradedPerformance, 88: PartialOutage, 87: PartialOutage, 86: PartialOutage, 85: Operational}
	for i, st := range want {
		if worker[i].State != st {
			t.Errorf("worker day %d (%s) = %s, want %s", i, worker[i].Date.Format(time.DateOnly), worker[i].State, st)
		}
	}
	if n := len(worker[87].Incidents); n != 1 || worker[87].Incidents[0].ID != "long" {
		t.Errorf("day 87 incidents %+v", worker[87].Incidents)
	}
	for i, d := range worker[:85] {
		if len(d.Incidents) != 0 {
			t.Errorf("worker day %d has %+v; the ancient incident is outside the history", i, d.Incidents)
		}
	}
	if len(p.Past) != 3 {
		t.Errorf("past incidents %d, want 3 (not the ancient one)", len(p.Past))
	}
	if ids := []string{p.Past[0].ID, p.Past[1].ID, p.Past[2].ID}; !equal(ids, []string{"today", "long", "straddles"}) {
		t.Errorf("past order %v, want newest first", ids)
	}
	api := p.Components[0].History
	if len(api[0].Incidents) != 1 || api[0].State != Operational {
		t.Errorf("api day 0: %+v (a P3 incident is listed but leaves the day operational)", api[0])
	}
	if !p.Updated.Equal(t0.Add(10 * time.Minute)) {
		t.Errorf("updated %s, want the newest resolution", p.Updated)
	}
}

func TestUptime(t *testing.T) {
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	now := from.Add(100 * time.Hour)
	for _, c := range []struct {
		name    string
		outages []span
		want    float64
	}{
		{"none", nil, 100},
		{"one hour", []span{{from.Add(time.Hour), from.Add(2 * time.Hour)}}, 99},
		{"overlaps count once", []span{{from.Add(time.Hour), from.Add(3 * time.Hour)}, {from.Add(2 * time.Hour), from.Add(4 * time.Hour)}}, 97},
		{"clipped to the window", []span{{from.Add(-time.Hour), from.Add(time.Hour)}, {now.Add(-time.Hour), now.Add(time.Hour)}}, 98},
		{"contained", []span{{from, from.Add(10 * time.Hour)}, {from.Add(time.Hour), from.Add(2 * time.Hour)}}, 90},
		{"a minute rounds down", []span{{from, from.Add(time.Minute)}}, 99.98},
	} {
		if got := uptime(c.outages, from, now); got != c.want {
			t.Errorf("%s: uptime %v, want %v", c.name, got, c.want)
		}
	}
}

func TestBuildIncidentView(t *testing.T) {
	now := t0.Add(time.Hour)
	in := Incident{
		ID: "a", Title: "  API slow  ", Severity: incident.P2, Status: incident.Acknowledged, Service: "dashboarduz-api", StartedAt: t0,
		Updates: []Update{
			{At: t0.Add(2 * time.Minute), Status: incident.Triggered, Message: " first "},
			{At: t0.Add(30 * time.Minute), Status: incident.Monitoring, Message: "third"},
			{At: t0.Add(10 * time.Minute), Status: incident.Mitigating, Message: "second"},
			{At: now.Add(time.Minute), Status: incident.Mitigating, Message: "future"},
		},
	}
	p := Build(Config{}, []Incident{in}, now)
	if len(p.Open) != 1 {
		t.Fatalf("open %d", len(p.Open))
	}
	got := p.Open[0]
	if got.Title != "API slow" || got.Status != incident.Investigating || got.Impact != DegradedPerformance || got.Component.DisplayName != "API" {
		t.Errorf("incident view %+v", got)
	}
	var msgs []string
	for _, u := range got.Updates {
		msgs = append(msgs, string(u.Status)+":"+u.Message)
	}
	if want := []string{"monitoring:third", "mitigating:second", "investigating:first"}; !equal(msgs, want) {
		t.Errorf("updates %v, want %v (newest first, no future ones)", msgs, want)
	}
	if !p.Updated.Equal(t0.Add(30 * time.Minute)) {
		t.Errorf("updated %s", p.Updated)
	}
}

func TestBuildIgnoresSourceOrder(t *testing.T) {
	now := t0.Add(time.Hour)
	a := openIncident("a", "dashboarduz-api", incident.P1, t0)
	b := openIncident("b", "dashboarduz-api", incident.P1, t0)
	c := openIncident("c", "dashboarduz-worker", incident.P2, t0.Add(time.Minute))
	var first []byte
	for i, order := range [][]Incident{{a, b, c}, {c, b, a}, {b, c, a}} {
		var buf bytes.Buffer
		if err := WriteJSON(&buf, Build(Config{}, order, now)); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = buf.Bytes()
		} else if !bytes.Equal(buf.Bytes(), first) {
			t.Errorf("order %d renders differently", i)
		}
	}
}
