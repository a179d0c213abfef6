package api_test

import (
	"net/http/httptest"
	"testing"

	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/response"
)

func TestTriageReport(t *testing.T) {
	path := incidentPath + "/triage"
	ok := tc{
		name: "success", method: "GET", target: path, token: goodToken,
		want: 200, wantCall: &call{"Triage", "", incidentID, nil},
		check: func(t *testing.T, rec *httptest.ResponseRecorder) {
			got := decode[incident.TriageReport](t, rec)
			if got.IncidentID != incidentID || len(got.Parts) != 2 || got.Parts[0].Facts[incident.FactRunning] != "1" || got.Parts[1].Error == "" {
				t.Errorf("report = %+v, want the sample's two parts, the failed one with its error", got)
			}
		},
	}
	runCases(t, guarded(ok,
		tc{name: "bad id", method: "GET", target: "/incidents/" + badID + "/triage", token: goodToken,
			want: 400, wantCode: incident.EInvalid, wantField: "id", docRejects: true},
	))
}

func TestGetIncidentCarriesItsTriage(t *testing.T) {
	runCases(t, []tc{{
		name: "triage in the incident", method: "GET", target: incidentPath, token: goodToken,
		setup: func(f *fakeService) { f.triage = true },
		want:  200, wantCall: &call{"Get", "", incidentID, nil},
		check: func(t *testing.T, rec *httptest.ResponseRecorder) {
			got := decode[response.IncidentWithTimeline](t, rec)
			if got.Triage == nil || got.Triage.IncidentID != incidentID || len(got.Triage.Parts) != 2 {
				t.Errorf("triage = %+v, want the sample report", got.Triage)
			}
		},
	}})
}

func TestApproveAndRejectAction(t *testing.T) {
	for _, verb := range []string{"approve", "reject"} {
		t.Run(verb, func(t *testing.T) {
			path := incidentPath + "/actions/rollback/" + verb
			method := map[string]string{"approve": "ApproveAction", "reject": "RejectAction"}[verb]
			state := map[string]incident.RemediationState{"approve": incident.RemedyReady, "reject": incident.RemedyRejected}[verb]
			ok := tc{
				name: "success", method: "POST", target: path, token: goodToken, body: `{"reason":"the 02:40 deploy broke checkout"}`,
				want: 200, wantCall: &call{method, actor, incidentID, []any{"rollback", response.ActionDecision{Reason: "the 02:40 deploy broke checkout"}}},
				check: func(t *testing.T, rec *httptest.ResponseRecorder) {
					got := decode[incident.Incident](t, rec)
					if len(got.Remediations) != 1 || got.Remediations[0].State != state || got.Remediations[0].DecidedBy != actor {
						t.Errorf("remediations = %+v, want one %s by %s", got.Remediations, state, actor)
					}
				},
			}
			runCases(t, guarded(ok,
				tc{name: "empty body", method: "POST", target: path, token: goodToken,
					want: 200, wantCall: &call{method, actor, incidentID, []any{"rollback", response.ActionDecision{}}}},
				tc{name: "unknown action", method: "POST", target: incidentPath + "/actions/reboot/" + verb, token: goodToken,
					want: 400, wantCode: incident.EInvalid, wantField: "action", wantMsg: "not one of restart, rollback", docRejects: true},
				tc{name: "the none action is no action", method: "POST", target: incidentPath + "/actions/none/" + verb, token: goodToken,
					want: 400, wantCode: incident.EInvalid, wantField: "action", docRejects: true},
				tc{name: "bad id", method: "POST", target: "/incidents/" + badID + "/actions/rollback/" + verb, token: goodToken,
					want: 400, wantCode: incident.EInvalid, wantField: "id", docRejects: true},
				tc{name: "unknown field", method: "POST", target: path, token: goodToken, body: `{"why":"x"}`,
					want: 400, wantCode: incident.EInvalid, wantField: "why", docRejects: true},
				tc{name: "reason on two lines", method: "POST", target: path, token: goodToken, body: `{"reason":"a\nb"}`,
					want: 400, wantCode: incident.EInvalid, wantField: "reason", wantMsg: "one line", docRejects: true},
			))
		})
	}
}

func TestKillSwitch(t *testing.T) {
	const path = "/remediation/kill-switch"
	on := true
	get := tc{
		name: "read", method: "GET", target: path, token: goodToken,
		want: 200, wantCall: &call{"KillSwitch", "", "", nil},
		check: func(t *testing.T, rec *httptest.ResponseRecorder) {
			if got := decode[incident.KillSwitch](t, rec); got.On || got.Source != "default" {
				t.Errorf("kill switch = %+v, want the default, off", got)
			}
		},
	}
	runCases(t, guarded(get))
	set := tc{
		name: "turn on", method: "PUT", target: path, token: adminToken, body: `{"on":true,"reason":"ECS is being migrated"}`,
		want: 200, wantCall: &call{"SetKillSwitch", adminActor, "", response.KillSwitchChange{On: &on, Reason: "ECS is being migrated"}},
		check: func(t *testing.T, rec *httptest.ResponseRecorder) {
			if got := decode[incident.KillSwitch](t, rec); !got.On || got.By != adminActor || got.Source != "table" {
				t.Errorf("kill switch = %+v, want on, by the admin, from the table", got)
			}
		},
	}
	runCases(t, guarded(set,
		tc{name: "on missing", method: "PUT", target: path, token: adminToken, body: `{"reason":"x"}`,
			want: 400, wantCode: incident.EInvalid, wantField: "on", wantMsg: "on is required", docRejects: true},
		tc{name: "on not a boolean", method: "PUT", target: path, token: adminToken, body: `{"on":"yes"}`,
			want: 400, wantCode: incident.EInvalid, wantField: "on", docRejects: true},
		tc{name: "a commander may not", method: "PUT", target: path, token: goodToken, body: `{"on":true}`,
			want: 403, wantCode: incident.EForbidden, wantMsg: "needs the admin role"},
	))
}
