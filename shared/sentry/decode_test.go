package sentry

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/dashboarduz/incident-response/shared/incident"
)

// deliver verifies a fixture as the API would and decodes it.
func deliver(t *testing.T, name string, body []byte, m Mapping) (incident.Signal, error) {
	t.Helper()
	if body == nil {
		body = readFixture(t, name)
	}
	d, err := Verifier{Secrets: []string{secret}, Clock: clock}.Verify(headers(resourceOf(name), body, now), body)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	return Decode(d, m)
}

// TestDecodeIssueCreated compares one whole signal, so that a field the
// decoder forgets fails here.
func TestDecodeIssueCreated(t *testing.T) {
	got, err := deliver(t, "issue-created.json", nil, DefaultMapping())
	if err != nil {
		t.Fatal(err)
	}
	want := incident.Signal{
		Source:   "sentry",
		EventID:  "sentry:issue:4509871236/created@2026-03-01T02:58:37.391000Z",
		DedupKey: "sentry:issue:4509871236",
		Service:  "dashboarduz-api",
		Category: incident.HighErrorRate,
		Severity: incident.P2,
		Summary:  "Sentry DASHBOARDUZ-API-3F: TypeError: Cannot read properties of undefined (reading 'rows')",
		Reason:   "New Sentry issue in dashboarduz-api: POST /v1/exports",
		Details: map[string]string{
			"sentryResource": "issue", "sentryAction": "created", "requestId": "0f6a1b7e5c2d4e8f9a3b6c1d2e4f7a8b",
			"installation": "a8e5d37a-696c-4c54-adb5-b3f28d64c7de", "actor": "Sentry (application)",
			"sentryIssueId": "4509871236", "sentryShortId": "DASHBOARDUZ-API-3F", "sentryProject": "dashboarduz-api",
			"level": "error", "status": "unresolved", "substatus": "new", "culprit": "POST /v1/exports",
			"webUrl": "https://sentry.io/organizations/dashboarduz/issues/4509871236/", "count": "1",
		},
		Time:  now,
		State: incident.Firing,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}

func TestDecodeFixtures(t *testing.T) {
	type want struct {
		state    incident.SignalState
		service  string
		severity incident.Severity
		dedupKey string
		eventID  string
	}
	tests := []struct {
		file    string
		want    want
		summary string
		reason  string
		ignored string
	}{
		{"issue-resolved.json", want{incident.Recovered, "dashboarduz-api", incident.P2, "sentry:issue:4509871236", "sentry:issue:4509871236/resolved@2026-03-01T03:41:12.004000Z"},
			"DASHBOARDUZ-API-3F", "resolved by On-call Engineer", ""},
		{"issue-unresolved.json", want{incident.Firing, "dashboarduz-api", incident.P2, "sentry:issue:4509871236", "sentry:issue:4509871236/unresolved@2026-03-01T05:02:44.870000Z"},
			"DASHBOARDUZ-API-3F", "unresolved again (regressed)", ""},
		{"issue-ignored.json", want{incident.Recovered, "dashboarduz-api", incident.P2, "sentry:issue:4509871236", "sentry:issue:4509871236/ignored@2026-03-01T05:10:02.118000Z"},
			"DASHBOARDUZ-API-3F", "archived (archived_until_escalating) by On-call Engineer", ""},
		{"issue-assigned.json", want{incident.Inconclusive, "dashboarduz-api", incident.P3, "sentry:issue:4509871236", "sentry:issue:4509871236/assigned@2026-03-01T02:58:37.391000Z"},
			"DASHBOARDUZ-API-3F", "assigned by On-call Engineer", "an assignment in Sentry changes nothing here"},
		{"metric_alert-critical.json", want{incident.Firing, "dashboarduz-api", incident.P1, "sentry:metric-alert:7", "sentry:metric-alert:7/incident/4/critical"},
			`Sentry metric alert "API error volume" is critical`, "Critical: API error volume: 1240 events in the last 10 minutes", ""},
		{"metric_alert-warning.json", want{incident.Firing, "dashboarduz-api", incident.P2, "sentry:metric-alert:7", "sentry:metric-alert:7/incident/4/warning"},
			`is warning`, "640 events", ""},
		{"metric_alert-resolved.json", want{incident.Recovered, "dashboarduz-api", incident.P1, "sentry:metric-alert:7", "sentry:metric-alert:7/incident/4/resolved"},
			`Sentry metric alert "API error volume" is resolved`, "Resolved: API error volume", ""},
		{"event_alert-triggered.json", want{incident.Firing, "dashboarduz-worker", incident.P1, "sentry:issue:4509871999", "sentry:event-alert:e4874d664c3540c1a32eab185f12c5ab/Worker crashes"},
			`Sentry alert rule "Worker crashes": Error: Redis connection lost`, "processExport(dist/exports/worker)", ""},
		{"installation-created.json", want{incident.Inconclusive, "sentry", incident.P3, "sentry:installation:a8e5d37a-696c-4c54-adb5-b3f28d64c7de",
			"sentry:installation:a8e5d37a-696c-4c54-adb5-b3f28d64c7de/created@1772334005/0f6a1b7e5c2d4e8f9a3b6c1d2e4f7a8b"},
			"Sentry installation webhook (created)", "", "not installation"},
	}
	covered := map[string]bool{"issue-created.json": true}
	for _, tt := range tests {
		covered[tt.file] = true
		t.Run(tt.file, func(t *testing.T) {
			s, err := deliver(t, tt.file, nil, DefaultMapping())
			if err != nil {
				t.Fatal(err)
			}
			if got := (want{s.State, s.Service, s.Severity, s.DedupKey, s.EventID}); got != tt.want {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
			if !strings.Contains(s.Summary, tt.summary) || !strings.Contains(s.Reason, tt.reason) {
				t.Errorf("summary %q, reason %q; want %q and %q in them", s.Summary, s.Reason, tt.summary, tt.reason)
			}
			if (tt.ignored == "") != (s.Ignored == "") || !strings.Contains(s.Ignored, tt.ignored) {
				t.Errorf("Ignored = %q, want %q", s.Ignored, tt.ignored)
			}
			if s.Category != incident.HighErrorRate || s.Time != now {
				t.Errorf("category %s, time %v", s.Category, s.Time)
			}
		})
	}
	for _, name := range fixtureNames(t) {
		if !covered[name] {
			t.Errorf("fixture %s has no row in the table", name)
		}
	}
}

// A retry of a webhook carries a new Request-ID and timestamp; its
// EventID must not change, or ingest would count it twice.
func TestRetryKeepsTheEventID(t *testing.T) {
	for _, name := range []string{"issue-created.json", "metric_alert-critical.json", "event_alert-triggered.json"} {
		body := readFixture(t, name)
		first, err := deliver(t, name, body, DefaultMapping())
		if err != nil {
			t.Fatal(err)
		}
		h := headers(resourceOf(name), body, now.Add(-4*time.Minute))
		h.Set(HeaderRequestID, "another-request")
		d, err := Verifier{Secrets: []string{secret}, Clock: clock}.Verify(h, body)
		if err != nil {
			t.Fatal(err)
		}
		retry, err := Decode(d, DefaultMapping())
		if err != nil {
			t.Fatal(err)
		}
		if first.EventID != retry.EventID || first.DedupKey != retry.DedupKey {
			t.Errorf("%s: %s / %s, retried %s / %s", name, first.EventID, first.DedupKey, retry.EventID, retry.DedupKey)
		}
	}
}

func TestMapping(t *testing.T) {
	m := DefaultMapping()
	m.Services = map[string]string{"dashboarduz-api": "api"}
	m.Levels = map[string]incident.Severity{"error": incident.P1}
	s, err := deliver(t, "issue-created.json", nil, m)
	if err != nil {
		t.Fatal(err)
	}
	if s.Service != "api" || s.Severity != incident.P1 || s.Ignored != "" {
		t.Errorf("service %s severity %s ignored %q", s.Service, s.Severity, s.Ignored)
	}
	body := []byte(strings.Replace(string(readFixture(t, "issue-created.json")), `"level": "error"`, `"level": "info"`, 1))
	s, err = deliver(t, "issue-created.json", body, DefaultMapping())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(s.Ignored, `level "info" maps to no severity`) {
		t.Errorf("Ignored = %q", s.Ignored)
	}
	body = []byte(strings.Replace(string(readFixture(t, "issue-created.json")), `"level": "error"`, `"level": "fatal"`, 1))
	if s, _ = deliver(t, "issue-created.json", body, DefaultMapping()); s.Severity != incident.P1 {
		t.Errorf("fatal is %s, want P1", s.Severity)
	}
}

func TestParseMapping(t *testing.T) {
	if m := DefaultMapping(); m.Levels["error"] != incident.P2 || m.MetricAlerts["critical"] != incident.P1 || m.Category != incident.HighErrorRate {
		t.Errorf("default mapping %+v", m)
	}
	valid := `"levels":{"error":"P2"},"metricAlerts":{"critical":"P1","warning":"P2"},"category":"high-error-rate"`
	if _, err := ParseMapping([]byte(`{` + valid + `}`)); err != nil {
		t.Errorf("minimal mapping: %v", err)
	}
	for _, tt := range []struct{ doc, field string }{
		{`{"levels":{"critical":"P1"},"metricAlerts":{"critical":"P1","warning":"P2"},"category":"high-error-rate"}`, "levels"},
		{`{"levels":{"error":"P5"},"metricAlerts":{"critical":"P1","warning":"P2"},"category":"high-error-rate"}`, "levels"},
		{`{"levels":{},"metricAlerts":{"critical":"P1"},"category":"high-error-rate"}`, "metricAlerts"},
		{`{"levels":{},"metricAlerts":{"critical":"P1","warning":"P2","resolved":"P3"},"category":"high-error-rate"}`, "metricAlerts"},
		{`{"levels":{},"metricAlerts":{"critical":"P1","warning":"P2"},"category":"errors"}`, "category"},
		{`{"services":{"":"api"},` + valid + `}`, "services"},
		{`{"service":{},` + valid + `}`, ""},
	} {
		_, err := ParseMapping([]byte(tt.doc))
		var e *incident.Error
		if !errors.As(err, &e) || e.Code != incident.EInvalid || e.Field != tt.field {
			t.Errorf("ParseMapping(%s) = %v, want an invalid error on %q", tt.doc, err, tt.field)
		}
	}
}

func TestDecodeRefuses(t *testing.T) {
	issue := string(readFixture(t, "issue-created.json"))
	tests := []struct {
		name, fixture, body string
		kind                ErrorKind
		problem             string
	}{
		{"HTML", "issue-created.json", "<html><body>502</body></html>", Malformed, "body is not JSON"},
		{"array", "issue-created.json", "[]", Malformed, "not an object"},
		{"no action", "issue-created.json", strings.Replace(issue, `"action": "created"`, `"action": ""`, 1), Malformed, "action is missing"},
		{"no data", "issue-created.json", `{"action":"created"}`, Malformed, "data is missing"},
		{"unknown issue action", "issue-created.json", strings.Replace(issue, `"action": "created"`, `"action": "merged"`, 1), Unsupported, `issue action "merged"`},
		{"id of the wrong type", "issue-created.json", strings.Replace(issue, `"id": "4509871236"`, `"id": 4509871236`, 1), Malformed, "data.issue.id has the wrong type: got a JSON number"},
		{"no project", "issue-created.json", strings.Replace(issue, `"slug": "dashboarduz-api"`, `"slug": ""`, 1), Malformed, "data.issue.project.slug is missing"},
		{"metric action", "metric_alert-critical.json", strings.Replace(string(readFixture(t, "metric_alert-critical.json")), `"action": "critical"`, `"action": "paused"`, 1), Unsupported, `metric_alert action "paused"`},
		{"metric without rule", "metric_alert-critical.json", strings.Replace(string(readFixture(t, "metric_alert-critical.json")), `"id": "7"`, `"id": ""`, 1), Malformed, "alert_rule.id is missing"},
		{"event alert without URL", "event_alert-triggered.json", strings.Replace(string(readFixture(t, "event_alert-triggered.json")), `"url": "https://sentry.io/api/0/projects/`, `"url": "https://sentry.io/api/0/`, 1), Malformed, "does not name the project"},
		{"event alert action", "event_alert-triggered.json", strings.Replace(string(readFixture(t, "event_alert-triggered.json")), `"action": "triggered"`, `"action": "created"`, 1), Unsupported, `event_alert action "created"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := deliver(t, tt.fixture, []byte(tt.body), DefaultMapping())
			var we *WebhookError
			if !errors.As(err, &we) {
				t.Fatalf("error %v is not a *WebhookError; signal %+v", err, s)
			}
			if we.Kind != tt.kind || we.HTTPStatus() != 400 || incident.ErrorCode(err) != incident.EInvalid {
				t.Errorf("got %s %d %s", we.Kind, we.HTTPStatus(), incident.ErrorCode(err))
			}
			if !strings.Contains(err.Error(), tt.problem) || !strings.Contains(incident.ErrorMessage(err), tt.problem) {
				t.Errorf("error %q (public %q) does not say %q", err, incident.ErrorMessage(err), tt.problem)
			}
			if !reflect.DeepEqual(s, incident.Signal{}) {
				t.Errorf("a refused webhook returned a signal %+v", s)
			}
		})
	}
}

func TestProjectSlug(t *testing.T) {
	for in, want := range map[string]string{
		"https://sentry.io/api/0/projects/org/front-end/events/abc/":     "front-end",
		"https://self-hosted.example/sentry/api/0/projects/o/p/events/1": "p",
		"https://sentry.io/api/0/issues/1/":                              "",
		"::":                                                             "",
		"https://sentry.io/api/0/projects//p/events/1/":                  "",
	} {
		got, ok := projectSlug(in)
		if got != want || ok != (want != "") {
			t.Errorf("projectSlug(%q) = %q %v, want %q", in, got, ok, want)
		}
	}
}

func TestMappingFrom(t *testing.T) {
	m, err := MappingFrom("")
	if err != nil || !reflect.DeepEqual(m, DefaultMapping()) {
		t.Errorf("MappingFrom(\"\") = %+v, %v; want the default", m, err)
	}
	m, err = MappingFrom(`{"services":{"web":"dashboarduz-api"},"levels":{"fatal":"P0","error":"P1"}}`)
	if err != nil {
		t.Fatal(err)
	}
	want := DefaultMapping()
	want.Services = map[string]string{"web": "dashboarduz-api"}
	want.Levels = map[string]incident.Severity{"fatal": incident.P0, "error": incident.P1}
	if !reflect.DeepEqual(m, want) {
		t.Errorf("got %+v\nwant %+v", m, want)
	}
	for _, bad := range []string{`[]`, `{"service":{}}`, `{"levels":{"critical":"P1"}}`, `{"category":"outage"}`, `null`, `{`} {
		if _, err := MappingFrom(bad); incident.ErrorCode(err) != incident.EInvalid {
			t.Errorf("MappingFrom(%s) = %v, want an invalid error", bad, err)
		}
	}
}
