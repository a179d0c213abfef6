// Command escalation-plan is the Plan task of the escalation state machine:
// it reads the incident and returns the policy's next step.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/dashboarduz/incident-response/shared/dynamo"
	"github.com/dashboarduz/incident-response/shared/escalation"
	"github.com/dashboarduz/incident-response/shared/incident"
)

func main() {
	slog.SetDefault(lambdacontext.NewLogger())
	table := os.Getenv("TABLE_NAME")
	if table == "" {
		slog.Error("missing configuration", "variable", "TABLE_NAME")
		os.Exit(1)
	}
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		slog.Error("load AWS config", "error", err)
		os.Exit(1)
	}
	p := &escalation.Planner{
		Store:  dynamo.New(dynamodb.NewFromConfig(cfg), table),
		Policy: incident.DefaultPolicy(),
		Clock:  incident.SystemClock{},
	}
	lambda.Start(p.Handle)
}
