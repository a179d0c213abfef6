package main

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/dashboarduz/incident-response/shared/drill"
	"github.com/dashboarduz/incident-response/shared/metrics"
)

// FireDrillFailingAlarmSuffix ends the name of the alarm on failed or
// missing fire drills; shared/incident/classify.json matches it.
const FireDrillFailingAlarmSuffix = "-fire-drill-failing"

// FireDrillSignalMetric is the metric the drill's alarm watches. Nothing
// ever emits it, so the alarm is OK but for the moments the drill sets it
// to ALARM by hand (SetAlarmState), after which its next evaluation puts
// it back.
const FireDrillSignalMetric = "FireDrillSignal"

// FireDrillProps configures FireDrill.
type FireDrillProps struct {
	// Function is the fire-drill function.
	Function awslambda.Function
	// Heartbeat is the heartbeat function, which watches the drills.
	Heartbeat awslambda.Function
	// StateMachine is the escalation state machine whose executions the
	// drill looks for, and which resolving the drill's incident starts.
	StateMachine awsstepfunctions.IStateMachine
	// Schedule is the EventBridge schedule expression of the drill; empty
	// schedules none, and then nothing watches for drills either.
	Schedule string
	// MaxAgeDays is how long a passing drill counts.
	MaxAgeDays int
}

// FireDrill is the runbook's monthly disaster-recovery drill, run by the
// system on itself: the test service's alarm the drill raises, the
// schedule that runs it, its rights (to raise that one alarm, list the
// escalation's executions, start the one that passes the resolution on to
// PagerDuty), and the alarm that stays raised while the latest drill
// failed or none passed for MaxAgeDays (the heartbeat keeps the metric).
type FireDrill struct {
	constructs.Construct
	// Alarm is the drill's synthetic alarm: <stack>-fire-drill.
	Alarm awscloudwatch.Alarm
	// Schedule runs the drill; nil when it is off.
	Schedule awsevents.Rule
	// Failing alarms while drills fail or do not run; nil when the
	// schedule is off.
	Failing awscloudwatch.Alarm
}

// NewFireDrill creates the drill's alarm, schedule and watch.
func NewFireDrill(scope constructs.Construct, id string, props *FireDrillProps) *FireDrill {
	c := constructs.NewConstruct(scope, jsii.String(id))
	fn := props.Function
	// No actions: its state change is an EventBridge event like any other
	// alarm's, which the ingest rule turns into an incident of the test
	// service (the classification rule fire-drill matches the name).
	alarm := awscloudwatch.NewAlarm(c, jsii.String("Alarm"), &awscloudwatch.AlarmProps{
		AlarmName: stackScopedName(drill.AlarmSuffix),
		AlarmDescription: jsii.String("The fire drill's synthetic alarm: the fire-drill function sets it to ALARM once a month, " +
			"and its incident pages the test routing key. It is never a real problem; if it stays in ALARM, look at the drill's logs."),
		Metric: awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
			Namespace:  jsii.String(metrics.Namespace),
			MetricName: jsii.String(FireDrillSignalMetric),
			// Not the function's name: the function's environment names
			// the alarm, and CloudFormation allows no cycle.
			DimensionsMap: &map[string]*string{"StackName": awscdk.Aws_STACK_NAME()},
			Statistic:     jsii.String("Maximum"),
			Period:        awscdk.Duration_Minutes(jsii.Number(1)),
		}),
		Threshold:          jsii.Number(0),
		ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD,
		EvaluationPeriods:  jsii.Number(1),
		TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
	})

	fn.AddEnvironment(jsii.String(EnvStateMachineArn), props.StateMachine.StateMachineArn(), nil)
	fn.AddEnvironment(jsii.String(EnvFireDrillAlarmName), alarm.AlarmName(), nil)
	fn.AddEnvironment(jsii.String(EnvFireDrillAlarmArn), alarm.AlarmArn(), nil)
	awsiam.Grant_AddToPrincipal(&awsiam.GrantOnPrincipalOptions{
		Grantee:      fn,
		Actions:      jsii.Strings("cloudwatch:SetAlarmState"),
		ResourceArns: jsii.Strings(*alarm.AlarmArn()),
	})
	awsiam.Grant_AddToPrincipal(&awsiam.GrantOnPrincipalOptions{
		Grantee:      fn,
		Actions:      jsii.Strings("states:ListExecutions"),
		ResourceArns: jsii.Strings(*props.StateMachine.StateMachineArn()),
	})
	props.StateMachine.GrantStartExecution(fn)

	out := &FireDrill{Construct: c, Alarm: alarm}
	if props.Schedule == "" {
		return out
	}
	out.Schedule = awsevents.NewRule(c, jsii.String("Schedule"), &awsevents.RuleProps{
		Description: jsii.String("Runs the fire-drill function: the monthly disaster-recovery drill."),
		Schedule:    awsevents.Schedule_Expression(jsii.String(props.Schedule)),
		Targets: &[]awsevents.IRuleTarget{awseventstargets.NewLambdaFunction(fn, &awseventstargets.LambdaFunctionProps{
			MaxEventAge:   awscdk.Duration_Hours(jsii.Number(1)),
			RetryAttempts: jsii.Number(2),
		})},
	})
	props.Heartbeat.AddEnvironment(jsii.String(EnvFireDrillMaxAgeDays), jsii.String(fmt.Sprint(props.MaxAgeDays)), nil)
	out.Failing = awscloudwatch.NewAlarm(c, jsii.String("Failing"), &awscloudwatch.AlarmProps{
		AlarmName: stackScopedName(FireDrillFailingAlarmSuffix),
		AlarmDescription: jsii.String(fmt.Sprintf("The latest fire drill failed, or none has passed for %d days: paging may be broken. "+
			"The fire-drill function's logs and its record in the table say which hop failed; fix it, then run the function by hand until a drill passes.", props.MaxAgeDays)),
		Metric: awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
			Namespace:     jsii.String(metrics.Namespace),
			MetricName:    jsii.String(metrics.FireDrillFailing),
			DimensionsMap: &map[string]*string{metrics.DimensionFunction: props.Heartbeat.FunctionName()},
			Statistic:     jsii.String("Maximum"),
			Period:        awscdk.Duration_Minutes(jsii.Number(HeartbeatMinutes)),
		}),
		Threshold:          jsii.Number(0),
		ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD,
		EvaluationPeriods:  jsii.Number(1),
		// The heartbeat emits the metric every beat; its silence is the
		// heartbeat alarm's business.
		TreatMissingData: awscloudwatch.TreatMissingData_NOT_BREACHING,
	})
	return out
}
