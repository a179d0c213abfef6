// Command notify is the Notify task of the escalation state machine: it
// announces an incident's timeline entries on the configured channels
// (Slack, stakeholder email) and sends the post-mortem's reminders.
package main

import (
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"github.com/dashboarduz/incident-response/shared/comms"
	"github.com/dashboarduz/incident-response/shared/dynamo"
	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/lambdaenv"
	"github.com/dashboarduz/incident-response/shared/secrets"
)

func main() {
	slog.SetDefault(lambdacontext.NewLogger())
	env, cfg := lambdaenv.MustStart("TABLE_NAME")
	policy := lambdaenv.MustPolicy()
	settings, err := comms.SettingsFromEnv(os.Getenv, policy)
	lambdaenv.Must(err)
	clock := incident.SystemClock{}
	// The secrets are read when the first message needs them, not at cold
	// start, and kept: a Notify that has nothing to send reads nothing.
	sm := secretsmanager.NewFromConfig(cfg)
	deps := comms.Deps{Clock: clock, Policy: policy}
	if settings.SlackOn() {
		deps.SlackTokens = &secrets.SlackStore{API: sm, SecretID: settings.SlackSecret, Clock: clock}
	}
	if settings.PagerDutyKeySecret != "" {
		deps.PagerDutyKey = (&secrets.StringStore{API: sm, SecretID: settings.PagerDutyKeySecret, Clock: clock}).Value
	}
	if settings.EmailOn() {
		deps.SES = sesv2.NewFromConfig(cfg)
	}
	channels, err := comms.NewChannels(settings, deps)
	lambdaenv.Must(err)
	slog.Info("notify channels", "slack", settings.SlackOn(), "email", settings.EmailOn(), "onCallByName", settings.PagerDutyKeySecret != "" && len(settings.EscalationPolicies) > 0)
	h := &comms.Handler{
		Store:    dynamo.New(dynamodb.NewFromConfig(cfg), env[0]),
		Clock:    clock,
		Channels: channels,
	}
	lambda.Start(h.Handle)
}
