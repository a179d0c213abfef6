package logs_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"

	"github.com/dashboarduz/incident-response/shared/awserr"
	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/local/awslocal"
	"github.com/dashboarduz/incident-response/shared/logs"
)

var now = time.Date(2026, 3, 1, 3, 0, 0, 0, time.UTC)

func start(t *testing.T, events ...awslocal.LogEvent) (*awslocal.Server, *logs.Reader) {
	t.Helper()
	srv, err := awslocal.Start(awslocal.Options{World: awslocal.World{LogGroups: []awslocal.LogGroup{{Name: "/ecs/dashboarduz-api", Events: events}}}, Hold: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return srv, logs.NewReader(cloudwatchlogs.NewFromConfig(srv.AWSConfig()), incident.ClockFunc(func() time.Time { return now }))
}

func at(ago time.Duration, msg string) awslocal.LogEvent {
	return awslocal.LogEvent{Time: now.Add(-ago), Stream: "ecs/app/1", Message: msg}
}

func messages(ex *logs.Excerpt) []string {
	var out []string
	for _, l := range ex.Lines {
		out = append(out, l.Message)
	}
	return out
}

func TestErrorLines(t *testing.T) {
	_, r := start(t,
		at(40*time.Minute, "ERROR too old"),
		at(20*time.Minute, "ERROR connect postgres://app:hunter2@db:5432 refused"),
		at(10*time.Minute, "INFO all good"),
		at(3*time.Minute, "Error: token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig expired"),
		at(30*time.Second, "panic: runtime error: index out of range"),
	)
	ex, err := r.ErrorLines(context.Background(), "/ecs/dashboarduz-api", logs.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"panic: runtime error: index out of range",
		"Error: token [REDACTED] expired",
		"ERROR connect postgres://app:[REDACTED]@db:5432 refused",
	}
	if got := messages(ex); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("lines =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if ex.Truncated || ex.Lines[0].Stream != "ecs/app/1" || !ex.Lines[0].Time.Equal(now.Add(-30*time.Second)) || !strings.Contains(ex.Source, "FilterLogEvents") {
		t.Errorf("excerpt = %+v", ex)
	}
}

func TestErrorLinesBoundedByCount(t *testing.T) {
	var events []awslocal.LogEvent
	for i := range 50 {
		events = append(events, at(time.Duration(50-i)*10*time.Second, fmt.Sprintf("ERROR number %02d", i)))
	}
	srv, r := start(t, events...)
	ex, err := r.ErrorLines(context.Background(), "/ecs/dashboarduz-api", logs.Limits{Lines: 3})
	if err != nil {
		t.Fatal(err)
	}
	if got := messages(ex); strings.Join(got, ",") != "ERROR number 49,ERROR number 48,ERROR number 47" || !ex.Truncated {
		t.Errorf("lines = %v (truncated %v), want the newest three and truncated", got, ex.Truncated)
	}
	if n := len(srv.CallsTo("logs", "FilterLogEvents")); n != 1 {
		t.Errorf("%d calls, want 1: the last minute holds enough lines", n)
	}
}

func TestErrorLinesBoundedByBytes(t *testing.T) {
	long := "ERROR " + strings.Repeat("x", 5000)
	_, r := start(t, at(3*time.Minute, "ERROR first"), at(2*time.Minute, long), at(time.Minute, long))
	ex, err := r.ErrorLines(context.Background(), "/ecs/dashboarduz-api", logs.Limits{LineBytes: 100, Bytes: 150})
	if err != nil {
		t.Fatal(err)
	}
	if len(ex.Lines) != 1 || len(ex.Lines[0].Message) > 100 || !strings.HasSuffix(ex.Lines[0].Message, "[...]") || !ex.Truncated {
		t.Errorf("lines = %d, first %d bytes, truncated %v; want one line cut to 100 bytes and truncated", len(ex.Lines), len(ex.Lines[0].Message), ex.Truncated)
	}
}

func TestErrorLinesBoundedByCalls(t *testing.T) {
	var events []awslocal.LogEvent
	for i := range 2500 {
		events = append(events, awslocal.LogEvent{Time: now.Add(-59 * time.Second).Add(time.Duration(i) * time.Millisecond), Message: "ERROR busy"})
	}
	srv, r := start(t, events...)
	ex, err := r.ErrorLines(context.Background(), "/ecs/dashboarduz-api", logs.Limits{Calls: 2})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(srv.CallsTo("logs", "FilterLogEvents")); n != 2 || !ex.Truncated || len(ex.Lines) != 20 {
		t.Errorf("%d calls, %d lines, truncated %v; want 2 calls, 20 lines, truncated", n, len(ex.Lines), ex.Truncated)
	}
}

func TestErrorLinesOfUnknownGroup(t *testing.T) {
	_, r := start(t)
	_, err := r.ErrorLines(context.Background(), "/ecs/nope", logs.Limits{})
	if incident.ErrorCode(err) != incident.ENotFound {
		t.Errorf("error = %v, want not_found", err)
	}
}

func TestErrorLinesFaults(t *testing.T) {
	tests := []struct {
		kind      awslocal.FaultKind
		retryable bool
		code      string
	}{
		{awslocal.Throttle, true, incident.EInternal},
		{awslocal.Timeout, true, incident.EInternal},
		{awslocal.AccessDenied, false, incident.EUnauthorized},
	}
	for _, tt := range tests {
		t.Run(string(tt.kind), func(t *testing.T) {
			srv, r := start(t, at(time.Minute, "ERROR x"))
			if err := srv.AddFault(awslocal.Fault{Service: "logs", Kind: tt.kind}); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			_, err := r.ErrorLines(ctx, "/ecs/dashboarduz-api", logs.Limits{})
			if awserr.Retryable(err) != tt.retryable || incident.ErrorCode(err) != tt.code {
				t.Errorf("error = %v: retryable %v code %s, want %v %s", err, awserr.Retryable(err), incident.ErrorCode(err), tt.retryable, tt.code)
			}
		})
	}
}
