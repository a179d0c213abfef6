// Package lambdaenv is what every function's main does at cold start:
// read its configuration from the environment and load the AWS
// configuration, failing the start, never an invocation, when either is
// missing.
package lambdaenv

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/dashboarduz/incident-response/shared/incident"
)

// Required returns the values of the named environment variables, in
// order, or an error naming every one that is missing or empty.
func Required(names ...string) ([]string, error) {
	values := make([]string, len(names))
	var missing []string
	for i, n := range names {
		values[i] = os.Getenv(n)
		if values[i] == "" {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("missing configuration: environment variables %v are not set", missing)
	}
	return values, nil
}

// Must fails the cold start on err: it logs the reason and exits, so
// Lambda reports a failed start and no invocation runs with bad
// configuration. Only a main calls it.
func Must(err error) {
	if err != nil {
		slog.Error("cannot start", "error", err)
		os.Exit(1)
	}
}

// MustStart reads the required variables and the AWS configuration; on
// failure it logs the reason and exits, so Lambda reports a failed start.
// Only a main calls it.
func MustStart(names ...string) ([]string, aws.Config) {
	values, err := Required(names...)
	Must(err)
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		slog.Error("cannot start: load AWS configuration", "error", err)
		os.Exit(1)
	}
	return values, cfg
}

// EnvEscalationPolicy, when set, holds the escalation policy document
// (JSON) that replaces the embedded default.
const EnvEscalationPolicy = "ESCALATION_POLICY"

// Policy returns the escalation policy: the document in
// EnvEscalationPolicy, validated, or the embedded default.
func Policy() (incident.Policy, error) {
	doc := os.Getenv(EnvEscalationPolicy)
	if doc == "" {
		return incident.DefaultPolicy(), nil
	}
	p, err := incident.ParsePolicy([]byte(doc))
	if err != nil {
		return incident.Policy{}, fmt.Errorf("%s: %w", EnvEscalationPolicy, err)
	}
	return p, nil
}

// MustPolicy is Policy for a main: an invalid policy fails the start.
func MustPolicy() incident.Policy {
	p, err := Policy()
	Must(err)
	return p
}
