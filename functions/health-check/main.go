// Command health-check is the Lambda function an EventBridge Scheduler
// schedule invokes every minute: it runs the health checks (the
// HEALTH_CHECKS document, or the runbook's /health and /health/queues),
// keeps each check's state in the table, and hands the signals they
// produce to ingest in-process, which opens or notes incidents and starts
// their escalation as it does for alarms.
package main

import (
	"log/slog"
	"net/http"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/dashboarduz/incident-response/shared/dynamo"
	"github.com/dashboarduz/incident-response/shared/health"
	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/ingest"
	"github.com/dashboarduz/incident-response/shared/lambdaenv"
	"github.com/dashboarduz/incident-response/shared/stepfunctions"
)

func main() {
	slog.SetDefault(lambdacontext.NewLogger())
	env, cfg := lambdaenv.MustStart("TABLE_NAME", "STATE_MACHINE_ARN")
	table, stateMachine := env[0], env[1]
	checks, err := health.ConfigFrom(os.Getenv(health.EnvChecks))
	lambdaenv.Must(err)
	store := dynamo.New(dynamodb.NewFromConfig(cfg), table)
	h := &health.Handler{
		Config: checks,
		// Each check bounds its own request with its timeout.
		Checker: &health.Checker{Client: &http.Client{}, Clock: incident.SystemClock{}},
		Store:   store,
		Ingester: &ingest.Handler{
			Store:   store,
			Starter: stepfunctions.NewStarter(sfn.NewFromConfig(cfg), stateMachine),
			Rules:   incident.DefaultClassificationRules(),
			Policy:  lambdaenv.MustPolicy(),
			Memory:  ingest.NewMemory(ingest.DefaultMemorySize),
		},
	}
	lambda.Start(h.Handle)
}
