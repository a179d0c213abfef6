package awslocal_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"
)

func TestSESSendEmail(t *testing.T) {
	w := testWorld()
	w.VerifiedIdentities = []string{"dashboarduz.example"}
	srv := start(t, w)
	client := sesv2.NewFromConfig(srv.AWSConfig())
	ctx := context.Background()
	simple, err := client.SendEmail(ctx, &sesv2.SendEmailInput{
		FromEmailAddress: aws.String("Incidents <incidents@dashboarduz.example>"),
		Destination:      &types.Destination{ToAddresses: []string{"cto@dashboarduz.example", "ops@dashboarduz.example"}},
		Content: &types.EmailContent{Simple: &types.Message{
			Subject: &types.Content{Data: aws.String("[P0] dashboarduz-api is down")},
			Body:    &types.Body{Text: &types.Content{Data: aws.String("We are investigating.")}, Html: &types.Content{Data: aws.String("<p>We are investigating.</p>")}},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := client.SendEmail(ctx, &sesv2.SendEmailInput{Content: &types.EmailContent{Raw: &types.RawMessage{Data: []byte(
		"From: incidents@dashboarduz.example\r\nTo: cto@dashboarduz.example\r\nSubject: Resolved\r\nContent-Type: text/plain\r\n\r\nAll clear.\r\n")}}})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(simple.MessageId) == "" || aws.ToString(simple.MessageId) == aws.ToString(raw.MessageId) {
		t.Errorf("message IDs %q and %q, want two distinct", aws.ToString(simple.MessageId), aws.ToString(raw.MessageId))
	}
	emails := srv.World().Emails
	if len(emails) != 2 {
		t.Fatalf("got %d emails, want 2", len(emails))
	}
	if e := emails[0]; e.Subject != "[P0] dashboarduz-api is down" || len(e.To) != 2 || e.Text != "We are investigating." || e.HTML == "" || !e.SentAt.Equal(t0) {
		t.Errorf("simple email = %+v", e)
	}
	if e := emails[1]; e.Subject != "Resolved" || e.From != "incidents@dashboarduz.example" || len(e.To) != 1 || !strings.Contains(e.Text, "All clear.") {
		t.Errorf("raw email = %+v", e)
	}
}

func TestSESRefusals(t *testing.T) {
	w := testWorld()
	w.VerifiedIdentities = []string{"incidents@dashboarduz.example"}
	srv := start(t, w)
	client := sesv2.NewFromConfig(srv.AWSConfig())
	content := &types.EmailContent{Simple: &types.Message{Subject: &types.Content{Data: aws.String("s")}, Body: &types.Body{Text: &types.Content{Data: aws.String("b")}}}}
	tests := []struct {
		name string
		in   sesv2.SendEmailInput
		want string
	}{
		{"unverified sender", sesv2.SendEmailInput{FromEmailAddress: aws.String("other@dashboarduz.example"), Destination: &types.Destination{ToAddresses: []string{"a@b.example"}}, Content: content}, "MessageRejected"},
		{"no recipient", sesv2.SendEmailInput{FromEmailAddress: aws.String("incidents@dashboarduz.example"), Destination: &types.Destination{}, Content: content}, "BadRequestException"},
		{"template", sesv2.SendEmailInput{FromEmailAddress: aws.String("incidents@dashboarduz.example"), Destination: &types.Destination{ToAddresses: []string{"a@b.example"}}, Content: &types.EmailContent{Template: &types.Template{TemplateName: aws.String("t")}}}, "BadRequestException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := client.SendEmail(context.Background(), &tt.in)
			if got := errorCode(err); got != tt.want {
				t.Errorf("error code = %q (%v), want %s", got, err, tt.want)
			}
		})
	}
	if n := len(srv.World().Emails); n != 0 {
		t.Errorf("%d emails accepted, want none", n)
	}
}
