// Command infra is the AWS CDK app that deploys the incident-response
// system: `cdk synth` (cdk.json runs `go run ./infra`) or, without the CLI,
// `go run ./infra` with CDK_OUTDIR set.
//
// Environment:
//   - FUNCTIONS_DIR: the built functions, <dir>/<name>/bootstrap (default
//     build/functions; relative paths are taken from the repository root,
//     the folder holding cdk.json).
//   - CDK_DEFAULT_ACCOUNT, CDK_DEFAULT_REGION: the stack's environment when
//     both are set (the CLI sets them from the credentials it finds);
//     otherwise the stack is environment-agnostic, so synthesis works
//     offline without credentials.
//
// Context (cdk.json or -c key=value): logRetentionDays (default 30),
// routingKeysSecretName (default
// dashboarduz/incident-response/pagerduty-routing-keys),
// pagerDutyWebhookSecretName (default
// dashboarduz/incident-response/pagerduty-webhook-secret), pagerDutyEventsUrl,
// incidentUrlBase (both optional), the HTTP API's jwtIssuer and
// jwtAudience (required), the operator contact, operatorEmail and/or
// operatorPagerDutySecretName (at least one required; see WatchConfig),
// reservedConcurrency, fireDrillSchedule and fireDrillMaxAgeDays; the
// optional escalationPolicyFile, the API's roleClaim and roleNames, and the
// settings read by SignalsConfigFromContext (ECS and RDS events, Sentry,
// health checks), CommsConfigFromContext (Slack, PagerDuty's REST API,
// email) and RunbookConfigFromContext (triage and remediation). Each
// Context* constant documents its key. cdk.json holds placeholders for the
// required settings that synthesize with a warning but fail for a stack
// bound to an account, as `cdk deploy` synthesizes it.
//
// The app runs cdk-nag's AwsSolutions checks on the stack (ApplyNagChecks):
// an unsuppressed finding fails synthesis.
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
)

// StackID is the stack's construct ID and its CloudFormation stack name.
const StackID = "DashboarduzIncidentResponse"

// DefaultFunctionsDir is where `make build` puts the functions, relative to
// the repository root.
const DefaultFunctionsDir = "build/functions"

func main() {
	err := run()
	jsii.Close()
	if err != nil {
		fmt.Fprintln(os.Stderr, "infra:", err)
		os.Exit(1)
	}
}

func run() error {
	wd, err := os.Getwd()
	if err != nil {
		return err
	}
	root, err := FindRepoRoot(wd)
	if err != nil {
		return err
	}
	app, err := NewApp(root, nil)
	if err != nil {
		return err
	}
	ApplyNagChecks(app)
	_, err = NewIncidentResponseStack(app, StackID, &IncidentResponseStackProps{
		StackProps:   awscdk.StackProps{Env: EnvFromEnvironment()},
		FunctionsDir: FunctionsDir(root, os.Getenv("FUNCTIONS_DIR")),
	})
	if err != nil {
		return err
	}
	app.Synth(nil)
	return nil
}

// NewApp returns a CDK app whose context defaults to root/cdk.json's, the
// same context the CDK CLI passes (the CLI's own values still win). props
// may set other App options such as Outdir; its Context is replaced.
func NewApp(root string, props *awscdk.AppProps) (awscdk.App, error) {
	ctx, err := LoadCDKContext(filepath.Join(root, "cdk.json"))
	if err != nil {
		return nil, err
	}
	var p awscdk.AppProps
	if props != nil {
		p = *props
	}
	p.Context = &ctx
	return awscdk.NewApp(&p), nil
}

// FunctionsDir resolves the functions folder: dir (FUNCTIONS_DIR) when set,
// else DefaultFunctionsDir; a relative path is taken from root.
func FunctionsDir(root, dir string) string {
	if dir == "" {
		dir = DefaultFunctionsDir
	}
	if filepath.IsAbs(dir) {
		return filepath.Clean(dir)
	}
	return filepath.Join(root, dir)
}

// EnvFromEnvironment returns the stack environment from CDK_DEFAULT_ACCOUNT
// and CDK_DEFAULT_REGION when both are set (the CDK CLI sets them from the
// credentials it finds), and nil, an environment-agnostic stack, otherwise.
// Without credentials the CLI still sets a default region; ignoring a region
// without an account keeps an offline `cdk synth` the same template as
// `go run ./infra` and the tests.
func EnvFromEnvironment() *awscdk.Environment {
	account, region := os.Getenv("CDK_DEFAULT_ACCOUNT"), os.Getenv("CDK_DEFAULT_REGION")
	if account == "" || region == "" {
		return nil
	}
	return &awscdk.Environment{Account: jsii.String(account), Region: jsii.String(region)}
}
