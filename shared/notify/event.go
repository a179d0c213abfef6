package notify

import (
	"context"
	"strconv"
	"strings"

	"github.com/dashboarduz/incident-response/shared/incident"
)

// Kind is a kind of message.
type Kind string

// The kinds of message. Alert, StatusUpdate and Resolution are the
// runbook's templates; the others are replies in the alert's thread.
const (
	KindAlert        Kind = "alert"
	KindStatusUpdate Kind = "status-update"
	KindResolution   Kind = "resolution"
	KindPage         Kind = "page"
	KindEscalation   Kind = "escalation"
	KindBreach       Kind = "breach"
	KindRemediation  Kind = "remediation"
	KindAcknowledged Kind = "acknowledged"
	// KindRecovered: the alarm returned to OK; the incident stays open.
	KindRecovered Kind = "recovered"
	// KindReopened: the alarm fired again soon after the resolution.
	KindReopened Kind = "reopened"
	// KindTriage: the evidence gathered before anyone looked.
	KindTriage Kind = "triage"
	// KindSeverityChanged: a responder changed the severity.
	KindSeverityChanged Kind = "severity-changed"
	// KindReminder: the post-mortem is due soon, or overdue (Facts.Reminder
	// says which).
	KindReminder Kind = "reminder"
)

// Kinds lists every kind of message.
var Kinds = []Kind{KindAlert, KindStatusUpdate, KindResolution, KindPage, KindEscalation, KindBreach, KindRemediation, KindAcknowledged,
	KindRecovered, KindReopened, KindTriage, KindSeverityChanged, KindReminder}

// KindOf says which message announces a timeline entry, and false for an
// entry no message announces (signals, syncs, maintenance). A page to the
// first level is a page; a page to a higher level, or a responder's
// request for one, is an escalation.
func KindOf(e incident.Entry) (Kind, bool) {
	switch {
	case e.Kind == incident.EntryPaged && e.Data["level"] == "1":
		return KindPage, true
	case e.Kind == incident.EntryPaged, e.Kind == incident.EntryEscalated:
		return KindEscalation, true
	case e.Kind == incident.EntryBreach:
		return KindBreach, true
	case e.Kind == incident.EntryStatusUpdate:
		return KindStatusUpdate, true
	case e.Kind == incident.EntryResolved:
		return KindResolution, true
	case e.Kind == incident.EntryAcknowledged:
		return KindAcknowledged, true
	case e.Kind == incident.EntryOpened, e.Kind == incident.EntryReported:
		return KindAlert, true
	case isRemediation(e.Kind):
		return KindRemediation, true
	case e.Kind == incident.EntryRecovered:
		return KindRecovered, true
	case e.Kind == incident.EntryReopened:
		return KindReopened, true
	case e.Kind == incident.EntryTriage:
		return KindTriage, true
	case e.Kind == incident.EntrySeverityChanged:
		return KindSeverityChanged, true
	}
	return "", false
}

// isRemediation reports the timeline entries of the remediation steps,
// whose kinds all begin with "remediat" (remediation, remediated, ...).
func isRemediation(k incident.EntryKind) bool {
	return strings.HasPrefix(string(k), "remediat")
}

// event builds what a thread reply announces from its timeline entry.
func (b *Builder) event(ctx context.Context, p incident.Policy, kind Kind, inc incident.Incident, e incident.Entry, f Facts) Event {
	ev := Event{
		At:      b.timeWords(e.At, "Not recorded"),
		By:      firstOf(e.Actor, "escalation"),
		Reason:  NotStatedYet,
		Level:   "Not paged",
		People:  "Nobody",
		Target:  "Not recorded",
		Action:  firstOf(e.Data["action"], e.Text, NotStatedYet),
		Outcome: firstOf(e.Data["outcome"], e.Data["result"], NotKnownYet),
	}
	switch kind {
	case KindPage, KindEscalation:
		b.paged(ctx, p, inc, e, f, &ev)
	case KindBreach:
		ev.Target, ev.Reason = breachTarget(p, inc, e)
	case KindRemediation:
		ev.Reason = firstOf(e.Data["reason"], NotStatedYet)
		if e.Data["dryRun"] == "true" {
			ev.Outcome = "Dry run, nothing changed: " + ev.Outcome
		}
	case KindAcknowledged:
		ev.Reason = firstOf(afterColon(e.Text), "Taken on")
	case KindReopened:
		ev.Reason = titleCase(firstOf(afterColon(e.Text), "The alarm fired again soon after the resolution"))
	case KindTriage:
		ev.Action, ev.Details = triageLines(e.Text)
	case KindSeverityChanged:
		ev.Target = severityChange(e)
		ev.Reason = firstOf(afterColon(e.Text), NotStatedYet)
	}
	return ev
}

// maxDetails bounds the detail lines of a thread reply.
const maxDetails = 20

// triageLines splits a triage entry's text into its first line and the
// lines of its parts.
func triageLines(text string) (first string, details []string) {
	lines := strings.Split(text, "\n")
	first = firstOf(lines[0], NotKnownYet)
	for _, l := range lines[1:] {
		if l = oneLine(l); l == "" {
			continue
		}
		if len(details) == maxDetails {
			details = append(details, "… and more on the timeline")
			break
		}
		details = append(details, l)
	}
	return first, details
}

// severityChange words a severity change: "P2 Medium → P1 High".
func severityChange(e incident.Entry) string {
	from, to := incident.Severity(e.Data["from"]), incident.Severity(e.Data["to"])
	if _, err := incident.ParseSeverity(string(to)); err != nil {
		return "Changed (see the timeline)"
	}
	if _, err := incident.ParseSeverity(string(from)); err != nil {
		return "Now " + severityWords(to)
	}
	return severityWords(from) + " → " + severityWords(to)
}

// paged fills the level, the people and the reason of a page or an
// escalation.
func (b *Builder) paged(ctx context.Context, p incident.Policy, inc incident.Incident, e incident.Entry, f Facts, ev *Event) {
	n, _ := strconv.Atoi(e.Data["level"])
	l, ok := p.Level(n)
	if !ok {
		if name := e.Data["levelName"]; name != "" {
			n, l, ok = p.LevelNumber(name), incident.Level{Name: name, Title: name}, true
		}
	}
	if !ok {
		ev.Level, ev.People = "Unknown level", "Unknown"
		return
	}
	ev.Level = strconv.Itoa(n) + " of " + strconv.Itoa(len(p.Levels)) + " (" + oneLine(l.Name) + ")"
	ev.People = b.onCallWords(ctx, p, inc, n, f)
	if e.Kind == incident.EntryEscalated {
		ev.Reason = "Asked for by " + ev.By
		for _, r := range inc.Escalations {
			if r.Level == n && r.At.Equal(e.At) && r.Reason != "" {
				ev.Reason += ": " + oneLine(r.Reason)
			}
		}
		return
	}
	switch reason := afterColon(e.Text); {
	case reason != "":
		ev.Reason = titleCase(reason)
	case n == 1:
		ev.Reason = "A new incident pages the first level at once"
	}
}

// breachTarget names a missed target and the runbook's wording of it.
func breachTarget(p incident.Policy, inc incident.Incident, e incident.Entry) (target, reason string) {
	sev := incident.Severity(firstOf(e.Data["severity"], string(inc.Severity)))
	if _, err := incident.ParseSeverity(string(sev)); err != nil {
		return "Unknown target", firstOf(e.Text, NotKnownYet)
	}
	sp := p.For(sev)
	if e.Data["target"] == incident.TargetResolution {
		return string(sev) + " resolution target (" + durationWords(sp.ResolveWithin.D()) + ")",
			"Not resolved within " + durationWords(sp.ResolveWithin.D()) + " of the start"
	}
	return string(sev) + " response time (" + durationWords(sp.AcknowledgeWithin.D()) + ")",
		"Not acknowledged within " + durationWords(sp.AcknowledgeWithin.D()) + " of the page"
}

// afterColon returns what a timeline text says after its first ": ",
// without a final full stop: the reason the escalation wrote.
func afterColon(s string) string {
	_, after, ok := strings.Cut(oneLine(s), ": ")
	if !ok {
		return ""
	}
	return strings.TrimSuffix(after, ".")
}
