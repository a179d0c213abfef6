package ecs_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsecs "github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/dashboarduz/incident-response/shared/awserr"
	"github.com/dashboarduz/incident-response/shared/ecs"
	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/local/awslocal"
)

var t0 = time.Date(2026, 3, 1, 3, 0, 0, 0, time.UTC)

const tdARN = "arn:aws:ecs:us-east-1:123456789012:task-definition/"

func world() awslocal.World {
	exit := int32(137)
	return awslocal.World{
		Clusters: []awslocal.Cluster{{Name: "dashboarduz", Services: []awslocal.Service{
			{
				Name: "dashboarduz-api", DesiredCount: 3, RunningCount: 1,
				Deployments: []awslocal.Deployment{{
					ID: "ecs-svc/1", Status: "PRIMARY", TaskDefinition: "dashboarduz-api:7", DesiredCount: 3, RunningCount: 1,
					RolloutState: "COMPLETED", CreatedAt: t0.Add(-40 * time.Minute), UpdatedAt: t0.Add(-35 * time.Minute),
				}},
				StoppedTasks: []awslocal.Task{
					{ID: "t1", StoppedReason: "Essential container in task exited", StopCode: "EssentialContainerExited", StoppedAt: t0.Add(-5 * time.Minute), Containers: []awslocal.Container{{Name: "app", ExitCode: &exit, Reason: "OutOfMemoryError"}}},
					{ID: "t2", StoppedReason: "Task failed ELB health checks", StopCode: "ServiceSchedulerInitiated", StoppedAt: t0.Add(-2 * time.Minute)},
				},
			},
			{Name: "dashboarduz-worker", DesiredCount: 2, RunningCount: 2, TaskDefinition: "dashboarduz-worker:1"},
		}}},
		TaskDefinitions: []awslocal.TaskDefinition{
			{Family: "dashboarduz-api", Revision: 5}, {Family: "dashboarduz-api", Revision: 6}, {Family: "dashboarduz-api", Revision: 7},
			{Family: "dashboarduz-api-migrations", Revision: 3},
		},
	}
}

func start(t *testing.T, w awslocal.World) (*awslocal.Server, *ecs.Client) {
	t.Helper()
	srv, err := awslocal.Start(awslocal.Options{World: w, Clock: incident.ClockFunc(func() time.Time { return t0 }), Hold: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return srv, ecs.New(awsecs.NewFromConfig(srv.AWSConfig()))
}

func TestServiceState(t *testing.T) {
	_, client := start(t, world())
	st, err := client.ServiceState(context.Background(), "dashboarduz", "dashboarduz-api")
	if err != nil {
		t.Fatal(err)
	}
	if st.Desired != 3 || st.Running != 1 || st.Pending != 0 {
		t.Errorf("counts = %d/%d/%d", st.Desired, st.Running, st.Pending)
	}
	if st.TaskDefinition != tdARN+"dashboarduz-api:7" || len(st.Deployments) != 1 || !st.Deployments[0].CreatedAt.Equal(t0.Add(-40*time.Minute)) || st.Deployments[0].RolloutState != "COMPLETED" {
		t.Errorf("state = %+v", st)
	}
	if len(st.StoppedTasks) != 2 || !strings.HasSuffix(st.StoppedTasks[0].TaskARN, "/t2") || st.StoppedTasks[1].StopCode != "EssentialContainerExited" || *st.StoppedTasks[1].Containers[0].ExitCode != 137 {
		t.Errorf("stopped tasks = %+v, want t2 then t1 with its exit code", st.StoppedTasks)
	}
	if _, ok := st.DeployedSince(t0.Add(-time.Hour)); !ok {
		t.Error("the deployment 40 minutes ago is not within the last hour")
	}
	if _, ok := st.DeployedSince(t0.Add(-30 * time.Minute)); ok {
		t.Error("a deployment 40 minutes ago is within the last 30 minutes")
	}
	if !strings.Contains(st.Source, "DescribeServices") || st.StoppedTasksError != "" {
		t.Errorf("source %q, stopped tasks error %q", st.Source, st.StoppedTasksError)
	}
}

func TestServiceStateWithoutStoppedTasks(t *testing.T) {
	srv, client := start(t, world())
	if err := srv.AddFault(awslocal.Fault{Service: "ecs", Operation: "ListTasks", Kind: awslocal.AccessDenied}); err != nil {
		t.Fatal(err)
	}
	st, err := client.ServiceState(context.Background(), "dashboarduz", "dashboarduz-api")
	if err != nil {
		t.Fatalf("a failed ListTasks failed the whole state: %v", err)
	}
	if st.Running != 1 || !strings.Contains(st.StoppedTasksError, "access denied") {
		t.Errorf("running %d, stopped tasks error %q", st.Running, st.StoppedTasksError)
	}
}

func TestServiceStateNotFound(t *testing.T) {
	_, client := start(t, world())
	_, err := client.ServiceState(context.Background(), "dashboarduz", "nope")
	if incident.ErrorCode(err) != incident.ENotFound {
		t.Errorf("error = %v, want not_found", err)
	}
	_, err = client.ServiceState(context.Background(), "nope", "dashboarduz-api")
	if incident.ErrorCode(err) != incident.ENotFound {
		t.Errorf("unknown cluster: error = %v, want not_found", err)
	}
}

func TestForceNewDeployment(t *testing.T) {
	srv, client := start(t, world())
	ctx := context.Background()
	claimed := t0.Add(-time.Second)
	res, err := client.ForceNewDeployment(ctx, "dashboarduz", "dashboarduz-api", claimed)
	if err != nil {
		t.Fatal(err)
	}
	if res.AlreadyDone || res.DeploymentID == "ecs-svc/1" || !res.CreatedAt.Equal(t0) || res.TaskDefinition != tdARN+"dashboarduz-api:7" {
		t.Errorf("result = %+v, want a new deployment of revision 7", res)
	}
	again, err := client.ForceNewDeployment(ctx, "dashboarduz", "dashboarduz-api", claimed)
	if err != nil {
		t.Fatal(err)
	}
	if !again.AlreadyDone || again.DeploymentID != res.DeploymentID {
		t.Errorf("retry = %+v, want the first deployment, already done", again)
	}
	if n := len(srv.CallsTo("ecs", "UpdateService")); n != 1 {
		t.Errorf("%d UpdateService calls, want 1", n)
	}
	s := srv.World().Clusters[0].Services[0]
	if s.RunningCount != 3 || s.Deployments[0].ID != res.DeploymentID {
		t.Errorf("world service = %+v", s)
	}
}

func TestScale(t *testing.T) {
	srv, client := start(t, world())
	ctx := context.Background()
	res, err := client.Scale(ctx, "dashboarduz", "dashboarduz-worker", 4)
	if err != nil {
		t.Fatal(err)
	}
	if *res != (ecs.ScaleResult{Before: 2, After: 4, Changed: true}) {
		t.Errorf("result = %+v", res)
	}
	again, err := client.Scale(ctx, "dashboarduz", "dashboarduz-worker", 4)
	if err != nil {
		t.Fatal(err)
	}
	if *again != (ecs.ScaleResult{Before: 4, After: 4}) {
		t.Errorf("second result = %+v, want unchanged", again)
	}
	if n := len(srv.CallsTo("ecs", "UpdateService")); n != 1 {
		t.Errorf("%d UpdateService calls, want 1", n)
	}
	if got := srv.World().Clusters[0].Services[1].RunningCount; got != 4 {
		t.Errorf("running = %d, want 4", got)
	}
	if _, err := client.Scale(ctx, "dashboarduz", "dashboarduz-worker", -1); incident.ErrorCode(err) != incident.EInvalid {
		t.Errorf("negative count: %v, want invalid", err)
	}
}

func TestRollback(t *testing.T) {
	srv, client := start(t, world())
	ctx := context.Background()
	plan, err := client.PlanRollback(ctx, "dashboarduz", "dashboarduz-api")
	if err != nil {
		t.Fatal(err)
	}
	if plan.From != tdARN+"dashboarduz-api:7" || plan.To != tdARN+"dashboarduz-api:6" {
		t.Fatalf("plan = %+v", plan)
	}
	if got, want := plan.String(), "roll back dashboarduz/dashboarduz-api from dashboarduz-api:7 to dashboarduz-api:6"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
	res, err := client.ApplyRollback(ctx, *plan)
	if err != nil {
		t.Fatal(err)
	}
	if res.AlreadyDone || res.DeploymentID == "" {
		t.Errorf("result = %+v", res)
	}
	again, err := client.ApplyRollback(ctx, *plan)
	if err != nil || !again.AlreadyDone {
		t.Errorf("retry = %+v, %v; want already done", again, err)
	}
	if n := len(srv.CallsTo("ecs", "UpdateService")); n != 1 {
		t.Errorf("%d UpdateService calls, want 1", n)
	}
	if got := srv.World().Clusters[0].Services[0].TaskDefinition; got != "dashboarduz-api:6" {
		t.Errorf("service runs %s, want dashboarduz-api:6", got)
	}
	stale := ecs.Rollback{Cluster: "dashboarduz", Service: "dashboarduz-api", From: tdARN + "dashboarduz-api:7", To: tdARN + "dashboarduz-api:5"}
	if _, err := client.ApplyRollback(ctx, stale); incident.ErrorCode(err) != incident.EConflict {
		t.Errorf("stale plan: %v, want conflict", err)
	}
}

func TestPlanRollbackSkipsInactiveRevisions(t *testing.T) {
	w := world()
	w.TaskDefinitions[1].Status = "INACTIVE"
	_, client := start(t, w)
	plan, err := client.PlanRollback(context.Background(), "dashboarduz", "dashboarduz-api")
	if err != nil {
		t.Fatal(err)
	}
	if plan.To != tdARN+"dashboarduz-api:5" {
		t.Errorf("rolls back to %s, want revision 5 (6 is inactive)", plan.To)
	}
}

func TestPlanRollbackWithNothingBefore(t *testing.T) {
	_, client := start(t, world())
	_, err := client.PlanRollback(context.Background(), "dashboarduz", "dashboarduz-worker")
	if incident.ErrorCode(err) != incident.ENotFound || !strings.Contains(incident.ErrorMessage(err), "nothing to roll back to") {
		t.Errorf("error = %v, want not_found saying there is nothing to roll back to", err)
	}
}

func TestFaults(t *testing.T) {
	tests := []struct {
		kind      awslocal.FaultKind
		retryable bool
		code      string
		timeout   bool
	}{
		{awslocal.Throttle, true, incident.EInternal, false},
		{awslocal.ServerError, true, incident.EInternal, false},
		{awslocal.Timeout, true, incident.EInternal, true},
		{awslocal.AccessDenied, false, incident.EUnauthorized, false},
	}
	for _, tt := range tests {
		t.Run(string(tt.kind), func(t *testing.T) {
			srv, client := start(t, world())
			if err := srv.AddFault(awslocal.Fault{Service: "ecs", Operation: "UpdateService", Kind: tt.kind}); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
			defer cancel()
			_, err := client.Scale(ctx, "dashboarduz", "dashboarduz-worker", 4)
			if awserr.Retryable(err) != tt.retryable || incident.ErrorCode(err) != tt.code {
				t.Errorf("error = %v: retryable %v code %s, want %v %s", err, awserr.Retryable(err), incident.ErrorCode(err), tt.retryable, tt.code)
			}
			var u *awserr.AWSUnavailableError
			if errors.As(err, &u) && u.Timeout != tt.timeout {
				t.Errorf("timeout = %v, want %v", u.Timeout, tt.timeout)
			}
			if got := srv.World().Clusters[0].Services[1].DesiredCount; got != 2 {
				t.Errorf("desired = %d, want 2 (unchanged)", got)
			}
		})
	}
}

// serviceless answers UpdateService without the service, which ECS
// documents but never does; DescribeServices gives a service running
// revision 7 with no deployments.
type serviceless struct{ ecs.API }

func (serviceless) DescribeServices(context.Context, *awsecs.DescribeServicesInput, ...func(*awsecs.Options)) (*awsecs.DescribeServicesOutput, error) {
	return &awsecs.DescribeServicesOutput{Services: []types.Service{{TaskDefinition: aws.String(tdARN + "dashboarduz-api:7")}}}, nil
}

func (serviceless) UpdateService(context.Context, *awsecs.UpdateServiceInput, ...func(*awsecs.Options)) (*awsecs.UpdateServiceOutput, error) {
	return &awsecs.UpdateServiceOutput{}, nil
}

// An UpdateService answer without the service is an error for a restart,
// which must report its deployment, and no deployment ID for a rollback;
// never a panic.
func TestAnswerWithoutService(t *testing.T) {
	c := ecs.New(serviceless{})
	if _, err := c.ForceNewDeployment(context.Background(), "dashboarduz", "dashboarduz-api", time.Time{}); incident.ErrorCode(err) != incident.EInternal {
		t.Errorf("ForceNewDeployment: %v, want an internal error", err)
	}
	res, err := c.ApplyRollback(context.Background(), ecs.Rollback{Cluster: "dashboarduz", Service: "dashboarduz-api", From: tdARN + "dashboarduz-api:7", To: tdARN + "dashboarduz-api:6"})
	if err != nil || res.DeploymentID != "" || res.AlreadyDone {
		t.Errorf("ApplyRollback = %+v, %v; want done without a deployment ID", res, err)
	}
}
