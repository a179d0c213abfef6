package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// Context keys of the system watching itself: who hears when paging is
// broken, the paging path's reserved concurrency, and the fire drill.
const (
	// ContextOperatorPagerDutySecretName names a Secrets Manager secret
	// holding the integration URL of a PagerDuty service's "Amazon
	// CloudWatch" integration (https://events.pagerduty.com/integration/
	// <key>/enqueue), subscribed to the operator-alerts topic over HTTPS.
	// The template carries only a dynamic reference to the secret; the URL
	// (which holds the integration key) never appears in it.
	ContextOperatorPagerDutySecretName = "operatorPagerDutySecretName"
	// ContextReservedConcurrency sets the reserved concurrency of the
	// paging path's functions: a JSON object from function name
	// (alarm-ingest, escalation-plan, escalation-page) to a number, merged
	// over the defaults, or "off" for no reservations at all.
	ContextReservedConcurrency = "reservedConcurrency"
	// ContextFireDrillSchedule is the fire drill's EventBridge schedule
	// expression, cron(...) or rate(...), or "off".
	ContextFireDrillSchedule = "fireDrillSchedule"
	// ContextFireDrillMaxAgeDays is how many days may pass without a
	// passing fire drill before the fire-drill-failing alarm fires.
	ContextFireDrillMaxAgeDays = "fireDrillMaxAgeDays"
)

// PlaceholderOperatorEmail is cdk.json's operatorEmail: like the JWT
// placeholders, it synthesizes with a warning so that `make synth` and the
// tests work offline, and is refused for a stack bound to an account. It is
// under .invalid, so no mail could ever reach it.
const PlaceholderOperatorEmail = "operator@placeholder.invalid"

// Defaults of the fire drill: at 10:00 UTC on the first of each month,
// the runbook's "monthly disaster recovery drills", and an alarm when none
// has passed for 35 days, a month and a few days' slack.
const (
	DefaultFireDrillSchedule   = "cron(0 10 1 * ? *)"
	DefaultFireDrillMaxAgeDays = 35
	// offValue switches reservations or the fire-drill schedule off.
	offValue = "off"
)

// DefaultReservedConcurrency is what the paging path reserves: enough for
// a storm of alarms (each invocation takes tens of milliseconds, and
// throttled ones are retried by EventBridge, Lambda and the state machine),
// 40 in all, a small part of an account's default 1,000.
var DefaultReservedConcurrency = map[string]int{
	AlarmIngestFunction:    20,
	EscalationPlanFunction: 10,
	EscalationPageFunction: 10,
}

// MaxReservedConcurrency bounds the sum of the paging path's reservations,
// so that a typo cannot take the account's concurrency from its other
// workloads: a fifth of a default account's 1,000.
const MaxReservedConcurrency = 200

// singletonConcurrency is what the heartbeat and the fire drill reserve
// when reservations are on: one beat or drill at a time, and never starved
// by the account's other functions.
const singletonConcurrency = 1

// WatchConfig is what the stack takes from CDK context for watching
// itself.
type WatchConfig struct {
	// OperatorEmail, when set, is subscribed to the operator-alerts topic.
	OperatorEmail string
	// OperatorPagerDutySecretName, when set, names the secret holding the
	// PagerDuty integration URL subscribed to the topic.
	OperatorPagerDutySecretName string
	// ReservedConcurrency maps a function to its reserved concurrency;
	// empty means no reservations.
	ReservedConcurrency map[string]int
	// FireDrillSchedule is the drill's schedule expression; empty means no
	// scheduled drill.
	FireDrillSchedule string
	// FireDrillMaxAgeDays is how long a passing drill counts.
	FireDrillMaxAgeDays int
}

// UsesOperatorPlaceholder reports whether the only operator contact is
// cdk.json's placeholder.
func (c WatchConfig) UsesOperatorPlaceholder() bool {
	return c.OperatorEmail == PlaceholderOperatorEmail && c.OperatorPagerDutySecretName == ""
}

// WatchConfigFromContext reads the settings of the system watching itself.
// An operator contact is required: the stack's own alarms, the heartbeat
// above all, must reach someone when paging itself is broken.
func WatchConfigFromContext(scope constructs.Construct) (WatchConfig, error) {
	get := func(key string) any { return scope.Node().TryGetContext(jsii.String(key)) }
	var cfg WatchConfig
	var err error
	for _, s := range []struct {
		key string
		dst *string
	}{
		{ContextOperatorEmail, &cfg.OperatorEmail},
		{ContextOperatorPagerDutySecretName, &cfg.OperatorPagerDutySecretName},
	} {
		if *s.dst, err = contextString(get(s.key)); err != nil {
			return WatchConfig{}, fmt.Errorf("context %s: %w", s.key, err)
		}
	}
	if err := cfg.checkOperator(scope); err != nil {
		return WatchConfig{}, err
	}
	if cfg.ReservedConcurrency, err = reservedConcurrency(get(ContextReservedConcurrency)); err != nil {
		return WatchConfig{}, fmt.Errorf("context %s: %w", ContextReservedConcurrency, err)
	}
	if cfg.FireDrillSchedule, err = fireDrillSchedule(get(ContextFireDrillSchedule)); err != nil {
		return WatchConfig{}, fmt.Errorf("context %s: %w", ContextFireDrillSchedule, err)
	}
	if cfg.FireDrillMaxAgeDays, err = contextInt(get(ContextFireDrillMaxAgeDays), DefaultFireDrillMaxAgeDays); err != nil {
		return WatchConfig{}, fmt.Errorf("context %s: %w", ContextFireDrillMaxAgeDays, err)
	}
	if cfg.FireDrillMaxAgeDays < 1 {
		return WatchConfig{}, fmt.Errorf("context %s: %d is not a positive number of days", ContextFireDrillMaxAgeDays, cfg.FireDrillMaxAgeDays)
	}
	return cfg, nil
}

// emailPattern is a loose check that catches what is surely not an email
// address; SNS sends a confirmation to the address, which is the real
// check.
var emailPattern = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s]+$`)

// secretNamePattern is what Secrets Manager allows in a secret's name.
var secretNamePattern = regexp.MustCompile(`^[A-Za-z0-9/_+=.@-]{1,512}$`)

// checkOperator requires an operator contact, refuses the placeholder for a
// stack bound to an account (as `cdk deploy` synthesizes it), and warns
// about it otherwise.
func (c WatchConfig) checkOperator(scope constructs.Construct) error {
	if c.OperatorEmail == "" && c.OperatorPagerDutySecretName == "" {
		return fmt.Errorf("context %s, %s: required: an operator contact, who hears when paging itself is broken (the heartbeat stops, escalations fail): pass -c %s=you@example.com, or -c %s=NAME of a secret holding a PagerDuty integration URL (scripts/routing-keys --operator-pagerduty-url), or both",
			ContextOperatorEmail, ContextOperatorPagerDutySecretName, ContextOperatorEmail, ContextOperatorPagerDutySecretName)
	}
	if c.OperatorEmail != "" && !emailPattern.MatchString(c.OperatorEmail) {
		return fmt.Errorf("context %s: %q is not an email address", ContextOperatorEmail, c.OperatorEmail)
	}
	if c.OperatorPagerDutySecretName != "" && !secretNamePattern.MatchString(c.OperatorPagerDutySecretName) {
		return fmt.Errorf("context %s: %q is not a Secrets Manager secret name", ContextOperatorPagerDutySecretName, c.OperatorPagerDutySecretName)
	}
	if !c.UsesOperatorPlaceholder() {
		return nil
	}
	stack := awscdk.Stack_Of(scope)
	if !*awscdk.Token_IsUnresolved(stack.Account()) {
		return fmt.Errorf("context %s: cdk.json's placeholder %s cannot be deployed (account %s): nobody would hear when paging itself is broken; pass a real contact, e.g. CDK_DEPLOY_FLAGS='-c %s=you@example.com' or -c %s=NAME",
			ContextOperatorEmail, PlaceholderOperatorEmail, *stack.Account(), ContextOperatorEmail, ContextOperatorPagerDutySecretName)
	}
	awscdk.Annotations_Of(stack).AddWarningV2(jsii.String("dashboarduz:operatorPlaceholder"), jsii.String(fmt.Sprintf(
		"context %s is cdk.json's placeholder: nobody would hear the stack's own alarms. Set %s or %s before deploying.",
		ContextOperatorEmail, ContextOperatorEmail, ContextOperatorPagerDutySecretName)), nil)
	return nil
}

// reservedConcurrency reads the reservations: the defaults, with the
// context's values merged over them; "off" (or false) means none. From the
// command line the object arrives as a JSON string.
func reservedConcurrency(v any) (map[string]int, error) {
	out := maps.Clone(DefaultReservedConcurrency)
	switch x := v.(type) {
	case nil:
		return out, nil
	case bool:
		if !x {
			return map[string]int{}, nil
		}
		return out, nil
	case string:
		if strings.EqualFold(strings.TrimSpace(x), offValue) {
			return map[string]int{}, nil
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(x), &m); err != nil {
			return nil, fmt.Errorf("%q is neither %q nor a JSON object of function name to number", x, offValue)
		}
		v = m
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%v (%T) is neither %q nor an object of function name to number", v, v, offValue)
	}
	total := 0
	for name, raw := range m {
		if _, ok := DefaultReservedConcurrency[name]; !ok {
			return nil, fmt.Errorf("%q is not a function of the paging path (%s)", name, strings.Join(slices.Sorted(maps.Keys(DefaultReservedConcurrency)), ", "))
		}
		n, err := contextInt(raw, 0)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if n < 1 {
			// Lambda reads 0 as "never run this function".
			return nil, fmt.Errorf("%s: %d would stop the function; give at least 1, or %q for no reservations", name, n, offValue)
		}
		out[name] = n
	}
	for _, n := range out {
		total += n
	}
	if total > MaxReservedConcurrency {
		return nil, fmt.Errorf("%d reserved in all, more than %d: the account's other functions would be starved", total, MaxReservedConcurrency)
	}
	return out, nil
}

// scheduleExpression is an EventBridge schedule expression.
var scheduleExpression = regexp.MustCompile(`^(cron|rate)\([^()]+\)$`)

// fireDrillSchedule reads the drill's schedule; "off" gives "".
func fireDrillSchedule(v any) (string, error) {
	s, err := contextString(v)
	if err != nil {
		return "", err
	}
	switch s = strings.TrimSpace(s); {
	case s == "":
		return DefaultFireDrillSchedule, nil
	case strings.EqualFold(s, offValue):
		return "", nil
	case !scheduleExpression.MatchString(s):
		return "", fmt.Errorf("%q is not an EventBridge schedule expression, e.g. %s or rate(7 days), or %q", s, DefaultFireDrillSchedule, offValue)
	}
	return s, nil
}
