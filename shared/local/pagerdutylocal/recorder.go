// Package pagerdutylocal is a local PagerDuty Events API v2: an
// http.Handler that accepts POST /v2/enqueue as PagerDuty documents it,
// validates events the way PagerDuty does, records every accepted event
// and models PagerDuty's alert state per dedup_key. Local mode and tests
// point the real go-pagerduty client at it. It also answers the REST
// API's GET /oncalls from a configured roster, so that messages can name
// who is on call.
//
// For failure tests it can answer the next requests with an error status
// (429 with Retry-After, 500, 503), hold them until the client gives up,
// or close the connection without an answer.
package pagerdutylocal

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/dashboarduz/incident-response/shared/incident"
)

// EnqueuePath is the Events API v2 path for alert events.
const EnqueuePath = "/v2/enqueue"

// PagerDuty's documented limits.
const (
	RoutingKeyLength = 32
	MaxSummary       = 1024
	MaxDedupKey      = 255
	MaxBody          = 512 << 10
)

// Event is one event the recorder accepted.
type Event struct {
	Action     string `json:"action"`
	RoutingKey string `json:"routingKey"`
	// DedupKey is the event's dedup_key, or the one the recorder generated
	// for a trigger sent without one.
	DedupKey string `json:"dedupKey"`
	Severity string `json:"severity,omitempty"`
	Summary  string `json:"summary,omitempty"`
	// Payload is the event's payload object as sent, nil when it had none.
	Payload json.RawMessage `json:"payload,omitempty"`
	// Body is the whole request body as sent.
	Body json.RawMessage `json:"body"`
	// Outcome says what the event did to the alerts: see the Outcome
	// constants.
	Outcome    Outcome   `json:"outcome"`
	ReceivedAt time.Time `json:"receivedAt"`
}

// Outcome is what an accepted event did to PagerDuty's alerts.
type Outcome string

// The outcomes, as PagerDuty documents the event actions.
const (
	// Opened: a trigger opened a new alert.
	Opened Outcome = "opened"
	// Deduplicated: a trigger joined the open alert with its dedup_key.
	Deduplicated Outcome = "deduplicated"
	// AcknowledgedAlert: an acknowledge moved an open alert to acknowledged.
	AcknowledgedAlert Outcome = "acknowledged"
	// ResolvedAlert: a resolve closed an open alert.
	ResolvedAlert Outcome = "resolved"
	// Dropped: an acknowledge or resolve found no open alert with its
	// dedup_key and routing key, or the alert was already in that state.
	Dropped Outcome = "dropped"
)

// AlertState is where a PagerDuty alert stands.
type AlertState string

// The alert states.
const (
	Triggered    AlertState = "triggered"
	Acknowledged AlertState = "acknowledged"
	Resolved     AlertState = "resolved"
)

// Alert is the recorder's model of one PagerDuty alert: opened by a trigger,
// joined by later triggers with the same dedup_key and routing key while it
// is open, closed by a resolve.
type Alert struct {
	RoutingKey     string     `json:"routingKey"`
	DedupKey       string     `json:"dedupKey"`
	Summary        string     `json:"summary"`
	Severity       string     `json:"severity"`
	State          AlertState `json:"state"`
	Triggers       int        `json:"triggers"`
	OpenedAt       time.Time  `json:"openedAt"`
	AcknowledgedAt time.Time  `json:"acknowledgedAt,omitzero"`
	ResolvedAt     time.Time  `json:"resolvedAt,omitzero"`
}

// Open reports whether the alert is triggered or acknowledged.
func (a Alert) Open() bool { return a.State != Resolved }

// Failure is how the recorder fails a request, for tests of the caller's
// error handling.
type Failure struct {
	// Status is the HTTP status to answer with, e.g. 429, 500 or 503.
	Status int
	// RetryAfter, when positive, is sent as a Retry-After header in whole
	// seconds.
	RetryAfter time.Duration
	// Message overrides the JSON answer's message.
	Message string
	// Hang holds the request without answering until the client gives up
	// or the server stops.
	Hang bool
	// Drop closes the connection without answering.
	Drop bool
}

// Recorder is the local Events API. The zero value is not usable; call New.
type Recorder struct {
	clock incident.Clock

	mu       sync.Mutex
	events   []Event
	alerts   []*Alert // every alert ever opened, in order
	requests int
	failures []Failure
	stop     chan struct{}
	stopOnce sync.Once
	// roster answers the REST API's GET /oncalls (oncalls.go).
	roster roster
}

// New returns an empty recorder that stamps events with clock (nil means
// the system clock).
func New(clock incident.Clock) *Recorder {
	if clock == nil {
		clock = incident.SystemClock{}
	}
	return &Recorder{clock: clock, stop: make(chan struct{})}
}

// FailNext makes the next n requests fail as f says, before they are
// validated or recorded.
func (r *Recorder) FailNext(n int, f Failure) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for range n {
		r.failures = append(r.failures, f)
	}
}

// Events returns a copy of the accepted events, oldest first.
func (r *Recorder) Events() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Event(nil), r.events...)
}

// Triggers returns how many trigger events were accepted, including those
// deduplicated into an open alert.
func (r *Recorder) Triggers() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, e := range r.events {
		if e.Action == "trigger" {
			n++
		}
	}
	return n
}

// Alerts returns the open (triggered or acknowledged) alerts, oldest
// first: what a responder would see in PagerDuty.
func (r *Recorder) Alerts() []Alert {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Alert
	for _, a := range r.alerts {
		if a.Open() {
			out = append(out, *a)
		}
	}
	return out
}

// AllAlerts returns every alert ever opened, resolved ones included,
// oldest first.
func (r *Recorder) AllAlerts() []Alert {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Alert, len(r.alerts))
	for i, a := range r.alerts {
		out[i] = *a
	}
	return out
}

// Alert returns the latest alert with dedupKey, whatever its routing key
// and state.
func (r *Recorder) Alert(dedupKey string) (Alert, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := len(r.alerts) - 1; i >= 0; i-- {
		if r.alerts[i].DedupKey == dedupKey {
			return *r.alerts[i], true
		}
	}
	return Alert{}, false
}

// Requests returns how many requests reached the recorder, failed and
// invalid ones included.
func (r *Recorder) Requests() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.requests
}

// Reset forgets every event, alert, request count and pending failure.
func (r *Recorder) Reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events, r.alerts, r.requests, r.failures = nil, nil, 0, nil
}

// release ends every request held by a Hang failure.
func (r *Recorder) release() { r.stopOnce.Do(func() { close(r.stop) }) }

// ServeHTTP implements the Events API v2 enqueue endpoint, and the REST
// API's GET /oncalls.
func (r *Recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.URL.Path == OnCallsPath {
		r.serveOnCalls(w, req)
		return
	}
	if req.URL.Path != EnqueuePath {
		writeJSON(w, http.StatusNotFound, response{Status: "not found", Message: "Only " + EnqueuePath + " is served here"})
		return
	}
	if req.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeJSON(w, http.StatusMethodNotAllowed, response{Status: "method not allowed", Message: "Use POST"})
		return
	}

	r.mu.Lock()
	r.requests++
	var fail *Failure
	if len(r.failures) > 0 {
		f := r.failures[0]
		r.failures = r.failures[1:]
		fail = &f
	}
	r.mu.Unlock()
	if fail != nil {
		r.fail(w, req, *fail)
		return
	}

	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, MaxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			invalid(w, fmt.Sprintf("Event is larger than the %d KB limit", MaxBody>>10))
			return
		}
		invalid(w, "Event could not be read")
		return
	}
	ev, errs := validate(body)
	if len(errs) > 0 {
		invalid(w, errs...)
		return
	}

	r.mu.Lock()
	if ev.Action == "trigger" && ev.DedupKey == "" {
		ev.DedupKey = newDedupKey()
	}
	ev.ReceivedAt = r.clock.Now()
	ev.Outcome = r.apply(ev)
	r.events = append(r.events, ev)
	r.mu.Unlock()

	writeJSON(w, http.StatusAccepted, response{Status: "success", Message: "Event processed", DedupKey: ev.DedupKey})
}

// apply models PagerDuty's handling of an accepted event. Follow-up events
// only reach the open alert triggered through the same routing key.
// Callers hold r.mu.
func (r *Recorder) apply(ev Event) Outcome {
	var open *Alert
	for _, a := range r.alerts {
		if a.DedupKey == ev.DedupKey && a.RoutingKey == ev.RoutingKey && a.Open() {
			open = a
		}
	}
	switch ev.Action {
	case "trigger":
		if open != nil {
			open.Triggers++
			return Deduplicated
		}
		r.alerts = append(r.alerts, &Alert{
			RoutingKey: ev.RoutingKey, DedupKey: ev.DedupKey, Summary: ev.Summary, Severity: ev.Severity,
			State: Triggered, Triggers: 1, OpenedAt: ev.ReceivedAt,
		})
		return Opened
	case "acknowledge":
		if open == nil || open.State == Acknowledged {
			return Dropped
		}
		open.State, open.AcknowledgedAt = Acknowledged, ev.ReceivedAt
		return AcknowledgedAlert
	case "resolve":
		if open == nil {
			return Dropped
		}
		open.State, open.ResolvedAt = Resolved, ev.ReceivedAt
		return ResolvedAlert
	}
	return Dropped
}

// fail answers a request as f says.
func (r *Recorder) fail(w http.ResponseWriter, req *http.Request, f Failure) {
	switch {
	case f.Hang:
		select {
		case <-req.Context().Done():
		case <-r.stop:
		}
		return
	case f.Drop:
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				_ = conn.Close()
				return
			}
		}
		// Without a hijackable connection, abort the handler: net/http
		// then closes the connection without a response.
		panic(http.ErrAbortHandler)
	}
	status := f.Status
	if status == 0 {
		status = http.StatusInternalServerError
	}
	resp := response{Status: "error", Message: f.Message}
	if status == http.StatusTooManyRequests {
		resp.Status = "throttle event"
		if resp.Message == "" {
			resp.Message = "Requests for this service are arriving too quickly. Please retry later."
		}
	}
	if resp.Message == "" {
		resp.Message = http.StatusText(status)
	}
	if f.RetryAfter > 0 {
		secs := int((f.RetryAfter + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
	}
	writeJSON(w, status, resp)
}

// response is the Events API's answer.
type response struct {
	Status   string   `json:"status"`
	Message  string   `json:"message"`
	DedupKey string   `json:"dedup_key,omitempty"`
	Errors   []string `json:"errors,omitempty"`
}

func invalid(w http.ResponseWriter, errs ...string) {
	writeJSON(w, http.StatusBadRequest, response{Status: "invalid event", Message: "Event object is invalid", Errors: errs})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// wireEvent is the request body. Fields are pointers or raw so that
// "missing" and "wrong type" can be told apart.
type wireEvent struct {
	RoutingKey  *string         `json:"routing_key"`
	EventAction *string         `json:"event_action"`
	DedupKey    *string         `json:"dedup_key"`
	Payload     json.RawMessage `json:"payload"`
}

type wirePayload struct {
	Summary  *string `json:"summary"`
	Source   *string `json:"source"`
	Severity *string `json:"severity"`
}

// validate checks body as PagerDuty does and returns the event to record,
// or the errors that name what is wrong.
func validate(body []byte) (Event, []string) {
	var w wireEvent
	if err := json.Unmarshal(body, &w); err != nil {
		return Event{}, []string{jsonProblem(err, "")}
	}
	var errs []string
	routingKey := deref(w.RoutingKey)
	switch {
	case routingKey == "":
		errs = append(errs, "'routing_key' is missing or blank")
	case utf8.RuneCountInString(routingKey) != RoutingKeyLength:
		errs = append(errs, fmt.Sprintf("Length of 'routing_key' is incorrect (should be %d characters)", RoutingKeyLength))
	}
	action := deref(w.EventAction)
	switch action {
	case "trigger", "acknowledge", "resolve":
	case "":
		errs = append(errs, "'event_action' is missing or blank")
	default:
		errs = append(errs, "'event_action' is invalid (must be one of the following: 'trigger', 'acknowledge' or 'resolve')")
	}
	dedupKey := deref(w.DedupKey)
	if utf8.RuneCountInString(dedupKey) > MaxDedupKey {
		errs = append(errs, fmt.Sprintf("Length of 'dedup_key' is too long (maximum is %d characters)", MaxDedupKey))
	}
	if (action == "acknowledge" || action == "resolve") && dedupKey == "" {
		errs = append(errs, "'dedup_key' is missing or blank (required for "+action+" events)")
	}

	ev := Event{Action: action, RoutingKey: routingKey, DedupKey: dedupKey, Body: append(json.RawMessage(nil), body...)}
	if len(w.Payload) > 0 && !bytes.Equal(bytes.TrimSpace(w.Payload), []byte("null")) {
		ev.Payload = append(json.RawMessage(nil), w.Payload...)
	}
	if action == "trigger" {
		errs = append(errs, validatePayload(ev.Payload, &ev)...)
	}
	return ev, errs
}

func validatePayload(raw json.RawMessage, ev *Event) []string {
	if raw == nil {
		return []string{"'payload' is missing or blank (required for trigger events)"}
	}
	var p wirePayload
	if err := json.Unmarshal(raw, &p); err != nil {
		return []string{jsonProblem(err, "payload.")}
	}
	var errs []string
	ev.Summary, ev.Severity = deref(p.Summary), deref(p.Severity)
	switch {
	case ev.Summary == "":
		errs = append(errs, "'payload.summary' is missing or blank")
	case utf8.RuneCountInString(ev.Summary) > MaxSummary:
		errs = append(errs, fmt.Sprintf("Length of 'payload.summary' is too long (maximum is %d characters)", MaxSummary))
	}
	if deref(p.Source) == "" {
		errs = append(errs, "'payload.source' is missing or blank")
	}
	switch ev.Severity {
	case "critical", "error", "warning", "info":
	case "":
		errs = append(errs, "'payload.severity' is missing or blank")
	default:
		errs = append(errs, "'payload.severity' is invalid (must be one of the following: 'critical', 'warning', 'error' or 'info')")
	}
	return errs
}

// jsonProblem names what is wrong with a body that does not decode.
func jsonProblem(err error, prefix string) string {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		if typeErr.Field != "" {
			return fmt.Sprintf("'%s%s' must be a string, not a %s", prefix, typeErr.Field, typeErr.Value)
		}
		if prefix != "" {
			return fmt.Sprintf("'%s' must be a JSON object, not a %s", prefix[:len(prefix)-1], typeErr.Value)
		}
		return "Event must be a JSON object, not a " + typeErr.Value
	}
	return "Event is not valid JSON: " + err.Error()
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// newDedupKey generates a dedup_key for a trigger sent without one, a
// random UUID as PagerDuty does.
func newDedupKey() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
