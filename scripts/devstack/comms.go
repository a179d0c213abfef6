package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"github.com/dashboarduz/incident-response/shared/api"
	"github.com/dashboarduz/incident-response/shared/comms"
	"github.com/dashboarduz/incident-response/shared/local/pagerdutylocal"
	"github.com/dashboarduz/incident-response/shared/local/slacklocal"
	"github.com/dashboarduz/incident-response/shared/slack"
)

// The local stack's Slack app, PagerDuty REST API key and email settings.
// Messages go to the stack's own stand-ins: slacklocal for Slack,
// pagerdutylocal's GET /oncalls for who is on call, awslocal for SES.
const (
	LocalSlackToken = "xoxb-devstack-local-token"
	// DefaultSlackSigningSecret signs the Slack requests sent to the
	// local API (POST /webhooks/slack).
	DefaultSlackSigningSecret = "devstack-slack-signing-secret"
	LocalPagerDutyAPIKey      = "devstack-pagerduty-rest-key"
	LocalEmailFrom            = "Dashboarduz Incidents <incidents@dashboarduz.local>"
	LocalStakeholders         = "stakeholders@dashboarduz.local"
)

// LocalPerson is someone of the local roster: on call for an escalation
// level in the local PagerDuty, and a Slack user of the local workspace.
type LocalPerson struct {
	Level       string
	Name        string
	Email       string
	SlackUserID string
}

// LocalPeople is the local roster, one person per level of the runbook's
// path, and the responder scenario calls are made as.
var LocalPeople = []LocalPerson{
	{Level: "on-call", Name: "Dana Whitfield", Email: "dana@dashboarduz.local", SlackUserID: "U0DANA001"},
	{Level: "team-lead", Name: "Omar Haddad", Email: "omar@dashboarduz.local", SlackUserID: "U0OMAR001"},
	{Level: "engineering-manager", Name: "Priya Raman", Email: "priya@dashboarduz.local", SlackUserID: "U0PRIYA01"},
	{Level: "cto", Name: "Lena Park", Email: "lena@dashboarduz.local", SlackUserID: "U0LENA001"},
	{Name: "Local Responder", Email: Responder.Email, SlackUserID: "U0RESPOND"},
}

// escalationPolicyID is the local PagerDuty escalation policy of a level.
func escalationPolicyID(level string) string {
	return "PLOCAL" + strings.ToUpper(strings.ReplaceAll(level, "-", ""))
}

// startComms starts the local Slack and fills the local roster, for the
// Notify task and the API's Slack webhook; Notify emails through the AWS
// stand-in's SES (see startRunbook).
func (s *Stack) startComms(pd *pagerdutylocal.Server) error {
	var err error
	if s.Slack, err = slacklocal.Start(slacklocal.Options{Clock: s.Clock, Token: LocalSlackToken}); err != nil {
		return err
	}
	s.closers = append(s.closers, func() error { s.Slack.Close(); return nil })
	var roster []pagerdutylocal.OnCall
	var responders []slack.Responder
	for _, p := range LocalPeople {
		responders = append(responders, slack.Responder{SlackUserID: p.SlackUserID, Email: p.Email, Name: p.Name, Role: "responder"})
		if _, ok := s.Policy.Level(s.Policy.LevelNumber(p.Level)); ok && p.Level != "" {
			roster = append(roster, pagerdutylocal.OnCall{EscalationPolicyID: escalationPolicyID(p.Level), EscalationPolicyName: p.Level, Level: 1,
				UserID: "P" + p.SlackUserID[2:], UserName: p.Name, UserEmail: p.Email})
		}
	}
	pd.SetOnCalls(roster)
	pd.SetAPIToken(LocalPagerDutyAPIKey)
	if s.Directory, err = slack.NewDirectory(responders...); err != nil {
		return err
	}
	s.pagerDutyREST = pd.URL
	return nil
}

// commsChannels are the Notify task's channels, built as the notify
// function builds them, against the stand-ins.
func (s *Stack) commsChannels() ([]comms.Channel, error) {
	policies := map[string]string{}
	for _, l := range s.Policy.Levels {
		policies[l.Name] = escalationPolicyID(l.Name)
	}
	settings := comms.Settings{
		SlackSecret: "local", SlackAPIURL: s.Slack.URL, Directory: s.Directory,
		EscalationPolicies: policies, PagerDutyAPIURL: s.pagerDutyREST,
		EmailFrom: LocalEmailFrom, EmailTo: []string{LocalStakeholders},
		IncidentURLBase: "http://127.0.0.1:8080",
	}
	return comms.NewChannels(settings, comms.Deps{
		SlackTokens:  staticToken(LocalSlackToken),
		PagerDutyKey: func(context.Context) (string, error) { return LocalPagerDutyAPIKey, nil },
		SES:          sesv2.NewFromConfig(s.AWS.AWSConfig()),
		Clock:        s.Clock,
		Policy:       s.Policy,
	})
}

// slackConfig is the API's Slack webhook against the stand-in.
func (s *Stack) slackConfig() *api.SlackConfig {
	return &api.SlackConfig{
		Inbound: &slack.Inbound{
			Verifier:  &slack.Verifier{Secrets: slack.StaticSecrets{DefaultSlackSigningSecret}, Clock: s.Clock},
			Directory: s.Directory,
			TeamID:    slacklocal.TeamID,
		},
		Responder: slack.New(slack.NewAPI(LocalSlackToken, slack.ClientOptions{APIURL: s.Slack.URL}),
			slack.Options{ResponseURLPrefixes: []string{s.Slack.URL + "response/"}}),
	}
}

type staticToken string

func (t staticToken) SlackBotToken(context.Context) (string, error) { return string(t), nil }

// PrintMessages writes every Slack message posted, channel by channel as
// people read them, then every email sent.
func (s *Stack) PrintMessages(w io.Writer) error {
	msgs := s.Slack.Messages()
	fmt.Fprintf(w, "Slack: %s posted.\n", plural(len(msgs), "message"))
	for _, ch := range s.Slack.Channels() {
		has := false
		for _, m := range msgs {
			has = has || m.Channel == ch.ID
		}
		if !has {
			continue
		}
		fmt.Fprintln(w)
		if err := s.Slack.Transcript(w, ch.ID, time.UTC); err != nil {
			return err
		}
	}
	emails := s.AWS.World().Emails
	fmt.Fprintf(w, "Email: %s sent.\n", plural(len(emails), "message"))
	for _, e := range emails {
		fmt.Fprintf(w, "\n%s  to %s\n", e.SentAt.UTC().Format("2006-01-02 15:04:05Z"), strings.Join(append(append(e.To, e.Cc...), e.Bcc...), ", "))
		fmt.Fprintf(w, "  Subject: %s\n", e.Subject)
		for _, l := range strings.Split(strings.TrimRight(e.Text, "\n"), "\n") {
			fmt.Fprintf(w, "  | %s\n", l)
		}
	}
	fmt.Fprintln(w)
	return nil
}

// sentMessages counts the Slack messages and emails sent, for the summary.
func (s *Stack) sentMessages() (slackMessages, emails int) {
	return len(s.Slack.Messages()), len(s.AWS.World().Emails)
}
