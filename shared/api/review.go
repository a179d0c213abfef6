package api

import (
	"context"
	"fmt"
	"mime"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/metrics"
	"github.com/dashboarduz/incident-response/shared/postmortem"
	"github.com/dashboarduz/incident-response/shared/response"
)

// PostMortems is what the post-mortem routes do; shared/response's
// PostMortems implements it. actor is the caller as the timeline shows
// them.
type PostMortems interface {
	PostMortem(ctx context.Context, id string) (response.PostMortemDocument, error)
	PostMortemDraft(ctx context.Context, id string) ([]byte, error)
	AddActionItem(ctx context.Context, actor, id string, r response.ActionItemRequest) (response.PostMortemDocument, error)
	AssignActionItem(ctx context.Context, actor, id, item string, r response.AssignmentRequest) (response.PostMortemDocument, error)
	CloseActionItem(ctx context.Context, actor, id, item string) (response.PostMortemDocument, error)
	CompletePostMortem(ctx context.Context, actor, id string) (response.PostMortemDocument, error)
}

// MetricsSummary answers GET /metrics/summary; shared/response's
// Summaries implements it. from and to are the query parameters as sent.
type MetricsSummary interface {
	Summary(ctx context.Context, from, to string) (metrics.Summary, error)
}

// markdownType is the draft's media type (RFC 7763).
const markdownType = "text/markdown; charset=utf-8"

// itemPattern is the shape of an action item ID in a path: AI-1, AI-2, ...
// in any case.
var itemPattern = regexp.MustCompile(`^[Aa][Ii]-[1-9][0-9]{0,5}$`)

// dueAtPattern is a date (YYYY-MM-DD) or an RFC 3339 time, as openapi.yaml
// states it; postmortem.ParseDueAt and metrics.ParseSummaryRange then read
// the value.
var dueAtPattern = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2}))?$`)

// notConfigured answers a route whose part of the system this handler was
// built without.
func notConfigured(r *http.Request) error {
	return incident.Errorf(incident.ENotFound, "%s %s is not served here", r.Method, r.URL.Path)
}

// pathItem returns the request's {item}, checked against itemPattern.
func pathItem(r *http.Request) (string, error) {
	item := r.PathValue("item")
	if !itemPattern.MatchString(item) {
		return "", incident.FieldErrorf("item", "item must be an action item ID such as AI-1")
	}
	return strings.ToUpper(item), nil
}

// checkDate checks an optional date or date-time field's shape.
func checkDate(field, v string) error {
	if v == "" || dueAtPattern.MatchString(v) {
		return nil
	}
	return incident.FieldErrorf(field, "%s %q is neither a date (2026-03-10) nor an RFC 3339 time (2026-03-10T12:00:00Z)", field, v)
}

// wantsMarkdown reports whether the request's Accept header prefers the
// Markdown draft to JSON: text/markdown has a higher quality than
// application/json, each taken from the most specific range that matches
// it (RFC 9110, 12.5.1). JSON is the default, as on every other route.
func wantsMarkdown(r *http.Request) bool {
	accept := r.Header.Get("Accept")
	md := acceptQuality(accept, "text", "markdown")
	return md > 0 && md > acceptQuality(accept, "application", "json")
}

// acceptQuality is the quality an Accept header gives the media type
// typ/sub: that of the most specific range matching it, 0 when none does;
// no header accepts everything.
func acceptQuality(accept, typ, sub string) float64 {
	if strings.TrimSpace(accept) == "" {
		return 1
	}
	q, specificity := 0.0, -1
	for part := range strings.SplitSeq(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		t, st, _ := strings.Cut(mt, "/")
		s := -1
		switch {
		case t == typ && st == sub:
			s = 2
		case t == typ && st == "*":
			s = 1
		case t == "*" && st == "*":
			s = 0
		}
		if s <= specificity {
			continue
		}
		q, specificity = 1, s
		if v, ok := params["q"]; ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				q = f
			}
		}
	}
	return q
}

// postMortem answers an incident's post-mortem: GET
// /incidents/{id}/postmortem. The JSON document by default; the Markdown
// draft when Accept asks for text/markdown.
func (h *Handler) postMortem(w http.ResponseWriter, r *http.Request, _ string) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if h.postMortems == nil {
		return notConfigured(r)
	}
	w.Header().Set("Vary", "Accept")
	if !wantsMarkdown(r) {
		return answerPostMortem(w, http.StatusOK)(h.postMortems.PostMortem(r.Context(), id))
	}
	md, err := h.postMortems.PostMortemDraft(r.Context(), id)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", markdownType)
	w.Header().Set("Content-Disposition", fmt.Sprintf("inline; filename=%q", "postmortem-"+id+".md"))
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(md)
	return nil
}

// addActionItem adds an action item: POST
// /incidents/{id}/postmortem/action-items.
func (h *Handler) addActionItem(w http.ResponseWriter, r *http.Request, actor string) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var req response.ActionItemRequest
	if err := decodeBody(w, r, &req, false); err != nil {
		return err
	}
	if err := firstError(required("title", req.Title), checkDate("dueAt", req.DueAt)); err != nil {
		return err
	}
	if h.postMortems == nil {
		return notConfigured(r)
	}
	return answerPostMortem(w, http.StatusCreated)(h.postMortems.AddActionItem(r.Context(), actor, id, req))
}

// assignActionItem gives an action item an owner and, optionally, a due
// date: POST /incidents/{id}/postmortem/action-items/{item}/assign.
func (h *Handler) assignActionItem(w http.ResponseWriter, r *http.Request, actor string) error {
	id, item, err := pathIDAndItem(r)
	if err != nil {
		return err
	}
	var req response.AssignmentRequest
	if err := decodeBody(w, r, &req, false); err != nil {
		return err
	}
	if err := firstError(required("owner", req.Owner), checkDate("dueAt", req.DueAt)); err != nil {
		return err
	}
	if h.postMortems == nil {
		return notConfigured(r)
	}
	return answerPostMortem(w, http.StatusOK)(h.postMortems.AssignActionItem(r.Context(), actor, id, item, req))
}

// noBody is the body of the routes that take none; an empty JSON object
// is accepted too.
type noBody struct{}

// closeActionItem closes an action item: POST
// /incidents/{id}/postmortem/action-items/{item}/close.
func (h *Handler) closeActionItem(w http.ResponseWriter, r *http.Request, actor string) error {
	id, item, err := pathIDAndItem(r)
	if err != nil {
		return err
	}
	if err := decodeBody(w, r, &noBody{}, true); err != nil {
		return err
	}
	if h.postMortems == nil {
		return notConfigured(r)
	}
	return answerPostMortem(w, http.StatusOK)(h.postMortems.CloseActionItem(r.Context(), actor, id, item))
}

// completePostMortem completes the post-mortem: POST
// /incidents/{id}/postmortem/complete.
func (h *Handler) completePostMortem(w http.ResponseWriter, r *http.Request, actor string) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if err := decodeBody(w, r, &noBody{}, true); err != nil {
		return err
	}
	if h.postMortems == nil {
		return notConfigured(r)
	}
	return answerPostMortem(w, http.StatusOK)(h.postMortems.CompletePostMortem(r.Context(), actor, id))
}

// pathIDAndItem returns the request's {id} and {item}.
func pathIDAndItem(r *http.Request) (string, string, error) {
	id, err := pathID(r)
	if err != nil {
		return "", "", err
	}
	item, err := pathItem(r)
	return id, item, err
}

// answerPostMortem returns a function that writes a post-mortem with
// status, or returns the call's error.
func answerPostMortem(w http.ResponseWriter, status int) func(response.PostMortemDocument, error) error {
	return func(d response.PostMortemDocument, err error) error {
		if err != nil {
			return err
		}
		if d.ActionItems == nil {
			d.ActionItems = []postmortem.ActionItem{}
		}
		writeJSON(w, status, d)
		return nil
	}
}

// metricsSummary answers MTTA, MTTR and target attainment per severity:
// GET /metrics/summary?from=&to=.
func (h *Handler) metricsSummary(w http.ResponseWriter, r *http.Request, _ string) error {
	q := r.URL.Query()
	if err := firstError(checkDate("from", q.Get("from")), checkDate("to", q.Get("to"))); err != nil {
		return err
	}
	if h.metrics == nil {
		return notConfigured(r)
	}
	sum, err := h.metrics.Summary(r.Context(), q.Get("from"), q.Get("to"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, sum)
	return nil
}

// statusPage serves the public status page: GET /status, /status.json and
// /status.atom, open to anyone. The page's own handler answers, with its
// cache headers and its 304s; it reads only what responders published.
func (h *Handler) statusPage(w http.ResponseWriter, r *http.Request, _ string) error {
	if h.status == nil {
		return notConfigured(r)
	}
	h.status.ServeHTTP(w, r)
	return nil
}
