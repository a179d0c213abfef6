// Package pagerduty pages the escalation levels of an incident through
// PagerDuty's Events API v2, with github.com/PagerDuty/go-pagerduty.
//
// Each escalation level is a PagerDuty service with its own routing key.
// The page for a level carries the dedup_key incident.PageDedupKey(id,
// level), so a retried trigger joins the alert it already opened instead
// of opening a second one. Failures come back as one of two named errors,
// *PagerDutyUnavailableError (retry) and *PagerDutyRejectedError (do not),
// returned unwrapped so a Lambda reports their type names to Step
// Functions.
package pagerduty

import (
	"context"
	"fmt"
	"unicode/utf8"

	pd "github.com/PagerDuty/go-pagerduty"

	"github.com/dashboarduz/incident-response/shared/incident"
)

// DefaultSource is the client name PagerDuty shows for our events when
// Options.Source is empty.
const DefaultSource = "dashboarduz-incident-response"

// MaxSummary is PagerDuty's limit on payload.summary.
const MaxSummary = 1024

// The Events API v2 event actions.
const (
	ActionTrigger     = "trigger"
	ActionAcknowledge = "acknowledge"
	ActionResolve     = "resolve"
)

// Options configures a Pager.
type Options struct {
	// Source names this system to PagerDuty as the events' client, e.g.
	// "dashboarduz-incident-response". Empty means DefaultSource.
	Source string
	// IncidentURL, when set, returns the address of an incident in this
	// system; the page links to it so the responder lands on the timeline.
	IncidentURL func(id string) string
	// Clock stamps a page whose incident has no opening time. Nil means
	// the system clock.
	Clock incident.Clock
}

// Pager sends pages, acknowledgements and resolutions to PagerDuty. It is
// safe for concurrent use if its EventsAPI is.
type Pager struct {
	api  EventsAPI
	opts Options
}

// New returns a Pager that sends events through api, usually the client
// NewEventsClient returns.
func New(api EventsAPI, opts Options) *Pager {
	if opts.Source == "" {
		opts.Source = DefaultSource
	}
	if opts.Clock == nil {
		opts.Clock = incident.SystemClock{}
	}
	return &Pager{api: api, opts: opts}
}

// link is an entry of an event's links.
type link struct {
	Href string `json:"href"`
	Text string `json:"text,omitempty"`
}

// Trigger sends the page for one level of an incident to the PagerDuty
// service behind routingKey and returns the alert's dedup_key. The
// dedup_key is incident.PageDedupKey(inc.ID, inc.Episode, level), so a retried trigger
// can never open a second PagerDuty incident.
func (p *Pager) Trigger(ctx context.Context, routingKey string, inc incident.Incident, level int, l incident.Level) (dedupKey string, err error) {
	ev := p.triggerEvent(routingKey, inc, level, l)
	resp, err := p.send(ctx, ev)
	if err != nil {
		return "", err
	}
	if resp != nil && resp.DedupKey != "" {
		return resp.DedupKey, nil
	}
	return ev.DedupKey, nil
}

// triggerEvent builds the trigger: the runbook's Initial Alert, with its
// first line as the summary and the rest as custom details.
func (p *Pager) triggerEvent(routingKey string, inc incident.Incident, level int, l incident.Level) *pd.V2Event {
	opened := inc.OpenedAt
	if opened.IsZero() {
		opened = p.opts.Clock.Now()
	}
	onCall := l.Title
	if onCall == "" {
		onCall = l.Name
	}
	details := map[string]string{
		"Status":           "Investigating",
		"Start Time":       opened.UTC().Format(timeLayout),
		"Affected":         inc.Service,
		"On-Call":          onCall,
		"Incident ID":      inc.ID,
		"Severity":         fmt.Sprintf("%s (%s)", inc.Severity, inc.Severity.Name()),
		"Escalation Level": fmt.Sprintf("%d (%s)", level, l.Name),
	}
	ev := &pd.V2Event{
		RoutingKey: routingKey,
		Action:     ActionTrigger,
		DedupKey:   incident.PageDedupKey(inc.ID, inc.Episode, level),
		Client:     p.opts.Source,
		Payload: &pd.V2Payload{
			Summary:   Summary(inc),
			Source:    inc.Service,
			Severity:  Severity(inc.Severity),
			Timestamp: opened.UTC().Format(timeLayout),
			Component: inc.Service,
			Group:     string(inc.Category),
			Class:     string(inc.Category),
			Details:   details,
		},
	}
	if p.opts.IncidentURL != nil {
		if u := p.opts.IncidentURL(inc.ID); u != "" {
			ev.ClientURL = u
			ev.Links = []any{link{Href: u, Text: "Incident " + inc.ID}}
		}
	}
	return ev
}

// timeLayout is ISO 8601 with milliseconds, as PagerDuty's examples use.
const timeLayout = "2006-01-02T15:04:05.000Z07:00"

// Acknowledge tells PagerDuty that the alert with dedupKey, opened through
// routingKey, is being worked on, so it stops notifying.
func (p *Pager) Acknowledge(ctx context.Context, routingKey, dedupKey string) error {
	_, err := p.send(ctx, &pd.V2Event{RoutingKey: routingKey, Action: ActionAcknowledge, DedupKey: dedupKey})
	return err
}

// Resolve tells PagerDuty that the alert with dedupKey, opened through
// routingKey, is resolved.
func (p *Pager) Resolve(ctx context.Context, routingKey, dedupKey string) error {
	_, err := p.send(ctx, &pd.V2Event{RoutingKey: routingKey, Action: ActionResolve, DedupKey: dedupKey})
	return err
}

// send makes one Events API call and classifies its failure. The error is
// returned unwrapped: its type name is what Step Functions matches on.
func (p *Pager) send(ctx context.Context, ev *pd.V2Event) (*pd.V2EventResponse, error) {
	xctx, x := withExchange(ctx)
	resp, err := p.api.ManageEventWithContext(xctx, ev)
	if err != nil {
		return nil, classify(ctx, ev.Action, ev.DedupKey, err, x)
	}
	return resp, nil
}

// Severity maps the runbook's severity to PagerDuty's: P0 critical, P1
// error, P2 warning, P3 info. An unknown severity maps to critical, so a
// mistake never quietens a page.
func Severity(s incident.Severity) string {
	switch s {
	case incident.P0:
		return "critical"
	case incident.P1:
		return "error"
	case incident.P2:
		return "warning"
	case incident.P3:
		return "info"
	}
	return "critical"
}

// Summary is the first line of the runbook's Initial Alert, e.g.
// "🚨 INCIDENT: P0 dashboarduz-api - API 5xx error rate above 5%". It is
// cut to MaxSummary bytes on a character boundary, ending in "…", so it
// fits PagerDuty's limit however PagerDuty counts characters.
func Summary(inc incident.Incident) string {
	s := fmt.Sprintf("🚨 INCIDENT: %s %s", inc.Severity, inc.Service)
	if inc.Summary != "" {
		s += " - " + inc.Summary
	}
	return truncate(s, MaxSummary)
}

// truncate cuts s to at most max bytes of valid UTF-8, marking the cut
// with an ellipsis.
func truncate(s string, max int) string {
	if len(s) <= max {
		return s
	}
	const ellipsis = "…"
	cut := max - len(ellipsis)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + ellipsis
}
