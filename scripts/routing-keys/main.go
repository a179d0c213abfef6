// Command routing-keys stores the PagerDuty routing keys of the escalation
// levels in the Secrets Manager secret the escalation-page function reads,
// and, with --webhook-secret, the signing secret of the PagerDuty v3 webhook
// subscription in the secret the api function reads, with
// --sentry-client-secret, the client secret of the Sentry integration
// whose webhooks the api function takes, and, with
// --operator-pagerduty-url, the integration URL the operator-alerts topic
// calls (the stack's operatorPagerDutySecretName), creating each secret
// if it does not exist. It uses the AWS credentials and region of the
// environment, as the AWS CLI does.
//
//	go run ./scripts/routing-keys [--secret NAME] [--policy FILE] on-call=KEY team-lead=KEY engineering-manager=KEY cto=KEY [fire-drill=KEY]
//	go run ./scripts/routing-keys [--webhook-secret-name NAME] --webhook-secret SECRET
//	go run ./scripts/routing-keys [--sentry-client-secret-name NAME] --sentry-client-secret SECRET
//	go run ./scripts/routing-keys [--operator-pagerduty-secret-name NAME] --operator-pagerduty-url URL
//
// Every level of the escalation policy needs a key; each key is the 32
// character integration key of a PagerDuty service's Events API v2
// integration. fire-drill=KEY is the test service the monthly fire drill
// pages instead of the real levels.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/dashboarduz/incident-response/shared/drill"
	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/secrets"
)

// DefaultSecretName is the stack's default routingKeysSecretName.
const DefaultSecretName = "dashboarduz/incident-response/pagerduty-routing-keys"

func main() {
	if err := run(context.Background(), os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "routing-keys:", err)
		os.Exit(1)
	}
}

// DefaultWebhookSecretName is the stack's default pagerDutyWebhookSecretName.
const DefaultWebhookSecretName = "dashboarduz/incident-response/pagerduty-webhook-secret"

// DefaultOperatorSecretName is where --operator-pagerduty-url stores the
// URL; pass it to the stack as operatorPagerDutySecretName.
const DefaultOperatorSecretName = "dashboarduz/incident-response/operator-pagerduty-url"

// DefaultSentrySecretName is the stack's default sentryClientSecretName.
const DefaultSentrySecretName = "dashboarduz/incident-response/sentry-client-secret"

// secretValue is one secret the command may store: its flag's value, the
// secret's name and description, and what to print once it is stored.
type secretValue struct {
	value, name, description, stored string
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("routing-keys", flag.ContinueOnError)
	name := fs.String("secret", DefaultSecretName, "the routing-key secret's `name` (the stack's routingKeysSecretName)")
	policyFile := fs.String("policy", "", "the escalation policy `file` whose levels need keys (default: the runbook's)")
	webhookName := fs.String("webhook-secret-name", DefaultWebhookSecretName, "the webhook secret's `name` (the stack's pagerDutyWebhookSecretName)")
	webhook := fs.String("webhook-secret", "", "the PagerDuty v3 webhook subscription's signing `secret`")
	operatorName := fs.String("operator-pagerduty-secret-name", DefaultOperatorSecretName, "the operator URL secret's `name` (the stack's operatorPagerDutySecretName)")
	operatorURL := fs.String("operator-pagerduty-url", "", "the integration `URL` of the operator's PagerDuty service's Amazon CloudWatch integration")
	sentryName := fs.String("sentry-client-secret-name", DefaultSentrySecretName, "the Sentry client secret's `name` (the stack's sentryClientSecretName)")
	sentrySecret := fs.String("sentry-client-secret", "", "the Sentry integration's client `secret` (a JSON array of the new and the old one during a rotation)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 && *webhook == "" && *operatorURL == "" && *sentrySecret == "" {
		return errors.New("give level=KEY for every level, --webhook-secret, --sentry-client-secret, --operator-pagerduty-url, or several")
	}
	if err := checkValues(*operatorURL, []secretValue{{value: *webhook, name: *webhookName}, {value: *sentrySecret, name: *sentryName}}); err != nil {
		return err
	}
	keys, err := levelKeys(*policyFile, fs.Args())
	if err != nil {
		return err
	}
	cfg, lerr := config.LoadDefaultConfig(ctx)
	if lerr != nil {
		return fmt.Errorf("load AWS config: %w", lerr)
	}
	client := secretsmanager.NewFromConfig(cfg)
	if keys != nil {
		value, err := json.Marshal(keys)
		if err != nil {
			return err
		}
		if err := store(ctx, client, *name, "PagerDuty Events API v2 routing keys, one per escalation level, for the Dashboarduz incident response.", string(value)); err != nil {
			return err
		}
		fmt.Printf("Stored routing keys for %d levels in secret %s.\n", len(keys), *name)
	}
	for _, v := range []secretValue{
		{*webhook, *webhookName, "The signing secret of the PagerDuty v3 webhook subscription of the Dashboarduz incident response.",
			"Stored the PagerDuty webhook signing secret in secret " + *webhookName + "."},
		{*sentrySecret, *sentryName, "The client secret of the Sentry integration whose webhooks the Dashboarduz incident response takes.",
			"Stored the Sentry client secret in secret " + *sentryName + "; the api function picks it up within a minute."},
		{*operatorURL, *operatorName, "The PagerDuty integration URL the operator-alerts topic of the Dashboarduz incident response calls.",
			"Stored the operator's PagerDuty integration URL in secret " + *operatorName + "; deploy with -c operatorPagerDutySecretName=" + *operatorName + "."},
	} {
		if v.value == "" {
			continue
		}
		if err := store(ctx, client, v.name, v.description, v.value); err != nil {
			return err
		}
		fmt.Println(v.stored)
	}
	return nil
}

// checkValues refuses, before anything is stored, an operator URL that is
// not PagerDuty's and webhook secrets the api function could not read:
// each holds one secret or a JSON array of them.
func checkValues(operatorURL string, webhookSecrets []secretValue) error {
	if operatorURL != "" {
		if err := CheckOperatorURL(operatorURL); err != nil {
			return err
		}
	}
	for _, v := range webhookSecrets {
		if v.value == "" {
			continue
		}
		if _, err := secrets.ParseWebhookSecrets(v.name, v.value); err != nil {
			return err
		}
	}
	return nil
}

// levelKeys reads the level=KEY arguments against the policy in
// policyFile (the runbook's when empty); nil when there are none.
func levelKeys(policyFile string, args []string) (map[string]string, error) {
	if len(args) == 0 {
		return nil, nil
	}
	policy := incident.DefaultPolicy()
	if policyFile != "" {
		b, err := os.ReadFile(policyFile)
		if err != nil {
			return nil, err
		}
		if policy, err = incident.ParsePolicy(b); err != nil {
			return nil, err
		}
	}
	return ParseKeys(args, policy)
}

// store puts value in the named secret, creating the secret if it does not
// exist.
func store(ctx context.Context, client *secretsmanager.Client, name, description, value string) error {
	_, err := client.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(name), SecretString: aws.String(value)})
	var missing *smtypes.ResourceNotFoundException
	if errors.As(err, &missing) {
		_, err = client.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(name), Description: aws.String(description), SecretString: aws.String(value)})
	}
	if err != nil {
		return fmt.Errorf("store secret %s: %w", name, err)
	}
	return nil
}

// ParseKeys reads level=KEY arguments and checks that every level of the
// policy has a 32-character key and that no unknown level is given. The
// fire drill's test key (drill.RoutingKeyName) may be given too.
func ParseKeys(args []string, p incident.Policy) (map[string]string, error) {
	keys := map[string]string{}
	for _, a := range args {
		level, key, ok := strings.Cut(a, "=")
		if !ok || level == "" {
			return nil, fmt.Errorf("argument %q is not level=KEY", a)
		}
		if p.LevelNumber(level) == 0 && level != drill.RoutingKeyName {
			return nil, fmt.Errorf("%q is not an escalation level (levels: %s; and %s for the fire drill)", level, levelNames(p), drill.RoutingKeyName)
		}
		if len(key) != secrets.RoutingKeyLength {
			return nil, fmt.Errorf("the routing key for %s has %d characters; PagerDuty routing keys have %d", level, len(key), secrets.RoutingKeyLength)
		}
		keys[level] = key
	}
	if err := p.CheckRoutingKeys(keys); err != nil {
		return nil, fmt.Errorf("%s: give level=KEY for every level (%s)", incident.ErrorMessage(err), levelNames(p))
	}
	return keys, nil
}

func levelNames(p incident.Policy) string {
	var names []string
	for _, l := range p.Levels {
		names = append(names, l.Name)
	}
	return strings.Join(names, ", ")
}

// CheckOperatorURL accepts the integration URL of a PagerDuty service's
// "Amazon CloudWatch" integration, such as
// https://events.pagerduty.com/integration/<key>/enqueue (or the EU
// service region's events.eu.pagerduty.com): SNS calls it over HTTPS. The
// error never quotes the URL, which holds the integration key.
func CheckOperatorURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return errors.New("--operator-pagerduty-url must be an https URL, the integration URL of a PagerDuty service's Amazon CloudWatch integration")
	}
	if !strings.HasSuffix(u.Hostname(), ".pagerduty.com") || !strings.HasPrefix(u.Path, "/integration/") {
		return fmt.Errorf("--operator-pagerduty-url on %s%s... is not a PagerDuty integration URL (https://events.pagerduty.com/integration/<key>/enqueue)", u.Host, firstSegment(u.Path))
	}
	return nil
}

// firstSegment is the first element of a URL path, which never holds a key.
func firstSegment(p string) string {
	if i := strings.Index(strings.TrimPrefix(p, "/"), "/"); i >= 0 {
		return p[:i+1]
	}
	return ""
}
