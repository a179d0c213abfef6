// Command alarm-ingest is the Lambda function that turns CloudWatch alarm
// state changes (from EventBridge, or from an alarm action that invokes it
// directly) into incidents and starts their escalation.
package main

import (
	"log/slog"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/dashboarduz/incident-response/shared/dynamo"
	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/ingest"
	"github.com/dashboarduz/incident-response/shared/lambdaenv"
	"github.com/dashboarduz/incident-response/shared/stepfunctions"
)

func main() {
	slog.SetDefault(lambdacontext.NewLogger())
	env, cfg := lambdaenv.MustStart("TABLE_NAME", "STATE_MACHINE_ARN")
	table, stateMachine := env[0], env[1]
	h := &ingest.Handler{
		Store:   dynamo.New(dynamodb.NewFromConfig(cfg), table),
		Starter: stepfunctions.NewStarter(sfn.NewFromConfig(cfg), stateMachine),
		Rules:   incident.DefaultClassificationRules(),
		Policy:  lambdaenv.MustPolicy(),
		Clock:   incident.SystemClock{},
	}
	lambda.Start(h.Handle)
}
