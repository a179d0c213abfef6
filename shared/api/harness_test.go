package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/dashboarduz/incident-response/shared/api"
	"github.com/dashboarduz/incident-response/shared/auth"
	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/response"
)

// Tokens the fake authenticator knows.
const (
	goodToken     = "good"      // oncall@example.com
	nameOnlyToken = "name-only" // a token without an email: the actor is the name
	forgedToken   = "forged"
	// noSubjectToken passes the authenticator but names nobody.
	noSubjectToken = "no-subject"
	actor          = "oncall@example.com (user-1)"
	// adminToken is an admin's, who may also set the kill switch.
	adminToken = "admin"
	adminActor = "admin@example.com (user-3)"
)

// fakeAuth accepts the two good tokens and refuses anything else. The
// good token is an incident commander's, who may use every route.
type fakeAuth struct{}

func (fakeAuth) Authenticate(r *http.Request) (auth.Identity, error) {
	switch r.Header.Get("Authorization") {
	case "Bearer " + goodToken:
		return auth.Identity{Subject: "user-1", Email: "oncall@example.com", EmailVerified: true, Name: "Ana Aliyeva", Role: auth.Commander}, nil
	case "Bearer " + nameOnlyToken:
		return auth.Identity{Subject: "user-2", Name: "Bobur Tashkentov", Role: auth.Responder}, nil
	case "Bearer " + noSubjectToken:
		return auth.Identity{}, nil
	case "Bearer " + adminToken:
		return auth.Identity{Subject: "user-3", Email: "admin@example.com", EmailVerified: true, Name: "Dilnoza Karimova", Role: auth.Admin}, nil
	case "":
		return auth.Identity{}, errors.New("no Authorization header")
	}
	return auth.Identity{}, incident.Errorf(incident.EUnauthorized, "token signature is invalid")
}

// call is one call the handler made to the service.
type call struct {
	Method string
	Actor  string
	ID     string
	Arg    any
}

// fakeService records every call and answers with err when set, else with
// canned values built from the request.
type fakeService struct {
	mu    sync.Mutex
	calls []call
	err   error
	// list, when set, is List's answer.
	list *response.IncidentList
	// windows, when set, is MaintenanceWindows' answer.
	windows *[]incident.MaintenanceWindow
	// statusErr, when set, is what the status page's source answers.
	statusErr error
	// triage, when set, makes Get answer the sample triage report too.
	triage bool
}

func (f *fakeService) record(c call) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, c)
	return f.err
}

func (f *fakeService) recorded() []call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

func (f *fakeService) Report(_ context.Context, actor string, r response.Report) (incident.Incident, error) {
	if err := f.record(call{"Report", actor, "", r}); err != nil {
		return incident.Incident{}, err
	}
	inc := sampleIncident()
	inc.Title, inc.Service, inc.Severity, inc.Category = r.Title, r.Service, incident.Severity(r.Severity), incident.Category(r.Category)
	inc.Source, inc.DedupKey, inc.Summary, inc.Description, inc.Pages = "user", "user/"+inc.ID, r.Title, r.Description, nil
	return inc, nil
}

func (f *fakeService) List(_ context.Context, r response.ListRequest) (response.IncidentList, error) {
	if err := f.record(call{"List", "", "", r}); err != nil {
		return response.IncidentList{}, err
	}
	if f.list != nil {
		return *f.list, nil
	}
	return response.IncidentList{Incidents: []incident.Incident{sampleIncident()}, Next: "eyJwayI6Im5leHQifQ"}, nil
}

func (f *fakeService) Get(_ context.Context, id string) (response.IncidentWithTimeline, error) {
	if err := f.record(call{"Get", "", id, nil}); err != nil {
		return response.IncidentWithTimeline{}, err
	}
	inc := sampleIncident()
	inc.ID = id
	var report *incident.TriageReport
	if f.triage {
		r := sampleTriage(id)
		report = &r
	}
	return response.IncidentWithTimeline{Incident: inc, Triage: report, Timeline: []incident.Entry{
		{ID: incident.EntryID(openedAt, "event/1"), At: openedAt, Kind: incident.EntryOpened, Actor: "cloudwatch", Text: "API 5xx error rate above 5%"},
		{ID: incident.EntryID(openedAt, "page/1"), At: openedAt, Kind: incident.EntryPaged, Actor: "escalation", Text: "paged On-Call Engineer", Data: map[string]string{"level": "1"}},
	}, TimelineBefore: incident.EntryID(openedAt, "event/1")}, nil
}

func (f *fakeService) Timeline(_ context.Context, id, before string, limit int) (response.TimelinePage, error) {
	if err := f.record(call{"Timeline", "", id, fmt.Sprintf("before=%s limit=%d", before, limit)}); err != nil {
		return response.TimelinePage{}, err
	}
	return response.TimelinePage{Entries: []incident.Entry{
		{ID: incident.EntryID(openedAt.Add(-time.Minute), "signal/1"), At: openedAt.Add(-time.Minute), Kind: incident.EntrySignal, Actor: "cloudwatch", Text: "API 5xx error rate above 5%"},
	}}, nil
}

func (f *fakeService) Acknowledge(_ context.Context, actor, id string, a response.Acknowledgement) (incident.Incident, error) {
	return f.changed(call{"Acknowledge", actor, id, a}, func(inc *incident.Incident) {
		inc.Status, inc.AcknowledgedAt, inc.AcknowledgedBy = incident.Acknowledged, openedAt.Add(54*time.Minute), actor
	})
}

func (f *fakeService) PostUpdate(_ context.Context, actor, id string, u response.StatusUpdate) (incident.Incident, error) {
	return f.changed(call{"PostUpdate", actor, id, u}, func(inc *incident.Incident) { inc.Status = incident.Status(u.Status) })
}

func (f *fakeService) ChangeSeverity(_ context.Context, actor, id string, c response.SeverityChange) (incident.Incident, error) {
	return f.changed(call{"ChangeSeverity", actor, id, c}, func(inc *incident.Incident) { inc.Severity = incident.Severity(c.Severity) })
}

func (f *fakeService) Escalate(_ context.Context, actor, id string, e response.Escalation) (incident.Incident, error) {
	return f.changed(call{"Escalate", actor, id, e}, func(inc *incident.Incident) {
		at := openedAt.Add(56 * time.Minute)
		inc.Pages = append(inc.Pages, incident.Page{Level: 2, LevelName: "team-lead", At: at, DedupKey: incident.PageDedupKey(id, 1, 2), State: incident.PageSent, Episode: 1})
		inc.Escalations = append(inc.Escalations, incident.EscalationRequest{Episode: 1, Level: 2, LevelName: "team-lead", At: at, By: actor, Reason: e.Reason})
	})
}

func (f *fakeService) Resolve(_ context.Context, actor, id string, r response.Resolution) (incident.Incident, error) {
	return f.changed(call{"Resolve", actor, id, r}, func(inc *incident.Incident) {
		inc.Status, inc.ResolvedAt, inc.ResolvedBy = incident.Resolved, openedAt.Add(81*time.Minute), actor
		inc.RootCause, inc.Resolution = r.RootCause, r.Summary
	})
}

// changed records c and answers the sample incident with c's ID, changed
// by change.
func (f *fakeService) changed(c call, change func(*incident.Incident)) (incident.Incident, error) {
	if err := f.record(c); err != nil {
		return incident.Incident{}, err
	}
	inc := sampleIncident()
	inc.ID = c.ID
	inc.Version++
	change(&inc)
	return inc, nil
}

func (f *fakeService) ScheduleMaintenance(_ context.Context, actor string, m response.MaintenanceRequest) (incident.MaintenanceWindow, error) {
	if err := f.record(call{"ScheduleMaintenance", actor, "", m}); err != nil {
		return incident.MaintenanceWindow{}, err
	}
	return incident.MaintenanceWindow{
		ID: incident.NewMaintenanceWindowID(m.Service, m.Start, openedAt), Service: m.Service,
		Start: m.Start, End: m.End, Reason: m.Reason, CreatedBy: actor, CreatedAt: openedAt,
	}, nil
}

func (f *fakeService) MaintenanceWindows(_ context.Context, service string) ([]incident.MaintenanceWindow, error) {
	if err := f.record(call{"MaintenanceWindows", "", "", service}); err != nil {
		return nil, err
	}
	if f.windows != nil {
		return *f.windows, nil
	}
	return []incident.MaintenanceWindow{sampleWindow()}, nil
}

func (f *fakeService) EndMaintenance(_ context.Context, actor, id string) (incident.MaintenanceWindow, error) {
	if err := f.record(call{"EndMaintenance", actor, id, nil}); err != nil {
		return incident.MaintenanceWindow{}, err
	}
	w := sampleWindow()
	w.ID, w.End = id, openedAt.Add(30*time.Minute)
	return w, nil
}

func (f *fakeService) PagerDutyWebhook(_ context.Context, e response.PagerDutyEvent) error {
	return f.record(call{"PagerDutyWebhook", "", "", e})
}

func (f *fakeService) Triage(_ context.Context, id string) (incident.TriageReport, error) {
	if err := f.record(call{"Triage", "", id, nil}); err != nil {
		return incident.TriageReport{}, err
	}
	return sampleTriage(id), nil
}

// sampleTriage is a report of the sample incident's first episode.
func sampleTriage(id string) incident.TriageReport {
	return incident.TriageReport{IncidentID: id, Episode: 1, At: openedAt.Add(51 * time.Minute), Parts: []incident.TriagePart{
		{Name: incident.PartECSService, Source: "ECS DescribeServices dashboarduz-production/dashboarduz-api", Summary: "ACTIVE: 1 of 4 tasks running",
			Facts: map[string]string{incident.FactRunning: "1", incident.FactDesired: "4"}, Lines: []string{"deployment PRIMARY ecs-svc/1"}},
		{Name: incident.PartHealth, Source: "GET https://api.yourdomain.com/health", Error: "timed out: context deadline exceeded"},
	}}
}

func (f *fakeService) ApproveAction(_ context.Context, actor, id, action string, d response.ActionDecision) (incident.Incident, error) {
	return f.changed(call{"ApproveAction", actor, id, []any{action, d}}, func(inc *incident.Incident) {
		inc.Remediations = []incident.Remediation{{Action: incident.RemediationAction(action), Episode: 1, State: incident.RemedyReady, At: openedAt.Add(55 * time.Minute),
			DecidedAt: openedAt.Add(52 * time.Minute), Reason: "a recent deployment", DecidedBy: actor}}
	})
}

func (f *fakeService) RejectAction(_ context.Context, actor, id, action string, d response.ActionDecision) (incident.Incident, error) {
	return f.changed(call{"RejectAction", actor, id, []any{action, d}}, func(inc *incident.Incident) {
		inc.Remediations = []incident.Remediation{{Action: incident.RemediationAction(action), Episode: 1, State: incident.RemedyRejected, At: openedAt.Add(55 * time.Minute),
			DecidedAt: openedAt.Add(52 * time.Minute), Reason: "a recent deployment", DecidedBy: actor, Outcome: "rejected by " + actor}}
	})
}

func (f *fakeService) KillSwitch(_ context.Context) (incident.KillSwitch, error) {
	if err := f.record(call{"KillSwitch", "", "", nil}); err != nil {
		return incident.KillSwitch{}, err
	}
	return incident.KillSwitch{Source: "default"}, nil
}

func (f *fakeService) SetKillSwitch(_ context.Context, actor string, c response.KillSwitchChange) (incident.KillSwitch, error) {
	if err := f.record(call{"SetKillSwitch", actor, "", c}); err != nil {
		return incident.KillSwitch{}, err
	}
	return incident.KillSwitch{On: *c.On, By: actor, At: openedAt.Add(time.Hour), Reason: c.Reason, Source: "table", Version: 1}, nil
}

// The sample incident is the night-time P0 of the demo scenario.
const incidentID = "inc-20260301-030000-0123456789"

var openedAt = time.Date(2026, 3, 1, 3, 0, 0, 0, time.UTC)

func sampleIncident() incident.Incident {
	return incident.Incident{
		ID: incidentID, Title: "P0 dashboarduz-api - API 5xx error rate above 5%", Service: "dashboarduz-api",
		Category: incident.HighErrorRate, Severity: incident.P0, Status: incident.Triggered,
		Source: "cloudwatch", DedupKey: "arn:aws:cloudwatch:eu-central-1:123456789012:alarm:api-5xx",
		Summary: "API 5xx error rate above 5%", OpenedAt: openedAt,
		SignalState: incident.Firing, SignalAt: openedAt,
		Pages: []incident.Page{
			{Level: 1, LevelName: "on-call", At: openedAt, DedupKey: incident.PageDedupKey(incidentID, 0, 1), State: incident.PageSent, Synced: incident.Resolved},
			{Level: 1, LevelName: "on-call", At: openedAt.Add(50 * time.Minute), DedupKey: incident.PageDedupKey(incidentID, 1, 1), State: incident.PageSent, Episode: 1},
		},
		Episode: 1, EpisodeStart: openedAt.Add(50 * time.Minute),
		Flaps:      []time.Time{openedAt.Add(50 * time.Minute)},
		Breaches:   []incident.Breach{{Target: "acknowledge", At: openedAt.Add(5 * time.Minute)}},
		Generation: 2, PlannedGeneration: 2,
		Version: 3,
	}
}

const windowID = "mw-20260301-020000-a1b2c3d4e5"

func sampleWindow() incident.MaintenanceWindow {
	return incident.MaintenanceWindow{
		ID: windowID, Service: "dashboarduz-api", Start: openedAt.Add(-time.Hour), End: openedAt.Add(time.Hour),
		Reason: "database upgrade", CreatedBy: actor, CreatedAt: openedAt.Add(-2 * time.Hour),
	}
}

// newHandler builds the handler under test with the fake authenticator and
// the webhook secrets given; a *fakeService also serves the post-mortems,
// the metrics summary and, through a real status page handler, the status
// page.
func newHandler(t testing.TB, svc api.Service, secrets ...string) *api.Handler {
	t.Helper()
	c := api.Config{
		Service: svc, Auth: fakeAuth{}, WebhookSecrets: secrets,
		Clock: incident.ClockFunc(func() time.Time { return openedAt.Add(time.Hour) }),
	}
	if f, ok := svc.(*fakeService); ok {
		c = withReview(t, c, f)
	}
	h, err := api.New(c)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// tc is one exchange with the handler and what must come of it.
type tc struct {
	name   string
	method string
	target string
	// token is sent as a bearer token; empty sends no Authorization.
	token string
	body  string
	// contentType defaults to application/json when there is a body;
	// "none" sends no Content-Type.
	contentType string
	header      map[string]string
	// svcErr is what the fake service answers.
	svcErr error
	setup  func(*fakeService)

	want      int
	wantCode  string
	wantField string
	// wantMsg must occur in the error message.
	wantMsg string
	// wantCall is the one call the service must get; nil means none.
	wantCall *call
	// wantType is the answer's Content-Type; application/json when empty.
	wantType string
	check    func(t *testing.T, rec *httptest.ResponseRecorder)
	// docRejects says the request breaks openapi.yaml: the conformance
	// check then asserts that the document refuses it too.
	docRejects bool
	// docSilent says the request breaks a rule openapi.yaml cannot state
	// (a second JSON value after the body), so only the answer is checked.
	docSilent bool
}

func (c tc) request() *http.Request {
	r := httptest.NewRequest(c.method, c.target, strings.NewReader(c.body))
	if c.token != "" {
		r.Header.Set("Authorization", "Bearer "+c.token)
	}
	switch {
	case c.contentType == "none":
	case c.contentType != "":
		r.Header.Set("Content-Type", c.contentType)
	case c.body != "":
		r.Header.Set("Content-Type", "application/json")
	}
	for k, v := range c.header {
		r.Header.Set(k, v)
	}
	return r
}

// runCases runs each case against a fresh fake service and handler.
func runCases(t *testing.T, cases []tc, secrets ...string) {
	t.Helper()
	names := map[string]bool{}
	for _, c := range cases {
		if names[c.name] {
			t.Fatalf("two cases are named %q", c.name)
		}
		names[c.name] = true
		t.Run(c.name, func(t *testing.T) {
			svc := &fakeService{err: c.svcErr}
			if c.setup != nil {
				c.setup(svc)
			}
			rec := exchange(t, newHandler(t, svc, secrets...), c, svc)
			checkExchange(t, c, rec, svc)
		})
	}
}

// exchange serves c's request and checks the exchange against openapi.yaml.
func exchange(t *testing.T, h http.Handler, c tc, svc *fakeService) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, c.request())
	conform(t, c, rec, len(svc.recorded()) > 0)
	return rec
}

// checkExchange asserts the status, the error body and the service call.
func checkExchange(t *testing.T, c tc, rec *httptest.ResponseRecorder, svc *fakeService) {
	t.Helper()
	if rec.Code != c.want {
		t.Fatalf("status %d, want %d; body %s", rec.Code, c.want, rec.Body)
	}
	wantType := c.wantType
	if wantType == "" {
		wantType = "application/json"
	}
	if got := rec.Header().Get("Content-Type"); got != wantType {
		t.Errorf("Content-Type %q, want %s", got, wantType)
	}
	if rec.Code >= 400 && wantType == "application/json" {
		e := errorOf(t, rec)
		if c.wantCode != "" && e.Code != c.wantCode {
			t.Errorf("error code %q, want %q", e.Code, c.wantCode)
		}
		if e.Field != c.wantField {
			t.Errorf("error field %q, want %q (message %q)", e.Field, c.wantField, e.Message)
		}
		if !strings.Contains(e.Message, c.wantMsg) {
			t.Errorf("error message %q does not say %q", e.Message, c.wantMsg)
		}
	}
	if rec.Code == http.StatusUnauthorized && !strings.HasPrefix(c.target, "/webhooks/") {
		if got := rec.Header().Get("WWW-Authenticate"); got != "Bearer" {
			t.Errorf("WWW-Authenticate %q, want Bearer", got)
		}
	}
	calls := svc.recorded()
	switch {
	case c.wantCall == nil && len(calls) > 0:
		t.Errorf("the service was called: %+v", calls)
	case c.wantCall != nil && len(calls) != 1:
		t.Errorf("service calls %+v, want exactly %+v", calls, *c.wantCall)
	case c.wantCall != nil && !reflect.DeepEqual(calls[0], *c.wantCall):
		t.Errorf("service call\n got %+v\nwant %+v", calls[0], *c.wantCall)
	}
	if c.check != nil {
		c.check(t, rec)
	}
}

// errorDetail is the error body's content.
type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field"`
}

func errorOf(t *testing.T, rec *httptest.ResponseRecorder) errorDetail {
	t.Helper()
	var body struct {
		Error errorDetail `json:"error"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Error.Code == "" {
		t.Fatalf("not an error body (%v): %s", err, rec.Body)
	}
	return body.Error
}

// decode decodes the JSON body of rec into a T.
func decode[T any](t *testing.T, rec *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		t.Fatalf("decode %T: %v\n%s", v, err, rec.Body)
	}
	return v
}

// guarded returns a protected route's cases: its success case, its own
// cases, and those every protected route shares, made from the success
// case: a missing and an invalid token, a service failure, and where they
// apply a missing incident or window, a conflict, an oversized body and a
// body that is not labelled JSON.
func guarded(success tc, own ...tc) []tc {
	cases := append([]tc{success}, own...)
	variant := func(name string, change func(*tc)) {
		c := success
		c.name, c.check, c.svcErr, c.setup, c.docRejects = name, nil, nil, nil, false
		change(&c)
		cases = append(cases, c)
	}
	variant("missing token", func(c *tc) {
		c.token, c.want, c.wantCode, c.wantMsg, c.wantCall = "", 401, incident.EUnauthorized, "missing or invalid bearer token", nil
	})
	variant("invalid token", func(c *tc) {
		c.token, c.want, c.wantCode, c.wantMsg, c.wantCall = forgedToken, 401, incident.EUnauthorized, "token signature is invalid", nil
	})
	variant("service failure", func(c *tc) {
		c.svcErr = fmt.Errorf("put incident: %w", errors.New("dynamodb: connection reset by peer"))
		c.want, c.wantCode, c.wantMsg = 500, incident.EInternal, "internal error"
		c.check = func(t *testing.T, rec *httptest.ResponseRecorder) {
			if strings.Contains(rec.Body.String(), "dynamodb") {
				t.Errorf("the answer leaks the internal error: %s", rec.Body)
			}
		}
	})
	if strings.Contains(success.target, incidentID) || strings.Contains(success.target, windowID) {
		variant("not found", func(c *tc) {
			c.svcErr = incident.Errorf(incident.ENotFound, "no incident or window %s", strings.TrimPrefix(c.target, "/"))
			c.want, c.wantCode, c.wantMsg = 404, incident.ENotFound, "no incident or window"
		})
	}
	if success.method != http.MethodGet {
		variant("conflict", func(c *tc) {
			c.svcErr = incident.Errorf(incident.EConflict, "incident is resolved and cannot become acknowledged")
			c.want, c.wantCode, c.wantMsg = 409, incident.EConflict, "cannot become"
		})
	}
	if success.body != "" {
		variant("body over 64 KiB", func(c *tc) {
			c.body = `{"title":"` + strings.Repeat("x", api.MaxBodyBytes) + `"}`
			c.want, c.wantCode, c.wantMsg, c.wantCall = 413, incident.EInvalid, "64 KiB", nil
		})
		variant("body not labelled JSON", func(c *tc) {
			c.contentType = "text/plain; charset=utf-8"
			c.want, c.wantCode, c.wantMsg, c.wantCall, c.docRejects = 415, incident.EInvalid, "application/json", nil, true
		})
	}
	return cases
}

// The OpenAPI document, loaded and validated once.
var loadDoc = sync.OnceValues(func() (*openapi3.T, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(api.OpenAPI)
	if err != nil {
		return nil, fmt.Errorf("load openapi.yaml: %w", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		return nil, fmt.Errorf("openapi.yaml is not a valid OpenAPI document: %w", err)
	}
	return doc, nil
})

var loadRouter = sync.OnceValues(func() (routers.Router, error) {
	doc, err := loadDoc()
	if err != nil {
		return nil, err
	}
	return gorillamux.NewRouter(doc)
})

func openAPI(t *testing.T) (*openapi3.T, routers.Router) {
	t.Helper()
	doc, err := loadDoc()
	if err != nil {
		t.Fatal(err)
	}
	router, err := loadRouter()
	if err != nil {
		t.Fatal(err)
	}
	return doc, router
}

// validated records, per operation, the statuses of the exchanges that
// conform to the document; TestMain checks that every documented answer
// was seen.
var validated = struct {
	sync.Mutex
	seen map[string]map[int]bool
}{seen: map[string]map[int]bool{}}

// conform checks one exchange against openapi.yaml: the request conforms
// unless the case says it breaks the document (then the document must
// refuse it too), a request the document allows is not refused by the
// handler's own checks, and the answer, status included, is documented.
func conform(t *testing.T, c tc, rec *httptest.ResponseRecorder, serviceCalled bool) {
	t.Helper()
	_, router := openAPI(t)
	req := c.request()
	route, params, err := router.FindRoute(req)
	if err != nil {
		if rec.Code != http.StatusNotFound && rec.Code != http.StatusMethodNotAllowed {
			t.Errorf("%s %s is not in openapi.yaml (%v) but was answered %d", c.method, c.target, err, rec.Code)
		}
		return
	}
	ctx := context.Background()
	in := &openapi3filter.RequestValidationInput{
		Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
	}
	reqErr := openapi3filter.ValidateRequest(ctx, in)
	switch {
	case c.docSilent:
	case c.docRejects && reqErr == nil:
		t.Errorf("openapi.yaml allows a request the handler must refuse: %s %s %s", c.method, c.target, c.body)
	case !c.docRejects && reqErr != nil && rec.Code != http.StatusUnauthorized && rec.Code != http.StatusRequestEntityTooLarge:
		t.Errorf("request does not conform to openapi.yaml: %v", reqErr)
	case reqErr == nil && !serviceCalled && (rec.Code == http.StatusBadRequest || rec.Code == http.StatusUnsupportedMediaType):
		t.Errorf("the handler refused (%d) a request openapi.yaml allows: %s", rec.Code, rec.Body)
	}
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: rec.Code, Header: rec.Header(),
		Options: &openapi3filter.Options{IncludeResponseStatus: true},
	}
	out.SetBodyBytes(rec.Body.Bytes())
	if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
		t.Errorf("answer does not conform to openapi.yaml: %v\n%s", err, rec.Body)
		return
	}
	validated.Lock()
	defer validated.Unlock()
	op := route.Operation.OperationID
	if validated.seen[op] == nil {
		validated.seen[op] = map[int]bool{}
	}
	validated.seen[op][rec.Code] = true
}

// TestMain runs the tests and then, when they all ran and passed, checks
// that every answer openapi.yaml documents was produced by some test and
// conformed.
func TestMain(m *testing.M) {
	flag.Parse()
	slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	code := m.Run()
	if code == 0 && flag.Lookup("test.run").Value.String() == "" {
		if missing := unexercised(); len(missing) > 0 {
			fmt.Fprintf(os.Stderr, "FAIL: documented answers no test produced and validated:\n  %s\n", strings.Join(missing, "\n  "))
			code = 1
		}
	}
	os.Exit(code)
}

// unexercised lists the documented operation answers no conforming
// exchange produced.
func unexercised() []string {
	doc, err := loadDoc()
	if err != nil {
		return []string{err.Error()}
	}
	validated.Lock()
	defer validated.Unlock()
	var missing []string
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			for status := range op.Responses.Map() {
				var code int
				if _, err := fmt.Sscan(status, &code); err != nil || !validated.seen[op.OperationID][code] {
					missing = append(missing, fmt.Sprintf("%s %s %s", method, path, status))
				}
			}
		}
	}
	sort.Strings(missing)
	return missing
}
