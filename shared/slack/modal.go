package slack

import (
	"context"
	"encoding/json"
	"strings"

	slackgo "github.com/slack-go/slack"

	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/notify"
)

// The IDs of the modal the Resolve button opens. Its view_submission
// carries them back.
const (
	ResolveCallbackID = "incident_resolve"
	RootCauseBlockID  = "root_cause"
	RootCauseActionID = "root_cause_input"
	SummaryBlockID    = "resolution_summary"
	SummaryActionID   = "resolution_summary_input"
	// MaxRootCause bounds the root cause and summary a responder types.
	MaxRootCause = 2000
)

// resolveMetadata is the modal's private_metadata: which incident, and
// which alert to update once it is resolved.
type resolveMetadata struct {
	IncidentID string     `json:"incident"`
	Alert      MessageRef `json:"alert"`
}

// ResolveModal is the modal that asks a responder for the root cause (the
// runbook's resolution template needs it) and a summary of what was done.
func ResolveModal(incidentID string, alert MessageRef) slackgo.ModalViewRequest {
	meta, _ := json.Marshal(resolveMetadata{IncidentID: incidentID, Alert: alert})
	rootCause := slackgo.NewPlainTextInputBlockElement(plain("What caused it, in a sentence or two"), RootCauseActionID)
	rootCause.Multiline = true
	rootCause.MaxLength = MaxRootCause
	summary := slackgo.NewPlainTextInputBlockElement(plain("e.g. Rolled back the 02:40 deploy"), SummaryActionID)
	summary.Multiline = true
	summary.MaxLength = MaxRootCause
	summaryBlock := slackgo.NewInputBlock(SummaryBlockID, plain("What was done"), nil, summary)
	summaryBlock.Optional = true
	return slackgo.ModalViewRequest{
		Type:            slackgo.VTModal,
		CallbackID:      ResolveCallbackID,
		Title:           plain("Resolve incident"),
		Submit:          plain("Resolve"),
		Close:           plain("Cancel"),
		PrivateMetadata: string(meta),
		Blocks: slackgo.Blocks{BlockSet: []slackgo.Block{
			slackgo.NewSectionBlock(slackgo.NewTextBlockObject(slackgo.MarkdownType, "Resolving *"+notify.Escape(incidentID)+"*. The root cause goes into the resolution message and the post-mortem.", false, false), nil, nil),
			slackgo.NewInputBlock(RootCauseBlockID, plain("Root cause"), nil, rootCause),
			summaryBlock,
		}},
	}
}

// OpenResolveModal opens ResolveModal for the user who pressed Resolve;
// triggerID is the block_actions payload's, valid for three seconds.
func (n *Notifier) OpenResolveModal(ctx context.Context, triggerID, incidentID string, alert MessageRef) error {
	return n.call(ctx, "views.open", func(ctx context.Context) error {
		_, err := n.api.OpenViewContext(ctx, triggerID, ResolveModal(incidentID, alert))
		return err
	})
}

// Respond posts text to a response_url from an interaction or a slash
// command, seen only by the user who acted: how a block action's outcome
// (or refusal) reaches them, since Slack ignores the HTTP answer to one.
func (n *Notifier) Respond(ctx context.Context, responseURL, text string) error {
	allowed := false
	for _, p := range n.opts.ResponseURLPrefixes {
		allowed = allowed || strings.HasPrefix(responseURL, p)
	}
	if !allowed {
		return incident.Errorf(incident.EInvalid, "response_url %q is not Slack's", responseURL)
	}
	err := slackgo.PostWebhookCustomHTTPContext(ctx, responseURL, n.opts.HTTPClient, &slackgo.WebhookMessage{
		ResponseType: slackgo.ResponseTypeEphemeral, Text: text, ReplaceOriginal: false,
	})
	return classify("response_url", err)
}

func plain(s string) *slackgo.TextBlockObject {
	return slackgo.NewTextBlockObject(slackgo.PlainTextType, s, false, false)
}
