// Command escalation-page is the Page task of the escalation state machine:
// it pages one escalation level through PagerDuty, exactly once.
package main

import (
	"context"
	"log/slog"
	"os"
	"strings"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	awssecrets "github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/dashboarduz/incident-response/shared/dynamo"
	"github.com/dashboarduz/incident-response/shared/escalation"
	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/pagerduty"
	"github.com/dashboarduz/incident-response/shared/secretsmanager"
)

func main() {
	slog.SetDefault(lambdacontext.NewLogger())
	table := mustEnv("TABLE_NAME")
	secretARN := mustEnv("ROUTING_KEYS_SECRET_ARN")
	// Empty means PagerDuty itself; set it to point at another Events API.
	eventsURL := os.Getenv("PAGERDUTY_EVENTS_URL")
	incidentURLBase := strings.TrimSuffix(os.Getenv("INCIDENT_URL_BASE"), "/")

	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		slog.Error("load AWS config", "error", err)
		os.Exit(1)
	}
	opts := pagerduty.Options{Source: "dashboarduz-incident-response", Clock: incident.SystemClock{}}
	if incidentURLBase != "" {
		opts.IncidentURL = func(id string) string { return incidentURLBase + "/incidents/" + id }
	}
	p := &escalation.Pager{
		Store:     dynamo.New(dynamodb.NewFromConfig(cfg), table),
		Keys:      secretsmanager.NewRoutingKeys(awssecrets.NewFromConfig(cfg), secretARN),
		PagerDuty: pagerduty.New(pagerduty.NewEventsClient(eventsURL), opts),
		Policy:    incident.DefaultPolicy(),
		Clock:     incident.SystemClock{},
	}
	lambda.Start(p.Handle)
}

func mustEnv(name string) string {
	v := os.Getenv(name)
	if v == "" {
		slog.Error("missing configuration", "variable", name)
		os.Exit(1)
	}
	return v
}
