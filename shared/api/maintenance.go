package api

import (
	"net/http"
	"net/url"

	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/response"
)

// windowList is the body of GET /maintenance-windows.
type windowList struct {
	Windows []incident.MaintenanceWindow `json:"windows"`
}

// maintenanceWindows answers the maintenance windows, of one service when
// the query names it: GET /maintenance-windows.
func (h *Handler) maintenanceWindows(w http.ResponseWriter, r *http.Request, _ string) error {
	q := r.URL.Query()
	if q.Has("service") {
		if err := checkServiceFilter(q.Get("service")); err != nil {
			return err
		}
	}
	ws, err := h.svc.MaintenanceWindows(r.Context(), q.Get("service"))
	if err != nil {
		return err
	}
	if ws == nil {
		ws = []incident.MaintenanceWindow{}
	}
	writeJSON(w, http.StatusOK, windowList{Windows: ws})
	return nil
}

// scheduleMaintenance schedules a maintenance window: POST
// /maintenance-windows.
func (h *Handler) scheduleMaintenance(w http.ResponseWriter, r *http.Request, actor string) error {
	var m response.MaintenanceRequest
	if err := decodeBody(w, r, &m, false); err != nil {
		return err
	}
	err := firstError(
		required("service", m.Service),
		requiredTime("start", m.Start.IsZero()),
		requiredTime("end", m.End.IsZero()),
	)
	if err != nil {
		return err
	}
	win, err := h.svc.ScheduleMaintenance(r.Context(), actor, m)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/maintenance-windows/"+url.PathEscape(win.ID))
	writeJSON(w, http.StatusCreated, win)
	return nil
}

// requiredTime reports a missing date-time field.
func requiredTime(field string, zero bool) error {
	if zero {
		return incident.FieldErrorf(field, "%s is required", field)
	}
	return nil
}

// endMaintenance ends a maintenance window now: DELETE
// /maintenance-windows/{id}.
func (h *Handler) endMaintenance(w http.ResponseWriter, r *http.Request, actor string) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	win, err := h.svc.EndMaintenance(r.Context(), actor, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, win)
	return nil
}
