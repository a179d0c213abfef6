package pagerduty

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/local/pagerdutylocal"
)

func TestClientTimeoutIsUnavailable(t *testing.T) {
	srv, err := pagerdutylocal.Start(pagerdutylocal.New(nil))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	srv.FailNext(1, pagerdutylocal.Failure{Hang: true})

	p := New(newEventsClient(srv.URL, 100*time.Millisecond), Options{})
	_, err = p.Trigger(context.Background(), "R02Q7HZKTEAMLEAD0000000000000042", incident.Incident{ID: "inc-1", Severity: incident.P1, Service: "dashboarduz-api", Summary: "s"}, 1, incident.Level{Name: "on-call"})
	var unavailable *PagerDutyUnavailableError
	if !errors.As(err, &unavailable) {
		t.Fatalf("Trigger: %v (%T), want *PagerDutyUnavailableError", err, err)
	}
	if !unavailable.Timeout || unavailable.StatusCode != 0 {
		t.Errorf("timeout, status = %v, %d; want true, 0 (error %v)", unavailable.Timeout, unavailable.StatusCode, err)
	}
}

func TestRetryAfter(t *testing.T) {
	date := "Sat, 01 Mar 2025 10:15:00 GMT"
	tests := []struct {
		name   string
		header http.Header
		want   time.Duration
	}{
		{"absent", http.Header{}, 0},
		{"seconds", http.Header{"Retry-After": {"30"}}, 30 * time.Second},
		{"negative", http.Header{"Retry-After": {"-3"}}, 0},
		{"date against Date", http.Header{"Retry-After": {"Sat, 01 Mar 2025 10:16:30 GMT"}, "Date": {date}}, 90 * time.Second},
		{"date without Date", http.Header{"Retry-After": {"Sat, 01 Mar 2025 10:16:30 GMT"}}, 0},
		{"date in the past", http.Header{"Retry-After": {"Sat, 01 Mar 2025 10:14:00 GMT"}, "Date": {date}}, 0},
		{"garbage", http.Header{"Retry-After": {"soon"}}, 0},
	}
	for _, tt := range tests {
		if got := retryAfter(tt.header); got != tt.want {
			t.Errorf("%s: retryAfter = %s, want %s", tt.name, got, tt.want)
		}
	}
}

func TestErrorMessage(t *testing.T) {
	tests := []struct {
		name        string
		contentType string
		body        string
		want        string
	}{
		{"events API object", "application/json", `{"status":"invalid event","message":"Event object is invalid","errors":["'payload.summary' is missing or blank"]}`, "Event object is invalid: 'payload.summary' is missing or blank"},
		{"status only", "application/json", `{"status":"throttle event"}`, "throttle event"},
		{"REST error object", "application/json", `{"error":{"message":"Not Found","code":2100}}`, "Not Found"},
		{"plain text", "text/plain; charset=utf-8", "Request Limit Exceeded\n", "Request Limit Exceeded"},
		{"HTML page", "text/html", "<html><body>502 Bad Gateway</body></html>", ""},
	}
	for _, tt := range tests {
		if got := errorMessage(tt.contentType, []byte(tt.body)); got != tt.want {
			t.Errorf("%s: errorMessage = %q, want %q", tt.name, got, tt.want)
		}
	}
}
