package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/dashboarduz/incident-response/shared/auth"
	"github.com/dashboarduz/incident-response/shared/incident"
)

// Context keys the stack reads (cdk.json's "context" or `cdk synth -c key=value`).
const (
	// ContextLogRetentionDays is how many days the functions' and the state
	// machine's logs are kept; one of CloudWatch Logs' allowed values.
	ContextLogRetentionDays = "logRetentionDays"
	// ContextRoutingKeysSecretName names the Secrets Manager secret that
	// holds the PagerDuty routing keys; the team manages it, the stack only
	// imports it.
	ContextRoutingKeysSecretName = "routingKeysSecretName"
	// ContextPagerDutyEventsURL overrides the PagerDuty Events API v2 URL.
	ContextPagerDutyEventsURL = "pagerDutyEventsUrl"
	// ContextIncidentURLBase is the base of the links to an incident that
	// pages carry.
	ContextIncidentURLBase = "incidentUrlBase"
	// ContextEscalationPolicyFile, when set, names a JSON escalation policy
	// (relative to the folder of cdk.json, or absolute) that replaces the
	// runbook's default; it is validated at synthesis.
	ContextEscalationPolicyFile = "escalationPolicyFile"
	// ContextOperatorEmail, when set, subscribes an email address to the
	// operator-alerts topic that the stack's own alarms notify.
	ContextOperatorEmail = "operatorEmail"
	// ContextPagerDutyWebhookSecretName names the Secrets Manager secret
	// that holds the PagerDuty v3 webhook signing secret(s); the team
	// manages it, the stack only imports it.
	ContextPagerDutyWebhookSecretName = "pagerDutyWebhookSecretName"
	// ContextJWTIssuer is the issuer (an https URL) of the tokens the HTTP
	// API accepts; API Gateway fetches the keys from its OpenID
	// configuration. Required.
	ContextJWTIssuer = "jwtIssuer"
	// ContextJWTAudience is the audience the tokens must carry: a string,
	// or a list of strings of which a token must carry one. Required.
	ContextJWTAudience = "jwtAudience"
	// ContextRoleClaim is the token claim the callers' roles are read
	// from: groups (the default), cognito:groups, or scope/scp, in which
	// case API Gateway's authorizer checks each route's scopes too.
	ContextRoleClaim = "roleClaim"
	// ContextRoleNames maps roles to the group or scope names that grant
	// them: a JSON object in cdk.json, or its text with -c, e.g.
	// {"responder": ["oncall", "sre"]}; roles left out keep their defaults.
	ContextRoleNames = "roleNames"
)

// Defaults for context keys that are not set.
const (
	DefaultLogRetentionDays      = 30
	DefaultRoutingKeysSecretName = "dashboarduz/incident-response/pagerduty-routing-keys"
	// DefaultPagerDutyWebhookSecretName is the webhook signing secret's name.
	DefaultPagerDutyWebhookSecretName = "dashboarduz/incident-response/pagerduty-webhook-secret"
)

// Placeholders cdk.json carries for the required JWT settings, so that
// `make synth` and the tests work without an identity provider. The issuer
// is under .invalid, a top-level domain that never resolves, so an API
// deployed with it rejects every token. Synthesis with them only warns; a
// stack bound to an account (what `cdk deploy` synthesizes) fails.
const (
	PlaceholderJWTIssuer   = "https://issuer.placeholder.invalid/"
	PlaceholderJWTAudience = "placeholder-audience"
)

// Config is what the stack takes from CDK context.
type Config struct {
	// LogRetention is how long the functions' and state machine's logs are kept.
	LogRetention awslogs.RetentionDays
	// RoutingKeysSecretName names the imported PagerDuty routing-key secret.
	RoutingKeysSecretName string
	// PagerDutyEventsURL, when not empty, overrides the Events API v2 URL.
	PagerDutyEventsURL string
	// IncidentURLBase, when not empty, is the base of incident links in pages.
	IncidentURLBase string
	// OperatorEmail, when not empty, receives the stack's own alarms.
	OperatorEmail string
	// PagerDutyWebhookSecretName names the imported webhook signing secret.
	PagerDutyWebhookSecretName string
	// JWTIssuer is the issuer of the tokens the HTTP API accepts.
	JWTIssuer string
	// JWTAudience lists the audiences a token may carry (at least one).
	JWTAudience []string
	// EscalationPolicy, when not empty, is the validated policy document
	// (compact JSON) the functions use instead of the embedded default.
	EscalationPolicy string
	// Roles says which claim and names grant the API's roles; the api
	// function and the routes' authorization scopes both follow it.
	Roles auth.RoleMapping
}

// UsesJWTPlaceholder reports whether the JWT settings are cdk.json's
// placeholders rather than a real identity provider's.
func (c Config) UsesJWTPlaceholder() bool {
	return c.JWTIssuer == PlaceholderJWTIssuer || slices.Contains(c.JWTAudience, PlaceholderJWTAudience)
}

// retentionDays maps the day counts CloudWatch Logs accepts to the CDK's names.
var retentionDays = map[int]awslogs.RetentionDays{
	1:    awslogs.RetentionDays_ONE_DAY,
	3:    awslogs.RetentionDays_THREE_DAYS,
	5:    awslogs.RetentionDays_FIVE_DAYS,
	7:    awslogs.RetentionDays_ONE_WEEK,
	14:   awslogs.RetentionDays_TWO_WEEKS,
	30:   awslogs.RetentionDays_ONE_MONTH,
	60:   awslogs.RetentionDays_TWO_MONTHS,
	90:   awslogs.RetentionDays_THREE_MONTHS,
	120:  awslogs.RetentionDays_FOUR_MONTHS,
	150:  awslogs.RetentionDays_FIVE_MONTHS,
	180:  awslogs.RetentionDays_SIX_MONTHS,
	365:  awslogs.RetentionDays_ONE_YEAR,
	400:  awslogs.RetentionDays_THIRTEEN_MONTHS,
	545:  awslogs.RetentionDays_EIGHTEEN_MONTHS,
	731:  awslogs.RetentionDays_TWO_YEARS,
	1096: awslogs.RetentionDays_THREE_YEARS,
	1827: awslogs.RetentionDays_FIVE_YEARS,
	2192: awslogs.RetentionDays_SIX_YEARS,
	2557: awslogs.RetentionDays_SEVEN_YEARS,
	2922: awslogs.RetentionDays_EIGHT_YEARS,
	3288: awslogs.RetentionDays_NINE_YEARS,
	3653: awslogs.RetentionDays_TEN_YEARS,
}

// ConfigFromContext reads the stack's settings from scope's CDK context,
// applying the defaults; a value of the wrong kind is an error, so a typo in
// cdk.json fails synthesis instead of deploying a surprise.
func ConfigFromContext(scope constructs.Construct) (Config, error) {
	get := func(key string) any { return scope.Node().TryGetContext(jsii.String(key)) }
	cfg := Config{
		RoutingKeysSecretName:      DefaultRoutingKeysSecretName,
		PagerDutyWebhookSecretName: DefaultPagerDutyWebhookSecretName,
	}

	days, err := contextInt(get(ContextLogRetentionDays), DefaultLogRetentionDays)
	if err != nil {
		return Config{}, fmt.Errorf("context %s: %w", ContextLogRetentionDays, err)
	}
	r, ok := retentionDays[days]
	if !ok {
		return Config{}, fmt.Errorf("context %s: %d is not a retention CloudWatch Logs allows (1, 3, 5, 7, 14, 30, 60, 90, ... 3653)", ContextLogRetentionDays, days)
	}
	cfg.LogRetention = r

	for _, s := range []struct {
		key string
		dst *string
	}{
		{ContextRoutingKeysSecretName, &cfg.RoutingKeysSecretName},
		{ContextPagerDutyEventsURL, &cfg.PagerDutyEventsURL},
		{ContextIncidentURLBase, &cfg.IncidentURLBase},
		{ContextOperatorEmail, &cfg.OperatorEmail},
		{ContextPagerDutyWebhookSecretName, &cfg.PagerDutyWebhookSecretName},
		{ContextJWTIssuer, &cfg.JWTIssuer},
	} {
		v, err := contextString(get(s.key))
		if err != nil {
			return Config{}, fmt.Errorf("context %s: %w", s.key, err)
		}
		if v != "" {
			*s.dst = v
		}
	}

	policyFile, err := contextString(get(ContextEscalationPolicyFile))
	if err != nil {
		return Config{}, fmt.Errorf("context %s: %w", ContextEscalationPolicyFile, err)
	}
	if policyFile != "" {
		if cfg.EscalationPolicy, err = loadPolicy(policyFile); err != nil {
			return Config{}, fmt.Errorf("context %s: %w", ContextEscalationPolicyFile, err)
		}
	}

	if err := checkJWTIssuer(cfg.JWTIssuer); err != nil {
		return Config{}, fmt.Errorf("context %s: %w", ContextJWTIssuer, err)
	}
	cfg.JWTAudience, err = contextStrings(get(ContextJWTAudience))
	if err != nil {
		return Config{}, fmt.Errorf("context %s: %w", ContextJWTAudience, err)
	}
	if len(cfg.JWTAudience) == 0 {
		return Config{}, fmt.Errorf("context %s: required: the audience the API's tokens carry (set it in cdk.json or pass -c %s=...)", ContextJWTAudience, ContextJWTAudience)
	}

	if cfg.Roles, err = roleMapping(get(ContextRoleClaim), get(ContextRoleNames)); err != nil {
		return Config{}, err
	}

	if cfg.UsesJWTPlaceholder() {
		stack := awscdk.Stack_Of(scope)
		if !*awscdk.Token_IsUnresolved(stack.Account()) {
			return Config{}, fmt.Errorf("context %s, %s: cdk.json's placeholders cannot be deployed (account %s): pass your identity provider's issuer and audience, e.g. CDK_DEPLOY_FLAGS='-c %s=https://... -c %s=...'",
				ContextJWTIssuer, ContextJWTAudience, *stack.Account(), ContextJWTIssuer, ContextJWTAudience)
		}
		awscdk.Annotations_Of(stack).AddWarningV2(jsii.String("dashboarduz:jwtPlaceholder"), jsii.String(fmt.Sprintf(
			"context %s/%s are cdk.json's placeholders: the HTTP API would reject every token. Set your identity provider's values before deploying.",
			ContextJWTIssuer, ContextJWTAudience)), nil)
	}
	return cfg, nil
}

// roleMapping reads the role settings: the claim as a string, the names
// as a JSON object (cdk.json) or its text (-c roleNames='{...}').
func roleMapping(claim, names any) (auth.RoleMapping, error) {
	c, err := contextString(claim)
	if err != nil {
		return auth.RoleMapping{}, fmt.Errorf("context %s: %w", ContextRoleClaim, err)
	}
	doc, err := contextJSON(names)
	if err != nil {
		return auth.RoleMapping{}, fmt.Errorf("context %s: %w", ContextRoleNames, err)
	}
	m, err := auth.ParseRoleMapping(c, doc)
	if err != nil {
		return auth.RoleMapping{}, fmt.Errorf("context %s/%s: %w", ContextRoleClaim, ContextRoleNames, err)
	}
	return m, nil
}

// loadPolicy reads and validates a policy document and returns it compact,
// as the functions' ESCALATION_POLICY takes it.
func loadPolicy(path string) (string, error) {
	return contextFile(path, func(b []byte) error {
		_, err := incident.ParsePolicy(b)
		return err
	})
}

// checkJWTIssuer requires an issuer that API Gateway accepts: an absolute
// https URL.
func checkJWTIssuer(issuer string) error {
	if issuer == "" {
		return fmt.Errorf("required: the https URL of the identity provider whose tokens the API accepts (set it in cdk.json or pass -c %s=...)", ContextJWTIssuer)
	}
	u, err := url.Parse(issuer)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return fmt.Errorf("%q is not an https URL", issuer)
	}
	return nil
}

// contextInt reads a whole number that came from cdk.json (a JSON number) or
// from the command line (-c key=14 arrives as a string).
func contextInt(v any, def int) (int, error) {
	switch v := v.(type) {
	case nil:
		return def, nil
	case float64:
		if v != float64(int(v)) {
			return 0, fmt.Errorf("%v is not a whole number", v)
		}
		return int(v), nil
	case string:
		n, err := strconv.Atoi(v)
		if err != nil {
			return 0, fmt.Errorf("%q is not a whole number", v)
		}
		return n, nil
	default:
		return 0, fmt.Errorf("%v (%T) is not a whole number", v, v)
	}
}

// contextString reads an optional string value.
func contextString(v any) (string, error) {
	switch v := v.(type) {
	case nil:
		return "", nil
	case string:
		return v, nil
	default:
		return "", fmt.Errorf("%v (%T) is not a string", v, v)
	}
}

// contextStrings reads a list of non-empty strings given as one string or
// as a JSON list of strings; a missing value is an empty list.
func contextStrings(v any) ([]string, error) {
	switch v := v.(type) {
	case nil:
		return nil, nil
	case string:
		if v == "" {
			return nil, nil
		}
		return []string{v}, nil
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			s, ok := e.(string)
			if !ok || s == "" {
				return nil, fmt.Errorf("%v (%T) in the list is not a non-empty string", e, e)
			}
			out = append(out, s)
		}
		return out, nil
	default:
		return nil, fmt.Errorf("%v (%T) is neither a string nor a list of strings", v, v)
	}
}

// ErrNoCDKJSON is returned by FindRepoRoot when no folder up the tree holds cdk.json.
var ErrNoCDKJSON = errors.New("cdk.json not found in this folder or any folder above it")

// FindRepoRoot walks up from dir to the folder that holds cdk.json: the
// repository root, against which relative paths such as build/functions are
// resolved whether the app runs from the root (cdk synth, go run ./infra) or
// from infra/ (go test).
func FindRepoRoot(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "cdk.json")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", ErrNoCDKJSON
		}
		dir = parent
	}
}

// LoadCDKContext returns the "context" object of the cdk.json at path. The
// CDK CLI passes it to the app itself, but `go run` and `go test` do not, so
// the app loads it as its defaults: tests and `cdk synth` then see the same
// feature flags, and the CLI's values (including -c) still win.
func LoadCDKContext(path string) (map[string]any, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load cdk context: %w", err)
	}
	var doc struct {
		Context map[string]any `json:"context"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("load cdk context: %s: %w", path, err)
	}
	if doc.Context == nil {
		doc.Context = map[string]any{}
	}
	return doc.Context, nil
}
