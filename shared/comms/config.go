package comms

import (
	"context"
	"encoding/json"
	"fmt"
	"net/mail"
	"slices"
	"strings"

	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/notify"
	"github.com/dashboarduz/incident-response/shared/pagerduty"
	"github.com/dashboarduz/incident-response/shared/ses"
	"github.com/dashboarduz/incident-response/shared/slack"
)

// The environment variables of the Notify function. Every one is
// optional: a channel whose settings are missing is off, and the task
// then only takes the announcements off the queue.
const (
	// EnvSlackSecretArn names the Slack app's secret ({"botToken",
	// "signingSecret"}); unset turns Slack off.
	EnvSlackSecretArn = slack.EnvSecretArn
	// EnvSlackChannel is where alerts go; unset means #incidents.
	EnvSlackChannel = "SLACK_CHANNEL"
	// EnvSlackOwnChannelSeverities lists the severities that get a
	// channel of their own, e.g. "P0,P1"; unset means P0, "none" none.
	EnvSlackOwnChannelSeverities = "SLACK_OWN_CHANNEL_SEVERITIES"
	// EnvSlackUserDirectory maps Slack user IDs to responders (JSON, see
	// slack.ParseDirectory): who may act from Slack, and whom to invite.
	EnvSlackUserDirectory = slack.EnvUserDirectory
	// EnvSlackAPIURL points the Web API client elsewhere than Slack (a
	// local stand-in).
	EnvSlackAPIURL = slack.EnvAPIURL
	// EnvPagerDutyAPIKeySecretArn names the secret with a PagerDuty REST
	// API key (read-only is enough), to name who is on call.
	EnvPagerDutyAPIKeySecretArn = "PAGERDUTY_API_KEY_SECRET_ARN"
	// EnvPagerDutyEscalationPolicies maps each escalation level to its
	// PagerDuty service's escalation policy ID (JSON object).
	EnvPagerDutyEscalationPolicies = "PAGERDUTY_ESCALATION_POLICIES"
	// EnvPagerDutyAPIURL points the REST client elsewhere than PagerDuty.
	EnvPagerDutyAPIURL = "PAGERDUTY_API_URL"
	// EnvEmailFrom is the stakeholder email's sender, an SES identity;
	// unset turns email off.
	EnvEmailFrom = "EMAIL_FROM"
	// EnvEmailTo lists the stakeholders' addresses, comma-separated.
	EnvEmailTo = "EMAIL_TO"
	// EnvEmailSeverities lists the severities emailed about; unset means
	// P0,P1.
	EnvEmailSeverities = "EMAIL_SEVERITIES"
	// EnvIncidentURLBase is the base of incident links in messages.
	EnvIncidentURLBase = "INCIDENT_URL_BASE"
)

// Settings are the Notify task's settings, read and checked at cold
// start.
type Settings struct {
	SlackSecret  string
	SlackChannel string
	// OwnChannelFor: nil means P0 only; empty, none.
	OwnChannelFor []incident.Severity
	Directory     slack.Directory
	SlackAPIURL   string

	PagerDutyKeySecret string
	EscalationPolicies map[string]string
	PagerDutyAPIURL    string

	EmailFrom       string
	EmailTo         []string
	EmailSeverities []incident.Severity

	IncidentURLBase string
}

// SettingsFromEnv reads the settings through getenv (os.Getenv) and
// checks them against the escalation policy, so a typo fails the start,
// not a message.
func SettingsFromEnv(getenv func(string) string, policy incident.Policy) (Settings, error) {
	s := Settings{
		SlackSecret:        strings.TrimSpace(getenv(EnvSlackSecretArn)),
		SlackChannel:       strings.TrimSpace(getenv(EnvSlackChannel)),
		SlackAPIURL:        strings.TrimSpace(getenv(EnvSlackAPIURL)),
		PagerDutyKeySecret: strings.TrimSpace(getenv(EnvPagerDutyAPIKeySecretArn)),
		PagerDutyAPIURL:    strings.TrimSpace(getenv(EnvPagerDutyAPIURL)),
		EmailFrom:          strings.TrimSpace(getenv(EnvEmailFrom)),
		IncidentURLBase:    strings.TrimSuffix(strings.TrimSpace(getenv(EnvIncidentURLBase)), "/"),
	}
	var err error
	if v := strings.TrimSpace(getenv(EnvSlackOwnChannelSeverities)); v != "" {
		if s.OwnChannelFor, err = ParseSeverities(v); err != nil {
			return Settings{}, fmt.Errorf("%s: %w", EnvSlackOwnChannelSeverities, err)
		}
	}
	if v := strings.TrimSpace(getenv(EnvSlackUserDirectory)); v != "" {
		if s.Directory, err = slack.ParseDirectory([]byte(v)); err != nil {
			return Settings{}, fmt.Errorf("%s: %w", EnvSlackUserDirectory, err)
		}
	}
	if s.EscalationPolicies, err = parsePolicies(getenv(EnvPagerDutyEscalationPolicies), policy); err != nil {
		return Settings{}, fmt.Errorf("%s: %w", EnvPagerDutyEscalationPolicies, err)
	}
	if err := s.readEmail(getenv); err != nil {
		return Settings{}, err
	}
	return s, nil
}

func (s *Settings) readEmail(getenv func(string) string) error {
	for _, a := range strings.Split(getenv(EnvEmailTo), ",") {
		if a = strings.TrimSpace(a); a != "" {
			if _, err := mail.ParseAddress(a); err != nil {
				return fmt.Errorf("%s: %q is not an email address", EnvEmailTo, a)
			}
			s.EmailTo = append(s.EmailTo, a)
		}
	}
	switch {
	case s.EmailFrom == "" && len(s.EmailTo) > 0:
		return fmt.Errorf("%s lists recipients but %s names no sender", EnvEmailTo, EnvEmailFrom)
	case s.EmailFrom != "" && len(s.EmailTo) == 0:
		return fmt.Errorf("%s names a sender but %s lists no recipients", EnvEmailFrom, EnvEmailTo)
	case len(s.EmailTo) > ses.MaxRecipients:
		return fmt.Errorf("%s lists %d recipients; SES takes at most %d (use a list address)", EnvEmailTo, len(s.EmailTo), ses.MaxRecipients)
	}
	if s.EmailFrom != "" {
		if _, err := mail.ParseAddress(s.EmailFrom); err != nil {
			return fmt.Errorf("%s: %q is not an email address", EnvEmailFrom, s.EmailFrom)
		}
	}
	if v := strings.TrimSpace(getenv(EnvEmailSeverities)); v != "" {
		sevs, err := ParseSeverities(v)
		if err != nil {
			return fmt.Errorf("%s: %w", EnvEmailSeverities, err)
		}
		s.EmailSeverities = sevs
	}
	return nil
}

// ParseSeverities reads a comma-separated list of severities; "none" is
// the empty list.
func ParseSeverities(v string) ([]incident.Severity, error) {
	out := []incident.Severity{}
	if strings.EqualFold(strings.TrimSpace(v), "none") {
		return out, nil
	}
	for _, f := range strings.Split(v, ",") {
		sev, err := incident.ParseSeverity(strings.ToUpper(strings.TrimSpace(f)))
		if err != nil {
			return nil, err
		}
		if !slices.Contains(out, sev) {
			out = append(out, sev)
		}
	}
	return out, nil
}

// parsePolicies reads the level to escalation policy map; every key must
// be a level of the policy.
func parsePolicies(v string, policy incident.Policy) (map[string]string, error) {
	if strings.TrimSpace(v) == "" {
		return nil, nil
	}
	var m map[string]string
	if err := json.Unmarshal([]byte(v), &m); err != nil {
		return nil, fmt.Errorf("not a JSON object of level names to escalation policy IDs: %v", err)
	}
	for level, id := range m {
		if policy.LevelNumber(level) == 0 {
			return nil, fmt.Errorf("%q is not a level of the escalation policy", level)
		}
		if strings.TrimSpace(id) == "" {
			return nil, fmt.Errorf("level %q has no escalation policy ID", level)
		}
	}
	return m, nil
}

// SlackOn reports whether Slack is configured.
func (s Settings) SlackOn() bool { return s.SlackSecret != "" }

// EmailOn reports whether stakeholder email is configured.
func (s Settings) EmailOn() bool { return s.EmailFrom != "" && len(s.EmailTo) > 0 }

// Deps are the clients the channels use; Slack and PagerDuty's secrets
// are read through them when first needed.
type Deps struct {
	// SlackTokens gives the bot token; required when Slack is on.
	SlackTokens slack.TokenSource
	// PagerDutyKey gives the REST API key; nil names levels by title.
	PagerDutyKey func(ctx context.Context) (string, error)
	// SES sends email; required when email is on.
	SES   ses.SendEmailAPI
	Clock incident.Clock
	// Policy is the escalation policy (levels' names and titles).
	Policy incident.Policy
	// SlackOptions are extra notifier options (tests set Sleep).
	SlackOptions slack.Options
}

// NewChannels builds the configured channels: none, either or both.
func NewChannels(s Settings, d Deps) ([]Channel, error) {
	b := &notify.Builder{Policy: d.Policy, Clock: d.Clock}
	if s.IncidentURLBase != "" {
		b.IncidentURL = func(id string) string { return s.IncidentURLBase + "/incidents/" + id }
	}
	var finder *pagerduty.OnCallFinder
	if d.PagerDutyKey != nil && len(s.EscalationPolicies) > 0 {
		finder = &pagerduty.OnCallFinder{API: &pagerduty.KeyedOnCallAPI{Key: d.PagerDutyKey, Endpoint: s.PagerDutyAPIURL}, Policies: s.EscalationPolicies, Clock: d.Clock}
		b.OnCall = finder
	}
	var out []Channel
	if s.SlackOn() {
		if d.SlackTokens == nil {
			return nil, fmt.Errorf("slack is configured but nothing reads its secret")
		}
		opts := d.SlackOptions
		opts.Channel, opts.OwnChannelFor = s.SlackChannel, s.OwnChannelFor
		src := &slack.NotifierSource{Tokens: d.SlackTokens, Client: slack.ClientOptions{APIURL: s.SlackAPIURL}, Options: opts}
		ch := &SlackChannel{
			Connect:   func(ctx context.Context) (SlackNotifier, error) { return src.Notifier(ctx) },
			Forget:    src.Forget,
			Builder:   b,
			Directory: s.Directory,
		}
		if finder != nil {
			ch.OnCall = finder
		}
		out = append(out, ch)
	}
	if s.EmailOn() {
		if d.SES == nil {
			return nil, fmt.Errorf("email is configured but there is no SES client")
		}
		sender, err := ses.NewSender(d.SES, s.EmailFrom)
		if err != nil {
			return nil, err
		}
		out = append(out, &EmailChannel{Sender: sender, To: s.EmailTo, Severities: s.EmailSeverities, Builder: b})
	}
	return out, nil
}
