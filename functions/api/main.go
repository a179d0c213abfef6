// Command api is the incident API's Lambda function behind API Gateway's
// HTTP API: the routes are a plain net/http handler, the caller's identity
// comes from the claims API Gateway's JWT authorizer checked, and PagerDuty
// webhooks are verified with the signing secrets in Secrets Manager.
package main

import (
	"log/slog"

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
	"github.com/dashboarduz/incident-response/shared/lambdaenv"
	"github.com/dashboarduz/incident-response/shared/response"
	"github.com/dashboarduz/incident-response/shared/secrets"
	"github.com/dashboarduz/incident-response/shared/stepfunctions"
)

func main() {
	slog.SetDefault(lambdacontext.NewLogger())
	env, cfg := lambdaenv.MustStart("TABLE_NAME", "STATE_MACHINE_ARN", "PAGERDUTY_WEBHOOK_SECRET_ARN")
	table, stateMachine, webhookSecret := env[0], env[1], env[2]
	// The webhook signing secret is read when the first webhook comes and
	// again, at most once a minute, when a signature matches none known:
	// it is stored after the deploy (PagerDuty shows it once the
	// subscription to the deployed API exists), and a missing one refuses
	// webhooks only, never the responders' routes.
	secrets := &secrets.WebhookSecretStore{API: secretsmanager.NewFromConfig(cfg), SecretID: webhookSecret, Clock: incident.SystemClock{}}
	store := dynamo.New(dynamodb.NewFromConfig(cfg), table)
	// GET /remediation/kill-switch answers the deployment's default
	// while no admin has set it.
	killSwitch, err := lambdaenv.KillSwitchDefault()
	if err != nil {
		slog.Error("cannot start", "error", err)
		panic(err)
	}
	svc := &response.Service{
		Store:   store,
		Starter: stepfunctions.NewStarter(sfn.NewFromConfig(cfg), stateMachine),
		Policy:  lambdaenv.MustPolicy(),
		Clock:   incident.SystemClock{},

		KillSwitchDefault: killSwitch,
	}
	// The claim and names roles are read from; the CDK app sets them from
	// the same settings as the routes' authorization scopes.
	roles, err := auth.RoleMappingFromEnv()
	if err != nil {
		slog.Error("cannot start", "error", err)
		panic(err)
	}
	h, err := api.New(api.Config{
		Service: svc, Auth: auth.GatewayAuthenticator{Roles: roles}, WebhookSecretSource: secrets, Clock: incident.SystemClock{},
		// GET /health reads the table, so a health check sees what
		// responders would.
		Dependencies: []api.Dependency{api.TableDependency(store)},
	})
	if err != nil {
		slog.Error("cannot start", "error", err)
		panic(err)
	}
	lambda.Start(apigateway.Handler(h))
}
