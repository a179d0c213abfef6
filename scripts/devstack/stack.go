package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/aws/smithy-go/middleware"

	"github.com/dashboarduz/incident-response/shared/api"
	"github.com/dashboarduz/incident-response/shared/auth"
	"github.com/dashboarduz/incident-response/shared/comms"
	"github.com/dashboarduz/incident-response/shared/dynamo"
	"github.com/dashboarduz/incident-response/shared/escalation"
	"github.com/dashboarduz/incident-response/shared/eventbridge"
	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/ingest"
	"github.com/dashboarduz/incident-response/shared/local/awslocal"
	"github.com/dashboarduz/incident-response/shared/local/dynalite"
	"github.com/dashboarduz/incident-response/shared/local/pagerdutylocal"
	"github.com/dashboarduz/incident-response/shared/local/sfnlocal"
	"github.com/dashboarduz/incident-response/shared/local/slacklocal"
	"github.com/dashboarduz/incident-response/shared/pagerduty"
	"github.com/dashboarduz/incident-response/shared/response"
	"github.com/dashboarduz/incident-response/shared/secrets"
	"github.com/dashboarduz/incident-response/shared/slack"
	"github.com/dashboarduz/incident-response/shared/statemachine"
	"github.com/dashboarduz/incident-response/shared/statuspage"
	"github.com/dashboarduz/incident-response/shared/triage/evidence"
)

// Local pseudo-ARNs of the functions the state machine calls, and of the
// state machine ($$.StateMachine.Id in its context object).
const (
	PlanARN         = "arn:aws:lambda:us-east-1:000000000000:function:escalation-plan"
	PageARN         = "arn:aws:lambda:us-east-1:000000000000:function:escalation-page"
	TriageARN       = "arn:aws:lambda:us-east-1:000000000000:function:triage"
	RemediateARN    = "arn:aws:lambda:us-east-1:000000000000:function:remediate"
	NotifyARN       = "arn:aws:lambda:us-east-1:000000000000:function:notify"
	StateMachineARN = "arn:aws:states:us-east-1:000000000000:stateMachine:escalation"
)

// Options configures a local stack.
type Options struct {
	// DynamoEndpoint is an already running DynamoDB endpoint; empty starts
	// dynalite.
	DynamoEndpoint string
	// Table is the table name; empty picks a fresh one. A missing table
	// is created, an existing one used as it is.
	Table string
	// DynamoAPIOptions go on the DynamoDB client's middleware stack, e.g.
	// the request counter of shared/local/dynamocount.
	DynamoAPIOptions []func(*middleware.Stack) error
	// Start is the virtual clock's starting time.
	Start time.Time
	// RealTime runs the stack on the wall clock, as the dev server does:
	// every handler reads the wall clock, and each escalation runs by
	// itself from the moment it starts, sleeping through its waits
	// (sfnlocal.NewRealTime). Start is ignored. Without it the stack runs
	// on the virtual clock, and escalations run in Exec.RunReady and
	// Exec.RunUntil, as scenarios and replays do.
	RealTime bool
	// Policy is the escalation policy; nil means the embedded default.
	Policy *incident.Policy
	// Issuer signs and checks the API's tokens; nil makes a fresh key.
	Issuer *auth.LocalIssuer
	// PagerDutyURL, when set, is the PagerDuty Events API the stack pages
	// instead of its built-in recorder.
	PagerDutyURL string
	// WebhookSecret signs PagerDuty webhooks sent to the local API; empty
	// means DefaultWebhookSecret.
	WebhookSecret string
	// HandoverAfter, when positive, is how many plans an execution makes
	// before it hands over to a fresh one (escalation.DefaultHandoverAfter
	// otherwise): tests make it small.
	HandoverAfter int
	// SentrySecret is the Sentry client secret the local API verifies
	// Sentry webhooks with; empty means DefaultSentrySecret.
	SentrySecret string
	// WrapTask, when set, wraps the task function of each Lambda the state
	// machine calls (by its ARN): fault injection for tests, such as a
	// function that crashes after doing its work.
	WrapTask func(arn string, f sfnlocal.TaskFunc) sfnlocal.TaskFunc
}

// Local identity settings: the issuer and audience of the local tokens,
// as the stack's JWT authorizer would be configured with in AWS.
const (
	LocalIssuer          = "https://devstack.dashboarduz.local"
	LocalAudience        = "dashboarduz-incident-response"
	DefaultWebhookSecret = "devstack-webhook-secret"
	DefaultSentrySecret  = "devstack-sentry-secret"
)

// Responder is the identity scenario calls are made as unless a step
// names another role.
var Responder = Caller(auth.Responder)

// Caller is the local identity holding role: devstack-<role>, with the
// verified email <role>@dashboarduz.local.
func Caller(role auth.Role) auth.Identity {
	name := role.String()
	return auth.Identity{
		Subject: "devstack-" + name, Email: name + "@dashboarduz.local", EmailVerified: true,
		Name: "Local " + strings.ToUpper(name[:1]) + name[1:], Role: role,
	}
}

// Stack is the whole pipeline on one machine: dynalite, the deployed
// state-machine definition on a virtual clock, the real handlers, and a
// PagerDuty Events API recorder.
type Stack struct {
	// Clock is what every handler and the executor read: Virtual, or the
	// wall clock in real time.
	Clock incident.Clock
	// Virtual is the virtual clock; nil in real time.
	Virtual *sfnlocal.VirtualClock
	Store   *dynamo.Store
	// Table is the name of the stack's DynamoDB table.
	Table    string
	Exec     *sfnlocal.Executor
	Recorder *pagerdutylocal.Recorder
	Ingest   *ingest.Handler
	Policy   incident.Policy
	// Service is the responders' operations, and API the HTTP API in front
	// of them, as the api function serves it.
	Service *response.Service
	API     http.Handler
	Issuer  *auth.LocalIssuer
	// Slack is the local Slack the Notify task posts to, and Directory
	// maps its users to responders. AWS stands in for the AWS services
	// triage and remediation call and the SES Notify emails through, and
	// App for the application's /health and /health/queues; Sources and
	// Remediation are the triage sources and remediation policy the
	// follow-up tasks use (the embedded defaults: the runbook's names).
	Slack       *slacklocal.Server
	Directory   slack.Directory
	AWS         *awslocal.Server
	App         *App
	Sources     evidence.Config
	Remediation incident.RemediationPolicy

	webhookSecret string
	handoverAfter int
	sentrySecret  string
	pagerDutyREST string

	closers []func() error
}

// RoutingKey is the local routing key of an escalation level: 32
// characters, as PagerDuty's are.
func RoutingKey(level string) string {
	sum := sha256.Sum256([]byte("dashboarduz-local/" + level))
	return hex.EncodeToString(sum[:16])
}

// NewStack starts a local stack.
func NewStack(ctx context.Context, opts Options) (_ *Stack, err error) {
	s := &Stack{}
	defer func() {
		// Stop whatever started before the failure.
		if err != nil {
			s.Close()
		}
	}()
	if opts.Start.IsZero() {
		opts.Start = time.Now().UTC().Truncate(time.Second)
	}
	if opts.RealTime {
		s.Clock = incident.SystemClock{}
	} else {
		s.Virtual = sfnlocal.NewVirtualClock(opts.Start)
		s.Clock = s.Virtual
	}
	s.Policy = incident.DefaultPolicy()
	if opts.Policy != nil {
		s.Policy = *opts.Policy
	}
	s.handoverAfter = opts.HandoverAfter
	if err := s.startStore(ctx, opts); err != nil {
		return nil, err
	}
	pdURL, err := s.startPagerDuty(opts)
	if err != nil {
		return nil, err
	}
	if err := s.startRunbook(s.Clock.Now()); err != nil {
		return nil, err
	}
	if err := s.startExecutor(opts, pdURL); err != nil {
		return nil, err
	}
	starter := sfnlocal.Starter{Executor: s.Exec}
	s.Ingest = &ingest.Handler{Store: s.Store, Starter: starter, Rules: incident.DefaultClassificationRules(), Allow: eventbridge.DefaultAllowList(),
		Policy: s.Policy, Clock: s.Clock, Memory: ingest.NewMemory(ingest.DefaultMemorySize)}
	s.Service = &response.Service{Store: s.Store, Starter: starter, Policy: s.Policy, Clock: s.Clock}
	s.Issuer = opts.Issuer
	if s.Issuer == nil {
		if s.Issuer, err = auth.NewLocalIssuer(LocalIssuer, LocalAudience, s.Clock); err != nil {
			return nil, err
		}
	}
	s.webhookSecret = opts.WebhookSecret
	if s.webhookSecret == "" {
		s.webhookSecret = DefaultWebhookSecret
	}
	s.sentrySecret = opts.SentrySecret
	if s.sentrySecret == "" {
		s.sentrySecret = DefaultSentrySecret
	}
	if err := s.rebuildAPI(); err != nil {
		return nil, err
	}
	return s, nil
}

// startStore starts dynalite unless opts names an endpoint, and creates
// the table unless it exists.
func (s *Stack) startStore(ctx context.Context, opts Options) error {
	endpoint := opts.DynamoEndpoint
	if endpoint == "" {
		srv, err := dynalite.Start(ctx)
		if err != nil {
			return err
		}
		s.closers = append(s.closers, srv.Stop)
		endpoint = srv.Endpoint
	}
	table := opts.Table
	if table == "" {
		table = fmt.Sprintf("incidents-%d", time.Now().UnixNano())
	}
	client, err := newDynamoClient(endpoint, opts.DynamoAPIOptions)
	if err != nil {
		return err
	}
	if err := ensureTable(ctx, client, table); err != nil {
		return fmt.Errorf("table %s: %w", table, err)
	}
	s.Store, s.Table = dynamo.New(client, table), table
	return nil
}

// startPagerDuty starts the PagerDuty recorder and returns the Events API
// URL to page: the recorder's, unless opts names another.
func (s *Stack) startPagerDuty(opts Options) (string, error) {
	s.Recorder = pagerdutylocal.New(s.Clock)
	pd, err := pagerdutylocal.Start(s.Recorder)
	if err != nil {
		return "", err
	}
	s.closers = append(s.closers, pd.Close)
	if err := s.startComms(pd); err != nil {
		return "", err
	}
	if opts.PagerDutyURL != "" {
		return opts.PagerDutyURL, nil
	}
	return pd.URL, nil
}

// startExecutor loads the deployed definition on the local executor, on
// the virtual clock or in real time, with the functions it calls as its
// tasks, paging pdURL.
func (s *Stack) startExecutor(opts Options, pdURL string) error {
	def, err := statemachine.Substitute(statemachine.Definition, map[string]string{
		statemachine.PlanFunctionArn:      PlanARN,
		statemachine.PageFunctionArn:      PageARN,
		statemachine.TriageFunctionArn:    TriageARN,
		statemachine.RemediateFunctionArn: RemediateARN,
		statemachine.NotifyFunctionArn:    NotifyARN,
	})
	if err != nil {
		return err
	}
	tasks, err := s.tasks(pdURL)
	if err != nil {
		return err
	}
	if opts.WrapTask != nil {
		for arn, f := range tasks {
			tasks[arn] = opts.WrapTask(arn, f)
		}
	}
	if opts.RealTime {
		s.Exec, err = sfnlocal.NewRealTime(def, tasks, sfnlocal.WithStateMachineARN(StateMachineARN))
	} else {
		s.Exec, err = sfnlocal.New(def, tasks, s.Virtual, sfnlocal.WithStateMachineARN(StateMachineARN))
	}
	if err != nil {
		return fmt.Errorf("load the state machine definition: %w", err)
	}
	// Shut down before the store and the recorder, whose clients its
	// goroutines are, and gracefully: a DynamoDB request cut off half way
	// would be lost work, and it makes dynalite exit.
	s.closers = append(s.closers, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return s.Exec.Shutdown(ctx)
	})
	return nil
}

// tasks are the functions the state machine calls, by their local ARNs,
// with the stack's store and clock, paging pdURL.
func (s *Stack) tasks(pdURL string) (map[string]sfnlocal.TaskFunc, error) {
	keys := secrets.StaticRoutingKeys{}
	for _, l := range s.Policy.Levels {
		keys[l.Name] = RoutingKey(l.Name)
	}
	if err := s.Policy.CheckRoutingKeys(keys); err != nil {
		return nil, err
	}
	planner := &escalation.Planner{Store: s.Store, Policy: s.Policy, Clock: s.Clock, Starter: lateStarter{s}, Stopper: lateStarter{s}, HandoverAfter: s.handoverAfter}
	pager := &escalation.Pager{
		Store:     s.Store,
		Keys:      keys,
		PagerDuty: pagerduty.New(pagerduty.NewEventsClient(pdURL), pagerduty.Options{Source: "dashboarduz-incident-response", Clock: s.Clock}),
		Policy:    s.Policy,
		Clock:     s.Clock,
	}
	triager := s.triageHandler()
	remediator := s.remediationHandler()
	channels, err := s.commsChannels()
	if err != nil {
		return nil, err
	}
	notifier := &comms.Handler{Store: s.Store, Clock: s.Clock, Channels: channels}
	return map[string]sfnlocal.TaskFunc{
		PlanARN:      lambdaFunc(planner.Handle),
		PageARN:      lambdaFunc(pager.Handle),
		TriageARN:    lambdaFunc(triager.Handle),
		RemediateARN: lambdaFunc(remediator.Handle),
		NotifyARN:    lambdaFunc(notifier.Handle),
	}, nil
}

// lateStarter starts executions on the stack's executor, which is made
// after the tasks that start them.
type lateStarter struct{ s *Stack }

// StartEscalation starts an execution on the stack's executor.
func (l lateStarter) StartEscalation(ctx context.Context, st incident.EscalationState) error {
	return sfnlocal.Starter{Executor: l.s.Exec}.StartEscalation(ctx, st)
}

// StopEscalation stops an execution on the stack's executor.
func (l lateStarter) StopEscalation(ctx context.Context, st incident.EscalationState, cause string) error {
	return sfnlocal.Starter{Executor: l.s.Exec}.StopEscalation(ctx, st, cause)
}

// rebuildAPI builds the API handler with the stack's issuer. Sentry
// webhooks are ingested in-process, by the stack's ingest handler, as the
// api function does.
func (s *Stack) rebuildAPI() error {
	// Locally every load of the status page reads the table, so a change
	// shows at once; in AWS each instance keeps the page for a while.
	page, err := statuspage.NewHandler(statuspage.HandlerConfig{Source: statuspage.StoreSource{Store: s.Store}, Clock: s.Clock, CacheFor: -1})
	if err != nil {
		return err
	}
	h, err := api.New(api.Config{Service: s.Service, Auth: s.Issuer.Verifier(), WebhookSecrets: []string{s.webhookSecret}, Clock: s.Clock,
		Dependencies: []api.Dependency{api.TableDependency(s.Store)},
		PostMortems:  &response.PostMortems{Store: s.Store, Policy: s.Policy, Clock: s.Clock},
		Metrics:      &response.Summaries{Store: s.Store, Policy: s.Policy, Clock: s.Clock},
		StatusPage:   page,
		Sentry:       api.SentryConfig{Secrets: []string{s.sentrySecret}, Ingester: s.Ingest},
		Slack:        s.slackConfig()})
	if err != nil {
		return err
	}
	s.API = h
	return nil
}

// Token returns a token the local API accepts, for id, valid for ttl.
func (s *Stack) Token(id auth.Identity, ttl time.Duration) (string, error) {
	return s.Issuer.Token(id, ttl)
}

// Close stops what the stack started.
func (s *Stack) Close() error {
	var errs []error
	for i := len(s.closers) - 1; i >= 0; i-- {
		errs = append(errs, s.closers[i]())
	}
	s.closers = nil
	return errors.Join(errs...)
}

// lambdaFunc adapts a typed handler to a task function, as the Lambda
// runtime does: JSON in, JSON out, the error returned as it is.
func lambdaFunc[In, Out any](h func(context.Context, In) (Out, error)) sfnlocal.TaskFunc {
	return func(ctx context.Context, input json.RawMessage) (json.RawMessage, error) {
		var in In
		if err := json.Unmarshal(input, &in); err != nil {
			return nil, err
		}
		out, err := h(ctx, in)
		if err != nil {
			return nil, err
		}
		return json.Marshal(out)
	}
}

// Incidents returns every incident in the table, oldest first.
func (s *Stack) Incidents(ctx context.Context) ([]incident.Incident, error) {
	var all []incident.Incident
	for _, st := range incident.Statuses {
		cursor := ""
		for {
			page, next, err := s.Store.ListIncidents(ctx, incident.ListFilter{Status: st, Cursor: cursor, Limit: 100})
			if err != nil {
				return nil, err
			}
			all = append(all, page...)
			if next == "" {
				break
			}
			cursor = next
		}
	}
	sort.Slice(all, func(i, j int) bool {
		if !all[i].OpenedAt.Equal(all[j].OpenedAt) {
			return all[i].OpenedAt.Before(all[j].OpenedAt)
		}
		return all[i].ID < all[j].ID
	})
	return all, nil
}
