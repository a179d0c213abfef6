package main

import (
	"maps"
	"slices"

	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// Suffixes of the function alarms' names, after the stack's and the
// function's names; shared/incident/classify.json matches them (with the
// AWS/Lambda metric, since other teams name Lambda alarms alike).
const (
	FunctionErrorsAlarmSuffix    = "-function-errors"
	FunctionThrottlesAlarmSuffix = "-function-throttles"
)

// FunctionAlarmsProps configures FunctionAlarms.
type FunctionAlarmsProps struct {
	// Functions are the functions to watch, by name (FunctionNames).
	Functions map[string]awslambda.Function
}

// FunctionAlarm is the pair of alarms on one function.
type FunctionAlarm struct {
	// Errors alarms when an invocation fails: an error returned, a
	// panic, a timeout.
	Errors awscloudwatch.Alarm
	// Throttles alarms when an invocation is throttled: the function's
	// reserved concurrency, or the account's, is used up.
	Throttles awscloudwatch.Alarm
}

// FunctionAlarms watches every function's errors and throttles. Each
// alarm fires on the first one in a minute, is named after the stack and
// the function, and, like the stack's other alarms, becomes an incident of
// incident-response and notifies the operator.
type FunctionAlarms struct {
	constructs.Construct
	// ByFunction holds each function's alarms, by function name.
	ByFunction map[string]FunctionAlarm
}

// NewFunctionAlarms creates two alarms per function.
func NewFunctionAlarms(scope constructs.Construct, id string, props *FunctionAlarmsProps) *FunctionAlarms {
	c := constructs.NewConstruct(scope, jsii.String(id))
	out := &FunctionAlarms{Construct: c, ByFunction: map[string]FunctionAlarm{}}
	// Sorted, so the template does not change from one synthesis to the next.
	for _, name := range slices.Sorted(maps.Keys(props.Functions)) {
		fn := props.Functions[name]
		cid := constructID(name)
		out.ByFunction[name] = FunctionAlarm{
			Errors: selfAlarm(c, cid+"Errors", "-"+name+FunctionErrorsAlarmSuffix,
				"The "+name+" function failed an invocation: see its logs. A failure on the paging path is retried; a lost escalation has its own alarm.",
				"Sum", fn.MetricErrors),
			Throttles: selfAlarm(c, cid+"Throttles", "-"+name+FunctionThrottlesAlarmSuffix,
				"The "+name+" function was throttled: its reserved concurrency (reservedConcurrency) or the account's is used up, and signals or pages wait for retries.",
				"Sum", fn.MetricThrottles),
		}
	}
	return out
}

// constructID turns a function name such as escalation-page into a
// construct ID such as EscalationPage.
func constructID(name string) string {
	out := make([]byte, 0, len(name))
	upper := true
	for i := 0; i < len(name); i++ {
		ch := name[i]
		if ch == '-' {
			upper = true
			continue
		}
		if upper && ch >= 'a' && ch <= 'z' {
			ch -= 'a' - 'A'
		}
		upper = false
		out = append(out, ch)
	}
	return string(out)
}
