package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/jsii-runtime-go"

	"github.com/dashboarduz/incident-response/shared/auth"
	"github.com/dashboarduz/incident-response/shared/eventbridge"
	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/statemachine"
)

func TestResourceCounts(t *testing.T) {
	s := synth(t, nil)
	for _, c := range []struct {
		typ  string
		want float64
	}{
		{"AWS::DynamoDB::Table", 1},
		{"AWS::StepFunctions::StateMachine", 1},
		// The ingest rules (alarm state changes, ECS and RDS events), the
		// heartbeat's and the fire drill's schedules.
		{"AWS::Events::Rule", float64(len(eventbridge.IngestRules())) + 2},
		{"AWS::Scheduler::Schedule", 0}, // the health checks are scheduled once their file is set
		{"AWS::SQS::Queue", 1},
		// Failed and timed-out executions, rejected pages, dead letters,
		// the heartbeat, the fire drill's own alarm and its failing
		// drills, and each function's errors and throttles. (An execution
		// stopped by hand is an ingest rule's.)
		{"AWS::CloudWatch::Alarm", 7 + 2*float64(len(FunctionNames))},
		{"AWS::Logs::LogGroup", float64(len(FunctionNames)) + 2}, // the functions, the state machine, the API's access logs
		{"AWS::Logs::MetricFilter", 1},
		{"AWS::SNS::Topic", 1},
		{"AWS::SNS::Subscription", 1},                       // cdk.json's placeholder operatorEmail
		{"AWS::IAM::Role", float64(len(FunctionNames)) + 1}, // one per function, the state machine's
		{"AWS::SecretsManager::Secret", 0},                  // imported, never created
		{"AWS::ApiGatewayV2::Api", 1},
		{"AWS::ApiGatewayV2::Stage", 1},
		{"AWS::ApiGatewayV2::Authorizer", 1},
		{"AWS::ApiGatewayV2::Integration", 1}, // one for every route
		{"AWS::ApiGatewayV2::Route", float64(len(APIRoutes))},
	} {
		check(t, c.typ, func() { s.tmpl.ResourceCountIs(jsii.String(c.typ), jsii.Number(c.want)) })
	}
	// Count by runtime: a custom resource would add a Lambda of its own.
	check(t, "provided.al2023 functions", func() {
		s.tmpl.ResourcePropertiesCountIs(jsii.String("AWS::Lambda::Function"),
			map[string]any{"Runtime": "provided.al2023"}, jsii.Number(float64(len(FunctionNames))))
	})
}

func TestTable(t *testing.T) {
	s := synth(t, nil)
	key := func(name, typ string) map[string]any { return map[string]any{"AttributeName": name, "KeyType": typ} }
	gsi := func(name, partition string) map[string]any {
		return map[string]any{
			"IndexName":  name,
			"KeySchema":  []any{key(partition, "HASH"), key("openedAt", "RANGE")},
			"Projection": map[string]any{"ProjectionType": "ALL"},
		}
	}
	check(t, "table", func() {
		s.tmpl.HasResource(jsii.String("AWS::DynamoDB::Table"), map[string]any{
			"DeletionPolicy":      "Retain",
			"UpdateReplacePolicy": "Retain",
			"Properties": map[string]any{
				"KeySchema":                        []any{key("pk", "HASH"), key("sk", "RANGE")},
				"BillingMode":                      "PAY_PER_REQUEST",
				"PointInTimeRecoverySpecification": map[string]any{"PointInTimeRecoveryEnabled": true},
				"DeletionProtectionEnabled":        true,
				"TimeToLiveSpecification":          map[string]any{"AttributeName": "expiresAt", "Enabled": true},
				// AWS-managed encryption: SSE on, no customer key.
				"SSESpecification":       map[string]any{"SSEEnabled": true, "KMSMasterKeyId": assertions.Match_Absent()},
				"GlobalSecondaryIndexes": []any{gsi("byStatus", "status"), gsi("byService", "service"), gsi("byOpenedAt", "entity")},
				"TableName":              assertions.Match_Absent(),
			},
		})
	})
	table := props(s.resource(t, logicalID(t, s, s.stack.Storage.Table)))
	got := map[string]string{}
	for _, a := range table["AttributeDefinitions"].([]any) {
		a := a.(map[string]any)
		got[a["AttributeName"].(string)] = a["AttributeType"].(string)
	}
	want := map[string]string{"pk": "S", "sk": "S", "status": "S", "service": "S", "entity": "S", "openedAt": "S"}
	if !maps.Equal(got, want) {
		t.Errorf("AttributeDefinitions = %v, want %v", got, want)
	}
}

func TestFunctions(t *testing.T) {
	s := synth(t, nil)
	fns := s.stack.Functions
	tableRef := canon(ref(logicalID(t, s, s.stack.Storage.Table)))
	smRef := canon(ref(logicalID(t, s, s.stack.Escalation.StateMachine)))
	smByName := canon(join("arn:", ref("AWS::Partition"), ":states:", ref("AWS::Region"), ":", ref("AWS::AccountId"), ":stateMachine:DashboarduzIncidentResponse-escalation"))
	secretArn := canon(join("arn:", ref("AWS::Partition"), ":secretsmanager:", ref("AWS::Region"), ":", ref("AWS::AccountId"),
		":secret:"+DefaultRoutingKeysSecretName))
	webhookSecretArn := canon(join("arn:", ref("AWS::Partition"), ":secretsmanager:", ref("AWS::Region"), ":", ref("AWS::AccountId"),
		":secret:"+DefaultPagerDutyWebhookSecretName))
	sentrySecretArn := canon(join("arn:", ref("AWS::Partition"), ":secretsmanager:", ref("AWS::Region"), ":", ref("AWS::AccountId"),
		":secret:"+DefaultSentryClientSecretName))
	for _, c := range []struct {
		name    string
		id      string
		timeout float64
		env     map[string]string // variable -> canonical JSON of its value
	}{
		{AlarmIngestFunction, logicalID(t, s, fns.AlarmIngest), 30,
			map[string]string{"TABLE_NAME": tableRef, "STATE_MACHINE_ARN": smRef}},
		{EscalationPlanFunction, logicalID(t, s, fns.EscalationPlan), 60,
			map[string]string{"TABLE_NAME": tableRef, "STATE_MACHINE_ARN": smByName}},
		{EscalationPageFunction, logicalID(t, s, fns.EscalationPage), 60,
			map[string]string{"TABLE_NAME": tableRef, "ROUTING_KEYS_SECRET_ARN": secretArn}},
		{APIFunction, logicalID(t, s, fns.API), 25,
			map[string]string{"TABLE_NAME": tableRef, "STATE_MACHINE_ARN": smRef, "PAGERDUTY_WEBHOOK_SECRET_ARN": webhookSecretArn,
				"SENTRY_CLIENT_SECRET_ARN": sentrySecretArn,
				"ROLE_CLAIM":               canon("groups"), "ROLE_NAMES": canon(auth.RoleMapping{}.NamesJSON()),
				EnvStatusPageURL: canon(join("https://", ref(logicalID(t, s, s.stack.API.HTTPAPI)), ".execute-api.", ref("AWS::Region"), ".", ref("AWS::URLSuffix"), "/status"))}},
		// Above the default checks' 5 s timeout by the margin; no
		// HEALTH_CHECKS until a file is set.
		{HealthCheckFunction, logicalID(t, s, fns.HealthCheck), 35,
			map[string]string{"TABLE_NAME": tableRef, "STATE_MACHINE_ARN": smRef}},
		{HeartbeatFunction, logicalID(t, s, fns.Heartbeat), 30,
			map[string]string{"TABLE_NAME": tableRef, "STATE_MACHINE_ARN": smRef, "FIRE_DRILL_MAX_AGE_DAYS": `"35"`}},
		{FireDrillFunction, logicalID(t, s, fns.FireDrill), 720,
			map[string]string{"TABLE_NAME": tableRef, "STATE_MACHINE_ARN": smRef,
				"FIRE_DRILL_ALARM_NAME": canon(ref(logicalID(t, s, s.stack.FireDrill.Alarm))),
				"FIRE_DRILL_ALARM_ARN":  canon(getAtt(logicalID(t, s, s.stack.FireDrill.Alarm), "Arn"))}},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := props(s.resource(t, c.id))
			for _, f := range []struct {
				field string
				want  any
			}{
				{"Runtime", "provided.al2023"},
				{"Architectures", []any{"arm64"}},
				{"Handler", "bootstrap"},
				{"MemorySize", 256.0},
				{"Timeout", c.timeout},
				{"FunctionName", nil}, // CDK names it
			} {
				if got, want := canon(p[f.field]), canon(f.want); got != want {
					t.Errorf("%s = %s, want %s", f.field, got, want)
				}
			}
			env, _ := p["Environment"].(map[string]any)["Variables"].(map[string]any)
			got := map[string]string{}
			for k, v := range env {
				got[k] = canon(v)
			}
			if !maps.Equal(got, c.env) {
				t.Errorf("Environment = %v\nwant %v", got, c.env)
			}

			lc, _ := p["LoggingConfig"].(map[string]any)
			if lc["LogFormat"] != "JSON" || lc["ApplicationLogLevel"] != "INFO" {
				t.Errorf("LoggingConfig = %s, want LogFormat JSON, ApplicationLogLevel INFO", canon(lc))
			}
			lg, _ := lc["LogGroup"].(map[string]any)["Ref"].(string)
			logs := s.resource(t, lg)
			if logs["Type"] != "AWS::Logs::LogGroup" || props(logs)["RetentionInDays"] != 30.0 {
				t.Errorf("log group %s = %s, want a LogGroup with RetentionInDays 30", lg, canon(logs))
			}
			if p["TracingConfig"] != nil {
				t.Errorf("TracingConfig = %s: tracing needs xray:* on Resource \"*\"", canon(p["TracingConfig"]))
			}
		})
	}
}

func TestIngestFunctionAsync(t *testing.T) {
	s := synth(t, nil)
	fn := logicalID(t, s, s.stack.Functions.AlarmIngest)
	queueArn := getAtt(logicalID(t, s, s.stack.DeadLetters.Queue), "Arn")

	if got, want := canon(props(s.resource(t, fn))["DeadLetterConfig"]), canon(map[string]any{"TargetArn": queueArn}); got != want {
		t.Errorf("DeadLetterConfig = %s, want %s", got, want)
	}
	check(t, "event invoke config", func() {
		s.tmpl.HasResourceProperties(jsii.String("AWS::Lambda::EventInvokeConfig"), map[string]any{
			"FunctionName":             ref(fn),
			"MaximumRetryAttempts":     2,
			"MaximumEventAgeInSeconds": 6 * 3600,
		})
	})
	check(t, "CloudWatch alarm actions may invoke", func() {
		s.tmpl.HasResourceProperties(jsii.String("AWS::Lambda::Permission"), map[string]any{
			"Action":        "lambda:InvokeFunction",
			"FunctionName":  getAtt(fn, "Arn"),
			"Principal":     "lambda.alarms.cloudwatch.amazonaws.com",
			"SourceAccount": ref("AWS::AccountId"),
		})
	})
	// Only the ingest function takes async events, besides the three
	// scheduled functions, which are never retried: the next beat or
	// health-check run comes in minutes, and a repeated drill would raise
	// its alarm again.
	if got := len(s.resourcesOfType("AWS::Lambda::EventInvokeConfig")); got != 4 {
		t.Errorf("%d EventInvokeConfigs, want 4", got)
	}
	for _, fn := range []string{logicalID(t, s, s.stack.Functions.Heartbeat), logicalID(t, s, s.stack.Functions.FireDrill),
		logicalID(t, s, s.stack.Functions.HealthCheck)} {
		check(t, "no retries for "+fn, func() {
			s.tmpl.HasResourceProperties(jsii.String("AWS::Lambda::EventInvokeConfig"), map[string]any{
				"FunctionName":         ref(fn),
				"MaximumRetryAttempts": 0,
			})
		})
	}
}

func TestStateMachine(t *testing.T) {
	s := synth(t, nil)
	logs := logicalID(t, s, s.stack.Escalation.Node().FindChild(jsii.String("Logs")))
	check(t, "state machine", func() {
		s.tmpl.HasResourceProperties(jsii.String("AWS::StepFunctions::StateMachine"), map[string]any{
			"StateMachineType": "STANDARD",
			"StateMachineName": "DashboarduzIncidentResponse-escalation",
			"LoggingConfiguration": assertions.Match_ObjectEquals(&map[string]any{
				"Destinations": []any{map[string]any{
					"CloudWatchLogsLogGroup": map[string]any{"LogGroupArn": getAtt(logs, "Arn")},
				}},
				"IncludeExecutionData": false,
				"Level":                "ERROR",
			}),
		})
	})
	if got := props(s.resource(t, logs))["RetentionInDays"]; got != 30.0 {
		t.Errorf("state machine log retention = %v, want 30", got)
	}
}

// TestIngestRules checks that the stack has exactly one rule per
// eventbridge.IngestRules, with its pattern as the local stack matches it,
// each delivering to the ingest function with the same dead-letter queue
// and retries.
func TestIngestRules(t *testing.T) {
	s := synth(t, nil)
	fn := logicalID(t, s, s.stack.Functions.AlarmIngest)
	queue := logicalID(t, s, s.stack.DeadLetters.Queue)
	rules := eventbridge.IngestRules()
	if len(s.stack.Ingest.Rules) != len(rules) || s.stack.Ingest.Rule == nil {
		t.Fatalf("%d ingest rules, want %d and the alarm rule among them", len(s.stack.Ingest.Rules), len(rules))
	}
	for _, r := range rules {
		t.Run(r.Name, func(t *testing.T) {
			rule, ok := s.stack.Ingest.Rules[r.Name]
			if !ok {
				t.Fatalf("no rule %s", r.Name)
			}
			p := props(s.resource(t, logicalID(t, s, rule)))
			pattern := r.Pattern()
			if r.EscalationOnly {
				// Narrowed to this stack's state machine.
				pattern["detail"].(map[string]any)["stateMachineArn"] = []any{ref(logicalID(t, s, s.stack.Escalation.StateMachine))}
			}
			for field, want := range map[string]any{
				"EventPattern": pattern,
				"Description":  r.Description,
				"State":        "ENABLED",
				"EventBusName": nil, // the default bus
				"Targets": []any{map[string]any{
					"Id":               "Target0",
					"Arn":              getAtt(fn, "Arn"),
					"DeadLetterConfig": map[string]any{"Arn": getAtt(queue, "Arn")},
					"RetryPolicy": map[string]any{
						"MaximumEventAgeInSeconds": 2 * 3600,
						"MaximumRetryAttempts":     185,
					},
				}},
			} {
				if got := canon(p[field]); got != canon(want) {
					t.Errorf("%s = %s\nwant %s", field, got, canon(want))
				}
			}
		})
	}
	// The alarm rule keeps its construct ID, so the deployed rule is kept.
	if got := logicalID(t, s, s.stack.Ingest.Rule); !strings.HasPrefix(got, "IngestAlarmStateChange") {
		t.Errorf("alarm rule %s, want the logical ID it always had", got)
	}
}

func TestDeadLetterQueue(t *testing.T) {
	s := synth(t, nil)
	queue := logicalID(t, s, s.stack.DeadLetters.Queue)
	check(t, "queue", func() {
		s.tmpl.HasResourceProperties(jsii.String("AWS::SQS::Queue"), map[string]any{
			"MessageRetentionPeriod": 14 * 24 * 3600,
			"SqsManagedSseEnabled":   true,
			"QueueName":              assertions.Match_Absent(),
		})
	})
	check(t, "queue denies plain HTTP", func() {
		s.tmpl.HasResourceProperties(jsii.String("AWS::SQS::QueuePolicy"), map[string]any{
			"PolicyDocument": map[string]any{"Statement": assertions.Match_ArrayWith(&[]any{assertions.Match_ObjectLike(&map[string]any{
				"Effect":    "Deny",
				"Condition": map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}},
			})})},
		})
	})
	check(t, "alarm on the queue", func() {
		s.tmpl.HasResourceProperties(jsii.String("AWS::CloudWatch::Alarm"), map[string]any{
			"Namespace":          "AWS/SQS",
			"MetricName":         "ApproximateNumberOfMessagesVisible",
			"Dimensions":         []any{map[string]any{"Name": "QueueName", "Value": getAtt(queue, "QueueName")}},
			"ComparisonOperator": "GreaterThanThreshold",
			"Threshold":          0,
			"EvaluationPeriods":  1,
			"AlarmName":          map[string]any{"Fn::Join": []any{"", []any{map[string]any{"Ref": "AWS::StackName"}, DeadLettersAlarmSuffix}}},
		})
	})
}

func TestEscalationFailuresAlarm(t *testing.T) {
	s := synth(t, nil)
	sm := logicalID(t, s, s.stack.Escalation.StateMachine)
	check(t, "alarm on failed executions", func() {
		s.tmpl.HasResourceProperties(jsii.String("AWS::CloudWatch::Alarm"), map[string]any{
			"Namespace":          "AWS/States",
			"MetricName":         "ExecutionsFailed",
			"Dimensions":         []any{map[string]any{"Name": "StateMachineArn", "Value": map[string]any{"Ref": sm}}},
			"ComparisonOperator": "GreaterThanThreshold",
			"Threshold":          0,
			"AlarmName":          map[string]any{"Fn::Join": []any{"", []any{map[string]any{"Ref": "AWS::StackName"}, EscalationFailuresAlarmSuffix}}},
		})
	})
	// The classification rules must know this system's own alarms, or their
	// incidents would be filed under the product's services.
	rules := incident.DefaultClassificationRules()
	for suffix, c := range map[string]struct {
		namespace, metric string
		want              incident.Severity
	}{
		EscalationFailuresAlarmSuffix: {"AWS/States", "ExecutionsFailed", incident.P0},
		PagesRejectedAlarmSuffix:      {MetricNamespace, PagesRejectedMetric, incident.P0},
		DeadLettersAlarmSuffix:        {"AWS/SQS", "ApproximateNumberOfMessagesVisible", incident.P1},
	} {
		want := c.want
		got := rules.Classify(incident.AlarmFacts{Name: StackID + suffix, Namespace: c.namespace, MetricName: c.metric})
		if got.Service != "incident-response" || got.Severity != want {
			t.Errorf("alarm %s%s is classified %+v, want incident-response at %s", StackID, suffix, got, want)
		}
	}
}

func TestPagesRejectedAlarm(t *testing.T) {
	s := synth(t, nil)
	pageLogs := props(s.resource(t, logicalID(t, s, s.stack.Functions.EscalationPage)))["LoggingConfig"].(map[string]any)["LogGroup"]
	wantPattern := `{ $.message = "page rejected" }`
	check(t, "metric filter on escalation-page's logs", func() {
		s.tmpl.HasResourceProperties(jsii.String("AWS::Logs::MetricFilter"), assertions.Match_ObjectEquals(&map[string]any{
			"LogGroupName":  pageLogs,
			"FilterPattern": wantPattern,
			"MetricTransformations": []any{map[string]any{
				"MetricNamespace": "DashboarduzIncidentResponse",
				"MetricName":      "PagesRejected",
				"MetricValue":     "1",
			}},
		}))
	})
	check(t, "alarm on rejected pages", func() {
		s.tmpl.HasResourceProperties(jsii.String("AWS::CloudWatch::Alarm"), map[string]any{
			"Namespace":          "DashboarduzIncidentResponse",
			"MetricName":         "PagesRejected",
			"Dimensions":         assertions.Match_Absent(),
			"Statistic":          "Sum",
			"Period":             60,
			"ComparisonOperator": "GreaterThanThreshold",
			"Threshold":          0,
			"EvaluationPeriods":  1,
			"TreatMissingData":   "notBreaching",
			"AlarmName":          map[string]any{"Fn::Join": []any{"", []any{map[string]any{"Ref": "AWS::StackName"}, "-pages-rejected"}}},
			"AlarmDescription":   assertions.Match_StringLikeRegexp(jsii.String("routing key.*not delivered")),
		})
	})
	if p := props(s.resource(t, logicalID(t, s, s.stack.Functions.PagesRejected))); p["MetricName"] != "PagesRejected" {
		t.Errorf("Functions.PagesRejected watches %v, want PagesRejected", p["MetricName"])
	}
	if MetricNamespace != StackID {
		t.Errorf("MetricNamespace = %q, want the stack's name %q", MetricNamespace, StackID)
	}

	// The filter must match what escalation-page writes: its logger is
	// lambdacontext.NewLogger, whose JSON records carry the message under
	// the key lambdacontext.ReplaceAttr gives it, not slog's "msg".
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{ReplaceAttr: lambdacontext.ReplaceAttr})).
		Error(PageRejectedMessage, "incidentId", "inc-1", "level", 2)
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatalf("decode log record %q: %v", buf.String(), err)
	}
	if rec[logMessageKey] != PageRejectedMessage || rec["msg"] != nil {
		t.Errorf("the function's log record is %s: its message is not under %q, so %s would never match", buf.String(), logMessageKey, wantPattern)
	}
}

func TestOutputs(t *testing.T) {
	s := synth(t, nil)
	for name, value := range map[string]any{
		"TableName":               ref(logicalID(t, s, s.stack.Storage.Table)),
		"StateMachineArn":         ref(logicalID(t, s, s.stack.Escalation.StateMachine)),
		"IngestFunctionName":      ref(logicalID(t, s, s.stack.Functions.AlarmIngest)),
		"DeadLetterQueueUrl":      ref(logicalID(t, s, s.stack.DeadLetters.Queue)),
		"HealthCheckFunctionName": ref(logicalID(t, s, s.stack.Functions.HealthCheck)),
		"ApiUrl": join("https://", ref(logicalID(t, s, s.stack.API.HTTPAPI)), ".execute-api.", ref("AWS::Region"), ".",
			ref("AWS::URLSuffix"), "/"),
	} {
		check(t, "output "+name, func() { s.tmpl.HasOutput(jsii.String(name), map[string]any{"Value": value}) })
	}
}

// logDeliveryActions are the CloudWatch Logs actions Step Functions needs to
// deliver a state machine's logs. They do not support resource-level
// permissions, so AWS documents (and the CDK grants) them on Resource "*":
// the only "*" the stack may contain.
var logDeliveryActions = []string{
	"logs:CreateLogDelivery", "logs:DeleteLogDelivery", "logs:DescribeLogGroups",
	"logs:DescribeResourcePolicies", "logs:GetLogDelivery", "logs:ListLogDeliveries",
	"logs:PutResourcePolicy", "logs:UpdateLogDelivery",
}

func TestIAMLeastPrivilege(t *testing.T) {
	s := synth(t, nil)
	st := s.stack
	fnID := map[string]string{} // function name -> logical ID
	fnRole := map[string]string{}
	var fnRoles []string
	// Each function's own log group, by its role.
	logGroupOf := map[string]any{}
	for name, fn := range st.Functions.ByName() {
		id := logicalID(t, s, fn)
		fnID[name], fnRole[name] = id, roleOf(t, s, id)
		fnRoles = append(fnRoles, fnRole[name])
		lg := props(s.resource(t, id))["LoggingConfig"].(map[string]any)["LogGroup"].(map[string]any)["Ref"].(string)
		logGroupOf[fnRole[name]] = getAtt(lg, "Arn")
	}
	smID := logicalID(t, s, st.Escalation.StateMachine)
	tableID := logicalID(t, s, st.Storage.Table)
	queueID := logicalID(t, s, st.DeadLetters.Queue)
	drillAlarmID := logicalID(t, s, st.FireDrill.Alarm)
	ingestRole, planRole, pageRole, apiRole := fnRole[AlarmIngestFunction], fnRole[EscalationPlanFunction], fnRole[EscalationPageFunction], fnRole[APIFunction]
	heartbeatRole, drillRole, healthRole := fnRole[HeartbeatFunction], fnRole[FireDrillFunction], fnRole[HealthCheckFunction]
	triageRole, remediateRole := fnRole[TriageFunction], fnRole[RemediateFunction]
	// The functions the state machine calls as its tasks.
	var taskArns []any
	for _, name := range []string{EscalationPlanFunction, EscalationPageFunction, TriageFunction, RemediateFunction, NotifyFunction} {
		taskArns = append(taskArns, getAtt(fnID[name], "Arn"))
	}
	smRole := props(s.resource(t, smID))["RoleArn"].(map[string]any)["Fn::GetAtt"].([]any)[0].(string)

	set := func(vs ...any) map[string]bool {
		m := map[string]bool{}
		for _, v := range vs {
			m[canon(v)] = true
		}
		return m
	}
	tableArn := getAtt(tableID, "Arn")
	indexArns := []any{join(tableArn, "/index/byStatus"), join(tableArn, "/index/byService"), join(tableArn, "/index/byOpenedAt")}
	secretArn := join("arn:", ref("AWS::Partition"), ":secretsmanager:", ref("AWS::Region"), ":", ref("AWS::AccountId"),
		":secret:"+DefaultRoutingKeysSecretName+"-??????")
	webhookSecretArn := join("arn:", ref("AWS::Partition"), ":secretsmanager:", ref("AWS::Region"), ":", ref("AWS::AccountId"),
		":secret:"+DefaultPagerDutyWebhookSecretName+"-??????")
	sentrySecretArn := join("arn:", ref("AWS::Partition"), ":secretsmanager:", ref("AWS::Region"), ":", ref("AWS::AccountId"),
		":secret:"+DefaultSentryClientSecretName+"-??????")
	// allowed maps an action to the resources it may be granted on.
	allowed := func(action string) (map[string]bool, bool) {
		switch {
		case action == "dynamodb:Query":
			return set(append([]any{tableArn}, indexArns...)...), true // each index by name, never index/*
		case strings.HasPrefix(action, "dynamodb:"):
			return set(tableArn), true // only a query reads an index
		case action == "states:StartExecution":
			// Plan knows the state machine by its fixed name (it hands long
			// executions over); the others by reference.
			return set(ref(smID), join("arn:", ref("AWS::Partition"), ":states:", ref("AWS::Region"), ":", ref("AWS::AccountId"), ":stateMachine:DashboarduzIncidentResponse-escalation")), true
		case action == "states:StopExecution":
			// Plan stops superseded executions: this state machine's only.
			return set(join("arn:", ref("AWS::Partition"), ":states:", ref("AWS::Region"), ":", ref("AWS::AccountId"), ":execution:DashboarduzIncidentResponse-escalation:*")), true
		case strings.HasPrefix(action, "secretsmanager:"):
			return set(secretArn, webhookSecretArn, sentrySecretArn), true
		case action == "lambda:InvokeFunction":
			// The unqualified ARNs the definition calls; no versions.
			return set(taskArns...), true
		case action == "states:DescribeStateMachine", action == "states:ListExecutions":
			return set(ref(smID)), true
		case action == "cloudwatch:SetAlarmState":
			return set(getAtt(drillAlarmID, "Arn")), true
		case slices.Contains(functionLogActions, action):
			all := []any{}
			for _, lg := range logGroupOf {
				all = append(all, lg)
			}
			return set(all...), true
		case action == "sqs:SendMessage":
			return set(getAtt(queueID, "Arn")), true
		case slices.Contains(logDeliveryActions, action), slices.Contains(runbookWildcardActions, action):
			return set("*"), true
		}
		return runbookResources(action)
	}

	// actionsOf collects, per role, every action granted and the resources
	// lambda:InvokeFunction is granted on; grantsOf, per role, the
	// resources of each action.
	actionsOf := map[string]map[string]bool{}
	grantsOf := map[string]map[string]map[string]bool{}
	invokable := map[string]bool{}
	policies := 0
	for id, r := range s.resourcesOfType("AWS::IAM::Policy") {
		policies++
		p := props(r)
		var roles []string
		for _, role := range list(p["Roles"]) {
			roles = append(roles, role.(map[string]any)["Ref"].(string))
		}
		for i, stmt := range list(p["PolicyDocument"].(map[string]any)["Statement"]) {
			stmt := stmt.(map[string]any)
			where := id + " statement " + canon(i)
			if stmt["Effect"] != "Allow" {
				continue
			}
			if stmt["NotAction"] != nil || stmt["NotResource"] != nil {
				t.Errorf("%s: NotAction/NotResource grants more than it names", where)
			}
			resources := list(stmt["Resource"])
			for _, a := range list(stmt["Action"]) {
				a := a.(string)
				if strings.Contains(a, "*") {
					t.Errorf("%s: wildcard action %q", where, a)
				}
				ok, known := allowed(a)
				if !known {
					t.Errorf("%s: unexpected action %q (review it and add it to this test)", where, a)
					continue
				}
				for _, res := range resources {
					if !ok[canon(res)] {
						t.Errorf("%s: %s on %s, want only on %v", where, a, canon(res), slices.Sorted(maps.Keys(ok)))
					}
					if canon(res) == `"*"` && !slices.Equal(roles, []string{smRole}) && !slices.Contains(runbookWildcardActions, a) {
						t.Errorf("%s: %s on \"*\" for roles %v, allowed only for the state machine's log delivery and the runbook's actions AWS allows nothing narrower for", where, a, roles)
					}
					if canon(res) == `"*"` && a == "ecs:ListTasks" && stmt["Condition"] == nil {
						t.Errorf("%s: ecs:ListTasks on \"*\" without its ecs:cluster condition", where)
					}
					if a == "lambda:InvokeFunction" {
						invokable[canon(res)] = true
					}
					if slices.Contains(functionLogActions, a) {
						for _, role := range roles {
							if canon(res) != canon(logGroupOf[role]) {
								t.Errorf("%s: role %s may %s on %s, want only its own log group %s", where, role, a, canon(res), canon(logGroupOf[role]))
							}
						}
					}
					for _, role := range roles {
						if grantsOf[role] == nil {
							grantsOf[role] = map[string]map[string]bool{}
						}
						if grantsOf[role][a] == nil {
							grantsOf[role][a] = map[string]bool{}
						}
						grantsOf[role][a][canon(res)] = true
					}
				}
				for _, role := range roles {
					if actionsOf[role] == nil {
						actionsOf[role] = map[string]bool{}
					}
					actionsOf[role][a] = true
				}
			}
		}
	}
	if policies == 0 {
		t.Fatal("no AWS::IAM::Policy in the template")
	}
	for id, r := range s.resourcesOfType("AWS::IAM::Role") {
		if props(r)["Policies"] != nil {
			t.Errorf("role %s has inline policies this test does not inspect", id)
		}
	}

	// Who may do what.
	for _, c := range []struct {
		action string
		roles  []string
	}{
		{"states:StartExecution", []string{ingestRole, apiRole, drillRole, planRole, healthRole}},
		{"states:StopExecution", []string{planRole}},
		{"states:DescribeStateMachine", []string{heartbeatRole}},
		{"states:ListExecutions", []string{drillRole}},
		{"cloudwatch:SetAlarmState", []string{drillRole}},
		{"secretsmanager:GetSecretValue", []string{pageRole, apiRole}},
		{"lambda:InvokeFunction", []string{smRole}},
		{"sqs:SendMessage", []string{ingestRole}},
		{"dynamodb:GetItem", rolesGranted(fnRole, "dynamodb:GetItem")},
		{"dynamodb:PutItem", rolesGranted(fnRole, "dynamodb:PutItem")},
		{"dynamodb:UpdateItem", rolesGranted(fnRole, "dynamodb:UpdateItem")},
		{"dynamodb:BatchGetItem", rolesGranted(fnRole, "dynamodb:BatchGetItem")},
		{"dynamodb:Query", rolesGranted(fnRole, "dynamodb:Query")},
		{"logs:CreateLogDelivery", []string{smRole}},
		{"logs:PutLogEvents", fnRoles},
		{"logs:CreateLogStream", fnRoles},
		{"ecs:DescribeServices", []string{triageRole, remediateRole}},
		{"ecs:UpdateService", []string{remediateRole}},
		{"ecs:ListTasks", []string{triageRole}},
		{"ecs:DescribeTasks", []string{triageRole}},
		{"ecs:ListTaskDefinitions", []string{remediateRole}},
		{"cloudwatch:GetMetricData", []string{triageRole}},
		{"logs:FilterLogEvents", []string{triageRole}},
		{"rds:DescribeDBInstances", []string{triageRole}},
		{"ssm:GetParameter", []string{remediateRole}},
		{"ssm:PutParameter", []string{remediateRole}},
	} {
		var got []string
		for role, actions := range actionsOf {
			if actions[c.action] {
				got = append(got, role)
			}
		}
		slices.Sort(got)
		want := slices.Sorted(slices.Values(c.roles))
		if !slices.Equal(got, want) {
			t.Errorf("%s granted to %v, want %v", c.action, got, want)
		}
	}
	// Exactly the table actions each function's code calls
	// (TestTableGrantsMatchStoreCode), and none of the broad ones.
	type tableGrant struct {
		fn, role string
		want     []string
	}
	var tableGrants []tableGrant
	for _, name := range FunctionNames {
		tableGrants = append(tableGrants, tableGrant{name, fnRole[name], slices.Sorted(slices.Values(tableActions[name]))})
	}
	for _, c := range tableGrants {
		var got []string
		for a := range actionsOf[c.role] {
			if strings.HasPrefix(a, "dynamodb:") {
				got = append(got, a)
			}
		}
		slices.Sort(got)
		if !slices.Equal(got, c.want) {
			t.Errorf("%s may do %v on the table, want exactly %v", c.fn, got, c.want)
		}
		for _, a := range []string{"dynamodb:Scan", "dynamodb:Query", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem", "dynamodb:BatchGetItem"} {
			if actionsOf[c.role][a] && !slices.Contains(c.want, a) {
				t.Errorf("%s may do %s", c.fn, a)
			}
		}
	}
	for role, actions := range actionsOf {
		if !slices.Contains(fnRoles, role) && slices.ContainsFunc(slices.Collect(maps.Keys(actions)), func(a string) bool { return strings.HasPrefix(a, "dynamodb:") }) {
			t.Errorf("role %s may use the table; only the functions may", role)
		}
	}

	// The api function: exactly these actions on exactly these resources.
	wantAPI := map[string]map[string]bool{
		"dynamodb:BatchGetItem":         set(tableArn),
		"logs:CreateLogStream":          set(logGroupOf[apiRole]),
		"logs:PutLogEvents":             set(logGroupOf[apiRole]),
		"dynamodb:GetItem":              set(tableArn),
		"dynamodb:PutItem":              set(tableArn),
		"dynamodb:UpdateItem":           set(tableArn),
		"dynamodb:Query":                set(append([]any{tableArn}, indexArns...)...),
		"states:StartExecution":         set(ref(smID)),
		"secretsmanager:GetSecretValue": set(webhookSecretArn, sentrySecretArn),
	}
	if !maps.EqualFunc(grantsOf[apiRole], wantAPI, maps.Equal) {
		t.Errorf("api function grants:\n%s\nwant exactly\n%s", canon(grantsOf[apiRole]), canon(wantAPI))
	}
	// Each secret is read by the one function that needs it.
	for role, grants := range grantsOf {
		for a, resources := range grants {
			if (resources[canon(webhookSecretArn)] || resources[canon(sentrySecretArn)]) && role != apiRole {
				t.Errorf("role %s has %s on a webhook secret; only the api function may read them", role, a)
			}
			if resources[canon(secretArn)] && role != pageRole {
				t.Errorf("role %s has %s on the routing keys; only escalation-page may read them", role, a)
			}
		}
	}
	// The api policy's index ARNs are the only ones in the template.
	if got := strings.Count(canon(s.json["Resources"]), "/index/"); got != len(TableIndexes) {
		t.Errorf("the template names %d table index ARNs, want %d: only the api function's Query, one per index", got, len(TableIndexes))
	}

	for a := range actionsOf[smRole] {
		if a != "lambda:InvokeFunction" && !slices.Contains(logDeliveryActions, a) {
			t.Errorf("state machine role has %s; it may only invoke its task functions and deliver its logs", a)
		}
	}
	for _, arn := range taskArns {
		if !invokable[canon(arn)] {
			t.Errorf("state machine may not invoke %s", canon(arn))
		}
	}
}

// rolesGranted lists the roles of the functions tableActions grants
// action to.
func rolesGranted(fnRole map[string]string, action string) []string {
	var out []string
	for name, actions := range tableActions {
		if slices.Contains(actions, action) {
			out = append(out, fnRole[name])
		}
	}
	return out
}

// runbookWildcardActions are the triage and remediate actions AWS allows
// on Resource "*" only (ecs:ListTasks also under its ecs:cluster
// condition).
var runbookWildcardActions = []string{"cloudwatch:GetMetricData", "ecs:ListTasks", "ecs:ListTaskDefinitions"}

// runbookResources are the resources each triage and remediate action
// may be granted on with the default sources and policy: the runbook's
// services, log groups, database and parameter, by name.
func runbookResources(action string) (map[string]bool, bool) {
	arn := func(service, rest string) string {
		return canon(join("arn:", ref("AWS::Partition"), ":"+service+":", ref("AWS::Region"), ":", ref("AWS::AccountId"), rest))
	}
	set := func(rs ...string) map[string]bool {
		m := map[string]bool{}
		for _, r := range rs {
			m[r] = true
		}
		return m
	}
	services := set(arn("ecs", ":service/dashboarduz-production/dashboarduz-api"), arn("ecs", ":service/dashboarduz-production/dashboarduz-worker"))
	switch action {
	case "ecs:DescribeServices", "ecs:UpdateService":
		return services, true
	case "ecs:DescribeTasks":
		return set(arn("ecs", ":task/dashboarduz-production/*")), true
	case "logs:FilterLogEvents":
		return set(arn("logs", ":log-group:/ecs/dashboarduz-api"), arn("logs", ":log-group:/ecs/dashboarduz-worker")), true
	case "rds:DescribeDBInstances":
		return set(arn("rds", ":db:dashboarduz-production-db")), true
	case "ssm:GetParameter", "ssm:PutParameter":
		return set(arn("ssm", ":parameter/dashboarduz/production/maintenance-mode")), true
	}
	return nil, false
}

func TestDeployedDefinition(t *testing.T) {
	s := synth(t, nil)
	p := props(s.resource(t, logicalID(t, s, s.stack.Escalation.StateMachine)))

	def, ok := p["DefinitionString"].(string)
	if !ok {
		t.Fatalf("DefinitionString = %s, want a plain string", canon(p["DefinitionString"]))
	}
	if def != statemachine.Definition {
		t.Errorf("deployed definition differs from statemachine.Definition: one definition, never a copy")
	}

	fns := s.stack.Functions
	fakeARN := map[string]string{}
	wantFn := map[string]string{}
	for placeholder, fn := range map[string]awslambda.Function{
		statemachine.PlanFunctionArn:      fns.EscalationPlan,
		statemachine.PageFunctionArn:      fns.EscalationPage,
		statemachine.TriageFunctionArn:    fns.Triage,
		statemachine.RemediateFunctionArn: fns.Remediate,
		statemachine.NotifyFunctionArn:    fns.Notify,
	} {
		arn := "arn:aws:lambda:us-east-1:123456789012:function:" + strings.ToLower(strings.TrimSuffix(placeholder, "FunctionArn"))
		fakeARN[canon(getAtt(logicalID(t, s, fn), "Arn"))] = arn
		wantFn[placeholder] = arn
	}
	subs, _ := p["DefinitionSubstitutions"].(map[string]any)
	values := map[string]string{}
	for name, v := range subs {
		values[name] = fakeARN[canon(v)]
		if values[name] != wantFn[name] {
			t.Errorf("substitution %s = %s, want the %s function's ARN", name, canon(v), wantFn[name])
		}
	}
	if got, want := slices.Sorted(maps.Keys(subs)), slices.Sorted(slices.Values(statemachine.Placeholders())); !slices.Equal(got, want) {
		t.Errorf("DefinitionSubstitutions names = %v, want the definition's placeholders %v", got, want)
	}
	deployed, err := statemachine.Substitute(def, values)
	if err != nil {
		t.Fatalf("substitute: %v", err)
	}

	path := filepath.Join(t.TempDir(), "escalation.asl.json")
	if err := os.WriteFile(path, []byte(deployed), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := runASLValidator(t, path); err != nil {
		t.Errorf("asl-validator rejects the deployed definition: %v\n%s", err, out)
	}

	// The validator must be able to fail, or the check above proves nothing.
	bad := filepath.Join(t.TempDir(), "bad.asl.json")
	if err := os.WriteFile(bad, []byte(`{"StartAt": "Missing", "States": {"Plan": {"Type": "Pass", "End": true}}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := runASLValidator(t, bad); err == nil {
		t.Errorf("asl-validator accepted an invalid definition:\n%s", out)
	}
}

// runASLValidator runs scripts/cdk/node_modules/.bin/asl-validator on path. A
// missing validator or node fails the test: CI relies on this check.
func runASLValidator(t *testing.T, path string) ([]byte, error) {
	t.Helper()
	root, err := FindRepoRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	validator := filepath.Join(root, "scripts", "cdk", "node_modules", ".bin", "asl-validator")
	if _, err := os.Stat(validator); err != nil {
		t.Fatalf("asl-validator not installed (%v): run `make tools`", err)
	}
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatalf("node not found (%v): install Node.js, then run `make tools`", err)
	}
	return exec.Command(validator, "--json-path", path).CombinedOutput()
}

func TestContextSettings(t *testing.T) {
	const secretName = "team/other-keys"
	s := synth(t, map[string]any{
		ContextLogRetentionDays:      "14", // as -c logRetentionDays=14 passes it
		ContextRoutingKeysSecretName: secretName,
		ContextPagerDutyEventsURL:    "http://127.0.0.1:9999/v2/enqueue",
		ContextIncidentURLBase:       "https://incidents.example.com/i/",
	})
	for id, r := range s.resourcesOfType("AWS::Logs::LogGroup") {
		if got := props(r)["RetentionInDays"]; got != 14.0 {
			t.Errorf("log group %s retention = %v, want 14", id, got)
		}
	}
	env := envOf(t, s, logicalID(t, s, s.stack.Functions.EscalationPage))
	for k, want := range map[string]string{
		EnvPagerDutyEventsURL: "http://127.0.0.1:9999/v2/enqueue",
		EnvIncidentURLBase:    "https://incidents.example.com/i/",
	} {
		if env[k] != want {
			t.Errorf("%s = %v, want %q", k, env[k], want)
		}
	}
	if got := canon(env[EnvRoutingKeysSecretArn]); !strings.Contains(got, ":secret:"+secretName+`"`) {
		t.Errorf("%s = %s, want the ARN of %s", EnvRoutingKeysSecretArn, got, secretName)
	}
	found := false
	for _, p := range s.policiesOf(roleOf(t, s, logicalID(t, s, s.stack.Functions.EscalationPage))) {
		found = found || strings.Contains(canon(p["PolicyDocument"]), ":secret:"+secretName+`-??????"`)
	}
	if !found {
		t.Errorf("escalation-page's policy does not grant the secret %s", secretName)
	}
}

func TestContextErrors(t *testing.T) {
	for _, c := range []struct {
		name  string
		ctx   map[string]any
		error string
	}{
		{"retention not allowed", map[string]any{ContextLogRetentionDays: 13.0}, "13 is not a retention"},
		{"retention not a number", map[string]any{ContextLogRetentionDays: "a month"}, "not a whole number"},
		{"secret name not a string", map[string]any{ContextRoutingKeysSecretName: 7.0}, "not a string"},
		{"webhook secret name not a string", map[string]any{ContextPagerDutyWebhookSecretName: 7.0}, "context pagerDutyWebhookSecretName: 7 (float64) is not a string"},
		{"issuer empty", map[string]any{ContextJWTIssuer: ""}, "context jwtIssuer: required"},
		{"issuer not https", map[string]any{ContextJWTIssuer: "http://login.example.com/"}, "context jwtIssuer: \"http://login.example.com/\" is not an https URL"},
		{"audience empty", map[string]any{ContextJWTAudience: ""}, "context jwtAudience: required"},
		{"audience not a string", map[string]any{ContextJWTAudience: 7.0}, "context jwtAudience: 7 (float64) is neither a string nor a list of strings"},
	} {
		t.Run(c.name, func(t *testing.T) { synthFails(t, c.ctx, c.error) })
	}
}

func TestMissingFunctionFailsSynthesis(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{AlarmIngestFunction, EscalationPlanFunction} {
		os.MkdirAll(filepath.Join(dir, name), 0o755)
		os.WriteFile(filepath.Join(dir, name, bootstrapFile), []byte("x"), 0o755)
	}
	os.MkdirAll(filepath.Join(dir, EscalationPageFunction, bootstrapFile), 0o755) // a folder, not a file

	for _, c := range []struct {
		name, dir, wantFn string
	}{
		{"empty folder", t.TempDir(), AlarmIngestFunction},
		{"bootstrap is a folder", dir, EscalationPageFunction},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := newTestStack(t, nil, c.dir)
			var missing *MissingFunctionError
			if !errors.As(err, &missing) {
				t.Fatalf("err = %v, want a *MissingFunctionError", err)
			}
			if missing.Name != c.wantFn {
				t.Errorf("missing function = %s, want %s", missing.Name, c.wantFn)
			}
			if !strings.Contains(err.Error(), "make build") {
				t.Errorf("err = %q, want it to say to run `make build`", err)
			}
		})
	}
}

func TestOperatorAlerts(t *testing.T) {
	s := synth(t, map[string]any{ContextOperatorEmail: "oncall@example.com"})
	topic := logicalID(t, s, s.stack.OperatorAlerts.Topic)
	ref := []any{map[string]any{"Ref": topic}}
	// Every alarm of the stack's own notifies the operator, out of band,
	// but the fire drill's synthetic one, which is no problem at all.
	drillAlarm := logicalID(t, s, s.stack.FireDrill.Alarm)
	alarms := s.resourcesOfType("AWS::CloudWatch::Alarm")
	if len(alarms) < 8 {
		t.Fatalf("%d alarms in the template", len(alarms))
	}
	for id, a := range alarms {
		p := props(a)
		if id == drillAlarm {
			if p["AlarmActions"] != nil || p["OKActions"] != nil {
				t.Errorf("the fire drill's alarm notifies %v / %v: a drill must not alert anyone", p["AlarmActions"], p["OKActions"])
			}
			continue
		}
		if !reflect.DeepEqual(p["AlarmActions"], ref) || !reflect.DeepEqual(p["OKActions"], ref) {
			t.Errorf("alarm %v: actions %v / %v, want the operator-alerts topic", canon(p["AlarmName"]), p["AlarmActions"], p["OKActions"])
		}
	}
	check(t, "email subscription", func() {
		s.tmpl.HasResourceProperties(jsii.String("AWS::SNS::Subscription"), map[string]any{
			"Protocol": "email",
			"Endpoint": "oncall@example.com",
			"TopicArn": map[string]any{"Ref": topic},
		})
	})
	if got := len(s.resourcesOfType("AWS::SNS::Subscription")); got != 1 {
		t.Errorf("%d subscriptions, want the email's alone", got)
	}
}
