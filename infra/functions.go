package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/dashboarduz/incident-response/shared/lambdaenv"
)

// Function names: the folder under functions/ and under the build output.
const (
	AlarmIngestFunction    = "alarm-ingest"
	EscalationPlanFunction = "escalation-plan"
	EscalationPageFunction = "escalation-page"
	APIFunction            = "api"
	HeartbeatFunction      = "heartbeat"
	FireDrillFunction      = "fire-drill"
	TriageFunction         = "triage"
	RemediateFunction      = "remediate"
	NotifyFunction         = "notify"
	HealthCheckFunction    = "health-check"
)

// FunctionNames lists every function the stack deploys.
var FunctionNames = []string{AlarmIngestFunction, EscalationPlanFunction, EscalationPageFunction, APIFunction, HeartbeatFunction, FireDrillFunction,
	TriageFunction, RemediateFunction, NotifyFunction, HealthCheckFunction}

// Environment variables the stack sets on the functions.
const (
	// EnvTableName is the incident table's name (every function).
	EnvTableName = "TABLE_NAME"
	// EnvStateMachineArn is the escalation state machine's ARN (alarm-ingest, api).
	EnvStateMachineArn = "STATE_MACHINE_ARN"
	// EnvRoutingKeysSecretArn is the routing-key secret's ARN (escalation-page).
	// The secret is imported by name, so this is its partial ARN, without
	// the random suffix; Secrets Manager accepts it as a SecretId.
	EnvRoutingKeysSecretArn = "ROUTING_KEYS_SECRET_ARN"
	// EnvPagerDutyEventsURL overrides the Events API v2 URL (escalation-page,
	// only when context pagerDutyEventsUrl is set).
	EnvPagerDutyEventsURL = "PAGERDUTY_EVENTS_URL"
	// EnvIncidentURLBase is the base of incident links (escalation-page, only
	// when context incidentUrlBase is set).
	EnvIncidentURLBase = "INCIDENT_URL_BASE"
	// EnvEscalationPolicy holds the escalation policy document (every
	// function, only when context escalationPolicyFile is set).
	EnvEscalationPolicy = lambdaenv.EnvEscalationPolicy
	// EnvPagerDutyWebhookSecretArn is the ARN of the secret holding the
	// PagerDuty v3 webhook signing secret(s) (api). Imported by name like
	// the routing keys, so it is a partial ARN too.
	EnvPagerDutyWebhookSecretArn = "PAGERDUTY_WEBHOOK_SECRET_ARN"
	// EnvFireDrillMaxAgeDays is how many days may pass without a passing
	// fire drill (heartbeat, only when the drill is scheduled).
	EnvFireDrillMaxAgeDays = "FIRE_DRILL_MAX_AGE_DAYS"
	// EnvFireDrillAlarmName and EnvFireDrillAlarmArn name the drill's
	// alarm (fire-drill): the one it raises, and the dedup key of its
	// incidents.
	EnvFireDrillAlarmName = "FIRE_DRILL_ALARM_NAME"
	EnvFireDrillAlarmArn  = "FIRE_DRILL_ALARM_ARN"
)

// Function settings.
const (
	bootstrapFile            = "bootstrap"
	functionMemoryMB         = 256
	ingestTimeoutSeconds     = 30
	escalationTimeoutSeconds = 60
	// apiTimeoutSeconds stays under API Gateway's 29 s integration timeout,
	// so the function never works on after the caller got a 503.
	apiTimeoutSeconds = 25
	// heartbeatTimeoutSeconds: a beat is three quick calls; one that
	// takes longer is a failed beat.
	heartbeatTimeoutSeconds = 30
	// fireDrillTimeoutSeconds is above drill.MaxDuration (10 minutes with
	// the default hop limits), so a drill ends and records itself before
	// Lambda stops it.
	fireDrillTimeoutSeconds = 720
)

// MissingFunctionError reports a function whose built bootstrap is not in
// the functions folder.
type MissingFunctionError struct {
	Name string // the function, e.g. alarm-ingest
	Path string // the bootstrap that was looked for
	Err  error  // what os.Stat said, or nil when the path is not a file
}

// Error says which bootstrap is missing and how to build it.
func (e *MissingFunctionError) Error() string {
	why := "is not a file"
	if e.Err != nil {
		why = "is missing"
	}
	return fmt.Sprintf("function %s: %s %s; run `make build` first (or point FUNCTIONS_DIR at the built functions)", e.Name, e.Path, why)
}

// Unwrap returns the os.Stat error, if any.
func (e *MissingFunctionError) Unwrap() error { return e.Err }

// CheckFunctionsDir verifies that dir holds <name>/bootstrap for every
// function, so synthesis fails with a clear message instead of deploying an
// empty asset.
func CheckFunctionsDir(dir string) error {
	for _, name := range FunctionNames {
		p := filepath.Join(dir, name, bootstrapFile)
		fi, err := os.Stat(p)
		if err != nil {
			return &MissingFunctionError{Name: name, Path: p, Err: err}
		}
		if !fi.Mode().IsRegular() {
			return &MissingFunctionError{Name: name, Path: p}
		}
	}
	return nil
}

// tableActions lists, per function, exactly the DynamoDB operations its
// handler's store calls (see the SDK calls of the shared/dynamo Store
// methods each handler's store interface names), granted on the table; a
// function that queries also gets Query on each of TableIndexes by name.
// No Scan, DeleteItem or batch write.
// TestTableGrantsMatchStoreCode derives the same lists from the source.
var tableActions = map[string][]string{
	// shared/ingest.Store: the dedup pointer and the service's maintenance
	// windows in one batch (BatchGetItem), the incident (GetItem), its
	// creation, timeline entries and the pointer's claim (PutItem), a
	// repeat's join and signal changes (UpdateItem).
	AlarmIngestFunction: {"dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"},
	// shared/escalation.PlanStore: the incident and its service's windows
	// (BatchGetItem, GetItem), breaches and maintenance notes (UpdateItem,
	// PutItem).
	EscalationPlanFunction: {"dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"},
	// shared/escalation.PageStore: the incident, with its service's
	// windows when a claim is refused (BatchGetItem, GetItem), the page
	// ledger in it (UpdateItem) and the timeline (PutItem).
	EscalationPageFunction: {"dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"},
	// shared/response.Store: incidents, their timelines, the dedup
	// pointers and maintenance windows (GetItem, BatchGetItem, PutItem,
	// UpdateItem), the incident list (Query on the indexes) and an
	// incident's partition and the services with windows (Query on the
	// table); response.PostMortemStore, response.SummaryStore and
	// statuspage.Store: post-mortems (BatchGetItem, GetItem, PutItem),
	// the status page's and the summary's time ranges (Query on the
	// indexes) and public updates (Query on the table).
	APIFunction: {"dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query"},
	// shared/heartbeat.Table.Beat (UpdateItem) and, for the fire-drill
	// watch, shared/drill.Table.LatestDrill (Query on the table only).
	HeartbeatFunction: {"dynamodb:UpdateItem", "dynamodb:Query"},
	// shared/drill.Incidents (GetItem), resolving through
	// shared/response (GetItem, PutItem) and shared/drill.Table's
	// RecordDrill (PutItem).
	FireDrillFunction: {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"},
	// shared/triage.Store: the incident (GetItem, UpdateItem for its
	// mark), the report and its timeline entry (PutItem).
	TriageFunction: {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"},
	// shared/remediation.Store: the incident and its remediations
	// (GetItem, UpdateItem), their timeline entries (PutItem).
	RemediateFunction: {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"},
	// shared/comms.Store: the incident with the entries to announce
	// (BatchGetItem), the message ledger and what was announced (GetItem,
	// UpdateItem), the timeline a resolution sums up (Query on the table),
	// failures on the timeline (PutItem).
	NotifyFunction: {"dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query"},
	// shared/health.StateStore: each check's state (GetItem, PutItem);
	// and shared/ingest.Store, as alarm-ingest, for the checks' signals.
	HealthCheckFunction: {"dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"},
}

// indexActions are the table actions that read an index too.
var indexActions = []string{"dynamodb:Query"}

// indexReaders are the functions whose queries read the indexes (the
// incident list); the others query only the table itself.
var indexReaders = []string{APIFunction}

// FunctionsProps configures Functions.
type FunctionsProps struct {
	// Dir holds one folder per function with its linux/arm64 bootstrap
	// (built by `make build`).
	Dir string
	// Table is the incident table every function reads and writes.
	Table awsdynamodb.ITable
	// RoutingKeys is the secret with the PagerDuty routing keys.
	RoutingKeys awssecretsmanager.ISecret
	// IngestDeadLetterQueue keeps alarm events the ingest function failed
	// on after its retries.
	IngestDeadLetterQueue awssqs.IQueue
	// LogRetention is how long the functions' logs are kept.
	LogRetention awslogs.RetentionDays
	// PagerDutyEventsURL, when set, overrides the Events API v2 URL.
	PagerDutyEventsURL string
	// IncidentURLBase, when set, is the base of incident links in pages.
	IncidentURLBase string
	// EscalationPolicy, when set, is the policy document every function
	// uses instead of the embedded default.
	EscalationPolicy string
	// WebhookSecret is the secret with the PagerDuty webhook signing
	// secret(s); only the api function reads it.
	WebhookSecret awssecretsmanager.ISecret
	// ReservedConcurrency maps a function to its reserved concurrency;
	// empty means none (see WatchConfig).
	ReservedConcurrency map[string]int
	// SentryClientSecret is the secret with the Sentry integration's
	// client secret(s); only the api function reads it.
	SentryClientSecret awssecretsmanager.ISecret
	// SentryMapping, when set, is the mapping document the api function
	// reads Sentry webhooks with.
	SentryMapping string
	// HealthChecks, when set, is the checks document the health-check
	// function runs; HealthCheckTimeoutSeconds is its timeout, which
	// HealthCheckTimeoutSeconds derives from the checks that run.
	HealthChecks              string
	HealthCheckTimeoutSeconds float64
}

// Functions is the Lambda functions built from functions/<name>.
type Functions struct {
	constructs.Construct
	// AlarmIngest turns alarm state changes into incidents and starts their escalation.
	AlarmIngest awslambda.Function
	// EscalationPlan decides an incident's next escalation step.
	EscalationPlan awslambda.Function
	// EscalationPage pages one escalation level through PagerDuty.
	EscalationPage awslambda.Function
	// API serves the HTTP API and the PagerDuty, Sentry and Slack webhooks.
	API awslambda.Function
	// Heartbeat is the dead man's switch, on a schedule.
	Heartbeat awslambda.Function
	// FireDrill runs the monthly fire drill, on a schedule.
	FireDrill awslambda.Function
	// Triage gathers an incident's triage report (a follow-up task).
	Triage awslambda.Function
	// Remediate runs the runbook's remediations (a follow-up task).
	Remediate awslambda.Function
	// Notify announces timeline entries in Slack and by email (a
	// follow-up task).
	Notify awslambda.Function
	// HealthCheck runs the health checks, on a schedule.
	HealthCheck awslambda.Function
	// PagesRejected alarms when escalation-page logs that PagerDuty
	// rejected a page or a level has no routing key.
	PagesRejected awscloudwatch.Alarm
}

// NewFunctions creates the functions with their log groups, environment and
// grants. It fails when a function has not been built.
func NewFunctions(scope constructs.Construct, id string, props *FunctionsProps) (*Functions, error) {
	if err := CheckFunctionsDir(props.Dir); err != nil {
		return nil, err
	}
	c := constructs.NewConstruct(scope, jsii.String(id))
	tableName := props.Table.TableName()

	newFn := func(cid, name, description string, timeoutSeconds float64, env map[string]*string, extra func(*awslambda.FunctionProps)) awslambda.Function {
		// An explicit log group, rather than the one Lambda creates on first
		// write, so its retention is set here and no custom resource is needed.
		logs := awslogs.NewLogGroup(c, jsii.String(cid+"Logs"), &awslogs.LogGroupProps{
			Retention:     props.LogRetention,
			RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
		})
		if props.EscalationPolicy != "" {
			env[EnvEscalationPolicy] = jsii.String(props.EscalationPolicy)
		}
		role := functionRole(c, cid, name, logs)
		fp := &awslambda.FunctionProps{
			Role:                  role,
			Description:           jsii.String(description),
			Code:                  awslambda.Code_FromAsset(jsii.String(filepath.Join(props.Dir, name)), nil),
			Handler:               jsii.String(bootstrapFile),
			Runtime:               awslambda.Runtime_PROVIDED_AL2023(),
			Architecture:          awslambda.Architecture_ARM_64(),
			MemorySize:            jsii.Number(functionMemoryMB),
			Timeout:               awscdk.Duration_Seconds(jsii.Number(timeoutSeconds)),
			Environment:           &env,
			LogGroup:              logs,
			LoggingFormat:         awslambda.LoggingFormat_JSON,
			ApplicationLogLevelV2: awslambda.ApplicationLogLevel_INFO,
		}
		if n, ok := props.ReservedConcurrency[name]; ok {
			fp.ReservedConcurrentExecutions = jsii.Number(n)
		}
		if extra != nil {
			extra(fp)
		}
		fn := awslambda.NewFunction(c, jsii.String(cid), fp)
		// Not Table.Grant: with the table's indexes it would add
		// <table>/index/* for every action, though only a query reads an
		// index. The table is encrypted with an AWS-managed key, so no KMS
		// grant is needed.
		actions := tableActions[name]
		awsiam.Grant_AddToPrincipal(&awsiam.GrantOnPrincipalOptions{
			Grantee:      fn,
			Actions:      jsii.Strings(actions...),
			ResourceArns: &[]*string{props.Table.TableArn()},
		})
		var onIndexes []string
		for _, a := range indexActions {
			if slices.Contains(actions, a) && slices.Contains(indexReaders, name) {
				onIndexes = append(onIndexes, a)
			}
		}
		if len(onIndexes) > 0 {
			awsiam.Grant_AddToPrincipal(&awsiam.GrantOnPrincipalOptions{
				Grantee:      fn,
				Actions:      jsii.Strings(onIndexes...),
				ResourceArns: indexArns(props.Table),
			})
		}
		return fn
	}

	ingest := newFn("AlarmIngest", AlarmIngestFunction,
		"Turns CloudWatch alarm state changes, ECS and RDS events into incidents and starts their escalation.",
		ingestTimeoutSeconds,
		map[string]*string{EnvTableName: tableName},
		func(fp *awslambda.FunctionProps) {
			// Alarm actions invoke asynchronously: retry twice, then keep the
			// event in the dead-letter queue rather than drop it.
			fp.RetryAttempts = jsii.Number(2)
			fp.MaxEventAge = awscdk.Duration_Hours(jsii.Number(6))
			fp.DeadLetterQueue = props.IngestDeadLetterQueue
		})

	plan := newFn("EscalationPlan", EscalationPlanFunction,
		"Decides an incident's next escalation step from its state and the severity policy.",
		escalationTimeoutSeconds,
		map[string]*string{EnvTableName: tableName},
		nil)

	pageEnv := map[string]*string{
		EnvTableName:            tableName,
		EnvRoutingKeysSecretArn: props.RoutingKeys.SecretArn(),
	}
	if props.PagerDutyEventsURL != "" {
		pageEnv[EnvPagerDutyEventsURL] = jsii.String(props.PagerDutyEventsURL)
	}
	if props.IncidentURLBase != "" {
		pageEnv[EnvIncidentURLBase] = jsii.String(props.IncidentURLBase)
	}
	page := newFn("EscalationPage", EscalationPageFunction,
		"Pages one escalation level of an incident through PagerDuty Events API v2.",
		escalationTimeoutSeconds,
		pageEnv,
		nil)
	props.RoutingKeys.GrantRead(page, nil)
	rejected := newPagesRejectedAlarm(c, page.LogGroup())

	apiEnv := map[string]*string{
		EnvTableName:                 tableName,
		EnvPagerDutyWebhookSecretArn: props.WebhookSecret.SecretArn(),
		EnvSentryClientSecretArn:     props.SentryClientSecret.SecretArn(),
	}
	if props.SentryMapping != "" {
		apiEnv[EnvSentryMapping] = jsii.String(props.SentryMapping)
	}
	api := newFn("Api", APIFunction,
		"Serves the incident-response HTTP API and receives PagerDuty and Sentry webhooks.",
		apiTimeoutSeconds,
		apiEnv,
		nil)
	// GetSecretValue alone: the function only reads the signing secrets,
	// and Secret.GrantRead would add DescribeSecret. The secrets are
	// imported by name, so their ARNs lack Secrets Manager's random
	// suffix.
	awsiam.Grant_AddToPrincipal(&awsiam.GrantOnPrincipalOptions{
		Grantee: api,
		Actions: jsii.Strings("secretsmanager:GetSecretValue"),
		ResourceArns: jsii.Strings(*props.WebhookSecret.SecretArn()+secretSuffixPattern,
			*props.SentryClientSecret.SecretArn()+secretSuffixPattern),
	})

	// Scheduled, so invoked asynchronously: a failed beat, drill or
	// health-check run is not retried (the next beat or run comes in
	// minutes; a repeated drill would raise its alarm again), and each
	// runs one at a time.
	scheduled := func(fp *awslambda.FunctionProps) {
		fp.RetryAttempts = jsii.Number(0)
		if len(props.ReservedConcurrency) > 0 {
			fp.ReservedConcurrentExecutions = jsii.Number(singletonConcurrency)
		}
	}
	heartbeat := newFn("Heartbeat", HeartbeatFunction,
		"The dead man's switch: proves every few minutes that an alarm still plans a page, and watches the fire drill.",
		heartbeatTimeoutSeconds,
		map[string]*string{EnvTableName: tableName},
		scheduled)
	drill := newFn("FireDrill", FireDrillFunction,
		"The monthly fire drill: raises a test alarm and follows it to a page on the test routing key, then resolves it.",
		fireDrillTimeoutSeconds,
		map[string]*string{EnvTableName: tableName},
		scheduled)

	healthEnv := map[string]*string{EnvTableName: tableName}
	if props.HealthChecks != "" {
		healthEnv[EnvHealthChecks] = jsii.String(props.HealthChecks)
	}
	healthCheck := newFn("HealthCheck", HealthCheckFunction,
		"Runs the runbook's health checks; a check failing in a row opens an incident, its passing notes the recovery.",
		props.HealthCheckTimeoutSeconds,
		healthEnv,
		scheduled)

	followUp := func(cid, name, description string) awslambda.Function {
		return newFn(cid, name, description, escalationTimeoutSeconds, map[string]*string{EnvTableName: tableName}, nil)
	}
	triage := followUp("Triage", TriageFunction, "Gathers an incident's triage report once its first page is out.")
	remediate := followUp("Remediate", RemediateFunction, "Runs the runbook's remediations of an incident under their guard rails.")
	notify := followUp("Notify", NotifyFunction, "Announces an incident's timeline in Slack and by email, and reminds of its post-mortem.")

	return &Functions{Construct: c, AlarmIngest: ingest, EscalationPlan: plan, EscalationPage: page, API: api,
		Heartbeat: heartbeat, FireDrill: drill, Triage: triage, Remediate: remediate, Notify: notify, HealthCheck: healthCheck,
		PagesRejected: rejected}, nil
}

// ByName returns every function by its name (FunctionNames).
func (f *Functions) ByName() map[string]awslambda.Function {
	return map[string]awslambda.Function{
		AlarmIngestFunction:    f.AlarmIngest,
		EscalationPlanFunction: f.EscalationPlan,
		EscalationPageFunction: f.EscalationPage,
		APIFunction:            f.API,
		HeartbeatFunction:      f.Heartbeat,
		FireDrillFunction:      f.FireDrill,
		TriageFunction:         f.Triage,
		RemediateFunction:      f.Remediate,
		NotifyFunction:         f.Notify,
		HealthCheckFunction:    f.HealthCheck,
	}
}

// functionRole is a function's execution role. Instead of the managed
// AWSLambdaBasicExecutionRole, which may write to any log group, it may
// only write to the function's own: the log group exists before the
// function, so no logs:CreateLogGroup either.
func functionRole(scope constructs.Construct, cid, name string, logs awslogs.ILogGroup) awsiam.Role {
	role := awsiam.NewRole(scope, jsii.String(cid+"Role"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
		Description: jsii.String("The " + name + " function's execution role."),
	})
	// The log group's ARN ends in :*, which covers its log streams.
	role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings(functionLogActions...),
		Resources: jsii.Strings(*logs.LogGroupArn()),
	}))
	return role
}

// functionLogActions are what a function needs to write its logs to an
// existing log group.
var functionLogActions = []string{"logs:CreateLogStream", "logs:PutLogEvents"}

// secretSuffixPattern matches the six random characters Secrets Manager
// appends to a secret's name in its ARN; a secret imported by name needs
// it in a policy, as Secret.GrantRead does.
const secretSuffixPattern = "-??????"

// indexArns returns the ARNs of table's TableIndexes, each by name rather
// than <table>/index/*.
func indexArns(table awsdynamodb.ITable) *[]*string {
	arns := make([]*string, 0, len(TableIndexes))
	for _, ix := range TableIndexes {
		arns = append(arns, jsii.String(*table.TableArn()+"/index/"+ix.Name))
	}
	return &arns
}

// The stack's own metrics and the pages-rejected alarm.
const (
	// MetricNamespace holds the metrics the stack makes from its logs; it
	// is the stack's name.
	MetricNamespace = "DashboarduzIncidentResponse"
	// PagesRejectedMetric counts the pages PagerDuty rejected or that
	// had no routing key.
	PagesRejectedMetric = "PagesRejected"
	// PagesRejectedAlarmSuffix ends the name of the alarm on
	// PagesRejectedMetric; shared/incident/classify.json matches it.
	PagesRejectedAlarmSuffix = "-pages-rejected"
	// PageRejectedMessage is the message of the ERROR record
	// escalation-page logs when PagerDuty rejects a page or a level has
	// no routing key.
	PageRejectedMessage = "page rejected"
	// logMessageKey is the key of a record's message in the functions'
	// JSON logs: lambdacontext.NewLogger renames slog's "msg" to "message".
	logMessageKey = "message"
)

// newPagesRejectedAlarm counts escalation-page's "page rejected" records in
// logs and alarms on any. A rejected page is not retried: the level it was
// for is never reached until the routing key is fixed, so the alarm's name
// ends in -pages-rejected, which the classification rules page at P0.
func newPagesRejectedAlarm(scope constructs.Construct, logs awslogs.ILogGroup) awscloudwatch.Alarm {
	filter := awslogs.NewMetricFilter(scope, jsii.String("PagesRejectedFilter"), &awslogs.MetricFilterProps{
		LogGroup:        logs,
		FilterPattern:   awslogs.FilterPattern_StringValue(jsii.String("$."+logMessageKey), jsii.String("="), jsii.String(PageRejectedMessage)),
		MetricNamespace: jsii.String(MetricNamespace),
		MetricName:      jsii.String(PagesRejectedMetric),
		MetricValue:     jsii.String("1"),
	})
	return selfAlarm(scope, "PagesRejected", PagesRejectedAlarmSuffix,
		"PagerDuty rejected a page or an escalation level has no routing key: pages to that level are not delivered. Fix the level's routing key in the routing-keys secret (scripts/routing-keys), then page by hand if needed.",
		"Sum", filter.Metric)
}
