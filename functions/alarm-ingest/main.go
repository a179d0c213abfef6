// Command alarm-ingest is the Lambda function that turns CloudWatch alarm
// state changes (from EventBridge, or from an alarm action that invokes it
// directly) into incidents and starts their escalation.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/dashboarduz/incident-response/shared/dynamo"
	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/ingest"
	"github.com/dashboarduz/incident-response/shared/stepfunctions"
)

func main() {
	slog.SetDefault(lambdacontext.NewLogger())
	table := mustEnv("TABLE_NAME")
	stateMachine := mustEnv("STATE_MACHINE_ARN")
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		slog.Error("load AWS config", "error", err)
		os.Exit(1)
	}
	h := &ingest.Handler{
		Store:   dynamo.New(dynamodb.NewFromConfig(cfg), table),
		Starter: stepfunctions.NewStarter(sfn.NewFromConfig(cfg), stateMachine),
		Rules:   incident.DefaultClassificationRules(),
	}
	lambda.Start(h.Handle)
}

func mustEnv(name string) string {
	v := os.Getenv(name)
	if v == "" {
		slog.Error("missing configuration", "variable", name)
		os.Exit(1)
	}
	return v
}
