package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/dashboarduz/incident-response/shared/api"
	"github.com/dashboarduz/incident-response/shared/auth"
	"github.com/dashboarduz/incident-response/shared/incident"
)

// wantRouteRoles is the least role each protected route needs (finding
// H1: before roles, any valid token could acknowledge, resolve, move a P0
// to P3, page the CTO and silence paging).
var wantRouteRoles = map[string]auth.Role{
	"GET /incidents":                   auth.Viewer,
	"GET /incidents/{id}":              auth.Viewer,
	"GET /incidents/{id}/timeline":     auth.Viewer,
	"POST /incidents":                  auth.Responder,
	"POST /incidents/{id}/acknowledge": auth.Responder,
	"POST /incidents/{id}/updates":     auth.Responder,
	"POST /incidents/{id}/escalate":    auth.Responder,
	"POST /incidents/{id}/resolve":     auth.Responder,
	"POST /incidents/{id}/severity":    auth.Commander,
	"GET /maintenance-windows":         auth.Commander,
	"POST /maintenance-windows":        auth.Commander,
	"DELETE /maintenance-windows/{id}": auth.Commander,
	// Post-mortems: read with the incident, action items kept by the
	// responders, completion (which ends the reminders) by the commander.
	"GET /incidents/{id}/postmortem":                             auth.Viewer,
	"POST /incidents/{id}/postmortem/action-items":               auth.Responder,
	"POST /incidents/{id}/postmortem/action-items/{item}/assign": auth.Responder,
	"POST /incidents/{id}/postmortem/action-items/{item}/close":  auth.Responder,
	"POST /incidents/{id}/postmortem/complete":                   auth.Commander,
	"GET /metrics/summary":                                       auth.Viewer,
	"GET /incidents/{id}/triage":                                 auth.Viewer,
	"POST /incidents/{id}/actions/{action}/approve":              auth.Commander,
	"POST /incidents/{id}/actions/{action}/reject":               auth.Commander,
	"GET /remediation/kill-switch":                               auth.Viewer,
	"PUT /remediation/kill-switch":                               auth.Admin,
}

// roleRequests is a request each protected route serves when allowed.
var roleRequests = map[string]tc{
	"GET /incidents":               {target: "/incidents"},
	"GET /incidents/{id}":          {target: "/incidents/" + incidentID},
	"GET /incidents/{id}/timeline": {target: "/incidents/" + incidentID + "/timeline?limit=10"},
	"POST /incidents": {target: "/incidents", want: 201,
		body: `{"title":"Exports time out","service":"dashboarduz-api","severity":"P2","category":"performance","description":"CSV exports time out"}`},
	"POST /incidents/{id}/acknowledge": {target: "/incidents/" + incidentID + "/acknowledge", body: `{}`},
	"POST /incidents/{id}/updates":     {target: "/incidents/" + incidentID + "/updates", body: `{"status":"mitigating","message":"Rolling back"}`},
	"POST /incidents/{id}/escalate":    {target: "/incidents/" + incidentID + "/escalate", body: `{"reason":"need the database team"}`},
	"POST /incidents/{id}/resolve":     {target: "/incidents/" + incidentID + "/resolve", body: `{"rootCause":"bad deploy"}`},
	"POST /incidents/{id}/severity":    {target: "/incidents/" + incidentID + "/severity", body: `{"severity":"P3"}`},
	"GET /maintenance-windows":         {target: "/maintenance-windows"},
	"POST /maintenance-windows": {target: "/maintenance-windows", want: 201,
		body: `{"service":"dashboarduz-api","start":"2030-01-01T02:00:00Z","end":"2030-01-01T04:00:00Z","reason":"upgrade"}`},
	"DELETE /maintenance-windows/{id}": {target: "/maintenance-windows/" + windowID},
	"GET /incidents/{id}/postmortem":   {target: postMortemPath},
	"POST /incidents/{id}/postmortem/action-items": {target: postMortemPath + "/action-items", want: 201,
		body: `{"title":"Alert on pool saturation"}`},
	"POST /incidents/{id}/postmortem/action-items/{item}/assign": {target: postMortemPath + "/action-items/AI-1/assign", body: `{"owner":"dba@example.com"}`},
	"POST /incidents/{id}/postmortem/action-items/{item}/close":  {target: postMortemPath + "/action-items/AI-1/close", body: `{}`},
	"POST /incidents/{id}/postmortem/complete":                   {target: postMortemPath + "/complete", body: `{}`},
	"GET /metrics/summary":                                       {target: "/metrics/summary?from=2026-02-01"},
	"GET /incidents/{id}/triage":                                 {target: "/incidents/" + incidentID + "/triage"},
	"POST /incidents/{id}/actions/{action}/approve":              {target: "/incidents/" + incidentID + "/actions/rollback/approve"},
	"POST /incidents/{id}/actions/{action}/reject":               {target: "/incidents/" + incidentID + "/actions/rollback/reject", body: `{"reason":"the deploy is a hotfix"}`},
	"GET /remediation/kill-switch":                               {target: "/remediation/kill-switch"},
	"PUT /remediation/kill-switch":                               {target: "/remediation/kill-switch", body: `{"on":true,"reason":"ECS is being migrated"}`},
}

// callers are the verified claims API Gateway would hand on for each
// bearer token of the role tests, with the default role mapping.
var callers = map[string]map[string]string{
	"no-role":      {"sub": "u-none", "email": "nobody@example.com", "email_verified": "true"},
	"unknown-role": {"sub": "u-unknown", "groups": "[everyone incident-superusers]"},
	"viewer":       {"sub": "u-viewer", "groups": "[incident-viewers]"},
	"responder":    {"sub": "u-responder", "groups": "[everyone incident-responders]"},
	"commander":    {"sub": "u-commander", "groups": "[incident-commanders]"},
	"admin":        {"sub": "u-admin", "groups": "[incident-admins]"},
}

var callerRole = map[string]auth.Role{
	"no-role": auth.NoRole, "unknown-role": auth.NoRole,
	"viewer": auth.Viewer, "responder": auth.Responder, "commander": auth.Commander, "admin": auth.Admin,
}

// gateway puts the claims of the request's bearer token into its context,
// as the apigateway adapter does with the authorizer's claims.
type gateway struct{ next http.Handler }

func (g gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if claims, ok := callers[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]; ok {
		r = r.WithContext(auth.WithClaims(r.Context(), claims))
	}
	g.next.ServeHTTP(w, r)
}

func TestRouteRoles(t *testing.T) {
	got := map[string]auth.Role{}
	for _, rt := range api.Routes() {
		if rt.Open {
			if rt.Role != auth.NoRole {
				t.Errorf("open route %s %s names role %s", rt.Method, rt.Path, rt.Role)
			}
			continue
		}
		got[rt.Method+" "+rt.Path] = rt.Role
	}
	for key, want := range wantRouteRoles {
		if got[key] != want {
			t.Errorf("%s needs %s, want %s", key, got[key], want)
		}
	}
	if len(got) != len(wantRouteRoles) {
		t.Errorf("protected routes %v, want %v", got, wantRouteRoles)
	}
}

// TestEveryRouteEveryRole tries every protected route with a token of each
// role, of no role and of an unknown group: a role at least the route's
// reaches the service; anything less is a 403 with a JSON error and
// reaches nothing.
func TestEveryRouteEveryRole(t *testing.T) {
	for _, rt := range api.Routes() {
		if rt.Open {
			continue
		}
		key := rt.Method + " " + rt.Path
		base, ok := roleRequests[key]
		if !ok {
			t.Errorf("no request for %s: add one to roleRequests", key)
			continue
		}
		for token, role := range callerRole {
			t.Run(key+" as "+token, func(t *testing.T) {
				c := base
				c.name, c.method, c.token = key+" as "+token, rt.Method, token
				if c.want == 0 {
					c.want = 200
				}
				allowed := role.Allows(wantRouteRoles[key])
				if !allowed {
					c.want, c.wantCode = http.StatusForbidden, incident.EForbidden
					c.wantMsg = "needs the " + wantRouteRoles[key].String() + " role"
				}
				svc := &fakeService{}
				h, err := api.New(withReview(t, api.Config{Service: svc, Auth: auth.GatewayAuthenticator{}}, svc))
				if err != nil {
					t.Fatal(err)
				}
				rec := exchange(t, gateway{h}, c, svc)
				if allowed {
					if calls := svc.recorded(); len(calls) != 1 || calls[0].Actor != "" && !strings.Contains(calls[0].Actor, callers[token]["sub"]) {
						t.Errorf("calls %+v, want one by %s", calls, callers[token]["sub"])
					}
					c.wantCall = nil // checked above
					if rec.Code != c.want {
						t.Fatalf("status %d, want %d: %s", rec.Code, c.want, rec.Body)
					}
					return
				}
				checkExchange(t, c, rec, svc)
			})
		}
	}
}
