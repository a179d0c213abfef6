package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/dashboarduz/incident-response/shared/incident"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

var t0 = time.Date(2026, 3, 1, 3, 0, 0, 0, time.UTC)

// onCall is a hand-written OnCallFinder.
type onCall struct {
	names map[string][]string
	err   error
	asked []string
}

func (o *onCall) OnCallNames(_ context.Context, level string) ([]string, error) {
	o.asked = append(o.asked, level)
	return o.names[level], o.err
}

func roster() *onCall {
	return &onCall{names: map[string][]string{
		"on-call":   {"Dana Whitfield"},
		"team-lead": {"Omar Haddad", "Lena Park"},
	}}
}

func builder(finder OnCallFinder, now time.Time) *Builder {
	return &Builder{
		OnCall:      finder,
		Clock:       incident.ClockFunc(func() time.Time { return now }),
		IncidentURL: func(id string) string { return "https://incidents.example.com/incidents/" + id },
	}
}

// alarmIncident is a P0 opened by the API's 5xx alarm at t0.
func alarmIncident() incident.Incident {
	return incident.Incident{
		ID: "inc-20260301-030000-c0f8ae04e8", Title: "P0 dashboarduz-api - API 5xx error rate above 5%",
		Service: "dashboarduz-api", Category: incident.ServiceDown, Severity: incident.P0, Status: incident.Triggered,
		Source: "cloudwatch", Summary: "API 5xx error rate above 5%", OpenedAt: t0,
	}
}

// reportIncident is a P2 reported by a user.
func reportIncident() incident.Incident {
	return incident.Incident{
		ID: "inc-20260301-091500-5d1e2f3a4b", Title: "Exports time out", Service: "dashboarduz-api",
		Category: incident.Performance, Severity: incident.P2, Status: incident.Triggered, Source: "user-report",
		Summary: "Exports time out", Description: "CSV exports over 10k rows time out after 30 seconds",
		OpenedAt: t0.Add(6*time.Hour + 15*time.Minute),
	}
}

func entry(at time.Time, kind incident.EntryKind, actor, text string, data map[string]string) incident.Entry {
	return incident.Entry{ID: incident.EntryID(at, string(kind)), At: at, Kind: kind, Actor: actor, Text: text, Data: data}
}

func pagedEntry(at time.Time, level int, name, title, reason string) incident.Entry {
	text := "Paged " + title + " (level " + string(rune('0'+level)) + ", " + name + ") through PagerDuty"
	if reason != "" {
		text += ": " + reason
	}
	return entry(at, incident.EntryPaged, "escalation", text+".", map[string]string{"level": string(rune('0' + level)), "levelName": name, "dedupKey": "k"})
}

// resolvedP0 is alarmIncident acknowledged, updated twice, remediated and
// resolved, with its timeline.
func resolvedP0() (incident.Incident, []incident.Entry) {
	inc := alarmIncident()
	inc.Status = incident.Resolved
	inc.AcknowledgedAt, inc.AcknowledgedBy = t0.Add(4*time.Minute), "dana@dashboarduz.example"
	inc.ResolvedAt, inc.ResolvedBy = t0.Add(47*time.Minute), "dana@dashboarduz.example"
	inc.RootCause = "The 02:40 deploy shipped a connection-pool size of 1"
	inc.Resolution = "Rolled back to task definition 41"
	tl := []incident.Entry{
		entry(t0, incident.EntryOpened, "alarm-ingest", "Incident opened", nil),
		pagedEntry(t0, 1, "on-call", "On-Call Engineer", "a new incident pages the first level at once"),
		entry(t0.Add(4*time.Minute), incident.EntryAcknowledged, "dana@dashboarduz.example", "Acknowledged by dana@dashboarduz.example.", nil),
		entry(t0.Add(10*time.Minute), incident.EntryStatusUpdate, "dana@dashboarduz.example", "update", map[string]string{
			"status": "investigating", "message": "Every API task fails its database health check since the 02:40 deploy",
			"actions": "Comparing the 02:40 task definition with the previous one"}),
		entry(t0.Add(20*time.Minute), incident.EntryKind("remediation"), "dana@dashboarduz.example", "Rolled back dashboarduz-api to task definition 41", map[string]string{
			"action": "Roll back dashboarduz-api to task definition 41", "outcome": "Deployment completed; 5xx rate back under 1%", "state": "succeeded"}),
		entry(t0.Add(25*time.Minute), incident.EntryStatusUpdate, "dana@dashboarduz.example", "update", map[string]string{
			"status": "monitoring", "message": "Error rate normal since the rollback", "actions": "Watching the error rate for 20 minutes",
			"eta": t0.Add(45 * time.Minute).Format(time.RFC3339)}),
		entry(inc.ResolvedAt, incident.EntryResolved, "dana@dashboarduz.example", "Resolved", map[string]string{"rootCause": inc.RootCause}),
	}
	return inc, tl
}

type goldenCase struct {
	name     string
	kind     Kind
	inc      incident.Incident
	timeline []incident.Entry
	facts    Facts
	finder   OnCallFinder
	now      time.Time
}

func goldenCases() []goldenCase {
	resolved, resolvedTL := resolvedP0()
	acked := reportIncident()
	acked.Status, acked.AcknowledgedAt, acked.AcknowledgedBy = incident.Acknowledged, acked.OpenedAt.Add(20*time.Minute), "Omar Haddad"
	mitigating := alarmIncident()
	mitigating.Status, mitigating.AcknowledgedAt, mitigating.AcknowledgedBy = incident.Mitigating, t0.Add(3*time.Minute), "dana@dashboarduz.example"
	update := entry(t0.Add(12*time.Minute), incident.EntryStatusUpdate, "dana@dashboarduz.example", "update", map[string]string{
		"status": "mitigating", "message": "The 02:40 deploy broke database connections", "actions": "Rolling back to task definition 41",
		"eta": t0.Add(30 * time.Minute).Format(time.RFC3339)})
	escalated := alarmIncident()
	escalated.Escalations = []incident.EscalationRequest{{Level: 3, LevelName: "engineering-manager", At: t0.Add(8 * time.Minute), By: "dana@dashboarduz.example", Reason: "Need someone who can approve a database failover"}}
	p3 := incident.Incident{ID: "inc-20260302-100000-aa11bb22cc", Title: "Typo on the billing page", Service: "dashboarduz-web",
		Severity: incident.P3, Category: incident.Other, Status: incident.Resolved, OpenedAt: t0.Add(31 * time.Hour),
		ResolvedAt: t0.Add(31*time.Hour + 26*time.Hour), RootCause: "Copy change without review"}
	return []goldenCase{
		{name: "alert-p0-opened", kind: KindAlert, inc: alarmIncident(), finder: roster(), now: t0},
		{name: "alert-p0-own-channel", kind: KindAlert, inc: alarmIncident(), finder: roster(), now: t0,
			facts: Facts{Affected: "every dashboard user", ChannelName: "inc-20260301-030000-c0f8ae04e8", ChannelLink: "https://dashboarduz.slack.com/archives/C0INC0001"}},
		{name: "alert-p2-report-no-names", kind: KindAlert, inc: reportIncident(), now: t0.Add(7 * time.Hour)},
		{name: "alert-p2-acknowledged", kind: KindAlert, inc: acked, now: t0.Add(7 * time.Hour), finder: &onCall{err: errors.New("PagerDuty answered 503")}},
		{name: "alert-p0-resolved", kind: KindAlert, inc: resolved, timeline: resolvedTL, finder: roster(), now: t0.Add(time.Hour)},
		{name: "status-update-first", kind: KindStatusUpdate, inc: mitigating, timeline: []incident.Entry{update}, now: t0.Add(12 * time.Minute)},
		{name: "status-update-nothing-known", kind: KindStatusUpdate, inc: alarmIncident(), now: t0.Add(2 * time.Minute)},
		{name: "status-update-report-facts", kind: KindStatusUpdate, inc: acked, now: t0.Add(7 * time.Hour),
			facts: Facts{Actions: "Raising the export worker's timeout", ETA: t0.Add(9 * time.Hour)}},
		{name: "resolution-p0", kind: KindResolution, inc: resolved, timeline: resolvedTL, now: t0.Add(time.Hour)},
		{name: "resolution-p3-little-known", kind: KindResolution, inc: p3, now: p3.ResolvedAt},
		{name: "resolution-postmortem-booked", kind: KindResolution, inc: resolved, timeline: resolvedTL, now: t0.Add(time.Hour),
			facts: Facts{PostMortemAt: time.Date(2026, 3, 2, 14, 0, 0, 0, time.UTC)}},
		{name: "page-first-level", kind: KindPage, inc: alarmIncident(), finder: roster(), now: t0,
			timeline: []incident.Entry{pagedEntry(t0, 1, "on-call", "On-Call Engineer", "a new incident pages the first level at once")}},
		{name: "escalation-unacknowledged", kind: KindEscalation, inc: alarmIncident(), finder: roster(), now: t0.Add(5 * time.Minute),
			timeline: []incident.Entry{pagedEntry(t0.Add(5*time.Minute), 2, "team-lead", "Team Lead", "on-call did not acknowledge within 5m0s")}},
		{name: "escalation-asked-for", kind: KindEscalation, inc: escalated, finder: roster(), now: t0.Add(8 * time.Minute),
			timeline: []incident.Entry{entry(t0.Add(8*time.Minute), incident.EntryEscalated, "dana@dashboarduz.example", "asked", map[string]string{"level": "3", "levelName": "engineering-manager"})}},
		{name: "breach-response", kind: KindBreach, inc: alarmIncident(), now: t0.Add(5 * time.Minute),
			timeline: []incident.Entry{entry(t0.Add(5*time.Minute), incident.EntryBreach, "escalation", "Missed the P0 response time of 5m0s.", map[string]string{"target": "response", "severity": "P0"})}},
		{name: "breach-resolution", kind: KindBreach, inc: mitigating, now: t0.Add(time.Hour),
			timeline: []incident.Entry{entry(t0.Add(time.Hour), incident.EntryBreach, "escalation", "Missed the P0 resolution target of 1h0m0s.", map[string]string{"target": "resolution", "severity": "P0"})}},
		{name: "remediation-dry-run", kind: KindRemediation, inc: mitigating, now: t0.Add(6 * time.Minute),
			timeline: []incident.Entry{entry(t0.Add(6*time.Minute), incident.EntryKind("remediation"), "escalation", "Would restart dashboarduz-api", map[string]string{
				"action": "Restart dashboarduz-api (force a new deployment)", "reason": "Health checks failing for 5 minutes", "outcome": "Would force a new deployment of 4 tasks", "dryRun": "true"})}},
		{name: "recovered", kind: KindRecovered, inc: alarmIncident(), now: t0.Add(7 * time.Minute),
			timeline: []incident.Entry{entry(t0.Add(7*time.Minute), incident.EntryRecovered, "alarm-ingest", "Alarm returned to OK: API 5xx error rate above 5% - Threshold Crossed: 1 datapoint [0.8] was not greater than the threshold (5.0). The incident stays open until a responder resolves it.", nil)}},
		{name: "reopened", kind: KindReopened, inc: alarmIncident(), finder: roster(), now: t0.Add(time.Hour),
			timeline: []incident.Entry{entry(t0.Add(time.Hour), incident.EntryReopened, "alarm-ingest", "Incident re-opened (episode 1): the alarm fired again within 30m0s of its resolution: API 5xx error rate above 5%. The escalation policy starts afresh.", nil)}},
		{name: "triage", kind: KindTriage, inc: alarmIncident(), now: t0.Add(time.Minute),
			timeline: []incident.Entry{entry(t0.Add(time.Minute), incident.EntryTriage, "triage", "Triage of dashboarduz-api (service-down):\n- health (GET https://api.dashboarduz.example/health): 503 in 2.1s\n- ecs-service (ECS DescribeServices dashboarduz-production/dashboarduz-api): 2 of 4 tasks running", nil)}},
		{name: "severity-changed", kind: KindSeverityChanged, inc: acked, now: t0.Add(7 * time.Hour),
			timeline: []incident.Entry{entry(t0.Add(7*time.Hour), incident.EntrySeverityChanged, "omar@dashboarduz.example", "Severity changed from P2 to P1 by omar@dashboarduz.example: every export fails", map[string]string{"from": "P2", "to": "P1"})}},
		{name: "reminder-near", kind: KindReminder, inc: resolved, timeline: resolvedTL, now: resolved.ResolvedAt.Add(36 * time.Hour),
			facts: Facts{Reminder: incident.ReminderNear + "/0"}},
		{name: "reminder-missed", kind: KindReminder, inc: resolved, timeline: resolvedTL, now: resolved.ResolvedAt.Add(48 * time.Hour),
			facts: Facts{Reminder: incident.ReminderMissed + "/0"}},
		{name: "acknowledged", kind: KindAcknowledged, inc: mitigating, now: t0.Add(3 * time.Minute),
			timeline: []incident.Entry{entry(t0.Add(3*time.Minute), incident.EntryAcknowledged, "dana@dashboarduz.example", "Acknowledged by dana@dashboarduz.example: looking at the deploy", nil)}},
	}
}

func TestGolden(t *testing.T) {
	for _, c := range goldenCases() {
		t.Run(c.name, func(t *testing.T) {
			msg, err := builder(c.finder, c.now).Message(context.Background(), c.kind, c.inc, c.timeline, c.facts)
			if err != nil {
				t.Fatal(err)
			}
			var blocks bytes.Buffer
			enc := json.NewEncoder(&blocks)
			enc.SetEscapeHTML(false)
			enc.SetIndent("", "  ")
			if err := enc.Encode(msg.Blocks); err != nil {
				t.Fatal(err)
			}
			got := msg.Text + "\n\n---- Block Kit ----\n" + blocks.String()
			path := filepath.Join("testdata", c.name+".golden")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to write it)", err)
			}
			if got != string(want) {
				t.Errorf("%s differs from %s (go test -update rewrites it):\n%s", c.name, path, got)
			}
		})
	}
}

// TestEveryFieldFilled renders every kind from incidents that know almost
// nothing: no line may be an empty slot or Go's <no value>.
func TestEveryFieldFilled(t *testing.T) {
	empty := incident.Incident{}
	bare := incident.Incident{ID: "inc-1", Severity: incident.P1, Service: "dashboarduz-worker", OpenedAt: t0}
	for _, inc := range []incident.Incident{empty, bare, alarmIncident(), reportIncident()} {
		for _, kind := range Kinds {
			msg, err := (&Builder{Clock: incident.ClockFunc(func() time.Time { return t0.Add(time.Hour) })}).Message(context.Background(), kind, inc, nil, Facts{})
			if err != nil {
				t.Fatalf("%s of %q: %v", kind, inc.ID, err)
			}
			checkFilled(t, string(kind)+" of "+inc.ID, msg)
		}
	}
}

func checkFilled(t *testing.T, what string, msg Message) {
	t.Helper()
	if strings.Contains(msg.Text, "<no value>") || strings.Contains(msg.Text, "%!") {
		t.Errorf("%s has an unfilled slot:\n%s", what, msg.Text)
	}
	for _, line := range strings.Split(msg.Text, "\n") {
		if label, value, ok := field(line); ok && strings.TrimSpace(value) == "" {
			t.Errorf("%s: %q is empty:\n%s", what, label, msg.Text)
		}
		if strings.HasSuffix(line, ":") || strings.Contains(line, "()") || strings.Contains(line, ": ,") {
			t.Errorf("%s: line %q has an empty slot", what, line)
		}
	}
	if len(msg.Blocks) < 2 {
		t.Errorf("%s has %d blocks, want a header and fields", what, len(msg.Blocks))
	}
}

// TestBlocksSayWhatTheTextSays checks that every "Label: value" line of
// every golden message is a field of its blocks.
func TestBlocksSayWhatTheTextSays(t *testing.T) {
	for _, c := range goldenCases() {
		msg, err := builder(c.finder, c.now).Message(context.Background(), c.kind, c.inc, c.timeline, c.facts)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := json.Marshal(msg.Blocks)
		var decoded slack.Blocks
		if err := json.Unmarshal(raw, &decoded); err != nil {
			t.Fatalf("%s: blocks do not decode: %v", c.name, err)
		}
		var fields []string
		for _, b := range decoded.BlockSet {
			if s, ok := b.(*slack.SectionBlock); ok {
				for _, f := range s.Fields {
					fields = append(fields, f.Text)
				}
			}
		}
		for _, line := range strings.Split(msg.Text, "\n") {
			label, value, ok := field(line)
			if !ok {
				continue
			}
			want := "*" + Escape(label) + "*\n" + mrkdwnValue(value)
			found := false
			for _, f := range fields {
				found = found || f == want
			}
			if !found {
				t.Errorf("%s: no field %q among %q", c.name, want, fields)
			}
		}
		if h, ok := decoded.BlockSet[0].(*slack.HeaderBlock); !ok || h.Text.Text != msg.Summary {
			t.Errorf("%s: first block is %#v, want the header %q", c.name, decoded.BlockSet[0], msg.Summary)
		}
	}
}

func TestAlertButtons(t *testing.T) {
	acked := alarmIncident()
	acked.Status, acked.AcknowledgedAt, acked.AcknowledgedBy = incident.Acknowledged, t0.Add(time.Minute), "dana"
	resolved, _ := resolvedP0()
	tests := []struct {
		name string
		inc  incident.Incident
		want []string
	}{
		{"open", alarmIncident(), []string{ActionAcknowledge, ActionResolve}},
		{"acknowledged", acked, []string{ActionResolve}},
		{"resolved", resolved, nil},
	}
	for _, tt := range tests {
		msg, err := builder(nil, t0).Message(context.Background(), KindAlert, tt.inc, nil, Facts{})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, b := range msg.Blocks {
			a, ok := b.(*slack.ActionBlock)
			if !ok {
				continue
			}
			if a.BlockID != ActionsBlockID {
				t.Errorf("%s: actions block_id %q, want %q", tt.name, a.BlockID, ActionsBlockID)
			}
			for _, e := range a.Elements.ElementSet {
				btn := e.(*slack.ButtonBlockElement)
				if btn.Value != tt.inc.ID {
					t.Errorf("%s: button %s has value %q, want the incident ID %q", tt.name, btn.ActionID, btn.Value, tt.inc.ID)
				}
				got = append(got, btn.ActionID)
			}
		}
		if strings.Join(got, ",") != strings.Join(tt.want, ",") {
			t.Errorf("%s: buttons %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestUntrustedTextIsEscaped: a title from a user report can neither
// mention the channel nor forge a link, and control characters are gone.
func TestUntrustedTextIsEscaped(t *testing.T) {
	inc := reportIncident()
	inc.Summary = "<!channel> exports\u202e & <https://evil.example|click>\x00\nsecond line"
	msg, err := builder(nil, t0).Message(context.Background(), KindAlert, inc, nil, Facts{})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(msg.Blocks)
	if bytes.Contains(raw, []byte("<!channel>")) || bytes.Contains(raw, []byte("<https://evil")) {
		t.Errorf("blocks carry live mrkdwn: %s", raw)
	}
	if strings.ContainsAny(msg.Text, "\u202e\x00") {
		t.Errorf("text keeps control characters: %q", msg.Text)
	}
	if want := "🚨 INCIDENT: P2 Medium dashboarduz-api - <!channel> exports & <https://evil.example|click> second line"; msg.Summary != want {
		t.Errorf("summary = %q, want %q", msg.Summary, want)
	}
	// The header is plain text, which Slack never parses as mrkdwn.
	if h := msg.Blocks[0].(*slack.HeaderBlock); h.Text.Type != slack.PlainTextType {
		t.Errorf("header type %q, want plain_text", h.Text.Type)
	}
}

func TestOnCallNames(t *testing.T) {
	f := roster()
	v := builder(f, t0).View(context.Background(), KindAlert, alarmIncident(), nil, Facts{})
	if v.OnCall != "Dana Whitfield (On-Call Engineer)" {
		t.Errorf("OnCall = %q", v.OnCall)
	}
	v = builder(f, t0).View(context.Background(), KindAlert, alarmIncident(), nil, Facts{OnCall: map[string][]string{"on-call": {"Sam Roe", "Sam Roe", " "}}})
	if v.OnCall != "Sam Roe (On-Call Engineer)" {
		t.Errorf("OnCall from facts = %q", v.OnCall)
	}
	if len(f.asked) != 1 {
		t.Errorf("finder asked %v; facts should have spared the second lookup", f.asked)
	}
	v = builder(&onCall{err: errors.New("timeout")}, t0).View(context.Background(), KindAlert, alarmIncident(), nil, Facts{})
	if v.OnCall != "On-Call Engineer" {
		t.Errorf("OnCall after a failed lookup = %q, want the level's title", v.OnCall)
	}
}

func TestKindOf(t *testing.T) {
	tests := []struct {
		e    incident.Entry
		want Kind
		ok   bool
	}{
		{incident.Entry{Kind: incident.EntryPaged, Data: map[string]string{"level": "1"}}, KindPage, true},
		{incident.Entry{Kind: incident.EntryPaged, Data: map[string]string{"level": "2"}}, KindEscalation, true},
		{incident.Entry{Kind: incident.EntryEscalated}, KindEscalation, true},
		{incident.Entry{Kind: incident.EntryBreach}, KindBreach, true},
		{incident.Entry{Kind: incident.EntryStatusUpdate}, KindStatusUpdate, true},
		{incident.Entry{Kind: incident.EntryResolved}, KindResolution, true},
		{incident.Entry{Kind: incident.EntryAcknowledged}, KindAcknowledged, true},
		{incident.Entry{Kind: "remediation-verified"}, KindRemediation, true},
		{incident.Entry{Kind: incident.EntryOpened}, KindAlert, true},
		{incident.Entry{Kind: incident.EntrySignal}, "", false},
		{incident.Entry{Kind: incident.EntryPagerDutySynced}, "", false},
	}
	for _, tt := range tests {
		got, ok := KindOf(tt.e)
		if got != tt.want || ok != tt.ok {
			t.Errorf("KindOf(%s %v) = %q, %v; want %q, %v", tt.e.Kind, tt.e.Data, got, ok, tt.want, tt.ok)
		}
	}
}

func TestRenderUnknownKind(t *testing.T) {
	if _, err := Render("postcard", View{}); incident.ErrorCode(err) != incident.EInvalid {
		t.Errorf("Render(postcard) = %v, want an invalid error", err)
	}
}

func TestDurationWords(t *testing.T) {
	tests := map[time.Duration]string{
		-time.Second:                   "0s",
		42 * time.Second:               "42s",
		47 * time.Minute:               "47m",
		time.Hour + 5*time.Minute:      "1h 5m",
		2*time.Hour + 29*time.Second:   "2h",
		50*time.Hour + 10*time.Minute:  "2d 2h",
		7 * 24 * time.Hour:             "7d",
		time.Minute + 31*time.Second:   "2m",
		24*time.Hour + 59*time.Second:  "1d",
		23*time.Hour + 59*time.Minute:  "23h 59m",
		168*time.Hour + 30*time.Minute: "7d",
	}
	for d, want := range tests {
		if got := durationWords(d); got != want {
			t.Errorf("durationWords(%s) = %q, want %q", d, got, want)
		}
	}
}

func TestOneLine(t *testing.T) {
	long := strings.Repeat("x", maxField+10)
	tests := map[string]string{
		"  a\tb\n\nc  ":              "a b c",
		"evil\u202eliam":             "evilliam",
		"nul\x00byte":                "nulbyte",
		long:                         strings.Repeat("x", maxField) + "…",
		"\u2066isolate\u2069 ok\r\n": "isolate ok",
	}
	for in, want := range tests {
		if got := oneLine(in); got != want {
			t.Errorf("oneLine(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestActionsTaken(t *testing.T) {
	update := func(actions string) incident.Entry {
		return incident.Entry{Kind: incident.EntryStatusUpdate, Data: map[string]string{"actions": actions}}
	}
	fix := incident.Entry{Kind: "remediation", Text: "Scaled dashboarduz-worker to 4 tasks.", Data: map[string]string{"state": "succeeded"}}
	notDone := incident.Entry{Kind: "remediation", Data: map[string]string{"action": "Take no action", "state": "none"}}
	tests := []struct {
		name       string
		resolution string
		timeline   []incident.Entry
		want       string
	}{
		{"nothing", "", nil, NoneRecordedYet},
		{"only what responders said they were doing", "", []incident.Entry{update("Restarting the API"), update("Restarting the API."), update("Watching")}, "Restarting the API; Watching"},
		{"remediations and the summary win", "Purged the stuck jobs", []incident.Entry{update("Restarting the API"), fix}, "Scaled dashboarduz-worker to 4 tasks; Purged the stuck jobs"},
		{"a remediation decided against is no action taken", "", []incident.Entry{notDone, update("Restarting the API")}, "Restarting the API"},
	}
	for _, tt := range tests {
		if got := actionsTaken(incident.Incident{Resolution: tt.resolution}, tt.timeline); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}

// TestLateUpdateSaysItsOwnStatus: a status update announced after the
// incident was resolved (Notify was retried, or waited on Slack) states
// the status and ETA it was posted with, not "Resolved".
func TestLateUpdateSaysItsOwnStatus(t *testing.T) {
	inc, tl := resolvedP0()
	var update incident.Entry
	for _, e := range tl {
		if e.Kind == incident.EntryStatusUpdate {
			update = e // the first: investigating
			break
		}
	}
	update.Data["eta"] = t0.Add(45 * time.Minute).Format(time.RFC3339)
	var upTo []incident.Entry
	for _, e := range tl {
		upTo = append(upTo, e)
		if e.ID == update.ID {
			break
		}
	}
	// Notify passes the timeline up to the update; the whole timeline,
	// later updates and all, must say the same.
	for name, timeline := range map[string][]incident.Entry{"up to the update": upTo, "whole": tl} {
		msg, err := builder(nil, t0.Add(50*time.Minute)).Message(context.Background(), KindStatusUpdate, inc, timeline, Facts{Entry: &update})
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"Status: Investigating", "ETA: 2026-03-01 03:45 UTC"} {
			if !strings.Contains(msg.Text, want) {
				t.Errorf("late update with the timeline %s lacks %q:\n%s", name, want, msg.Text)
			}
		}
	}
}
