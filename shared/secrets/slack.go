package secrets

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/dashboarduz/incident-response/shared/incident"
)

// SlackApp is what the Slack app's secret holds: the bot token the Notify
// and api functions post with, and the signing secret(s) the api
// function verifies Slack's requests with.
type SlackApp struct {
	BotToken string
	// SigningSecrets are the current signing secret and, while it is
	// being rotated, the previous one.
	SigningSecrets []string
}

// ParseSlackApp reads the Slack app's secret: a JSON object
//
//	{"botToken": "xoxb-...", "signingSecret": "..."}
//
// whose signingSecret may be an array of the new and the old secret while
// it is rotated. Unknown fields are errors, so a misspelt key does not
// leave Slack silently unconfigured.
func ParseSlackApp(secretID, value string) (SlackApp, error) {
	var raw struct {
		BotToken      string          `json:"botToken"`
		SigningSecret json.RawMessage `json:"signingSecret"`
	}
	dec := json.NewDecoder(bytes.NewReader([]byte(value)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&raw); err != nil {
		return SlackApp{}, fmt.Errorf("slack secret %s: not a JSON object with botToken and signingSecret: %v", secretID, err)
	}
	app := SlackApp{BotToken: strings.TrimSpace(raw.BotToken)}
	if len(raw.SigningSecret) > 0 && string(raw.SigningSecret) != "null" {
		var ok bool
		if app.SigningSecrets, ok = signingSecrets(raw.SigningSecret); !ok {
			return SlackApp{}, fmt.Errorf("slack secret %s: signingSecret is neither a string nor an array of strings", secretID)
		}
	}
	if app.BotToken == "" && len(app.SigningSecrets) == 0 {
		return SlackApp{}, fmt.Errorf("slack secret %s holds neither a bot token nor a signing secret", secretID)
	}
	return app, nil
}

// signingSecrets reads signingSecret: one secret, or an array of the new
// and the old one holding at least one. ok is false for anything else.
func signingSecrets(raw json.RawMessage) (secrets []string, ok bool) {
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return nonEmpty([]string{one}), true
	}
	var many []string
	if json.Unmarshal(raw, &many) != nil {
		return nil, false
	}
	kept := nonEmpty(many)
	return kept, len(kept) > 0
}

// SlackStore reads the Slack app's secret when asked and keeps it,
// reading again at most once per RefreshAfter, as WebhookSecretStore does:
// a secret stored or rotated after the function started is picked up,
// and forged requests cannot make it call Secrets Manager more often. It
// satisfies slack.TokenSource and slack.SigningSecretSource. It is safe
// for concurrent use.
type SlackStore struct {
	API      GetSecretValueAPI
	SecretID string
	Clock    incident.Clock
	// RefreshAfter is how long what was read is kept; zero means a minute.
	RefreshAfter time.Duration

	app refreshing[SlackApp]
}

func (s *SlackStore) read(ctx context.Context) (SlackApp, error) {
	return s.app.get(ctx, s.Clock.Now(), orMinute(s.RefreshAfter), func(ctx context.Context) (SlackApp, error) {
		out, err := s.API.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(s.SecretID)})
		if err != nil {
			return SlackApp{}, fmt.Errorf("read slack secret %s: %w", s.SecretID, err)
		}
		return ParseSlackApp(s.SecretID, aws.ToString(out.SecretString))
	})
}

// SlackBotToken returns the bot token.
func (s *SlackStore) SlackBotToken(ctx context.Context) (string, error) {
	app, err := s.read(ctx)
	if err != nil {
		return "", err
	}
	if app.BotToken == "" {
		return "", fmt.Errorf("slack secret %s holds no botToken", s.SecretID)
	}
	return app.BotToken, nil
}

// SlackSigningSecrets returns the signing secrets.
func (s *SlackStore) SlackSigningSecrets(ctx context.Context) ([]string, error) {
	app, err := s.read(ctx)
	if err != nil {
		return nil, err
	}
	if len(app.SigningSecrets) == 0 {
		return nil, fmt.Errorf("slack secret %s holds no signingSecret", s.SecretID)
	}
	return app.SigningSecrets, nil
}

// StringStore reads a secret that holds one string (an API key) when
// first asked and keeps it for RefreshAfter. It is safe for concurrent
// use.
type StringStore struct {
	API      GetSecretValueAPI
	SecretID string
	Clock    incident.Clock
	// RefreshAfter is how long what was read is kept; zero means ten
	// minutes.
	RefreshAfter time.Duration

	mu     sync.Mutex
	value  string
	readAt time.Time
}

// Value returns the secret's value, trimmed. A failed read keeps what was
// read before, if anything.
func (s *StringStore) Value(ctx context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	every := s.RefreshAfter
	if every <= 0 {
		every = 10 * time.Minute
	}
	now := s.Clock.Now()
	if s.value != "" && now.Sub(s.readAt) < every {
		return s.value, nil
	}
	out, err := s.API.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(s.SecretID)})
	if err != nil {
		if s.value != "" {
			return s.value, nil
		}
		return "", fmt.Errorf("read secret %s: %w", s.SecretID, err)
	}
	v := strings.TrimSpace(aws.ToString(out.SecretString))
	if v == "" {
		return "", fmt.Errorf("secret %s is empty", s.SecretID)
	}
	s.value, s.readAt = v, now
	return v, nil
}
