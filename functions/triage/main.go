// Command triage is the Triage task of the escalation state machine: once
// an incident's first page is out, it gathers the triage report of the
// episode.
package main

import (
	"log/slog"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/dashboarduz/incident-response/shared/dynamo"
	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/lambdaenv"
	"github.com/dashboarduz/incident-response/shared/triage"
)

func main() {
	slog.SetDefault(lambdacontext.NewLogger())
	env, cfg := lambdaenv.MustStart("TABLE_NAME")
	h := &triage.Handler{
		Store: dynamo.New(dynamodb.NewFromConfig(cfg), env[0]),
		Clock: incident.SystemClock{},
	}
	lambda.Start(h.Handle)
}
