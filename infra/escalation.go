package main

import (
	"fmt"
	"sort"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/dashboarduz/incident-response/shared/statemachine"
)

// EscalationProps configures Escalation.
type EscalationProps struct {
	// Plan is the function behind the definition's Plan state.
	Plan awslambda.IFunction
	// Page is the function behind the definition's Page and Sync states.
	Page awslambda.IFunction
	// Triage, Remediate and Notify are the functions behind the
	// follow-up states.
	Triage, Remediate, Notify awslambda.IFunction
	// LogRetention is how long the state machine's logs are kept.
	LogRetention awslogs.RetentionDays
}

// Escalation is the Step Functions state machine that escalates one
// incident per execution.
type Escalation struct {
	constructs.Construct
	// StateMachine runs shared/statemachine's definition.
	StateMachine awsstepfunctions.StateMachine
	// Failures alarms when an execution fails.
	Failures awscloudwatch.Alarm
	// TimedOut alarms when an execution times out.
	TimedOut awscloudwatch.Alarm
}

// EscalationFailuresAlarmSuffix ends the name of the alarm on failed
// executions; shared/incident/classify.json matches it.
const EscalationFailuresAlarmSuffix = "-escalation-failures"

// EscalationTimeoutsAlarmSuffix ends the name of the alarm on timed-out
// executions; shared/incident/classify.json matches it.
const EscalationTimeoutsAlarmSuffix = "-escalation-timeouts"

// NewEscalation creates the state machine from statemachine.Definition, the
// one definition the local executor also runs, with its placeholders bound
// to the functions' ARNs. It fails when a placeholder has no value.
func NewEscalation(scope constructs.Construct, id string, props *EscalationProps) (*Escalation, error) {
	subs, err := DefinitionSubstitutions(statemachine.Placeholders(), map[string]*string{
		statemachine.PlanFunctionArn:      props.Plan.FunctionArn(),
		statemachine.PageFunctionArn:      props.Page.FunctionArn(),
		statemachine.TriageFunctionArn:    props.Triage.FunctionArn(),
		statemachine.RemediateFunctionArn: props.Remediate.FunctionArn(),
		statemachine.NotifyFunctionArn:    props.Notify.FunctionArn(),
	})
	if err != nil {
		return nil, err
	}
	c := constructs.NewConstruct(scope, jsii.String(id))
	logs := awslogs.NewLogGroup(c, jsii.String("Logs"), &awslogs.LogGroupProps{
		Retention:     props.LogRetention,
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	sm := awsstepfunctions.NewStateMachine(c, jsii.String("StateMachine"), &awsstepfunctions.StateMachineProps{
		StateMachineName:        EscalationStateMachineName(awscdk.Stack_Of(c)),
		Comment:                 jsii.String("Escalates one incident per execution: Plan, then page or wait, until done."),
		StateMachineType:        awsstepfunctions.StateMachineType_STANDARD,
		DefinitionBody:          awsstepfunctions.DefinitionBody_FromString(jsii.String(statemachine.Definition)),
		DefinitionSubstitutions: &subs,
		// Errors only and no execution data: inputs carry incident details
		// that do not belong in logs kept for a month.
		Logs: &awsstepfunctions.LogOptions{
			Destination:          logs,
			Level:                awsstepfunctions.LogLevel_ERROR,
			IncludeExecutionData: jsii.Bool(false),
		},
	})
	// A failed execution means an incident's escalation stopped: the alarm's
	// name ends in -escalation-failures, which the classification rules
	// page at P0.
	failures := selfAlarm(c, "Failures", EscalationFailuresAlarmSuffix,
		"An escalation execution failed: an incident may not be paged. Look at the failed execution, fix the cause, and page by hand if needed.",
		"Sum", sm.MetricFailed)
	// The definition sets no execution timeout, so a timed-out execution
	// means someone set one: either way the escalation stopped, at P0.
	timedOut := selfAlarm(c, "TimedOut", EscalationTimeoutsAlarmSuffix,
		"An escalation execution timed out: its incident is no longer escalated. Look at the execution, then page by hand if needed.",
		"Sum", sm.MetricTimedOut)
	// An execution stopped by hand leaves its incident unescalated: the
	// ingest path's EscalationStoppedByHand rule opens a P1 incident for
	// each (see eventbridge.IngestRules). Not an alarm on
	// ExecutionsAborted, which also counts the superseded executions
	// this system stops itself.
	// A definition from a string grants nothing by itself: allow exactly the
	// functions it calls.
	// Not GrantInvoke, which adds <function ARN>:* for every version and
	// alias: the definition calls the unqualified ARNs, so exactly those.
	awsiam.Grant_AddToPrincipal(&awsiam.GrantOnPrincipalOptions{
		Grantee:      sm,
		Actions:      jsii.Strings("lambda:InvokeFunction"),
		ResourceArns: &[]*string{props.Plan.FunctionArn(), props.Page.FunctionArn(), props.Triage.FunctionArn(), props.Remediate.FunctionArn(), props.Notify.FunctionArn()},
	})
	return &Escalation{Construct: c, StateMachine: sm, Failures: failures, TimedOut: timedOut}, nil
}

// EscalationStateMachineName is the state machine's name: the stack's,
// then -escalation. It is fixed so that the Plan function, which the
// definition calls, can know the state machine's ARN (to hand a long
// execution over to a fresh one) without a reference that would make the
// two depend on each other.
func EscalationStateMachineName(stack awscdk.Stack) *string {
	return jsii.String(*stack.StackName() + "-escalation")
}

// EscalationStateMachineArn is the state machine's ARN, built from its name.
func EscalationStateMachineArn(stack awscdk.Stack) *string {
	return stack.FormatArn(&awscdk.ArnComponents{
		Service:      jsii.String("states"),
		Resource:     jsii.String("stateMachine"),
		ResourceName: EscalationStateMachineName(stack),
		ArnFormat:    awscdk.ArnFormat_COLON_RESOURCE_NAME,
	})
}

// EscalationExecutionsArn matches the ARN of every execution of the
// escalation state machine: arn:...:execution:<stack>-escalation:*.
func EscalationExecutionsArn(stack awscdk.Stack) *string {
	return stack.FormatArn(&awscdk.ArnComponents{
		Service:      jsii.String("states"),
		Resource:     jsii.String("execution"),
		ResourceName: jsii.String(*EscalationStateMachineName(stack) + ":*"),
		ArnFormat:    awscdk.ArnFormat_COLON_RESOURCE_NAME,
	})
}

// MissingSubstitutionError reports definition placeholders that have no value.
type MissingSubstitutionError struct {
	Names []string
}

// Error lists the placeholders without a value.
func (e *MissingSubstitutionError) Error() string {
	return fmt.Sprintf("state machine definition: no value for placeholder(s) %v", e.Names)
}

// DefinitionSubstitutions returns the substitutions for the placeholders
// names, taken from values; a placeholder without a value is an error, so
// a new placeholder in the definition cannot deploy as a literal "${...}".
func DefinitionSubstitutions(names []string, values map[string]*string) (map[string]*string, error) {
	subs := make(map[string]*string, len(names))
	var missing []string
	for _, n := range names {
		v, ok := values[n]
		if !ok || v == nil {
			missing = append(missing, n)
			continue
		}
		subs[n] = v
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return nil, &MissingSubstitutionError{Names: missing}
	}
	return subs, nil
}
