package api_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/response"
)

const incidentPath = "/incidents/" + incidentID

// badID is an ID no incident can have: too long for a key.
var badID = strings.Repeat("a", 129)

// wantIncident checks that the answer is the incident the fake service
// made, with the status given.
func wantIncident(status incident.Status) func(*testing.T, *httptest.ResponseRecorder) {
	return func(t *testing.T, rec *httptest.ResponseRecorder) {
		t.Helper()
		got := decode[incident.Incident](t, rec)
		if got.ID != incidentID || got.Status != status {
			t.Errorf("answer is incident %s %s, want %s %s", got.ID, got.Status, incidentID, status)
		}
	}
}

func TestReport(t *testing.T) {
	const body = `{"title":"Checkout fails for card payments","service":"dashboarduz-api","severity":"P1","category":"high-error-rate","description":"About 30% of card payments fail with 502 since 02:55."}`
	report := response.Report{
		Title: "Checkout fails for card payments", Service: "dashboarduz-api", Severity: "P1",
		Category: "high-error-rate", Description: "About 30% of card payments fail with 502 since 02:55.",
	}
	ok := tc{
		name: "success", method: "POST", target: "/incidents", token: goodToken, body: body,
		want: 201, wantCall: &call{"Report", actor, "", report},
		check: func(t *testing.T, rec *httptest.ResponseRecorder) {
			got := decode[incident.Incident](t, rec)
			if got.Title != report.Title || got.Severity != incident.P1 || got.Category != incident.HighErrorRate || got.ID != incidentID {
				t.Errorf("answer %+v does not carry the reported incident", got)
			}
			if loc := rec.Header().Get("Location"); loc != incidentPath {
				t.Errorf("Location %q, want %q", loc, incidentPath)
			}
		},
	}
	bad := func(name, body, field, msg string) tc {
		return tc{name: name, method: "POST", target: "/incidents", token: goodToken, body: body,
			want: 400, wantCode: incident.EInvalid, wantField: field, wantMsg: msg, docRejects: true}
	}
	runCases(t, guarded(ok,
		tc{name: "actor is the name when the token has no email", method: "POST", target: "/incidents", token: nameOnlyToken, body: body,
			want: 201, wantCall: &call{"Report", "Bobur Tashkentov (user-2)", "", report}},
		tc{name: "Idempotency-Key reused with another report", method: "POST", target: "/incidents", token: goodToken, body: body,
			header: map[string]string{"Idempotency-Key": "k-1"},
			svcErr: &incident.Error{Code: incident.EConflict, Field: "Idempotency-Key", Message: "this Idempotency-Key was used for a different report"},
			want:   409, wantCode: incident.EConflict, wantField: "Idempotency-Key", wantMsg: "different report",
			wantCall: &call{"Report", actor, "", func() response.Report { r := report; r.IdempotencyKey = "k-1"; return r }()}},
		bad("missing title", `{"service":"api","severity":"P1","category":"other","description":"d"}`, "title", "title is required"),
		bad("blank title", `{"title":"  ","service":"api","severity":"P1","category":"other","description":"d"}`, "title", "title is required"),
		bad("missing service", `{"title":"t","severity":"P1","category":"other","description":"d"}`, "service", "service is required"),
		bad("missing severity", `{"title":"t","service":"api","category":"other","description":"d"}`, "severity", "severity is required"),
		bad("unknown severity", `{"title":"t","service":"api","severity":"P9","category":"other","description":"d"}`, "severity", `severity "P9" is not one of P0, P1, P2, P3`),
		bad("missing category", `{"title":"t","service":"api","severity":"P1","description":"d"}`, "category", "category is required"),
		bad("unknown category", `{"title":"t","service":"api","severity":"P1","category":"outage","description":"d"}`, "category", "service-down, database, high-error-rate"),
		bad("missing description", `{"title":"t","service":"api","severity":"P1","category":"other"}`, "description", "description is required"),
		bad("unknown field", `{"title":"t","service":"api","severity":"P1","category":"other","description":"d","priority":"high"}`, "priority", `unknown field "priority"; the fields are title, service, severity, category, description`),
		bad("wrong type", `{"title":42,"service":"api","severity":"P1","category":"other","description":"d"}`, "title", "title must be a string, not a number"),
		bad("syntax error", "{\"title\":\"t\",\n \"service\" \"api\"}", "", "is not valid JSON: invalid character '\"' after object key at line 2, column 12"),
		bad("truncated", `{"title":"t"`, "", "ends at line 1, column 12 before the value is complete"),
		bad("not an object", `["t"]`, "", "must be a JSON object, not an array"),
		func() tc {
			c := bad("two objects", `{"title":"t","service":"api","severity":"P1","category":"other","description":"d"} {}`, "", "more data follows at line 1, column 84")
			c.docRejects, c.docSilent = false, true
			return c
		}(),
		bad("empty body", ``, "", "request body is required"),
		tc{name: "invalid from the service", method: "POST", target: "/incidents", token: goodToken, body: body,
			svcErr: incident.FieldErrorf("service", "service %q is not monitored", "dashboarduz-api"),
			want:   400, wantCode: incident.EInvalid, wantField: "service", wantMsg: "is not monitored", wantCall: &call{"Report", actor, "", report}},
	))
}

func TestListIncidents(t *testing.T) {
	ok := tc{
		name: "success with every filter", method: "GET", token: goodToken,
		target:   "/incidents?status=triggered&severity=P0&service=dashboarduz-api&limit=50&cursor=eyJwayI6InByZXYifQ",
		want:     200,
		wantCall: &call{"List", "", "", response.ListRequest{Status: "triggered", Severity: "P0", Service: "dashboarduz-api", Limit: 50, Cursor: "eyJwayI6InByZXYifQ"}},
		check: func(t *testing.T, rec *httptest.ResponseRecorder) {
			got := decode[response.IncidentList](t, rec)
			want := response.IncidentList{Incidents: []incident.Incident{sampleIncident()}, Next: "eyJwayI6Im5leHQifQ"}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("list\n got %+v\nwant %+v", got, want)
			}
		},
	}
	bad := func(name, query, field, msg string) tc {
		return tc{name: name, method: "GET", target: "/incidents?" + query, token: goodToken,
			want: 400, wantCode: incident.EInvalid, wantField: field, wantMsg: msg, docRejects: true}
	}
	runCases(t, guarded(ok,
		tc{name: "success without filters, empty", method: "GET", target: "/incidents", token: goodToken,
			setup: func(f *fakeService) { f.list = &response.IncidentList{} },
			want:  200, wantCall: &call{"List", "", "", response.ListRequest{}},
			check: func(t *testing.T, rec *httptest.ResponseRecorder) {
				if got := strings.TrimSpace(rec.Body.String()); got != `{"incidents":[]}` {
					t.Errorf("body %s, want an empty list and no next", got)
				}
			}},
		tc{name: "largest limit", method: "GET", target: "/incidents?limit=1000", token: goodToken,
			want: 200, wantCall: &call{"List", "", "", response.ListRequest{Limit: 1000}}},
		bad("limit zero", "limit=0", "limit", `limit must be an integer from 1 to 1000, not "0"`),
		bad("limit too large", "limit=1001", "limit", `not "1001"`),
		bad("limit not a number", "limit=ten", "limit", `not "ten"`),
		bad("unknown status", "status=open", "status", `status "open" is not one of triggered, acknowledged`),
		bad("unknown severity", "severity=high", "severity", `severity "high" is not one of P0, P1, P2, P3`),
		bad("empty service", "service=", "service", "service must not be empty"),
	))
}

func TestGetIncident(t *testing.T) {
	ok := tc{
		name: "success", method: "GET", target: incidentPath, token: goodToken,
		want: 200, wantCall: &call{"Get", "", incidentID, nil},
		check: func(t *testing.T, rec *httptest.ResponseRecorder) {
			got := decode[response.IncidentWithTimeline](t, rec)
			if got.ID != incidentID || len(got.Timeline) != 2 || got.Timeline[1].Kind != incident.EntryPaged {
				t.Errorf("answer %+v is not the incident with its timeline", got)
			}
		},
	}
	runCases(t, guarded(ok,
		tc{name: "id too long", method: "GET", target: "/incidents/" + badID, token: goodToken,
			want: 400, wantCode: incident.EInvalid, wantField: "id", wantMsg: "id must be 1 to 128", docRejects: true},
		tc{name: "id with a space", method: "GET", target: "/incidents/inc%20x", token: goodToken,
			want: 400, wantCode: incident.EInvalid, wantField: "id", wantMsg: "id must be", docRejects: true},
	))
}

func TestTimeline(t *testing.T) {
	path := incidentPath + "/timeline"
	before := incident.EntryID(openedAt, "event/1")
	ok := tc{
		name: "a page before an entry", method: "GET", target: path + "?before=" + before + "&limit=50", token: goodToken,
		want: 200, wantCall: &call{"Timeline", "", incidentID, "before=" + before + " limit=50"},
		check: func(t *testing.T, rec *httptest.ResponseRecorder) {
			got := decode[response.TimelinePage](t, rec)
			if len(got.Entries) != 1 || got.Before != "" {
				t.Errorf("answer %+v, want the last page", got)
			}
		},
	}
	bad := func(name, query, field, msg string) tc {
		return tc{name: name, method: "GET", target: path + "?" + query, token: goodToken,
			want: 400, wantCode: incident.EInvalid, wantField: field, wantMsg: msg, docRejects: true}
	}
	runCases(t, guarded(ok,
		tc{name: "the latest page", method: "GET", target: path, token: goodToken,
			want: 200, wantCall: &call{"Timeline", "", incidentID, "before= limit=0"}},
		bad("limit zero", "limit=0", "limit", `limit must be an integer from 1 to 500, not "0"`),
		bad("limit too large", "limit=501", "limit", `not "501"`),
		bad("limit not a number", "limit=all", "limit", `not "all"`),
	))
}

func TestAcknowledge(t *testing.T) {
	path := incidentPath + "/acknowledge"
	ok := tc{
		name: "success with a message", method: "POST", target: path, token: goodToken, body: `{"message":"On it, rolling back."}`,
		want: 200, wantCall: &call{"Acknowledge", actor, incidentID, response.Acknowledgement{Message: "On it, rolling back."}},
		check: wantIncident(incident.Acknowledged),
	}
	runCases(t, guarded(ok,
		tc{name: "success with an empty body", method: "POST", target: path, token: goodToken,
			want: 200, wantCall: &call{"Acknowledge", actor, incidentID, response.Acknowledgement{}}, check: wantIncident(incident.Acknowledged)},
		tc{name: "success with an empty object", method: "POST", target: path, token: goodToken, body: `{}`,
			want: 200, wantCall: &call{"Acknowledge", actor, incidentID, response.Acknowledgement{}}},
		tc{name: "unknown field", method: "POST", target: path, token: goodToken, body: `{"note":"x"}`,
			want: 400, wantCode: incident.EInvalid, wantField: "note", wantMsg: "the fields are message", docRejects: true},
		tc{name: "wrong type", method: "POST", target: path, token: goodToken, body: `{"message":true}`,
			want: 400, wantCode: incident.EInvalid, wantField: "message", wantMsg: "message must be a string, not a boolean", docRejects: true},
		tc{name: "bad id", method: "POST", target: "/incidents/" + badID + "/acknowledge", token: goodToken,
			want: 400, wantCode: incident.EInvalid, wantField: "id", docRejects: true},
	))
}

func TestPostUpdate(t *testing.T) {
	path := incidentPath + "/updates"
	eta := time.Date(2026, 3, 1, 4, 0, 0, 0, time.UTC)
	ok := tc{
		name: "success", method: "POST", target: path, token: goodToken,
		body: `{"status":"mitigating","message":"Rolled back to v142; error rate falling.","eta":"2026-03-01T04:00:00Z"}`,
		want: 200, wantCall: &call{"PostUpdate", actor, incidentID, response.StatusUpdate{Status: "mitigating", Message: "Rolled back to v142; error rate falling.", ETA: &eta}},
		check: wantIncident(incident.Mitigating),
	}
	bad := func(name, body, field, msg string) tc {
		return tc{name: name, method: "POST", target: path, token: goodToken, body: body,
			want: 400, wantCode: incident.EInvalid, wantField: field, wantMsg: msg, docRejects: true}
	}
	runCases(t, guarded(ok,
		tc{name: "success without eta", method: "POST", target: path, token: goodToken, body: `{"status":"monitoring","message":"Watching."}`,
			want: 200, wantCall: &call{"PostUpdate", actor, incidentID, response.StatusUpdate{Status: "monitoring", Message: "Watching."}}},
		bad("missing status", `{"message":"m"}`, "status", "status is required"),
		bad("status an update cannot set", `{"status":"resolved","message":"m"}`, "status", `status "resolved" is not one of investigating, mitigating, monitoring`),
		bad("missing message", `{"status":"mitigating"}`, "message", "message is required"),
		bad("eta not a date-time", `{"status":"mitigating","message":"m","eta":"in an hour"}`, "eta", `eta must be an RFC 3339 date-time string`),
		bad("eta a number", `{"status":"mitigating","message":"m","eta":3600}`, "eta", `eta must be an RFC 3339 date-time string`),
		bad("empty body", ``, "", "request body is required"),
		// M7: 110 updates of 65 KB made an incident 14 MB; text is bounded.
		bad("message too long", `{"status":"mitigating","message":"`+strings.Repeat("é", 4001)+`"}`, "message", "message is 4001 characters long; at most 4000"),
		bad("public title too long", `{"status":"mitigating","message":"m","publicTitle":"`+strings.Repeat("x", 201)+`"}`, "publicTitle", "publicTitle is 201 characters long; at most 200"),
		tc{name: "longest message", method: "POST", target: path, token: goodToken, body: `{"status":"monitoring","message":"` + strings.Repeat("é", 4000) + `"}`,
			want: 200, wantCall: &call{"PostUpdate", actor, incidentID, response.StatusUpdate{Status: "monitoring", Message: strings.Repeat("é", 4000)}}},
		tc{name: "bad id", method: "POST", target: "/incidents/" + badID + "/updates", token: goodToken, body: `{"status":"mitigating","message":"m"}`,
			want: 400, wantCode: incident.EInvalid, wantField: "id", wantMsg: "id must be", docRejects: true},
	))
}

func TestChangeSeverity(t *testing.T) {
	path := incidentPath + "/severity"
	ok := tc{
		name: "success", method: "POST", target: path, token: goodToken, body: `{"severity":"P1","reason":"Only card payments are affected."}`,
		want: 200, wantCall: &call{"ChangeSeverity", actor, incidentID, response.SeverityChange{Severity: "P1", Reason: "Only card payments are affected."}},
		check: func(t *testing.T, rec *httptest.ResponseRecorder) {
			if got := decode[incident.Incident](t, rec); got.Severity != incident.P1 {
				t.Errorf("severity %s, want P1", got.Severity)
			}
		},
	}
	bad := func(name, body, field, msg string) tc {
		return tc{name: name, method: "POST", target: path, token: goodToken, body: body,
			want: 400, wantCode: incident.EInvalid, wantField: field, wantMsg: msg, docRejects: true}
	}
	runCases(t, guarded(ok,
		bad("missing severity", `{"reason":"r"}`, "severity", "severity is required"),
		bad("unknown severity", `{"severity":"critical"}`, "severity", `severity "critical" is not one of P0, P1, P2, P3`),
		bad("wrong type", `{"severity":1}`, "severity", "severity must be a string, not a number"),
	))
}

func TestEscalate(t *testing.T) {
	path := incidentPath + "/escalate"
	ok := tc{
		name: "success naming a level", method: "POST", target: path, token: goodToken, body: `{"level":"team-lead","reason":"Needs database expertise."}`,
		want: 200, wantCall: &call{"Escalate", actor, incidentID, response.Escalation{Level: "team-lead", Reason: "Needs database expertise."}},
		check: func(t *testing.T, rec *httptest.ResponseRecorder) {
			if got := decode[incident.Incident](t, rec); len(got.Pages) != 3 || len(got.Escalations) != 1 {
				t.Errorf("pages %+v and escalations %+v, want the new page and request", got.Pages, got.Escalations)
			}
		},
	}
	runCases(t, guarded(ok,
		tc{name: "success with the next level", method: "POST", target: path, token: goodToken, body: `{}`,
			want: 200, wantCall: &call{"Escalate", actor, incidentID, response.Escalation{}}},
		tc{name: "unknown level from the service", method: "POST", target: path, token: goodToken, body: `{"level":"ceo"}`,
			svcErr: incident.FieldErrorf("level", "level %q is not one of on-call, team-lead, engineering-manager, cto", "ceo"),
			want:   400, wantCode: incident.EInvalid, wantField: "level", wantMsg: "is not one of on-call",
			wantCall: &call{"Escalate", actor, incidentID, response.Escalation{Level: "ceo"}}},
		tc{name: "wrong type", method: "POST", target: path, token: goodToken, body: `{"level":2}`,
			want: 400, wantCode: incident.EInvalid, wantField: "level", wantMsg: "level must be a string, not a number", docRejects: true},
		tc{name: "unknown field", method: "POST", target: path, token: goodToken, body: `{"levle":"cto"}`,
			want: 400, wantCode: incident.EInvalid, wantField: "levle", wantMsg: "the fields are level, reason", docRejects: true},
		tc{name: "empty body", method: "POST", target: path, token: goodToken,
			want: 400, wantCode: incident.EInvalid, wantMsg: "request body is required", docRejects: true},
	))
}

func TestResolve(t *testing.T) {
	path := incidentPath + "/resolve"
	ok := tc{
		name: "success", method: "POST", target: path, token: goodToken,
		body: `{"rootCause":"Deploy v143 exhausted the database connection pool.","summary":"Rolled back to v142."}`,
		want: 200, wantCall: &call{"Resolve", actor, incidentID, response.Resolution{RootCause: "Deploy v143 exhausted the database connection pool.", Summary: "Rolled back to v142."}},
		check: wantIncident(incident.Resolved),
	}
	bad := func(name, body, field, msg string) tc {
		return tc{name: name, method: "POST", target: path, token: goodToken, body: body,
			want: 400, wantCode: incident.EInvalid, wantField: field, wantMsg: msg, docRejects: true}
	}
	runCases(t, guarded(ok,
		bad("missing root cause", `{"summary":"s"}`, "rootCause", "rootCause is required"),
		bad("blank root cause", `{"rootCause":" \t"}`, "rootCause", "rootCause is required"),
		bad("snake case field", `{"root_cause":"x"}`, "root_cause", `unknown field "root_cause"`),
	))
}

// errSecret is an internal error whose text must reach the log only.
var errSecret = errors.New("dynamodb: ProvisionedThroughputExceededException on table incidents")

// TestServiceErrors maps every kind of service error to its status, on one
// route: the mapping is one function, so one route shows it.
func TestServiceErrors(t *testing.T) {
	resolve := func(name string, err error, status int, code, field, msg string) tc {
		c := tc{name: name, method: "POST", target: incidentPath + "/resolve", token: goodToken, body: `{"rootCause":"r"}`, svcErr: err,
			want: status, wantCode: code, wantField: field, wantMsg: msg, wantCall: &call{"Resolve", actor, incidentID, response.Resolution{RootCause: "r"}}}
		if status == http.StatusInternalServerError {
			c.check = func(t *testing.T, rec *httptest.ResponseRecorder) {
				if e := errorOf(t, rec); e.Message != "internal error" {
					t.Errorf("message %q, want the generic one", e.Message)
				}
			}
		}
		return c
	}
	runCases(t, []tc{
		resolve("not found", incident.Errorf(incident.ENotFound, "incident %s not found", incidentID), 404, "not_found", "", "not found"),
		resolve("conflict", incident.Errorf(incident.EConflict, "incident changed meanwhile"), 409, "conflict", "", "changed meanwhile"),
		resolve("invalid with a field", incident.FieldErrorf("rootCause", "root cause too vague"), 400, "invalid", "rootCause", "too vague"),
		resolve("unauthorized", incident.Errorf(incident.EUnauthorized, "token expired"), 401, "unauthorized", "", "token expired"),
		resolve("wrapped code", fmt.Errorf("get incident %s: %w", incidentID, incident.Errorf(incident.ENotFound, "gone")), 404, "not_found", "", "gone"),
		resolve("internal code", incident.Errorf(incident.EInternal, "table missing"), 500, "internal", "", "internal error"),
		resolve("unknown code", incident.Errorf("teapot", "short and stout"), 500, "internal", "", "internal error"),
		resolve("plain error", errSecret, 500, "internal", "", "internal error"),
	})
}
