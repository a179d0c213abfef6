package postmortem

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dashboarduz/incident-response/shared/incident"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -update creates it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it); got:\n%s", path, got)
	}
}

// entry builds a timeline entry as the system writes them.
func entry(at time.Time, kind incident.EntryKind, actor, key, text string) incident.Entry {
	return incident.Entry{ID: incident.EntryID(at, key), At: at, Kind: kind, Actor: actor, Text: text}
}

const (
	alice = "alice@dashboarduz.example"
	bob   = "bob@dashboarduz.example"
)

// p0Outage is the night-time API outage: paged at once, a missed response
// target, the team lead paged, acknowledged, rolled back, resolved.
func p0Outage() DraftInput {
	inc := incident.Incident{
		ID: "inc-20260301-030000-c0f8ae04e8", Title: "P0 dashboarduz-api - API 5xx error rate above 5%",
		Service: "dashboarduz-api", Category: incident.ServiceDown, Severity: incident.P0, Status: incident.Resolved,
		Source: "cloudwatch", DedupKey: "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:dashboarduz-api-5xx-rate",
		Summary:  "API 5xx error rate above 5% - Threshold Crossed: 1 datapoint [12.5 (01/03/26 02:59:00)] was greater than the threshold (5.0).",
		OpenedAt: t0, AcknowledgedAt: t0.Add(12 * time.Minute), AcknowledgedBy: alice,
		ResolvedAt: t0.Add(45 * time.Minute), ResolvedBy: alice,
		RootCause:  "Release 2026.03.01-0240 lowered the database pool to 5 connections; under the nightly export load every request waited for a connection and timed out.",
		Resolution: "Rolled back to the previous task definition; the error rate fell to zero within two minutes.",
		Pages: []incident.Page{
			{Level: 1, LevelName: "on-call", At: t0, DedupKey: "inc-20260301-030000-c0f8ae04e8/level-1", State: incident.PageSent, Synced: incident.Resolved},
			{Level: 2, LevelName: "team-lead", At: t0.Add(5 * time.Minute), DedupKey: "inc-20260301-030000-c0f8ae04e8/level-2", State: incident.PageSent, Synced: incident.Resolved},
		},
		Breaches: []incident.Breach{{Target: incident.TargetResponse, At: t0.Add(5 * time.Minute)}},
	}
	tl := []incident.Entry{
		entry(t0.Add(45*time.Minute), incident.EntryResolved, alice, "api/resolve", "Resolved. Root cause: Release 2026.03.01-0240 lowered the database pool to 5 connections."),
		entry(t0, incident.EntryOpened, "cloudwatch", "event/e1", "Incident opened: P0 Critical dashboarduz-api (service-down). "+inc.Summary),
		entry(t0, incident.EntryPaged, "escalation", "page/1", "Paged On-Call Engineer (level 1, on-call) through PagerDuty: a new incident pages the first level at once."),
		entry(t0.Add(5*time.Minute), incident.EntryBreach, "escalation", "breach/response", "Missed the P0 response time of 5m0s."),
		entry(t0.Add(5*time.Minute), incident.EntryPaged, "escalation", "page/2", "Paged Team Lead (level 2, team-lead) through PagerDuty: on-call did not acknowledge within 5m0s."),
		entry(t0.Add(7*time.Minute), incident.EntryRecovered, "cloudwatch", "event/e2", "Alarm returned to OK: API 5xx error rate above 5%. The incident stays open until a responder resolves it."),
		entry(t0.Add(12*time.Minute), incident.EntryAcknowledged, alice, "api/ack", "Acknowledged."),
		entry(t0.Add(12*time.Minute+30*time.Second), incident.EntryPagerDutySynced, "escalation", "sync/1", "Acknowledged the page to On-Call Engineer in PagerDuty."),
		entry(t0.Add(20*time.Minute), incident.EntryStatusUpdate, alice, "api/update-1", "Mitigating: rolling back the 02:40 release | pool size 5 -> 20"),
		entry(t0.Add(25*time.Minute), "remediation-done", "remediation", "remediate/rollback", "Rolled back dashboarduz-api to task definition dashboarduz-api:116."),
		entry(t0.Add(26*time.Minute), "notification-sent", "notify", "notify/slack-1", "Posted the status update to #incidents."),
		entry(t0.Add(45*time.Minute+10*time.Second), incident.EntryPagerDutySynced, "escalation", "sync/2", "Resolved 2 pages in PagerDuty."),
	}
	pm, _ := Schedule(inc)
	clock := at(inc.ResolvedAt.Add(time.Hour))
	pm, _, _ = AddActionItem(pm, NewActionItem{Title: "Alert on database pool saturation before requests time out", Owner: bob, DueAt: time.Date(2026, 3, 13, 23, 59, 59, 0, time.UTC)}, alice, clock)
	pm, _, _ = AddActionItem(pm, NewActionItem{Title: "Canary releases for the API: 5% of traffic for 15 minutes"}, alice, clock)
	return DraftInput{Incident: inc, Timeline: tl, Policy: incident.DefaultPolicy(), PostMortem: pm}
}

// p2Report is a user report nobody acknowledged, resolved outright, whose
// post-mortem is overdue.
func p2Report() DraftInput {
	start := time.Date(2026, 3, 2, 14, 10, 0, 0, time.UTC)
	inc := incident.Incident{
		ID: "inc-20260302-141000-9f8e7d6c5b", Title: "Exports time out", Service: "dashboarduz-worker",
		Category: incident.QueueBacklog, Severity: incident.P2, Status: incident.Resolved, Source: "user-report",
		Description: "CSV exports over 10k rows time out", OpenedAt: start,
		ResolvedAt: start.Add(90 * time.Minute), ResolvedBy: bob,
		RootCause: "A stuck job held the export queue's only worker.",
		Pages:     []incident.Page{{Level: 1, LevelName: "on-call", At: start, State: incident.PageRejected, Failure: "no routing key for on-call"}},
	}
	tl := []incident.Entry{
		entry(start, incident.EntryReported, "carol@customer.example", "api/report", "Reported: CSV exports over 10k rows time out"),
		entry(start, incident.EntryPageRejected, "escalation", "page/1", "The page to On-Call Engineer (level 1, on-call) cannot be delivered, so the escalation goes on without it: no routing key for on-call. Fix the routing key in the secret."),
		entry(start.Add(90*time.Minute), incident.EntryResolved, bob, "api/resolve", "Resolved."),
	}
	pm, _ := Schedule(inc)
	return DraftInput{Incident: inc, Timeline: tl, Policy: incident.DefaultPolicy(), PostMortem: pm}
}

// p1Reopened was re-opened, raised from P2 to P1, and resolved in time.
func p1Reopened() DraftInput {
	start := time.Date(2026, 3, 3, 9, 0, 0, 0, time.UTC)
	again := start.Add(2 * time.Hour)
	inc := incident.Incident{
		ID: "inc-20260303-090000-0a1b2c3d4e", Title: "P2 dashboarduz-production-db - Connection count high",
		Service: "dashboarduz-production-db", Category: incident.Database, Severity: incident.P1, Status: incident.Resolved,
		Source: "cloudwatch", Summary: "Connection count above 400", OpenedAt: start,
		Episode: 1, EpisodeStart: again,
		AcknowledgedAt: again.Add(10 * time.Minute), AcknowledgedBy: alice,
		ResolvedAt: again.Add(3 * time.Hour), ResolvedBy: alice, RootCause: "A reporting query leaked connections.",
	}
	tl := []incident.Entry{
		entry(start, incident.EntryOpened, "cloudwatch", "event/a", "Incident opened: P2 Medium dashboarduz-production-db (database). Connection count above 400"),
		entry(start.Add(100*time.Minute), incident.EntryResolved, alice, "api/resolve-0", "Resolved."),
		entry(again, incident.EntryReopened, "cloudwatch", "event/b", "The alarm fired again within 30m0s of the resolution: re-opened."),
		entry(again.Add(5*time.Minute), incident.EntrySeverityChanged, alice, "api/sev", "Severity changed from P2 to P1: connection errors reach users."),
		entry(again.Add(10*time.Minute), incident.EntryAcknowledged, alice, "api/ack", "Acknowledged."),
		entry(again.Add(3*time.Hour), incident.EntryResolved, alice, "api/resolve-1", "Resolved."),
	}
	pm, _ := Schedule(inc)
	return DraftInput{Incident: inc, Timeline: tl, Policy: incident.DefaultPolicy(), PostMortem: pm}
}

func TestDraftGolden(t *testing.T) {
	for _, c := range []struct {
		name string
		in   DraftInput
		now  time.Time
	}{
		{"p0-api-outage", p0Outage(), t0.Add(2 * time.Hour)},
		{"p2-user-report-overdue", p2Report(), time.Date(2026, 3, 5, 9, 0, 0, 0, time.UTC)},
		{"p1-reopened", p1Reopened(), time.Date(2026, 3, 3, 15, 0, 0, 0, time.UTC)},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := Draft(c.in, at(c.now))
			if err != nil {
				t.Fatal(err)
			}
			golden(t, c.name+".golden", got)
		})
	}
}

// section returns the text of the draft's section heading, up to the next
// section.
func section(draft, heading string) string {
	_, rest, ok := strings.Cut(draft, "\n## "+heading+"\n")
	if !ok {
		return ""
	}
	if i := strings.Index(rest, "\n## "); i >= 0 {
		rest = rest[:i]
	}
	return rest
}

func TestDraftContents(t *testing.T) {
	draft := func(in DraftInput, now time.Time) string {
		b, err := Draft(in, at(now))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	p0 := draft(p0Outage(), t0.Add(2*time.Hour))
	for heading, wants := range map[string][]string{
		"Summary":                            {"lasted 45m, from 2026-03-01 03:00:00 UTC to 2026-03-01 03:45:00 UTC", "Rolled back to the previous task definition"},
		"Impact and duration":                {"**Acknowledged:** 2026-03-01 03:12:00 UTC, 12m after the start", "**Duration:** 45m"},
		"Timeline (UTC)":                     {"| 2026-03-01 03:00:00 UTC | opened | cloudwatch |", `rolling back the 02:40 release \| pool size 5 -\> 20`},
		"Detection":                          {"by cloudwatch", "On-Call Engineer (on-call) at 2026-03-01 03:00:00 UTC, 0s after the incident opened"},
		"Response times against the targets": {"| Response | Immediate | 5m | acknowledged after 12m | missed |", "| Resolution | 1 hour | 1h | resolved after 45m | met |"},
		"What automation did":                {"### Pages (2)", "### PagerDuty sync (2)", "### Missed targets (1)", "### Remediations (1)", "task definition dashboarduz-api:116", "### Notifications (1)", "### Signals after opening (1)"},
		"Root cause":                         {"lowered the database pool to 5 connections"},
		"Action items":                       {"| AI-1 | Alert on database pool saturation before requests time out | " + bob + " | 2026-03-13 | open |", "| AI-2 | Canary releases for the API: 5% of traffic for 15 minutes | unassigned | none | open |"},
		"Runbook updates":                    {`"Service Down"`},
	} {
		got := section(p0, heading)
		if got == "" {
			t.Errorf("no section %q", heading)
			continue
		}
		for _, w := range wants {
			if !strings.Contains(got, w) {
				t.Errorf("section %q has no %q:\n%s", heading, w, got)
			}
		}
	}
	// The timeline is in time order whatever order it came in.
	tl := section(p0, "Timeline (UTC)")
	if strings.Index(tl, "| opened |") > strings.Index(tl, "| resolved |") {
		t.Error("timeline out of order")
	}
	if !strings.Contains(p0, "**Post-mortem due:** 2026-03-03 03:45:00 UTC, 48 hours after the resolution (due)") {
		t.Error("no due time in the header")
	}

	p2 := draft(p2Report(), time.Date(2026, 3, 5, 9, 0, 0, 0, time.UTC))
	for _, w := range []string{
		"48 hours after the resolution (overdue)",
		"**Acknowledged:** never",
		"| Response | 1 hour | 1h | resolved without acknowledgement after 1h 30m | missed |",
		"| Resolution | 24 hours | 1d | resolved after 1h 30m | met |",
		"**First page:** nobody was paged",
		"by carol@customer.example",
		"### Pages (1)",
		"_None yet._",
		"_How the incident was resolved._",
		`"Queue Backlog"`,
	} {
		if !strings.Contains(p2, w) {
			t.Errorf("P2 draft has no %q", w)
		}
	}

	p1 := draft(p1Reopened(), time.Date(2026, 3, 3, 15, 0, 0, 0, time.UTC))
	for _, w := range []string{
		"**Re-opened:** 1 time(s); the last episode began 2026-03-03 11:00:00 UTC",
		"**Severity changed** at 2026-03-03 11:05:00 UTC: Severity changed from P2 to P1",
		"| Response | 15 minutes | 15m | acknowledged after 10m | met |",
		"| Resolution | 4 hours | 4h | resolved after 3h | met |",
		"**Duration:** 5h",
		"### Signals after opening (1)",
	} {
		if !strings.Contains(p1, w) {
			t.Errorf("re-opened draft has no %q", w)
		}
	}
}

func TestDraftNoAutomation(t *testing.T) {
	in := p1Reopened()
	in.Timeline = in.Timeline[:2]
	b, err := Draft(in, at(t0))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "_No automated action is on the timeline._") {
		t.Errorf("no note that automation did nothing:\n%s", section(string(b), "What automation did"))
	}
}

func TestRunbookTime(t *testing.T) {
	for _, s := range incident.Severities {
		t.Logf("%s: %s, %s", s, runbookTime(s.ResponseTime()), runbookTime(s.ResolutionTarget()))
	}
	for d, want := range map[time.Duration]string{
		incident.P0.ResponseTime():     "Immediate",
		incident.P1.ResponseTime():     "15 minutes",
		incident.P3.ResponseTime():     "4 hours",
		incident.P0.ResolutionTarget(): "1 hour",
		incident.P2.ResolutionTarget(): "24 hours",
		incident.P3.ResolutionTarget(): "1 week",
	} {
		if got := runbookTime(d); got != want {
			t.Errorf("runbookTime(%s) = %q, want %q", d, got, want)
		}
	}
}

func TestEscape(t *testing.T) {
	for in, want := range map[string]string{
		"plain text":               "plain text",
		"a | b":                    `a \| b`,
		"<script>x</script>":       `\<script\>x\</script\>`,
		"**bold** _it_ `code`":     "\\*\\*bold\\*\\* \\_it\\_ \\`code\\`",
		"[link](http://x)":         `\[link\](http://x)`,
		"# heading\nsecond line":   `\# heading second line`,
		`back\slash`:               `back\\slash`,
		"datapoint [12.5] > (5.0)": `datapoint \[12.5\] \> (5.0)`,
	} {
		if got := Escape(in); got != want {
			t.Errorf("Escape(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestHuman(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0:                                "0s",
		45 * time.Second:                 "45s",
		12 * time.Minute:                 "12m",
		time.Hour + 5*time.Minute:        "1h 5m",
		time.Hour + 30*time.Second:       "1h",
		90*time.Minute + 29*time.Second:  "1h 30m",
		50*time.Hour + 10*time.Minute:    "2d 2h",
		7 * 24 * time.Hour:               "7d",
		-5 * time.Minute:                 "-5m",
		1500 * time.Millisecond:          "2s",
		24*time.Hour + 59*time.Second:    "1d",
		3*time.Minute + 20*time.Second:   "3m 20s",
		time.Hour + time.Minute + 1:      "1h 1m",
		100*24*time.Hour + 23*time.Hour:  "100d 23h",
		23*time.Hour + 59*time.Minute:    "23h 59m",
		30*time.Minute + 1*time.Second:   "30m 1s",
		2*time.Hour + 0*time.Minute + 59: "2h",
	} {
		if got := Human(d); got != want {
			t.Errorf("Human(%s) = %q, want %q", d, got, want)
		}
	}
}
