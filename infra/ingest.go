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
)

// EventBridge retry policy for delivering an alarm event to the ingest
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
}

// Ingest is the path from a CloudWatch alarm to an escalation: the
// EventBridge rule for alarm state changes, direct invocation by alarm
// actions, and the ingest function's right to start executions.
type Ingest struct {
	constructs.Construct
	// Rule matches every CloudWatch alarm state change on the default bus.
	Rule awsevents.Rule
}

// NewIngest creates the rule and wires the function to the state machine.
func NewIngest(scope constructs.Construct, id string, props *IngestProps) *Ingest {
	c := constructs.NewConstruct(scope, jsii.String(id))
	rule := awsevents.NewRule(c, jsii.String("AlarmStateChange"), &awsevents.RuleProps{
		Description: jsii.String("Every CloudWatch alarm state change goes to the alarm-ingest function."),
		EventPattern: &awsevents.EventPattern{
			Source:     jsii.Strings("aws.cloudwatch"),
			DetailType: jsii.Strings("CloudWatch Alarm State Change"),
		},
		Targets: &[]awsevents.IRuleTarget{
			awseventstargets.NewLambdaFunction(props.Function, &awseventstargets.LambdaFunctionProps{
				DeadLetterQueue: props.DeadLetterQueue,
				MaxEventAge:     awscdk.Duration_Hours(jsii.Number(ingestRuleMaxEventAgeHrs)),
				RetryAttempts:   jsii.Number(ingestRuleRetryAttempts),
			}),
		},
	})

	// An alarm may also name the function as its action (Lambda alarm
	// actions); only alarms in this account may invoke it.
	props.Function.AddPermission(jsii.String("AllowCloudWatchAlarmActions"), &awslambda.Permission{
		Principal:     awsiam.NewServicePrincipal(jsii.String("lambda.alarms.cloudwatch.amazonaws.com"), nil),
		SourceAccount: awscdk.Stack_Of(c).Account(),
	})

	props.Function.AddEnvironment(jsii.String(EnvStateMachineArn), props.StateMachine.StateMachineArn(), nil)
	props.StateMachine.GrantStartExecution(props.Function)
	return &Ingest{Construct: c, Rule: rule}
}
