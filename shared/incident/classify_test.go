package incident

import (
	"strings"
	"testing"
)

func TestDefaultClassificationRules(t *testing.T) {
	rules := DefaultClassificationRules()
	const lb = "app/dashboarduz-production/5f2a9c7d31e4b860"
	tests := []struct {
		name  string
		facts AlarmFacts
		want  Classification
	}{
		{
			name:  "this system's failed escalations page at P0",
			facts: AlarmFacts{Name: "DashboarduzIncidentResponse-escalation-failures", Namespace: "AWS/States", MetricName: "ExecutionsFailed"},
			want:  Classification{Service: "incident-response", Category: Other, Severity: P0, Rule: "incident-response-escalation-failures"},
		},
		{
			name:  "this system's rejected pages page at P0",
			facts: AlarmFacts{Name: "DashboarduzIncidentResponse-pages-rejected", Namespace: "DashboarduzIncidentResponse", MetricName: "PagesRejected"},
			want:  Classification{Service: "incident-response", Category: Other, Severity: P0, Rule: "incident-response-pages-rejected"},
		},
		{
			name:  "this system's timed-out escalations page at P0",
			facts: AlarmFacts{Name: "DashboarduzIncidentResponse-escalation-timeouts", Namespace: "AWS/States", MetricName: "ExecutionsTimedOut"},
			want:  Classification{Service: "incident-response", Category: Other, Severity: P0, Rule: "incident-response-escalation-timeouts"},
		},
		{
			name:  "this system's missing heartbeat pages at P0",
			facts: AlarmFacts{Name: "DashboarduzIncidentResponse-heartbeat-missing", Namespace: "Dashboarduz/IncidentResponse", MetricName: "Heartbeat", Dimensions: map[string]string{"FunctionName": "DashboarduzIncidentResponse-Heartbeat1A2B"}},
			want:  Classification{Service: "incident-response", Category: Other, Severity: P0, Rule: "incident-response-heartbeat"},
		},
		{
			name:  "this system's function errors are P1",
			facts: AlarmFacts{Name: "DashboarduzIncidentResponse-escalation-page-function-errors", Namespace: "AWS/Lambda", MetricName: "Errors", Dimensions: map[string]string{"FunctionName": "DashboarduzIncidentResponse-FunctionsEscalationPage1A2B"}},
			want:  Classification{Service: "incident-response", Category: Other, Severity: P1, Rule: "incident-response-function-errors"},
		},
		{
			name:  "this system's function throttles are P1",
			facts: AlarmFacts{Name: "DashboarduzIncidentResponse-alarm-ingest-function-throttles", Namespace: "AWS/Lambda", MetricName: "Throttles", Dimensions: map[string]string{"FunctionName": "DashboarduzIncidentResponse-FunctionsAlarmIngest1A2B"}},
			want:  Classification{Service: "incident-response", Category: Other, Severity: P1, Rule: "incident-response-function-throttles"},
		},
		{
			name:  "a product's Lambda errors alarm is not this system's",
			facts: AlarmFacts{Name: "checkout-function-errors", Namespace: "AWS/Lambda", MetricName: "Invocations", Dimensions: map[string]string{"FunctionName": "checkout"}},
			want:  Classification{Service: "checkout-function-errors", Category: Other, Severity: P2, Rule: DefaultRuleName},
		},
		{
			name:  "a failing fire drill is P1",
			facts: AlarmFacts{Name: "DashboarduzIncidentResponse-fire-drill-failing", Namespace: "Dashboarduz/IncidentResponse", MetricName: "FireDrillFailing"},
			want:  Classification{Service: "incident-response", Category: Other, Severity: P1, Rule: "incident-response-fire-drill-failing"},
		},
		{
			name:  "the fire drill's own alarm is an incident of the test service",
			facts: AlarmFacts{Name: "DashboarduzIncidentResponse-fire-drill", Namespace: "Dashboarduz/IncidentResponse", MetricName: "FireDrillSignal"},
			want:  Classification{Service: "fire-drill", Category: Other, Severity: P3, Rule: "fire-drill"},
		},
		{
			name:  "target-tracking alarms are not incidents",
			facts: AlarmFacts{Name: "TargetTracking-service/dashboarduz-production/dashboarduz-worker-AlarmLow-0b1c2d3e", Namespace: "AWS/ECS", MetricName: "CPUUtilization", Dimensions: map[string]string{"ServiceName": "dashboarduz-worker"}},
			want:  Classification{Service: "dashboarduz-worker", Category: Other, Severity: P3, Rule: "autoscaling-target-tracking", Ignore: true},
		},
		{
			name:  "this system's dead letters are not a worker backlog",
			facts: AlarmFacts{Name: "DashboarduzIncidentResponse-ingest-dead-letters", Namespace: "AWS/SQS", MetricName: "ApproximateNumberOfMessagesVisible", Dimensions: map[string]string{"QueueName": "DashboarduzIncidentResponse-DeadLettersQueue1A2B3C"}},
			want:  Classification{Service: "incident-response", Category: Other, Severity: P1, Rule: "incident-response-dead-letters"},
		},
		{
			name:  "api 5xx alarm is service down",
			facts: AlarmFacts{Name: "dashboarduz-api-5xx-errors", Namespace: "AWS/ApplicationELB", MetricName: "HTTPCode_Target_5XX_Count", Dimensions: map[string]string{"LoadBalancer": lb}},
			want:  Classification{Service: "dashboarduz-api", Category: ServiceDown, Severity: P0, Rule: "api-service-down"},
		},
		{
			name:  "api health alarm is service down",
			facts: AlarmFacts{Name: "dashboarduz-api-health-check"},
			want:  Classification{Service: "dashboarduz-api", Category: ServiceDown, Severity: P0, Rule: "api-service-down"},
		},
		{
			name:  "alarm names match case-insensitively",
			facts: AlarmFacts{Name: "Dashboarduz-API-5XX-Errors"},
			want:  Classification{Service: "dashboarduz-api", Category: ServiceDown, Severity: P0, Rule: "api-service-down"},
		},
		{
			name:  "no healthy api targets is service down",
			facts: AlarmFacts{Name: "alb-healthy-hosts", Namespace: "AWS/ApplicationELB", MetricName: "HealthyHostCount", Dimensions: map[string]string{"LoadBalancer": lb, "TargetGroup": "targetgroup/dashboarduz-api/0123456789abcdef"}},
			want:  Classification{Service: "dashboarduz-api", Category: ServiceDown, Severity: P0, Rule: "api-no-healthy-targets"},
		},
		{
			name:  "unhealthy api targets is P1 service down",
			facts: AlarmFacts{Name: "alb-unhealthy-hosts", Namespace: "AWS/ApplicationELB", MetricName: "UnHealthyHostCount", Dimensions: map[string]string{"LoadBalancer": lb}},
			want:  Classification{Service: "dashboarduz-api", Category: ServiceDown, Severity: P1, Rule: "api-unhealthy-targets"},
		},
		{
			name:  "target 5xx on the api load balancer under another name is a high error rate",
			facts: AlarmFacts{Name: "alb-target-5xx", Namespace: "AWS/ApplicationELB", MetricName: "HTTPCode_Target_5XX_Count", Dimensions: map[string]string{"LoadBalancer": lb}},
			want:  Classification{Service: "dashboarduz-api", Category: HighErrorRate, Severity: P1, Rule: "api-target-5xx"},
		},
		{
			name:  "api error-rate alarm",
			facts: AlarmFacts{Name: "dashboarduz-api-error-rate"},
			want:  Classification{Service: "dashboarduz-api", Category: HighErrorRate, Severity: P1, Rule: "api-error-rate"},
		},
		{
			name:  "api 4xx alarm",
			facts: AlarmFacts{Name: "dashboarduz-api-4xx-spike"},
			want:  Classification{Service: "dashboarduz-api", Category: HighErrorRate, Severity: P1, Rule: "api-error-rate"},
		},
		{
			name:  "5xx on another load balancer is not the api",
			facts: AlarmFacts{Name: "marketing-5xx", Namespace: "AWS/ApplicationELB", MetricName: "HTTPCode_Target_5XX_Count", Dimensions: map[string]string{"LoadBalancer": "app/marketing-site/1234567890abcdef"}},
			want:  Classification{Service: "app/marketing-site/1234567890abcdef", Category: Other, Severity: P2, Rule: DefaultRuleName},
		},
		{
			name:  "rds alarm on the production database",
			facts: AlarmFacts{Name: "db-connections-high", Namespace: "AWS/RDS", MetricName: "DatabaseConnections", Dimensions: map[string]string{"DBInstanceIdentifier": "dashboarduz-production-db"}},
			want:  Classification{Service: "dashboarduz-production-db", Category: Database, Severity: P1, Rule: "database"},
		},
		{
			name:  "rds alarm on another database falls to the default with the instance as service",
			facts: AlarmFacts{Name: "staging-db-cpu", Namespace: "AWS/RDS", MetricName: "CPUUtilization", Dimensions: map[string]string{"DBInstanceIdentifier": "dashboarduz-staging-db"}},
			want:  Classification{Service: "dashboarduz-staging-db", Category: Other, Severity: P2, Rule: DefaultRuleName},
		},
		{
			name:  "database alarm by name",
			facts: AlarmFacts{Name: "dashboarduz-production-db-replica-lag"},
			want:  Classification{Service: "dashboarduz-production-db", Category: Database, Severity: P1, Rule: "database-by-name"},
		},
		{
			name:  "worker queue alarm by name",
			facts: AlarmFacts{Name: "dashboarduz-worker-queue-backlog"},
			want:  Classification{Service: "dashboarduz-worker", Category: QueueBacklog, Severity: P1, Rule: "worker-queue-backlog"},
		},
		{
			name:  "worker /health/queues alarm",
			facts: AlarmFacts{Name: "dashboarduz-worker-health-queues"},
			want:  Classification{Service: "dashboarduz-worker", Category: QueueBacklog, Severity: P1, Rule: "worker-queue-backlog"},
		},
		{
			name:  "sqs visible messages",
			facts: AlarmFacts{Name: "emails-backlog", Namespace: "AWS/SQS", MetricName: "ApproximateNumberOfMessagesVisible", Dimensions: map[string]string{"QueueName": "dashboarduz-emails"}},
			want:  Classification{Service: "dashboarduz-worker", Category: QueueBacklog, Severity: P1, Rule: "worker-queue-backlog-sqs"},
		},
		{
			name:  "sqs oldest message age",
			facts: AlarmFacts{Name: "reports-stuck", Namespace: "AWS/SQS", MetricName: "ApproximateAgeOfOldestMessage"},
			want:  Classification{Service: "dashboarduz-worker", Category: QueueBacklog, Severity: P1, Rule: "worker-queue-backlog-sqs"},
		},
		{
			name:  "sqs dead letters are not a backlog rule",
			facts: AlarmFacts{Name: "dlq-messages", Namespace: "AWS/SQS", MetricName: "NumberOfMessagesSent", Dimensions: map[string]string{"QueueName": "dashboarduz-dlq"}},
			want:  Classification{Service: "dlq-messages", Category: Other, Severity: P2, Rule: DefaultRuleName},
		},
		{
			name:  "api cpu",
			facts: AlarmFacts{Name: "dashboarduz-api-cpu-high", Namespace: "AWS/ECS", MetricName: "CPUUtilization", Dimensions: map[string]string{"ClusterName": "dashboarduz-production", "ServiceName": "dashboarduz-api"}},
			want:  Classification{Service: "dashboarduz-api", Category: Performance, Severity: P2, Rule: "api-cpu-memory"},
		},
		{
			name:  "worker memory",
			facts: AlarmFacts{Name: "worker-mem", Namespace: "AWS/ECS", MetricName: "MemoryUtilization", Dimensions: map[string]string{"ClusterName": "dashboarduz-production", "ServiceName": "dashboarduz-worker"}},
			want:  Classification{Service: "dashboarduz-worker", Category: Performance, Severity: P2, Rule: "worker-cpu-memory"},
		},
		{
			name:  "cpu on another ecs service is the default with that service",
			facts: AlarmFacts{Name: "scheduler-cpu", Namespace: "AWS/ECS", MetricName: "CPUUtilization", Dimensions: map[string]string{"ServiceName": "dashboarduz-scheduler"}},
			want:  Classification{Service: "dashboarduz-scheduler", Category: Other, Severity: P2, Rule: DefaultRuleName},
		},
		{
			name:  "api latency by name",
			facts: AlarmFacts{Name: "dashboarduz-api-p99-latency"},
			want:  Classification{Service: "dashboarduz-api", Category: Performance, Severity: P2, Rule: "api-latency"},
		},
		{
			name:  "api target response time",
			facts: AlarmFacts{Name: "slow-api", Namespace: "AWS/ApplicationELB", MetricName: "TargetResponseTime", Dimensions: map[string]string{"LoadBalancer": lb}},
			want:  Classification{Service: "dashboarduz-api", Category: Performance, Severity: P2, Rule: "api-target-response-time"},
		},
		{
			name:  "other latency alarm takes its service from dimensions",
			facts: AlarmFacts{Name: "checkout-latency-high", Dimensions: map[string]string{"ServiceName": "checkout"}},
			want:  Classification{Service: "checkout", Category: Performance, Severity: P2, Rule: "latency"},
		},
		{
			name:  "target response time on another load balancer",
			facts: AlarmFacts{Name: "slow-site", Namespace: "AWS/ApplicationELB", MetricName: "TargetResponseTime", Dimensions: map[string]string{"LoadBalancer": "app/marketing-site/1234567890abcdef"}},
			want:  Classification{Service: "app/marketing-site/1234567890abcdef", Category: Performance, Severity: P2, Rule: "target-response-time"},
		},
		{
			name:  "security alarm wins over the service rules",
			facts: AlarmFacts{Name: "dashboarduz-api-security-group-changed"},
			want:  Classification{Service: "dashboarduz-api-security-group-changed", Category: Security, Severity: P0, Rule: "security"},
		},
		{
			name:  "guardduty alarm",
			facts: AlarmFacts{Name: "GuardDuty-HighSeverityFindings"},
			want:  Classification{Service: "GuardDuty-HighSeverityFindings", Category: Security, Severity: P0, Rule: "security"},
		},
		{
			name:  "unknown alarm still pages at P2, service from the alarm name",
			facts: AlarmFacts{Name: "something-odd"},
			want:  Classification{Service: "something-odd", Category: Other, Severity: P2, Rule: DefaultRuleName},
		},
		{
			name:  "default prefers ServiceName over LoadBalancer",
			facts: AlarmFacts{Name: "x", Dimensions: map[string]string{"LoadBalancer": lb, "ServiceName": "svc"}},
			want:  Classification{Service: "svc", Category: Other, Severity: P2, Rule: DefaultRuleName},
		},
		{
			name:  "nothing known at all",
			facts: AlarmFacts{},
			want:  Classification{Service: "unknown", Category: Other, Severity: P2, Rule: DefaultRuleName},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := rules.Classify(tt.facts); got != tt.want {
				t.Errorf("Classify(%+v)\n got %+v\nwant %+v", tt.facts, got, tt.want)
			}
		})
	}
}

func TestClassifyRuleOptions(t *testing.T) {
	rules, err := ParseClassificationRules([]byte(`{
	  "rules": [
	    {"name": "tagged", "match": {"tags": {"team": "payments", "tier": "critical*"}}, "service": "payments", "category": "service-down", "severity": "P0"},
	    {"name": "ecs", "match": {"namespaces": ["AWS/ECS"]}, "serviceFromDimension": "ServiceName", "service": "ecs-unknown", "category": "performance", "severity": "P3"}
	  ],
	  "default": {"category": "other", "severity": "P3"}
	}`))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		facts AlarmFacts
		want  Classification
	}{
		{"all tags match", AlarmFacts{Name: "a", Tags: map[string]string{"team": "payments", "tier": "critical-path", "x": "y"}}, Classification{Service: "payments", Category: ServiceDown, Severity: P0, Rule: "tagged"}},
		{"one tag differs", AlarmFacts{Name: "a", Tags: map[string]string{"team": "payments", "tier": "low"}}, Classification{Service: "a", Category: Other, Severity: P3, Rule: DefaultRuleName}},
		{"a tag is missing", AlarmFacts{Name: "a", Tags: map[string]string{"team": "payments"}}, Classification{Service: "a", Category: Other, Severity: P3, Rule: DefaultRuleName}},
		{"no tags known", AlarmFacts{Name: "a"}, Classification{Service: "a", Category: Other, Severity: P3, Rule: DefaultRuleName}},
		{"service from dimension", AlarmFacts{Name: "b", Namespace: "AWS/ECS", Dimensions: map[string]string{"ServiceName": "billing"}}, Classification{Service: "billing", Category: Performance, Severity: P3, Rule: "ecs"}},
		{"dimension missing falls back to the literal service", AlarmFacts{Name: "b", Namespace: "AWS/ECS"}, Classification{Service: "ecs-unknown", Category: Performance, Severity: P3, Rule: "ecs"}},
		{"default without dimensions uses the alarm name", AlarmFacts{Name: "c", Dimensions: map[string]string{"ServiceName": "s"}}, Classification{Service: "c", Category: Other, Severity: P3, Rule: DefaultRuleName}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := rules.Classify(tt.facts); got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParseClassificationRulesErrors(t *testing.T) {
	const okDefault = `"default": {"category": "other", "severity": "P2"}`
	tests := []struct {
		name string
		doc  string
		want []string // words the message must contain
	}{
		{"not json", `{`, []string{"classification rules"}},
		{"unknown field", `{"rules": [{"name": "r", "match": {"alarmName": ["x"]}, "category": "other", "severity": "P2"}], ` + okDefault + `}`, []string{"alarmName"}},
		{"unknown top-level field", `{"rulez": [], ` + okDefault + `}`, []string{"rulez"}},
		{"trailing data", `{"rules": [], ` + okDefault + `} {}`, []string{"after the document"}},
		{"no name", `{"rules": [{"match": {"alarmNames": ["x"]}, "category": "other", "severity": "P2"}], ` + okDefault + `}`, []string{"rule 1 has no name"}},
		{"duplicate name", `{"rules": [{"name": "r", "match": {"alarmNames": ["x"]}, "category": "other", "severity": "P2"}, {"name": "r", "match": {"alarmNames": ["y"]}, "category": "other", "severity": "P2"}], ` + okDefault + `}`, []string{`"r" appears twice`}},
		{"bad severity", `{"rules": [{"name": "r1", "match": {"alarmNames": ["x"]}, "category": "other", "severity": "P5"}], ` + okDefault + `}`, []string{`rule "r1"`, `"P5"`}},
		{"missing severity", `{"rules": [{"name": "r1", "match": {"alarmNames": ["x"]}, "category": "other"}], ` + okDefault + `}`, []string{`rule "r1"`, "severity"}},
		{"bad category", `{"rules": [{"name": "r2", "match": {"alarmNames": ["x"]}, "category": "outage", "severity": "P1"}], ` + okDefault + `}`, []string{`rule "r2"`, `"outage"`}},
		{"bad alarm name glob", `{"rules": [{"name": "r3", "match": {"alarmNames": ["api-[5xx"]}, "category": "other", "severity": "P1"}], ` + okDefault + `}`, []string{`rule "r3"`, `"api-[5xx"`, "glob"}},
		{"bad dimension glob", `{"rules": [{"name": "r4", "match": {"dimensions": {"LoadBalancer": "app/["}}, "category": "other", "severity": "P1"}], ` + okDefault + `}`, []string{`rule "r4"`, "dimensions.LoadBalancer"}},
		{"empty pattern", `{"rules": [{"name": "r5", "match": {"alarmNames": [""]}, "category": "other", "severity": "P1"}], ` + okDefault + `}`, []string{`rule "r5"`, "empty pattern"}},
		{"empty namespace", `{"rules": [{"name": "r6", "match": {"namespaces": [""]}, "category": "other", "severity": "P1"}], ` + okDefault + `}`, []string{`rule "r6"`, "namespaces"}},
		{"empty tag name", `{"rules": [{"name": "r7", "match": {"tags": {"": "x"}}, "category": "other", "severity": "P1"}], ` + okDefault + `}`, []string{`rule "r7"`, "tags"}},
		{"no condition", `{"rules": [{"name": "r8", "match": {}, "category": "other", "severity": "P1"}], ` + okDefault + `}`, []string{`rule "r8"`, "no condition"}},
		{"bad default severity", `{"rules": [], "default": {"category": "other", "severity": "high"}}`, []string{"default", `"high"`}},
		{"missing default", `{"rules": []}`, []string{"default", "category"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseClassificationRules([]byte(tt.doc))
			if err == nil {
				t.Fatal("got nil error, want one")
			}
			if got := ErrorCode(err); got != EInvalid {
				t.Errorf("code = %q, want %q (%v)", got, EInvalid, err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestParseClassificationRulesAcceptsMinimal(t *testing.T) {
	got, err := ParseClassificationRules([]byte(`{"rules": [], "default": {"category": "other", "severity": "P3"}}`))
	if err != nil {
		t.Fatal(err)
	}
	want := Classification{Service: "x", Category: Other, Severity: P3, Rule: DefaultRuleName}
	if c := got.Classify(AlarmFacts{Name: "x"}); c != want {
		t.Errorf("got %+v, want %+v", c, want)
	}
}

// Every default rule must be reachable: an earlier rule that swallows all
// of a later rule's alarms is a mistake in classify.json. Each case is an
// alarm that only the named rule should classify.
func TestDefaultRulesAllReachable(t *testing.T) {
	rules := DefaultClassificationRules()
	hit := map[string]bool{}
	for _, f := range []AlarmFacts{
		{Name: "x-escalation-failures"},
		{Name: "x-pages-rejected"},
		{Name: "x-escalation-timeouts"},
		{Name: "x-heartbeat-missing"},
		{Name: "x-function-errors", Namespace: "AWS/Lambda", MetricName: "Errors"},
		{Name: "x-function-throttles", Namespace: "AWS/Lambda", MetricName: "Throttles"},
		{Name: "x-fire-drill-failing"},
		{Name: "x-fire-drill"},
		{Name: "TargetTracking-service/dashboarduz-production/dashboarduz-worker-AlarmLow-0b1c"},
		{Name: "TargetTracking-table/incidents/index/byStatus-AlarmHigh-0b1c"},
		{Name: "x-ingest-dead-letters"},
		{Name: "x-security"},
		{Name: "dashboarduz-api-5xx"},
		{Namespace: "AWS/ApplicationELB", MetricName: "HealthyHostCount", Dimensions: map[string]string{"LoadBalancer": "app/dashboarduz-production/a"}},
		{Namespace: "AWS/ApplicationELB", MetricName: "UnHealthyHostCount", Dimensions: map[string]string{"LoadBalancer": "app/dashboarduz-production/a"}},
		{Name: "dashboarduz-api-errors"},
		{Namespace: "AWS/ApplicationELB", MetricName: "HTTPCode_ELB_5XX_Count", Dimensions: map[string]string{"LoadBalancer": "app/dashboarduz-production/a"}},
		{Namespace: "AWS/RDS", Dimensions: map[string]string{"DBInstanceIdentifier": "dashboarduz-production-db"}},
		{Name: "dashboarduz-production-db-x"},
		{Name: "dashboarduz-worker-queue"},
		{Namespace: "AWS/SQS", MetricName: "ApproximateAgeOfOldestMessage"},
		{Namespace: "AWS/ECS", MetricName: "CPUUtilization", Dimensions: map[string]string{"ServiceName": "dashboarduz-api"}},
		{Namespace: "AWS/ECS", MetricName: "CPUUtilization", Dimensions: map[string]string{"ServiceName": "dashboarduz-worker"}},
		{Name: "dashboarduz-api-latency"},
		{Namespace: "AWS/ApplicationELB", MetricName: "TargetResponseTime", Dimensions: map[string]string{"LoadBalancer": "app/dashboarduz-production/a"}},
		{Name: "x-latency"},
		{MetricName: "TargetResponseTime"},
	} {
		hit[rules.Classify(f).Rule] = true
	}
	for _, r := range rules.Rules {
		if !hit[r.Name] {
			t.Errorf("rule %q classified none of the probe alarms", r.Name)
		}
	}
}
