package api_test

import (
	"encoding/json"
	"testing"

	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/response"
)

// TestTextIsChecked: text fields refuse NUL, control characters and the
// bidirectional overrides and isolates, and single-line fields refuse line
// breaks and tabs, with a 400 naming the field, before anything is stored
// (finding L15: such text was stored verbatim, and
// "dashboarduz-api\u0000" became a service of its own).
func TestTextIsChecked(t *testing.T) {
	report := func(field, value string) string {
		r := map[string]string{"title": "Exports time out", "service": "dashboarduz-api", "severity": "P2",
			"category": "performance", "description": "CSV exports\ntime out\tafter 30 s"}
		r[field] = value
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	bad := func(name, target, body, field, msg string) tc {
		return tc{name: name, method: "POST", target: target, token: goodToken, body: body,
			want: 400, wantCode: incident.EInvalid, wantField: field, wantMsg: msg, docRejects: true}
	}
	cases := []tc{
		bad("NUL in a service", "/incidents", `{"title":"t","service":"dashboarduz-api\u0000","severity":"P2","category":"other","description":"d"}`, "service", "U+0000"),
		bad("right-to-left override in a title", "/incidents", report("title", "Invoice \u202egpj.exe"), "title", "U+202E"),
		bad("isolate in a description", "/incidents", report("description", "a \u2067b\u2069 c"), "description", "U+2067"),
		bad("line break in a title", "/incidents", report("title", "two\nlines"), "title", "one line"),
		bad("carriage return in a title", "/incidents", report("title", "spoofed\rline"), "title", "U+000D"),
		bad("carriage return in a description", "/incidents", report("description", "a\r\nb"), "description", "U+000D"),
		bad("tab in a service", "/incidents", report("service", "dashboarduz-api\t"), "service", "one line"),
		bad("escape sequence in a description", "/incidents", report("description", "\x1b[2Jcleared"), "description", "U+001B"),
		bad("C1 control in a title", "/incidents", report("title", "next\u0085line"), "title", "U+0085"),
		bad("DEL in a title", "/incidents", report("title", "rub\u007fout"), "title", "U+007F"),
		bad("line break in a severity reason", "/incidents/"+incidentID+"/severity", `{"severity":"P1","reason":"a\nb"}`, "reason", "one line"),
		bad("line break in a level", "/incidents/"+incidentID+"/escalate", `{"level":"team-lead\n"}`, "level", "one line"),
		bad("NUL in a status update", "/incidents/"+incidentID+"/updates", `{"status":"mitigating","message":"rolling\u0000back"}`, "message", "U+0000"),
		bad("override in a root cause", "/incidents/"+incidentID+"/resolve", `{"rootCause":"\u202dbad deploy"}`, "rootCause", "U+202D"),
		bad("NUL in a maintenance service", "/maintenance-windows",
			`{"service":"dashboarduz-api\u0000","start":"2030-01-01T02:00:00Z","end":"2030-01-01T04:00:00Z"}`, "service", "U+0000"),
		{name: "line breaks and tabs in prose are kept", method: "POST", target: "/incidents", token: goodToken,
			body: report("description", "CSV exports\ntime out\tafter 30 s"), want: 201,
			wantCall: &call{"Report", actor, "", response.Report{Title: "Exports time out", Service: "dashboarduz-api", Severity: "P2",
				Category: "performance", Description: "CSV exports\ntime out\tafter 30 s"}}},
		{name: "right-to-left text without overrides is kept", method: "POST", target: "/incidents/" + incidentID + "/updates", token: goodToken,
			body: `{"status":"mitigating","message":"خطای پایگاه داده"}`, want: 200,
			wantCall: &call{"PostUpdate", actor, incidentID, response.StatusUpdate{Status: "mitigating", Message: "خطای پایگاه داده"}}},
		{name: "NUL in a service filter", method: "GET", target: "/incidents?service=dashboarduz-api%00", token: goodToken,
			want: 400, wantCode: incident.EInvalid, wantField: "service", wantMsg: "U+0000", docRejects: true},
		{name: "line break in a window service filter", method: "GET", target: "/maintenance-windows?service=a%0Ab", token: goodToken,
			want: 400, wantCode: incident.EInvalid, wantField: "service", wantMsg: "one line", docRejects: true},
	}
	runCases(t, cases)
}
