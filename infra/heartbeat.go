package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/dashboarduz/incident-response/shared/metrics"
)

// HeartbeatAlarmSuffix ends the name of the alarm on missing beats;
// shared/incident/classify.json matches it.
const HeartbeatAlarmSuffix = "-heartbeat-missing"

// The heartbeat's rhythm: a beat every HeartbeatMinutes, and the alarm
// fires when HeartbeatMissedPeriods of the last HeartbeatPeriods
// five-minute periods have no beat. One late or lost beat is tolerated;
// two in fifteen minutes are not, so a dead system is noticed within about
// fifteen minutes.
const (
	HeartbeatMinutes       = 5
	HeartbeatPeriods       = 3
	HeartbeatMissedPeriods = 2
)

// HeartbeatProps configures Heartbeat.
type HeartbeatProps struct {
	// Function is the heartbeat function.
	Function awslambda.Function
	// StateMachine is the escalation state machine it describes.
	StateMachine awsstepfunctions.IStateMachine
}

// Heartbeat is the dead man's switch: the schedule that runs the
// heartbeat function, its right to describe the state machine, and the
// alarm on missing beats. The alarm treats missing data as breaching, so
// anything that stops the beats fires it; the stack points it at the
// operator-alerts topic, which reaches the operator by email or PagerDuty
// without going through this system.
type Heartbeat struct {
	constructs.Construct
	// Schedule runs the function every HeartbeatMinutes.
	Schedule awsevents.Rule
	// Missing alarms when beats stop.
	Missing awscloudwatch.Alarm
}

// NewHeartbeat creates the schedule, the grant and the alarm.
func NewHeartbeat(scope constructs.Construct, id string, props *HeartbeatProps) *Heartbeat {
	c := constructs.NewConstruct(scope, jsii.String(id))
	fn := props.Function
	rule := awsevents.NewRule(c, jsii.String("Schedule"), &awsevents.RuleProps{
		Description: jsii.String("Runs the heartbeat function, the incident-response system's dead man's switch."),
		Schedule:    awsevents.Schedule_Rate(awscdk.Duration_Minutes(jsii.Number(HeartbeatMinutes))),
		Targets: &[]awsevents.IRuleTarget{awseventstargets.NewLambdaFunction(fn, &awseventstargets.LambdaFunctionProps{
			// A beat delivered late is no beat: the next one is due.
			MaxEventAge:   awscdk.Duration_Minutes(jsii.Number(HeartbeatMinutes)),
			RetryAttempts: jsii.Number(2),
		})},
	})
	fn.AddEnvironment(jsii.String(EnvStateMachineArn), props.StateMachine.StateMachineArn(), nil)
	awsiam.Grant_AddToPrincipal(&awsiam.GrantOnPrincipalOptions{
		Grantee:      fn,
		Actions:      jsii.Strings("states:DescribeStateMachine"),
		ResourceArns: jsii.Strings(*props.StateMachine.StateMachineArn()),
	})
	missing := awscloudwatch.NewAlarm(c, jsii.String("Missing"), &awscloudwatch.AlarmProps{
		AlarmName: stackScopedName(HeartbeatAlarmSuffix),
		AlarmDescription: jsii.String("The incident-response system's heartbeat stopped: it may not be able to page anyone. " +
			"See the heartbeat function's logs and errors alarm; until it beats again, watch your alarms by hand."),
		Metric: awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
			Namespace:     jsii.String(metrics.Namespace),
			MetricName:    jsii.String(metrics.Heartbeat),
			DimensionsMap: &map[string]*string{metrics.DimensionFunction: fn.FunctionName()},
			Statistic:     jsii.String("SampleCount"),
			Period:        awscdk.Duration_Minutes(jsii.Number(HeartbeatMinutes)),
		}),
		Threshold:          jsii.Number(1),
		ComparisonOperator: awscloudwatch.ComparisonOperator_LESS_THAN_THRESHOLD,
		EvaluationPeriods:  jsii.Number(HeartbeatPeriods),
		DatapointsToAlarm:  jsii.Number(HeartbeatMissedPeriods),
		// The point of a dead man's switch: silence is the alarm. A new
		// alarm has no data at all, so it may fire once on the first
		// deploy, before the first beats.
		TreatMissingData: awscloudwatch.TreatMissingData_BREACHING,
	})
	return &Heartbeat{Construct: c, Schedule: rule, Missing: missing}
}
