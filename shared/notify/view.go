package notify

import (
	"context"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/dashboarduz/incident-response/shared/incident"
)

// The words a View says when a fact is missing. They are exported so that
// tests and other renderings (the status page, email) say the same.
const (
	NotKnownYet     = "Not known yet"
	NotStatedYet    = "Not stated yet"
	NoneRecordedYet = "None recorded yet"
	NotResolvedYet  = "Not resolved yet"
	NoDescription   = "No description given"
)

// DefaultPostMortemWithin is the runbook's "Schedule within 48 hours".
const DefaultPostMortemWithin = 48 * time.Hour

// OnCallFinder names the people on call for an escalation level (by the
// level's name, e.g. "on-call"), as PagerDuty's REST API knows them.
// pagerduty.OnCallFinder implements it. An error or an empty answer makes
// the message name the level's title instead.
type OnCallFinder interface {
	OnCallNames(ctx context.Context, level string) ([]string, error)
}

// Facts are what a message says that the incident and its timeline do not
// hold; every field is optional.
type Facts struct {
	// Entry is the timeline entry a thread reply announces (a page, an
	// escalation, a breach, a remediation, a status update). Without one,
	// the latest entry of the message's kind is used.
	Entry *incident.Entry
	// Affected says who is affected beyond the service itself, e.g. "all
	// dashboard users in eu-west-1".
	Affected string
	// Update (what we know), Actions (what we are doing) and ETA override
	// what the latest status update on the timeline says.
	Update  string
	Actions string
	ETA     time.Time
	// OnCall holds the names on call per level name when the caller has
	// them already; levels not in it are asked of the Builder's finder.
	OnCall map[string][]string
	// PostMortemAt is when the post-mortem is scheduled; zero means the
	// runbook's deadline, PostMortemWithin after resolution.
	PostMortemAt time.Time
	// ChannelName and ChannelLink name the incident's own Slack channel,
	// when it has one.
	ChannelName string
	ChannelLink string
	// Reminder is the post-mortem reminder a KindReminder message sends:
	// incident.ReminderNear or incident.ReminderMissed, with or without
	// its episode suffix.
	Reminder string
}

// View is what a message says, every field in words. Fields a kind of
// message does not use are filled all the same.
type View struct {
	IncidentID string
	// Severity is the runbook's "P0 Critical"; SeverityCode is "P0".
	Severity     string
	SeverityCode string
	Service      string
	// Description is the brief description of the alert's first line.
	Description string
	// Status is the runbook's status word: Investigating, Mitigating,
	// Monitoring or Resolved. AlertStatus adds who acknowledged or
	// resolved it.
	Status      string
	AlertStatus string
	StartTime   string
	Affected    string
	// OnCall names the first level's engineers, or the level's title.
	OnCall string
	// Update is what we know, Actions what we are doing, ETA when the
	// incident is expected to be resolved.
	Update  string
	Actions string
	ETA     string
	// Resolved is when it was resolved; Duration how long it lasted, or
	// has lasted so far.
	Resolved     string
	Duration     string
	RootCause    string
	ActionsTaken string
	PostMortem   string
	// Link is the incident's address in this system, "" when none is
	// configured; Channel and ChannelLink its own Slack channel, "" when
	// it has none.
	Link        string
	Channel     string
	ChannelLink string
	// IsResolved and IsAcknowledged decide the alert's buttons.
	IsResolved     bool
	IsAcknowledged bool
	// Event is what a thread reply announces.
	Event Event
}

// Event is the subject of a thread reply, every field in words.
type Event struct {
	// At is when it happened.
	At string
	// Level is the escalation level concerned, e.g. "2 of 4 (team-lead)".
	Level string
	// People names who was paged, or the level's title.
	People string
	// Reason says why it happened.
	Reason string
	// By is who did it: a responder, or "escalation" for the system.
	By string
	// Target is the missed target of a breach, e.g. "P0 response time
	// (5m)".
	Target string
	// Action and Outcome describe a remediation; Action is also the
	// first line of a triage report.
	Action  string
	Outcome string
	// Details are further lines, one fact each: a triage report's parts.
	Details []string
}

// Builder builds Views. The zero value works: the runbook's policy, no
// on-call lookups, UTC and the system clock.
type Builder struct {
	// Policy gives the levels' titles and the resolution targets; the
	// zero value means incident.DefaultPolicy().
	Policy incident.Policy
	// OnCall names the people on call; nil means levels are named by
	// their titles.
	OnCall OnCallFinder
	// Clock measures the duration of an incident still open.
	Clock incident.Clock
	// Location is the time zone times are written in; nil means UTC.
	Location *time.Location
	// PostMortemWithin is how soon after resolution the post-mortem is
	// due; zero means DefaultPostMortemWithin.
	PostMortemWithin time.Duration
	// IncidentURL, when set, returns an incident's address, linked from
	// every message.
	IncidentURL func(id string) string
}

func (b *Builder) policy() incident.Policy {
	if len(b.Policy.Levels) == 0 {
		return incident.DefaultPolicy()
	}
	return b.Policy
}

func (b *Builder) now() time.Time {
	if b.Clock == nil {
		return incident.SystemClock{}.Now()
	}
	return b.Clock.Now()
}

// View builds the view of inc for a message of kind. timeline is the
// incident's timeline, oldest first, as stored.
func (b *Builder) View(ctx context.Context, kind Kind, inc incident.Incident, timeline []incident.Entry, f Facts) View {
	p := b.policy()
	subject, found := b.subject(kind, timeline, f)
	// A status update's message says what that update said (status,
	// actions, ETA), though a later one may have moved on; other messages
	// say what the latest update said.
	latest := latestUpdate(timeline)
	if kind == KindStatusUpdate && found {
		latest = subject
	}
	v := View{
		IncidentID:     orWords(inc.ID, "Unnamed incident"),
		Severity:       severityWords(inc.Severity),
		SeverityCode:   orWords(string(inc.Severity), "Unknown severity"),
		Service:        orWords(oneLine(inc.Service), "Unknown service"),
		Description:    description(inc),
		Status:         statusOf(kind, inc, latest),
		AlertStatus:    alertStatus(inc),
		StartTime:      b.timeWords(inc.OpenedAt, "Not recorded"),
		Affected:       affected(inc, f),
		OnCall:         b.onCallWords(ctx, p, inc, 1, f),
		Update:         firstOf(f.Update, latest.Data["message"], inc.Description, NotKnownYet),
		Actions:        firstOf(f.Actions, latest.Data["actions"], NotStatedYet),
		ETA:            b.eta(p, inc, latest, f),
		Resolved:       b.timeWords(inc.ResolvedAt, NotResolvedYet),
		Duration:       b.duration(inc),
		RootCause:      firstOf(inc.RootCause, NotKnownYet),
		ActionsTaken:   actionsTaken(inc, timeline),
		PostMortem:     b.postMortem(inc, f),
		Channel:        oneLine(f.ChannelName),
		ChannelLink:    f.ChannelLink,
		IsResolved:     inc.Status == incident.Resolved,
		IsAcknowledged: !inc.AcknowledgedAt.IsZero(),
	}
	if b.IncidentURL != nil {
		v.Link = b.IncidentURL(inc.ID)
	}
	if v.Channel != "" && !strings.HasPrefix(v.Channel, "#") {
		v.Channel = "#" + v.Channel
	}
	if kind == KindReminder {
		v.Event = b.event(ctx, p, kind, inc, incident.Entry{At: b.now(), Actor: "post-mortem"}, f)
		v.Event.Reason = b.reminderWords(inc, f.Reminder)
		return v
	}
	if found {
		v.Event = b.event(ctx, p, kind, inc, subject, f)
	} else {
		v.Event = b.event(ctx, p, kind, inc, incident.Entry{At: b.now(), Actor: "escalation"}, f)
	}
	return v
}

// subject finds the timeline entry a message of kind announces.
func (b *Builder) subject(kind Kind, timeline []incident.Entry, f Facts) (incident.Entry, bool) {
	if f.Entry != nil {
		return *f.Entry, true
	}
	for i := len(timeline) - 1; i >= 0; i-- {
		if k, ok := KindOf(timeline[i]); ok && k == kind {
			return timeline[i], true
		}
	}
	return incident.Entry{}, false
}

func severityWords(s incident.Severity) string {
	if s == "" {
		return "Unknown severity"
	}
	return string(s) + " " + s.Name()
}

// description is the brief description: the alarm's or reporter's summary,
// not the stored title, which repeats the severity and service.
func description(inc incident.Incident) string {
	if s := oneLine(inc.Summary); s != "" {
		return s
	}
	t := oneLine(inc.Title)
	if prefix := string(inc.Severity) + " " + inc.Service + " - "; inc.Severity != "" && strings.HasPrefix(t, prefix) {
		t = strings.TrimPrefix(t, prefix)
	}
	return firstOf(t, NoDescription)
}

// statusWord is the runbook's word for where an incident stands: an
// incident triggered or acknowledged is being investigated.
func statusWord(st incident.Status) string {
	switch st {
	case incident.Triggered, incident.Acknowledged, incident.Investigating, "":
		return "Investigating"
	case incident.Mitigating:
		return "Mitigating"
	case incident.Monitoring:
		return "Monitoring"
	case incident.Resolved:
		return "Resolved"
	}
	return titleCase(oneLine(string(st)))
}

// statusOf is the status a message states: a status update's own (it may
// be announced after the incident moved on, even after its resolution),
// else the incident's.
func statusOf(kind Kind, inc incident.Incident, update incident.Entry) string {
	if st := update.Data["status"]; kind == KindStatusUpdate && st != "" {
		return statusWord(incident.Status(st))
	}
	return statusWord(inc.Status)
}

// alertStatus is the status word with who took the incident on or
// resolved it.
func alertStatus(inc incident.Incident) string {
	word := statusWord(inc.Status)
	switch {
	case inc.Status == incident.Resolved && inc.ResolvedBy != "":
		return word + " by " + oneLine(inc.ResolvedBy)
	case inc.Status == incident.Resolved:
		return word
	case inc.AcknowledgedAt.IsZero():
		return word + " (not acknowledged yet)"
	case inc.AcknowledgedBy != "":
		return word + " (acknowledged by " + oneLine(inc.AcknowledgedBy) + ")"
	}
	return word + " (acknowledged)"
}

func affected(inc incident.Incident, f Facts) string {
	svc := orWords(oneLine(inc.Service), "Unknown service")
	if a := oneLine(f.Affected); a != "" {
		return svc + "; " + a
	}
	return svc + " (user impact not known yet)"
}

// onCallWords names the people on call for level n: by name when they are
// known, by the level's title otherwise.
func (b *Builder) onCallWords(ctx context.Context, p incident.Policy, inc incident.Incident, n int, f Facts) string {
	l, ok := p.Level(n)
	if !ok {
		return "Nobody (the escalation policy has no level " + strconv.Itoa(n) + ")"
	}
	title := firstOf(l.Title, l.Name)
	names := b.names(ctx, inc, l.Name, f)
	if len(names) == 0 {
		return title
	}
	return strings.Join(names, ", ") + " (" + title + ")"
}

// names returns the names on call for a level, from the facts or the
// finder. A failed lookup is logged and answered with no names: a message
// must never wait for PagerDuty.
func (b *Builder) names(ctx context.Context, inc incident.Incident, level string, f Facts) []string {
	raw, ok := f.OnCall[level]
	if !ok && b.OnCall != nil {
		var err error
		raw, err = b.OnCall.OnCallNames(ctx, level)
		if err != nil {
			slog.WarnContext(ctx, "on-call lookup failed; the message names the level", "incidentId", inc.ID, "level", level, "error", err)
			return nil
		}
	}
	var out []string
	for _, n := range raw {
		if n = oneLine(n); n != "" && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

func (b *Builder) eta(p incident.Policy, inc incident.Incident, latest incident.Entry, f Facts) string {
	if !f.ETA.IsZero() {
		return b.timeWords(f.ETA, "")
	}
	if s := latest.Data["eta"]; s != "" {
		if t, err := time.Parse(time.RFC3339, s); err == nil {
			return b.timeWords(t, "")
		}
		return oneLine(s)
	}
	if inc.Status == incident.Resolved {
		return "Resolved " + b.timeWords(inc.ResolvedAt, "")
	}
	if inc.Severity == "" || inc.OpenedAt.IsZero() {
		return "Not estimated yet"
	}
	target := p.For(inc.Severity).ResolveWithin.D()
	return "Not estimated yet (the " + string(inc.Severity) + " resolution target is " +
		b.timeWords(inc.Started().Add(target), "") + ", " + durationWords(target) + " after the start)"
}

func (b *Builder) duration(inc incident.Incident) string {
	if inc.OpenedAt.IsZero() {
		return NotKnownYet
	}
	if inc.Status == incident.Resolved && !inc.ResolvedAt.IsZero() {
		return durationWords(inc.ResolvedAt.Sub(inc.OpenedAt))
	}
	return durationWords(b.now().Sub(inc.OpenedAt)) + " so far"
}

func (b *Builder) postMortem(inc incident.Incident, f Facts) string {
	if !f.PostMortemAt.IsZero() {
		return "Scheduled for " + b.dateWords(f.PostMortemAt)
	}
	if inc.Status != incident.Resolved || inc.ResolvedAt.IsZero() {
		return "To be scheduled within 48 hours of resolution"
	}
	within := b.postMortemWithin()
	return "Due by " + b.dateWords(inc.ResolvedAt.Add(within)) + " (within " + hoursWords(within) + " of resolution)"
}

// reminderWords says what a post-mortem reminder is about.
func (b *Builder) reminderWords(inc incident.Incident, reminder string) string {
	if strings.HasPrefix(reminder, incident.ReminderMissed) {
		return "Overdue, and not complete yet"
	}
	if inc.ResolvedAt.IsZero() {
		return "Due soon and not complete yet"
	}
	left := inc.ResolvedAt.Add(b.postMortemWithin()).Sub(b.now())
	if left <= 0 {
		return "Due now and not complete yet"
	}
	return "Due in " + durationWords(left) + " and not complete yet"
}

func (b *Builder) postMortemWithin() time.Duration {
	if b.PostMortemWithin <= 0 {
		return DefaultPostMortemWithin
	}
	return b.PostMortemWithin
}

// actionsTaken lists what was done: every remediation and the
// resolution's summary, in order. Only when neither is recorded do the
// status updates' actions (what responders said they were doing) stand
// in for them.
func actionsTaken(inc incident.Incident, timeline []incident.Entry) string {
	var done, doing []string
	add := func(list *[]string, s string) {
		if s = strings.TrimRight(oneLine(s), ". "); s != "" && !slices.Contains(*list, s) {
			*list = append(*list, s)
		}
	}
	for _, e := range timeline {
		switch {
		case e.Kind == incident.EntryStatusUpdate:
			add(&doing, e.Data["actions"])
		case isRemediation(e.Kind) && made(e):
			add(&done, firstOf(e.Data["action"], e.Text))
		}
	}
	add(&done, inc.Resolution)
	switch {
	case len(done) > 0:
		return strings.Join(done, "; ")
	case len(doing) > 0:
		return strings.Join(doing, "; ")
	}
	return NoneRecordedYet
}

// made reports whether a remediation entry is about an action that was
// carried out: not one decided against, refused, only rehearsed, or
// waiting for or denied an approval.
func made(e incident.Entry) bool {
	switch incident.RemediationState(e.Data["state"]) {
	case incident.RemedyVerifying, incident.RemedySucceeded, incident.RemedyFailed, incident.RemedyUnverified, incident.RemedyApplied:
		return true
	}
	return false
}

// latestUpdate returns the latest status update on the timeline, or an
// empty entry.
func latestUpdate(timeline []incident.Entry) incident.Entry {
	for i := len(timeline) - 1; i >= 0; i-- {
		if timeline[i].Kind == incident.EntryStatusUpdate {
			return timeline[i]
		}
	}
	return incident.Entry{}
}

// timeLayout writes times as "2026-03-01 03:00 UTC".
const timeLayout = "2006-01-02 15:04 MST"

func (b *Builder) loc() *time.Location {
	if b.Location == nil {
		return time.UTC
	}
	return b.Location
}

func (b *Builder) timeWords(t time.Time, missing string) string {
	if t.IsZero() {
		return missing
	}
	return t.In(b.loc()).Format(timeLayout)
}

func (b *Builder) dateWords(t time.Time) string {
	return t.In(b.loc()).Format("Mon 2 Jan 2006 15:04 MST")
}

// durationWords writes a duration as a person would: "47m", "1h 5m",
// "2d 3h", "30s".
func durationWords(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	if d < time.Minute {
		return strconv.Itoa(int(d/time.Second)) + "s"
	}
	d = d.Round(time.Minute)
	days, d := d/(24*time.Hour), d%(24*time.Hour)
	hours, mins := d/time.Hour, (d%time.Hour)/time.Minute
	var parts []string
	if days > 0 {
		parts = append(parts, strconv.Itoa(int(days))+"d")
	}
	if hours > 0 {
		parts = append(parts, strconv.Itoa(int(hours))+"h")
	}
	if mins > 0 && days == 0 {
		parts = append(parts, strconv.Itoa(int(mins))+"m")
	}
	if len(parts) == 0 {
		return "0m"
	}
	return strings.Join(parts, " ")
}

// hoursWords writes a whole number of hours as the runbook does ("48
// hours"), anything else as durationWords does.
func hoursWords(d time.Duration) string {
	if d%time.Hour != 0 || d < 2*time.Hour {
		return durationWords(d)
	}
	return strconv.Itoa(int(d/time.Hour)) + " hours"
}

// oneLine makes text safe for one line of a message: control and
// bidirectional-override characters go, runs of white space become one
// space, and it is cut at maxField runes.
func oneLine(s string) string {
	var b strings.Builder
	space := false
	n := 0
	for _, r := range s {
		switch {
		case unicode.IsSpace(r):
			space = b.Len() > 0
			continue
		case unicode.IsControl(r) || isBidi(r) || r == unicode.ReplacementChar:
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		if n == maxField {
			b.WriteString("…")
			break
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}

// maxField bounds one field of a message, well inside Slack's 2,000
// characters for a section field.
const maxField = 1500

// isBidi reports the Unicode bidirectional controls, which can make a
// message read differently from what it says.
func isBidi(r rune) bool {
	return (r >= 0x202A && r <= 0x202E) || (r >= 0x2066 && r <= 0x2069) || r == 0x200E || r == 0x200F || r == 0x061C
}

func firstOf(ss ...string) string {
	for _, s := range ss {
		if s = oneLine(s); s != "" {
			return s
		}
	}
	return ""
}

func orWords(s, missing string) string {
	if s == "" {
		return missing
	}
	return s
}

func titleCase(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
