// Package api is the incident API's HTTP layer: it authenticates the
// caller, decodes and checks the shape of each request, makes one call to
// the Service and writes its answer as JSON. The decisions live behind
// Service; the routes, their bodies and their answers are described in
// openapi.yaml (OpenAPI), which the tests hold the handler to.
package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/dashboarduz/incident-response/shared/auth"
	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/response"
)

// Service is what the API does; each route makes one call to it. actor is
// the caller as the timeline shows them (auth.Identity.Actor).
type Service interface {
	Report(ctx context.Context, actor string, r response.Report) (incident.Incident, error)
	List(ctx context.Context, r response.ListRequest) (response.IncidentList, error)
	Get(ctx context.Context, id string) (response.IncidentWithTimeline, error)
	Timeline(ctx context.Context, id, before string, limit int) (response.TimelinePage, error)
	Acknowledge(ctx context.Context, actor, id string, a response.Acknowledgement) (incident.Incident, error)
	PostUpdate(ctx context.Context, actor, id string, u response.StatusUpdate) (incident.Incident, error)
	ChangeSeverity(ctx context.Context, actor, id string, c response.SeverityChange) (incident.Incident, error)
	Escalate(ctx context.Context, actor, id string, e response.Escalation) (incident.Incident, error)
	Resolve(ctx context.Context, actor, id string, r response.Resolution) (incident.Incident, error)
	ScheduleMaintenance(ctx context.Context, actor string, m response.MaintenanceRequest) (incident.MaintenanceWindow, error)
	MaintenanceWindows(ctx context.Context, service string) ([]incident.MaintenanceWindow, error)
	EndMaintenance(ctx context.Context, actor, id string) (incident.MaintenanceWindow, error)
	PagerDutyWebhook(ctx context.Context, e response.PagerDutyEvent) error
	Triage(ctx context.Context, id string) (incident.TriageReport, error)
	ApproveAction(ctx context.Context, actor, id, action string, d response.ActionDecision) (incident.Incident, error)
	RejectAction(ctx context.Context, actor, id, action string, d response.ActionDecision) (incident.Incident, error)
	KillSwitch(ctx context.Context) (incident.KillSwitch, error)
	SetKillSwitch(ctx context.Context, actor string, c response.KillSwitchChange) (incident.KillSwitch, error)
}

// Authenticator says who sent a request: from the claims API Gateway's JWT
// authorizer checked, or from a token it checks itself (local mode). Any
// error means the request is answered 401.
type Authenticator interface {
	Authenticate(r *http.Request) (auth.Identity, error)
}

// Config is what New needs.
type Config struct {
	// Service does the work; required.
	Service Service
	// Auth authenticates every route but the open ones; required.
	Auth Authenticator
	// WebhookSecrets are the PagerDuty v3 webhook signing secrets. A
	// webhook signed with any of them is accepted, so a secret can be
	// rotated without refusing deliveries; with none, every webhook is
	// refused. Empty strings are ignored.
	WebhookSecrets []string
	// WebhookSecretSource, when set, is asked for the signing secrets when
	// a webhook's signature matches none of those known, so a secret
	// stored or rotated after the function started is picked up without
	// a restart. It should cache what it reads.
	WebhookSecretSource WebhookSecretSource
	// Clock dates a webhook whose event carries no occurred_at; nil means
	// incident.SystemClock.
	Clock incident.Clock
	// Dependencies are checked by GET /health, which answers 503 naming
	// the ones that fail (TableDependency for the table).
	Dependencies []Dependency
	// HealthTimeout bounds each dependency check; zero means
	// DefaultHealthTimeout.
	HealthTimeout time.Duration
	// PostMortems serves the post-mortem routes, StatusPage the public
	// status page (GET /status, /status.json, /status.atom; a
	// statuspage.Handler) and Metrics GET /metrics/summary. A handler
	// built without one answers its routes 404, so a build that does not
	// serve them needs nothing for them.
	PostMortems PostMortems
	StatusPage  http.Handler
	Metrics     MetricsSummary
	// Sentry configures POST /webhooks/sentry; its zero value refuses
	// every Sentry webhook.
	Sentry SentryConfig
	// Slack, when set, serves Slack's requests at POST /webhooks/slack;
	// without it every request there is refused with 401.
	Slack *SlackConfig
}

// WebhookSecretSource reads the current webhook signing secrets.
type WebhookSecretSource interface {
	WebhookSecrets(ctx context.Context) ([]string, error)
}

// Handler serves the incident API. Build it with New.
type Handler struct {
	svc     Service
	auth    Authenticator
	secrets []string
	source  WebhookSecretSource
	clock   incident.Clock
	mux     *http.ServeMux
	// deps are GET /health's dependencies, each checked within
	// healthTimeout.
	deps          []Dependency
	healthTimeout time.Duration
	postMortems   PostMortems
	status        http.Handler
	metrics       MetricsSummary
	sentry        SentryConfig
	slack         *SlackConfig
}

// Route is one method and path the handler serves. Path is a Go ServeMux
// pattern, which for these routes is also the OpenAPI path template.
type Route struct {
	Method string
	Path   string
	// Open routes are served without a token.
	Open bool
	// Role is the least role a caller needs; every role above it may use
	// the route too. NoRole on open routes only.
	Role auth.Role
}

// route is a Route and the method that serves it. actor is empty on open
// routes. A returned error is written by fail.
type route struct {
	Route
	serve func(h *Handler, w http.ResponseWriter, r *http.Request, actor string) error
}

// routes is the one table of what the handler serves: New registers it,
// Routes reports it and the OpenAPI conformance test compares it with
// openapi.yaml.
var routes = []route{
	{Route{http.MethodGet, "/health", true, auth.NoRole}, (*Handler).health},
	{Route{http.MethodPost, "/webhooks/pagerduty", true, auth.NoRole}, (*Handler).pagerDutyWebhook},
	{Route{http.MethodPost, "/webhooks/sentry", true, auth.NoRole}, (*Handler).sentryWebhook},
	// Slack's buttons, modal and slash command: signed by Slack, acting
	// as the Slack user's mapped responder.
	{Route{http.MethodPost, "/webhooks/slack", true, auth.NoRole}, (*Handler).slackWebhook},
	{Route{http.MethodPost, "/incidents", false, auth.Responder}, (*Handler).report},
	{Route{http.MethodGet, "/incidents", false, auth.Viewer}, (*Handler).list},
	{Route{http.MethodGet, "/incidents/{id}", false, auth.Viewer}, (*Handler).get},
	{Route{http.MethodGet, "/incidents/{id}/timeline", false, auth.Viewer}, (*Handler).timeline},
	{Route{http.MethodPost, "/incidents/{id}/acknowledge", false, auth.Responder}, (*Handler).acknowledge},
	{Route{http.MethodPost, "/incidents/{id}/updates", false, auth.Responder}, (*Handler).postUpdate},
	{Route{http.MethodPost, "/incidents/{id}/severity", false, auth.Commander}, (*Handler).changeSeverity},
	{Route{http.MethodPost, "/incidents/{id}/escalate", false, auth.Responder}, (*Handler).escalate},
	{Route{http.MethodPost, "/incidents/{id}/resolve", false, auth.Responder}, (*Handler).resolve},
	// Maintenance windows hold pages: only an incident commander may see,
	// open or end them.
	{Route{http.MethodGet, "/maintenance-windows", false, auth.Commander}, (*Handler).maintenanceWindows},
	{Route{http.MethodPost, "/maintenance-windows", false, auth.Commander}, (*Handler).scheduleMaintenance},
	{Route{http.MethodDelete, "/maintenance-windows/{id}", false, auth.Commander}, (*Handler).endMaintenance},
	// The public status page: only what responders published, to anyone.
	{Route{http.MethodGet, "/status", true, auth.NoRole}, (*Handler).statusPage},
	{Route{http.MethodGet, "/status.json", true, auth.NoRole}, (*Handler).statusPage},
	{Route{http.MethodGet, "/status.atom", true, auth.NoRole}, (*Handler).statusPage},
	// Post-mortems: everyone who may read incidents may read them; the
	// responders keep the action items; completing the review, which ends
	// the reminders, is the incident commander's call.
	{Route{http.MethodGet, "/incidents/{id}/postmortem", false, auth.Viewer}, (*Handler).postMortem},
	{Route{http.MethodPost, "/incidents/{id}/postmortem/action-items", false, auth.Responder}, (*Handler).addActionItem},
	{Route{http.MethodPost, "/incidents/{id}/postmortem/action-items/{item}/assign", false, auth.Responder}, (*Handler).assignActionItem},
	{Route{http.MethodPost, "/incidents/{id}/postmortem/action-items/{item}/close", false, auth.Responder}, (*Handler).closeActionItem},
	{Route{http.MethodPost, "/incidents/{id}/postmortem/complete", false, auth.Commander}, (*Handler).completePostMortem},
	{Route{http.MethodGet, "/metrics/summary", false, auth.Viewer}, (*Handler).metricsSummary},
	// Remediation: anyone may read the evidence and whether automation
	// is on; deciding a risky action is the incident commander's; the
	// kill switch stops all automation, so only an admin sets it.
	{Route{http.MethodGet, "/incidents/{id}/triage", false, auth.Viewer}, (*Handler).triage},
	{Route{http.MethodPost, "/incidents/{id}/actions/{action}/approve", false, auth.Commander}, (*Handler).approveAction},
	{Route{http.MethodPost, "/incidents/{id}/actions/{action}/reject", false, auth.Commander}, (*Handler).rejectAction},
	{Route{http.MethodGet, "/remediation/kill-switch", false, auth.Viewer}, (*Handler).killSwitch},
	{Route{http.MethodPut, "/remediation/kill-switch", false, auth.Admin}, (*Handler).setKillSwitch},
}

// Routes lists every route the handler serves, e.g. for the API Gateway
// routes and their authorizer.
func Routes() []Route {
	out := make([]Route, len(routes))
	for i, rt := range routes {
		out[i] = rt.Route
	}
	return out
}

// New returns the API handler; it fails when Service or Auth is missing,
// so bad wiring fails at cold start rather than on the first request.
func New(c Config) (*Handler, error) {
	if c.Service == nil {
		return nil, errors.New("api: Config.Service is required")
	}
	if c.Auth == nil {
		return nil, errors.New("api: Config.Auth is required")
	}
	h := &Handler{svc: c.Service, auth: c.Auth, clock: c.Clock, source: c.WebhookSecretSource, mux: http.NewServeMux(),
		deps: c.Dependencies, healthTimeout: c.HealthTimeout,
		postMortems: c.PostMortems, status: c.StatusPage, metrics: c.Metrics, sentry: c.Sentry, slack: c.Slack}
	if h.healthTimeout <= 0 {
		h.healthTimeout = DefaultHealthTimeout
	}
	if h.clock == nil {
		h.clock = incident.SystemClock{}
	}
	for _, s := range c.WebhookSecrets {
		if s != "" {
			h.secrets = append(h.secrets, s)
		}
	}
	for _, rt := range routes {
		h.mux.HandleFunc(rt.Method+" "+rt.Path, h.wrap(rt))
	}
	return h, nil
}

// ServeHTTP routes the request. Unknown paths and methods are answered with
// the JSON error body too, which ServeMux alone would answer in plain text.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if probe, pattern := h.mux.Handler(r); pattern == "" {
		h.unrouted(w, r, probe)
		return
	}
	h.mux.ServeHTTP(w, r)
}

// unrouted answers a request no route matches: 405 with Allow when the path
// is served for other methods, else 404. probe is ServeMux's own answer,
// which knows the allowed methods; it runs against a writer that keeps only
// the headers and status.
func (h *Handler) unrouted(w http.ResponseWriter, r *http.Request, probe http.Handler) {
	c := &statusCapture{header: http.Header{}}
	probe.ServeHTTP(c, r)
	if c.status == http.StatusMethodNotAllowed {
		allow := c.header.Get("Allow")
		w.Header().Set("Allow", allow)
		writeError(w, http.StatusMethodNotAllowed, &incident.Error{
			Code:    incident.EInvalid,
			Message: fmt.Sprintf("method %s is not allowed on %s; allowed: %s", r.Method, r.URL.Path, allow),
		})
		return
	}
	writeError(w, http.StatusNotFound, incident.Errorf(incident.ENotFound, "no route for %s %s", r.Method, r.URL.Path))
}

// statusCapture is a ResponseWriter that keeps the headers and status and
// drops the body.
type statusCapture struct {
	header http.Header
	status int
}

func (c *statusCapture) Header() http.Header         { return c.header }
func (c *statusCapture) Write(b []byte) (int, error) { return len(b), nil }
func (c *statusCapture) WriteHeader(status int)      { c.status = status }

// wrap authenticates the caller of a protected route and checks their
// role, then serves it and writes any error it returns.
func (h *Handler) wrap(rt route) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var actor string
		if !rt.Open {
			id, ok := h.authorize(w, r, rt.Route)
			if !ok {
				return
			}
			actor = id.Actor()
		}
		if err := rt.serve(h, w, r, actor); err != nil {
			fail(w, r, rt.Route, err)
		}
	}
}

// authorize authenticates the caller and checks that their role allows
// the route; when it does not, it writes the 401 or 403 and reports false.
func (h *Handler) authorize(w http.ResponseWriter, r *http.Request, rt Route) (auth.Identity, bool) {
	id, err := h.auth.Authenticate(r)
	if err == nil && id.Actor() == "" {
		err = errors.New("token names no subject")
	}
	if err != nil {
		slog.InfoContext(r.Context(), "authentication failed", "method", r.Method, "path", r.URL.Path, "err", err)
		w.Header().Set("WWW-Authenticate", "Bearer")
		msg := "missing or invalid bearer token"
		if incident.ErrorCode(err) == incident.EUnauthorized {
			msg = incident.ErrorMessage(err)
		}
		writeError(w, http.StatusUnauthorized, incident.Errorf(incident.EUnauthorized, "%s", msg))
		return auth.Identity{}, false
	}
	if !id.Role.Allows(rt.Role) {
		slog.InfoContext(r.Context(), "forbidden", "method", r.Method, "route", rt.Path, "sub", id.Subject, "role", id.Role.String(), "needs", rt.Role.String())
		held := "grants no role"
		if id.Role != auth.NoRole {
			held = "grants the " + id.Role.String() + " role"
		}
		writeError(w, http.StatusForbidden, incident.Errorf(incident.EForbidden,
			"%s %s needs the %s role or higher; your token %s", r.Method, rt.Path, rt.Role, held))
		return auth.Identity{}, false
	}
	return id, true
}
