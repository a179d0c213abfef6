package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/dashboarduz/incident-response/shared/eventbridge"
)

// EventBridge retry policy for delivering an event to the ingest
// function. 185 is EventBridge's maximum; the 2 h age limit is what bounds
// it in practice, and an event that still fails lands in the dead-letter
// queue.
const (
	ingestRuleRetryAttempts  = 185
	ingestRuleMaxEventAgeHrs = 2
)

// IngestProps configures Ingest.
type IngestProps struct {
	// Function is the alarm-ingest function.
	Function awslambda.Function
	// DeadLetterQueue keeps events EventBridge could not deliver.
	DeadLetterQueue awssqs.IQueue
	// StateMachine is the escalation the function starts per incident.
	StateMachine awsstepfunctions.IStateMachine
	// AllowList, when set, is the allow-list document of the ECS and RDS
	// resources whose events are incidents; empty keeps the default.
	AllowList string
}

// Ingest is the path from CloudWatch alarms, ECS and RDS events to an
// escalation: one EventBridge rule per eventbridge.IngestRules (each
// with the same dead-letter queue and retries), direct invocation by
// alarm actions, and the ingest function's right to start executions.
type Ingest struct {
	constructs.Construct
	// Rule matches every CloudWatch alarm state change on the default bus.
	Rule awsevents.Rule
	// Rules holds every rule by its name in eventbridge.IngestRules, the
	// alarm rule among them.
	Rules map[string]awsevents.Rule
}

// NewIngest creates the rules and wires the function to the state machine.
func NewIngest(scope constructs.Construct, id string, props *IngestProps) *Ingest {
	c := constructs.NewConstruct(scope, jsii.String(id))
	out := &Ingest{Construct: c, Rules: map[string]awsevents.Rule{}}
	for _, r := range eventbridge.IngestRules() {
		pattern := &awsevents.EventPattern{
			Source:     jsii.Strings(r.Source),
			DetailType: jsii.Strings(r.DetailType),
		}
		if r.EscalationOnly {
			if r.Detail == nil {
				r.Detail = map[string]any{}
			}
			r.Detail["stateMachineArn"] = []any{props.StateMachine.StateMachineArn()}
		}
		if r.Detail != nil {
			pattern.Detail = &r.Detail
		}
		rule := awsevents.NewRule(c, jsii.String(r.Name), &awsevents.RuleProps{
			Description:  jsii.String(r.Description),
			EventPattern: pattern,
			Targets: &[]awsevents.IRuleTarget{
				awseventstargets.NewLambdaFunction(props.Function, &awseventstargets.LambdaFunctionProps{
					DeadLetterQueue: props.DeadLetterQueue,
					MaxEventAge:     awscdk.Duration_Hours(jsii.Number(ingestRuleMaxEventAgeHrs)),
					RetryAttempts:   jsii.Number(ingestRuleRetryAttempts),
				}),
			},
		})
		out.Rules[r.Name] = rule
		if r.Route == (eventbridge.Route{Source: eventbridge.SourceCloudWatch, DetailType: eventbridge.DetailTypeAlarm}) {
			out.Rule = rule
		}
	}

	// An alarm may also name the function as its action (Lambda alarm
	// actions); only alarms in this account may invoke it.
	props.Function.AddPermission(jsii.String("AllowCloudWatchAlarmActions"), &awslambda.Permission{
		Principal:     awsiam.NewServicePrincipal(jsii.String("lambda.alarms.cloudwatch.amazonaws.com"), nil),
		SourceAccount: awscdk.Stack_Of(c).Account(),
	})

	if props.AllowList != "" {
		props.Function.AddEnvironment(jsii.String(EnvEventAllowList), jsii.String(props.AllowList), nil)
	}
	props.Function.AddEnvironment(jsii.String(EnvStateMachineArn), props.StateMachine.StateMachineArn(), nil)
	props.StateMachine.GrantStartExecution(props.Function)
	return out
}
