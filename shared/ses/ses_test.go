package ses_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"github.com/dashboarduz/incident-response/shared/awserr"
	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/local/awslocal"
	"github.com/dashboarduz/incident-response/shared/ses"
)

func start(t *testing.T) (*awslocal.Server, *ses.Sender) {
	t.Helper()
	srv, err := awslocal.Start(awslocal.Options{World: awslocal.World{VerifiedIdentities: []string{"dashboarduz.example"}}, Hold: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	s, err := ses.NewSender(sesv2.NewFromConfig(srv.AWSConfig()), "Dashboarduz incidents <incidents@dashboarduz.example>")
	if err != nil {
		t.Fatal(err)
	}
	return srv, s
}

func TestSend(t *testing.T) {
	srv, s := start(t)
	id, err := s.Send(context.Background(), ses.Email{
		To: []string{"cto@dashboarduz.example", "support@dashboarduz.example"}, Bcc: []string{"board@dashboarduz.example"},
		Subject: "[P0] API outage", Text: "We are investigating.", HTML: "<p>We are investigating.</p>",
	})
	if err != nil {
		t.Fatal(err)
	}
	emails := srv.World().Emails
	if len(emails) != 1 || emails[0].MessageID != id || id == "" {
		t.Fatalf("emails = %+v, id %q", emails, id)
	}
	e := emails[0]
	if e.From != "Dashboarduz incidents <incidents@dashboarduz.example>" || len(e.To) != 2 || len(e.Bcc) != 1 || e.Subject != "[P0] API outage" || e.Text != "We are investigating." || e.HTML != "<p>We are investigating.</p>" {
		t.Errorf("email = %+v", e)
	}
}

func TestSendRefusesBadMessages(t *testing.T) {
	srv, s := start(t)
	many := make([]string, 51)
	for i := range many {
		many[i] = "a@b.example"
	}
	tests := map[string]ses.Email{
		"no recipient": {Subject: "s", Text: "t"},
		"too many":     {To: many, Subject: "s", Text: "t"},
		"no subject":   {To: []string{"a@b.example"}, Text: "t"},
		"no text":      {To: []string{"a@b.example"}, Subject: "s"},
		"bad address":  {To: []string{"not an address"}, Subject: "s", Text: "t"},
	}
	for name, e := range tests {
		if _, err := s.Send(context.Background(), e); incident.ErrorCode(err) != incident.EInvalid {
			t.Errorf("%s: %v, want invalid", name, err)
		}
	}
	if n := len(srv.Calls()); n != 0 {
		t.Errorf("%d calls reached SES, want none", n)
	}
	if _, err := ses.NewSender(nil, "nobody"); incident.ErrorCode(err) != incident.EInvalid {
		t.Errorf("bad sender: %v, want invalid", err)
	}
}

func TestSendFaults(t *testing.T) {
	tests := []struct {
		kind      awslocal.FaultKind
		retryable bool
		code      string
	}{
		{awslocal.Throttle, true, incident.EInternal},
		{awslocal.ServerError, true, incident.EInternal},
		{awslocal.Timeout, true, incident.EInternal},
		{awslocal.AccessDenied, false, incident.EUnauthorized},
	}
	for _, tt := range tests {
		t.Run(string(tt.kind), func(t *testing.T) {
			srv, s := start(t)
			if err := srv.AddFault(awslocal.Fault{Service: "ses", Kind: tt.kind}); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			_, err := s.Send(ctx, ses.Email{To: []string{"a@b.example"}, Subject: "s", Text: "t"})
			if awserr.Retryable(err) != tt.retryable || incident.ErrorCode(err) != tt.code {
				t.Errorf("error = %v: retryable %v code %s, want %v %s", err, awserr.Retryable(err), incident.ErrorCode(err), tt.retryable, tt.code)
			}
			if n := len(srv.World().Emails); n != 0 {
				t.Errorf("%d emails sent, want none", n)
			}
		})
	}
}

func TestSendFromUnverifiedSender(t *testing.T) {
	srv, _ := start(t)
	s, err := ses.NewSender(sesv2.NewFromConfig(srv.AWSConfig()), "someone@elsewhere.example")
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Send(context.Background(), ses.Email{To: []string{"a@b.example"}, Subject: "s", Text: "t"})
	if awserr.Retryable(err) || incident.ErrorCode(err) != incident.EInvalid {
		t.Errorf("error = %v, want a non-retryable invalid", err)
	}
}
