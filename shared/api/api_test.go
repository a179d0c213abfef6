package api_test

import (
	"bytes"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/dashboarduz/incident-response/shared/api"
	"github.com/dashboarduz/incident-response/shared/incident"
)

func TestNewRefusesMissingDependencies(t *testing.T) {
	for name, c := range map[string]api.Config{
		"no service":       {Auth: fakeAuth{}},
		"no authenticator": {Service: &fakeService{}},
	} {
		t.Run(name, func(t *testing.T) {
			if h, err := api.New(c); err == nil {
				t.Errorf("New returned %v and no error", h)
			}
		})
	}
}

func TestHealth(t *testing.T) {
	runCases(t, []tc{
		{name: "success without a token", method: "GET", target: "/health", want: 200,
			check: func(t *testing.T, rec *httptest.ResponseRecorder) {
				if got := strings.TrimSpace(rec.Body.String()); got != `{"status":"ok","checks":{}}` {
					t.Errorf("body %s", got)
				}
			}},
		{name: "success with a bad token too", method: "GET", target: "/health", token: forgedToken, want: 200},
	})
}

// TestIdentityWithoutSubject: a token that names nobody cannot act, as
// nothing could be written on the timeline.
func TestIdentityWithoutSubject(t *testing.T) {
	runCases(t, []tc{{name: "empty identity", method: "GET", target: "/incidents", token: noSubjectToken,
		want: 401, wantCode: incident.EUnauthorized, wantMsg: "missing or invalid bearer token"}})
}

// TestUnrouted: paths and methods the API does not serve are answered
// with the JSON error body, 405 with Allow for a known path.
func TestUnrouted(t *testing.T) {
	allow := func(want string) func(*testing.T, *httptest.ResponseRecorder) {
		return func(t *testing.T, rec *httptest.ResponseRecorder) {
			if got := rec.Header().Get("Allow"); got != want {
				t.Errorf("Allow %q, want %q", got, want)
			}
		}
	}
	runCases(t, []tc{
		{name: "unknown path", method: "GET", target: "/incidents/" + incidentID + "/comments", token: goodToken,
			want: 404, wantCode: incident.ENotFound, wantMsg: "no route for GET /incidents/" + incidentID + "/comments"},
		{name: "wrong method on an incident", method: "PUT", target: incidentPath, token: goodToken, body: `{}`,
			want: 405, wantCode: incident.EInvalid, wantMsg: "method PUT is not allowed", check: allow("GET, HEAD")},
		{name: "wrong method on the list", method: "DELETE", target: "/incidents", token: goodToken,
			want: 405, wantCode: incident.EInvalid, check: allow("GET, HEAD, POST")},
		{name: "wrong method on the webhook", method: "GET", target: "/webhooks/pagerduty",
			want: 405, wantCode: incident.EInvalid, check: allow("POST")},
	})
}

// TestInternalErrorIsLogged: a 500's detail goes to the log, with the
// incident's ID, and not to the caller.
func TestInternalErrorIsLogged(t *testing.T) {
	var buf bytes.Buffer
	defer slog.SetDefault(slog.Default())
	slog.SetDefault(slog.New(slog.NewTextHandler(&buf, nil)))

	h := newHandler(t, &fakeService{err: errSecret})
	rec := httptest.NewRecorder()
	r := httptest.NewRequest("GET", incidentPath, nil)
	r.Header.Set("Authorization", "Bearer "+goodToken)
	h.ServeHTTP(rec, r)

	if rec.Code != 500 || strings.Contains(rec.Body.String(), "dynamodb") {
		t.Errorf("answer %d %s, want a 500 without the detail", rec.Code, rec.Body)
	}
	log := buf.String()
	for _, want := range []string{"level=ERROR", errSecret.Error(), "incidentId=" + incidentID, "route=/incidents/{id}"} {
		if !strings.Contains(log, want) {
			t.Errorf("log does not say %q:\n%s", want, log)
		}
	}
}
