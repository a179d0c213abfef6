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
			if len(diffs) == 0 {
				return
			}
			var timeline bytes.Buffer
			if err := s.PrintTimeline(ctx, &timeline, sc.Start); err != nil {
				t.Fatal(err)
			}
			line, _ := json.Marshal(sum)
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
