package api_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3filter"

	"github.com/dashboarduz/incident-response/shared/api"
	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/metrics"
	"github.com/dashboarduz/incident-response/shared/postmortem"
	"github.com/dashboarduz/incident-response/shared/response"
	"github.com/dashboarduz/incident-response/shared/statuspage"
)

func init() {
	// The answers that are not JSON are text; kin-openapi checks their
	// content type and their schema, type string.
	for _, ct := range []string{"text/html", "text/markdown", "application/atom+xml"} {
		openapi3filter.RegisterBodyDecoder(ct, openapi3filter.PlainBodyDecoder)
	}
}

// withReview adds the fake's post-mortems, metrics summary and status
// page source to c; the status page is the real handler, never caching, so
// each exchange reads the fake.
func withReview(t testing.TB, c api.Config, f *fakeService) api.Config {
	t.Helper()
	status, err := statuspage.NewHandler(statuspage.HandlerConfig{
		Source: f, CacheFor: -1,
		Clock: incident.ClockFunc(func() time.Time { return openedAt.Add(time.Hour) }),
		Page:  statuspage.Config{URL: "https://status.example.com/status"},
	})
	if err != nil {
		t.Fatal(err)
	}
	c.PostMortems, c.Metrics, c.StatusPage = f, f, status
	return c
}

// resolvedAt is when the sample incident was resolved.
var resolvedAt = openedAt.Add(81 * time.Minute)

func samplePostMortem(id string) response.PostMortemDocument {
	return response.PostMortemDocument{
		IncidentID: id, Status: postmortem.Due, ResolvedAt: resolvedAt, DueAt: resolvedAt.Add(48 * time.Hour),
		ActionItems: []postmortem.ActionItem{{
			ID: "AI-1", Title: "Alert on connection-pool saturation", Status: postmortem.ItemOpen,
			CreatedAt: resolvedAt.Add(time.Hour), CreatedBy: actor,
		}},
		Version: 2,
	}
}

// sampleDraft is the fake's Markdown draft.
const sampleDraft = "# Post-mortem: P0 dashboarduz-api - API 5xx error rate above 5%\n\n## Summary\n"

func (f *fakeService) PostMortem(_ context.Context, id string) (response.PostMortemDocument, error) {
	if err := f.record(call{"PostMortem", "", id, nil}); err != nil {
		return response.PostMortemDocument{}, err
	}
	return samplePostMortem(id), nil
}

func (f *fakeService) PostMortemDraft(_ context.Context, id string) ([]byte, error) {
	if err := f.record(call{"PostMortemDraft", "", id, nil}); err != nil {
		return nil, err
	}
	return []byte(sampleDraft), nil
}

func (f *fakeService) AddActionItem(_ context.Context, actor, id string, r response.ActionItemRequest) (response.PostMortemDocument, error) {
	if err := f.record(call{"AddActionItem", actor, id, r}); err != nil {
		return response.PostMortemDocument{}, err
	}
	d := samplePostMortem(id)
	d.ActionItems = append(d.ActionItems, postmortem.ActionItem{ID: "AI-2", Title: r.Title, Owner: r.Owner, Status: postmortem.ItemOpen, CreatedAt: openedAt.Add(3 * time.Hour), CreatedBy: actor})
	d.Version++
	return d, nil
}

// itemCall is the argument of an action item's call: the item and the
// request.
type itemCall struct {
	Item string
	Req  any
}

func (f *fakeService) AssignActionItem(_ context.Context, actor, id, item string, r response.AssignmentRequest) (response.PostMortemDocument, error) {
	if err := f.record(call{"AssignActionItem", actor, id, itemCall{item, r}}); err != nil {
		return response.PostMortemDocument{}, err
	}
	d := samplePostMortem(id)
	d.ActionItems[0].Owner, d.ActionItems[0].AssignedAt = r.Owner, openedAt.Add(3*time.Hour)
	d.Version++
	return d, nil
}

func (f *fakeService) CloseActionItem(_ context.Context, actor, id, item string) (response.PostMortemDocument, error) {
	if err := f.record(call{"CloseActionItem", actor, id, itemCall{item, nil}}); err != nil {
		return response.PostMortemDocument{}, err
	}
	d := samplePostMortem(id)
	d.ActionItems[0].Status, d.ActionItems[0].ClosedAt, d.ActionItems[0].ClosedBy = postmortem.ItemClosed, openedAt.Add(3*time.Hour), actor
	d.Version++
	return d, nil
}

func (f *fakeService) CompletePostMortem(_ context.Context, actor, id string) (response.PostMortemDocument, error) {
	if err := f.record(call{"CompletePostMortem", actor, id, nil}); err != nil {
		return response.PostMortemDocument{}, err
	}
	d := samplePostMortem(id)
	d.Status, d.CompletedAt, d.CompletedBy = postmortem.Completed, openedAt.Add(20*time.Hour), actor
	d.Version++
	return d, nil
}

// summaryArgs are the query parameters the summary was asked with.
type summaryArgs struct{ From, To string }

func (f *fakeService) Summary(_ context.Context, from, to string) (metrics.Summary, error) {
	if err := f.record(call{"Summary", "", "", summaryArgs{from, to}}); err != nil {
		return metrics.Summary{}, err
	}
	start := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	acked := sampleIncident()
	acked.Episode, acked.EpisodeStart, acked.Breaches = 0, time.Time{}, nil
	acked.Status, acked.AcknowledgedAt, acked.ResolvedAt = incident.Resolved, openedAt.Add(3*time.Minute), openedAt.Add(40*time.Minute)
	return metrics.Summarize([]incident.Incident{acked}, incident.DefaultPolicy(), start, openedAt.Add(24*time.Hour), openedAt.Add(25*time.Hour)), nil
}

// PublicIncidents is the status page's source: one open incident of the
// API with one public update, unless statusErr is set. It is not a
// recorded call: the page is not one of the Service's operations.
func (f *fakeService) PublicIncidents(context.Context, time.Time) ([]statuspage.Incident, error) {
	if f.statusErr != nil {
		return nil, f.statusErr
	}
	return []statuspage.Incident{{
		ID: incidentID, Title: "API unavailable", Severity: incident.P0, Status: incident.Investigating,
		Service: "dashboarduz-api", StartedAt: openedAt,
		Updates: []statuspage.Update{{At: openedAt.Add(5 * time.Minute), Status: incident.Investigating, Message: "We are investigating errors on the API."}},
	}}, nil
}

const postMortemPath = "/incidents/" + incidentID + "/postmortem"

func TestGetPostMortem(t *testing.T) {
	ok := tc{
		name: "success, JSON by default", method: "GET", target: postMortemPath, token: goodToken,
		want: 200, wantCall: &call{"PostMortem", "", incidentID, nil},
		check: func(t *testing.T, rec *httptest.ResponseRecorder) {
			got := decode[response.PostMortemDocument](t, rec)
			if got.IncidentID != incidentID || got.Status != postmortem.Due || len(got.ActionItems) != 1 || got.Version != 2 {
				t.Errorf("answer %+v is not the post-mortem", got)
			}
			if v := rec.Header().Get("Vary"); v != "Accept" {
				t.Errorf("Vary %q, want Accept", v)
			}
		},
	}
	markdown := func(name, accept string) tc {
		return tc{name: name, method: "GET", target: postMortemPath, token: nameOnlyToken,
			header: map[string]string{"Accept": accept}, want: 200, wantType: "text/markdown; charset=utf-8",
			wantCall: &call{"PostMortemDraft", "", incidentID, nil},
			check: func(t *testing.T, rec *httptest.ResponseRecorder) {
				if rec.Body.String() != sampleDraft {
					t.Errorf("body %q, want the draft", rec.Body)
				}
				if v := rec.Header().Get("Vary"); v != "Accept" {
					t.Errorf("Vary %q, want Accept", v)
				}
			}}
	}
	json := func(name, accept string) tc {
		c := ok
		c.name, c.header = name, map[string]string{"Accept": accept}
		return c
	}
	runCases(t, guarded(ok,
		markdown("the draft for text/markdown", "text/markdown"),
		markdown("the draft for text/* over JSON", "application/json;q=0.5, text/*"),
		json("JSON for */*", "*/*"),
		json("JSON preferred", "text/markdown;q=0.4, application/json"),
		json("JSON for an unknown type", "image/png"),
		json("JSON when Markdown is refused", "text/markdown;q=0, */*"),
		markdown("the draft when JSON is refused", "application/json;q=0, */*"),
		tc{name: "bad id", method: "GET", target: "/incidents/-x/postmortem", token: goodToken,
			want: 400, wantCode: incident.EInvalid, wantField: "id", wantMsg: "starting with a letter or digit", docRejects: true},
		tc{name: "draft not found", method: "GET", target: postMortemPath, token: goodToken, header: map[string]string{"Accept": "text/markdown"},
			svcErr: incident.Errorf(incident.ENotFound, "incident %s is acknowledged and has no post-mortem", incidentID),
			want:   404, wantCode: incident.ENotFound, wantMsg: "has no post-mortem",
			wantCall: &call{"PostMortemDraft", "", incidentID, nil}},
	))
}

func TestAddActionItem(t *testing.T) {
	target := postMortemPath + "/action-items"
	req := response.ActionItemRequest{Title: "Alert on connection-pool saturation", Owner: "dba@example.com", DueAt: "2026-03-10"}
	ok := tc{
		name: "success", method: "POST", target: target, token: nameOnlyToken,
		body: `{"title":"Alert on connection-pool saturation","owner":"dba@example.com","dueAt":"2026-03-10"}`,
		want: 201, wantCall: &call{"AddActionItem", "Bobur Tashkentov (user-2)", incidentID, req},
		check: func(t *testing.T, rec *httptest.ResponseRecorder) {
			got := decode[response.PostMortemDocument](t, rec)
			if n := len(got.ActionItems); n != 2 || got.ActionItems[1].Title != req.Title {
				t.Errorf("action items %+v, want the new one last", got.ActionItems)
			}
		},
	}
	bad := func(name, body, field, msg string) tc {
		return tc{name: name, method: "POST", target: target, token: goodToken, body: body,
			want: 400, wantCode: incident.EInvalid, wantField: field, wantMsg: msg, docRejects: true}
	}
	badID := bad("bad id", `{"title":"x"}`, "id", "starting with a letter or digit")
	badID.target = "/incidents/-x/postmortem/action-items"
	runCases(t, guarded(ok,
		tc{name: "success with an RFC 3339 due time", method: "POST", target: target, token: goodToken,
			body: `{"title":"Canary deploys","dueAt":"2026-03-10T12:00:00Z"}`, want: 201,
			wantCall: &call{"AddActionItem", actor, incidentID, response.ActionItemRequest{Title: "Canary deploys", DueAt: "2026-03-10T12:00:00Z"}}},
		bad("missing title", `{"owner":"dba@example.com"}`, "title", "title is required"),
		bad("blank title", `{"title":"  "}`, "title", "title is required"),
		bad("title on two lines", `{"title":"a\nb"}`, "title", "must be one line"),
		bad("due not a date", `{"title":"x","dueAt":"next week"}`, "dueAt", "neither a date"),
		bad("unknown field", `{"title":"x","priority":"high"}`, "priority", "the fields are title, owner, dueAt"),
		badID,
		tc{name: "due in the past, from the service", method: "POST", target: target, token: goodToken,
			body:   `{"title":"x","dueAt":"2020-01-01"}`,
			svcErr: incident.FieldErrorf("dueAt", "dueAt 2020-01-01T23:59:59Z is in the past"),
			want:   400, wantCode: incident.EInvalid, wantField: "dueAt", wantMsg: "in the past",
			wantCall: &call{"AddActionItem", actor, incidentID, response.ActionItemRequest{Title: "x", DueAt: "2020-01-01"}}},
	))
}

func TestAssignActionItem(t *testing.T) {
	target := postMortemPath + "/action-items/ai-1/assign"
	ok := tc{
		name: "success", method: "POST", target: target, token: goodToken,
		body: `{"owner":"dba@example.com","dueAt":"2026-03-10"}`,
		want: 200, wantCall: &call{"AssignActionItem", actor, incidentID, itemCall{"AI-1", response.AssignmentRequest{Owner: "dba@example.com", DueAt: "2026-03-10"}}},
		check: func(t *testing.T, rec *httptest.ResponseRecorder) {
			if got := decode[response.PostMortemDocument](t, rec); got.ActionItems[0].Owner != "dba@example.com" {
				t.Errorf("action item %+v is not assigned", got.ActionItems[0])
			}
		},
	}
	bad := func(name, target, body, field, msg string) tc {
		return tc{name: name, method: "POST", target: target, token: goodToken, body: body,
			want: 400, wantCode: incident.EInvalid, wantField: field, wantMsg: msg, docRejects: true}
	}
	runCases(t, guarded(ok,
		bad("missing owner", target, `{"dueAt":"2026-03-10"}`, "owner", "owner is required"),
		bad("bad item", postMortemPath+"/action-items/item-1/assign", `{"owner":"x"}`, "item", "such as AI-1"),
		bad("item zero", postMortemPath+"/action-items/AI-0/assign", `{"owner":"x"}`, "item", "such as AI-1"),
		bad("due not a date", target, `{"owner":"x","dueAt":"03/10/2026"}`, "dueAt", "neither a date"),
		tc{name: "unknown item, from the service", method: "POST", target: postMortemPath + "/action-items/AI-9/assign", token: goodToken,
			body:   `{"owner":"x"}`,
			svcErr: incident.Errorf(incident.ENotFound, "the post-mortem of %s has no action item AI-9", incidentID),
			want:   404, wantCode: incident.ENotFound, wantMsg: "no action item AI-9",
			wantCall: &call{"AssignActionItem", actor, incidentID, itemCall{"AI-9", response.AssignmentRequest{Owner: "x"}}}},
	))
}

func TestCloseActionItem(t *testing.T) {
	target := postMortemPath + "/action-items/AI-1/close"
	ok := tc{
		name: "success", method: "POST", target: target, token: nameOnlyToken, body: `{}`,
		want: 200, wantCall: &call{"CloseActionItem", "Bobur Tashkentov (user-2)", incidentID, itemCall{"AI-1", nil}},
		check: func(t *testing.T, rec *httptest.ResponseRecorder) {
			if got := decode[response.PostMortemDocument](t, rec); got.ActionItems[0].Status != postmortem.ItemClosed {
				t.Errorf("action item %+v is not closed", got.ActionItems[0])
			}
		},
	}
	runCases(t, guarded(ok,
		tc{name: "success without a body", method: "POST", target: target, token: goodToken,
			want: 200, wantCall: &call{"CloseActionItem", actor, incidentID, itemCall{"AI-1", nil}}},
		tc{name: "a field", method: "POST", target: target, token: goodToken, body: `{"reason":"done"}`,
			want: 400, wantCode: incident.EInvalid, wantField: "reason", wantMsg: "unknown field", docRejects: true},
		tc{name: "bad item", method: "POST", target: postMortemPath + "/action-items/x/close", token: goodToken,
			want: 400, wantCode: incident.EInvalid, wantField: "item", wantMsg: "such as AI-1", docRejects: true},
	))
}

func TestCompletePostMortem(t *testing.T) {
	target := postMortemPath + "/complete"
	ok := tc{
		name: "success", method: "POST", target: target, token: goodToken, body: `{}`,
		want: 200, wantCall: &call{"CompletePostMortem", actor, incidentID, nil},
		check: func(t *testing.T, rec *httptest.ResponseRecorder) {
			if got := decode[response.PostMortemDocument](t, rec); got.Status != postmortem.Completed || got.CompletedBy != actor {
				t.Errorf("answer %+v is not completed by %s", got, actor)
			}
		},
	}
	runCases(t, guarded(ok,
		tc{name: "success without a body", method: "POST", target: target, token: goodToken,
			want: 200, wantCall: &call{"CompletePostMortem", actor, incidentID, nil}},
		tc{name: "an item without an owner, from the service", method: "POST", target: target, token: goodToken,
			svcErr: incident.FieldErrorf("actionItems", "action item AI-1 (Alert) has no owner; assign it before completing the post-mortem"),
			want:   400, wantCode: incident.EInvalid, wantField: "actionItems", wantMsg: "has no owner",
			wantCall: &call{"CompletePostMortem", actor, incidentID, nil}},
		tc{name: "not JSON", method: "POST", target: target, token: goodToken, body: `done`,
			want: 400, wantCode: incident.EInvalid, wantMsg: "not valid JSON", docRejects: true},
	))
}

func TestMetricsSummary(t *testing.T) {
	ok := tc{
		name: "success", method: "GET", target: "/metrics/summary?from=2026-02-01&to=2026-03-02T00:00:00Z", token: goodToken,
		want: 200, wantCall: &call{"Summary", "", "", summaryArgs{"2026-02-01", "2026-03-02T00:00:00Z"}},
		check: func(t *testing.T, rec *httptest.ResponseRecorder) {
			got := decode[metrics.Summary](t, rec)
			if len(got.BySeverity) != 4 || got.BySeverity[0].Severity != incident.P0 || got.BySeverity[0].Count != 1 {
				t.Fatalf("summary %+v, want the four severities with the P0 counted", got)
			}
			if m := got.BySeverity[0].TimeToAcknowledge.MeanSeconds; m == nil || *m != 180 {
				t.Errorf("P0 MTTA %v, want 180 s", m)
			}
			if got.BySeverity[1].TimeToAcknowledge.MeanSeconds != nil {
				t.Error("P1 MTTA of nothing is not null")
			}
		},
	}
	runCases(t, guarded(ok,
		tc{name: "success with the defaults", method: "GET", target: "/metrics/summary", token: nameOnlyToken,
			want: 200, wantCall: &call{"Summary", "", "", summaryArgs{}}},
		tc{name: "from not a date", method: "GET", target: "/metrics/summary?from=yesterday", token: goodToken,
			want: 400, wantCode: incident.EInvalid, wantField: "from", wantMsg: "neither a date", docRejects: true},
		tc{name: "to not a date", method: "GET", target: "/metrics/summary?to=2026-13", token: goodToken,
			want: 400, wantCode: incident.EInvalid, wantField: "to", wantMsg: "neither a date", docRejects: true},
		tc{name: "range too long, from the service", method: "GET", target: "/metrics/summary?from=2020-01-01", token: goodToken,
			svcErr: incident.FieldErrorf("from", "the range from 2020-01-01T00:00:00Z to 2026-03-01T04:00:00Z is longer than 366 days"),
			want:   400, wantCode: incident.EInvalid, wantField: "from", wantMsg: "longer than 366 days",
			wantCall: &call{"Summary", "", "", summaryArgs{"2020-01-01", ""}}},
	))
}

func TestStatusPage(t *testing.T) {
	see := func(want ...string) func(*testing.T, *httptest.ResponseRecorder) {
		return func(t *testing.T, rec *httptest.ResponseRecorder) {
			for _, w := range want {
				if !strings.Contains(rec.Body.String(), w) {
					t.Errorf("the answer does not say %q:\n%s", w, rec.Body)
				}
			}
			if rec.Header().Get("ETag") == "" || rec.Header().Get("Cache-Control") != "public, max-age=30" {
				t.Errorf("cache headers %v", rec.Header())
			}
		}
	}
	unavailable := func(f *fakeService) { f.statusErr = errors.New("dynamodb: throttled") }
	runCases(t, []tc{
		{name: "HTML without a token", method: "GET", target: "/status", want: 200, wantType: "text/html; charset=utf-8",
			check: see("API unavailable", "We are investigating errors on the API.", "Major outage")},
		{name: "HTML with a bad token too", method: "GET", target: "/status", token: forgedToken, want: 200, wantType: "text/html; charset=utf-8"},
		{name: "JSON", method: "GET", target: "/status.json", want: 200,
			check: see(`"title":"API unavailable"`, `"state":"major_outage"`)},
		{name: "Atom", method: "GET", target: "/status.atom", want: 200, wantType: "application/atom+xml; charset=utf-8",
			check: see("<feed", "API unavailable")},
		{name: "HTML unavailable", method: "GET", target: "/status", setup: unavailable, want: 503, wantType: "text/plain; charset=utf-8",
			check: noLeak("dynamodb", "throttled")},
		{name: "JSON unavailable", method: "GET", target: "/status.json", setup: unavailable, want: 503, wantType: "text/plain; charset=utf-8",
			check: noLeak("dynamodb", "throttled")},
		{name: "Atom unavailable", method: "GET", target: "/status.atom", setup: unavailable, want: 503, wantType: "text/plain; charset=utf-8",
			check: noLeak("dynamodb", "throttled")},
		{name: "POST is not allowed", method: "POST", target: "/status", body: `{}`, want: 405, wantCode: incident.EInvalid, wantMsg: "method POST is not allowed"},
	})
}

// noLeak checks that an answer says none of secrets.
func noLeak(secrets ...string) func(*testing.T, *httptest.ResponseRecorder) {
	return func(t *testing.T, rec *httptest.ResponseRecorder) {
		for _, s := range secrets {
			if strings.Contains(rec.Body.String(), s) {
				t.Errorf("the answer says %q: %s", s, rec.Body)
			}
		}
	}
}

// TestStatusPageRevalidation: a reader that sends the page's ETag back
// gets 304 and no body, for each format.
func TestStatusPageRevalidation(t *testing.T) {
	svc := &fakeService{}
	h := newHandler(t, svc)
	for _, path := range []string{"/status", "/status.json", "/status.atom"} {
		first := httptest.NewRecorder()
		h.ServeHTTP(first, httptest.NewRequest("GET", path, nil))
		etag := first.Header().Get("ETag")
		if first.Code != 200 || etag == "" {
			t.Fatalf("%s: %d, ETag %q", path, first.Code, etag)
		}
		c := tc{name: path + " revalidated", method: "GET", target: path, header: map[string]string{"If-None-Match": etag}, want: 304}
		rec := exchange(t, h, c, svc)
		if rec.Code != http.StatusNotModified || rec.Body.Len() != 0 {
			t.Errorf("%s: %d with %d bytes, want 304 and no body", path, rec.Code, rec.Body.Len())
		}
		head := httptest.NewRecorder()
		h.ServeHTTP(head, httptest.NewRequest("HEAD", path, nil))
		if head.Code != 200 || head.Body.Len() != 0 || head.Header().Get("ETag") != etag {
			t.Errorf("HEAD %s: %d, %d bytes, ETag %q", path, head.Code, head.Body.Len(), head.Header().Get("ETag"))
		}
	}
	if calls := svc.recorded(); len(calls) != 0 {
		t.Errorf("the status page called the service: %+v", calls)
	}
}

// TestReviewRoutesNotConfigured: a handler built without post-mortems,
// metrics or a status page answers their routes 404 in JSON.
func TestReviewRoutesNotConfigured(t *testing.T) {
	h, err := api.New(api.Config{Service: &fakeService{}, Auth: fakeAuth{}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ method, path, body string }{
		{"GET", "/status", ""},
		{"GET", "/status.json", ""},
		{"GET", postMortemPath, ""},
		{"POST", postMortemPath + "/action-items", `{"title":"x"}`},
		{"POST", postMortemPath + "/action-items/AI-1/assign", `{"owner":"x"}`},
		{"POST", postMortemPath + "/action-items/AI-1/close", ""},
		{"POST", postMortemPath + "/complete", ""},
		{"GET", "/metrics/summary", ""},
	} {
		r := httptest.NewRequest(c.method, c.path, strings.NewReader(c.body))
		r.Header.Set("Authorization", "Bearer "+goodToken)
		if c.body != "" {
			r.Header.Set("Content-Type", "application/json")
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if rec.Code != http.StatusNotFound || !strings.Contains(rec.Body.String(), "is not served here") {
			t.Errorf("%s %s: %d %s, want 404 not served here", c.method, c.path, rec.Code, rec.Body)
		}
	}
}
