// Package secrets reads the system's credentials from AWS Secrets
// Manager: the PagerDuty routing keys of the escalation levels
// (RoutingKeys), the webhook signing secrets of PagerDuty and Sentry
// (WebhookSecretStore), the Slack app's bot token and signing secrets
// (SlackStore) and single API keys (StringStore).
//
// One secret holds every routing key, as a JSON object from level name to
// routing key: {"on-call": "...", "team-lead": "...",
// "engineering-manager": "...", "cto": "..."}. Routing keys are
// credentials: they are never logged and never put in an error message,
// and neither is the secret's content.
package secrets

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/dashboarduz/incident-response/shared/incident"
)

// RoutingKeyLength is the length of a PagerDuty Events API v2 routing key
// (an integration key).
const RoutingKeyLength = 32

// GetSecretValueAPI is the part of the Secrets Manager client RoutingKeys
// uses; *secretsmanager.Client satisfies it.
type GetSecretValueAPI interface {
	GetSecretValue(ctx context.Context, params *secretsmanager.GetSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// RoutingKeys gives the routing key of each escalation level, read from one
// secret. The first successful read is kept for the life of the process
// (one read per Lambda cold start); a failed read is not kept, so the next
// call tries again. It is safe for concurrent use: concurrent first calls
// share one read.
type RoutingKeys struct {
	api      GetSecretValueAPI
	secretID string

	mu   sync.Mutex
	keys map[string]string
}

// NewRoutingKeys returns RoutingKeys that read the secret secretID (a name
// or ARN) through api.
func NewRoutingKeys(api GetSecretValueAPI, secretID string) *RoutingKeys {
	return &RoutingKeys{api: api, secretID: secretID}
}

// Forget drops the cached keys, so the next lookup reads the secret again:
// after PagerDuty rejects a key, a corrected secret takes effect without
// waiting for a cold start.
func (r *RoutingKeys) Forget() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.keys = nil
}

// RoutingKey returns the routing key of the escalation level named level,
// e.g. "team-lead". A level missing from the secret is an *incident.Error
// with code EInvalid.
func (r *RoutingKeys) RoutingKey(ctx context.Context, level string) (string, error) {
	keys, err := r.load(ctx)
	if err != nil {
		return "", err
	}
	return lookup(keys, "secret "+r.secretID, level)
}

// Check reads the secret and reports the levels of the policy it has no
// routing key for, so that a function can say so at cold start instead of
// at the first page to such a level.
func (r *RoutingKeys) Check(ctx context.Context, p incident.Policy) error {
	keys, err := r.load(ctx)
	if err != nil {
		return err
	}
	if err := p.CheckRoutingKeys(keys); err != nil {
		return fmt.Errorf("secret %s: %w", r.secretID, err)
	}
	return nil
}

// load returns the cached keys, reading the secret if there are none yet.
// The lock is held across the read so that concurrent first calls make one.
func (r *RoutingKeys) load(ctx context.Context) (map[string]string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.keys != nil {
		return r.keys, nil
	}
	out, err := r.api.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: &r.secretID})
	if err != nil {
		return nil, fmt.Errorf("read PagerDuty routing keys from secret %s: %w", r.secretID, err)
	}
	if out == nil || out.SecretString == nil {
		return nil, incident.Errorf(incident.EInvalid, "secret %s has no SecretString; it must be a JSON object of PagerDuty routing keys per escalation level", r.secretID)
	}
	keys, err := parse(r.secretID, *out.SecretString)
	if err != nil {
		return nil, err
	}
	r.keys = keys
	return keys, nil
}

// parse decodes the secret. Its errors say where the JSON is wrong but
// never quote it: the content is the routing keys.
func parse(secretID, s string) (map[string]string, error) {
	notObject := incident.Errorf(incident.EInvalid, "secret %s is not a JSON object of PagerDuty routing keys per escalation level, e.g. {\"on-call\": \"<routing key>\"}", secretID)
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(s), &raw); err != nil {
		var syntaxErr *json.SyntaxError
		if errors.As(err, &syntaxErr) {
			return nil, incident.Errorf(incident.EInvalid, "secret %s is not valid JSON (syntax error at byte %d); it must be a JSON object of PagerDuty routing keys per escalation level, e.g. {\"on-call\": \"<routing key>\"}", secretID, syntaxErr.Offset)
		}
		return nil, notObject
	}
	if raw == nil {
		return nil, notObject
	}
	keys := make(map[string]string, len(raw))
	for level, v := range raw {
		var key string
		if err := json.Unmarshal(v, &key); err != nil {
			return nil, incident.Errorf(incident.EInvalid, "secret %s: the value for level %q must be a string routing key", secretID, level)
		}
		keys[level] = key
	}
	return keys, nil
}

// LevelKeyError means the routing key of one escalation level is missing
// or malformed while the others may be fine: pages to that level cannot be
// delivered until the secret is corrected. It unwraps to an *incident.Error
// with code EUndeliverable.
type LevelKeyError struct {
	Level string
	Err   *incident.Error
}

// Error says which level's key is wrong and how, never quoting the key.
func (e *LevelKeyError) Error() string { return e.Err.Message }

// Unwrap returns the coded error.
func (e *LevelKeyError) Unwrap() error { return e.Err }

// lookup finds level's routing key in keys, which came from where (e.g.
// "secret <id>"), and checks its shape without ever quoting it.
func lookup(keys map[string]string, where, level string) (string, error) {
	key, ok := keys[level]
	if !ok || key == "" {
		return "", &LevelKeyError{Level: level, Err: incident.Errorf(incident.EUndeliverable, "%s has no routing key for level %q", where, level)}
	}
	if n := utf8.RuneCountInString(key); n != RoutingKeyLength {
		return "", &LevelKeyError{Level: level, Err: incident.Errorf(incident.EUndeliverable, "%s: the routing key for level %q has %d characters; PagerDuty routing keys have %d", where, level, n, RoutingKeyLength)}
	}
	return key, nil
}

// StaticRoutingKeys maps level names to routing keys held in memory, for
// local mode and tests. It checks keys the same way RoutingKeys does.
type StaticRoutingKeys map[string]string

// RoutingKey returns the routing key of the level named level.
func (s StaticRoutingKeys) RoutingKey(_ context.Context, level string) (string, error) {
	return lookup(s, "the static routing keys", level)
}
