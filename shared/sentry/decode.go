package sentry

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/dashboarduz/incident-response/shared/incident"
)

// SignalSource is the Source of every Signal Decode returns.
const SignalSource = "sentry"

// The actions Decode reads.
const (
	actionCreated    = "created"
	actionResolved   = "resolved"
	actionUnresolved = "unresolved"
	actionIgnored    = "ignored"
	actionArchived   = "archived"
	actionAssigned   = "assigned"
	actionCritical   = "critical"
	actionWarning    = "warning"
	actionTriggered  = "triggered"
)

// defaultLevel is the level Sentry gives an event that names none.
const defaultLevel = "error"

// Decode turns a verified delivery into a signal. An issue that is created
// or unresolved again fires and a resolved or archived one recovers; a
// metric alert fires at critical and warning and recovers when resolved;
// an issue alert fires. An assignment, a level the mapping does not list
// and the resources this system does not act on (installation, comment,
// ...) give an ignored signal that says why. Every failure is a
// *WebhookError of kind Malformed or Unsupported.
func Decode(d Delivery, m Mapping) (incident.Signal, error) {
	if d.Timestamp.IsZero() {
		return incident.Signal{}, webhookErrorf(Malformed, nil, "the delivery has no %s", HeaderTimestamp)
	}
	if !json.Valid(d.Body) {
		err := json.Unmarshal(d.Body, new(json.RawMessage))
		return incident.Signal{}, webhookErrorf(Malformed, err, "body is not JSON: %v", err)
	}
	var w Webhook
	if t := bytes.TrimLeft(d.Body, " \t\r\n"); len(t) == 0 || t[0] != '{' {
		return incident.Signal{}, webhookErrorf(Malformed, nil, "body is JSON but not an object")
	}
	if err := json.Unmarshal(d.Body, &w); err != nil {
		return incident.Signal{}, shapeError("", err)
	}
	if w.Action == "" {
		return incident.Signal{}, webhookErrorf(Malformed, nil, "action is missing")
	}
	if t := bytes.TrimLeft(w.Data, " \t\r\n"); len(t) == 0 || t[0] != '{' {
		return incident.Signal{}, webhookErrorf(Malformed, nil, "data is missing or not an object")
	}
	switch d.Resource {
	case ResourceIssue:
		return decodeIssue(d, w, m)
	case ResourceMetricAlert:
		return decodeMetricAlert(d, w, m)
	case ResourceEventAlert:
		return decodeEventAlert(d, w, m)
	case "":
		return incident.Signal{}, webhookErrorf(Malformed, nil, "%s is missing", HeaderResource)
	}
	if !slices.Contains(knownResources, d.Resource) {
		return incident.Signal{}, webhookErrorf(Unsupported, nil, "%s %q is not a Sentry resource", HeaderResource, clip(d.Resource))
	}
	return ignoredResource(d, w, m), nil
}

// base is what every Sentry signal shares.
func base(d Delivery, w Webhook, m Mapping) incident.Signal {
	s := incident.Signal{
		Source:   SignalSource,
		Category: m.Category,
		Time:     d.Timestamp.UTC(),
		Details:  map[string]string{"sentryResource": d.Resource, "sentryAction": w.Action},
	}
	putIf(s.Details, "requestId", d.RequestID)
	putIf(s.Details, "installation", w.Installation.UUID)
	if w.Actor != nil {
		putIf(s.Details, "actor", strings.TrimSpace(w.Actor.Name+" ("+w.Actor.Type+")"))
	}
	return s
}

// decodeIssue reads an issue webhook.
func decodeIssue(d Delivery, w Webhook, m Mapping) (incident.Signal, error) {
	var data IssueData
	if err := json.Unmarshal(w.Data, &data); err != nil {
		return incident.Signal{}, shapeError("data.", err)
	}
	i := data.Issue
	switch {
	case i.ID == "":
		return incident.Signal{}, webhookErrorf(Malformed, nil, "data.issue.id is missing")
	case i.Project.Slug == "":
		return incident.Signal{}, webhookErrorf(Malformed, nil, "data.issue.project.slug is missing")
	}
	s := base(d, w, m)
	s.Service = m.service(i.Project.Slug)
	s.DedupKey = "sentry:issue:" + i.ID
	seen := i.LastSeen
	if seen == "" {
		seen = i.FirstSeen
	}
	s.EventID = "sentry:issue:" + i.ID + "/" + w.Action + "@" + seen
	if seen == "" {
		s.EventID += d.RequestID
	}
	name := i.ShortID
	if name == "" {
		name = "issue " + i.ID
	}
	s.Summary = fmt.Sprintf("Sentry %s: %s", name, orNone(i.Title))
	level := strings.ToLower(i.Level)
	if level == "" {
		level = defaultLevel
	}
	for k, v := range map[string]string{"sentryIssueId": i.ID, "sentryShortId": i.ShortID, "sentryProject": i.Project.Slug,
		"level": level, "status": i.Status, "culprit": i.Culprit, "webUrl": i.WebURL, "count": i.Count} {
		putIf(s.Details, k, v)
	}
	if i.Substatus != nil {
		putIf(s.Details, "substatus", *i.Substatus)
	}
	switch w.Action {
	case actionCreated:
		s.State, s.Reason = incident.Firing, "New Sentry issue in "+i.Project.Slug+": "+orNone(i.Culprit)
	case actionUnresolved:
		s.State, s.Reason = incident.Firing, "The Sentry issue is unresolved again"+parenthesised(i.Substatus)+": "+orNone(i.Culprit)
	case actionResolved:
		s.State, s.Reason = incident.Recovered, "The Sentry issue was resolved"+by(w.Actor)
	case actionIgnored, actionArchived:
		s.State, s.Reason = incident.Recovered, "The Sentry issue was archived"+parenthesised(i.Substatus)+by(w.Actor)+"; Sentry stops alerting on it"
	case actionAssigned:
		s.State, s.Severity, s.Reason = incident.Inconclusive, incident.P3, "The Sentry issue was assigned"+by(w.Actor)
		s.Ignored = "an assignment in Sentry changes nothing here"
		return s, nil
	default:
		return incident.Signal{}, webhookErrorf(Unsupported, nil, "issue action %q is not created, resolved, unresolved, ignored, archived or assigned", clip(w.Action))
	}
	levelSeverity(&s, m, level)
	return s, nil
}

// levelSeverity sets the severity a level maps to, or ignores a signal
// whose level maps to none.
func levelSeverity(s *incident.Signal, m Mapping, level string) {
	sev, ok := m.Levels[level]
	if !ok {
		s.Severity = incident.P3
		s.Ignored = fmt.Sprintf("Sentry level %q maps to no severity, so it is no incident", clip(level))
		return
	}
	s.Severity = sev
}

// decodeMetricAlert reads a metric alert webhook.
func decodeMetricAlert(d Delivery, w Webhook, m Mapping) (incident.Signal, error) {
	var data MetricAlertData
	if err := json.Unmarshal(w.Data, &data); err != nil {
		return incident.Signal{}, shapeError("data.", err)
	}
	a := data.MetricAlert
	switch {
	case a.ID == "":
		return incident.Signal{}, webhookErrorf(Malformed, nil, "data.metric_alert.id is missing")
	case a.AlertRule.ID == "":
		return incident.Signal{}, webhookErrorf(Malformed, nil, "data.metric_alert.alert_rule.id is missing")
	}
	projects := a.Projects
	if len(projects) == 0 {
		projects = a.AlertRule.Projects
	}
	if len(projects) == 0 || projects[0] == "" {
		return incident.Signal{}, webhookErrorf(Malformed, nil, "data.metric_alert names no project (projects and alert_rule.projects are empty)")
	}
	s := base(d, w, m)
	s.Service = m.service(projects[0])
	s.DedupKey = "sentry:metric-alert:" + a.AlertRule.ID
	s.EventID = "sentry:metric-alert:" + a.AlertRule.ID + "/incident/" + a.ID + "/" + w.Action
	name := a.AlertRule.Name
	if name == "" {
		name = a.Title
	}
	s.Summary = fmt.Sprintf("Sentry metric alert %q is %s", orNone(name), w.Action)
	s.Reason = strings.TrimSpace(data.DescriptionTitle + ": " + data.DescriptionText)
	for k, v := range map[string]string{"sentryAlertRuleId": a.AlertRule.ID, "sentryIncidentId": a.ID, "sentryIncident": a.Identifier,
		"sentryProjects": strings.Join(projects, ","), "query": a.AlertRule.Query, "aggregate": a.AlertRule.Aggregate, "webUrl": data.WebURL} {
		putIf(s.Details, k, v)
	}
	switch w.Action {
	case actionCritical, actionWarning:
		s.State, s.Severity = incident.Firing, m.MetricAlerts[w.Action]
	case actionResolved:
		s.State, s.Severity = incident.Recovered, m.MetricAlerts[actionCritical]
		s.Summary = fmt.Sprintf("Sentry metric alert %q is resolved", orNone(name))
	default:
		return incident.Signal{}, webhookErrorf(Unsupported, nil, "metric_alert action %q is not critical, warning or resolved", clip(w.Action))
	}
	return s, nil
}

// decodeEventAlert reads an issue alert webhook: an alert rule matched an
// event of an issue. It joins the issue's own signals by sharing its
// DedupKey.
func decodeEventAlert(d Delivery, w Webhook, m Mapping) (incident.Signal, error) {
	if w.Action != actionTriggered {
		return incident.Signal{}, webhookErrorf(Unsupported, nil, "event_alert action %q is not triggered", clip(w.Action))
	}
	var data EventAlertData
	if err := json.Unmarshal(w.Data, &data); err != nil {
		return incident.Signal{}, shapeError("data.", err)
	}
	if t := bytes.TrimLeft(data.Event, " \t\r\n"); len(t) == 0 || t[0] != '{' {
		return incident.Signal{}, webhookErrorf(Malformed, nil, "data.event is missing or not an object")
	}
	var ev AlertEvent
	if err := json.Unmarshal(data.Event, &ev); err != nil {
		return incident.Signal{}, shapeError("data.event.", err)
	}
	switch {
	case ev.EventID == "":
		return incident.Signal{}, webhookErrorf(Malformed, nil, "data.event.event_id is missing")
	case ev.IssueID == "":
		return incident.Signal{}, webhookErrorf(Malformed, nil, "data.event.issue_id is missing")
	}
	slug, ok := projectSlug(ev.URL)
	if !ok {
		return incident.Signal{}, webhookErrorf(Malformed, nil, "data.event.url %q does not name the project (want .../projects/<org>/<project>/events/<id>/)", clip(ev.URL))
	}
	s := base(d, w, m)
	s.Service = m.service(slug)
	s.DedupKey = "sentry:issue:" + ev.IssueID
	s.EventID = "sentry:event-alert:" + ev.EventID + "/" + data.TriggeredRule
	s.State = incident.Firing
	s.Summary = fmt.Sprintf("Sentry alert rule %q: %s", orNone(data.TriggeredRule), orNone(ev.Title))
	s.Reason = "Sentry alert rule " + orNone(data.TriggeredRule) + " matched an event: " + orNone(ev.Culprit)
	level := strings.ToLower(ev.Level)
	if level == "" {
		level = defaultLevel
	}
	for k, v := range map[string]string{"sentryIssueId": ev.IssueID, "sentryEventId": ev.EventID, "sentryProject": slug,
		"level": level, "culprit": ev.Culprit, "webUrl": ev.WebURL, "triggeredRule": data.TriggeredRule} {
		putIf(s.Details, k, v)
	}
	if ev.Release != nil {
		putIf(s.Details, "release", *ev.Release)
	}
	levelSeverity(&s, m, level)
	return s, nil
}

// projectSlug reads the project's slug from an event's API URL,
// .../projects/<org>/<project>/events/<id>/.
func projectSlug(raw string) (string, bool) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", false
	}
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	for i := 0; i+3 < len(parts); i++ {
		if parts[i] == "projects" && parts[i+3] == "events" && parts[i+1] != "" && parts[i+2] != "" {
			return parts[i+2], true
		}
	}
	return "", false
}

// ignoredResource answers the resources Sentry sends that this system does
// not act on, so that a subscription to more than it needs is recorded,
// not refused.
func ignoredResource(d Delivery, w Webhook, m Mapping) incident.Signal {
	s := base(d, w, m)
	install := w.Installation.UUID
	if install == "" {
		install = "unknown-installation"
	}
	s.Service = SignalSource
	s.Severity = incident.P3
	s.State = incident.Inconclusive
	s.DedupKey = "sentry:" + d.Resource + ":" + install
	s.EventID = fmt.Sprintf("sentry:%s:%s/%s@%d/%s", d.Resource, install, w.Action, d.Timestamp.Unix(), d.RequestID)
	s.Summary = fmt.Sprintf("Sentry %s webhook (%s)", d.Resource, clip(w.Action))
	s.Ignored = fmt.Sprintf("this system acts on Sentry's issue, metric_alert and event_alert webhooks, not %s", d.Resource)
	return s
}

// shapeError names the field of a JSON type mismatch.
func shapeError(prefix string, err error) *WebhookError {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return webhookErrorf(Malformed, err, "%s%s has the wrong type: got a JSON %s", prefix, te.Field, te.Value)
	}
	return webhookErrorf(Malformed, err, "body does not have the shape of a Sentry webhook: %v", err)
}

func parenthesised(s *string) string {
	if s == nil || *s == "" {
		return ""
	}
	return " (" + *s + ")"
}

func by(a *Actor) string {
	if a == nil || a.Name == "" {
		return ""
	}
	return " by " + a.Name
}

func putIf(m map[string]string, k, v string) {
	if v != "" {
		m[k] = v
	}
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
