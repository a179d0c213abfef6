package scheduler_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	awsscheduler "github.com/aws/aws-sdk-go-v2/service/scheduler"

	"github.com/dashboarduz/incident-response/shared/awserr"
	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/local/awslocal"
	"github.com/dashboarduz/incident-response/shared/scheduler"
)

var t0 = time.Date(2026, 3, 1, 3, 0, 0, 0, time.UTC)

const (
	role   = "arn:aws:iam::123456789012:role/incident-response-scheduler"
	target = "arn:aws:lambda:us-east-1:123456789012:function:incident-response-remediate"
)

func start(t *testing.T) (*awslocal.Server, *scheduler.Scheduler) {
	t.Helper()
	srv, err := awslocal.Start(awslocal.Options{Clock: incident.ClockFunc(func() time.Time { return t0 }), Hold: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return srv, scheduler.New(awsscheduler.NewFromConfig(srv.AWSConfig()), role)
}

func scaleDown(key string) scheduler.OneTime {
	return scheduler.OneTime{Key: key, At: t0.Add(30 * time.Minute), TargetARN: target, Input: json.RawMessage(`{"action":"scale-down","service":"dashboarduz-worker"}`), Description: "scale the worker back down"}
}

func TestCreateOnce(t *testing.T) {
	srv, s := start(t)
	ctx := context.Background()
	key := "inc-20260301-030000-c0f8ae04e8/scale-down"
	created, err := s.CreateOnce(ctx, scaleDown(key))
	if err != nil {
		t.Fatal(err)
	}
	if created.AlreadyExisted || created.Name != scheduler.Name(key) || !strings.HasSuffix(created.ARN, "/default/"+created.Name) {
		t.Errorf("created = %+v", created)
	}
	w := srv.World()
	if len(w.Schedules) != 1 {
		t.Fatalf("schedules = %+v", w.Schedules)
	}
	sc := w.Schedules[0]
	if !sc.At.Equal(t0.Add(30*time.Minute)) || sc.TargetARN != target || sc.RoleARN != role || sc.ActionAfterCompletion != "DELETE" || !strings.Contains(sc.Input, "scale-down") {
		t.Errorf("schedule = %+v", sc)
	}
	again, err := s.CreateOnce(ctx, scaleDown(key))
	if err != nil {
		t.Fatal(err)
	}
	if again.Name != created.Name || len(srv.World().Schedules) != 1 {
		t.Errorf("second create = %+v, schedules %d; want the same one", again, len(srv.World().Schedules))
	}
	deleted, err := s.Delete(ctx, key)
	if err != nil || !deleted {
		t.Errorf("delete = %v, %v", deleted, err)
	}
	deleted, err = s.Delete(ctx, key)
	if err != nil || deleted {
		t.Errorf("second delete = %v, %v; want false and no error", deleted, err)
	}
}

func TestCreateOnceConflict(t *testing.T) {
	srv, s := start(t)
	key := "inc-1/scale-down"
	// A schedule of the same name made with another client token: what a
	// schedule created by an earlier deployment of the code looks like.
	if err := srv.Update(func(w *awslocal.World) {
		w.Schedules = append(w.Schedules, awslocal.Schedule{Name: scheduler.Name(key), Expression: "at(2026-03-01T03:30:00)", TargetARN: target, ClientToken: "other"})
	}); err != nil {
		t.Fatal(err)
	}
	created, err := s.CreateOnce(context.Background(), scaleDown(key))
	if err != nil || !created.AlreadyExisted {
		t.Errorf("created = %+v, %v; want already existed", created, err)
	}
}

func TestName(t *testing.T) {
	long := strings.Repeat("incident/", 20)
	tests := []string{"inc-1/scale-down", "inc-1 scale down!", long, long + "x"}
	seen := map[string]bool{}
	for _, key := range tests {
		n := scheduler.Name(key)
		if len(n) > 64 || strings.ContainsAny(n, "/ !") || seen[n] {
			t.Errorf("Name(%q) = %q: too long, unsafe or not unique", key, n)
		}
		seen[n] = true
		if scheduler.Name(key) != n {
			t.Errorf("Name(%q) is not stable", key)
		}
	}
}

func TestCreateOnceRefusesBadInput(t *testing.T) {
	srv, s := start(t)
	bad := map[string]scheduler.OneTime{
		"no key":    {At: t0, TargetARN: target, Input: json.RawMessage(`{}`)},
		"no time":   {Key: "k", TargetARN: target, Input: json.RawMessage(`{}`)},
		"no target": {Key: "k", At: t0, Input: json.RawMessage(`{}`)},
		"not json":  {Key: "k", At: t0, TargetARN: target, Input: json.RawMessage(`{`)},
	}
	for name, o := range bad {
		if _, err := s.CreateOnce(context.Background(), o); incident.ErrorCode(err) != incident.EInvalid {
			t.Errorf("%s: %v, want invalid", name, err)
		}
	}
	if n := len(srv.Calls()); n != 0 {
		t.Errorf("%d calls reached Scheduler, want none", n)
	}
}

func TestCreateOnceFaults(t *testing.T) {
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
			srv, s := start(t)
			if err := srv.AddFault(awslocal.Fault{Service: "scheduler", Kind: tt.kind}); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			_, err := s.CreateOnce(ctx, scaleDown("k"))
			if awserr.Retryable(err) != tt.retryable || incident.ErrorCode(err) != tt.code {
				t.Errorf("error = %v: retryable %v code %s, want %v %s", err, awserr.Retryable(err), incident.ErrorCode(err), tt.retryable, tt.code)
			}
		})
	}
}

func TestCreateOnceAfterLostAnswer(t *testing.T) {
	srv, s := start(t)
	if err := srv.AddFault(awslocal.Fault{Service: "scheduler", Operation: "CreateSchedule", Kind: awslocal.TimeoutApplied, Count: 1}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	_, err := s.CreateOnce(ctx, scaleDown("k"))
	cancel()
	if !awserr.Retryable(err) {
		t.Fatalf("error = %v, want retryable", err)
	}
	if _, err := s.CreateOnce(context.Background(), scaleDown("k")); err != nil {
		t.Fatalf("retry: %v", err)
	}
	if n := len(srv.World().Schedules); n != 1 {
		t.Errorf("%d schedules, want 1", n)
	}
}
