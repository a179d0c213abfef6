package main

import (
	"slices"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/dashboarduz/incident-response/shared/metrics"
)

// IncidentResponseStackProps configures IncidentResponseStack.
type IncidentResponseStackProps struct {
	awscdk.StackProps
	// FunctionsDir holds <name>/bootstrap for every function (see
	// FunctionNames), built for linux/arm64 by `make build`.
	FunctionsDir string
}

// IncidentResponseStack is the whole incident-response system: storage,
// functions, escalation, ingest and the HTTP API.
type IncidentResponseStack struct {
	awscdk.Stack
	// Storage is the incident table.
	Storage *Storage
	// DeadLetters keeps alarm events that could not be ingested.
	DeadLetters *DeadLetters
	// Functions are the Lambda functions.
	Functions *Functions
	// Escalation is the state machine.
	Escalation *Escalation
	// Ingest routes alarm events to the ingest function.
	Ingest *Ingest
	// OperatorAlerts carries the stack's own alarms out of band.
	OperatorAlerts *OperatorAlerts
	// API is the HTTP API and the PagerDuty, Sentry and Slack webhooks.
	API *API
	// FunctionAlarms watch every function's errors and throttles.
	FunctionAlarms *FunctionAlarms
	// Heartbeat is the dead man's switch.
	Heartbeat *Heartbeat
	// FireDrill is the scheduled disaster-recovery drill.
	FireDrill *FireDrill
	// HealthChecks schedules the health checks.
	HealthChecks *HealthChecks
	// Comms is the Slack, PagerDuty REST and email wiring of the Notify
	// and api functions.
	Comms *Comms
	// Runbook is what triage and remediation may read and change.
	Runbook *Runbook
}

// NewIncidentResponseStack composes the stack; settings come from CDK
// context (see ConfigFromContext). It fails when the context is invalid or
// a function has not been built.
func NewIncidentResponseStack(scope constructs.Construct, id string, props *IncidentResponseStackProps) (*IncidentResponseStack, error) {
	var sprops awscdk.StackProps
	if props != nil {
		sprops = props.StackProps
	}
	if sprops.Description == nil {
		sprops.Description = jsii.String("Dashboarduz incident response: CloudWatch alarms, ECS and RDS events, health checks and Sentry become incidents, escalated through PagerDuty by Step Functions.")
	}
	stack := awscdk.NewStack(scope, jsii.String(id), &sprops)

	cfg, err := ConfigFromContext(stack)
	if err != nil {
		return nil, err
	}
	watch, err := WatchConfigFromContext(stack)
	if err != nil {
		return nil, err
	}
	signals, err := SignalsConfigFromContext(stack)
	if err != nil {
		return nil, err
	}
	commsCfg, err := CommsConfigFromContext(stack, cfg.EscalationPolicy)
	if err != nil {
		return nil, err
	}
	runbook, err := RunbookConfigFromContext(stack)
	if err != nil {
		return nil, err
	}

	storage := NewStorage(stack, "Storage", &StorageProps{})
	deadLetters := NewDeadLetters(stack, "DeadLetters", &DeadLettersProps{})
	// Imported, not created: the team manages the routing keys; the stack
	// only reads them.
	routingKeys := awssecretsmanager.Secret_FromSecretNameV2(stack, jsii.String("RoutingKeys"), jsii.String(cfg.RoutingKeysSecretName))
	webhookSecret := awssecretsmanager.Secret_FromSecretNameV2(stack, jsii.String("PagerDutyWebhookSecret"), jsii.String(cfg.PagerDutyWebhookSecretName))
	sentrySecret := awssecretsmanager.Secret_FromSecretNameV2(stack, jsii.String("SentryClientSecret"), jsii.String(signals.SentryClientSecretName))

	fns, err := NewFunctions(stack, "Functions", &FunctionsProps{
		Dir:                   props.FunctionsDir,
		Table:                 storage.Table,
		RoutingKeys:           routingKeys,
		IngestDeadLetterQueue: deadLetters.Queue,
		LogRetention:          cfg.LogRetention,
		PagerDutyEventsURL:    cfg.PagerDutyEventsURL,
		IncidentURLBase:       cfg.IncidentURLBase,
		EscalationPolicy:      cfg.EscalationPolicy,
		WebhookSecret:         webhookSecret,
		ReservedConcurrency:   watch.ReservedConcurrency,
		SentryClientSecret:    sentrySecret,
		SentryMapping:         signals.SentryMapping,
		HealthChecks:          signals.HealthChecks,
		// The checks run at once: the function waits for the slowest.
		HealthCheckTimeoutSeconds: HealthCheckTimeoutSeconds(signals.HealthCheckConfig),
	})
	if err != nil {
		return nil, err
	}
	commsWiring := NewComms(stack, "Comms", &CommsProps{Config: commsCfg, Notify: fns.Notify, API: fns.API, IncidentURLBase: cfg.IncidentURLBase})
	esc, err := NewEscalation(stack, "Escalation", &EscalationProps{
		Plan:         fns.EscalationPlan,
		Page:         fns.EscalationPage,
		Triage:       fns.Triage,
		Remediate:    fns.Remediate,
		Notify:       fns.Notify,
		LogRetention: cfg.LogRetention,
	})
	if err != nil {
		return nil, err
	}
	// The Plan function hands executions grown too long over to fresh
	// ones: the state machine's ARN by its name, since the state machine
	// already refers to the function.
	smArn := EscalationStateMachineArn(stack)
	fns.EscalationPlan.AddEnvironment(jsii.String(EnvStateMachineArn), smArn, nil)
	awsiam.Grant_AddToPrincipal(&awsiam.GrantOnPrincipalOptions{
		Grantee:      fns.EscalationPlan,
		Actions:      jsii.Strings("states:StartExecution"),
		ResourceArns: &[]*string{smArn},
	})
	// It also stops the execution a newer generation supersedes: any
	// execution of this state machine, and of no other.
	awsiam.Grant_AddToPrincipal(&awsiam.GrantOnPrincipalOptions{
		Grantee:      fns.EscalationPlan,
		Actions:      jsii.Strings("states:StopExecution"),
		ResourceArns: &[]*string{EscalationExecutionsArn(stack)},
	})
	rb := NewRunbook(stack, "Runbook", &RunbookProps{Config: runbook, Triage: fns.Triage, Remediate: fns.Remediate, API: fns.API})
	ingest := NewIngest(stack, "Ingest", &IngestProps{
		Function:        fns.AlarmIngest,
		DeadLetterQueue: deadLetters.Queue,
		StateMachine:    esc.StateMachine,
		AllowList:       signals.EventAllowList,
	})
	healthChecks := NewHealthChecks(stack, "HealthChecks", &HealthChecksProps{
		Function:     fns.HealthCheck,
		StateMachine: esc.StateMachine,
		Schedule:     signals.HealthCheckSchedule,
	})

	api, err := NewAPI(stack, "Api", &APIProps{
		Function:     fns.API,
		StateMachine: esc.StateMachine,
		JWTIssuer:    cfg.JWTIssuer,
		JWTAudience:  cfg.JWTAudience,
		LogRetention: cfg.LogRetention,
		Roles:        cfg.Roles,
	})
	if err != nil {
		return nil, err
	}

	heartbeat := NewHeartbeat(stack, "Heartbeat", &HeartbeatProps{
		Function:     fns.Heartbeat,
		StateMachine: esc.StateMachine,
	})
	drill := NewFireDrill(stack, "FireDrill", &FireDrillProps{
		Function:     fns.FireDrill,
		Heartbeat:    fns.Heartbeat,
		StateMachine: esc.StateMachine,
		Schedule:     watch.FireDrillSchedule,
		MaxAgeDays:   watch.FireDrillMaxAgeDays,
	})
	fnAlarms := NewFunctionAlarms(stack, "FunctionAlarms", &FunctionAlarmsProps{Functions: fns.ByName()})

	systemAlarms := []awscloudwatch.Alarm{esc.Failures, esc.TimedOut, fns.PagesRejected, deadLetters.NotEmpty, heartbeat.Missing}
	if drill.Failing != nil {
		systemAlarms = append(systemAlarms, drill.Failing)
	}
	alarms := slices.Clone(systemAlarms)
	for _, name := range FunctionNames {
		a := fnAlarms.ByFunction[name]
		alarms = append(alarms, a.Errors, a.Throttles)
	}
	alerts := NewOperatorAlerts(stack, "OperatorAlerts", &OperatorAlertsProps{
		Email:               watch.OperatorEmail,
		PagerDutySecretName: watch.OperatorPagerDutySecretName,
		Alarms:              alarms,
	})

	if _, err := NewDashboard(stack, "Dashboard", &DashboardProps{
		Namespace:    metrics.Namespace,
		Policy:       cfg.EscalationPolicy,
		Functions:    fns.ByName(),
		StateMachine: esc.StateMachine,
		Alarms:       systemAlarms,
	}); err != nil {
		return nil, err
	}

	output := func(id string, value *string, description string) {
		awscdk.NewCfnOutput(stack, jsii.String(id), &awscdk.CfnOutputProps{Value: value, Description: jsii.String(description)})
	}
	output("TableName", storage.Table.TableName(), "The incident table.")
	output("StateMachineArn", esc.StateMachine.StateMachineArn(), "The escalation state machine.")
	output("IngestFunctionName", fns.AlarmIngest.FunctionName(), "The function CloudWatch alarm, ECS and RDS events go to; name it as an alarm's Lambda action to ingest that alarm directly.")
	output("DeadLetterQueueUrl", deadLetters.Queue.QueueUrl(), "Alarm events that could not be ingested.")
	output("ApiUrl", api.Stage.Url(), "The HTTP API's URL; PagerDuty's webhook subscription points at <ApiUrl>webhooks/pagerduty, Sentry's integration at <ApiUrl>webhooks/sentry, "+
		"the Slack app's interactivity and /incident command at <ApiUrl>webhooks/slack.")
	output("HealthCheckFunctionName", fns.HealthCheck.FunctionName(), "Invoke it to run the health checks now; its answer is each check's verdict.")
	output("OperatorAlertsTopicArn", alerts.Topic.TopicArn(), "The stack's own alarms; subscribe whoever must hear when paging itself is broken.")
	output("FireDrillFunctionName", fns.FireDrill.FunctionName(), "Invoke it to run a fire drill now; its result is its answer.")

	out := &IncidentResponseStack{
		Stack:          stack,
		Storage:        storage,
		DeadLetters:    deadLetters,
		Functions:      fns,
		Escalation:     esc,
		Ingest:         ingest,
		OperatorAlerts: alerts,
		API:            api,
		FunctionAlarms: fnAlarms,
		Heartbeat:      heartbeat,
		FireDrill:      drill,
		HealthChecks:   healthChecks,
		Comms:          commsWiring,
		Runbook:        rb,
	}
	suppressNagFindings(out)
	return out, nil
}
