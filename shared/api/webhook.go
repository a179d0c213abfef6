package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/PagerDuty/go-pagerduty/webhookv3"

	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/response"
)

// webhookPayload is the part of a PagerDuty v3 webhook the API reads.
// PagerDuty sends many more fields; they are ignored, not refused.
type webhookPayload struct {
	Event webhookEvent `json:"event"`
}

// webhookEvent is a v3 webhook's event.
type webhookEvent struct {
	ID           string    `json:"id"`
	EventType    string    `json:"event_type"`
	ResourceType string    `json:"resource_type"`
	OccurredAt   time.Time `json:"occurred_at"`
	// Agent is who acted; PagerDuty sends null when nobody did (an
	// integration resolved the incident).
	Agent *struct {
		ID      string `json:"id"`
		Type    string `json:"type"`
		Summary string `json:"summary"`
	} `json:"agent"`
	Data struct {
		ID          string `json:"id"`
		Type        string `json:"type"`
		IncidentKey string `json:"incident_key"`
		Status      string `json:"status"`
		Title       string `json:"title"`
	} `json:"data"`
}

// webhookResult is the body of a 200 answer to a webhook.
type webhookResult struct {
	Status  string `json:"status,omitempty"`
	Ignored string `json:"ignored,omitempty"`
}

// handledEvents are the event types the service acts on.
var handledEvents = map[string]bool{
	"incident.acknowledged": true,
	"incident.resolved":     true,
}

// pagerDutyWebhook takes a PagerDuty v3 webhook: POST /webhooks/pagerduty.
// Only a webhook signed with one of the secrets is read. A failure that a
// redelivery could cure is answered 500, so PagerDuty retries; an event
// that concerns none of our incidents is answered 200, so it does not.
func (h *Handler) pagerDutyWebhook(w http.ResponseWriter, r *http.Request, _ string) error {
	body, err := readBody(w, r)
	if err != nil {
		return err
	}
	if !h.signedByUs(r, body) {
		slog.WarnContext(r.Context(), "pagerduty webhook refused: signature missing or not made with a configured secret",
			"secrets", len(h.secrets))
		return incident.Errorf(incident.EUnauthorized, "missing or invalid X-PagerDuty-Signature")
	}
	if err := checkJSONContentType(r); err != nil {
		return err
	}
	e, err := decodeWebhook(body)
	if err != nil {
		return err
	}
	if !handledEvents[e.EventType] {
		writeJSON(w, http.StatusOK, webhookResult{Ignored: fmt.Sprintf("event type %q is not acted on", e.EventType)})
		return nil
	}
	if e.Data.IncidentKey == "" {
		writeJSON(w, http.StatusOK, webhookResult{Ignored: "the PagerDuty incident has no incident_key, so it is not one of our pages"})
		return nil
	}
	if _, _, _, ours := incident.ParsePageDedupKey(e.Data.IncidentKey); !ours {
		// Another integration's incident on the same PagerDuty service:
		// answered 200 so that PagerDuty does not redeliver it.
		writeJSON(w, http.StatusOK, webhookResult{Ignored: fmt.Sprintf("incident_key %q is not one of our pages", e.Data.IncidentKey)})
		return nil
	}
	ev := response.PagerDutyEvent{
		ID:          e.ID,
		Type:        e.EventType,
		IncidentKey: e.Data.IncidentKey,
		OccurredAt:  e.OccurredAt,
	}
	if e.Agent != nil {
		ev.Agent = e.Agent.Summary
	}
	if ev.OccurredAt.IsZero() {
		ev.OccurredAt = h.clock.Now()
	}
	err = h.svc.PagerDutyWebhook(r.Context(), ev)
	switch incident.ErrorCode(err) {
	case "":
		writeJSON(w, http.StatusOK, webhookResult{Status: "ok"})
		return nil
	case incident.ENotFound:
		// A key shaped as ours that names no incident, or a level the
		// incident never paged: 404, and nothing changes.
		slog.WarnContext(r.Context(), "pagerduty webhook names no page of ours",
			"eventId", e.ID, "eventType", e.EventType, "incidentKey", e.Data.IncidentKey, "err", err)
		return err
	}
	// Whatever the code, a redelivery is the only cure PagerDuty has, so
	// answer 500 (fail logs the detail).
	return fmt.Errorf("pagerduty webhook %s (%s) for %s: %w", e.ID, e.EventType, e.Data.IncidentKey, internal{err})
}

// decodeWebhook reads a v3 webhook body. Fields the API does not read are
// ignored, not refused: PagerDuty adds fields over time. Any failure is an
// EInvalid error that says where the body is wrong.
func decodeWebhook(body []byte) (webhookEvent, error) {
	var p webhookPayload
	if err := json.Unmarshal(body, &p); err != nil {
		return webhookEvent{}, jsonError(body, &p, err)
	}
	return p.Event, nil
}

// internal hides an error's code, so fail answers it as a 500.
type internal struct{ err error }

func (e internal) Error() string { return e.err.Error() }

// signedByUs reports whether the request's X-PagerDuty-Signature was made
// with one of the configured secrets.
func (h *Handler) signedByUs(r *http.Request, body []byte) bool {
	if signedWith(r, body, h.secrets) {
		return true
	}
	if h.source == nil {
		return false
	}
	secrets, err := h.source.WebhookSecrets(r.Context())
	if err != nil {
		slog.ErrorContext(r.Context(), "read the webhook signing secrets", "error", err)
		return false
	}
	return signedWith(r, body, secrets)
}

// signedWith reports whether the request carries a signature of body made
// with one of secrets.
func signedWith(r *http.Request, body []byte, secrets []string) bool {
	for _, secret := range secrets {
		if secret == "" {
			continue
		}
		// VerifySignature reads the body; give each attempt a fresh copy.
		r.Body = io.NopCloser(bytes.NewReader(body))
		if webhookv3.VerifySignature(r, secret) == nil {
			return true
		}
	}
	return false
}
