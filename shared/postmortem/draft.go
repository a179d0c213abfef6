package postmortem

import (
	"bytes"
	_ "embed" // for go:embed
	"fmt"
	"slices"
	"strings"
	"text/template"
	"time"

	"github.com/dashboarduz/incident-response/shared/incident"
)

//go:embed draft.md.tmpl
var draftTemplate string

var draftTmpl = template.Must(template.New("draft").Funcs(template.FuncMap{
	"md":   Escape,
	"cell": cell,
}).Parse(draftTemplate))

// DraftInput is what a draft is generated from.
type DraftInput struct {
	Incident incident.Incident
	// Timeline is the incident's whole timeline, in any order.
	Timeline []incident.Entry
	// Policy gives the targets the response is measured against.
	Policy     incident.Policy
	PostMortem PostMortem
}

// Draft returns the Markdown draft of the post-mortem: summary, impact
// and duration, the timeline, detection, response times against the
// targets, what automation did, root cause, action items and the runbook
// section to review. Times are UTC. Whatever only people know is left as
// a marked prompt.
func Draft(in DraftInput, clock incident.Clock) ([]byte, error) {
	v := newDraftView(in, clock.Now().UTC())
	var buf bytes.Buffer
	if err := draftTmpl.Execute(&buf, v); err != nil {
		return nil, fmt.Errorf("post-mortem draft of %s: %w", in.Incident.ID, err)
	}
	return buf.Bytes(), nil
}

// draftView is what the template reads: every value already in words.
type draftView struct {
	Inc          incident.Incident
	SeverityName string
	Status       Status
	DueAt        string
	GeneratedAt  string
	Summary      string

	Started, Acknowledged, Resolved, Duration string
	Reopened                                  string
	SeverityChanges                           []line

	Timeline   []line
	Detection  detection
	Targets    []target
	Breaches   []string
	Automation []group
	Items      []item
	Runbook    string
}

// line is one timeline entry in words.
type line struct {
	At, Kind, Actor, Text string
}

type detection struct {
	Signal, At, By, FirstPage string
}

type target struct {
	Name, Runbook, Deadline, Actual, Result string
}

type group struct {
	Name  string
	Lines []line
}

type item struct {
	ID, Title, Owner, Due, Status string
}

func newDraftView(in DraftInput, now time.Time) draftView {
	inc, pm := in.Incident, in.PostMortem
	entries := slices.Clone(in.Timeline)
	slices.SortStableFunc(entries, func(a, b incident.Entry) int {
		if c := a.At.Compare(b.At); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	v := draftView{
		Inc:          inc,
		SeverityName: inc.Severity.Name(),
		Status:       pm.StatusAt(now),
		DueAt:        stamp(pm.DueAt),
		GeneratedAt:  stamp(now),
		Started:      stamp(inc.OpenedAt),
		Runbook:      runbookSection(inc.Category),
	}
	v.Acknowledged, v.Resolved, v.Duration = impactTimes(inc)
	if inc.Episode > 0 {
		v.Reopened = fmt.Sprintf("%d time(s); the last episode began %s, and the targets below are measured from it", inc.Episode, stamp(inc.Started()))
	}
	for _, e := range entries {
		l := toLine(e)
		v.Timeline = append(v.Timeline, l)
		if e.Kind == incident.EntrySeverityChanged {
			v.SeverityChanges = append(v.SeverityChanges, l)
		}
	}
	v.Summary = summary(inc)
	v.Detection = detect(inc, entries, in.Policy)
	v.Targets = targets(inc, in.Policy)
	for _, b := range inc.Breaches {
		text := fmt.Sprintf("%s target missed at %s", b.Target, stamp(b.At))
		if inc.Episode > 0 {
			text += fmt.Sprintf(" (episode %d)", b.Episode+1)
		}
		v.Breaches = append(v.Breaches, text)
	}
	v.Automation = automation(entries)
	for _, a := range pm.ActionItems {
		it := item{ID: a.ID, Title: a.Title, Owner: a.Owner, Due: formatDue(a.DueAt), Status: string(a.Status)}
		if it.Owner == "" {
			it.Owner = "unassigned"
		}
		v.Items = append(v.Items, it)
	}
	return v
}

// toLine is an entry as the draft's timeline shows it; a status update
// in full, from its data (its text is only the headline).
func toLine(e incident.Entry) line {
	text := e.Text
	if msg := e.Data["message"]; e.Kind == incident.EntryStatusUpdate && msg != "" {
		text = fmt.Sprintf("Status update (%s): %s", e.Data["status"], msg)
		if a := e.Data[incident.DataActions]; a != "" {
			text += " Actions: " + a
		}
	}
	return line{At: stamp(e.At), Kind: string(e.Kind), Actor: e.Actor, Text: text}
}

// impactTimes describes the acknowledgement, the resolution and the
// duration from the incident's first opening.
func impactTimes(inc incident.Incident) (ack, res, dur string) {
	start := inc.Started()
	ack = "never"
	if !inc.AcknowledgedAt.IsZero() {
		ack = fmt.Sprintf("%s, %s after the start, by %s", stamp(inc.AcknowledgedAt), Human(inc.AcknowledgedAt.Sub(start)), orSomeone(inc.AcknowledgedBy))
	}
	res, dur = "not yet", "ongoing"
	if !inc.ResolvedAt.IsZero() {
		res = fmt.Sprintf("%s, %s after the start, by %s", stamp(inc.ResolvedAt), Human(inc.ResolvedAt.Sub(start)), orSomeone(inc.ResolvedBy))
		dur = Human(inc.ResolvedAt.Sub(inc.OpenedAt))
	}
	return ack, res, dur
}

func orSomeone(s string) string {
	if s == "" {
		return "an unnamed responder"
	}
	return s
}

// summary is the opening paragraph.
func summary(inc incident.Incident) string {
	s := fmt.Sprintf("A %s (%s) %s incident on %s", inc.Severity, inc.Severity.Name(), inc.Category, inc.Service)
	if !inc.ResolvedAt.IsZero() {
		s += fmt.Sprintf(" lasted %s, from %s to %s.", Human(inc.ResolvedAt.Sub(inc.OpenedAt)), stamp(inc.OpenedAt), stamp(inc.ResolvedAt))
	} else {
		s += fmt.Sprintf(" began at %s and is not resolved.", stamp(inc.OpenedAt))
	}
	if inc.Resolution != "" {
		s += " " + strings.TrimSpace(inc.Resolution)
	}
	return s
}

// detect finds the signal that opened the incident and the first page.
func detect(inc incident.Incident, entries []incident.Entry, p incident.Policy) detection {
	d := detection{Signal: inc.Summary, At: stamp(inc.OpenedAt), By: inc.Source, FirstPage: "nobody was paged"}
	if d.Signal == "" {
		d.Signal = inc.Title
	}
	for _, e := range entries {
		if e.Kind == incident.EntryOpened || e.Kind == incident.EntryReported {
			d.At, d.By = stamp(e.At), e.Actor
			break
		}
	}
	for _, pg := range inc.Pages {
		if pg.Delivered() {
			d.FirstPage = fmt.Sprintf("%s (%s) at %s, %s after the incident opened", levelTitle(p, pg.LevelName), pg.LevelName, stamp(pg.At), Human(pg.At.Sub(inc.OpenedAt)))
			break
		}
	}
	return d
}

// levelTitle is the title of the policy's level named name.
func levelTitle(p incident.Policy, name string) string {
	if l, ok := p.Level(p.LevelNumber(name)); ok {
		return l.Title
	}
	return "level " + name
}

// targets measures the response and resolution of the current episode
// against the policy, as the escalation does (DueBreaches): a resolution
// without an acknowledgement counts as the response.
func targets(inc incident.Incident, p incident.Policy) []target {
	sp := p.For(inc.Severity)
	start := inc.Started()
	respondedAt := inc.AcknowledgedAt
	how := "acknowledged after "
	if respondedAt.IsZero() && !inc.ResolvedAt.IsZero() {
		respondedAt, how = inc.ResolvedAt, "resolved without acknowledgement after "
	}
	measure := func(name, runbook string, deadline time.Duration, doneAt time.Time, how, breach string) target {
		t := target{Name: name, Runbook: runbook, Deadline: Human(deadline), Actual: "not yet", Result: "pending"}
		if !doneAt.IsZero() {
			t.Actual = how + Human(doneAt.Sub(start))
			t.Result = "met"
			if doneAt.Sub(start) > deadline {
				t.Result = "missed"
			}
		}
		if inc.HasBreach(breach) {
			t.Result = "missed"
		}
		return t
	}
	return []target{
		measure("Response", runbookTime(inc.Severity.ResponseTime()), sp.AcknowledgeWithin.D(), respondedAt, how, incident.TargetResponse),
		measure("Resolution", runbookTime(inc.Severity.ResolutionTarget()), sp.ResolveWithin.D(), inc.ResolvedAt, "resolved after ", incident.TargetResolution),
	}
}

// runbookTime words a runbook target as the runbook does: "Immediate",
// "15 minutes", "4 hours", "24 hours", "1 week".
func runbookTime(d time.Duration) string {
	week := 7 * 24 * time.Hour
	switch {
	case d == 0:
		return "Immediate"
	case d%week == 0:
		return plural(int(d/week), "week")
	case d%time.Hour == 0:
		return plural(int(d/time.Hour), "hour")
	}
	return plural(int(d.Round(time.Minute)/time.Minute), "minute")
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}

// automationGroups names what the system's own timeline entries did; a
// kind that begins with one of the prefixes belongs to the group, so kinds
// added later (remediation and notification steps) are counted without a
// change here.
var automationGroups = []struct {
	name     string
	prefixes []string
}{
	{"Pages", []string{string(incident.EntryPaged), string(incident.EntryPageFailed), string(incident.EntryPageRejected), string(incident.EntryEscalationDone)}},
	{"PagerDuty sync", []string{"pagerduty-"}},
	{"Missed targets", []string{string(incident.EntryBreach)}},
	{"Remediations", []string{"remediat"}},
	{"Notifications", []string{"notif", "slack", "email", "status-page"}},
	{"Maintenance windows", []string{string(incident.EntryMaintenance)}},
	{"Signals after opening", []string{string(incident.EntrySignal), string(incident.EntryRecovered), string(incident.EntryInsufficientData), string(incident.EntryFlapping), string(incident.EntryReopened)}},
}

func automation(entries []incident.Entry) []group {
	var out []group
	for _, g := range automationGroups {
		grp := group{Name: g.name}
		for _, e := range entries {
			if hasAnyPrefix(string(e.Kind), g.prefixes) {
				grp.Lines = append(grp.Lines, toLine(e))
			}
		}
		if len(grp.Lines) > 0 {
			out = append(out, grp)
		}
	}
	return out
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// runbookSection is the runbook's "Common Incidents" section for the
// category, the one to review against what happened.
func runbookSection(c incident.Category) string {
	switch c {
	case incident.ServiceDown:
		return "Service Down"
	case incident.Database:
		return "Database Issues"
	case incident.HighErrorRate:
		return "High Error Rate"
	case incident.QueueBacklog:
		return "Queue Backlog"
	case incident.Performance:
		return "Performance Degradation"
	}
	return "Incident Response Process"
}

// stamp formats a time for the draft, to the second, in UTC.
func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// formatDue shows a due date as a date when it is the end of a day (see
// ParseDueAt), else to the minute.
func formatDue(t time.Time) string {
	if t.IsZero() {
		return "none"
	}
	t = t.UTC()
	if t.Hour() == 23 && t.Minute() == 59 && t.Second() == 59 {
		return t.Format(time.DateOnly)
	}
	return t.Format("2006-01-02 15:04 UTC")
}

// ParseDueAt reads an action item's due date: a date (YYYY-MM-DD, due by
// the end of that day, UTC) or an RFC 3339 time.
func ParseDueAt(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if d, err := time.Parse(time.DateOnly, s); err == nil {
		return d.Add(24*time.Hour - time.Second), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, incident.FieldErrorf("dueAt", "dueAt %q is neither a date (2026-03-10) nor an RFC 3339 time", s)
	}
	return t.UTC(), nil
}

// Human formats a duration in its two largest units: "45s", "12m",
// "1h 5m", "2d 3h"; a zero second unit is left out ("1h", not "1h 0m").
func Human(d time.Duration) string {
	if d < 0 {
		return "-" + Human(-d)
	}
	d = d.Round(time.Second)
	if d == 0 {
		return "0s"
	}
	units := []struct {
		size time.Duration
		name string
	}{{24 * time.Hour, "d"}, {time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}}
	var parts []string
	for _, u := range units {
		n := d / u.size
		if n == 0 {
			if len(parts) > 0 {
				break
			}
			continue
		}
		parts = append(parts, fmt.Sprintf("%d%s", n, u.name))
		d -= n * u.size
		if len(parts) == 2 {
			break
		}
	}
	return strings.Join(parts, " ")
}

// markdownSpecial are the characters that could turn text into Markdown
// or HTML markup.
var markdownSpecial = strings.NewReplacer(
	`\`, `\\`, "`", "\\`", "*", `\*`, "_", `\_`, "[", `\[`, "]", `\]`,
	"<", `\<`, ">", `\>`, "#", `\#`, "|", `\|`,
	"\r\n", " ", "\n", " ", "\r", " ",
)

// Escape makes text safe to put in Markdown: what responders and alarms
// wrote reads as typed, and cannot inject markup or break a table.
func Escape(s string) string { return markdownSpecial.Replace(s) }

// cell escapes text for a table cell, which must not be empty.
func cell(s string) string {
	if strings.TrimSpace(s) == "" {
		return "-"
	}
	return Escape(s)
}
