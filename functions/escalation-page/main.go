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
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/dashboarduz/incident-response/shared/dynamo"
	"github.com/dashboarduz/incident-response/shared/escalation"
	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/lambdaenv"
	"github.com/dashboarduz/incident-response/shared/pagerduty"
	"github.com/dashboarduz/incident-response/shared/secrets"
)

func main() {
	slog.SetDefault(lambdacontext.NewLogger())
	env, cfg := lambdaenv.MustStart("TABLE_NAME", "ROUTING_KEYS_SECRET_ARN")
	table, secretARN := env[0], env[1]
	// Empty means PagerDuty itself; set it to point at another Events API.
	eventsURL := os.Getenv("PAGERDUTY_EVENTS_URL")
	incidentURLBase := strings.TrimSuffix(os.Getenv("INCIDENT_URL_BASE"), "/")

	opts := pagerduty.Options{Source: "dashboarduz-incident-response", Clock: incident.SystemClock{}}
	if incidentURLBase != "" {
		opts.IncidentURL = func(id string) string { return incidentURLBase + "/incidents/" + id }
	}
	policy := lambdaenv.MustPolicy()
	keys := secrets.NewRoutingKeys(secretsmanager.NewFromConfig(cfg), secretARN)
	// The policy is checked against the secret when loaded. A level without
	// a key does not stop the start (the other levels must still be
	// paged); it is logged as a rejected page, which fires the
	// pages-rejected alarm, and pages to it skip to the next level.
	if err := keys.Check(context.Background(), policy); err != nil {
		slog.Error("page rejected", "error", err, "when", "checking the routing keys at cold start")
		keys.Forget()
	}
	p := &escalation.Pager{
		Store:     dynamo.New(dynamodb.NewFromConfig(cfg), table),
		Keys:      keys,
		PagerDuty: pagerduty.New(pagerduty.NewEventsClient(eventsURL), opts),
		Policy:    policy,
		Clock:     incident.SystemClock{},
	}
	lambda.Start(p.Handle)
}
