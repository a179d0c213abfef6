package pagerduty_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	pd "github.com/PagerDuty/go-pagerduty"

	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/local/pagerdutylocal"
	"github.com/dashboarduz/incident-response/shared/pagerduty"
)

const routingKey = "R02Q7HZKTEAMLEAD0000000000000042" // 32 characters, as PagerDuty issues them

var (
	opened = time.Date(2025, 3, 1, 10, 15, 0, 0, time.UTC)
	inc    = incident.Incident{
		ID:       "inc-20250301-101500-0a1b2c3d4e",
		Title:    "P0 dashboarduz-api - API 5xx error rate above 5%",
		Service:  "dashboarduz-api",
		Category: incident.HighErrorRate,
		Severity: incident.P0,
		Status:   incident.Triggered,
		Summary:  "API 5xx error rate above 5%",
		OpenedAt: opened,
	}
	teamLead = incident.Level{Name: "team-lead", Title: "Team Lead"}
)

func incidentURL(id string) string { return "https://incidents.dashboarduz.example/incidents/" + id }

// setup serves a recorder and returns a Pager that reaches it through the
// real go-pagerduty client.
func setup(t *testing.T) (*pagerduty.Pager, *pagerdutylocal.Server) {
	t.Helper()
	srv, err := pagerdutylocal.Start(pagerdutylocal.New(incident.ClockFunc(func() time.Time { return opened.Add(time.Second) })))
	if err != nil {
		t.Fatalf("pagerdutylocal.Start: %v", err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	p := pagerduty.New(pagerduty.NewEventsClient(srv.URL), pagerduty.Options{
		Source:      "dashboarduz-incident-response",
		IncidentURL: incidentURL,
	})
	return p, srv
}

func TestTriggerSendsTheInitialAlert(t *testing.T) {
	p, srv := setup(t)

	got, err := p.Trigger(context.Background(), routingKey, inc, 2, teamLead)
	if err != nil {
		t.Fatalf("Trigger: %v", err)
	}
	if want := incident.PageDedupKey(inc.ID, 0, 2); got != want {
		t.Errorf("dedup key = %q, want %q", got, want)
	}

	events := srv.Events()
	if len(events) != 1 {
		t.Fatalf("recorder has %d events, want 1", len(events))
	}
	var body any
	if err := json.Unmarshal(events[0].Body, &body); err != nil {
		t.Fatal(err)
	}
	var want any
	if err := json.Unmarshal([]byte(`{
		"routing_key": "`+routingKey+`",
		"event_action": "trigger",
		"dedup_key": "inc-20250301-101500-0a1b2c3d4e/level-2",
		"client": "dashboarduz-incident-response",
		"client_url": "https://incidents.dashboarduz.example/incidents/inc-20250301-101500-0a1b2c3d4e",
		"links": [{"href": "https://incidents.dashboarduz.example/incidents/inc-20250301-101500-0a1b2c3d4e", "text": "Incident inc-20250301-101500-0a1b2c3d4e"}],
		"payload": {
			"summary": "🚨 INCIDENT: P0 dashboarduz-api - API 5xx error rate above 5%",
			"source": "dashboarduz-api",
			"severity": "critical",
			"timestamp": "2025-03-01T10:15:00.000Z",
			"component": "dashboarduz-api",
			"group": "high-error-rate",
			"class": "high-error-rate",
			"custom_details": {
				"Status": "Investigating",
				"Start Time": "2025-03-01T10:15:00.000Z",
				"Affected": "dashboarduz-api",
				"On-Call": "Team Lead",
				"Incident ID": "inc-20250301-101500-0a1b2c3d4e",
				"Severity": "P0 (Critical)",
				"Escalation Level": "2 (team-lead)"
			}
		}
	}`), &want); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(body, want) {
		gotJSON, _ := json.MarshalIndent(body, "", "  ")
		wantJSON, _ := json.MarshalIndent(want, "", "  ")
		t.Errorf("trigger body\n got %s\nwant %s", gotJSON, wantJSON)
	}
}

func TestTriggerWithoutIncidentURLHasNoLinks(t *testing.T) {
	srv, err := pagerdutylocal.Start(pagerdutylocal.New(nil))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	p := pagerduty.New(pagerduty.NewEventsClient(srv.URL), pagerduty.Options{})
	if _, err := p.Trigger(context.Background(), routingKey, inc, 1, incident.Level{Name: "on-call", Title: "On-Call Engineer"}); err != nil {
		t.Fatalf("Trigger: %v", err)
	}
	var body map[string]any
	if err := json.Unmarshal(srv.Events()[0].Body, &body); err != nil {
		t.Fatal(err)
	}
	for _, field := range []string{"links", "client_url"} {
		if v, ok := body[field]; ok {
			t.Errorf("%s = %v, want it absent without IncidentURL", field, v)
		}
	}
	if got, want := body["client"], pagerduty.DefaultSource; got != want {
		t.Errorf("client = %v, want %v", got, want)
	}
}

func TestRetriedTriggerJoinsTheOpenAlert(t *testing.T) {
	p, srv := setup(t)
	for range 2 {
		if _, err := p.Trigger(context.Background(), routingKey, inc, 1, teamLead); err != nil {
			t.Fatalf("Trigger: %v", err)
		}
	}
	if got, want := srv.Triggers(), 2; got != want {
		t.Errorf("Triggers() = %d, want %d", got, want)
	}
	if got, want := len(srv.Alerts()), 1; got != want {
		t.Errorf("Alerts() = %d, want %d: a retried trigger must not open a second alert", got, want)
	}
}

func TestAcknowledgeAndResolve(t *testing.T) {
	p, srv := setup(t)
	ctx := context.Background()
	key, err := p.Trigger(ctx, routingKey, inc, 1, teamLead)
	if err != nil {
		t.Fatalf("Trigger: %v", err)
	}

	if err := p.Acknowledge(ctx, routingKey, key); err != nil {
		t.Fatalf("Acknowledge: %v", err)
	}
	if a, _ := srv.Alert(key); a.State != pagerdutylocal.Acknowledged {
		t.Errorf("after Acknowledge the alert is %q, want %q", a.State, pagerdutylocal.Acknowledged)
	}
	if err := p.Resolve(ctx, routingKey, key); err != nil {
		t.Fatalf("Resolve: %v", err)
	}
	if a, _ := srv.Alert(key); a.State != pagerdutylocal.Resolved {
		t.Errorf("after Resolve the alert is %q, want %q", a.State, pagerdutylocal.Resolved)
	}

	var ack map[string]any
	if err := json.Unmarshal(srv.Events()[1].Body, &ack); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"routing_key": routingKey, "event_action": "acknowledge", "dedup_key": key}
	if !reflect.DeepEqual(ack, want) {
		t.Errorf("acknowledge body = %v, want %v", ack, want)
	}
}

func TestSeverity(t *testing.T) {
	tests := []struct {
		in   incident.Severity
		want string
	}{
		{incident.P0, "critical"},
		{incident.P1, "error"},
		{incident.P2, "warning"},
		{incident.P3, "info"},
		{"P9", "critical"},
	}
	for _, tt := range tests {
		if got := pagerduty.Severity(tt.in); got != tt.want {
			t.Errorf("Severity(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestSummary(t *testing.T) {
	tests := []struct {
		name string
		inc  incident.Incident
		want string
	}{
		{"runbook example", inc, "🚨 INCIDENT: P0 dashboarduz-api - API 5xx error rate above 5%"},
		{"no description", incident.Incident{Severity: incident.P2, Service: "dashboarduz-worker"}, "🚨 INCIDENT: P2 dashboarduz-worker"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := pagerduty.Summary(tt.inc); got != tt.want {
				t.Errorf("Summary = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSummaryIsTruncatedToPagerDutysLimit(t *testing.T) {
	for _, filler := range []string{"x", "é", "🔥"} {
		t.Run(filler, func(t *testing.T) {
			long := inc
			long.Summary = strings.Repeat(filler, 2000)
			got := pagerduty.Summary(long)
			if len(got) > pagerduty.MaxSummary {
				t.Errorf("len(Summary) = %d bytes, want at most %d", len(got), pagerduty.MaxSummary)
			}
			if !utf8.ValidString(got) {
				t.Errorf("Summary is not valid UTF-8")
			}
			if !strings.HasPrefix(got, "🚨 INCIDENT: P0 dashboarduz-api - "+filler) || !strings.HasSuffix(got, "…") {
				t.Errorf("Summary = %q..., want the alert line cut with an ellipsis", got[:60])
			}
		})
	}

	// The recorder, validating like PagerDuty, accepts the cut summary.
	p, srv := setup(t)
	long := inc
	long.Summary = strings.Repeat("🔥", 2000)
	if _, err := p.Trigger(context.Background(), routingKey, long, 1, teamLead); err != nil {
		t.Fatalf("Trigger with a long summary: %v", err)
	}
	if got := srv.Triggers(); got != 1 {
		t.Errorf("Triggers() = %d, want 1", got)
	}
}

// errorType is the name a Lambda reports for a handler error, as
// aws-lambda-go computes it; Step Functions Retry and Catch match on it.
func errorType(err error) string {
	t := reflect.TypeOf(err)
	if t.Kind() == reflect.Pointer {
		return t.Elem().Name()
	}
	return t.Name()
}

func TestFailuresAreClassified(t *testing.T) {
	dedupKey := incident.PageDedupKey(inc.ID, 0, 2)
	tests := []struct {
		name    string
		failure *pagerdutylocal.Failure
		key     string
		// timeout bounds the call through its context.
		timeout        time.Duration
		wantType       string
		wantStatus     int
		wantRetryAfter time.Duration
		wantTimeout    bool
		wantError      string // exact Error(), or a prefix when wantPrefix
		wantPrefix     bool
	}{
		{
			name:           "429 rate limited",
			failure:        &pagerdutylocal.Failure{Status: 429, RetryAfter: 30 * time.Second},
			wantType:       "PagerDutyUnavailableError",
			wantStatus:     429,
			wantRetryAfter: 30 * time.Second,
			wantError:      "PagerDuty answered 429 Too Many Requests to the trigger for " + dedupKey + ": Requests for this service are arriving too quickly. Please retry later. (retry after 30s)",
		},
		{
			name:       "500",
			failure:    &pagerdutylocal.Failure{Status: 500, Message: "Internal error while processing the event"},
			wantType:   "PagerDutyUnavailableError",
			wantStatus: 500,
			wantError:  "PagerDuty answered 500 Internal Server Error to the trigger for " + dedupKey + ": Internal error while processing the event",
		},
		{
			name:       "503",
			failure:    &pagerdutylocal.Failure{Status: 503},
			wantType:   "PagerDutyUnavailableError",
			wantStatus: 503,
			wantError:  "PagerDuty answered 503 Service Unavailable to the trigger for " + dedupKey + ": Service Unavailable",
		},
		{
			name:        "no answer before the deadline",
			failure:     &pagerdutylocal.Failure{Hang: true},
			timeout:     200 * time.Millisecond,
			wantType:    "PagerDutyUnavailableError",
			wantTimeout: true,
			wantError:   "PagerDuty did not answer the trigger for " + dedupKey + " in time: ",
			wantPrefix:  true,
		},
		{
			name:       "connection closed without an answer",
			failure:    &pagerdutylocal.Failure{Drop: true},
			wantType:   "PagerDutyUnavailableError",
			wantError:  "PagerDuty could not be reached for the trigger for " + dedupKey + ": ",
			wantPrefix: true,
		},
		{
			name:       "400 invalid routing key",
			key:        "not-a-routing-key-SECRET",
			wantType:   "PagerDutyRejectedError",
			wantStatus: 400,
			wantError:  "PagerDuty answered 400 Bad Request to the trigger for " + dedupKey + ": Event object is invalid: Length of 'routing_key' is incorrect (should be 32 characters)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, srv := setup(t)
			if tt.failure != nil {
				srv.FailNext(1, *tt.failure)
			}
			key := routingKey
			if tt.key != "" {
				key = tt.key
			}
			ctx := context.Background()
			if tt.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.timeout)
				defer cancel()
			}

			_, err := p.Trigger(ctx, key, inc, 2, teamLead)
			if err == nil {
				t.Fatal("Trigger succeeded, want an error")
			}
			if got := errorType(err); got != tt.wantType {
				t.Errorf("Lambda errorType = %q, want %q (error %v)", got, tt.wantType, err)
			}
			if tt.wantPrefix {
				if !strings.HasPrefix(err.Error(), tt.wantError) {
					t.Errorf("Error()\n got %s\nwant prefix %s", err, tt.wantError)
				}
			} else if err.Error() != tt.wantError {
				t.Errorf("Error()\n got %s\nwant %s", err, tt.wantError)
			}
			if strings.Contains(err.Error(), key) {
				t.Errorf("Error() %q contains the routing key", err)
			}

			var unavailable *pagerduty.PagerDutyUnavailableError
			var rejected *pagerduty.PagerDutyRejectedError
			switch tt.wantType {
			case "PagerDutyUnavailableError":
				if !errors.As(err, &unavailable) {
					t.Fatalf("errors.As(%T, *PagerDutyUnavailableError) = false", err)
				}
				if errors.As(err, &rejected) {
					t.Errorf("the error is also a *PagerDutyRejectedError")
				}
				if unavailable.StatusCode != tt.wantStatus || unavailable.RetryAfter != tt.wantRetryAfter || unavailable.Timeout != tt.wantTimeout {
					t.Errorf("status, retry after, timeout = %d, %s, %v; want %d, %s, %v",
						unavailable.StatusCode, unavailable.RetryAfter, unavailable.Timeout, tt.wantStatus, tt.wantRetryAfter, tt.wantTimeout)
				}
				if unavailable.Action != "trigger" || unavailable.DedupKey != dedupKey {
					t.Errorf("action, dedup key = %q, %q; want trigger, %q", unavailable.Action, unavailable.DedupKey, dedupKey)
				}
			case "PagerDutyRejectedError":
				if !errors.As(err, &rejected) {
					t.Fatalf("errors.As(%T, *PagerDutyRejectedError) = false", err)
				}
				if errors.As(err, &unavailable) {
					t.Errorf("the error is also a *PagerDutyUnavailableError")
				}
				if rejected.StatusCode != tt.wantStatus {
					t.Errorf("status = %d, want %d", rejected.StatusCode, tt.wantStatus)
				}
			}
		})
	}
}

func TestRetryAfterAFailureSucceedsWithOneAlert(t *testing.T) {
	p, srv := setup(t)
	srv.FailNext(2, pagerdutylocal.Failure{Status: 503})
	ctx := context.Background()
	var err error
	for range 3 {
		if _, err = p.Trigger(ctx, routingKey, inc, 1, teamLead); err == nil {
			break
		}
		var unavailable *pagerduty.PagerDutyUnavailableError
		if !errors.As(err, &unavailable) {
			t.Fatalf("Trigger error %v is not retryable", err)
		}
	}
	if err != nil {
		t.Fatalf("third Trigger: %v", err)
	}
	if got := len(srv.Alerts()); got != 1 {
		t.Errorf("Alerts() = %d, want 1", got)
	}
}

func TestUnreachablePagerDuty(t *testing.T) {
	srv, err := pagerdutylocal.Start(pagerdutylocal.New(nil))
	if err != nil {
		t.Fatal(err)
	}
	url := srv.URL
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	p := pagerduty.New(pagerduty.NewEventsClient(url), pagerduty.Options{})
	err = p.Resolve(context.Background(), routingKey, "inc-1/level-1")
	var unavailable *pagerduty.PagerDutyUnavailableError
	if !errors.As(err, &unavailable) {
		t.Fatalf("Resolve against a closed port: %v (%T), want *PagerDutyUnavailableError", err, err)
	}
	if want := "PagerDuty could not be reached for the resolve for inc-1/level-1: "; !strings.HasPrefix(err.Error(), want) {
		t.Errorf("Error() = %q, want prefix %q", err, want)
	}
}

func TestAcknowledgeWithoutDedupKeyIsRejected(t *testing.T) {
	p, _ := setup(t)
	err := p.Acknowledge(context.Background(), routingKey, "")
	var rejected *pagerduty.PagerDutyRejectedError
	if !errors.As(err, &rejected) {
		t.Fatalf("Acknowledge without dedup key: %v (%T), want *PagerDutyRejectedError", err, err)
	}
	if !strings.Contains(err.Error(), "'dedup_key' is missing") {
		t.Errorf("Error() = %q, want PagerDuty's reason", err)
	}
}

// fakeEvents is a hand-written EventsAPI that answers with err or resp and
// keeps the events it was given.
type fakeEvents struct {
	resp   *pd.V2EventResponse
	err    error
	events []*pd.V2Event
}

func (f *fakeEvents) ManageEventWithContext(_ context.Context, e *pd.V2Event) (*pd.V2EventResponse, error) {
	f.events = append(f.events, e)
	return f.resp, f.err
}

// TestErrorsFromAnotherEventsAPI classifies the errors go-pagerduty itself
// returns, for an EventsAPI not built by NewEventsClient.
func TestErrorsFromAnotherEventsAPI(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		wantType   string
		wantStatus int
		wantError  string
	}{
		{
			name:       "REST-shaped 429",
			err:        pd.APIError{StatusCode: 429},
			wantType:   "PagerDutyUnavailableError",
			wantStatus: 429,
			wantError:  "PagerDuty answered 429 Too Many Requests to the resolve for k",
		},
		{
			name: "REST-shaped 403 with a message",
			err: pd.APIError{StatusCode: 403, APIError: pd.NullAPIErrorObject{
				Valid: true, ErrorObject: pd.APIErrorObject{Message: "Forbidden", Errors: []string{"integration disabled"}},
			}},
			wantType:   "PagerDutyRejectedError",
			wantStatus: 403,
			wantError:  "PagerDuty answered 403 Forbidden to the resolve for k: Forbidden: integration disabled",
		},
		{
			name: "Events API error 502",
			err: pd.EventsAPIV2Error{StatusCode: 502, APIError: pd.NullEventsAPIV2ErrorObject{
				Valid: true, ErrorObject: pd.EventsAPIV2ErrorObject{Status: "error", Message: "upstream failed"},
			}},
			wantType:   "PagerDutyUnavailableError",
			wantStatus: 502,
			wantError:  "PagerDuty answered 502 Bad Gateway to the resolve for k: upstream failed",
		},
		{
			name:      "transport error",
			err:       errors.New("error calling the API endpoint: dial tcp 10.0.0.1:443: connect: connection refused"),
			wantType:  "PagerDutyUnavailableError",
			wantError: "PagerDuty could not be reached for the resolve for k: error calling the API endpoint: dial tcp 10.0.0.1:443: connect: connection refused",
		},
		{
			name:      "deadline",
			err:       context.DeadlineExceeded,
			wantType:  "PagerDutyUnavailableError",
			wantError: "PagerDuty did not answer the resolve for k in time: context deadline exceeded",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := pagerduty.New(&fakeEvents{err: tt.err}, pagerduty.Options{})
			err := p.Resolve(context.Background(), routingKey, "k")
			if err == nil {
				t.Fatal("Resolve succeeded, want an error")
			}
			if got := errorType(err); got != tt.wantType {
				t.Errorf("errorType = %q, want %q", got, tt.wantType)
			}
			if err.Error() != tt.wantError {
				t.Errorf("Error()\n got %s\nwant %s", err, tt.wantError)
			}
			if got := errors.Unwrap(err); !reflect.DeepEqual(got, tt.err) {
				t.Errorf("Unwrap() = %#v, want the EventsAPI's error %#v", got, tt.err)
			}
			var status int
			var unavailable *pagerduty.PagerDutyUnavailableError
			var rejected *pagerduty.PagerDutyRejectedError
			switch {
			case errors.As(err, &unavailable):
				status = unavailable.StatusCode
			case errors.As(err, &rejected):
				status = rejected.StatusCode
			}
			if status != tt.wantStatus {
				t.Errorf("status = %d, want %d", status, tt.wantStatus)
			}
		})
	}
}

func TestTriggerUsesTheClockWithoutAnOpeningTime(t *testing.T) {
	now := time.Date(2025, 3, 2, 8, 0, 0, 0, time.UTC)
	fake := &fakeEvents{resp: &pd.V2EventResponse{Status: "success"}}
	p := pagerduty.New(fake, pagerduty.Options{Clock: incident.ClockFunc(func() time.Time { return now })})
	noTime := inc
	noTime.OpenedAt = time.Time{}
	key, err := p.Trigger(context.Background(), routingKey, noTime, 1, teamLead)
	if err != nil {
		t.Fatalf("Trigger: %v", err)
	}
	if want := incident.PageDedupKey(inc.ID, 0, 1); key != want {
		t.Errorf("dedup key = %q, want %q when PagerDuty echoes none", key, want)
	}
	if got, want := fake.events[0].Payload.Timestamp, "2025-03-02T08:00:00.000Z"; got != want {
		t.Errorf("timestamp = %q, want %q", got, want)
	}
}

func TestRoutingKeyRefused(t *testing.T) {
	for msg, want := range map[string]bool{
		"Event object is invalid: Invalid routing key":                   true,
		"Event object is invalid: Length of 'routing_key' is incorrect":  true,
		"Event object is invalid: 'payload.summary' is missing or blank": false,
		"": false,
	} {
		if got := (&pagerduty.PagerDutyRejectedError{StatusCode: 400, Message: msg}).RoutingKeyRefused(); got != want {
			t.Errorf("RoutingKeyRefused(%q) = %v, want %v", msg, got, want)
		}
	}
}
