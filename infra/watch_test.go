package main

import (
	"maps"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/dashboarduz/incident-response/shared/drill"
	"github.com/dashboarduz/incident-response/shared/eventbridge"
	"github.com/dashboarduz/incident-response/shared/incident"
)

// stackAlarmName is the AlarmName of one of the stack's own alarms.
func stackAlarmName(suffix string) map[string]any {
	return join(ref("AWS::StackName"), suffix)
}

// checkProps reports each of want's properties that got, the properties
// of what, does not hold.
func checkProps(t *testing.T, what string, got, want map[string]any) {
	t.Helper()
	for k, v := range want {
		if canon(got[k]) != canon(v) {
			t.Errorf("%s: %s = %s, want %s", what, k, canon(got[k]), canon(v))
		}
	}
}

// classifiedAs checks that an alarm of this stack named StackID+suffix, on
// the metric, is an incident of service at severity.
func classifiedAs(t *testing.T, suffix, namespace, metric, service string, severity incident.Severity) {
	t.Helper()
	got := incident.DefaultClassificationRules().Classify(incident.AlarmFacts{Name: StackID + suffix, Namespace: namespace, MetricName: metric})
	if got.Service != service || got.Severity != severity || got.Ignore {
		t.Errorf("alarm %s%s is classified %+v, want %s at %s", StackID, suffix, got, service, severity)
	}
}

func TestFunctionAlarms(t *testing.T) {
	s := synth(t, nil)
	fns := s.stack.Functions.ByName()
	if len(fns) != len(FunctionNames) {
		t.Fatalf("Functions.ByName has %d functions, want %d", len(fns), len(FunctionNames))
	}
	for _, name := range FunctionNames {
		fn := logicalID(t, s, fns[name])
		alarms, ok := s.stack.FunctionAlarms.ByFunction[name]
		if !ok {
			t.Errorf("%s has no alarms", name)
			continue
		}
		for _, c := range []struct {
			metric, suffix string
			id             string
		}{
			{"Errors", "-" + name + FunctionErrorsAlarmSuffix, logicalID(t, s, alarms.Errors)},
			{"Throttles", "-" + name + FunctionThrottlesAlarmSuffix, logicalID(t, s, alarms.Throttles)},
		} {
			want := map[string]any{
				"Namespace":          "AWS/Lambda",
				"MetricName":         c.metric,
				"Dimensions":         []any{map[string]any{"Name": "FunctionName", "Value": ref(fn)}},
				"Statistic":          "Sum",
				"Period":             60.0,
				"ComparisonOperator": "GreaterThanThreshold",
				"Threshold":          0.0,
				"EvaluationPeriods":  1.0,
				"TreatMissingData":   "notBreaching",
				"AlarmName":          stackAlarmName(c.suffix),
			}
			checkProps(t, name+" "+c.metric+" alarm", props(s.resource(t, c.id)), want)
		}
		classifiedAs(t, "-"+name+FunctionErrorsAlarmSuffix, "AWS/Lambda", "Errors", "incident-response", incident.P1)
		classifiedAs(t, "-"+name+FunctionThrottlesAlarmSuffix, "AWS/Lambda", "Throttles", "incident-response", incident.P1)
	}
}

func TestEscalationAlarms(t *testing.T) {
	s := synth(t, nil)
	sm := logicalID(t, s, s.stack.Escalation.StateMachine)
	for _, c := range []struct {
		id, metric, suffix string
		severity           incident.Severity
	}{
		{logicalID(t, s, s.stack.Escalation.Failures), "ExecutionsFailed", EscalationFailuresAlarmSuffix, incident.P0},
		{logicalID(t, s, s.stack.Escalation.TimedOut), "ExecutionsTimedOut", EscalationTimeoutsAlarmSuffix, incident.P0},
	} {
		checkProps(t, c.metric+" alarm", props(s.resource(t, c.id)), map[string]any{
			"Namespace":          "AWS/States",
			"MetricName":         c.metric,
			"Dimensions":         []any{map[string]any{"Name": "StateMachineArn", "Value": ref(sm)}},
			"Statistic":          "Sum",
			"ComparisonOperator": "GreaterThanThreshold",
			"Threshold":          0.0,
			"AlarmName":          stackAlarmName(c.suffix),
		})
		classifiedAs(t, c.suffix, "AWS/States", c.metric, "incident-response", c.severity)
	}
}

func TestHeartbeat(t *testing.T) {
	s := synth(t, nil)
	fn := logicalID(t, s, s.stack.Functions.Heartbeat)
	check(t, "schedule", func() {
		s.tmpl.HasResourceProperties(jsii.String("AWS::Events::Rule"), map[string]any{
			"ScheduleExpression": "rate(5 minutes)",
			"State":              "ENABLED",
			"Targets":            []any{assertions.Match_ObjectLike(&map[string]any{"Arn": getAtt(fn, "Arn")})},
		})
	})
	check(t, "EventBridge may invoke it", func() {
		s.tmpl.HasResourceProperties(jsii.String("AWS::Lambda::Permission"), map[string]any{
			"Action":       "lambda:InvokeFunction",
			"FunctionName": getAtt(fn, "Arn"),
			"Principal":    "events.amazonaws.com",
			"SourceArn":    getAtt(logicalID(t, s, s.stack.Heartbeat.Schedule), "Arn"),
		})
	})
	topic := []any{ref(logicalID(t, s, s.stack.OperatorAlerts.Topic))}
	checkProps(t, "heartbeat alarm", props(s.resource(t, logicalID(t, s, s.stack.Heartbeat.Missing))), map[string]any{
		"Namespace":  "Dashboarduz/IncidentResponse",
		"MetricName": "Heartbeat",
		// Its own function: another stack's beats never hide this one's silence.
		"Dimensions":         []any{map[string]any{"Name": "FunctionName", "Value": ref(fn)}},
		"Statistic":          "SampleCount",
		"Period":             300.0,
		"ComparisonOperator": "LessThanThreshold",
		"Threshold":          1.0,
		"EvaluationPeriods":  3.0,
		"DatapointsToAlarm":  2.0,
		// A dead man's switch: no data is the alarm.
		"TreatMissingData": "breaching",
		"AlarmName":        stackAlarmName(HeartbeatAlarmSuffix),
		// Straight to the operator, through nothing of this system.
		"AlarmActions": topic,
		"OKActions":    topic,
	})
	classifiedAs(t, HeartbeatAlarmSuffix, "Dashboarduz/IncidentResponse", "Heartbeat", "incident-response", incident.P0)
	if got := props(s.resource(t, fn))["ReservedConcurrentExecutions"]; got != 1.0 {
		t.Errorf("heartbeat reserved concurrency = %v, want 1", got)
	}
}

func TestFireDrill(t *testing.T) {
	s := synth(t, nil)
	fn := logicalID(t, s, s.stack.Functions.FireDrill)
	hb := logicalID(t, s, s.stack.Functions.Heartbeat)
	check(t, "monthly schedule", func() {
		s.tmpl.HasResourceProperties(jsii.String("AWS::Events::Rule"), map[string]any{
			"ScheduleExpression": DefaultFireDrillSchedule,
			"State":              "ENABLED",
			"Targets":            []any{assertions.Match_ObjectLike(&map[string]any{"Arn": getAtt(fn, "Arn")})},
		})
	})
	if DefaultFireDrillSchedule != "cron(0 10 1 * ? *)" {
		t.Errorf("default schedule %q, want monthly", DefaultFireDrillSchedule)
	}

	// The drill's own alarm: named for the classification rule, no
	// actions, a metric nothing emits.
	alarm := props(s.resource(t, logicalID(t, s, s.stack.FireDrill.Alarm)))
	if canon(alarm["AlarmName"]) != canon(stackAlarmName(drill.AlarmSuffix)) || alarm["AlarmActions"] != nil || alarm["TreatMissingData"] != "notBreaching" {
		t.Errorf("drill alarm = %s", canon(alarm))
	}
	classifiedAs(t, drill.AlarmSuffix, "Dashboarduz/IncidentResponse", FireDrillSignalMetric, drill.Service, incident.P3)
	// Its incidents are drills, so the Page task routes them to the test key.
	arn := "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:" + StackID + drill.AlarmSuffix
	sig := incident.DefaultClassificationRules().Classify(incident.AlarmFacts{Name: StackID + drill.AlarmSuffix})
	if !(&incident.Incident{Service: sig.Service, DedupKey: arn}).IsDrill() {
		t.Errorf("an incident of the drill alarm (%+v) is not recognised as a drill", sig)
	}

	topic := []any{ref(logicalID(t, s, s.stack.OperatorAlerts.Topic))}
	checkProps(t, "fire-drill-failing alarm", props(s.resource(t, logicalID(t, s, s.stack.FireDrill.Failing))), map[string]any{
		"Namespace":          "Dashboarduz/IncidentResponse",
		"MetricName":         "FireDrillFailing",
		"Dimensions":         []any{map[string]any{"Name": "FunctionName", "Value": ref(hb)}},
		"Statistic":          "Maximum",
		"ComparisonOperator": "GreaterThanThreshold",
		"Threshold":          0.0,
		"TreatMissingData":   "notBreaching",
		"AlarmName":          stackAlarmName(FireDrillFailingAlarmSuffix),
		"AlarmActions":       topic,
	})
	classifiedAs(t, FireDrillFailingAlarmSuffix, "Dashboarduz/IncidentResponse", "FireDrillFailing", "incident-response", incident.P1)
	if got := props(s.resource(t, fn))["ReservedConcurrentExecutions"]; got != 1.0 {
		t.Errorf("fire drill reserved concurrency = %v, want 1: two drills at once would see each other's incident", got)
	}

	// Configured: another schedule and age; off: no schedule, no watch.
	s = synth(t, map[string]any{ContextFireDrillSchedule: "cron(0 9 ? * MON *)", ContextFireDrillMaxAgeDays: "8"})
	check(t, "weekly schedule", func() {
		s.tmpl.HasResourceProperties(jsii.String("AWS::Events::Rule"), map[string]any{"ScheduleExpression": "cron(0 9 ? * MON *)"})
	})
	env := envOf(t, s, logicalID(t, s, s.stack.Functions.Heartbeat))
	if env[EnvFireDrillMaxAgeDays] != "8" {
		t.Errorf("%s = %v, want 8", EnvFireDrillMaxAgeDays, env[EnvFireDrillMaxAgeDays])
	}
	s = synth(t, map[string]any{ContextFireDrillSchedule: "off"})
	if s.stack.FireDrill.Schedule != nil || s.stack.FireDrill.Failing != nil {
		t.Errorf("fireDrillSchedule=off still schedules or watches the drill")
	}
	check(t, "rules without the drill", func() {
		s.tmpl.ResourceCountIs(jsii.String("AWS::Events::Rule"), jsii.Number(float64(len(eventbridge.IngestRules())+1)))
	})
	env = envOf(t, s, logicalID(t, s, s.stack.Functions.Heartbeat))
	if _, ok := env[EnvFireDrillMaxAgeDays]; ok {
		t.Errorf("with the drill off, the heartbeat still watches it")
	}
}

func TestReservedConcurrency(t *testing.T) {
	reserved := func(s synthesized) map[string]any {
		out := map[string]any{}
		for name, fn := range s.stack.Functions.ByName() {
			if v, ok := props(s.resource(t, logicalID(t, s, fn)))["ReservedConcurrentExecutions"]; ok {
				out[name] = v
			}
		}
		return out
	}
	for _, c := range []struct {
		name string
		ctx  map[string]any
		want map[string]any
	}{
		{"defaults", nil, map[string]any{AlarmIngestFunction: 20.0, EscalationPlanFunction: 10.0, EscalationPageFunction: 10.0, HeartbeatFunction: 1.0, FireDrillFunction: 1.0,
			HealthCheckFunction: 1.0}},
		{"from cdk.json", map[string]any{ContextReservedConcurrency: map[string]any{EscalationPageFunction: 25.0}},
			map[string]any{AlarmIngestFunction: 20.0, EscalationPlanFunction: 10.0, EscalationPageFunction: 25.0, HeartbeatFunction: 1.0, FireDrillFunction: 1.0,
				HealthCheckFunction: 1.0}},
		{"from the command line", map[string]any{ContextReservedConcurrency: `{"alarm-ingest": "50"}`},
			map[string]any{AlarmIngestFunction: 50.0, EscalationPlanFunction: 10.0, EscalationPageFunction: 10.0, HeartbeatFunction: 1.0, FireDrillFunction: 1.0,
				HealthCheckFunction: 1.0}},
		{"off", map[string]any{ContextReservedConcurrency: "off"}, map[string]any{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := reserved(synth(t, c.ctx)); !maps.Equal(got, c.want) {
				t.Errorf("reserved concurrency = %v, want %v", got, c.want)
			}
		})
	}
	// The api function is not on the paging path: the stage throttles it.
	sum := 0
	for _, n := range DefaultReservedConcurrency {
		sum += n
	}
	// The heartbeat, the fire drill and the health checks reserve one each.
	if sum+3*singletonConcurrency > 100 {
		t.Errorf("the defaults reserve %d: more than a tenth of a default account's 1,000", sum+3*singletonConcurrency)
	}
}

func TestWatchConfigErrors(t *testing.T) {
	for _, c := range []struct {
		name string
		ctx  map[string]any
		err  string
	}{
		{"no operator contact", map[string]any{ContextOperatorEmail: ""}, "context operatorEmail, operatorPagerDutySecretName: required: an operator contact"},
		{"not an email address", map[string]any{ContextOperatorEmail: "oncall"}, `context operatorEmail: "oncall" is not an email address`},
		{"not a secret name", map[string]any{ContextOperatorPagerDutySecretName: "a secret!"}, "is not a Secrets Manager secret name"},
		{"unknown function", map[string]any{ContextReservedConcurrency: map[string]any{"api": 5.0}}, `"api" is not a function of the paging path`},
		{"zero stops a function", map[string]any{ContextReservedConcurrency: `{"escalation-page": 0}`}, "0 would stop the function"},
		{"starves the account", map[string]any{ContextReservedConcurrency: map[string]any{AlarmIngestFunction: 500.0}}, "520 reserved in all, more than 200"},
		{"not JSON", map[string]any{ContextReservedConcurrency: "lots"}, `"lots" is neither "off" nor a JSON object`},
		{"not a schedule", map[string]any{ContextFireDrillSchedule: "monthly"}, `"monthly" is not an EventBridge schedule expression`},
		{"max age zero", map[string]any{ContextFireDrillMaxAgeDays: 0.0}, "0 is not a positive number of days"},
	} {
		t.Run(c.name, func(t *testing.T) { synthFails(t, c.ctx, c.err) })
	}
}

func TestOperatorContact(t *testing.T) {
	// cdk.json's placeholder: synthesis works, with a warning.
	s := synth(t, nil)
	check(t, "placeholder warning", func() {
		assertions.Annotations_FromStack(s.stack.Stack).HasWarning(jsii.String("/"+StackID),
			assertions.Match_StringLikeRegexp(jsii.String("operatorEmail is cdk.json's placeholder")))
	})

	// A stack bound to an account is what `cdk deploy` synthesizes: the
	// placeholder, and no contact at all, must not get that far.
	for _, c := range []struct {
		name string
		ctx  map[string]any
		err  string
	}{
		{"placeholder", map[string]any{}, "placeholder operator@placeholder.invalid cannot be deployed (account 123456789012)"},
		{"nothing", map[string]any{ContextOperatorEmail: ""}, "required: an operator contact"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx := maps.Clone(testJWTContext)
			delete(ctx, ContextOperatorEmail)
			maps.Copy(ctx, c.ctx)
			_, err := newBoundTestStack(t, ctx)
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("err = %v, want one containing %q", err, c.err)
			}
		})
	}
	// A PagerDuty integration alone is a contact; a real email with it too.
	ctx := maps.Clone(testJWTContext)
	delete(ctx, ContextOperatorEmail)
	ctx[ContextOperatorPagerDutySecretName] = "team/operator-pagerduty"
	if _, err := newBoundTestStack(t, ctx); err != nil {
		t.Errorf("PagerDuty integration alone, bound to an account: %v", err)
	}

	s = synth(t, map[string]any{ContextOperatorPagerDutySecretName: "team/operator-pagerduty", ContextOperatorEmail: "oncall@example.com"})
	topic := ref(logicalID(t, s, s.stack.OperatorAlerts.Topic))
	check(t, "PagerDuty subscription from the secret", func() {
		s.tmpl.HasResourceProperties(jsii.String("AWS::SNS::Subscription"), map[string]any{
			"Protocol": "https",
			// A dynamic reference, resolved by CloudFormation at deploy:
			// the integration key is never in the template.
			"Endpoint": "{{resolve:secretsmanager:team/operator-pagerduty:SecretString:::}}",
			"TopicArn": topic,
		})
	})
	check(t, "and the email", func() {
		s.tmpl.HasResourceProperties(jsii.String("AWS::SNS::Subscription"), map[string]any{"Protocol": "email", "Endpoint": "oncall@example.com"})
	})
	check(t, "no placeholder warning", func() {
		assertions.Annotations_FromStack(s.stack.Stack).HasNoWarning(jsii.String("*"),
			assertions.Match_StringLikeRegexp(jsii.String("operatorEmail is cdk.json's placeholder")))
	})
}
