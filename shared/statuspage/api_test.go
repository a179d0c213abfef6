package statuspage

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dashboarduz/incident-response/shared/api"
	"github.com/dashboarduz/incident-response/shared/auth"
	"github.com/dashboarduz/incident-response/shared/dynamo"
	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/local/dynamotest"
	"github.com/dashboarduz/incident-response/shared/response"
)

// TestMain runs the tests against one dynalite, stopped at the end.
func TestMain(m *testing.M) { dynamotest.MainQuiet(m) }

// The responder of the API scenario, as their token names them; neither
// their name nor their address may ever reach the page.
const (
	responderToken = "responder-token"
	responderName  = "Ana Aliyeva"
	responderEmail = "oncall@dashboarduz.example"
)

// tokenAuth knows one token: the responder's, an incident commander.
type tokenAuth struct{}

func (tokenAuth) Authenticate(r *http.Request) (auth.Identity, error) {
	if r.Header.Get("Authorization") != "Bearer "+responderToken {
		return auth.Identity{}, errors.New("unknown token")
	}
	return auth.Identity{Subject: "u-7f3a", Email: responderEmail, EmailVerified: true, Name: responderName, Role: auth.Commander}, nil
}

// noStarter starts no escalation: the scenario is about what the public
// sees, not about paging.
type noStarter struct{}

func (noStarter) StartEscalation(context.Context, incident.EscalationState) error { return nil }

// apiStack is the real API handler with the real status page over
// incidents stored in dynalite, on a settable clock.
type apiStack struct {
	store *dynamo.Store
	clock *fakeClock
	api   http.Handler
}

func newAPIStack(t *testing.T) *apiStack {
	t.Helper()
	s := &apiStack{store: dynamotest.New(t), clock: &fakeClock{}}
	svc := &response.Service{Store: s.store, Starter: noStarter{}, Policy: incident.DefaultPolicy(), Clock: s.clock}
	// CacheFor -1: every load reads the table, so each state is seen as
	// soon as it is written on the scenario's clock.
	page, err := NewHandler(HandlerConfig{Source: StoreSource{Store: s.store}, Clock: s.clock, CacheFor: -1})
	if err != nil {
		t.Fatal(err)
	}
	h, err := api.New(api.Config{Service: svc, Auth: tokenAuth{}, StatusPage: page, Clock: s.clock})
	if err != nil {
		t.Fatal(err)
	}
	s.api = h
	return s
}

// call sends one request to the API as the responder at time at and
// returns the answer's body; any status but want fails the test.
func (s *apiStack) call(t *testing.T, at time.Time, method, path, body string, want int) []byte {
	t.Helper()
	s.clock.Set(at)
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	r.Header.Set("Authorization", "Bearer "+responderToken)
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	rec := httptest.NewRecorder()
	s.api.ServeHTTP(rec, r)
	if rec.Code != want {
		t.Fatalf("%s %s: %d, want %d: %s", method, path, rec.Code, want, rec.Body)
	}
	return rec.Body.Bytes()
}

// The outage of the API scenario, opened by its alarm at t0.
const apiOutageID = "inc-20260301-030000-c0f8ae04e8"

// Texts the API scenario stores that the public must never see, beyond
// the fixtures' internalTexts: who acted, triage evidence, an update's
// actions, an unpublished report, the resolution summary.
var apiInternalTexts = []string{
	responderName,
	"u-7f3a",
	"ERROR pg: remaining connection slots are reserved", // a triage log line
	"ecs-service",                       // a triage part
	"Failing over the read replica",     // a public update's actions
	"2026-03-01T05:00:00Z",              // a public update's ETA
	"Exports leak customer e-mail",      // an unpublished report's title
	"CSV exports include other tenants", // its description
	"Rolled back the 02:40 release",     // the resolution summary
	"arn:aws:cloudwatch",                // the alarm's ARN
}

// apiScenarioState is one moment of the API scenario: what the responders
// did up to it, and when the page is looked at.
type apiScenarioState struct {
	name string
	now  time.Time
	act  func(t *testing.T, s *apiStack)
}

// apiScenario is the night-time API outage driven through the API: an
// earlier database incident published and resolved; the alarm opens the
// outage; a responder publishes it with an update, posts an internal
// note and a public update, and resolves it; meanwhile an unpublished
// report is made.
func apiScenario() []apiScenarioState {
	past := t0.Add(-11*24*time.Hour - 16*time.Hour - 45*time.Minute)
	return []apiScenarioState{
		{name: "no-incident", now: t0.Add(-time.Hour), act: func(t *testing.T, s *apiStack) {
			var db incident.Incident
			if err := json.Unmarshal(s.call(t, past, "POST", "/incidents",
				`{"title":"RDS read latency above 200 ms","service":"dashboarduz-production-db","severity":"P2","category":"database","description":"slow queries on the reporting replica"}`, 201), &db); err != nil {
				t.Fatal(err)
			}
			s.call(t, past.Add(15*time.Minute), "POST", "/incidents/"+db.ID+"/updates",
				`{"status":"investigating","message":"Dashboards load slowly; we are looking into it.","public":true,"publicTitle":"Slow dashboards"}`, 200)
			s.call(t, past.Add(2*time.Hour), "POST", "/incidents/"+db.ID+"/resolve", `{"rootCause":"a missing index","summary":"index added"}`, 200)
		}},
		{name: "incident-open", now: t0.Add(6 * time.Minute), act: func(t *testing.T, s *apiStack) {
			openAlarmIncident(t, s)
			s.call(t, t0.Add(5*time.Minute), "POST", "/incidents/"+apiOutageID+"/updates",
				`{"status":"investigating","message":"We are investigating errors on the API. Dashboards may fail to load.","actions":"Failing over the read replica","eta":"2026-03-01T05:00:00Z","public":true,"publicTitle":"API unavailable"}`, 200)
		}},
		{name: "update-posted", now: t0.Add(21 * time.Minute), act: func(t *testing.T, s *apiStack) {
			s.call(t, t0.Add(12*time.Minute), "POST", "/incidents/"+apiOutageID+"/updates",
				`{"status":"investigating","message":"Rolling back task definition dashboarduz-api:117; oncall@dashboarduz.example on it."}`, 200)
			s.call(t, t0.Add(20*time.Minute), "POST", "/incidents/"+apiOutageID+"/updates",
				`{"status":"mitigating","message":"We found the cause and are rolling back a faulty release.","actions":"Failing over the read replica","public":true}`, 200)
		}},
		{name: "resolved", now: t0.Add(50 * time.Minute), act: func(t *testing.T, s *apiStack) {
			s.call(t, t0.Add(30*time.Minute), "POST", "/incidents",
				`{"title":"Exports leak customer e-mail","service":"dashboarduz-api","severity":"P1","category":"security","description":"CSV exports include other tenants"}`, 201)
			s.call(t, t0.Add(45*time.Minute), "POST", "/incidents/"+apiOutageID+"/resolve",
				`{"rootCause":"Bad deploy 4f2a9c exhausted the pool","summary":"Rolled back the 02:40 release"}`, 200)
		}},
	}
}

// openAlarmIncident stores the outage as ingest opens it from its alarm,
// with its triage report and triage timeline entry.
func openAlarmIncident(t *testing.T, s *apiStack) {
	t.Helper()
	sig := incident.Signal{
		Source: "cloudwatch", EventID: "ev-1", DedupKey: "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:dashboarduz-api-5xx-rate",
		Service: "dashboarduz-api", Category: incident.ServiceDown, Severity: incident.P0, Summary: "API 5xx error rate above 5%",
		Reason: "Threshold Crossed: 1 datapoint [12.5] was greater than the threshold (5.0).", Time: t0, State: incident.Firing,
	}
	inc := incident.Open(sig)
	inc.ID = apiOutageID
	opening := incident.Entry{ID: incident.EntryID(t0, "event/ev-1"), At: t0, Kind: incident.EntryOpened, Actor: "cloudwatch",
		Text: "Incident opened: dashboarduz-api-5xx-rate: " + sig.Summary + " - " + sig.Reason}
	if err := s.store.CreateIncident(t.Context(), inc, opening); err != nil {
		t.Fatal(err)
	}
	report := incident.TriageReport{IncidentID: apiOutageID, At: t0.Add(time.Minute), Parts: []incident.TriagePart{
		{Name: incident.PartECSService, Source: "ECS DescribeServices dashboarduz-production/dashboarduz-api", Summary: "2 of 4 tasks running"},
		{Name: incident.PartLogs, Source: "/ecs/dashboarduz-api", Summary: "3 error lines", Lines: []string{"ERROR pg: remaining connection slots are reserved"}},
	}}
	if err := s.store.PutTriageReport(t.Context(), report); err != nil {
		t.Fatal(err)
	}
	triage := incident.Entry{ID: incident.EntryID(t0.Add(time.Minute), "triage/0"), At: t0.Add(time.Minute), Kind: incident.EntryTriage, Actor: "triage",
		Text: "ecs-service: 2 of 4 tasks running; logs: ERROR pg: remaining connection slots are reserved",
		Data: map[string]string{incident.DataPublic: "true", "message": "ERROR pg: remaining connection slots are reserved"}}
	if _, err := s.store.AppendTimeline(t.Context(), apiOutageID, triage); err != nil {
		t.Fatal(err)
	}
}

// get loads path from the API as a visitor, without a token.
func (s *apiStack) get(t *testing.T, path string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	s.api.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, rec.Code, rec.Body)
	}
	return rec
}

// TestStatusPageThroughTheAPI plays the API scenario and reads the page
// in every format, through the API handler, after each step: it shows
// what the responders published and never anything internal.
func TestStatusPageThroughTheAPI(t *testing.T) {
	s := newAPIStack(t)
	wantSeen := map[string][]string{
		"no-incident":   {"Slow dashboards", "Dashboards load slowly; we are looking into it.", ResolvedMessage},
		"incident-open": {"API unavailable", "We are investigating errors on the API. Dashboards may fail to load."},
		"update-posted": {"We found the cause and are rolling back a faulty release.", "We are investigating errors on the API."},
		"resolved":      {"API unavailable", ResolvedMessage, "Slow dashboards"},
	}
	for _, st := range apiScenario() {
		st.act(t, s)
		s.clock.Set(st.now)
		for _, path := range []string{PathHTML, PathJSON, PathAtom} {
			t.Run(st.name+path, func(t *testing.T) {
				body := s.get(t, path).Body.String()
				for _, want := range wantSeen[st.name] {
					if !strings.Contains(body, htmlOrJSON(path, want)) {
						t.Errorf("the page does not show %q", want)
					}
				}
				for _, secret := range append(append([]string{}, internalTexts...), apiInternalTexts...) {
					if strings.Contains(body, htmlOrJSON(path, secret)) || strings.Contains(body, secret) {
						t.Errorf("the page shows the internal %q", secret)
					}
				}
			})
		}
		doc := decodeDocument(t, s.get(t, PathJSON).Body.Bytes())
		checkAPIDocument(t, st.name, doc)
	}
}

// htmlOrJSON is text as the format at path writes it: HTML and Atom
// escape apostrophes, JSON keeps them.
func htmlOrJSON(path, s string) string {
	if path == PathJSON {
		return s
	}
	return strings.ReplaceAll(s, "'", "&#39;")
}

func decodeDocument(t *testing.T, b []byte) Document {
	t.Helper()
	var d Document
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("status.json: %v", err)
	}
	return d
}

// checkAPIDocument checks the state of the page after each step.
func checkAPIDocument(t *testing.T, state string, d Document) {
	t.Helper()
	switch state {
	case "no-incident":
		if d.Status.State != Operational || len(d.Incidents) != 0 || len(d.PastIncidents) != 1 {
			t.Errorf("%s: %+v", state, d.Status)
		}
	case "incident-open", "update-posted":
		if d.Status.State != MajorOutage || len(d.Incidents) != 1 || d.Incidents[0].ID != apiOutageID || d.Incidents[0].Title != "API unavailable" {
			t.Fatalf("%s: state %s, open %+v", state, d.Status.State, d.Incidents)
		}
		want := map[string]int{"incident-open": 1, "update-posted": 2}[state]
		if n := len(d.Incidents[0].Updates); n != want {
			t.Errorf("%s: %d public updates, want %d (the internal note is not one)", state, n, want)
		}
	case "resolved":
		if d.Status.State != Operational || len(d.Incidents) != 0 || len(d.PastIncidents) != 2 {
			t.Fatalf("%s: state %s, open %d, past %d", state, d.Status.State, len(d.Incidents), len(d.PastIncidents))
		}
		out := d.PastIncidents[0]
		if out.Status != "resolved" || out.ResolvedAt == nil || !out.ResolvedAt.Equal(t0.Add(45*time.Minute)) ||
			len(out.Updates) != 3 || out.Updates[0].Status != "resolved" || out.Updates[0].Message != ResolvedMessage {
			t.Errorf("%s: %+v, want resolved at 03:45 with a resolved update first", state, out)
		}
	}
}

// apiExpectations are what a visitor must and must not see in each state
// of the API scenario.
var apiExpectations = map[string]expectation{
	"no-incident": {
		overall: "All systems operational", api: "Operational",
		see:    []string{"Components", "Past incidents", "Slow dashboards", "Dashboards load slowly; we are looking into it.", ResolvedMessage, "% uptime"},
		notSee: []string{"Current incidents", "API unavailable"},
	},
	"incident-open": {
		overall: "Major outage", api: "Major outage",
		see:    []string{"Current incidents", "API unavailable", "Investigating", "We are investigating errors on the API. Dashboards may fail to load.", "Started 1 Mar 2026 03:00 UTC"},
		notSee: []string{"All systems operational", "Mitigating"},
		before: [][2]string{{"Current incidents", "Components"}, {"API unavailable", "Past incidents"}},
	},
	"update-posted": {
		overall: "Major outage", api: "Major outage",
		see:    []string{"API unavailable", "Mitigating", "We found the cause and are rolling back a faulty release.", "We are investigating errors on the API."},
		notSee: []string{"All systems operational"},
		before: [][2]string{{"We found the cause", "We are investigating errors"}},
	},
	"resolved": {
		overall: "All systems operational", api: "Operational",
		see:    []string{"API unavailable", "Resolved 1 Mar 2026 03:45 UTC after 45m", ResolvedMessage, "Slow dashboards"},
		notSee: []string{"Current incidents"},
		before: [][2]string{{"Past incidents", "API unavailable"}, {"API unavailable", "Slow dashboards"}},
	},
}

// TestBrowserThroughTheAPI is the visitor's view of the API scenario: the
// real API handler, served on 127.0.0.1, over incidents stored in
// dynalite by the responders' own API calls, loaded in chromium on a
// desktop and a phone after each step; each view's screenshot is written
// to build/screenshots/statuspage-api-<state>-<window>.png.
func TestBrowserThroughTheAPI(t *testing.T) {
	browser := newBrowser(t)
	shots := screenshots(t)
	s := newAPIStack(t)
	srv := httptest.NewServer(s.api) // listens on 127.0.0.1
	t.Cleanup(srv.Close)

	tabs := openTabs(t, browser)
	for i, st := range apiScenario() {
		st.act(t, s)
		s.clock.Set(st.now)
		want := apiExpectations[st.name]
		for _, vp := range viewports {
			t.Run(st.name+"/"+vp.name, func(t *testing.T) {
				view := visit(t, tabs[vp.name], srv.URL+PathHTML, i > 0, filepath.Join(shots, "statuspage-api-"+st.name+"-"+vp.name+".png"))
				checkView(t, view, want, vp)
				for _, secret := range apiInternalTexts {
					if strings.Contains(view.Text, secret) || strings.Contains(view.HTML, secret) {
						t.Errorf("internal text %q is on the page", secret)
					}
				}
			})
		}
	}
}
