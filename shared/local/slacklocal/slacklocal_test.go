package slacklocal

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	slackgo "github.com/slack-go/slack"

	"github.com/dashboarduz/incident-response/shared/incident"
)

var t0 = time.Date(2026, 3, 1, 3, 0, 0, 0, time.UTC)

// fixedClock is a clock tests move by hand.
type fixedClock struct{ t time.Time }

func (c *fixedClock) Now() time.Time { return c.t }

func start(t *testing.T, opts Options) (*Server, *slackgo.Client) {
	t.Helper()
	s, err := Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s, slackgo.New("xoxb-test-token", slackgo.OptionAPIURL(s.URL))
}

func TestPostThreadUpdateAndTranscript(t *testing.T) {
	clock := &fixedClock{t: t0}
	s, api := start(t, Options{Clock: clock})
	ctx := context.Background()

	header := slackgo.NewHeaderBlock(slackgo.NewTextBlockObject(slackgo.PlainTextType, "🚨 INCIDENT: P0 Critical dashboarduz-api - API down", true, false))
	fields := slackgo.NewSectionBlock(nil, []*slackgo.TextBlockObject{
		slackgo.NewTextBlockObject(slackgo.MarkdownType, "*Status*\nInvestigating", false, false),
		slackgo.NewTextBlockObject(slackgo.MarkdownType, "*Timeline*\n<https://example.com/i/1>", false, false),
	}, nil)
	buttons := slackgo.NewActionBlock("incident_actions",
		slackgo.NewButtonBlockElement("incident_acknowledge", "inc-1", slackgo.NewTextBlockObject(slackgo.PlainTextType, "Acknowledge", false, false)))
	ch, ts, err := api.PostMessageContext(ctx, "#incidents", slackgo.MsgOptionText("alert", false), slackgo.MsgOptionBlocks(header, fields, buttons))
	if err != nil {
		t.Fatal(err)
	}
	if ch != DefaultChannelID || ts != "1772334000.000000" {
		t.Fatalf("posted to %s at %s, want %s at 1772334000.000000", ch, ts, DefaultChannelID)
	}
	// Same instant: the ts must still be unique.
	_, reply, err := api.PostMessageContext(ctx, ch, slackgo.MsgOptionText("first page & more", false), slackgo.MsgOptionTS(ts))
	if err != nil {
		t.Fatal(err)
	}
	if reply != "1772334000.000001" {
		t.Errorf("reply ts %s, want 1772334000.000001", reply)
	}
	clock.t = t0.Add(47 * time.Minute)
	if _, _, err := api.PostMessageContext(ctx, ch, slackgo.MsgOptionText("resolved", false), slackgo.MsgOptionTS(ts), slackgo.MsgOptionBroadcast()); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := api.UpdateMessageContext(ctx, ch, ts, slackgo.MsgOptionText("alert", false), slackgo.MsgOptionBlocks(header, fields)); err != nil {
		t.Fatal(err)
	}

	msgs := s.Messages()
	if len(msgs) != 3 || msgs[1].ThreadTS != ts || !msgs[2].Broadcast || msgs[0].Edits != 1 {
		t.Fatalf("messages = %+v", msgs)
	}
	var b strings.Builder
	if err := s.Transcript(&b, "#incidents", nil); err != nil {
		t.Fatal(err)
	}
	want := `#incidents
03:00:00  🚨 INCIDENT: P0 Critical dashboarduz-api - API down
          Status: Investigating
          Timeline: https://example.com/i/1
          (edited 03:47:00)

    ↳ 03:00:00  first page & more

    ↳ 03:47:00  resolved
                (also sent to the channel)

`
	if b.String() != want {
		t.Errorf("transcript:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestErrorsAsSlackAnswersThem(t *testing.T) {
	s, api := start(t, Options{Token: "xoxb-test-token", Channels: []Channel{
		{ID: DefaultChannelID, Name: DefaultChannelName, BotMember: true},
		{ID: "C0QUIET", Name: "quiet"},
		{ID: "C0OLD", Name: "old", Archived: true, BotMember: true},
	}})
	ctx := context.Background()
	tests := []struct {
		channel, thread, want string
	}{
		{"#nowhere", "", "channel_not_found"},
		{"C0QUIET", "", "not_in_channel"},
		{"#old", "", "is_archived"},
		{"#incidents", "1.000001", "thread_not_found"},
	}
	for _, tt := range tests {
		opts := []slackgo.MsgOption{slackgo.MsgOptionText("x", false)}
		if tt.thread != "" {
			opts = append(opts, slackgo.MsgOptionTS(tt.thread))
		}
		_, _, err := api.PostMessageContext(ctx, tt.channel, opts...)
		var resp slackgo.SlackErrorResponse
		if !errors.As(err, &resp) || resp.Err != tt.want {
			t.Errorf("post to %s: %v, want %s", tt.channel, err, tt.want)
		}
	}
	_, _, err := slackgo.New("xoxb-other", slackgo.OptionAPIURL(s.URL)).PostMessageContext(ctx, "#incidents", slackgo.MsgOptionText("x", false))
	if err == nil || err.Error() != "invalid_auth" {
		t.Errorf("wrong token: %v, want invalid_auth", err)
	}
	if n := len(s.Messages()); n != 0 {
		t.Errorf("%d messages recorded from failed calls", n)
	}
}

func TestFailNext(t *testing.T) {
	s, api := start(t, Options{})
	ctx := context.Background()
	s.FailNext("chat.postMessage", 1, Failure{Status: 429, RetryAfter: 3 * time.Second})
	s.FailNext("chat.postMessage", 1, Failure{Status: 503})
	s.FailNext("", 1, Failure{Error: "channel_not_found"})

	_, _, err := api.PostMessageContext(ctx, "#incidents", slackgo.MsgOptionText("x", false))
	var rl *slackgo.RateLimitedError
	if !errors.As(err, &rl) || rl.RetryAfter != 3*time.Second {
		t.Fatalf("first post: %v, want a rate limit with Retry-After 3s", err)
	}
	_, _, err = api.PostMessageContext(ctx, "#incidents", slackgo.MsgOptionText("x", false))
	var sc slackgo.StatusCodeError
	if !errors.As(err, &sc) || sc.Code != 503 {
		t.Fatalf("second post: %v, want 503", err)
	}
	if _, err := api.AuthTestContext(ctx); err == nil || err.Error() != "channel_not_found" {
		t.Fatalf("auth.test: %v, want the injected channel_not_found", err)
	}
	if _, _, err := api.PostMessageContext(ctx, "#incidents", slackgo.MsgOptionText("x", false)); err != nil {
		t.Fatal(err)
	}
	if got := s.CallCount("chat.postMessage"); got != 3 {
		t.Errorf("%d chat.postMessage calls recorded, want 3", got)
	}
}

func TestHangUntilClientGivesUp(t *testing.T) {
	s, _ := start(t, Options{})
	s.FailNext("chat.postMessage", 1, Failure{Hang: true})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	api := slackgo.New("xoxb-test-token", slackgo.OptionAPIURL(s.URL))
	if _, _, err := api.PostMessageContext(ctx, "#incidents", slackgo.MsgOptionText("x", false)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("post: %v, want the deadline", err)
	}
}

func TestChannelsInvitesViewsAndResponses(t *testing.T) {
	s, api := start(t, Options{Clock: incident.ClockFunc(func() time.Time { return t0 })})
	ctx := context.Background()
	ch, err := api.CreateConversationContext(ctx, slackgo.CreateConversationParams{ChannelName: "inc-20260301-030000-c0f8ae04e8"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := api.CreateConversationContext(ctx, slackgo.CreateConversationParams{ChannelName: ch.Name}); err == nil || err.Error() != "name_taken" {
		t.Errorf("second create: %v, want name_taken", err)
	}
	if _, err := api.CreateConversationContext(ctx, slackgo.CreateConversationParams{ChannelName: "Inc 1"}); err == nil || err.Error() != "invalid_name_specials" {
		t.Errorf("create with specials: %v, want invalid_name_specials", err)
	}
	if _, err := api.InviteUsersToConversationContext(ctx, ch.ID, "U0DANA"); err != nil {
		t.Fatal(err)
	}
	if _, err := api.InviteUsersToConversationContext(ctx, ch.ID, "U0DANA"); err == nil || err.Error() != "already_in_channel" {
		t.Errorf("second invite: %v, want already_in_channel", err)
	}
	chans, next, err := api.GetConversationsContext(ctx, &slackgo.GetConversationsParameters{Limit: 1, ExcludeArchived: true})
	if err != nil || len(chans) != 1 || next != "1" {
		t.Fatalf("list page 1: %v %v %q", chans, err, next)
	}
	chans, next, err = api.GetConversationsContext(ctx, &slackgo.GetConversationsParameters{Limit: 1, Cursor: next})
	if err != nil || len(chans) != 1 || chans[0].Name != ch.Name || next != "" {
		t.Fatalf("list page 2: %v %v %q", chans, err, next)
	}
	auth, err := api.AuthTestContext(ctx)
	if err != nil || auth.URL != DefaultWorkspaceURL || auth.UserID != BotUserID {
		t.Fatalf("auth.test: %+v %v", auth, err)
	}
	if got := s.Channels()[1].Members; len(got) != 1 || got[0] != "U0DANA" {
		t.Errorf("members %v", got)
	}

	view := slackgo.ModalViewRequest{Type: slackgo.VTModal, CallbackID: "incident_resolve", Title: slackgo.NewTextBlockObject(slackgo.PlainTextType, "Resolve", false, false)}
	if _, err := api.OpenViewContext(ctx, "12345.98765.abcd", view); err != nil {
		t.Fatal(err)
	}
	var opened slackgo.ModalViewRequest
	if vs := s.Views(); len(vs) != 1 || json.Unmarshal(vs[0], &opened) != nil || opened.CallbackID != "incident_resolve" {
		t.Errorf("views %s", vs)
	}

	u := s.ResponseURL()
	if err := slackgo.PostWebhookContext(ctx, u, &slackgo.WebhookMessage{ResponseType: "ephemeral", Text: "Acknowledged"}); err != nil {
		t.Fatal(err)
	}
	if rs := s.Responses(); len(rs) != 1 || rs[0].URL != u || rs[0].Text != "Acknowledged" || !rs[0].At.Equal(t0) {
		t.Errorf("responses %+v", rs)
	}
}

// TestTranscriptMarksANewDay: times are written without their date, so a
// message on a later day says which.
func TestTranscriptMarksANewDay(t *testing.T) {
	clock := &fixedClock{t: t0}
	s, api := start(t, Options{Clock: clock})
	ctx := context.Background()
	for _, at := range []time.Duration{0, time.Hour, 48 * time.Hour} {
		clock.t = t0.Add(at)
		if _, _, err := api.PostMessageContext(ctx, "#incidents", slackgo.MsgOptionText("at "+at.String(), false)); err != nil {
			t.Fatal(err)
		}
	}
	var b strings.Builder
	if err := s.Transcript(&b, "", nil); err != nil {
		t.Fatal(err)
	}
	want := "#incidents\n03:00:00  at 0s\n\n04:00:00  at 1h0m0s\n\n-- Tue 3 Mar 2026 --\n\n03:00:00  at 48h0m0s\n\n"
	if b.String() != want {
		t.Errorf("transcript:\n%s\nwant:\n%s", b.String(), want)
	}
}
