package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsscheduler"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/dashboarduz/incident-response/shared/eventbridge"
	"github.com/dashboarduz/incident-response/shared/health"
	"github.com/dashboarduz/incident-response/shared/sentry"
)

// Context keys of the signal sources besides CloudWatch alarms: the ECS
// and RDS resources the EventBridge rules respond for, the Sentry
// webhook's secret and mapping, and the health checks.
const (
	// ContextEventAllowList names the ECS clusters and the services (ECS
	// service names, RDS DB instance identifiers) whose events are
	// incidents: a JSON object, or its text with -c, e.g.
	// {"clusters": ["dashboarduz-production"], "services": ["dashboarduz-api"]}.
	// Events about anything else are ignored with the reason.
	ContextEventAllowList = "eventAllowList"
	// ContextSentryClientSecretName names the Secrets Manager secret that
	// holds the Sentry integration's client secret (or a JSON array of
	// them during a rotation); the team manages it, the stack only
	// imports it.
	ContextSentryClientSecretName = "sentryClientSecretName"
	// ContextSentryMapping maps Sentry projects to services and levels to
	// severities: a JSON object, or its text with -c, whose keys replace
	// those of shared/sentry/mapping.json, e.g.
	// {"services": {"web": "dashboarduz-api"}}.
	ContextSentryMapping = "sentryMapping"
	// ContextHealthChecksFile names the health checks' JSON file (the
	// format of shared/health/checks.json), relative to the folder of
	// cdk.json or absolute; it is validated at synthesis. Without it the
	// health checks are not scheduled: the embedded checks name
	// placeholder hosts.
	ContextHealthChecksFile = "healthChecksFile"
	// ContextHealthCheckSchedule is the health checks' EventBridge
	// Scheduler expression, rate(...) or cron(...), or "off".
	ContextHealthCheckSchedule = "healthCheckSchedule"
)

// Defaults of the signal sources' settings.
const (
	// DefaultSentryClientSecretName is the Sentry client secret's name.
	DefaultSentryClientSecretName = "dashboarduz/incident-response/sentry-client-secret"
	// DefaultHealthCheckSchedule runs the checks every minute, the
	// interval their thresholds count in.
	DefaultHealthCheckSchedule = "rate(1 minute)"
)

// Environment variables of the signal sources.
const (
	// EnvEventAllowList holds the allow-list (alarm-ingest, only when
	// context eventAllowList is set).
	EnvEventAllowList = eventbridge.EnvAllowList
	// EnvSentryClientSecretArn is the (partial) ARN of the Sentry client
	// secret (api).
	EnvSentryClientSecretArn = "SENTRY_CLIENT_SECRET_ARN"
	// EnvSentryMapping holds the Sentry mapping's keys (api, only when
	// context sentryMapping is set).
	EnvSentryMapping = sentry.EnvMapping
	// EnvHealthChecks holds the checks (health-check, only when context
	// healthChecksFile is set).
	EnvHealthChecks = health.EnvChecks
)

// SignalsConfig is what the stack takes from CDK context for its signal
// sources besides CloudWatch alarms.
type SignalsConfig struct {
	// EventAllowList, when not empty, is the validated allow-list
	// document (compact JSON).
	EventAllowList string
	// SentryClientSecretName names the imported Sentry client secret.
	SentryClientSecretName string
	// SentryMapping, when not empty, is the validated mapping document
	// (compact JSON) whose keys replace the default's.
	SentryMapping string
	// HealthChecks, when not empty, is the validated checks document
	// (compact JSON); empty schedules no checks.
	HealthChecks string
	// HealthCheckConfig is the checks the function runs: HealthChecks
	// parsed, or the embedded default.
	HealthCheckConfig health.Config
	// HealthCheckSchedule is the schedule expression; empty when the
	// checks are not scheduled (no file, or "off").
	HealthCheckSchedule string
}

// SignalsConfigFromContext reads the signal sources' settings; a value
// that is not valid fails synthesis.
func SignalsConfigFromContext(scope constructs.Construct) (SignalsConfig, error) {
	get := func(key string) any { return scope.Node().TryGetContext(jsii.String(key)) }
	cfg := SignalsConfig{SentryClientSecretName: DefaultSentryClientSecretName}
	var err error
	if cfg.EventAllowList, err = contextDocument(get(ContextEventAllowList), func(b []byte) error {
		_, err := eventbridge.ParseAllowList(b)
		return err
	}); err != nil {
		return SignalsConfig{}, fmt.Errorf("context %s: %w", ContextEventAllowList, err)
	}
	if cfg.SentryMapping, err = contextDocument(get(ContextSentryMapping), func(b []byte) error {
		_, err := sentry.MappingFrom(string(b))
		return err
	}); err != nil {
		return SignalsConfig{}, fmt.Errorf("context %s: %w", ContextSentryMapping, err)
	}
	name, err := contextString(get(ContextSentryClientSecretName))
	if err != nil {
		return SignalsConfig{}, fmt.Errorf("context %s: %w", ContextSentryClientSecretName, err)
	}
	if name != "" {
		if !secretNamePattern.MatchString(name) {
			return SignalsConfig{}, fmt.Errorf("context %s: %q is not a Secrets Manager secret name", ContextSentryClientSecretName, name)
		}
		cfg.SentryClientSecretName = name
	}
	if err := cfg.readHealthChecks(scope, get(ContextHealthChecksFile), get(ContextHealthCheckSchedule)); err != nil {
		return SignalsConfig{}, err
	}
	return cfg, nil
}

// readHealthChecks reads the checks file and the schedule. Without a file
// the checks are not scheduled, with a note saying so: the embedded
// checks name placeholder hosts, which would fail and page.
func (c *SignalsConfig) readHealthChecks(scope constructs.Construct, file, schedule any) error {
	path, err := contextString(file)
	if err != nil {
		return fmt.Errorf("context %s: %w", ContextHealthChecksFile, err)
	}
	c.HealthCheckConfig = health.DefaultConfig()
	if path != "" {
		if c.HealthChecks, c.HealthCheckConfig, err = loadHealthChecks(path); err != nil {
			return fmt.Errorf("context %s: %w", ContextHealthChecksFile, err)
		}
	}
	s, err := contextString(schedule)
	if err != nil {
		return fmt.Errorf("context %s: %w", ContextHealthCheckSchedule, err)
	}
	switch s = strings.TrimSpace(s); {
	case strings.EqualFold(s, offValue):
		return nil
	case s == "":
		s = DefaultHealthCheckSchedule
	case !scheduleExpression.MatchString(s):
		return fmt.Errorf("context %s: %q is not a schedule expression, e.g. %s or cron(*/2 * * * ? *), or %q", ContextHealthCheckSchedule, s, DefaultHealthCheckSchedule, offValue)
	}
	if c.HealthChecks == "" {
		// A note, not a warning: the stack works without health checks,
		// and the alarms and events still open incidents.
		awscdk.Annotations_Of(awscdk.Stack_Of(scope)).AddInfo(jsii.String(fmt.Sprintf(
			"context %s is not set: the health checks are not scheduled. Set it to your checks' file (see shared/health/checks.json) to run them %s.",
			ContextHealthChecksFile, s)))
		return nil
	}
	c.HealthCheckSchedule = s
	return nil
}

// loadHealthChecks reads and validates a checks file and returns it
// compact, as HEALTH_CHECKS takes it, and parsed.
func loadHealthChecks(path string) (string, health.Config, error) {
	var cfg health.Config
	doc, err := contextFile(path, func(b []byte) (err error) {
		cfg, err = health.ParseConfig(b)
		return err
	})
	return doc, cfg, err
}

// contextDocument reads a JSON object given in cdk.json or as its text
// with -c, checks it with valid and returns it compact; nil gives "".
func contextDocument(v any, valid func([]byte) error) (string, error) {
	var doc []byte
	switch x := v.(type) {
	case nil:
		return "", nil
	case string:
		if strings.TrimSpace(x) == "" {
			return "", nil
		}
		doc = []byte(x)
	case map[string]any:
		b, err := json.Marshal(x)
		if err != nil {
			return "", err
		}
		doc = b
	default:
		return "", fmt.Errorf("%v (%T) is neither a JSON object nor its text", v, v)
	}
	if err := valid(doc); err != nil {
		return "", err
	}
	var out bytes.Buffer
	if err := json.Compact(&out, doc); err != nil {
		return "", fmt.Errorf("not JSON: %w", err)
	}
	return out.String(), nil
}

// healthCheckMarginSeconds is the health-check function's time beyond its
// slowest check: keeping each check's state and ingesting its signal,
// a few DynamoDB writes and a StartExecution.
const healthCheckMarginSeconds = 30

// HealthCheckTimeoutSeconds is the health-check function's timeout: the
// checks run at once, so the longest check's timeout, and the margin.
func HealthCheckTimeoutSeconds(cfg health.Config) float64 {
	longest := 0.0
	for _, ch := range cfg.Checks {
		longest = math.Max(longest, ch.Timeout.D().Seconds())
	}
	return math.Ceil(longest) + healthCheckMarginSeconds
}

// healthCheckMaxEventAgeSeconds is how long Scheduler may try to deliver
// a run: its least, a minute; an older run is overtaken by the next.
const healthCheckMaxEventAgeSeconds = 60

// HealthChecksProps configures HealthChecks.
type HealthChecksProps struct {
	// Function is the health-check function.
	Function awslambda.Function
	// StateMachine is the escalation its signals start.
	StateMachine awsstepfunctions.IStateMachine
	// Schedule is the Scheduler expression; empty schedules nothing.
	Schedule string
}

// HealthChecks is the runbook's automated health checks in the stack: the
// function's right to start escalations, and the EventBridge Scheduler
// schedule that runs it, with no retries (the next run is the retry).
type HealthChecks struct {
	constructs.Construct
	// Schedule runs the function; nil when the checks are not scheduled.
	Schedule awsscheduler.CfnSchedule
	// Role is what Scheduler invokes the function as; nil without a
	// schedule.
	Role awsiam.Role
}

// NewHealthChecks wires the function to the state machine and schedules
// it. The schedule is the L1 resource with a role of its own that may
// invoke exactly the function: the L2 target's grant adds the function's
// versions (":*"), which it never invokes.
func NewHealthChecks(scope constructs.Construct, id string, props *HealthChecksProps) *HealthChecks {
	c := constructs.NewConstruct(scope, jsii.String(id))
	fn := props.Function
	fn.AddEnvironment(jsii.String(EnvStateMachineArn), props.StateMachine.StateMachineArn(), nil)
	props.StateMachine.GrantStartExecution(fn)
	out := &HealthChecks{Construct: c}
	if props.Schedule == "" {
		return out
	}
	role := awsiam.NewRole(c, jsii.String("SchedulerRole"), &awsiam.RoleProps{
		AssumedBy: awsiam.NewServicePrincipal(jsii.String("scheduler.amazonaws.com"), &awsiam.ServicePrincipalOpts{
			Conditions: &map[string]any{"StringEquals": map[string]any{"aws:SourceAccount": awscdk.Aws_ACCOUNT_ID()}},
		}),
		Description: jsii.String("EventBridge Scheduler runs the health-check function as this role."),
	})
	role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("lambda:InvokeFunction"),
		Resources: jsii.Strings(*fn.FunctionArn()),
	}))
	out.Role = role
	out.Schedule = awsscheduler.NewCfnSchedule(c, jsii.String("Schedule"), &awsscheduler.CfnScheduleProps{
		Description:        jsii.String("Runs the health-check function: the runbook's automated health checks."),
		ScheduleExpression: jsii.String(props.Schedule),
		State:              jsii.String("ENABLED"),
		FlexibleTimeWindow: &awsscheduler.CfnSchedule_FlexibleTimeWindowProperty{Mode: jsii.String("OFF")},
		Target: &awsscheduler.CfnSchedule_TargetProperty{
			Arn:     fn.FunctionArn(),
			RoleArn: role.RoleArn(),
			RetryPolicy: &awsscheduler.CfnSchedule_RetryPolicyProperty{
				MaximumRetryAttempts:     jsii.Number(0),
				MaximumEventAgeInSeconds: jsii.Number(healthCheckMaxEventAgeSeconds),
			},
		},
	})
	// The role's policy must exist before Scheduler first invokes.
	out.Schedule.Node().AddDependency(role)
	return out
}
