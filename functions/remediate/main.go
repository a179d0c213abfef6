// Command remediate is the Remediate task of the escalation state
// machine: it runs the runbook's remediations of an incident under their
// guard rails.
package main

import (
	"log/slog"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/dashboarduz/incident-response/shared/dynamo"
	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/lambdaenv"
	"github.com/dashboarduz/incident-response/shared/remediation"
)

func main() {
	slog.SetDefault(lambdacontext.NewLogger())
	env, cfg := lambdaenv.MustStart("TABLE_NAME")
	h := &remediation.Handler{
		Store: dynamo.New(dynamodb.NewFromConfig(cfg), env[0]),
		Clock: incident.SystemClock{},
	}
	lambda.Start(h.Handle)
}
