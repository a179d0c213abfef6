package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// nagLine is one line of cdk-nag's JSON report: one rule on one resource.
type nagLine struct {
	RuleID          string `json:"ruleId"`
	ResourceID      string `json:"resourceId"`
	Compliance      string `json:"compliance"`
	ExceptionReason string `json:"exceptionReason"`
	RuleLevel       string `json:"ruleLevel"`
}

func (l nagLine) String() string {
	return fmt.Sprintf("%s %s on %s", l.RuleLevel, l.RuleID, l.ResourceID)
}

// nagReport synthesizes the stack with the AwsSolutions pack applied as
// the app applies it, and returns the pack's report and the synthesis
// failure, if any: with annotationsInValidationReport an unsuppressed
// error fails synthesis itself, after the report is written.
func nagReport(t *testing.T, extra map[string]any, change func(*IncidentResponseStack)) (lines []nagLine, synthErr any) {
	t.Helper()
	root, err := FindRepoRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	app, err := NewApp(root, &awscdk.AppProps{Outdir: jsii.String(out)})
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range extra {
		app.Node().SetContext(jsii.String(k), v)
	}
	ApplyNagChecks(app, cdknag.NagReportFormat_JSON)
	var stack *IncidentResponseStack
	mustNotPanic(t, "NewIncidentResponseStack", func() {
		stack, err = NewIncidentResponseStack(app, StackID, &IncidentResponseStackProps{FunctionsDir: testFunctionsDir})
	})
	if err != nil {
		t.Fatal(err)
	}
	if change != nil {
		change(stack)
	}
	func() {
		defer func() { synthErr = recover() }()
		app.Synth(nil)
	}()
	b, err := os.ReadFile(filepath.Join(out, "AwsSolutions--"+StackID+"-NagReport.json"))
	if err != nil {
		entries, _ := os.ReadDir(out)
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Fatalf("cdk-nag report: %v (synthesis: %v; %s holds %v)", err, synthErr, out, names)
	}
	var report struct {
		Lines []nagLine `json:"lines"`
	}
	if err := json.Unmarshal(b, &report); err != nil {
		t.Fatalf("cdk-nag report: %v", err)
	}
	return report.Lines, synthErr
}

func TestNagAwsSolutions(t *testing.T) {
	for _, c := range []struct {
		name string
		ctx  map[string]any
		// wantSuppressed are the rules kept on purpose, each with its
		// reason in suppressNagFindings: the report must show them, or
		// it would prove nothing.
		wantSuppressed []string
	}{
		// APIG4 once per open route: the health check, the PagerDuty,
		// Sentry and Slack webhooks and the status page's three; IAM5 for
		// the state machine's log delivery, the Plan function's stopping of
		// superseded executions, and the three reads of triage and
		// remediation that AWS grants on no narrower resource.
		{"defaults", nil, []string{"AwsSolutions-APIG4", "AwsSolutions-APIG4", "AwsSolutions-APIG4", "AwsSolutions-APIG4", "AwsSolutions-APIG4", "AwsSolutions-APIG4", "AwsSolutions-APIG4", "AwsSolutions-IAM5", "AwsSolutions-IAM5", "AwsSolutions-IAM5", "AwsSolutions-IAM5", "AwsSolutions-IAM5", "AwsSolutions-SF1", "AwsSolutions-SF2"}},
		{"every option", map[string]any{
			ContextOperatorEmail:               "oncall@example.com",
			ContextOperatorPagerDutySecretName: "team/operator-pagerduty",
			ContextFireDrillSchedule:           "off",
			ContextReservedConcurrency:         "off",
			ContextHealthChecksFile:            testHealthChecksFile,
			ContextEventAllowList:              map[string]any{"services": []any{"dashboarduz-api"}},
			ContextSentryMapping:               `{"services":{"web":"dashboarduz-api"}}`,
			ContextSlackSecretName:             "dashboarduz/incident-response/slack",
			ContextPagerDutyAPIKeySecretName:   "dashboarduz/incident-response/pagerduty-api-key",
			ContextPagerDutyEscalationPolicies: map[string]any{"on-call": "PABC123"},
			ContextEmailFrom:                   "incidents@dashboarduz.example",
			ContextEmailRecipients:             []any{"cto@dashboarduz.example"},
		}, []string{"AwsSolutions-APIG4", "AwsSolutions-APIG4", "AwsSolutions-APIG4", "AwsSolutions-APIG4", "AwsSolutions-APIG4", "AwsSolutions-APIG4", "AwsSolutions-APIG4", "AwsSolutions-IAM5", "AwsSolutions-IAM5", "AwsSolutions-IAM5", "AwsSolutions-IAM5", "AwsSolutions-IAM5", "AwsSolutions-SF1", "AwsSolutions-SF2"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			lines, synthErr := nagReport(t, c.ctx, nil)
			var open, suppressed []string
			compliant := 0
			for _, l := range lines {
				switch l.Compliance {
				case "Compliant", "N/A":
					compliant++
				case "Suppressed":
					suppressed = append(suppressed, l.RuleID)
					if len(strings.TrimSpace(l.ExceptionReason)) < 40 {
						t.Errorf("%s is suppressed without a real reason: %q", l, l.ExceptionReason)
					}
				default: // Non-Compliant, or UNKNOWN when a rule could not run
					open = append(open, l.String()+" ("+l.Compliance+")")
				}
			}
			sort.Strings(open)
			if len(open) > 0 {
				t.Errorf("%d unsuppressed cdk-nag findings; fix each, or suppress it in suppressNagFindings with its reason:\n%s", len(open), strings.Join(open, "\n"))
			}
			if synthErr != nil {
				t.Errorf("synthesis with cdk-nag failed: %v", synthErr)
			}
			sort.Strings(suppressed)
			if strings.Join(suppressed, ",") != strings.Join(c.wantSuppressed, ",") {
				t.Errorf("suppressed findings %v, want %v", suppressed, c.wantSuppressed)
			}
			// The report lists the rules that apply to each resource; a
			// handful would mean the pack saw almost nothing.
			if compliant < 20 {
				t.Errorf("only %d compliant rule results: the report looks empty", compliant)
			}
		})
	}
}

// TestNagCatchesAFinding proves the check above can fail: a role with the
// managed AWSLambdaBasicExecutionRole, as the functions had before, is a
// finding, and synthesis fails on it as `cdk synth` would.
func TestNagCatchesAFinding(t *testing.T) {
	lines, synthErr := nagReport(t, nil, func(s *IncidentResponseStack) {
		awsiam.NewRole(s.Stack, jsii.String("Careless"), &awsiam.RoleProps{
			AssumedBy:       awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
			ManagedPolicies: &[]awsiam.IManagedPolicy{awsiam.ManagedPolicy_FromAwsManagedPolicyName(jsii.String("service-role/AWSLambdaBasicExecutionRole"))},
		})
	})
	found := false
	for _, l := range lines {
		found = found || l.Compliance == "Non-Compliant" && strings.HasPrefix(l.RuleID, "AwsSolutions-IAM4") && strings.Contains(l.ResourceID, "Careless")
	}
	if !found {
		t.Errorf("the report does not show the careless role's IAM4 finding: %v", lines)
	}
	if synthErr == nil || !strings.Contains(fmt.Sprint(synthErr), "ValidationFailed") {
		t.Errorf("synthesis = %v, want it to fail validation", synthErr)
	}
}
