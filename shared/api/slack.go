package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/dashboarduz/incident-response/shared/auth"
	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/response"
	"github.com/dashboarduz/incident-response/shared/slack"
)

// SlackConfig serves POST /webhooks/slack: Slack's interactive requests
// (the alert's Acknowledge and Resolve buttons, the resolve modal) and
// the /incident slash command.
type SlackConfig struct {
	// Inbound verifies Slack's signature and maps the Slack user to a
	// responder; required.
	Inbound *slack.Inbound
	// Responder opens the resolve modal and answers a button's
	// response_url; without one, Resolve is answered with the API route
	// to use instead.
	Responder SlackResponder
}

// SlackResponder is what the Slack webhook says back through Slack's Web
// API; *slack.NotifierSource implements it.
type SlackResponder interface {
	OpenResolveModal(ctx context.Context, triggerID, incidentID string, alert slack.MessageRef) error
	Respond(ctx context.Context, responseURL, text string) error
}

// SlackBudget bounds the work done for one request from Slack, which
// gives up on an answer after three seconds.
const SlackBudget = 2500 * time.Millisecond

// slackWebhook takes a request from Slack: POST /webhooks/slack. Only a
// request signed with the app's signing secret, within five minutes of
// now, is read; anything else is a 401 and changes nothing. A verified
// request from someone the directory does not map is answered and not
// acted on.
func (h *Handler) slackWebhook(w http.ResponseWriter, r *http.Request, _ string) error {
	body, err := readBody(w, r)
	if err != nil {
		return err
	}
	if h.slack == nil || h.slack.Inbound == nil {
		slog.WarnContext(r.Context(), "slack request refused: Slack is not configured")
		return incident.Errorf(incident.EUnauthorized, "the request is not signed by Slack")
	}
	ctx, cancel := context.WithTimeout(r.Context(), SlackBudget)
	defer cancel()
	cmd, err := h.slack.Inbound.Parse(ctx, r.Header, body)
	if err != nil {
		return h.slackRefusal(ctx, w, err)
	}
	h.writeSlack(ctx, w, cmd, h.slackAct(ctx, cmd))
	return nil
}

// slackRefusal answers a request Parse refused: 401 for one that is not
// Slack's, the user's answer for one from someone who may not act.
func (h *Handler) slackRefusal(ctx context.Context, w http.ResponseWriter, err error) error {
	var (
		unverified *slack.UnverifiedError
		malformed  *slack.MalformedError
		user       *slack.UserError
	)
	switch {
	case errors.As(err, &unverified):
		slog.WarnContext(ctx, "slack request refused", "reason", unverified.Reason)
		return incident.Errorf(incident.EUnauthorized, "the request is not signed by Slack")
	case errors.As(err, &malformed):
		return incident.Errorf(incident.EInvalid, "%s", malformed.Reason)
	case errors.As(err, &user):
		slog.InfoContext(ctx, "slack request answered, not acted on", "slackUser", user.SlackUserID, "reason", user.Message)
		h.writeReply(ctx, w, slack.ErrorReply(err))
		return nil
	}
	return fmt.Errorf("slack request: %w", err)
}

// slackAct does what the command asks, as its responder, and returns the
// words to answer with ("" for none).
func (h *Handler) slackAct(ctx context.Context, cmd slack.Command) string {
	actor, refusal := slackActor(cmd)
	if refusal != "" && cmd.Kind != slack.CommandHelp && cmd.Kind != slack.CommandIgnore {
		return refusal
	}
	var err error
	switch cmd.Kind {
	case slack.CommandAcknowledge:
		var inc incident.Incident
		if inc, err = h.svc.Acknowledge(ctx, actor, cmd.IncidentID, response.Acknowledgement{}); err == nil {
			return fmt.Sprintf("You acknowledged %s (%s %s).", inc.ID, inc.Severity, inc.Service)
		}
	case slack.CommandAskRootCause:
		if h.slack.Responder == nil {
			return "Resolve it with POST /incidents/" + cmd.IncidentID + "/resolve and a root cause: the resolve form is not available."
		}
		if err = h.slack.Responder.OpenResolveModal(ctx, cmd.TriggerID, cmd.IncidentID, cmd.Alert); err == nil {
			return ""
		}
	case slack.CommandResolve:
		if _, err = h.svc.Resolve(ctx, actor, cmd.IncidentID, response.Resolution{RootCause: cmd.RootCause, Summary: cmd.Summary}); err == nil {
			return ""
		}
	case slack.CommandReport:
		var inc incident.Incident
		rep := response.Report{Title: cmd.Title, Service: cmd.Service, Severity: string(cmd.Severity), Category: string(incident.Other), Description: cmd.Description}
		if inc, err = h.svc.Report(ctx, actor, rep); err == nil {
			return fmt.Sprintf("Reported %s: %s %s %s. On-call is being paged; follow it in the incident's thread.", inc.ID, inc.Severity, inc.Service, inc.Title)
		}
	case slack.CommandHelp:
		return cmd.Help
	}
	if err != nil {
		return slackFailure(ctx, cmd, err)
	}
	return ""
}

// slackActor is the command's responder as the timeline names them, and
// why they may not act, if they may not.
func slackActor(cmd slack.Command) (actor, refusal string) {
	role := auth.Responder
	if cmd.Responder.Role != "" {
		var err error
		if role, err = auth.ParseRole(cmd.Responder.Role); err != nil {
			return "", "Your role in incident response's Slack directory is not one it knows; nothing was changed."
		}
	}
	if !role.Allows(auth.Responder) {
		return "", "Your role (" + role.String() + ") may read incidents but not change them; nothing was changed."
	}
	id := auth.Identity{Subject: "slack:" + cmd.SlackUserID, Email: cmd.Responder.Email, EmailVerified: cmd.Responder.Email != "", Name: cmd.Responder.Name, Role: role}
	return id.Actor(), ""
}

// slackFailure words a failed action for the user who asked: the
// domain's message for what they can do something about, a generic one
// (and the log) for the rest.
func slackFailure(ctx context.Context, cmd slack.Command, err error) string {
	switch incident.ErrorCode(err) {
	case incident.EConflict, incident.EInvalid, incident.ENotFound:
		return "Nothing was changed: " + incident.ErrorMessage(err)
	}
	slog.ErrorContext(ctx, "slack action failed", "kind", cmd.Kind, "incidentId", cmd.IncidentID, "err", err)
	if errors.Is(err, context.DeadlineExceeded) {
		return "That took too long to confirm; check the incident before trying again."
	}
	return "Something went wrong and nothing may have changed; try again, or use the API."
}

// writeSlack answers the command on its surface.
func (h *Handler) writeSlack(ctx context.Context, w http.ResponseWriter, cmd slack.Command, text string) {
	if cmd.Kind == slack.CommandIgnore {
		writeJSON(w, http.StatusOK, struct{}{})
		return
	}
	h.writeReply(ctx, w, cmd.Reply(text))
}

// writeReply writes a reply and, for a button, posts its words to the
// response_url, since Slack ignores the HTTP answer to one.
func (h *Handler) writeReply(ctx context.Context, w http.ResponseWriter, rep slack.Reply) {
	if rep.FollowUp != "" && rep.ResponseURL != "" && h.slack != nil && h.slack.Responder != nil {
		if err := h.slack.Responder.Respond(ctx, rep.ResponseURL, rep.FollowUp); err != nil {
			slog.WarnContext(ctx, "answer a Slack button", "err", err)
		}
	}
	body := rep.Body
	if body == nil {
		// An empty modal answer closes it; the rest is ignored by Slack.
		body = []byte(`{"response_action":"clear"}`)
		if rep.ResponseURL != "" || rep.FollowUp != "" {
			body = []byte(`{}`)
		}
	}
	var v any
	if json.Unmarshal(body, &v) != nil {
		v = map[string]string{}
	}
	writeJSON(w, rep.Status, v)
}
