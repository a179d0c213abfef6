// Command escalation-plan is the Plan task of the escalation state machine:
// it reads the incident and returns the policy's next step, and hands an
// execution grown too long over to a fresh one.
package main

import (
	"log/slog"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/dashboarduz/incident-response/shared/dynamo"
	"github.com/dashboarduz/incident-response/shared/escalation"
	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/lambdaenv"
	"github.com/dashboarduz/incident-response/shared/stepfunctions"
)

func main() {
	slog.SetDefault(lambdacontext.NewLogger())
	env, cfg := lambdaenv.MustStart("TABLE_NAME", "STATE_MACHINE_ARN")
	states := sfn.NewFromConfig(cfg)
	p := &escalation.Planner{
		Store:   dynamo.New(dynamodb.NewFromConfig(cfg), env[0]),
		Policy:  lambdaenv.MustPolicy(),
		Clock:   incident.SystemClock{},
		Starter: stepfunctions.NewStarter(states, env[1]),
		Stopper: stepfunctions.NewStopper(states, env[1]),
	}
	lambda.Start(p.Handle)
}
