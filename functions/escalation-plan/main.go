// Command escalation-plan is the Plan task of the escalation state machine:
// it reads the incident and returns the policy's next step.
package main

import (
	"log/slog"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/dashboarduz/incident-response/shared/dynamo"
	"github.com/dashboarduz/incident-response/shared/escalation"
	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/lambdaenv"
)

func main() {
	slog.SetDefault(lambdacontext.NewLogger())
	env, cfg := lambdaenv.MustStart("TABLE_NAME")
	p := &escalation.Planner{
		Store:  dynamo.New(dynamodb.NewFromConfig(cfg), env[0]),
		Policy: lambdaenv.MustPolicy(),
		Clock:  incident.SystemClock{},
	}
	lambda.Start(p.Handle)
}
