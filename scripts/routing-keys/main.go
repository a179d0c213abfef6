// Command routing-keys stores the PagerDuty routing keys of the escalation
// levels in the Secrets Manager secret the escalation-page function reads,
// creating the secret if it does not exist. It uses the AWS credentials and
// region of the environment, as the AWS CLI does.
//
//	go run ./scripts/routing-keys [--secret NAME] on-call=KEY team-lead=KEY engineering-manager=KEY cto=KEY
//
// Every level of the escalation policy needs a key; each key is the 32
// character integration key of a PagerDuty service's Events API v2
// integration.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	sm "github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/secretsmanager"
)

// DefaultSecretName is the stack's default routingKeysSecretName.
const DefaultSecretName = "dashboarduz/incident-response/pagerduty-routing-keys"

func main() {
	if err := run(context.Background(), os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "routing-keys:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("routing-keys", flag.ContinueOnError)
	name := fs.String("secret", DefaultSecretName, "the secret's `name` (the stack's routingKeysSecretName)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	keys, err := ParseKeys(fs.Args(), incident.DefaultPolicy())
	if err != nil {
		return err
	}
	value, err := json.Marshal(keys)
	if err != nil {
		return err
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return fmt.Errorf("load AWS config: %w", err)
	}
	client := sm.NewFromConfig(cfg)
	_, err = client.PutSecretValue(ctx, &sm.PutSecretValueInput{SecretId: aws.String(*name), SecretString: aws.String(string(value))})
	var missing *smtypes.ResourceNotFoundException
	if errors.As(err, &missing) {
		_, err = client.CreateSecret(ctx, &sm.CreateSecretInput{
			Name:         aws.String(*name),
			Description:  aws.String("PagerDuty Events API v2 routing keys, one per escalation level, for the Dashboarduz incident response."),
			SecretString: aws.String(string(value)),
		})
		if err == nil {
			fmt.Printf("Created secret %s with routing keys for %d levels.\n", *name, len(keys))
		}
	} else if err == nil {
		fmt.Printf("Stored routing keys for %d levels in secret %s.\n", len(keys), *name)
	}
	if err != nil {
		return fmt.Errorf("store secret %s: %w", *name, err)
	}
	return nil
}

// ParseKeys reads level=KEY arguments and checks that every level of the
// policy has a 32-character key and that no unknown level is given.
func ParseKeys(args []string, p incident.Policy) (map[string]string, error) {
	keys := map[string]string{}
	for _, a := range args {
		level, key, ok := strings.Cut(a, "=")
		if !ok || level == "" {
			return nil, fmt.Errorf("argument %q is not level=KEY", a)
		}
		if p.LevelNumber(level) == 0 {
			return nil, fmt.Errorf("%q is not an escalation level (levels: %s)", level, levelNames(p))
		}
		if len(key) != secretsmanager.RoutingKeyLength {
			return nil, fmt.Errorf("the routing key for %s has %d characters; PagerDuty routing keys have %d", level, len(key), secretsmanager.RoutingKeyLength)
		}
		keys[level] = key
	}
	for _, l := range p.Levels {
		if _, ok := keys[l.Name]; !ok {
			return nil, fmt.Errorf("no routing key for level %s: give %s=KEY for every level (%s)", l.Name, l.Name, levelNames(p))
		}
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
