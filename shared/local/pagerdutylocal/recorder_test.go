package pagerdutylocal_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/local/pagerdutylocal"
)

const routingKey = "R0123456789abcdef0123456789abcde" // 32 characters

var t0 = time.Date(2025, 3, 1, 10, 15, 0, 0, time.UTC)

// fakeClock is a clock the test moves by hand.
type fakeClock struct{ now time.Time }

func (c *fakeClock) Now() time.Time { return c.now }

func start(t *testing.T, clock incident.Clock) *pagerdutylocal.Server {
	t.Helper()
	srv, err := pagerdutylocal.Start(pagerdutylocal.New(clock))
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return srv
}

type answer struct {
	status      int
	contentType string
	retryAfter  string
	body        struct {
		Status   string   `json:"status"`
		Message  string   `json:"message"`
		DedupKey string   `json:"dedup_key"`
		Errors   []string `json:"errors"`
	}
}

func post(t *testing.T, url, body string) answer {
	t.Helper()
	resp, err := http.Post(url+pagerdutylocal.EnqueuePath, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatalf("POST: %v", err)
	}
	defer resp.Body.Close()
	a := answer{status: resp.StatusCode, contentType: resp.Header.Get("Content-Type"), retryAfter: resp.Header.Get("Retry-After")}
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &a.body); err != nil {
		t.Fatalf("answer %d is not JSON: %v: %s", resp.StatusCode, err, b)
	}
	return a
}

func trigger(dedupKey string) string {
	return `{"routing_key":"` + routingKey + `","event_action":"trigger","dedup_key":"` + dedupKey +
		`","payload":{"summary":"🚨 INCIDENT: P1 dashboarduz-api - API 5xx error rate above 5%","source":"dashboarduz-api","severity":"error"}}`
}

func followUp(action, key, dedupKey string) string {
	return `{"routing_key":"` + key + `","event_action":"` + action + `","dedup_key":"` + dedupKey + `"}`
}

func TestValidation(t *testing.T) {
	srv := start(t, nil)
	long := func(n int) string { return strings.Repeat("x", n) }
	tests := []struct {
		name string
		body string
		// want is a piece of the error that names the field at fault.
		want string
	}{
		{"not JSON", `{"routing_key":`, "not valid JSON"},
		{"not an object", `["trigger"]`, "must be a JSON object"},
		{"no routing key", `{"event_action":"trigger","payload":{"summary":"s","source":"s","severity":"info"}}`, "'routing_key' is missing"},
		{"short routing key", `{"routing_key":"abc","event_action":"trigger","payload":{"summary":"s","source":"s","severity":"info"}}`, "Length of 'routing_key' is incorrect"},
		{"routing key not a string", `{"routing_key":12,"event_action":"trigger"}`, "'routing_key' must be a string"},
		{"no event action", `{"routing_key":"` + routingKey + `","payload":{"summary":"s","source":"s","severity":"info"}}`, "'event_action' is missing"},
		{"unknown event action", `{"routing_key":"` + routingKey + `","event_action":"escalate","dedup_key":"k"}`, "'event_action' is invalid"},
		{"trigger without payload", `{"routing_key":"` + routingKey + `","event_action":"trigger"}`, "'payload' is missing"},
		{"payload not an object", `{"routing_key":"` + routingKey + `","event_action":"trigger","payload":"boom"}`, "'payload' must be a JSON object"},
		{"no summary", `{"routing_key":"` + routingKey + `","event_action":"trigger","payload":{"source":"s","severity":"info"}}`, "'payload.summary' is missing"},
		{"summary too long", `{"routing_key":"` + routingKey + `","event_action":"trigger","payload":{"summary":"` + long(1025) + `","source":"s","severity":"info"}}`, "'payload.summary' is too long"},
		{"no source", `{"routing_key":"` + routingKey + `","event_action":"trigger","payload":{"summary":"s","severity":"info"}}`, "'payload.source' is missing"},
		{"no severity", `{"routing_key":"` + routingKey + `","event_action":"trigger","payload":{"summary":"s","source":"s"}}`, "'payload.severity' is missing"},
		{"unknown severity", `{"routing_key":"` + routingKey + `","event_action":"trigger","payload":{"summary":"s","source":"s","severity":"P0"}}`, "'payload.severity' is invalid"},
		{"dedup key too long", `{"routing_key":"` + routingKey + `","event_action":"trigger","dedup_key":"` + long(256) + `","payload":{"summary":"s","source":"s","severity":"info"}}`, "'dedup_key' is too long"},
		{"acknowledge without dedup key", `{"routing_key":"` + routingKey + `","event_action":"acknowledge"}`, "'dedup_key' is missing"},
		{"resolve without dedup key", `{"routing_key":"` + routingKey + `","event_action":"resolve","dedup_key":""}`, "'dedup_key' is missing"},
		{"body too large", `{"routing_key":"` + routingKey + `","event_action":"trigger","payload":{"summary":"s","source":"s","severity":"info","custom_details":{"x":"` + long(pagerdutylocal.MaxBody) + `"}}}`, "larger than the 512 KB limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := post(t, srv.URL, tt.body)
			if got.status != http.StatusBadRequest {
				t.Errorf("status = %d, want 400", got.status)
			}
			if got.contentType != "application/json" {
				t.Errorf("Content-Type = %q, want application/json", got.contentType)
			}
			if got.body.Status != "invalid event" || got.body.Message != "Event object is invalid" {
				t.Errorf("status, message = %q, %q; want %q, %q", got.body.Status, got.body.Message, "invalid event", "Event object is invalid")
			}
			if !strings.Contains(strings.Join(got.body.Errors, "\n"), tt.want) {
				t.Errorf("errors = %q, want one containing %q", got.body.Errors, tt.want)
			}
		})
	}
	if got := len(srv.Events()); got != 0 {
		t.Errorf("recorded %d invalid events, want 0", got)
	}
	if got, want := srv.Requests(), len(tests); got != want {
		t.Errorf("Requests() = %d, want %d", got, want)
	}
}

func TestAcceptsAndRecords(t *testing.T) {
	clock := &fakeClock{now: t0}
	srv := start(t, clock)

	got := post(t, srv.URL, trigger("inc-1/level-1"))
	if got.status != http.StatusAccepted {
		t.Fatalf("status = %d, want 202 (errors %q)", got.status, got.body.Errors)
	}
	if got.body.Status != "success" || got.body.Message != "Event processed" || got.body.DedupKey != "inc-1/level-1" {
		t.Errorf("answer = %+v, want success, Event processed, inc-1/level-1", got.body)
	}
	if got.contentType != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", got.contentType)
	}

	events := srv.Events()
	if len(events) != 1 {
		t.Fatalf("Events() has %d events, want 1", len(events))
	}
	e := events[0]
	want := pagerdutylocal.Event{
		Action: "trigger", RoutingKey: routingKey, DedupKey: "inc-1/level-1", Severity: "error",
		Summary: "🚨 INCIDENT: P1 dashboarduz-api - API 5xx error rate above 5%", Outcome: pagerdutylocal.Opened, ReceivedAt: t0,
	}
	if e.Action != want.Action || e.RoutingKey != want.RoutingKey || e.DedupKey != want.DedupKey || e.Severity != want.Severity ||
		e.Summary != want.Summary || e.Outcome != want.Outcome || !e.ReceivedAt.Equal(want.ReceivedAt) {
		t.Errorf("event = %+v\nwant %+v", e, want)
	}
	if string(e.Body) != trigger("inc-1/level-1") {
		t.Errorf("Body = %s, want the request body", e.Body)
	}
	var payload map[string]string
	if err := json.Unmarshal(e.Payload, &payload); err != nil || payload["source"] != "dashboarduz-api" {
		t.Errorf("Payload = %s (%v), want the payload object", e.Payload, err)
	}
}

func TestTriggerWithoutDedupKeyGetsOne(t *testing.T) {
	srv := start(t, nil)
	body := `{"routing_key":"` + routingKey + `","event_action":"trigger","payload":{"summary":"s","source":"s","severity":"info"}}`
	a, b := post(t, srv.URL, body), post(t, srv.URL, body)
	if a.status != http.StatusAccepted || len(a.body.DedupKey) != 36 {
		t.Fatalf("answer = %d %+v, want 202 with a generated UUID dedup_key", a.status, a.body)
	}
	if a.body.DedupKey == b.body.DedupKey {
		t.Errorf("two triggers without dedup_key got the same key %q", a.body.DedupKey)
	}
	if got := len(srv.Alerts()); got != 2 {
		t.Errorf("Alerts() = %d, want 2: a trigger without dedup_key always opens a new alert", got)
	}
}

func TestAlertLifecycle(t *testing.T) {
	clock := &fakeClock{now: t0}
	srv := start(t, clock)
	otherKey := strings.Repeat("z", 32)

	steps := []struct {
		name        string
		body        string
		wantOutcome pagerdutylocal.Outcome
		wantState   pagerdutylocal.AlertState
		wantOpen    int
		wantAll     int
		wantTrigger int
	}{
		{"first trigger opens an alert", trigger("inc-1/level-1"), pagerdutylocal.Opened, pagerdutylocal.Triggered, 1, 1, 1},
		{"a retried trigger is deduplicated", trigger("inc-1/level-1"), pagerdutylocal.Deduplicated, pagerdutylocal.Triggered, 1, 1, 2},
		{"acknowledge through another routing key is dropped", followUp("acknowledge", otherKey, "inc-1/level-1"), pagerdutylocal.Dropped, pagerdutylocal.Triggered, 1, 1, 2},
		{"acknowledge", followUp("acknowledge", routingKey, "inc-1/level-1"), pagerdutylocal.AcknowledgedAlert, pagerdutylocal.Acknowledged, 1, 1, 2},
		{"acknowledge again is dropped", followUp("acknowledge", routingKey, "inc-1/level-1"), pagerdutylocal.Dropped, pagerdutylocal.Acknowledged, 1, 1, 2},
		{"trigger on an acknowledged alert is deduplicated", trigger("inc-1/level-1"), pagerdutylocal.Deduplicated, pagerdutylocal.Acknowledged, 1, 1, 3},
		{"resolve", followUp("resolve", routingKey, "inc-1/level-1"), pagerdutylocal.ResolvedAlert, pagerdutylocal.Resolved, 0, 1, 3},
		{"resolve again is dropped", followUp("resolve", routingKey, "inc-1/level-1"), pagerdutylocal.Dropped, pagerdutylocal.Resolved, 0, 1, 3},
		{"trigger after resolve opens a new alert", trigger("inc-1/level-1"), pagerdutylocal.Opened, pagerdutylocal.Triggered, 1, 2, 4},
		{"acknowledge for an unknown dedup key is dropped", followUp("acknowledge", routingKey, "inc-9/level-1"), pagerdutylocal.Dropped, pagerdutylocal.Triggered, 1, 2, 4},
	}
	for i, s := range steps {
		clock.now = t0.Add(time.Duration(i) * time.Minute)
		if got := post(t, srv.URL, s.body); got.status != http.StatusAccepted {
			t.Fatalf("%s: status %d, want 202 (errors %q)", s.name, got.status, got.body.Errors)
		}
		events := srv.Events()
		if got := events[len(events)-1].Outcome; got != s.wantOutcome {
			t.Errorf("%s: outcome = %q, want %q", s.name, got, s.wantOutcome)
		}
		alert, ok := srv.Alert("inc-1/level-1")
		if !ok || alert.State != s.wantState {
			t.Errorf("%s: alert state = %q (found %v), want %q", s.name, alert.State, ok, s.wantState)
		}
		if got := len(srv.Alerts()); got != s.wantOpen {
			t.Errorf("%s: Alerts() = %d, want %d", s.name, got, s.wantOpen)
		}
		if got := len(srv.AllAlerts()); got != s.wantAll {
			t.Errorf("%s: AllAlerts() = %d, want %d", s.name, got, s.wantAll)
		}
		if got := srv.Triggers(); got != s.wantTrigger {
			t.Errorf("%s: Triggers() = %d, want %d", s.name, got, s.wantTrigger)
		}
	}
	first := srv.AllAlerts()[0]
	if !first.OpenedAt.Equal(t0) || !first.AcknowledgedAt.Equal(t0.Add(3*time.Minute)) || !first.ResolvedAt.Equal(t0.Add(6*time.Minute)) || first.Triggers != 3 {
		t.Errorf("first alert = %+v, want opened at t0, acknowledged at +3m, resolved at +6m, 3 triggers", first)
	}

	srv.Reset()
	if len(srv.Events()) != 0 || len(srv.AllAlerts()) != 0 || srv.Triggers() != 0 || srv.Requests() != 0 {
		t.Errorf("after Reset: %d events, %d alerts, %d triggers, %d requests; want none", len(srv.Events()), len(srv.AllAlerts()), srv.Triggers(), srv.Requests())
	}
}

func TestFailNext(t *testing.T) {
	tests := []struct {
		name           string
		failure        pagerdutylocal.Failure
		wantStatus     int
		wantRetryAfter string
		wantStatusText string
	}{
		{"rate limited", pagerdutylocal.Failure{Status: 429, RetryAfter: 30 * time.Second}, 429, "30", "throttle event"},
		{"internal error", pagerdutylocal.Failure{Status: 500}, 500, "", "error"},
		{"unavailable", pagerdutylocal.Failure{Status: 503, RetryAfter: 1500 * time.Millisecond}, 503, "2", "error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := start(t, nil)
			srv.FailNext(2, tt.failure)
			for i := range 2 {
				got := post(t, srv.URL, trigger("inc-1/level-1"))
				if got.status != tt.wantStatus || got.retryAfter != tt.wantRetryAfter || got.body.Status != tt.wantStatusText || got.body.Message == "" {
					t.Errorf("request %d: %d Retry-After %q %+v; want %d Retry-After %q status %q and a message", i+1, got.status, got.retryAfter, got.body, tt.wantStatus, tt.wantRetryAfter, tt.wantStatusText)
				}
				if got.contentType != "application/json" {
					t.Errorf("request %d: Content-Type = %q, want application/json", i+1, got.contentType)
				}
			}
			if got := post(t, srv.URL, trigger("inc-1/level-1")); got.status != http.StatusAccepted {
				t.Errorf("third request: status %d, want 202", got.status)
			}
			if got := srv.Triggers(); got != 1 {
				t.Errorf("Triggers() = %d, want 1: failed requests are not accepted", got)
			}
			if got := srv.Requests(); got != 3 {
				t.Errorf("Requests() = %d, want 3", got)
			}
		})
	}
}

func TestFailNextDrop(t *testing.T) {
	srv := start(t, nil)
	srv.FailNext(1, pagerdutylocal.Failure{Drop: true})
	resp, err := http.Post(srv.URL+pagerdutylocal.EnqueuePath, "application/json", strings.NewReader(trigger("k")))
	if err == nil {
		resp.Body.Close()
		t.Fatalf("POST answered %d, want the connection closed without an answer", resp.StatusCode)
	}
	if got := post(t, srv.URL, trigger("k")); got.status != http.StatusAccepted {
		t.Errorf("next request: status %d, want 202", got.status)
	}
}

func TestFailNextHang(t *testing.T) {
	srv := start(t, nil)
	srv.FailNext(1, pagerdutylocal.Failure{Hang: true})
	client := &http.Client{Timeout: 100 * time.Millisecond}
	began := time.Now()
	resp, err := client.Post(srv.URL+pagerdutylocal.EnqueuePath, "application/json", strings.NewReader(trigger("k")))
	if err == nil {
		resp.Body.Close()
		t.Fatalf("POST answered %d, want a client timeout", resp.StatusCode)
	}
	if elapsed := time.Since(began); elapsed > 5*time.Second {
		t.Errorf("client gave up after %s, want about 100ms", elapsed)
	}
}

func TestCloseReleasesHangingRequests(t *testing.T) {
	srv, err := pagerdutylocal.Start(pagerdutylocal.New(nil))
	if err != nil {
		t.Fatal(err)
	}
	srv.FailNext(1, pagerdutylocal.Failure{Hang: true})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+pagerdutylocal.EnqueuePath, strings.NewReader(trigger("k")))
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	for srv.Requests() == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	closed := make(chan error, 1)
	go func() { closed <- srv.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Errorf("Close: %v", err)
		}
	case <-time.After(8 * time.Second):
		t.Fatal("Close did not return while a request was hanging")
	}
	<-done
}

func TestRoutes(t *testing.T) {
	srv := start(t, nil)
	resp, err := http.Get(srv.URL + pagerdutylocal.EnqueuePath)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET %s = %d, want 405", pagerdutylocal.EnqueuePath, resp.StatusCode)
	}
	resp, err = http.Post(srv.URL+"/v2/change/enqueue", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("POST /v2/change/enqueue = %d, want 404", resp.StatusCode)
	}
}
