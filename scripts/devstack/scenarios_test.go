package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/local/slacklocal"
)

// wantIncident is everything a scenario must do to one incident, in the
// order the incidents opened.
type wantIncident struct {
	severity incident.Severity
	status   incident.Status
	episodes int
	flapping bool
	// pages are "level@offset", offsets as time.Duration prints them,
	// followed by " ep N" for a page of episode N > 0 and by
	// " undelivered" for a page that could not be delivered.
	pages []string
	// breaches are "target@offset".
	breaches []string
	// remediations, when set, are "action:state" or
	// "action:state:undo", in the order they were decided.
	remediations []string
}

// scenarioCase is one scenario file of events/scenarios and what it must
// do.
type scenarioCase struct {
	file string
	want []wantIncident
	// rejected is how many of the scenario's events the stack must refuse.
	rejected int
	// messages, when set, are the Slack messages posted, in order, by
	// their first line (see postedLines); emails the emails' subjects.
	messages []string
	emails   []string
	// check, when set, checks more of what the stack did.
	check func(t *testing.T, s *Stack)
}

// scenarioCases plays one scenario per severity and per escalation rule of
// the runbook (shared/incident/policy.json): acknowledgement deadlines,
// unresolved rules, categories that escalate at once, manual escalation,
// resolution, re-opening, flapping, maintenance windows and severity
// changes. Every file in events/scenarios must be here.
var scenarioCases = []scenarioCase{
	{file: "p0-api-outage-at-night.json", want: []wantIncident{{
		severity: "P0", status: incident.Resolved, episodes: 1,
		// Nobody acknowledges: one level every 5 minutes up to the CTO;
		// the alarm's return to OK at 7m changes nothing. The restart
		// made at once is verified by that return to OK.
		pages:        []string{"1@0s", "2@5m0s", "3@10m0s", "4@15m0s"},
		breaches:     []string{"response@5m0s"},
		remediations: []string{"restart:succeeded"},
	}}},
	{file: "p0-acknowledged-not-resolved.json", want: []wantIncident{{
		severity: "P0", status: incident.Acknowledged, episodes: 1,
		// Unresolved rules: team lead at 30m, engineering manager and CTO
		// at 2h.
		pages:    []string{"1@0s", "2@30m0s", "3@2h0m0s", "4@2h0m0s"},
		breaches: []string{"resolution@1h0m0s"},
	}}},
	{file: "p1-not-acknowledged.json", want: []wantIncident{{
		severity: "P1", status: incident.Triggered, episodes: 1,
		pages:    []string{"1@0s", "2@15m0s", "3@30m0s"},
		breaches: []string{"response@15m0s", "resolution@4h0m0s"},
	}}},
	{file: "p1-acknowledged-not-resolved.json", want: []wantIncident{{
		severity: "P1", status: incident.Acknowledged, episodes: 1,
		pages:    []string{"1@0s", "2@1h0m0s", "3@2h0m0s"},
		breaches: []string{"resolution@4h0m0s"},
	}}},
	{file: "p1-report-acknowledged-and-resolved.json", want: []wantIncident{{
		// The auto-scaling alarm at 20m is ignored: it opens nothing, so
		// {incident} is still the report.
		severity: "P1", status: incident.Resolved, episodes: 1,
		pages:    []string{"1@0s", "2@15m0s", "3@30m0s"},
		breaches: []string{"response@15m0s"},
	}}},
	{file: "p2-acknowledged-late-then-resolved.json", want: []wantIncident{{
		severity: "P2", status: incident.Resolved, episodes: 1,
		pages:    []string{"1@0s", "2@1h0m0s"},
		breaches: []string{"response@1h0m0s"},
	}}},
	{file: "p3-not-acknowledged.json", want: []wantIncident{{
		severity: "P3", status: incident.Triggered, episodes: 1,
		pages:    []string{"1@0s", "2@4h0m0s", "3@8h0m0s"},
		breaches: []string{"response@4h0m0s"},
	}}},
	{file: "security-escalates-at-once.json", want: []wantIncident{{
		severity: "P2", status: incident.Triggered, episodes: 1,
		pages:    []string{"1@0s", "2@0s", "3@1h0m0s"},
		breaches: []string{"response@1h0m0s"},
	}}},
	{file: "data-loss-escalates-at-once.json", want: []wantIncident{{
		severity: "P1", status: incident.Acknowledged, episodes: 1,
		pages:    []string{"1@0s", "2@0s", "3@2h0m0s"},
		breaches: []string{},
	}}},
	{file: "manual-escalation.json", want: []wantIncident{{
		severity: "P3", status: incident.Acknowledged, episodes: 1,
		pages:    []string{"1@0s", "2@20m0s", "4@25m0s"},
		breaches: []string{},
	}}},
	{file: "resolved-pages-nobody.json", want: []wantIncident{{
		severity: "P0", status: incident.Resolved, episodes: 1,
		pages:    []string{"1@0s"},
		breaches: []string{},
	}}},
	{file: "reopen-within-window.json", want: []wantIncident{{
		severity: "P0", status: incident.Triggered, episodes: 2,
		pages:    []string{"1@0s", "1@30m0s ep 1", "2@35m0s ep 1", "3@40m0s ep 1", "4@45m0s ep 1"},
		breaches: []string{"response@35m0s"},
	}}},
	{file: "new-incident-after-window.json", want: []wantIncident{
		{
			severity: "P0", status: incident.Resolved, episodes: 1,
			pages:    []string{"1@0s"},
			breaches: []string{},
		},
		{
			severity: "P0", status: incident.Triggered, episodes: 1,
			pages:    []string{"1@50m0s", "2@55m0s", "3@1h0m0s"},
			breaches: []string{"response@55m0s"},
		},
	}},
	{file: "flapping.json", want: []wantIncident{{
		severity: "P0", status: incident.Triggered, episodes: 6, flapping: true,
		// The fourth re-opening (20m) marks the alarm flapping and pages;
		// the fifth (25m) pages nobody, but its response time still runs.
		pages:    []string{"1@0s", "1@5m0s ep 1", "1@10m0s ep 2", "1@15m0s ep 3", "1@20m0s ep 4"},
		breaches: []string{"response@30m0s"},
	}}},
	{file: "maintenance-holds-pages.json", want: []wantIncident{{
		severity: "P0", status: incident.Triggered, episodes: 1,
		// The window ends at 1h: on-call and, 30 minutes unresolved, the
		// team lead at once; then one level every 5 minutes.
		pages:    []string{"1@1h0m0s", "2@1h0m0s", "3@1h5m0s", "4@1h10m0s"},
		breaches: []string{"response@15m0s", "resolution@1h10m0s"},
	}}},
	{file: "p0-update-resolve-postmortem.json", want: []wantIncident{{
		severity: "P0", status: incident.Resolved, episodes: 1,
		// Acknowledged at 3m, so no response breach; still open at 30m,
		// so the team lead is paged; resolved at 40m, inside the hour.
		pages:    []string{"1@0s", "2@30m0s"},
		breaches: []string{},
	}},
		messages: []string{
			"03:00:00 🚨 INCIDENT: P0 Critical dashboarduz-api - API 5xx error rate above 5%",
			"03:00:00 #inc-20260301-030000-c0f8ae04e8 🚨 INCIDENT: P0 Critical dashboarduz-api - API 5xx error rate above 5%",
			"03:00:00 ↳ 📟 PAGED: inc-20260301-030000-c0f8ae04e8 (P0 dashboarduz-api)",
			"03:00:00 ↳ 🔎 TRIAGE: inc-20260301-030000-c0f8ae04e8 (P0 dashboarduz-api)",
			"03:00:00 ↳ 🛠️ REMEDIATION: inc-20260301-030000-c0f8ae04e8 (P0 dashboarduz-api)",
			"03:03:00 ↳ ✋ ACKNOWLEDGED: inc-20260301-030000-c0f8ae04e8 (P0 dashboarduz-api)",
			"03:10:00 ↳ 📊 INCIDENT UPDATE: inc-20260301-030000-c0f8ae04e8",
			"03:22:00 ↳ 🟢 ALARM RECOVERED: inc-20260301-030000-c0f8ae04e8 (P0 dashboarduz-api)",
			"03:25:00 ↳ 📊 INCIDENT UPDATE: inc-20260301-030000-c0f8ae04e8",
			"03:30:00 ↳ ⬆️ ESCALATED: inc-20260301-030000-c0f8ae04e8 (P0 dashboarduz-api)",
			"03:40:00 ↳ ✅ INCIDENT RESOLVED: inc-20260301-030000-c0f8ae04e8",
			"03:40:00 #inc-20260301-030000-c0f8ae04e8 ✅ INCIDENT RESOLVED: inc-20260301-030000-c0f8ae04e8",
			"15:40:00 ↳ 📝 POST-MORTEM REMINDER: inc-20260301-030000-c0f8ae04e8 (P0 dashboarduz-api)",
			"15:40:00 #inc-20260301-030000-c0f8ae04e8 📝 POST-MORTEM REMINDER: inc-20260301-030000-c0f8ae04e8 (P0 dashboarduz-api)",
			"03:40:00 ↳ 📝 POST-MORTEM REMINDER: inc-20260301-030000-c0f8ae04e8 (P0 dashboarduz-api)",
			"03:40:00 #inc-20260301-030000-c0f8ae04e8 📝 POST-MORTEM REMINDER: inc-20260301-030000-c0f8ae04e8 (P0 dashboarduz-api)",
		},
		// The internal update at 25m is not emailed; the public one is.
		emails: []string{
			"🚨 INCIDENT: P0 Critical dashboarduz-api - API 5xx error rate above 5%",
			"📊 INCIDENT UPDATE: inc-20260301-030000-c0f8ae04e8",
			"✅ INCIDENT RESOLVED: inc-20260301-030000-c0f8ae04e8",
		},
		check: checkUpdateResolvePostmortem,
	},
	// The runbook's remediations, one scenario per common incident and
	// per guard rail; each file's aws.expect block checks what the AWS
	// world ended as.
	{file: "remediation-service-down.json", want: []wantIncident{{
		severity: "P0", status: incident.Resolved, episodes: 1,
		pages: []string{"1@0s"}, breaches: []string{},
		remediations: []string{"restart:succeeded", "maintenance-mode:applied:done"},
	}}},
	{file: "remediation-database.json", want: []wantIncident{{
		severity: "P1", status: incident.Resolved, episodes: 1,
		pages: []string{"1@0s"}, breaches: []string{},
		remediations: []string{"none:none"},
	}}},
	{file: "remediation-high-error-rate.json", want: []wantIncident{{
		severity: "P1", status: incident.Resolved, episodes: 1,
		pages: []string{"1@0s"}, breaches: []string{},
		remediations: []string{"rollback:succeeded"},
	}}},
	{file: "remediation-queue-backlog.json", want: []wantIncident{{
		severity: "P1", status: incident.Resolved, episodes: 1,
		pages: []string{"1@0s"}, breaches: []string{},
		remediations: []string{"scale:succeeded:done"},
	}}},
	{file: "remediation-performance.json", want: []wantIncident{{
		severity: "P2", status: incident.Resolved, episodes: 1,
		pages: []string{"1@0s"}, breaches: []string{},
		remediations: []string{"scale:succeeded:done"},
	}}},
	{file: "remediation-budget-spent.json", want: []wantIncident{
		{severity: "P0", status: incident.Acknowledged, episodes: 1, pages: []string{"1@0s"}, breaches: []string{}, remediations: []string{"restart:succeeded"}},
		{severity: "P0", status: incident.Resolved, episodes: 1, pages: []string{"1@3m0s"}, breaches: []string{}, remediations: []string{"restart:refused"}},
	}},
	{file: "remediation-approval-rejected.json", want: []wantIncident{{
		severity: "P1", status: incident.Resolved, episodes: 1,
		pages: []string{"1@0s"}, breaches: []string{},
		remediations: []string{"rollback:rejected"},
	}}},
	{file: "remediation-approval-expired.json", want: []wantIncident{{
		// The escalation goes on while the rollback waits, and after.
		severity: "P1", status: incident.Triggered, episodes: 1,
		pages: []string{"1@0s", "2@15m0s", "3@30m0s"}, breaches: []string{"response@15m0s"},
		remediations: []string{"rollback:expired"},
	}}},
	{file: "remediation-kill-switch.json", want: []wantIncident{{
		severity: "P0", status: incident.Resolved, episodes: 1,
		pages: []string{"1@0s"}, breaches: []string{},
		remediations: []string{"restart:refused"},
	}}},
	{file: "remediation-does-not-help.json", want: []wantIncident{{
		// Acknowledged at 2m, so only the failed restart's escalation
		// pages the team lead, at the end of its verification window.
		severity: "P0", status: incident.Acknowledged, episodes: 1,
		pages: []string{"1@0s", "2@10m0s"}, breaches: []string{},
		remediations: []string{"restart:failed"},
	}}},
	{file: "severity-raised.json", want: []wantIncident{{
		severity: "P1", status: incident.Triggered, episodes: 1,
		pages:    []string{"1@0s", "2@30m0s", "3@45m0s"},
		breaches: []string{"response@15m0s"},
	}}},
}

// scenarioDir is where the scenario files live, relative to the
// repository root.
const scenarioDir = "events/scenarios"

// chdirRepoRoot makes the repository root the working directory, as for
// `go run ./scripts/devstack scenario FILE`: scenario files name their
// event files relative to it.
func chdirRepoRoot(t *testing.T) {
	t.Helper()
	t.Chdir(filepath.Join("..", ".."))
}

// summaryPageKey is a page as scenarioCase writes it.
func summaryPageKey(p PageSummary) string {
	k := fmt.Sprintf("%d@%s", p.Level, p.At)
	if p.Episode > 0 {
		k += fmt.Sprintf(" ep %d", p.Episode)
	}
	if p.Failure != "" {
		k += " undelivered"
	}
	return k
}

// checkSummary compares a scenario's summary with what its case wants and
// returns the differences.
func checkSummary(policy incident.Policy, c scenarioCase, sum ScenarioSummary) []string {
	var diffs []string
	if sum.Rejected != c.rejected {
		diffs = append(diffs, fmt.Sprintf("%d events rejected, want %d", sum.Rejected, c.rejected))
	}
	if len(sum.Incidents) != len(c.want) {
		diffs = append(diffs, fmt.Sprintf("%d incidents, want %d", len(sum.Incidents), len(c.want)))
	}
	delivered := 0
	for i, got := range sum.Incidents {
		for _, p := range got.Pages {
			if p.Failure == "" {
				delivered++
			}
			if l, ok := policy.Level(p.Level); !ok || l.Name != p.LevelName {
				diffs = append(diffs, fmt.Sprintf("incident %d: page %s names level %q, the policy %q", i+1, summaryPageKey(p), p.LevelName, l.Name))
			}
		}
		if i >= len(c.want) {
			continue
		}
		want := c.want[i]
		if got.Severity != want.severity {
			diffs = append(diffs, fmt.Sprintf("incident %d: severity %s, want %s", i+1, got.Severity, want.severity))
		}
		if got.Status != want.status {
			diffs = append(diffs, fmt.Sprintf("incident %d: status %s, want %s", i+1, got.Status, want.status))
		}
		if got.Episodes != want.episodes {
			diffs = append(diffs, fmt.Sprintf("incident %d: %d episodes, want %d", i+1, got.Episodes, want.episodes))
		}
		if got.Flapping != want.flapping {
			diffs = append(diffs, fmt.Sprintf("incident %d: flapping %v, want %v", i+1, got.Flapping, want.flapping))
		}
		pages := []string{}
		for _, p := range got.Pages {
			pages = append(pages, summaryPageKey(p))
		}
		if !slices.Equal(pages, want.pages) {
			diffs = append(diffs, fmt.Sprintf("incident %d: pages %q, want %q", i+1, pages, want.pages))
		}
		breaches := []string{}
		for _, b := range got.Breaches {
			breaches = append(breaches, b.Target+"@"+b.At)
		}
		if !slices.Equal(breaches, want.breaches) {
			diffs = append(diffs, fmt.Sprintf("incident %d: breaches %q, want %q", i+1, breaches, want.breaches))
		}
		if want.remediations != nil {
			var rems []string
			for _, r := range got.Remediations {
				rems = append(rems, r.Key())
			}
			if !slices.Equal(rems, want.remediations) {
				diffs = append(diffs, fmt.Sprintf("incident %d: remediations %q, want %q", i+1, rems, want.remediations))
			}
		}
	}
	// Each delivered page is one trigger sent to PagerDuty, no more.
	if sum.Pages != delivered {
		diffs = append(diffs, fmt.Sprintf("%d triggers sent to PagerDuty for %d delivered pages", sum.Pages, delivered))
	}
	return diffs
}

func TestScenarios(t *testing.T) {
	chdirRepoRoot(t)
	for _, c := range scenarioCases {
		t.Run(strings.TrimSuffix(c.file, ".json"), func(t *testing.T) {
			ctx := context.Background()
			sc, err := LoadScenario(filepath.Join(scenarioDir, c.file))
			if err != nil {
				t.Fatal(err)
			}
			if sc.Expect == nil {
				t.Errorf("%s has no expect block, so `devstack scenario` cannot fail on it", c.file)
			}
			s, err := NewStack(ctx, Options{DynamoEndpoint: endpoint, Start: sc.Start})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			sum, err := s.Play(ctx, sc)
			if err != nil {
				t.Fatal(err)
			}
			diffs := checkSummary(s.Policy, c, sum)
			if err := CheckExpectations(sc, sum); err != nil {
				diffs = append(diffs, "the file's expect block: "+err.Error())
			}
			diffs = append(diffs, checkMessages(s, c)...)
			if c.check != nil {
				c.check(t, s)
			}
			if len(diffs) == 0 {
				return
			}
			var timeline bytes.Buffer
			if err := s.PrintTimeline(ctx, &timeline, sc.Start); err != nil {
				t.Fatal(err)
			}
			line, _ := json.Marshal(sum)
			_ = s.PrintMessages(&timeline)
			t.Errorf("%s:\n  %s\ntimeline:%s\nsummary: %s", c.file, strings.Join(diffs, "\n  "), timeline.String(), line)
		})
	}
}

func TestEveryScenarioFileIsTested(t *testing.T) {
	chdirRepoRoot(t)
	files, err := filepath.Glob(filepath.Join(scenarioDir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no scenario files in %s", scenarioDir)
	}
	tested := map[string]bool{}
	for _, c := range scenarioCases {
		if tested[c.file] {
			t.Errorf("%s is in the table twice", c.file)
		}
		tested[c.file] = true
	}
	for _, f := range files {
		if !tested[filepath.Base(f)] {
			t.Errorf("%s ships untested: add it to scenarioCases", f)
		}
	}
	if len(tested) != len(files) {
		t.Errorf("the table has %d scenarios, %s has %d files", len(tested), scenarioDir, len(files))
	}
}

// caseFor returns the table's case for a scenario file.
func caseFor(t *testing.T, file string) scenarioCase {
	t.Helper()
	for _, c := range scenarioCases {
		if c.file == file {
			return c
		}
	}
	t.Fatalf("%s is not in scenarioCases", file)
	return scenarioCase{}
}

// lastLine returns the last line of out.
func lastLine(out string) string {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	return lines[len(lines)-1]
}

func TestRunScenarioCommandPrintsJSONLast(t *testing.T) {
	chdirRepoRoot(t)
	const file = "maintenance-holds-pages.json"
	var out bytes.Buffer
	if err := run(context.Background(), []string{"scenario", filepath.Join(scenarioDir, file)}, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	var sum ScenarioSummary
	dec := json.NewDecoder(strings.NewReader(lastLine(out.String())))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&sum); err != nil {
		t.Fatalf("last line is not the JSON summary (%v):\n%s", err, out.String())
	}
	if !strings.HasPrefix(sum.Scenario, "P0 API alarm during a maintenance window") {
		t.Errorf("summary of scenario %q", sum.Scenario)
	}
	if diffs := checkSummary(incident.DefaultPolicy(), caseFor(t, file), sum); len(diffs) > 0 {
		t.Errorf("summary differs:\n  %s\n%s", strings.Join(diffs, "\n  "), out.String())
	}
	for _, want := range []string{"Scenario: P0 API alarm during a maintenance window", "maintenance", "+1h0m0s", "breach"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestRunScenarioCommandFailsOnAMismatch(t *testing.T) {
	chdirRepoRoot(t)
	raw, err := os.ReadFile(filepath.Join(scenarioDir, "resolved-pages-nobody.json"))
	if err != nil {
		t.Fatal(err)
	}
	// The same story, expecting the team lead to be paged as well.
	var sc map[string]any
	if err := json.Unmarshal(raw, &sc); err != nil {
		t.Fatal(err)
	}
	want := sc["expect"].([]any)[0].(map[string]any)
	want["pages"] = append(want["pages"].([]any), map[string]any{"level": 2, "at": "5m0s"})
	b, err := json.Marshal(sc)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "wrong.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	err = run(context.Background(), []string{"scenario", path}, &out)
	if err == nil || !strings.Contains(err.Error(), "level 2 at 5m0s") {
		t.Errorf("err = %v, want the missing team-lead page named\n%s", err, out.String())
	}
	var sum ScenarioSummary
	if jerr := json.Unmarshal([]byte(lastLine(out.String())), &sum); jerr != nil || len(sum.Incidents) != 1 {
		t.Errorf("the summary is not printed before the failure (%v):\n%s", jerr, out.String())
	}
}

// postedLines are the Slack messages posted, in order: each one's time,
// "#<channel> " when it is not in #incidents, "↳ " for a thread reply,
// and its first line.
func postedLines(s *Stack) []string {
	var out []string
	for _, m := range s.Slack.Messages() {
		line := m.PostedAt.UTC().Format("15:04:05") + " "
		if m.ChannelName != slacklocal.DefaultChannelName {
			line += "#" + m.ChannelName + " "
		}
		if m.ThreadTS != "" {
			line += "↳ "
		}
		out = append(out, line+slacklocal.MessageLines(m)[0])
	}
	return out
}

// checkMessages compares the messages posted and the emails sent with
// what the case wants, when it says.
func checkMessages(s *Stack, c scenarioCase) []string {
	var diffs []string
	if c.messages != nil {
		if got := postedLines(s); !slices.Equal(got, c.messages) {
			diffs = append(diffs, fmt.Sprintf("Slack messages:\n    %s\n  want\n    %s", strings.Join(got, "\n    "), strings.Join(c.messages, "\n    ")))
		}
	}
	if c.emails != nil {
		var got []string
		for _, e := range s.AWS.World().Emails {
			got = append(got, e.Subject)
		}
		if !slices.Equal(got, c.emails) {
			diffs = append(diffs, fmt.Sprintf("emails %q, want %q", got, c.emails))
		}
	}
	return diffs
}

// checkUpdateResolvePostmortem checks what the messages say: the alert
// ends resolved without its buttons, the public update's words reach the
// thread and the stakeholders, the people paged are in the incident's
// channel, and the reminders say when the post-mortem is due.
func checkUpdateResolvePostmortem(t *testing.T, s *Stack) {
	msgs := s.Slack.Messages()
	if len(msgs) < 12 {
		t.Fatalf("%d messages", len(msgs))
	}
	alert := strings.Join(slacklocal.MessageLines(msgs[0]), "\n")
	for _, want := range []string{"Status: Resolved by responder@dashboarduz.local", "On-Call: Dana Whitfield (On-Call Engineer)", "Channel: #inc-20260301-030000-c0f8ae04e8"} {
		if !strings.Contains(alert, want) {
			t.Errorf("the alert lacks %q:\n%s", want, alert)
		}
	}
	for _, m := range msgs[:2] {
		alert := strings.Join(slacklocal.MessageLines(m), "\n")
		if strings.Contains(alert, "[Acknowledge]") || strings.Contains(alert, "[Resolve]") || m.Edits == 0 {
			t.Errorf("the resolved alert in #%s still has buttons (%d edits):\n%s", m.ChannelName, m.Edits, alert)
		}
	}
	// The messages by their headline, the first of each.
	find := func(prefix string) (slacklocal.Message, string) {
		for _, m := range msgs {
			if lines := slacklocal.MessageLines(m); len(lines) > 0 && strings.HasPrefix(lines[0], prefix) {
				return m, strings.Join(lines, "\n")
			}
		}
		t.Fatalf("no message begins %q", prefix)
		return slacklocal.Message{}, ""
	}
	_, update := find("📊 INCIDENT UPDATE")
	for _, want := range []string{"Status: Mitigating", "Update: Every API task fails its database health check", "Actions: Rolling back dashboarduz-api to task definition 41", "ETA: 2026-03-01 03:45 UTC"} {
		if !strings.Contains(update, want) {
			t.Errorf("the update lacks %q:\n%s", want, update)
		}
	}
	if _, escalated := find("⬆️ ESCALATED"); !strings.Contains(escalated, "Escalated To: Omar Haddad (Team Lead)") {
		t.Errorf("the escalation does not name the team lead:\n%s", escalated)
	}
	if m, near := find("📝 POST-MORTEM REMINDER"); !strings.Contains(near, "Due in 12h") || !m.Broadcast {
		t.Errorf("the first reminder:\n%s", near)
	}
	own := s.Slack.Channels()[1]
	if !slices.Equal(own.Members, []string{"U0DANA001", "U0OMAR001"}) {
		t.Errorf("the incident's channel has %v, want the on-call engineer and the team lead paged", own.Members)
	}
	if e := s.AWS.World().Emails; len(e) == 3 && !strings.Contains(e[1].Text, "Actions: Rolling back dashboarduz-api to task definition 41") {
		t.Errorf("the public update's email:\n%s", e[1].Text)
	}
}
