package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dashboarduz/incident-response/shared/api"
	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/response"
	"github.com/dashboarduz/incident-response/shared/slack"
)

const slackSecret = "8f742231b10e8888abcd99yyyzzz85a5"

// slackNow is when the fixtures' requests arrive.
var slackNow = time.Date(2026, 3, 1, 3, 4, 5, 0, time.UTC)

// slackResponder records what the webhook says back through Slack.
type slackResponder struct {
	mu       sync.Mutex
	modals   []string
	answers  []string
	modalErr error
}

func (s *slackResponder) OpenResolveModal(_ context.Context, triggerID, incidentID string, alert slack.MessageRef) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.modals = append(s.modals, triggerID+" "+incidentID+" "+alert.Channel+"/"+alert.TS)
	return s.modalErr
}

func (s *slackResponder) Respond(_ context.Context, responseURL, text string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.answers = append(s.answers, text)
	return nil
}

// failingSecrets cannot be read.
type failingSecrets struct{}

func (failingSecrets) SlackSigningSecrets(context.Context) ([]string, error) {
	return nil, errors.New("AccessDeniedException")
}

func slackDirectory(t testing.TB) slack.Directory {
	t.Helper()
	d, err := slack.NewDirectory(
		slack.Responder{SlackUserID: "U024BE7LH", Email: "dana@dashboarduz.example", Name: "Dana Whitfield", Role: "responder"},
		slack.Responder{SlackUserID: "U0VIEWER1", Email: "finance@dashboarduz.example", Name: "Finance", Role: "viewer"},
	)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func slackHandler(t testing.TB, svc api.Service, cfg *api.SlackConfig) *api.Handler {
	t.Helper()
	h, err := api.New(api.Config{Service: svc, Auth: fakeAuth{}, Clock: incident.ClockFunc(func() time.Time { return slackNow }), Slack: cfg})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func slackFixture(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "events", "slack", name))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// interaction is the form Slack posts an interaction payload in, the
// payload's user replaced by user when given.
func interaction(t testing.TB, fixture, user string) string {
	t.Helper()
	payload := slackFixture(t, fixture)
	if user != "" {
		var p map[string]any
		if err := json.Unmarshal([]byte(payload), &p); err != nil {
			t.Fatal(err)
		}
		p["user"].(map[string]any)["id"] = user
		b, _ := json.Marshal(p)
		payload = string(b)
	}
	return url.Values{"payload": {payload}}.Encode()
}

// slackCase is a request to POST /webhooks/slack signed with secret at
// at (unsigned when secret is empty).
func slackCase(name, body, secret string, at time.Time, want int) tc {
	c := tc{name: name, method: "POST", target: "/webhooks/slack", body: body, contentType: "application/x-www-form-urlencoded", want: want}
	if secret != "" {
		h := http.Header{}
		slack.SignRequest(h, secret, at, []byte(body))
		c.header = map[string]string{slack.HeaderSignature: h.Get(slack.HeaderSignature), slack.HeaderTimestamp: h.Get(slack.HeaderTimestamp)}
	}
	return c
}

const danaActor = "dana@dashboarduz.example (slack:U024BE7LH)"

func TestSlackWebhook(t *testing.T) {
	ack := interaction(t, "block-actions-acknowledge.json", "")
	resolveButton := interaction(t, "block-actions-resolve.json", "")
	submit := interaction(t, "view-submission-resolve.json", "")
	report := slackFixture(t, "slash-command-report.txt")
	help := slackFixture(t, "slash-command-help.txt")
	reportAs := func(user string) string { return strings.Replace(report, "user_id=U024BE7LH", "user_id="+user, 1) }
	const id = "inc-20260301-030000-c0f8ae04e8"

	type slackTC struct {
		tc
		cfg *api.SlackConfig // nil: the default configuration
		// wantAnswer must occur in the answer sent to the response_url
		// (or, for a slash command or modal, in the body).
		wantAnswer string
		wantModal  bool
	}
	cases := []slackTC{
		{tc: slackCase("unsigned", ack, "", slackNow, 401)},
		{tc: slackCase("stale", ack, slackSecret, slackNow.Add(-6*time.Minute), 401)},
		{tc: slackCase("from the future", ack, slackSecret, slackNow.Add(6*time.Minute), 401)},
		{tc: slackCase("forged", ack, "not-the-secret", slackNow, 401)},
		{tc: func() tc {
			c := slackCase("altered after signing", ack, slackSecret, slackNow, 401)
			c.body = strings.Replace(ack, "incident_acknowledge", "incident_resolve", 1)
			return c
		}()},
		{tc: slackCase("Slack not configured", ack, slackSecret, slackNow, 401), cfg: &api.SlackConfig{}},
		{tc: slackCase("signing secret unreadable", ack, slackSecret, slackNow, 500),
			cfg: &api.SlackConfig{Inbound: &slack.Inbound{Verifier: &slack.Verifier{Secrets: failingSecrets{}, Clock: incident.ClockFunc(func() time.Time { return slackNow })}}}},
		{tc: func() tc {
			// Slack never sends one; the document cannot say "one of".
			c := slackCase("neither payload nor command", "token=x&team_id=T0DASHBRDZ", slackSecret, slackNow, 400)
			c.docSilent = true
			return c
		}()},
		{tc: func() tc {
			c := slackCase("too large", "payload="+strings.Repeat("x", api.MaxBodyBytes), slackSecret, slackNow, 413)
			c.docSilent = true
			return c
		}()},
		{tc: slackCase("acknowledge", ack, slackSecret, slackNow, 200), wantAnswer: "You acknowledged " + id},
		{tc: slackCase("acknowledge by a user nobody mapped", interaction(t, "block-actions-acknowledge.json", "U0STRANGER"), slackSecret, slackNow, 200),
			wantAnswer: "not in incident response's list of responders"},
		{tc: slackCase("acknowledge by a viewer", interaction(t, "block-actions-acknowledge.json", "U0VIEWER1"), slackSecret, slackNow, 200),
			wantAnswer: "may read incidents but not change them"},
		{tc: func() tc {
			c := slackCase("acknowledge a resolved incident", ack, slackSecret, slackNow, 200)
			c.svcErr = incident.Errorf(incident.EConflict, "incident %s is resolved", id)
			c.wantCall = &call{"Acknowledge", danaActor, id, response.Acknowledgement{}}
			return c
		}(), wantAnswer: "Nothing was changed: incident " + id + " is resolved"},
		{tc: slackCase("resolve button opens the modal", resolveButton, slackSecret, slackNow, 200), wantModal: true},
		{tc: slackCase("modal submitted", submit, slackSecret, slackNow, 200), wantAnswer: `"response_action":"clear"`},
		{tc: slackCase("modal without a root cause", strings.Replace(submit, "The+02%3A40+deploy+shipped+a+connection-pool+size+of+1", "", 1), slackSecret, slackNow, 200),
			wantAnswer: "Say what caused the incident"},
		{tc: slackCase("modal closed", interaction(t, "view-closed.json", ""), slackSecret, slackNow, 200)},
		{tc: slackCase("/incident reports", report, slackSecret, slackNow, 200), wantAnswer: "Reported inc-"},
		{tc: slackCase("/incident by a user nobody mapped", reportAs("U0STRANGER"), slackSecret, slackNow, 200), wantAnswer: "not in incident response's list"},
		{tc: slackCase("/incident help", help, slackSecret, slackNow, 200), wantAnswer: "Report an incident: `/incident <severity> <service> <what is wrong>`"},
	}
	// The calls each case must make.
	wantCalls := map[string]*call{
		"acknowledge":     {"Acknowledge", danaActor, id, response.Acknowledgement{}},
		"modal submitted": {"Resolve", danaActor, id, response.Resolution{RootCause: "The 02:40 deploy shipped a connection-pool size of 1", Summary: "Rolled back to task definition 41"}},
		"/incident reports": {"Report", danaActor, "", response.Report{Title: "Exports time out", Service: "dashboarduz-api", Severity: "P2", Category: "other",
			Description: "Reported in Slack by Dana Whitfield in #general: Exports time out"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			svc := &fakeService{err: c.svcErr}
			resp := &slackResponder{}
			cfg := c.cfg
			if cfg == nil {
				cfg = &api.SlackConfig{Inbound: &slack.Inbound{
					Verifier:  &slack.Verifier{Secrets: slack.StaticSecrets{slackSecret}, Clock: incident.ClockFunc(func() time.Time { return slackNow })},
					Directory: slackDirectory(t), TeamID: "T0DASHBRDZ",
				}, Responder: resp}
			} else if cfg.Inbound != nil && cfg.Inbound.Verifier != nil && cfg.Responder == nil {
				cfg.Responder = resp
			}
			h := slackHandler(t, svc, cfg)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, c.request())
			if rec.Code != c.want {
				t.Fatalf("status %d, want %d: %s", rec.Code, c.want, rec.Body)
			}
			conform(t, c.tc, rec, len(svc.recorded()) > 0)
			want := c.wantCall
			if want == nil {
				want = wantCalls[c.name]
			}
			calls := svc.recorded()
			switch {
			case want == nil && len(calls) > 0:
				t.Errorf("the service was called: %+v", calls)
			case want != nil && (len(calls) != 1 || !equalCall(calls[0], *want)):
				t.Errorf("calls %+v, want %+v", calls, *want)
			}
			var body map[string]any
			_ = json.Unmarshal(rec.Body.Bytes(), &body)
			b, _ := json.Marshal(body)
			said := strings.Join(append([]string{string(b), fmt.Sprint(body["text"])}, resp.answers...), "\n")
			if c.wantAnswer != "" && !strings.Contains(said, c.wantAnswer) {
				t.Errorf("answer %q, want it to say %q", said, c.wantAnswer)
			}
			if c.wantModal != (len(resp.modals) == 1) {
				t.Errorf("modals opened %v", resp.modals)
			}
			if c.wantModal && resp.modals[0] != "1772336810.412345678901.9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d "+id+" C0INCIDENTS/1772334000.000100" {
				t.Errorf("modal opened with %q", resp.modals[0])
			}
			if rec.Code == 401 && !strings.Contains(rec.Body.String(), "not signed by Slack") {
				t.Errorf("401 body %s", rec.Body)
			}
		})
	}
}

func equalCall(got, want call) bool {
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	return string(g) == string(w)
}
