package awslocal_test

import (
	"errors"
	"testing"
	"time"

	"github.com/aws/smithy-go"

	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/local/awslocal"
)

// t0 is "now" in every test: the clock the server reads.
var t0 = time.Date(2026, 3, 1, 3, 0, 0, 0, time.UTC)

func ptr[T any](v T) *T { return &v }

// testWorld is a small production-like world: the runbook's API and
// worker services, three revisions of the API's task definition, a
// database, a log group and a maintenance-mode parameter.
func testWorld() awslocal.World {
	return awslocal.World{
		Clusters: []awslocal.Cluster{{
			Name: "dashboarduz",
			Services: []awslocal.Service{
				{
					Name: "dashboarduz-api", DesiredCount: 3, RunningCount: 1, PendingCount: 0,
					CPUUtilization: ptr(91.5), MemoryUtilization: ptr(62.0),
					Deployments: []awslocal.Deployment{{
						ID: "ecs-svc/1111", Status: "PRIMARY", TaskDefinition: "dashboarduz-api:7",
						DesiredCount: 3, RunningCount: 1, RolloutState: "COMPLETED",
						CreatedAt: t0.Add(-40 * time.Minute), UpdatedAt: t0.Add(-35 * time.Minute),
					}},
					StoppedTasks: []awslocal.Task{
						{ID: "aaaa1111", StoppedReason: "Essential container in task exited", StopCode: "EssentialContainerExited", StoppedAt: t0.Add(-5 * time.Minute), Containers: []awslocal.Container{{Name: "app", ExitCode: ptr(int32(137)), Reason: "OutOfMemoryError: Container killed due to memory usage"}}},
						{ID: "bbbb2222", StoppedReason: "Task failed ELB health checks in (target-group arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/api/abc)", StopCode: "ServiceSchedulerInitiated", StoppedAt: t0.Add(-2 * time.Minute)},
					},
				},
				{Name: "dashboarduz-worker", DesiredCount: 2, RunningCount: 2, TaskDefinition: "dashboarduz-worker:3"},
			},
		}},
		TaskDefinitions: []awslocal.TaskDefinition{
			{Family: "dashboarduz-api", Revision: 5, Image: "api:1.4.0"},
			{Family: "dashboarduz-api", Revision: 6, Image: "api:1.5.0"},
			{Family: "dashboarduz-api", Revision: 7, Image: "api:1.6.0"},
			{Family: "dashboarduz-api-migrations", Revision: 9},
		},
		DBInstances: []awslocal.DBInstance{{Identifier: "dashboarduz-db", Status: "available", Class: "db.r6g.large", Engine: "postgres", EngineVersion: "16.3", MultiAZ: true, AllocatedStorage: 100, Connections: ptr(480.0)}},
		LogGroups: []awslocal.LogGroup{{Name: "/ecs/dashboarduz-api", Events: []awslocal.LogEvent{
			{Time: t0.Add(-20 * time.Minute), Message: "INFO request served in 12ms"},
			{Time: t0.Add(-10 * time.Minute), Message: "ERROR database timeout after 5000ms"},
			{Time: t0.Add(-9 * time.Minute), Stream: "ecs/app/other", Message: "Error: connect ECONNREFUSED"},
			{Time: t0.Add(-8 * time.Minute), Message: "WARN slow query"},
			{Time: t0.Add(-1 * time.Minute), Message: "ERROR health check failed"},
		}}},
		Parameters: []awslocal.Parameter{{Name: "/dashboarduz/maintenance-mode", Value: "off", Version: 4, LastModified: t0.Add(-24 * time.Hour)}},
	}
}

// start serves testWorld (or w) on t0's clock and closes it after the test.
func start(t *testing.T, w ...awslocal.World) *awslocal.Server {
	t.Helper()
	world := testWorld()
	if len(w) > 0 {
		world = w[0]
	}
	srv, err := awslocal.Start(awslocal.Options{World: world, Clock: incident.ClockFunc(func() time.Time { return t0 }), Hold: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return srv
}

// errorCode returns the AWS error code of err, "" when it has none.
func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// lastCall returns the last call the server recorded.
func lastCall(t *testing.T, srv *awslocal.Server) awslocal.Call {
	t.Helper()
	calls := srv.Calls()
	if len(calls) == 0 {
		t.Fatal("no call recorded")
	}
	return calls[len(calls)-1]
}
