// Command notify is the Notify task of the escalation state machine: it
// announces an incident's timeline entries on the configured channels and
// sends the post-mortem's reminders.
package main

import (
	"log/slog"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/dashboarduz/incident-response/shared/comms"
	"github.com/dashboarduz/incident-response/shared/dynamo"
	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/lambdaenv"
)

func main() {
	slog.SetDefault(lambdacontext.NewLogger())
	env, cfg := lambdaenv.MustStart("TABLE_NAME")
	h := &comms.Handler{
		Store: dynamo.New(dynamodb.NewFromConfig(cfg), env[0]),
		Clock: incident.SystemClock{},
	}
	lambda.Start(h.Handle)
}
