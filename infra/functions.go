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
)

// FunctionNames lists every function the stack deploys.
var FunctionNames = []string{AlarmIngestFunction, EscalationPlanFunction, EscalationPageFunction, APIFunction}

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
// No Scan, DeleteItem or batch operation.
// TestTableGrantsMatchStoreCode derives the same lists from the source.
var tableActions = map[string][]string{
	// shared/ingest.Store: GetIncident, OpenIncidentID (GetItem);
	// CreateIncident, UpdateIncident, AppendTimeline, ClaimDedupKey
	// (PutItem, and GetItem when UpdateIncident loses a race).
	AlarmIngestFunction: {"dynamodb:GetItem", "dynamodb:PutItem"},
	// shared/escalation.PlanStore: GetIncident (GetItem), UpdateIncident and
	// AppendTimeline for breaches and maintenance notes (PutItem), the
	// maintenance windows (Query on the table only).
	EscalationPlanFunction: {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"},
	// shared/escalation.PageStore: the above, ClaimPage (PutItem, GetItem,
	// UpdateItem), ReleasePageClaim and MarkPageSent (UpdateItem).
	EscalationPageFunction: {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"},
	// shared/response.Store: incidents and their timeline (GetItem,
	// PutItem, UpdateItem), the incident list (Query on the indexes) and
	// an incident's timeline and the maintenance windows (Query on the
	// table).
	APIFunction: {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query"},
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
	// API serves the HTTP API and the PagerDuty webhook.
	API awslambda.Function
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
		fp := &awslambda.FunctionProps{
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
		"Turns CloudWatch alarm state changes into incidents and starts their escalation.",
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

	api := newFn("Api", APIFunction,
		"Serves the incident-response HTTP API and receives PagerDuty webhooks.",
		apiTimeoutSeconds,
		map[string]*string{
			EnvTableName:                 tableName,
			EnvPagerDutyWebhookSecretArn: props.WebhookSecret.SecretArn(),
		},
		nil)
	// GetSecretValue alone: the function only reads the signing secret(s),
	// and Secret.GrantRead would add DescribeSecret. The secret is imported
	// by name, so its ARN lacks Secrets Manager's random suffix.
	awsiam.Grant_AddToPrincipal(&awsiam.GrantOnPrincipalOptions{
		Grantee:      api,
		Actions:      jsii.Strings("secretsmanager:GetSecretValue"),
		ResourceArns: jsii.Strings(*props.WebhookSecret.SecretArn() + secretSuffixPattern),
	})

	return &Functions{Construct: c, AlarmIngest: ingest, EscalationPlan: plan, EscalationPage: page, API: api, PagesRejected: rejected}, nil
}

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
