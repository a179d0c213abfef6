// Command triage is the Triage task of the escalation state machine: once
// an incident's first page is out, it gathers the triage report of the
// episode from the sources configured for its service and category
// (TRIAGE_SOURCES, or the runbook's names for Dashboarduz production).
package main

import (
	"log/slog"
	"net/http"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/dashboarduz/incident-response/shared/dynamo"
	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/lambdaenv"
	"github.com/dashboarduz/incident-response/shared/triage"
	"github.com/dashboarduz/incident-response/shared/triage/evidence"
)

func main() {
	slog.SetDefault(lambdacontext.NewLogger())
	env, cfg := lambdaenv.MustStart("TABLE_NAME")
	sources, err := evidence.ConfigFrom(os.Getenv(evidence.EnvSources))
	lambdaenv.Must(err)
	clock := incident.SystemClock{}
	h := &triage.Handler{
		Store: dynamo.New(dynamodb.NewFromConfig(cfg), env[0]),
		// The triage's own timeout bounds every request.
		Sources: triage.Configured{Config: sources, Clients: triage.NewClients(cfg, &http.Client{}, clock)},
		Clock:   clock,
		Timeout: sources.Timeout.D(),
	}
	lambda.Start(h.Handle)
}
