// Package ses adapts Amazon SES v2 to stakeholder email: it sends one
// message (subject, text body, optional HTML body) to a list of
// addresses from the configured sender.
//
// SES SendEmail takes no idempotency token: a retried send is a second
// email. Exactly-once rests on the caller's ledger, which claims each
// notification before sending it.
package ses

import (
	"context"
	"fmt"
	"net/mail"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"

	"github.com/dashboarduz/incident-response/shared/awserr"
	"github.com/dashboarduz/incident-response/shared/incident"
)

// MaxRecipients is the most recipients SES takes in one message.
const MaxRecipients = 50

// SendEmailAPI is the part of the SES v2 client the sender uses;
// *sesv2.Client satisfies it.
type SendEmailAPI interface {
	SendEmail(ctx context.Context, params *sesv2.SendEmailInput, optFns ...func(*sesv2.Options)) (*sesv2.SendEmailOutput, error)
}

// Sender sends email from one address.
type Sender struct {
	api  SendEmailAPI
	from string
}

// NewSender returns a Sender that sends from from (an address, optionally
// with a display name: "Incidents <incidents@example.com>"). A malformed
// sender is invalid, so bad configuration fails at start.
func NewSender(api SendEmailAPI, from string) (*Sender, error) {
	if _, err := mail.ParseAddress(from); err != nil {
		return nil, incident.FieldErrorf("from", "the sender %q is not an email address: %v", from, err)
	}
	return &Sender{api: api, from: from}, nil
}

// Email is one message.
type Email struct {
	// To are the recipients, every one seeing the others.
	To []string
	// Bcc are recipients the others do not see.
	Bcc     []string
	Subject string
	Text    string
	// HTML is an optional HTML body, sent beside Text.
	HTML string
}

// Send sends e and returns SES's message ID.
func (s *Sender) Send(ctx context.Context, e Email) (string, error) {
	if err := check(e); err != nil {
		return "", err
	}
	body := &types.Body{Text: content(e.Text)}
	if e.HTML != "" {
		body.Html = content(e.HTML)
	}
	out, err := s.api.SendEmail(ctx, &sesv2.SendEmailInput{
		FromEmailAddress: &s.from,
		Destination:      &types.Destination{ToAddresses: e.To, BccAddresses: e.Bcc},
		Content:          &types.EmailContent{Simple: &types.Message{Subject: content(e.Subject), Body: body}},
	})
	if err != nil {
		return "", awserr.Classify("SES", "SendEmail", fmt.Sprintf("email %q", e.Subject), err)
	}
	return aws.ToString(out.MessageId), nil
}

func content(s string) *types.Content {
	return &types.Content{Data: aws.String(s), Charset: aws.String("UTF-8")}
}

// check refuses a message SES would refuse, before sending it.
func check(e Email) error {
	n := len(e.To) + len(e.Bcc)
	switch {
	case n == 0:
		return incident.FieldErrorf("to", "an email needs at least one recipient")
	case n > MaxRecipients:
		return incident.FieldErrorf("to", "an email takes at most %d recipients, not %d", MaxRecipients, n)
	case strings.TrimSpace(e.Subject) == "":
		return incident.FieldErrorf("subject", "an email needs a subject")
	case strings.TrimSpace(e.Text) == "":
		return incident.FieldErrorf("text", "an email needs a text body")
	}
	for _, a := range append(append([]string{}, e.To...), e.Bcc...) {
		if _, err := mail.ParseAddress(a); err != nil {
			return incident.FieldErrorf("to", "%q is not an email address", a)
		}
	}
	return nil
}
