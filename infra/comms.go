package main

import (
	"encoding/json"
	"fmt"
	"net/mail"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/dashboarduz/incident-response/shared/comms"
	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/slack"
)

// Context keys of the incident's communication: Slack, the PagerDuty REST
// API that names who is on call, and stakeholder email. Every one is
// optional: without slackSecretName Slack is off, without emailFrom email
// is off, and the Notify task then only drains its queue.
const (
	// ContextSlackSecretName names the Secrets Manager secret holding the
	// Slack app's bot token and signing secret, a JSON object
	// {"botToken": "xoxb-...", "signingSecret": "..."}; the team manages
	// it, the stack only imports it.
	ContextSlackSecretName = "slackSecretName"
	// ContextSlackChannel is where alerts are posted (#incidents).
	ContextSlackChannel = "slackChannel"
	// ContextSlackOwnChannelSeverities lists the severities that get a
	// Slack channel of their own ("P0"; "none" for none).
	ContextSlackOwnChannelSeverities = "slackOwnChannelSeverities"
	// ContextSlackUserDirectory maps Slack user IDs to responders: a JSON
	// object {"U024BE7LH": {"email": ..., "name": ..., "role": ...}}.
	ContextSlackUserDirectory = "slackUserDirectory"
	// ContextSlackTeamID, when set, is the only Slack workspace whose
	// users may act.
	ContextSlackTeamID = "slackTeamId"
	// ContextPagerDutyAPIKeySecretName names the secret holding a
	// PagerDuty REST API key (read-only is enough), to name who is on
	// call.
	ContextPagerDutyAPIKeySecretName = "pagerDutyApiKeySecretName"
	// ContextPagerDutyEscalationPolicies maps each escalation level to
	// the ID of its PagerDuty service's escalation policy (JSON object).
	ContextPagerDutyEscalationPolicies = "pagerDutyEscalationPolicies"
	// ContextEmailFrom is the stakeholder email's sender, a verified SES
	// identity's address.
	ContextEmailFrom = "emailFrom"
	// ContextEmailRecipients lists the stakeholders' addresses (a list,
	// or one comma-separated string).
	ContextEmailRecipients = "emailRecipients"
	// ContextEmailSeverities lists the severities emailed about (P0, P1).
	ContextEmailSeverities = "emailSeverities"
	// ContextEmailIdentity is the SES identity the Notify function may
	// send as: a domain or an address; the sender's domain by default.
	ContextEmailIdentity = "emailIdentity"
)

// DefaultSlackChannel is where alerts go unless slackChannel says.
const DefaultSlackChannel = slack.DefaultChannel

// CommsConfig is what the stack takes from CDK context for the incident's
// communication.
type CommsConfig struct {
	// SlackSecretName and PagerDutyKeySecret name the imported Slack app
	// and PagerDuty REST API key secrets; empty when not configured.
	SlackSecretName    string
	PagerDutyKeySecret string
	// EmailIdentity is the SES identity the Notify function sends as:
	// emailIdentity, or the sender's domain when email is on.
	EmailIdentity string
	// NotifyEnv and APIEnv are the functions' environments, checked at
	// synthesis as the functions check them at cold start.
	NotifyEnv, APIEnv map[string]string
	// emailOn says the settings send stakeholder email.
	emailOn bool
}

// CommsConfigFromContext reads the communication settings. policy is the
// escalation policy document in use ("" for the default), whose levels the
// PagerDuty escalation policies must name.
func CommsConfigFromContext(scope constructs.Construct, policy string) (CommsConfig, error) {
	get := func(key string) any { return scope.Node().TryGetContext(jsii.String(key)) }
	var cfg CommsConfig
	var channel, teamID, emailFrom string
	for key, dst := range map[string]*string{
		ContextSlackSecretName: &cfg.SlackSecretName, ContextSlackChannel: &channel, ContextSlackTeamID: &teamID,
		ContextPagerDutyAPIKeySecretName: &cfg.PagerDutyKeySecret, ContextEmailFrom: &emailFrom, ContextEmailIdentity: &cfg.EmailIdentity,
	} {
		v, err := contextString(get(key))
		if err != nil {
			return CommsConfig{}, fmt.Errorf("context %s: %w", key, err)
		}
		*dst = strings.TrimSpace(v)
	}
	for _, n := range []struct{ key, name string }{{ContextSlackSecretName, cfg.SlackSecretName}, {ContextPagerDutyAPIKeySecretName, cfg.PagerDutyKeySecret}} {
		if n.name != "" && !secretNamePattern.MatchString(n.name) {
			return CommsConfig{}, fmt.Errorf("context %s: %q is not a Secrets Manager secret name", n.key, n.name)
		}
	}
	lists := map[string]string{}
	for _, key := range []string{ContextSlackOwnChannelSeverities, ContextEmailRecipients, ContextEmailSeverities} {
		l, err := contextStrings(get(key))
		if err != nil {
			return CommsConfig{}, fmt.Errorf("context %s: %w", key, err)
		}
		lists[key] = strings.Join(l, ",")
	}
	docs := map[string]string{}
	for _, key := range []string{ContextSlackUserDirectory, ContextPagerDutyEscalationPolicies} {
		d, err := contextJSON(get(key))
		if err != nil {
			return CommsConfig{}, fmt.Errorf("context %s: %w", key, err)
		}
		docs[key] = d
	}
	if channel == "" {
		channel = DefaultSlackChannel
	}
	notify := map[string]string{
		comms.EnvSlackChannel:                channel,
		comms.EnvSlackOwnChannelSeverities:   lists[ContextSlackOwnChannelSeverities],
		comms.EnvSlackUserDirectory:          docs[ContextSlackUserDirectory],
		comms.EnvPagerDutyEscalationPolicies: docs[ContextPagerDutyEscalationPolicies],
		comms.EnvEmailFrom:                   emailFrom,
		comms.EnvEmailTo:                     lists[ContextEmailRecipients],
		comms.EnvEmailSeverities:             lists[ContextEmailSeverities],
	}
	// The secrets' ARNs are tokens at synthesis; a stand-in checks the rest.
	if cfg.SlackSecretName != "" {
		notify[comms.EnvSlackSecretArn] = "arn"
	}
	if err := cfg.check(notify, policy); err != nil {
		return CommsConfig{}, err
	}
	delete(notify, comms.EnvSlackSecretArn)
	cfg.NotifyEnv = dropEmpty(notify)
	cfg.APIEnv = dropEmpty(map[string]string{slack.EnvUserDirectory: docs[ContextSlackUserDirectory], slack.EnvTeamID: teamID})
	return cfg, nil
}

// check reads the environment as the Notify function will, so a setting
// it would refuse at cold start fails synthesis instead.
func (cfg *CommsConfig) check(env map[string]string, policy string) error {
	p := incident.DefaultPolicy()
	if policy != "" {
		var err error
		if p, err = incident.ParsePolicy([]byte(policy)); err != nil {
			return err
		}
	}
	s, err := comms.SettingsFromEnv(func(k string) string { return env[k] }, p)
	if err != nil {
		return fmt.Errorf("communication settings: %w", err)
	}
	cfg.emailOn = s.EmailOn()
	if cfg.emailOn && cfg.EmailIdentity == "" {
		a, _ := mail.ParseAddress(s.EmailFrom)
		_, cfg.EmailIdentity, _ = strings.Cut(a.Address, "@")
	}
	if cfg.PagerDutyKeySecret != "" && len(s.EscalationPolicies) == 0 {
		return fmt.Errorf("context %s is set but %s maps no level to an escalation policy: nobody could be named", ContextPagerDutyAPIKeySecretName, ContextPagerDutyEscalationPolicies)
	}
	return nil
}

// contextJSON reads a JSON document given as an object (cdk.json) or as
// its text (-c key='{...}').
func contextJSON(v any) (string, error) {
	switch x := v.(type) {
	case nil:
		return "", nil
	case string:
		x = strings.TrimSpace(x)
		if x != "" && !json.Valid([]byte(x)) {
			return "", fmt.Errorf("%q is not JSON", x)
		}
		return x, nil
	default:
		b, err := json.Marshal(x)
		if err != nil {
			return "", err
		}
		return string(b), nil
	}
}

func dropEmpty(m map[string]string) map[string]string {
	for k, v := range m {
		if v == "" {
			delete(m, k)
		}
	}
	return m
}

// CommsProps configures Comms.
type CommsProps struct {
	// Config is the communication settings from CDK context.
	Config CommsConfig
	// Notify announces incidents; API takes Slack's requests.
	Notify awslambda.Function
	API    awslambda.Function
	// IncidentURLBase, when set, is the base of incident links in
	// messages.
	IncidentURLBase string
}

// Comms gives the Notify and api functions their communication settings
// and exactly the permissions they need: GetSecretValue on the Slack and
// PagerDuty REST secrets, SendEmail as the configured SES identity.
type Comms struct {
	constructs.Construct
	// SlackSecret and PagerDutyKey are the imported secrets, nil when not
	// configured.
	SlackSecret  awssecretsmanager.ISecret
	PagerDutyKey awssecretsmanager.ISecret
}

// NewComms wires the communication settings into the functions.
func NewComms(scope constructs.Construct, id string, props *CommsProps) *Comms {
	c := constructs.NewConstruct(scope, jsii.String(id))
	out := &Comms{Construct: c}
	cfg := props.Config
	for k, v := range cfg.NotifyEnv {
		props.Notify.AddEnvironment(jsii.String(k), jsii.String(v), nil)
	}
	if props.IncidentURLBase != "" {
		props.Notify.AddEnvironment(jsii.String(comms.EnvIncidentURLBase), jsii.String(props.IncidentURLBase), nil)
	}
	if cfg.SlackSecretName != "" {
		// Imported by name, like the routing keys: the team stores the
		// app's token and signing secret; the stack only reads them.
		out.SlackSecret = awssecretsmanager.Secret_FromSecretNameV2(c, jsii.String("SlackSecret"), jsii.String(cfg.SlackSecretName))
		for _, fn := range []awslambda.Function{props.Notify, props.API} {
			fn.AddEnvironment(jsii.String(comms.EnvSlackSecretArn), out.SlackSecret.SecretArn(), nil)
			grantSecretValue(fn, out.SlackSecret)
		}
		for k, v := range cfg.APIEnv {
			props.API.AddEnvironment(jsii.String(k), jsii.String(v), nil)
		}
	}
	if cfg.PagerDutyKeySecret != "" {
		out.PagerDutyKey = awssecretsmanager.Secret_FromSecretNameV2(c, jsii.String("PagerDutyApiKey"), jsii.String(cfg.PagerDutyKeySecret))
		props.Notify.AddEnvironment(jsii.String(comms.EnvPagerDutyAPIKeySecretArn), out.PagerDutyKey.SecretArn(), nil)
		grantSecretValue(props.Notify, out.PagerDutyKey)
	}
	if cfg.emailOn {
		stack := awscdk.Stack_Of(c)
		awsiam.Grant_AddToPrincipal(&awsiam.GrantOnPrincipalOptions{
			Grantee: props.Notify,
			Actions: jsii.Strings("ses:SendEmail"),
			ResourceArns: jsii.Strings(*stack.FormatArn(&awscdk.ArnComponents{
				Service: jsii.String("ses"), Resource: jsii.String("identity"), ResourceName: jsii.String(cfg.EmailIdentity),
			})),
		})
	}
	return out
}

// grantSecretValue lets fn read secret's value, and nothing else:
// Secret.GrantRead would add DescribeSecret. The secret is imported by
// name, so its ARN lacks Secrets Manager's random suffix.
func grantSecretValue(fn awslambda.Function, secret awssecretsmanager.ISecret) {
	awsiam.Grant_AddToPrincipal(&awsiam.GrantOnPrincipalOptions{
		Grantee:      fn,
		Actions:      jsii.Strings("secretsmanager:GetSecretValue"),
		ResourceArns: jsii.Strings(*secret.SecretArn() + secretSuffixPattern),
	})
}
