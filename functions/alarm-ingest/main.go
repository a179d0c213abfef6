// Command alarm-ingest is the Lambda function that turns the events the
// ingest rules route (CloudWatch alarm state changes, ECS deployment, task
// and service events, RDS instance events; or an alarm action that
// invokes it directly) into incidents and starts their escalation. Its
// name is older than the ECS and RDS events: it is kept so that deployed
// stacks, dashboards and alarm actions that name it go on working.
package main

import (
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/dashboarduz/incident-response/shared/dynamo"
	"github.com/dashboarduz/incident-response/shared/eventbridge"
	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/ingest"
	"github.com/dashboarduz/incident-response/shared/lambdaenv"
	"github.com/dashboarduz/incident-response/shared/stepfunctions"
)

func main() {
	slog.SetDefault(lambdacontext.NewLogger())
	env, cfg := lambdaenv.MustStart("TABLE_NAME", "STATE_MACHINE_ARN")
	table, stateMachine := env[0], env[1]
	allow, err := eventbridge.AllowListFrom(os.Getenv(eventbridge.EnvAllowList))
	lambdaenv.Must(err)
	h := &ingest.Handler{
		Store:   dynamo.New(dynamodb.NewFromConfig(cfg), table),
		Starter: stepfunctions.NewStarter(sfn.NewFromConfig(cfg), stateMachine),
		Rules:   incident.DefaultClassificationRules(),
		Allow:   allow,
		Policy:  lambdaenv.MustPolicy(),
		Clock:   incident.SystemClock{},
		Memory:  ingest.NewMemory(ingest.DefaultMemorySize),
	}
	lambda.Start(h.Handle)
}
