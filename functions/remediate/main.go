// Command remediate is the Remediate task of the escalation state
// machine: it runs the runbook's remediations of an incident under their
// guard rails (REMEDIATION_POLICY, or the runbook's defaults;
// REMEDIATION_DRY_RUN; REMEDIATION_KILL_SWITCH, the kill switch while
// the table holds no setting).
package main

import (
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	awsecs "github.com/aws/aws-sdk-go-v2/service/ecs"
	awsssm "github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/dashboarduz/incident-response/shared/dynamo"
	"github.com/dashboarduz/incident-response/shared/ecs"
	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/lambdaenv"
	"github.com/dashboarduz/incident-response/shared/remediation"
	"github.com/dashboarduz/incident-response/shared/triage/evidence"
)

func main() {
	slog.SetDefault(lambdacontext.NewLogger())
	env, cfg := lambdaenv.MustStart("TABLE_NAME")
	policy, err := remediation.PolicyFrom(os.Getenv(remediation.EnvPolicy), os.Getenv(remediation.EnvDryRun))
	lambdaenv.Must(err)
	killSwitch, err := lambdaenv.KillSwitchDefault()
	lambdaenv.Must(err)
	// The queue figures a scale-down waits for come from the same
	// /health/queues triage reads.
	sources, err := evidence.ConfigFrom(os.Getenv(evidence.EnvSources))
	lambdaenv.Must(err)
	h := &remediation.Handler{
		Store:             dynamo.New(dynamodb.NewFromConfig(cfg), env[0]),
		Clock:             incident.SystemClock{},
		Policy:            &policy,
		Escalation:        lambdaenv.MustPolicy(),
		ECS:               ecs.New(awsecs.NewFromConfig(cfg)),
		Parameters:        remediation.SSMParameters{API: awsssm.NewFromConfig(cfg)},
		Queues:            evidence.QueueReader{Config: sources, HTTP: &http.Client{Timeout: 10 * time.Second}},
		KillSwitchDefault: killSwitch,
	}
	lambda.Start(h.Handle)
}
