package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"

	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/sentry"
)

// MaxSentryBodyBytes bounds a Sentry webhook's body, above MaxBodyBytes:
// an issue alert carries the whole Sentry event, stack traces and
// breadcrumbs included, which often passes 64 KiB.
const MaxSentryBodyBytes = 1 << 20

// SignalIngester applies a signal to the incidents: opens, joins or
// recovers one and starts its escalation. *ingest.Handler implements it.
type SignalIngester interface {
	Ingest(ctx context.Context, sig incident.Signal) (incident.Outcome, error)
}

// SentryConfig is what POST /webhooks/sentry needs: the integration's
// client secrets, the mapping of projects and levels, and the ingester
// its signals go to. The zero value refuses every delivery with 401.
type SentryConfig struct {
	// Secrets are client secrets known at start (local mode). A delivery
	// signed with any of them, or of SecretSource's, is accepted, so a
	// secret can be rotated without refusing deliveries.
	Secrets []string
	// SecretSource, when set, is asked for the client secrets when a
	// signature matches none of Secrets, so a secret stored or rotated
	// after the function started is picked up without a restart. It
	// should cache what it reads (secrets.WebhookSecretStore does).
	SecretSource WebhookSecretSource
	// Mapping maps Sentry projects to services and levels to severities;
	// nil means sentry.DefaultMapping().
	Mapping *sentry.Mapping
	// Ingester takes the signals; a verified delivery without one is a
	// 500, so wiring that forgot it shows at the first webhook.
	Ingester SignalIngester
}

// SentryWebhookResult is the answer to a Sentry webhook that was taken:
// what its signal did to the incidents (the route, the incident, why),
// and, when the signal changed nothing, the reason again as Ignored.
type SentryWebhookResult struct {
	Route      incident.RouteKind `json:"route"`
	IncidentID string             `json:"incidentId,omitempty"`
	Reason     string             `json:"reason"`
	Ignored    string             `json:"ignored,omitempty"`
}

// sentryWebhook takes a Sentry integration-platform webhook: POST
// /webhooks/sentry. Nothing of a delivery is read before its signature
// is checked; an unsigned, badly signed or stale one is 401 and a
// malformed one, or a resource or action this system does not read, 400,
// and nothing else happens. A verified delivery becomes a signal that
// ingest applies, as it does an alarm's; one that is no incident (an
// assignment, an info-level issue, an installation) is answered 200 with
// the reason. A failure to ingest is a 500.
func (h *Handler) sentryWebhook(w http.ResponseWriter, r *http.Request, _ string) error {
	body, err := readBodyUpTo(w, r, MaxSentryBodyBytes)
	if err != nil {
		return err
	}
	d, err := h.verifySentry(r, body)
	if err != nil {
		slog.WarnContext(r.Context(), "sentry webhook refused", "error", err, "requestId", r.Header.Get(sentry.HeaderRequestID))
		return err
	}
	if err := checkJSONContentType(r); err != nil {
		return err
	}
	mapping := sentry.DefaultMapping()
	if h.sentry.Mapping != nil {
		mapping = *h.sentry.Mapping
	}
	sig, err := sentry.Decode(d, mapping)
	if err != nil {
		slog.WarnContext(r.Context(), "sentry webhook refused", "error", err, "resource", d.Resource, "requestId", d.RequestID)
		return err
	}
	if h.sentry.Ingester == nil {
		return fmt.Errorf("sentry webhook %s: no ingester is configured", d.RequestID)
	}
	out, err := h.sentry.Ingester.Ingest(r.Context(), sig)
	if err != nil {
		// Hide the code: a store's conflict or not-found here is ours to
		// fix, not the caller's.
		return fmt.Errorf("sentry webhook %s (%s %s): %w", d.RequestID, d.Resource, sig.EventID, internal{err})
	}
	res := SentryWebhookResult{Route: out.Route, IncidentID: out.IncidentID, Reason: out.Reason}
	if out.Route == incident.RouteIgnore {
		res.Ignored = out.Reason
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

// verifySentry checks the delivery with the secrets known, and when its
// signature matches none of them, with the secret source's.
func (h *Handler) verifySentry(r *http.Request, body []byte) (sentry.Delivery, error) {
	v := sentry.Verifier{Secrets: h.sentry.Secrets, Clock: h.clock}
	d, err := v.Verify(r.Header, body)
	var we *sentry.WebhookError
	if err == nil || h.sentry.SecretSource == nil || !errors.As(err, &we) || we.Kind != sentry.BadSignature {
		return d, err
	}
	more, serr := h.sentry.SecretSource.WebhookSecrets(r.Context())
	if serr != nil {
		slog.ErrorContext(r.Context(), "read the Sentry client secrets", "error", serr)
		return d, err
	}
	v.Secrets = append(slices.Clone(h.sentry.Secrets), more...)
	return v.Verify(r.Header, body)
}
