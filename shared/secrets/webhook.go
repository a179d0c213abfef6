package secrets

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/dashboarduz/incident-response/shared/incident"
)

// WebhookSecrets reads the PagerDuty v3 webhook signing secrets from a
// secret whose value is either the signing secret itself or a JSON array
// of them (the new and the old one while a subscription's secret is
// rotated).
func WebhookSecrets(ctx context.Context, api GetSecretValueAPI, secretID string) ([]string, error) {
	out, err := api.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(secretID)})
	if err != nil {
		return nil, fmt.Errorf("read webhook secret %s: %w", secretID, err)
	}
	return ParseWebhookSecrets(secretID, aws.ToString(out.SecretString))
}

// ParseWebhookSecrets reads a webhook secret's value: one signing secret,
// or a JSON array of them.
func ParseWebhookSecrets(secretID, value string) ([]string, error) {
	value = strings.TrimSpace(value)
	var secrets []string
	if strings.HasPrefix(value, "[") {
		if err := json.Unmarshal([]byte(value), &secrets); err != nil {
			return nil, fmt.Errorf("webhook secret %s: not a JSON array of strings: %v", secretID, err)
		}
	} else if value != "" {
		secrets = []string{value}
	}
	kept := nonEmpty(secrets)
	if len(kept) == 0 {
		return nil, fmt.Errorf("webhook secret %s holds no signing secret", secretID)
	}
	return kept, nil
}

// nonEmpty is ss trimmed, without the empty ones; nil when none is left.
func nonEmpty(ss []string) []string {
	var kept []string
	for _, s := range ss {
		if s = strings.TrimSpace(s); s != "" {
			kept = append(kept, s)
		}
	}
	return kept
}

// WebhookSecretStore reads the webhook signing secrets when asked and
// keeps them, reading again at most once per RefreshAfter: a secret stored
// after the api function started (PagerDuty shows it only once the
// subscription to the deployed API exists) is picked up, and forged
// webhooks cannot make it call Secrets Manager more often than that. It is
// safe for concurrent use.
type WebhookSecretStore struct {
	API      GetSecretValueAPI
	SecretID string
	Clock    incident.Clock
	// RefreshAfter is how long what was read is kept; zero means a minute.
	RefreshAfter time.Duration

	secrets refreshing[[]string]
}

// WebhookSecrets returns the secrets, read again when what it has is older
// than RefreshAfter. A failed read keeps what was read before, if anything.
func (s *WebhookSecretStore) WebhookSecrets(ctx context.Context) ([]string, error) {
	return s.secrets.get(ctx, s.Clock.Now(), orMinute(s.RefreshAfter), func(ctx context.Context) ([]string, error) {
		return WebhookSecrets(ctx, s.API, s.SecretID)
	})
}
