package api

import (
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/response"
)

// idPattern is the shape of an incident or maintenance window ID in a
// path. Checking it here keeps a key DynamoDB would refuse (too long) from
// becoming a 500 instead of a 400.
var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$`)

// pathID returns the request's {id}, checked against idPattern.
func pathID(r *http.Request) (string, error) {
	id := r.PathValue("id")
	if !idPattern.MatchString(id) {
		return "", incident.FieldErrorf("id", "id must be 1 to 128 letters, digits, '.', '_', ':' or '-', starting with a letter or digit")
	}
	return id, nil
}

// required checks that a string field is present and not blank.
func required(field, v string) error {
	if strings.TrimSpace(v) == "" {
		return incident.FieldErrorf(field, "%s is required", field)
	}
	return nil
}

// checkSeverity checks a severity field with incident.ParseSeverity, whose
// message lists the allowed values.
func checkSeverity(field, v string) error {
	if _, err := incident.ParseSeverity(v); err != nil {
		return incident.FieldErrorf(field, "%s", incident.ErrorMessage(err))
	}
	return nil
}

// checkCategory checks a category field with incident.ParseCategory.
func checkCategory(field, v string) error {
	if _, err := incident.ParseCategory(v); err != nil {
		return incident.FieldErrorf(field, "%s", incident.ErrorMessage(err))
	}
	return nil
}

// firstError returns the first non-nil error: the checks of one request
// run in field order and the first problem is the one reported.
func firstError(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// checkServiceFilter checks a service named in a query: not empty, and
// text as checkTextField allows in a one-line field.
func checkServiceFilter(service string) error {
	if service == "" {
		return incident.FieldErrorf("service", "service must not be empty when given")
	}
	return checkTextField("service", service, false)
}

// maxIdempotencyKey bounds the Idempotency-Key header of a report.
const maxIdempotencyKey = 255

// report opens an incident from a user's report: POST /incidents. With an
// Idempotency-Key header, a retry returns the incident the first call
// opened.
func (h *Handler) report(w http.ResponseWriter, r *http.Request, actor string) error {
	var rep response.Report
	if err := decodeBody(w, r, &rep, false); err != nil {
		return err
	}
	err := firstError(
		required("title", rep.Title),
		required("service", rep.Service),
		required("severity", rep.Severity),
		checkSeverity("severity", rep.Severity),
		required("category", rep.Category),
		checkCategory("category", rep.Category),
		required("description", rep.Description),
	)
	if err != nil {
		return err
	}
	if rep.IdempotencyKey = r.Header.Get("Idempotency-Key"); len(rep.IdempotencyKey) > maxIdempotencyKey {
		return incident.FieldErrorf("Idempotency-Key", "the Idempotency-Key header is longer than %d characters", maxIdempotencyKey)
	}
	inc, err := h.svc.Report(r.Context(), actor, rep)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/incidents/"+url.PathEscape(inc.ID))
	writeJSON(w, http.StatusCreated, inc)
	return nil
}

// MaxListLimit is the most incidents one page of GET /incidents may ask for.
const MaxListLimit = 1000

// list answers one page of incidents: GET /incidents.
func (h *Handler) list(w http.ResponseWriter, r *http.Request, _ string) error {
	q := r.URL.Query()
	req := response.ListRequest{Cursor: q.Get("cursor")}
	if q.Has("status") {
		if _, err := incident.ParseStatus(q.Get("status")); err != nil {
			return incident.FieldErrorf("status", "%s", incident.ErrorMessage(err))
		}
		req.Status = q.Get("status")
	}
	if q.Has("severity") {
		if err := checkSeverity("severity", q.Get("severity")); err != nil {
			return err
		}
		req.Severity = q.Get("severity")
	}
	if q.Has("service") {
		if err := checkServiceFilter(q.Get("service")); err != nil {
			return err
		}
		req.Service = q.Get("service")
	}
	if q.Has("limit") {
		n, err := strconv.Atoi(q.Get("limit"))
		if err != nil || n < 1 || n > MaxListLimit {
			return incident.FieldErrorf("limit", "limit must be an integer from 1 to %d, not %q", MaxListLimit, q.Get("limit"))
		}
		req.Limit = n
	}
	list, err := h.svc.List(r.Context(), req)
	if err != nil {
		return err
	}
	if list.Incidents == nil {
		list.Incidents = []incident.Incident{}
	}
	writeJSON(w, http.StatusOK, list)
	return nil
}

// get answers an incident and its timeline: GET /incidents/{id}.
func (h *Handler) get(w http.ResponseWriter, r *http.Request, _ string) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	inc, err := h.svc.Get(r.Context(), id)
	if err != nil {
		return err
	}
	if inc.Timeline == nil {
		inc.Timeline = []incident.Entry{}
	}
	writeJSON(w, http.StatusOK, inc)
	return nil
}

// timeline answers a page of an incident's timeline: GET
// /incidents/{id}/timeline?before=&limit=.
func (h *Handler) timeline(w http.ResponseWriter, r *http.Request, _ string) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	limit := 0
	if q.Has("limit") {
		n, err := strconv.Atoi(q.Get("limit"))
		if err != nil || n < 1 || n > incident.MaxTimelinePage {
			return incident.FieldErrorf("limit", "limit must be an integer from 1 to %d, not %q", incident.MaxTimelinePage, q.Get("limit"))
		}
		limit = n
	}
	page, err := h.svc.Timeline(r.Context(), id, q.Get("before"), limit)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}

// acknowledge takes an incident on: POST /incidents/{id}/acknowledge. The
// body is optional.
func (h *Handler) acknowledge(w http.ResponseWriter, r *http.Request, actor string) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var a response.Acknowledgement
	if err := decodeBody(w, r, &a, true); err != nil {
		return err
	}
	return answerIncident(w)(h.svc.Acknowledge(r.Context(), actor, id, a))
}

// postUpdate records a responder's update: POST /incidents/{id}/updates.
func (h *Handler) postUpdate(w http.ResponseWriter, r *http.Request, actor string) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var u response.StatusUpdate
	if err := decodeBody(w, r, &u, false); err != nil {
		return err
	}
	if err := required("status", u.Status); err != nil {
		return err
	}
	// Acknowledging and resolving have routes of their own.
	if _, err := incident.ParseUpdateStatus(u.Status); err != nil {
		return incident.FieldErrorf("status", "%s", incident.ErrorMessage(err))
	}
	if err := required("message", u.Message); err != nil {
		return err
	}
	return answerIncident(w)(h.svc.PostUpdate(r.Context(), actor, id, u))
}

// changeSeverity changes an incident's severity: POST
// /incidents/{id}/severity.
func (h *Handler) changeSeverity(w http.ResponseWriter, r *http.Request, actor string) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var c response.SeverityChange
	if err := decodeBody(w, r, &c, false); err != nil {
		return err
	}
	if err := firstError(required("severity", c.Severity), checkSeverity("severity", c.Severity)); err != nil {
		return err
	}
	return answerIncident(w)(h.svc.ChangeSeverity(r.Context(), actor, id, c))
}

// escalate pages the next (or a named) escalation level: POST
// /incidents/{id}/escalate.
func (h *Handler) escalate(w http.ResponseWriter, r *http.Request, actor string) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var e response.Escalation
	if err := decodeBody(w, r, &e, false); err != nil {
		return err
	}
	return answerIncident(w)(h.svc.Escalate(r.Context(), actor, id, e))
}

// resolve closes an incident: POST /incidents/{id}/resolve.
func (h *Handler) resolve(w http.ResponseWriter, r *http.Request, actor string) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var res response.Resolution
	if err := decodeBody(w, r, &res, false); err != nil {
		return err
	}
	if err := required("rootCause", res.RootCause); err != nil {
		return err
	}
	return answerIncident(w)(h.svc.Resolve(r.Context(), actor, id, res))
}

// answerIncident returns a function that writes a service call's incident,
// or returns its error, so a route can end with one line.
func answerIncident(w http.ResponseWriter) func(incident.Incident, error) error {
	return func(inc incident.Incident, err error) error {
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, inc)
		return nil
	}
}
