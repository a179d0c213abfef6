package comms

import (
	"context"
	"errors"
	"fmt"
	"html"
	"slices"

	"github.com/dashboarduz/incident-response/shared/awserr"
	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/notify"
	"github.com/dashboarduz/incident-response/shared/ses"
)

// EmailSender sends one email; *ses.Sender implements it.
type EmailSender interface {
	Send(ctx context.Context, e ses.Email) (string, error)
}

// DefaultEmailSeverities are the severities stakeholders hear of by email.
var DefaultEmailSeverities = []incident.Severity{incident.P0, incident.P1}

// EmailChannel tells stakeholders by email, from the same templates as
// Slack: incidents of the configured severities (P0 and P1 by default)
// at open, at each status update marked public, and at resolution.
// Internal chatter (pages, breaches, triage) stays in Slack.
type EmailChannel struct {
	Sender EmailSender
	// To are the stakeholders' addresses, at most ses.MaxRecipients.
	To []string
	// Severities are those emailed about; nil means
	// DefaultEmailSeverities.
	Severities []incident.Severity
	Builder    *notify.Builder
}

// EmailChannelName is the email channel's name in the ledger.
const EmailChannelName = "email"

// Name returns "email".
func (c *EmailChannel) Name() string { return EmailChannelName }

// Announces reports whether stakeholders hear of e: the incident's
// severity is one emailed about, and e opens it, is a public status
// update, or resolves it.
func (c *EmailChannel) Announces(inc incident.Incident, e incident.Entry) bool {
	sevs := c.Severities
	if sevs == nil {
		sevs = DefaultEmailSeverities
	}
	if !slices.Contains(sevs, inc.Severity) {
		return false
	}
	switch k, _ := notify.KindOf(e); k {
	case notify.KindAlert, notify.KindResolution:
		return true
	case notify.KindStatusUpdate:
		return e.Data[incident.DataPublic] == "true"
	}
	return false
}

// Reminds reports false: post-mortem reminders are for the responders.
func (c *EmailChannel) Reminds(incident.Incident) bool { return false }

// Send emails the message of one entry, as plain text with an HTML copy.
func (c *EmailChannel) Send(ctx context.Context, m Message) (Outcome, error) {
	if m.Entry == nil {
		return Outcome{}, &PermanentError{Err: fmt.Errorf("email: no entry to announce for %s", m.Incident.ID)}
	}
	kind, _ := notify.KindOf(*m.Entry)
	f := notify.Facts{Entry: m.Entry}
	if kind == notify.KindAlert {
		f.Entry = nil
	}
	msg, err := c.Builder.Message(ctx, kind, m.Incident, m.Timeline, f)
	if err != nil {
		return Outcome{}, &PermanentError{Err: err}
	}
	_, err = c.Sender.Send(ctx, ses.Email{To: c.To, Subject: msg.Summary, Text: msg.Text, HTML: htmlBody(msg.Text)})
	var rejected *awserr.AWSRejectedError
	if incident.ErrorCode(err) == incident.EInvalid && !errors.As(err, &rejected) {
		// The sender refused the message before sending it (no
		// recipient, a malformed address): no retry cures that. SES's
		// own refusals are retried: a person may verify the sender or
		// fix the role meanwhile.
		return Outcome{}, &PermanentError{Err: err}
	}
	return Outcome{}, err
}

// htmlBody is the text as HTML that keeps its lines, for mail readers
// that show HTML only.
func htmlBody(text string) string {
	return "<html><body><pre style=\"font-family: sans-serif; white-space: pre-wrap\">" + html.EscapeString(text) + "</pre></body></html>"
}
