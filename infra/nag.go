package main

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// ApplyNagChecks runs cdk-nag's AwsSolutions pack on everything in scope
// when it is synthesized. Its findings are errors and warnings on the
// resources; cdk.json's @aws-cdk/core:annotationsInValidationReport makes
// an unsuppressed error fail synthesis, so a new finding must be fixed, or
// suppressed with its reason in suppressNagFindings, before it can deploy.
// The pack also writes its report of every rule on every resource to the
// output folder, AwsSolutions--<stack>-NagReport.<format> (CSV by default;
// the tests read JSON).
func ApplyNagChecks(scope constructs.IConstruct, formats ...cdknag.NagReportFormat) {
	props := &cdknag.NagPackProps{Verbose: jsii.Bool(true)}
	if len(formats) > 0 {
		props.ReportFormats = &formats
	}
	awscdk.Aspects_Of(scope).Add(cdknag.NewAwsSolutionsChecks(props), nil)
}

// suppression is one AwsSolutions finding kept on purpose: the rule, the
// granular findings it covers (empty: the whole rule) and why.
func suppression(rule, reason string, appliesTo ...string) *cdknag.NagPackSuppression {
	s := &cdknag.NagPackSuppression{Id: jsii.String(rule), Reason: jsii.String(reason)}
	if len(appliesTo) > 0 {
		a := make([]any, len(appliesTo))
		for i, v := range appliesTo {
			a[i] = v
		}
		s.AppliesTo = &a
	}
	return s
}

// suppress records suppressions on c and the resources under it.
func suppress(c constructs.IConstruct, s ...*cdknag.NagPackSuppression) {
	cdknag.NagSuppressions_AddResourceSuppressions(c, &s, jsii.Bool(true))
}

// suppressNagFindings records, on the resources they concern, the
// AwsSolutions findings the stack keeps on purpose, each with its reason.
// Everything else the pack finds is fixed in the construct that made it
// (each function's role may write only to its own log group, instead of
// AWSLambdaBasicExecutionRole; the state machine may invoke exactly the
// functions its definition calls, not their versions).
func suppressNagFindings(s *IncidentResponseStack) {
	sm := s.Escalation.StateMachine
	suppress(sm,
		suppression("AwsSolutions-SF1",
			"The state machine logs errors only and no execution data, on purpose: inputs and outputs carry incident details that do not belong in logs kept for a month, and every step of an escalation is on the incident's timeline and in the execution history."),
		suppression("AwsSolutions-SF2",
			"No X-Ray: tracing needs xray:PutTraceSegments and friends on Resource \"*\" for the state machine and its functions; an escalation's steps are already traced by the execution history and the incident's timeline, and the functions' logs carry the incident ID."),
	)
	suppress(sm.Role(),
		suppression("AwsSolutions-IAM5",
			"Delivering a state machine's logs to CloudWatch Logs needs logs:CreateLogDelivery, GetLogDelivery, UpdateLogDelivery, DeleteLogDelivery, ListLogDeliveries, PutResourcePolicy, DescribeResourcePolicies and DescribeLogGroups, which support no resource-level permissions: AWS documents them on Resource \"*\".",
			"Resource::*"),
	)
	suppress(s.Functions.EscalationPlan.Role(),
		suppression("AwsSolutions-IAM5",
			"The Plan function stops the execution a newer generation of an incident's escalation supersedes. Executions are made at run time, one or more per incident, so "+
				"states:StopExecution is granted on the executions of this stack's escalation state machine (execution:<stack>-escalation:*), and no other.",
			"Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:"+*EscalationStateMachineName(awscdk.Stack_Of(s.Functions.EscalationPlan))+":*"),
	)
	// Only the routes known to be open on purpose: a route opened later
	// shows up as a finding to be reviewed, not suppressed with them.
	for _, r := range s.API.Routes {
		cfn, ok := r.Node().DefaultChild().(awsapigatewayv2.CfnRoute)
		if !ok || cfn.RouteKey() == nil {
			continue
		}
		if reason, ok := openRouteReasons[*cfn.RouteKey()]; ok {
			suppress(r, suppression("AwsSolutions-APIG4", fmt.Sprintf("%s takes no token on purpose: %s", *cfn.RouteKey(), reason)))
		}
	}
}

// openRouteReasons says why each route without a JWT authorizer is open.
var openRouteReasons = map[string]string{
	"GET /health": "a health check must answer without credentials, for load balancers and monitors; it reveals nothing about incidents.",
	"POST /webhooks/pagerduty": "PagerDuty's v3 webhooks carry no token; the handler verifies each one's signature with the subscription's signing secret " +
		"(from Secrets Manager) and answers 401 to any other.",
	"GET /status":      statusPageReason,
	"GET /status.json": statusPageReason,
	"GET /status.atom": statusPageReason,
	"POST /webhooks/sentry": "Sentry's integration webhooks carry no token; the handler verifies each one's Sentry-Hook-Signature with the integration's client secret " +
		"(from Secrets Manager) and its timestamp's age, answers 401 to any other, and reads nothing of it before.",
	"POST /webhooks/slack": "Slack's interactive requests and slash commands carry no token; the handler verifies each one's v0 signature and timestamp with the Slack app's signing secret " +
		"(from Secrets Manager), answers 401 to any other, and acts only for the Slack users its directory maps to responders.",
}

// statusPageReason is why the status page's routes are open.
const statusPageReason = "the public status page is for customers, who have no token; it is read-only and shows only what responders published " +
	"(public titles and updates), never alarms, triage, internal notes or names, and it has a throttle of its own."
