package pagerdutylocal

import (
	"cmp"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// OnCallsPath is the REST API path that lists on-call entries.
const OnCallsPath = "/oncalls"

// restBase is the address the REST API's self and html_url links use.
const restBase = "https://api.pagerduty.com"

// OnCall is one entry of the local roster: a user on call at one level of
// a PagerDuty escalation policy, from Start to End (zero for always).
type OnCall struct {
	EscalationPolicyID   string
	EscalationPolicyName string
	// Level is the escalation rule's level in the policy, 1 first.
	Level     uint
	UserID    string
	UserName  string
	UserEmail string
	// ScheduleID is the schedule that puts the user on call, "" when the
	// policy names the user directly.
	ScheduleID string
	Start, End time.Time
}

// roster is the state behind GET /oncalls.
type roster struct {
	entries  []OnCall
	token    string
	failures []Failure
	requests int
}

// SetOnCalls sets the roster GET /oncalls answers from.
func (r *Recorder) SetOnCalls(entries []OnCall) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.roster.entries = append([]OnCall(nil), entries...)
}

// SetAPIToken makes GET /oncalls accept only this REST API token; empty
// accepts any, as long as one is sent.
func (r *Recorder) SetAPIToken(token string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.roster.token = token
}

// FailNextOnCalls makes the next n GET /oncalls requests fail as f says.
// Only Status, RetryAfter and Message apply.
func (r *Recorder) FailNextOnCalls(n int, f Failure) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for range n {
		r.roster.failures = append(r.roster.failures, f)
	}
}

// OnCallRequests returns how many GET /oncalls requests reached the
// recorder.
func (r *Recorder) OnCallRequests() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.roster.requests
}

// restError is the REST API's error object.
type restError struct {
	Error struct {
		Message string   `json:"message"`
		Code    int      `json:"code"`
		Errors  []string `json:"errors,omitempty"`
	} `json:"error"`
}

func writeRESTError(w http.ResponseWriter, status, code int, msg string, errs ...string) {
	var e restError
	e.Error.Message, e.Error.Code, e.Error.Errors = msg, code, errs
	writeJSON(w, status, e)
}

// serveOnCalls answers GET /oncalls as PagerDuty's REST API does, for the
// parameters go-pagerduty sends: escalation_policy_ids[], user_ids[],
// schedule_ids[], include[]=users, since, until, earliest, limit, offset.
func (r *Recorder) serveOnCalls(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		writeRESTError(w, http.StatusMethodNotAllowed, 2100, "Method Not Allowed")
		return
	}
	r.mu.Lock()
	r.roster.requests++
	var fail *Failure
	if len(r.roster.failures) > 0 {
		f := r.roster.failures[0]
		r.roster.failures = r.roster.failures[1:]
		fail = &f
	}
	token := r.roster.token
	entries := append([]OnCall(nil), r.roster.entries...)
	now := r.clock.Now()
	r.mu.Unlock()

	if fail != nil {
		if fail.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int((fail.RetryAfter+time.Second-1)/time.Second)))
		}
		status := max(fail.Status, 400)
		writeRESTError(w, status, 2000, cmp.Or(fail.Message, http.StatusText(status)))
		return
	}
	got, ok := strings.CutPrefix(req.Header.Get("Authorization"), "Token token=")
	if !ok || got == "" || token != "" && got != token {
		writeRESTError(w, http.StatusUnauthorized, 2006, "Unauthorized")
		return
	}
	q := req.URL.Query()
	since, until, errs := window(q, now)
	limit, offset := atoiOr(q.Get("limit"), 25), atoiOr(q.Get("offset"), 0)
	if limit < 1 || limit > 100 || offset < 0 {
		errs = append(errs, "Limit must be between 1 and 100 and offset not negative")
	}
	if len(errs) > 0 {
		writeRESTError(w, http.StatusBadRequest, 2001, "Invalid Input Provided", errs...)
		return
	}
	matched := filterOnCalls(entries, q, since, until)
	end := min(offset+limit, len(matched))
	page := []map[string]any{}
	if offset < len(matched) {
		for _, e := range matched[offset:end] {
			page = append(page, wireOnCall(e, slices.Contains(q["include[]"], "users")))
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"oncalls": page, "limit": limit, "offset": offset, "more": end < len(matched), "total": nil})
}

// window reads since and until, defaulting to the present moment.
func window(q url.Values, now time.Time) (since, until time.Time, errs []string) {
	since, until = now, now
	for name, t := range map[string]*time.Time{"since": &since, "until": &until} {
		if v := q.Get(name); v != "" {
			parsed, err := time.Parse(time.RFC3339, v)
			if err != nil {
				errs = append(errs, name+" is not an ISO 8601 date")
				continue
			}
			*t = parsed
		}
	}
	if until.Before(since) {
		errs = append(errs, "until must be after since")
	}
	return since, until, errs
}

// filterOnCalls keeps the entries the query selects, in policy, level and
// user order; earliest keeps the first of each combination of policy,
// level and user.
func filterOnCalls(entries []OnCall, q url.Values, since, until time.Time) []OnCall {
	policies, users, schedules := q["escalation_policy_ids[]"], q["user_ids[]"], q["schedule_ids[]"]
	var out []OnCall
	for _, e := range entries {
		switch {
		case len(policies) > 0 && !slices.Contains(policies, e.EscalationPolicyID),
			len(users) > 0 && !slices.Contains(users, e.UserID),
			len(schedules) > 0 && !slices.Contains(schedules, e.ScheduleID),
			!e.Start.IsZero() && e.Start.After(until),
			!e.End.IsZero() && !e.End.After(since):
			continue
		}
		out = append(out, e)
	}
	slices.SortStableFunc(out, func(a, b OnCall) int {
		if c := strings.Compare(a.EscalationPolicyID, b.EscalationPolicyID); c != 0 {
			return c
		}
		if a.Level != b.Level {
			return int(a.Level) - int(b.Level)
		}
		return a.Start.Compare(b.Start)
	})
	if q.Get("earliest") == "true" {
		out = slices.CompactFunc(out, func(a, b OnCall) bool {
			return a.EscalationPolicyID == b.EscalationPolicyID && a.Level == b.Level && a.UserID == b.UserID
		})
	}
	return out
}

// wireOnCall is an on-call entry as the REST API writes it: references,
// or the full user when include[]=users.
func wireOnCall(e OnCall, fullUser bool) map[string]any {
	ref := func(kind, id, summary string) map[string]any {
		return map[string]any{"id": id, "type": kind + "_reference", "summary": summary,
			"self": restBase + "/" + kind + "s/" + id, "html_url": "https://dashboarduz.pagerduty.com/" + kind + "s/" + id}
	}
	user := ref("user", e.UserID, e.UserName)
	if fullUser {
		user = map[string]any{"id": e.UserID, "type": "user", "summary": e.UserName, "name": e.UserName, "email": e.UserEmail,
			"time_zone": "Etc/UTC", "role": "user", "self": restBase + "/users/" + e.UserID, "html_url": "https://dashboarduz.pagerduty.com/users/" + e.UserID}
	}
	out := map[string]any{
		"escalation_policy": ref("escalation_policy", e.EscalationPolicyID, e.EscalationPolicyName),
		"escalation_level":  e.Level,
		"user":              user,
		"schedule":          nil,
		"start":             nil,
		"end":               nil,
	}
	if e.ScheduleID != "" {
		out["schedule"] = ref("schedule", e.ScheduleID, e.ScheduleID)
	}
	if !e.Start.IsZero() {
		out["start"] = e.Start.UTC().Format(time.RFC3339)
	}
	if !e.End.IsZero() {
		out["end"] = e.End.UTC().Format(time.RFC3339)
	}
	return out
}

func atoiOr(s string, def int) int {
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return -1
	}
	return n
}
