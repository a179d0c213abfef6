package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"time"

	"github.com/dashboarduz/incident-response/shared/local/slacklocal"
	"github.com/dashboarduz/incident-response/shared/notify"
	"github.com/dashboarduz/incident-response/shared/slack"
)

// devCommsRoutes adds the dev server's views of what was said: GET
// /dev/slack (the channels as people read them; ?format=json for the
// messages), GET /dev/email, and POST /dev/slack/press, which presses an
// alert's button as a local Slack user would, through the signed webhook.
func (s *Stack) devCommsRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /dev/slack", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("format") == "json" {
			writeJSON(w, http.StatusOK, map[string]any{"channels": s.Slack.Channels(), "messages": s.Slack.Messages(), "responses": s.Slack.Responses()})
			return
		}
		var b bytes.Buffer
		for _, ch := range s.Slack.Channels() {
			_ = s.Slack.Transcript(&b, ch.ID, time.UTC)
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write(b.Bytes())
	})
	mux.HandleFunc("GET /dev/email", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"emails": s.AWS.World().Emails})
	})
	mux.HandleFunc("POST /dev/slack/press", s.pressButton)
}

// press is a button press to simulate.
type press struct {
	Incident string `json:"incident"`
	// Action is acknowledge or resolve; resolve also submits the modal
	// with RootCause.
	Action    string `json:"action"`
	User      string `json:"user"`
	RootCause string `json:"rootCause"`
}

// pressButton signs a block_actions request (and for resolve the modal's
// view_submission) as Slack would and sends it to POST /webhooks/slack,
// then answers with the API's replies and what was said to the user.
func (s *Stack) pressButton(w http.ResponseWriter, r *http.Request) {
	var p press
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&p); err != nil || !slack.ValidIncidentID(p.Incident) || (p.Action != "acknowledge" && p.Action != "resolve") {
		writeJSON(w, http.StatusBadRequest, errorBody("invalid", `want {"incident": ID, "action": "acknowledge"|"resolve", "user": SLACK_USER_ID, "rootCause": ...}`, ""))
		return
	}
	if p.User == "" {
		p.User = LocalPeople[0].SlackUserID
	}
	actionID := notify.ActionAcknowledge
	if p.Action == "resolve" {
		actionID = notify.ActionResolve
	}
	before := len(s.Slack.Responses())
	payload := map[string]any{
		"type": "block_actions", "user": map[string]any{"id": p.User}, "team": map[string]any{"id": slacklocal.TeamID},
		"trigger_id": "devstack-trigger", "response_url": s.Slack.ResponseURL(),
		"actions": []map[string]any{{"action_id": actionID, "block_id": notify.ActionsBlockID, "value": p.Incident, "type": "button"}},
	}
	answers := []string{s.sendSlack(payload)}
	if p.Action == "resolve" {
		meta, _ := json.Marshal(map[string]any{"incident": p.Incident})
		answers = append(answers, s.sendSlack(map[string]any{
			"type": "view_submission", "user": map[string]any{"id": p.User}, "team": map[string]any{"id": slacklocal.TeamID},
			"view": map[string]any{"callback_id": slack.ResolveCallbackID, "private_metadata": string(meta), "state": map[string]any{"values": map[string]any{
				slack.RootCauseBlockID: map[string]any{slack.RootCauseActionID: map[string]any{"type": "plain_text_input", "value": p.RootCause}},
			}}},
		}))
	}
	var said []string
	for _, resp := range s.Slack.Responses()[before:] {
		said = append(said, resp.Text)
	}
	writeJSON(w, http.StatusOK, map[string]any{"answers": answers, "toUser": said})
}

// sendSlack signs an interaction payload and sends it to the API's Slack
// webhook, returning its status and body.
func (s *Stack) sendSlack(payload map[string]any) string {
	raw, _ := json.Marshal(payload)
	body := url.Values{"payload": {string(raw)}}.Encode()
	req := httptest.NewRequest(http.MethodPost, "/webhooks/slack", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	slack.SignRequest(req.Header, DefaultSlackSigningSecret, s.Clock.Now(), []byte(body))
	rec := httptest.NewRecorder()
	s.API.ServeHTTP(rec, req)
	return fmt.Sprintf("%d %s", rec.Code, strings.TrimSpace(rec.Body.String()))
}
