package api_test

import (
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/response"
)

func TestMaintenanceWindows(t *testing.T) {
	ok := tc{
		name: "success for one service", method: "GET", target: "/maintenance-windows?service=dashboarduz-api", token: goodToken,
		want: 200, wantCall: &call{"MaintenanceWindows", "", "", "dashboarduz-api"},
		check: func(t *testing.T, rec *httptest.ResponseRecorder) {
			got := decode[struct {
				Windows []incident.MaintenanceWindow `json:"windows"`
			}](t, rec)
			if want := []incident.MaintenanceWindow{sampleWindow()}; !reflect.DeepEqual(got.Windows, want) {
				t.Errorf("windows\n got %+v\nwant %+v", got.Windows, want)
			}
		},
	}
	runCases(t, guarded(ok,
		tc{name: "success for every service, none", method: "GET", target: "/maintenance-windows", token: goodToken,
			setup: func(f *fakeService) { f.windows = new([]incident.MaintenanceWindow) },
			want:  200, wantCall: &call{"MaintenanceWindows", "", "", ""},
			check: func(t *testing.T, rec *httptest.ResponseRecorder) {
				if got := strings.TrimSpace(rec.Body.String()); got != `{"windows":[]}` {
					t.Errorf("body %s, want an empty list", got)
				}
			}},
		tc{name: "empty service", method: "GET", target: "/maintenance-windows?service=", token: goodToken,
			want: 400, wantCode: incident.EInvalid, wantField: "service", wantMsg: "must not be empty", docRejects: true},
	))
}

func TestScheduleMaintenance(t *testing.T) {
	start := time.Date(2026, 3, 7, 22, 0, 0, 0, time.UTC)
	end := start.Add(2 * time.Hour)
	req := response.MaintenanceRequest{Service: "dashboarduz-api", Start: start, End: end, Reason: "PostgreSQL 17 upgrade"}
	ok := tc{
		name: "success", method: "POST", target: "/maintenance-windows", token: goodToken,
		body: `{"service":"dashboarduz-api","start":"2026-03-07T22:00:00Z","end":"2026-03-08T00:00:00Z","reason":"PostgreSQL 17 upgrade"}`,
		want: 201, wantCall: &call{"ScheduleMaintenance", actor, "", req},
		check: func(t *testing.T, rec *httptest.ResponseRecorder) {
			got := decode[incident.MaintenanceWindow](t, rec)
			if got.ID == "" || !got.Start.Equal(start) || !got.End.Equal(end) || got.CreatedBy != actor {
				t.Errorf("answer %+v is not the scheduled window", got)
			}
			if loc := rec.Header().Get("Location"); loc != "/maintenance-windows/"+got.ID {
				t.Errorf("Location %q, want /maintenance-windows/%s", loc, got.ID)
			}
		},
	}
	bad := func(name, body, field, msg string) tc {
		return tc{name: name, method: "POST", target: "/maintenance-windows", token: goodToken, body: body,
			want: 400, wantCode: incident.EInvalid, wantField: field, wantMsg: msg, docRejects: true}
	}
	runCases(t, guarded(ok,
		bad("missing service", `{"start":"2026-03-07T22:00:00Z","end":"2026-03-08T00:00:00Z"}`, "service", "service is required"),
		bad("missing start", `{"service":"api","end":"2026-03-08T00:00:00Z"}`, "start", "start is required"),
		bad("missing end", `{"service":"api","start":"2026-03-07T22:00:00Z"}`, "end", "end is required"),
		bad("end not a date-time", `{"service":"api","start":"2026-03-07T22:00:00Z","end":"tomorrow"}`, "end", "end must be an RFC 3339 date-time string"),
		bad("unknown field", `{"service":"api","start":"2026-03-07T22:00:00Z","end":"2026-03-08T00:00:00Z","duration":"2h"}`, "duration", "the fields are service, start, end, reason"),
		tc{name: "end before start, from the service", method: "POST", target: "/maintenance-windows", token: goodToken,
			body:   `{"service":"api","start":"2026-03-08T00:00:00Z","end":"2026-03-07T22:00:00Z"}`,
			svcErr: incident.FieldErrorf("end", "end 2026-03-07T22:00:00Z is not after start 2026-03-08T00:00:00Z"),
			want:   400, wantCode: incident.EInvalid, wantField: "end", wantMsg: "is not after start",
			wantCall: &call{"ScheduleMaintenance", actor, "", response.MaintenanceRequest{Service: "api", Start: end, End: start}}},
	))
}

func TestEndMaintenance(t *testing.T) {
	ok := tc{
		name: "success", method: "DELETE", target: "/maintenance-windows/" + windowID, token: goodToken,
		want: 200, wantCall: &call{"EndMaintenance", actor, windowID, nil},
		check: func(t *testing.T, rec *httptest.ResponseRecorder) {
			if got := decode[incident.MaintenanceWindow](t, rec); got.ID != windowID || !got.End.Equal(openedAt.Add(30*time.Minute)) {
				t.Errorf("answer %+v is not the ended window", got)
			}
		},
	}
	runCases(t, guarded(ok,
		tc{name: "bad id", method: "DELETE", target: "/maintenance-windows/-mw", token: goodToken,
			want: 400, wantCode: incident.EInvalid, wantField: "id", wantMsg: "starting with a letter or digit", docRejects: true},
	))
}
