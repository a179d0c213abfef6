package cloudwatch_test

import (
	"context"
	"testing"
	"time"

	awscloudwatch "github.com/aws/aws-sdk-go-v2/service/cloudwatch"

	"github.com/dashboarduz/incident-response/shared/awserr"
	"github.com/dashboarduz/incident-response/shared/cloudwatch"
	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/local/awslocal"
)

var now = time.Date(2026, 3, 1, 3, 0, 30, 0, time.UTC)

func startMetrics(t *testing.T) (*awslocal.Server, *cloudwatch.Metrics) {
	t.Helper()
	cpu, mem, conns := 93.0, 55.0, 480.0
	var points []awslocal.Datapoint
	for i := range 30 {
		points = append(points, awslocal.Datapoint{Time: now.Add(-time.Duration(i) * time.Minute).Truncate(time.Minute), Value: float64(400 + i)})
	}
	srv, err := awslocal.Start(awslocal.Options{
		World: awslocal.World{
			Clusters:    []awslocal.Cluster{{Name: "dashboarduz", Services: []awslocal.Service{{Name: "dashboarduz-api", DesiredCount: 2, RunningCount: 2, TaskDefinition: "api:1", CPUUtilization: &cpu, MemoryUtilization: &mem}}}},
			DBInstances: []awslocal.DBInstance{{Identifier: "dashboarduz-db", Connections: &conns}, {Identifier: "replica"}},
			Metrics:     []awslocal.Metric{{Namespace: "AWS/RDS", Name: "DatabaseConnections", Dimensions: map[string]string{"DBInstanceIdentifier": "replica"}, Datapoints: points}},
		},
		Clock: incident.ClockFunc(func() time.Time { return now }),
		Hold:  5 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return srv, cloudwatch.NewMetrics(awscloudwatch.NewFromConfig(srv.AWSConfig()), incident.ClockFunc(func() time.Time { return now }))
}

func TestServiceUtilization(t *testing.T) {
	tests := []struct {
		period time.Duration
		points int
	}{
		{time.Minute, 31},
		{5 * time.Minute, 7},
	}
	for _, tt := range tests {
		t.Run(tt.period.String(), func(t *testing.T) {
			srv, m := startMetrics(t)
			u, err := m.ServiceUtilization(context.Background(), "dashboarduz", "dashboarduz-api", tt.period)
			if err != nil {
				t.Fatal(err)
			}
			if len(u.CPU.Points) != tt.points || len(u.Memory.Points) != tt.points {
				t.Fatalf("got %d CPU and %d memory points, want %d", len(u.CPU.Points), len(u.Memory.Points), tt.points)
			}
			latest, _ := u.CPU.Latest()
			if latest.Value != 93 || !u.CPU.Points[0].Time.Before(latest.Time) || u.Memory.Points[0].Value != 55 {
				t.Errorf("cpu latest %+v first %+v, memory %v", latest, u.CPU.Points[0], u.Memory.Points[0])
			}
			if !u.CPU.Complete || u.CPU.Stat != "Average" || u.CPU.Dimensions["ServiceName"] != "dashboarduz-api" || u.CPU.Source == "" {
				t.Errorf("series = %+v", u.CPU)
			}
			if want := now.Add(-30 * time.Minute).Truncate(tt.period); !u.CPU.Start.Equal(want) || !u.CPU.End.Equal(now) {
				t.Errorf("window %v to %v, want %v to %v", u.CPU.Start, u.CPU.End, want, now)
			}
			if n := len(srv.CallsTo("cloudwatch", "GetMetricData")); n != 1 {
				t.Errorf("%d GetMetricData calls, want 1", n)
			}
		})
	}
}

func TestDatabaseConnections(t *testing.T) {
	_, m := startMetrics(t)
	s, err := m.DatabaseConnections(context.Background(), "dashboarduz-db", 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if p, ok := s.Max(); !ok || p.Value != 480 || s.Stat != "Maximum" {
		t.Errorf("max = %+v (%v), stat %s", p, ok, s.Stat)
	}
	replica, err := m.DatabaseConnections(context.Background(), "replica", 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	// Raw points 400 (newest) to 429 (oldest), maximum per 5 minutes.
	if p, _ := replica.Latest(); p.Value != 400 {
		t.Errorf("latest bucket = %+v, want the newest minute's 400", p)
	}
	if p, _ := replica.Max(); p.Value != 429 {
		t.Errorf("max = %+v, want 429", p)
	}
	empty, err := m.DatabaseConnections(context.Background(), "nope", time.Minute)
	if err != nil || len(empty.Points) != 0 {
		t.Errorf("an instance without data: %+v, %v; want an empty series", empty, err)
	}
	if _, ok := empty.Latest(); ok {
		t.Error("an empty series has a latest point")
	}
}

func TestMetricsRefusesOtherPeriods(t *testing.T) {
	_, m := startMetrics(t)
	if _, err := m.DatabaseConnections(context.Background(), "dashboarduz-db", 10*time.Second); incident.ErrorCode(err) != incident.EInvalid {
		t.Errorf("10s period: %v, want invalid", err)
	}
}

func TestMetricsFaults(t *testing.T) {
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
			srv, m := startMetrics(t)
			if err := srv.AddFault(awslocal.Fault{Service: "cloudwatch", Operation: "GetMetricData", Kind: tt.kind}); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			_, err := m.ServiceUtilization(ctx, "dashboarduz", "dashboarduz-api", time.Minute)
			if awserr.Retryable(err) != tt.retryable || incident.ErrorCode(err) != tt.code {
				t.Errorf("error = %v: retryable %v code %s, want %v %s", err, awserr.Retryable(err), incident.ErrorCode(err), tt.retryable, tt.code)
			}
		})
	}
}
