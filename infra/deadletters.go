package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// DeadLettersAlarmSuffix ends the name of the dead-letter queue's alarm;
// shared/incident/classify.json matches it.
const DeadLettersAlarmSuffix = "-ingest-dead-letters"

// stackScopedName is the stack's name followed by suffix, resolved by
// CloudFormation, so two stacks in one account never share a name.
func stackScopedName(suffix string) *string {
	return awscdk.Fn_Join(jsii.String(""), &[]*string{awscdk.Aws_STACK_NAME(), jsii.String(suffix)})
}

// selfAlarm is one of the stack's own alarms: it fires as soon as the
// metric, read each minute with the statistic, is above zero, and its name
// is the stack's name followed by suffix, which the classification rules
// know.
func selfAlarm(scope constructs.Construct, id, suffix, description, statistic string, metric func(*awscloudwatch.MetricOptions) awscloudwatch.Metric) awscloudwatch.Alarm {
	return awscloudwatch.NewAlarm(scope, jsii.String(id), &awscloudwatch.AlarmProps{
		AlarmName:        stackScopedName(suffix),
		AlarmDescription: jsii.String(description),
		Metric: metric(&awscloudwatch.MetricOptions{
			Period:    awscdk.Duration_Minutes(jsii.Number(1)),
			Statistic: jsii.String(statistic),
		}),
		Threshold:          jsii.Number(0),
		ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD,
		EvaluationPeriods:  jsii.Number(1),
		TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
	})
}

// DeadLettersProps configures DeadLetters; it has no settings yet.
type DeadLettersProps struct{}

// DeadLetters is where alarm events that could not be ingested are kept: the
// EventBridge target's dead-letter queue and the ingest function's async
// dead-letter queue are the same queue, and an alarm fires when it holds
// anything. It is its own construct because the function needs the queue
// when it is created, before the rule that targets it.
type DeadLetters struct {
	constructs.Construct
	// Queue holds the undeliverable or rejected events for 14 days.
	Queue awssqs.Queue
	// NotEmpty alarms while the queue holds a message.
	NotEmpty awscloudwatch.Alarm
}

// NewDeadLetters creates the queue and its alarm.
func NewDeadLetters(scope constructs.Construct, id string, props *DeadLettersProps) *DeadLetters {
	c := constructs.NewConstruct(scope, jsii.String(id))
	q := awssqs.NewQueue(c, jsii.String("Queue"), &awssqs.QueueProps{
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(14)),
		// SQS-managed keys: EventBridge and Lambda can write to the queue
		// without a KMS key policy.
		Encryption: awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL: jsii.Bool(true),
	})
	// The alarm has no action on purpose: its own state change is a
	// CloudWatch alarm event, which the ingest rule turns into an incident
	// like any other; and it stays red in the console until the queue is
	// drained.
	// The name ends in -ingest-dead-letters, which the classification rules
	// know: its state change becomes an incident of this system, not a
	// backlog of the product's workers.
	alarm := selfAlarm(c, "NotEmpty", DeadLettersAlarmSuffix,
		"Alarm events could not be ingested and wait in the dead-letter queue: inspect, fix, then redrive or delete them.",
		"Maximum", q.MetricApproximateNumberOfMessagesVisible)
	return &DeadLetters{Construct: c, Queue: q, NotEmpty: alarm}
}
