// Command api is the incident API's Lambda function behind API Gateway's
// HTTP API: the routes are a plain net/http handler, the caller's identity
// comes from the claims API Gateway's JWT authorizer checked, and PagerDuty
// and Sentry webhooks are verified with their secrets in Secrets Manager.
// A Sentry webhook's signal is ingested here, in-process, as the ingest
// function ingests an alarm's. It also serves the post-mortems, the
// metrics summary and the public status page.
package main

import (
	"fmt"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/dashboarduz/incident-response/shared/api"
	"github.com/dashboarduz/incident-response/shared/apigateway"
	"github.com/dashboarduz/incident-response/shared/auth"
	"github.com/dashboarduz/incident-response/shared/dynamo"
	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/ingest"
	"github.com/dashboarduz/incident-response/shared/lambdaenv"
	"github.com/dashboarduz/incident-response/shared/response"
	"github.com/dashboarduz/incident-response/shared/secrets"
	"github.com/dashboarduz/incident-response/shared/sentry"
	"github.com/dashboarduz/incident-response/shared/slack"
	"github.com/dashboarduz/incident-response/shared/statuspage"
	"github.com/dashboarduz/incident-response/shared/stepfunctions"
)

// envStatusPageURL is the status page's public address; without it the
// page names statuspage.DefaultURL.
const envStatusPageURL = "STATUS_PAGE_URL"

func main() {
	slog.SetDefault(lambdacontext.NewLogger())
	env, cfg := lambdaenv.MustStart("TABLE_NAME", "STATE_MACHINE_ARN", "PAGERDUTY_WEBHOOK_SECRET_ARN", "SENTRY_CLIENT_SECRET_ARN")
	table, stateMachine, webhookSecret, sentrySecret := env[0], env[1], env[2], env[3]
	// The webhook signing secret is read when the first webhook comes and
	// again, on a webhook, once what was read is a minute old: it is
	// stored after the deploy (PagerDuty shows it once the subscription to
	// the deployed API exists), and a missing one refuses webhooks only,
	// never the responders' routes.
	sm := secretsmanager.NewFromConfig(cfg)
	pdSecrets := &secrets.WebhookSecretStore{API: sm, SecretID: webhookSecret, Clock: incident.SystemClock{}}
	// The Sentry integration's client secret(s), read and kept the same
	// way: the integration, and so its secret, exists only once the API
	// it calls is deployed.
	sentrySecrets := &secrets.WebhookSecretStore{API: sm, SecretID: sentrySecret, Clock: incident.SystemClock{}}
	mapping, err := sentry.MappingFrom(os.Getenv(sentry.EnvMapping))
	lambdaenv.Must(err)
	store := dynamo.New(dynamodb.NewFromConfig(cfg), table)
	starter := stepfunctions.NewStarter(sfn.NewFromConfig(cfg), stateMachine)
	policy := lambdaenv.MustPolicy()
	// GET /remediation/kill-switch answers the deployment's default
	// while no admin has set it.
	killSwitch, err := lambdaenv.KillSwitchDefault()
	lambdaenv.Must(err)
	svc := &response.Service{
		Store:   store,
		Starter: starter,
		Policy:  policy,
		Clock:   incident.SystemClock{},

		KillSwitchDefault: killSwitch,
	}
	ingester := &ingest.Handler{Store: store, Starter: starter, Rules: incident.DefaultClassificationRules(), Policy: policy, Clock: incident.SystemClock{},
		Memory: ingest.NewMemory(ingest.DefaultMemorySize)}
	// The public status page, cached per instance; its address (the
	// stack sets <ApiUrl>status) makes the feed's IDs.
	page, err := statuspage.NewHandler(statuspage.HandlerConfig{
		Source: statuspage.StoreSource{Store: store},
		Page:   statuspage.Config{URL: os.Getenv(envStatusPageURL)},
	})
	lambdaenv.Must(err)
	// The claim and names roles are read from; the CDK app sets them from
	// the same settings as the routes' authorization scopes.
	roles, err := auth.RoleMappingFromEnv()
	lambdaenv.Must(err)
	h, err := api.New(api.Config{
		Service: svc, Auth: auth.GatewayAuthenticator{Roles: roles}, WebhookSecretSource: pdSecrets, Clock: incident.SystemClock{},
		Sentry: api.SentryConfig{SecretSource: sentrySecrets, Mapping: &mapping, Ingester: ingester},
		// GET /health reads the table, so a health check sees what
		// responders would.
		Dependencies: []api.Dependency{api.TableDependency(store)},
		PostMortems:  &response.PostMortems{Store: store, Policy: policy, Clock: incident.SystemClock{}},
		Metrics:      &response.Summaries{Store: store, Policy: policy, Clock: incident.SystemClock{}},
		StatusPage:   page,
		Slack:        slackConfig(sm),
	})
	lambdaenv.Must(err)
	lambda.Start(apigateway.Handler(h))
}

// slackConfig serves Slack's requests when the Slack app's secret is
// configured; its signing secret and bot token are read when the first
// request comes, and again at most once a minute, like the webhook's.
func slackConfig(sm secrets.GetSecretValueAPI) *api.SlackConfig {
	arn := os.Getenv(slack.EnvSecretArn)
	if arn == "" {
		return nil
	}
	var dir slack.Directory
	if doc := os.Getenv(slack.EnvUserDirectory); doc != "" {
		var err error
		if dir, err = slack.ParseDirectory([]byte(doc)); err != nil {
			lambdaenv.Must(fmt.Errorf("%s: %w", slack.EnvUserDirectory, err))
		}
	}
	store := &secrets.SlackStore{API: sm, SecretID: arn, Clock: incident.SystemClock{}}
	return &api.SlackConfig{
		Inbound: &slack.Inbound{
			Verifier:  &slack.Verifier{Secrets: store, Clock: incident.SystemClock{}},
			Directory: dir,
			TeamID:    os.Getenv(slack.EnvTeamID),
		},
		Responder: &slack.NotifierSource{Tokens: store, Client: slack.ClientOptions{APIURL: os.Getenv(slack.EnvAPIURL)}},
	}
}
