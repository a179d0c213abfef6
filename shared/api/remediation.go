package api

import (
	"context"
	"net/http"

	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/response"
)

// triage answers the triage report of an incident's current episode:
// GET /incidents/{id}/triage.
func (h *Handler) triage(w http.ResponseWriter, r *http.Request, _ string) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	report, err := h.svc.Triage(r.Context(), id)
	if err != nil {
		return err
	}
	if report.Parts == nil {
		report.Parts = []incident.TriagePart{}
	}
	writeJSON(w, http.StatusOK, report)
	return nil
}

// pathAction returns the request's {action}, one of the remediations.
func pathAction(r *http.Request) (string, error) {
	a, err := incident.ParseRemediationAction(r.PathValue("action"))
	return string(a), err
}

// approveAction approves a remediation that waits for approval: POST
// /incidents/{id}/actions/{action}/approve. The body is optional.
func (h *Handler) approveAction(w http.ResponseWriter, r *http.Request, actor string) error {
	return h.decideAction(w, r, actor, h.svc.ApproveAction)
}

// rejectAction rejects a remediation that waits for approval: POST
// /incidents/{id}/actions/{action}/reject. The body is optional.
func (h *Handler) rejectAction(w http.ResponseWriter, r *http.Request, actor string) error {
	return h.decideAction(w, r, actor, h.svc.RejectAction)
}

// actionDecider is ApproveAction or RejectAction.
type actionDecider func(ctx context.Context, actor, id, action string, d response.ActionDecision) (incident.Incident, error)

func (h *Handler) decideAction(w http.ResponseWriter, r *http.Request, actor string, decide actionDecider) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	action, err := pathAction(r)
	if err != nil {
		return err
	}
	var d response.ActionDecision
	if err := decodeBody(w, r, &d, true); err != nil {
		return err
	}
	return answerIncident(w)(decide(r.Context(), actor, id, action, d))
}

// killSwitch answers the remediation kill switch in effect: GET
// /remediation/kill-switch.
func (h *Handler) killSwitch(w http.ResponseWriter, r *http.Request, _ string) error {
	k, err := h.svc.KillSwitch(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, k)
	return nil
}

// setKillSwitch turns the remediation kill switch on or off: PUT
// /remediation/kill-switch (admin).
func (h *Handler) setKillSwitch(w http.ResponseWriter, r *http.Request, actor string) error {
	var c response.KillSwitchChange
	if err := decodeBody(w, r, &c, false); err != nil {
		return err
	}
	if c.On == nil {
		return incident.FieldErrorf("on", "on is required: true stops all automatic remediation, false lets it resume")
	}
	k, err := h.svc.SetKillSwitch(r.Context(), actor, c)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, k)
	return nil
}
