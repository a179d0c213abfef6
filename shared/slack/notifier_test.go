package slack

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	slackgo "github.com/slack-go/slack"

	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/local/slacklocal"
	"github.com/dashboarduz/incident-response/shared/notify"
)

var t0 = time.Date(2026, 3, 1, 3, 0, 0, 0, time.UTC)

const token = "xoxb-1234-5678-local"

// sleeper records the waits the Notifier asks for instead of sleeping.
type sleeper struct{ waits []time.Duration }

func (s *sleeper) sleep(_ context.Context, d time.Duration) error {
	s.waits = append(s.waits, d)
	return nil
}

func startSlack(t *testing.T, opts slacklocal.Options) *slacklocal.Server {
	t.Helper()
	if opts.Clock == nil {
		opts.Clock = incident.ClockFunc(func() time.Time { return t0 })
	}
	if opts.Token == "" {
		opts.Token = token
	}
	srv, err := slacklocal.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return srv
}

func newNotifier(srv *slacklocal.Server, s *sleeper, opts Options) *Notifier {
	opts.Sleep = s.sleep
	if opts.ResponseURLPrefixes == nil {
		opts.ResponseURLPrefixes = []string{srv.URL + "response/"}
	}
	return New(NewAPI(token, ClientOptions{APIURL: srv.URL}), opts)
}

func p0() incident.Incident {
	return incident.Incident{
		ID: "inc-20260301-030000-c0f8ae04e8", Title: "P0 dashboarduz-api - API 5xx error rate above 5%",
		Service: "dashboarduz-api", Severity: incident.P0, Status: incident.Triggered, Summary: "API 5xx error rate above 5%", OpenedAt: t0,
	}
}

func render(t *testing.T, kind notify.Kind, inc incident.Incident, tl []incident.Entry) notify.Message {
	t.Helper()
	b := &notify.Builder{Clock: incident.ClockFunc(func() time.Time { return t0.Add(time.Hour) })}
	msg, err := b.Message(context.Background(), kind, inc, tl, notify.Facts{})
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

func TestAlertThreadResolutionAndUpdate(t *testing.T) {
	srv := startSlack(t, slacklocal.Options{})
	n := newNotifier(srv, &sleeper{}, Options{})
	ctx := context.Background()
	inc := p0()

	alert, err := n.PostAlert(ctx, render(t, notify.KindAlert, inc, nil))
	if err != nil {
		t.Fatal(err)
	}
	if alert.Channel != slacklocal.DefaultChannelID || alert.TS == "" {
		t.Fatalf("alert at %+v, want channel %s and a ts", alert, slacklocal.DefaultChannelID)
	}
	page := incident.Entry{At: t0, Kind: incident.EntryPaged, Data: map[string]string{"level": "1", "levelName": "on-call"}}
	if _, err := n.Reply(ctx, alert, render(t, notify.KindPage, inc, []incident.Entry{page})); err != nil {
		t.Fatal(err)
	}
	inc.Status, inc.ResolvedAt, inc.ResolvedBy, inc.RootCause = incident.Resolved, t0.Add(47*time.Minute), "dana", "A bad deploy"
	if _, err := n.PostResolution(ctx, alert, render(t, notify.KindResolution, inc, nil)); err != nil {
		t.Fatal(err)
	}
	if err := n.UpdateMessage(ctx, alert, render(t, notify.KindAlert, inc, nil)); err != nil {
		t.Fatal(err)
	}

	msgs := srv.Messages()
	if len(msgs) != 3 {
		t.Fatalf("%d messages, want 3: %+v", len(msgs), msgs)
	}
	if msgs[0].Text != "🚨 INCIDENT: P0 Critical dashboarduz-api - API 5xx error rate above 5%" || msgs[0].ThreadTS != "" {
		t.Errorf("alert %+v", msgs[0])
	}
	if msgs[1].ThreadTS != alert.TS || msgs[1].Broadcast {
		t.Errorf("page reply %+v, want a plain reply in %s", msgs[1], alert.TS)
	}
	if msgs[2].ThreadTS != alert.TS || !msgs[2].Broadcast || !strings.HasPrefix(msgs[2].Text, "✅ INCIDENT RESOLVED") {
		t.Errorf("resolution %+v, want a reply also sent to the channel", msgs[2])
	}
	if msgs[0].Edits != 1 || strings.Contains(string(msgs[0].Blocks), notify.ActionAcknowledge) {
		t.Errorf("the resolved alert still has its buttons or was not edited: %d edits, %s", msgs[0].Edits, msgs[0].Blocks)
	}
}

func TestReplyNeedsAThread(t *testing.T) {
	n := New(nil, Options{})
	if _, err := n.Reply(context.Background(), MessageRef{}, notify.Message{IncidentID: "inc-1"}); incident.ErrorCode(err) != incident.EInvalid {
		t.Errorf("Reply without a thread: %v, want invalid", err)
	}
}

func TestRateLimitHonouredWithinBound(t *testing.T) {
	srv := startSlack(t, slacklocal.Options{})
	s := &sleeper{}
	n := newNotifier(srv, s, Options{MaxAttempts: 3, MaxWait: 10 * time.Second})
	srv.FailNext("chat.postMessage", 2, slacklocal.Failure{Status: 429, RetryAfter: 2 * time.Second})

	if _, err := n.PostAlert(context.Background(), render(t, notify.KindAlert, p0(), nil)); err != nil {
		t.Fatalf("PostAlert after two 429s: %v", err)
	}
	if fmt.Sprint(s.waits) != "[2s 2s]" {
		t.Errorf("waited %v, want [2s 2s] as Retry-After said", s.waits)
	}
	if got := srv.CallCount("chat.postMessage"); got != 3 || len(srv.Messages()) != 1 {
		t.Errorf("%d calls and %d messages, want 3 calls and 1 message", got, len(srv.Messages()))
	}
}

func TestRateLimitBeyondBoundIsRetryable(t *testing.T) {
	tests := []struct {
		name       string
		failures   int
		retryAfter time.Duration
		wantCalls  int
		wantWaits  string
	}{
		{"too many 429s", 5, time.Second, 3, "[1s 1s]"},
		{"Retry-After too long", 1, 30 * time.Second, 1, "[]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startSlack(t, slacklocal.Options{})
			s := &sleeper{}
			n := newNotifier(srv, s, Options{MaxAttempts: 3, MaxWait: 10 * time.Second})
			srv.FailNext("chat.postMessage", tt.failures, slacklocal.Failure{Status: 429, RetryAfter: tt.retryAfter})
			_, err := n.PostAlert(context.Background(), render(t, notify.KindAlert, p0(), nil))
			var u *SlackUnavailableError
			if !errors.As(err, &u) || u.StatusCode != http.StatusTooManyRequests || u.RetryAfter != tt.retryAfter || !Retryable(err) {
				t.Fatalf("PostAlert: %v (%T), want a retryable 429 with Retry-After %s", err, err, tt.retryAfter)
			}
			if got := srv.CallCount("chat.postMessage"); got != tt.wantCalls || fmt.Sprint(s.waits) != tt.wantWaits {
				t.Errorf("%d calls, waits %v; want %d calls, waits %s", got, s.waits, tt.wantCalls, tt.wantWaits)
			}
		})
	}
}

func TestFailuresAreToldApart(t *testing.T) {
	tests := []struct {
		name      string
		failure   slacklocal.Failure
		channel   string
		retryable bool
		code      string
		status    int
	}{
		{"server error", slacklocal.Failure{Status: 503}, "", true, "", 503},
		{"slack internal error", slacklocal.Failure{Error: "internal_error"}, "", true, "internal_error", 200},
		{"unknown channel", slacklocal.Failure{}, "#nowhere", false, "channel_not_found", 0},
		{"bot not in channel", slacklocal.Failure{Error: "not_in_channel"}, "", false, "not_in_channel", 0},
		{"bad token", slacklocal.Failure{Error: "invalid_auth"}, "", false, "invalid_auth", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startSlack(t, slacklocal.Options{})
			n := newNotifier(srv, &sleeper{}, Options{Channel: tt.channel})
			if tt.failure != (slacklocal.Failure{}) {
				srv.FailNext("chat.postMessage", 1, tt.failure)
			}
			_, err := n.PostAlert(context.Background(), render(t, notify.KindAlert, p0(), nil))
			if Retryable(err) != tt.retryable {
				t.Fatalf("PostAlert: %v; retryable %v, want %v", err, Retryable(err), tt.retryable)
			}
			var u *SlackUnavailableError
			var r *SlackRejectedError
			switch {
			case errors.As(err, &u):
				if u.Code != tt.code || u.StatusCode != tt.status || u.Method != "chat.postMessage" {
					t.Errorf("unavailable %+v, want code %q status %d", u, tt.code, tt.status)
				}
			case errors.As(err, &r):
				if r.Code != tt.code {
					t.Errorf("rejected %+v, want code %q", r, tt.code)
				}
				if r.AuthFailed() != (tt.code == "invalid_auth") {
					t.Errorf("AuthFailed = %v for %s", r.AuthFailed(), tt.code)
				}
			default:
				t.Fatalf("PostAlert: %v (%T), want a named error", err, err)
			}
			if got := srv.CallCount("chat.postMessage"); got != 1 {
				t.Errorf("%d calls, want 1: only a 429 is retried here", got)
			}
		})
	}
}

func TestNoAnswerIsRetryable(t *testing.T) {
	srv := startSlack(t, slacklocal.Options{})
	srv.FailNext("chat.postMessage", 1, slacklocal.Failure{Hang: true})
	n := New(NewAPI(token, ClientOptions{APIURL: srv.URL, HTTPClient: &http.Client{Timeout: 100 * time.Millisecond}}), Options{})
	_, err := n.PostAlert(context.Background(), render(t, notify.KindAlert, p0(), nil))
	var u *SlackUnavailableError
	if !errors.As(err, &u) || u.StatusCode != 0 {
		t.Fatalf("PostAlert to a Slack that does not answer: %v (%T), want unavailable with no status", err, err)
	}
	closed := startSlack(t, slacklocal.Options{})
	closed.Close()
	n = New(NewAPI(token, ClientOptions{APIURL: closed.URL}), Options{})
	if _, err := n.PostAlert(context.Background(), render(t, notify.KindAlert, p0(), nil)); !Retryable(err) {
		t.Fatalf("PostAlert to a closed port: %v, want retryable", err)
	}
}

func TestOpenIncidentChannel(t *testing.T) {
	srv := startSlack(t, slacklocal.Options{})
	n := newNotifier(srv, &sleeper{}, Options{})
	ctx := context.Background()
	dir := testDirectory(t)
	ids, unknown := dir.SlackUserIDs("DANA@dashboarduz.example", "omar@dashboarduz.example", "nobody@dashboarduz.example")
	if len(unknown) != 1 || unknown[0] != "nobody@dashboarduz.example" {
		t.Fatalf("unknown %v", unknown)
	}

	ch, err := n.OpenIncidentChannel(ctx, "inc-20260301-030000-C0F8AE04E8", ids)
	if err != nil {
		t.Fatal(err)
	}
	if ch.Name != "inc-20260301-030000-c0f8ae04e8" || ch.Link != slacklocal.DefaultWorkspaceURL+"archives/"+ch.ID {
		t.Errorf("channel %+v", ch)
	}
	got := srv.Channels()[1]
	if got.ID != ch.ID || strings.Join(got.Members, ",") != "U024BE7LH,U0G9QF9C6" {
		t.Errorf("channel %+v, want Dana and Omar invited", got)
	}

	// A retry after a crash: the channel exists and everyone is in it.
	again, err := n.OpenIncidentChannel(ctx, "inc-20260301-030000-c0f8ae04e8", append(ids, "U024BE7LH"))
	if err != nil {
		t.Fatalf("second OpenIncidentChannel: %v", err)
	}
	if again != ch || len(srv.Channels()) != 2 {
		t.Errorf("second open gave %+v (channels %d), want %+v and no new channel", again, len(srv.Channels()), ch)
	}
	if got := srv.CallCount("auth.test"); got != 1 {
		t.Errorf("auth.test called %d times, want once", got)
	}
}

func TestInviteGoesOnPastARefusal(t *testing.T) {
	srv := startSlack(t, slacklocal.Options{})
	n := newNotifier(srv, &sleeper{}, Options{WorkspaceURL: "https://example.slack.com/"})
	ch, err := n.OpenIncidentChannel(context.Background(), "inc-1", nil)
	if err != nil {
		t.Fatal(err)
	}
	err = n.Invite(context.Background(), ch.ID, []string{"not-a-user", "U024BE7LH", slacklocal.BotUserID})
	var r *SlackRejectedError
	if !errors.As(err, &r) || r.Code != "user_not_found" {
		t.Errorf("Invite: %v, want user_not_found", err)
	}
	if got := srv.Channels()[1].Members; strings.Join(got, ",") != "U024BE7LH" {
		t.Errorf("members %v, want the one valid user", got)
	}
	if ch.Link != "https://example.slack.com/archives/"+ch.ID || srv.CallCount("auth.test") != 0 {
		t.Errorf("link %s from the configured workspace URL, auth.test calls %d", ch.Link, srv.CallCount("auth.test"))
	}
}

func TestChannelName(t *testing.T) {
	long := "inc-" + strings.Repeat("a", 100)
	tests := []struct{ prefix, id, want string }{
		{"inc-", "inc-20260301-030000-c0f8ae04e8", "inc-20260301-030000-c0f8ae04e8"},
		{"inc-", "INC-20260301-030000-C0F8AE04E8", "inc-20260301-030000-c0f8ae04e8"},
		{"inc-", "20260301 report/α", "inc-20260301-report---"},
		{"incident-", "inc-1", "incident-inc-1"},
		{"inc-", long, long[:MaxChannelName]},
		{"inc-", "", "inc"},
	}
	for _, tt := range tests {
		got := ChannelName(tt.prefix, tt.id)
		if got != strings.Trim(tt.want, "-") || len(got) > MaxChannelName {
			t.Errorf("ChannelName(%q, %q) = %q, want %q", tt.prefix, tt.id, got, strings.Trim(tt.want, "-"))
		}
	}
}

func TestWantsOwnChannel(t *testing.T) {
	if n := New(nil, Options{}); !n.WantsOwnChannel(incident.P0) || n.WantsOwnChannel(incident.P1) || n.opts.Channel != "#incidents" {
		t.Errorf("defaults: P0 %v, P1 %v, channel %s", n.WantsOwnChannel(incident.P0), n.WantsOwnChannel(incident.P1), n.opts.Channel)
	}
	if n := New(nil, Options{OwnChannelFor: []incident.Severity{}}); n.WantsOwnChannel(incident.P0) {
		t.Error("an empty OwnChannelFor still gives P0 a channel")
	}
}

func TestResolveModalAndRespond(t *testing.T) {
	srv := startSlack(t, slacklocal.Options{})
	n := newNotifier(srv, &sleeper{}, Options{})
	ctx := context.Background()
	alert := MessageRef{Channel: "C0INCIDENTS", TS: "1772334000.000100"}
	if err := n.OpenResolveModal(ctx, "1772336810.4123.9a8b", "inc-20260301-030000-c0f8ae04e8", alert); err != nil {
		t.Fatal(err)
	}
	views := srv.Views()
	if len(views) != 1 || !strings.Contains(string(views[0]), `"callback_id":"incident_resolve"`) || !strings.Contains(string(views[0]), `\"ts\":\"1772334000.000100\"`) {
		t.Errorf("views %s", views)
	}
	var r *SlackRejectedError
	if err := n.OpenResolveModal(ctx, "", "inc-1", alert); !errors.As(err, &r) {
		t.Errorf("OpenResolveModal without a trigger: %v, want rejected", err)
	}

	u := srv.ResponseURL()
	if err := n.Respond(ctx, u, "Acknowledged inc-1."); err != nil {
		t.Fatal(err)
	}
	if rs := srv.Responses(); len(rs) != 1 || rs[0].Text != "Acknowledged inc-1." || rs[0].ResponseType != "ephemeral" {
		t.Errorf("responses %+v", rs)
	}
	if err := n.Respond(ctx, "http://169.254.169.254/latest/meta-data", "x"); incident.ErrorCode(err) != incident.EInvalid {
		t.Errorf("Respond to an address not Slack's: %v, want invalid", err)
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		err       error
		retryable bool
		code      string
	}{
		{&slackgo.RateLimitedError{RetryAfter: time.Minute}, true, ""},
		{slackgo.StatusCodeError{Code: 502, Status: "502 Bad Gateway"}, true, ""},
		{slackgo.StatusCodeError{Code: 408}, true, ""},
		{slackgo.StatusCodeError{Code: 404}, false, "http_404"},
		{slackgo.SlackErrorResponse{Err: "ratelimited"}, true, "ratelimited"},
		{slackgo.SlackErrorResponse{Err: "fatal_error"}, true, "fatal_error"},
		{slackgo.SlackErrorResponse{Err: "msg_too_long"}, false, "msg_too_long"},
		{fmt.Errorf("post: %w", context.DeadlineExceeded), true, ""},
		{slackgo.ErrParametersMissing, false, "received empty parameters"},
	}
	for _, tt := range tests {
		err := classify("chat.postMessage", tt.err)
		if Retryable(err) != tt.retryable {
			t.Errorf("classify(%v) = %v; retryable %v, want %v", tt.err, err, Retryable(err), tt.retryable)
		}
		var r *SlackRejectedError
		if errors.As(err, &r) && r.Code != tt.code {
			t.Errorf("classify(%v) code %q, want %q", tt.err, r.Code, tt.code)
		}
		if !reflect.DeepEqual(errors.Unwrap(err), tt.err) {
			t.Errorf("classify(%v) = %v does not wrap the cause", tt.err, err)
		}
		if strings.Contains(err.Error(), token) {
			t.Errorf("error %q shows the token", err)
		}
	}
	if classify("x", nil) != nil {
		t.Error("classify(nil) is not nil")
	}
}

// tokenSource is a hand-written TokenSource.
type tokenSource struct {
	token string
	err   error
}

func (s tokenSource) SlackBotToken(context.Context) (string, error) { return s.token, s.err }

func TestConnect(t *testing.T) {
	srv := startSlack(t, slacklocal.Options{})
	api, err := Connect(context.Background(), tokenSource{token: " " + token + "\n"}, ClientOptions{APIURL: strings.TrimSuffix(srv.URL, "/")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := api.AuthTestContext(context.Background()); err != nil {
		t.Errorf("auth.test with the trimmed token: %v", err)
	}
	if _, err := Connect(context.Background(), tokenSource{token: " "}, ClientOptions{}); err == nil {
		t.Error("Connect with an empty secret succeeded")
	}
	if _, err := Connect(context.Background(), tokenSource{err: errors.New("AccessDenied")}, ClientOptions{}); err == nil || !strings.Contains(err.Error(), "AccessDenied") {
		t.Errorf("Connect with an unreadable secret: %v", err)
	}
}
