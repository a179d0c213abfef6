package awslocal_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

func TestECSDescribeServices(t *testing.T) {
	srv := start(t)
	client := ecs.NewFromConfig(srv.AWSConfig())
	out, err := client.DescribeServices(context.Background(), &ecs.DescribeServicesInput{
		Cluster:  aws.String("dashboarduz"),
		Services: []string{"dashboarduz-api", "arn:aws:ecs:us-east-1:123456789012:service/dashboarduz/nope"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Services) != 1 || len(out.Failures) != 1 {
		t.Fatalf("got %d services and %d failures, want 1 and 1", len(out.Services), len(out.Failures))
	}
	s := out.Services[0]
	if got, want := [3]int32{s.DesiredCount, s.RunningCount, s.PendingCount}, [3]int32{3, 1, 0}; got != want {
		t.Errorf("desired/running/pending = %v, want %v", got, want)
	}
	if got, want := aws.ToString(s.TaskDefinition), "arn:aws:ecs:us-east-1:123456789012:task-definition/dashboarduz-api:7"; got != want {
		t.Errorf("task definition = %s, want %s", got, want)
	}
	if len(s.Deployments) != 1 {
		t.Fatalf("got %d deployments, want 1", len(s.Deployments))
	}
	d := s.Deployments[0]
	if aws.ToString(d.Status) != "PRIMARY" || d.RolloutState != types.DeploymentRolloutStateCompleted || !aws.ToTime(d.CreatedAt).Equal(t0.Add(-40*time.Minute)) {
		t.Errorf("deployment = %s %s created %v, want PRIMARY COMPLETED created %v", aws.ToString(d.Status), d.RolloutState, aws.ToTime(d.CreatedAt), t0.Add(-40*time.Minute))
	}
	if got := aws.ToString(out.Failures[0].Reason); got != "MISSING" {
		t.Errorf("failure reason = %s, want MISSING", got)
	}
	c := lastCall(t, srv)
	if c.Service != "ecs" || c.Operation != "DescribeServices" || c.Outcome != "ok" || !strings.Contains(string(c.Input), `"cluster":"dashboarduz"`) {
		t.Errorf("call = %+v", c)
	}
}

func TestECSUnknownCluster(t *testing.T) {
	srv := start(t)
	_, err := ecs.NewFromConfig(srv.AWSConfig()).DescribeServices(context.Background(), &ecs.DescribeServicesInput{Cluster: aws.String("nope"), Services: []string{"a"}})
	if got := errorCode(err); got != "ClusterNotFoundException" {
		t.Errorf("error code = %q (%v), want ClusterNotFoundException", got, err)
	}
}

func describe(t *testing.T, client *ecs.Client, service string) types.Service {
	t.Helper()
	out, err := client.DescribeServices(context.Background(), &ecs.DescribeServicesInput{Cluster: aws.String("dashboarduz"), Services: []string{service}})
	if err != nil || len(out.Services) != 1 {
		t.Fatalf("describe %s: %v", service, err)
	}
	return out.Services[0]
}

func TestECSUpdateService(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name        string
		in          ecs.UpdateServiceInput
		wantTD      string
		wantDesired int32
		wantRunning int32
		wantNew     bool
	}{
		{"force new deployment", ecs.UpdateServiceInput{ForceNewDeployment: true}, "dashboarduz-api:7", 3, 3, true},
		{"scale", ecs.UpdateServiceInput{DesiredCount: aws.Int32(5)}, "dashboarduz-api:7", 5, 5, false},
		{"roll back", ecs.UpdateServiceInput{TaskDefinition: aws.String("dashboarduz-api:6")}, "dashboarduz-api:6", 3, 3, true},
		{"latest of family", ecs.UpdateServiceInput{TaskDefinition: aws.String("dashboarduz-api")}, "dashboarduz-api:7", 3, 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := start(t)
			client := ecs.NewFromConfig(srv.AWSConfig())
			in := tt.in
			in.Cluster, in.Service = aws.String("dashboarduz"), aws.String("dashboarduz-api")
			if _, err := client.UpdateService(ctx, &in); err != nil {
				t.Fatal(err)
			}
			s := describe(t, client, "dashboarduz-api")
			if got := aws.ToString(s.TaskDefinition); !strings.HasSuffix(got, "/"+tt.wantTD) {
				t.Errorf("task definition = %s, want %s", got, tt.wantTD)
			}
			if s.DesiredCount != tt.wantDesired || s.RunningCount != tt.wantRunning {
				t.Errorf("desired/running = %d/%d, want %d/%d", s.DesiredCount, s.RunningCount, tt.wantDesired, tt.wantRunning)
			}
			newDeployment := aws.ToString(s.Deployments[0].Id) != "ecs-svc/1111"
			if newDeployment != tt.wantNew || len(s.Deployments) != 1 || aws.ToString(s.Deployments[0].Status) != "PRIMARY" {
				t.Fatalf("deployments = %+v, want one PRIMARY (new: %v)", s.Deployments, tt.wantNew)
			}
			if tt.wantNew && !aws.ToTime(s.Deployments[0].CreatedAt).Equal(t0) {
				t.Errorf("new deployment created %v, want %v", aws.ToTime(s.Deployments[0].CreatedAt), t0)
			}
			w := srv.World()
			if tt.wantNew && (len(w.Clusters[0].Services[0].Deployments) != 2 || w.Clusters[0].Services[0].Deployments[1].Status != "INACTIVE") {
				t.Errorf("world keeps %+v, want the old deployment INACTIVE", w.Clusters[0].Services[0].Deployments)
			}
		})
	}
}

func TestECSUpdateServiceStaysUnhealthy(t *testing.T) {
	w := testWorld()
	w.Clusters[0].Services[0].StaysUnhealthy = true
	srv := start(t, w)
	client := ecs.NewFromConfig(srv.AWSConfig())
	if _, err := client.UpdateService(context.Background(), &ecs.UpdateServiceInput{Cluster: aws.String("dashboarduz"), Service: aws.String("dashboarduz-api"), ForceNewDeployment: true}); err != nil {
		t.Fatal(err)
	}
	s := describe(t, client, "dashboarduz-api")
	if s.RunningCount != 1 || s.PendingCount != 3 || len(s.Deployments) != 2 || s.Deployments[0].RolloutState != types.DeploymentRolloutStateInProgress {
		t.Errorf("running %d pending %d deployments %d (%s), want 1, 3, 2 with the new one IN_PROGRESS", s.RunningCount, s.PendingCount, len(s.Deployments), s.Deployments[0].RolloutState)
	}
}

func TestECSUpdateServiceErrors(t *testing.T) {
	tests := []struct {
		name string
		in   ecs.UpdateServiceInput
		want string
	}{
		{"unknown revision", ecs.UpdateServiceInput{Service: aws.String("dashboarduz-api"), TaskDefinition: aws.String("dashboarduz-api:99")}, "ClientException"},
		{"unknown service", ecs.UpdateServiceInput{Service: aws.String("nope"), ForceNewDeployment: true}, "ServiceNotFoundException"},
		{"negative count", ecs.UpdateServiceInput{Service: aws.String("dashboarduz-api"), DesiredCount: aws.Int32(-1)}, "InvalidParameterException"},
	}
	srv := start(t)
	client := ecs.NewFromConfig(srv.AWSConfig())
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.in
			in.Cluster = aws.String("dashboarduz")
			_, err := client.UpdateService(context.Background(), &in)
			if got := errorCode(err); got != tt.want {
				t.Errorf("error code = %q (%v), want %s", got, err, tt.want)
			}
		})
	}
}

func TestECSTasks(t *testing.T) {
	srv := start(t)
	client := ecs.NewFromConfig(srv.AWSConfig())
	ctx := context.Background()
	for status, want := range map[types.DesiredStatus]int{types.DesiredStatusStopped: 2, types.DesiredStatusRunning: 1} {
		out, err := client.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String("dashboarduz"), ServiceName: aws.String("dashboarduz-api"), DesiredStatus: status})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.TaskArns) != want {
			t.Fatalf("%s tasks: got %d, want %d", status, len(out.TaskArns), want)
		}
		tasks, err := client.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String("dashboarduz"), Tasks: out.TaskArns})
		if err != nil {
			t.Fatal(err)
		}
		if len(tasks.Tasks) != want || len(tasks.Failures) != 0 {
			t.Fatalf("described %d tasks, %d failures", len(tasks.Tasks), len(tasks.Failures))
		}
		for _, task := range tasks.Tasks {
			if aws.ToString(task.LastStatus) != string(status) {
				t.Errorf("task %s is %s, want %s", aws.ToString(task.TaskArn), aws.ToString(task.LastStatus), status)
			}
		}
		if status == types.DesiredStatusStopped {
			task := tasks.Tasks[0]
			if task.StopCode != types.TaskStopCodeEssentialContainerExited || aws.ToInt32(task.Containers[0].ExitCode) != 137 || !aws.ToTime(task.StoppedAt).Equal(t0.Add(-5*time.Minute)) {
				t.Errorf("stopped task = %s %v exit %d", task.StopCode, aws.ToTime(task.StoppedAt), aws.ToInt32(task.Containers[0].ExitCode))
			}
		}
	}
}

func TestECSTaskDefinitions(t *testing.T) {
	srv := start(t)
	client := ecs.NewFromConfig(srv.AWSConfig())
	ctx := context.Background()
	list, err := client.ListTaskDefinitions(ctx, &ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String("dashboarduz-api"), Sort: types.SortOrderDesc, MaxResults: aws.Int32(2)})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.TaskDefinitionArns) != 2 || !strings.HasSuffix(list.TaskDefinitionArns[0], "dashboarduz-api:7") || aws.ToString(list.NextToken) == "" {
		t.Fatalf("first page = %v next %q", list.TaskDefinitionArns, aws.ToString(list.NextToken))
	}
	rest, err := client.ListTaskDefinitions(ctx, &ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String("dashboarduz-api"), Sort: types.SortOrderDesc, NextToken: list.NextToken})
	if err != nil {
		t.Fatal(err)
	}
	if len(rest.TaskDefinitionArns) != 1 || !strings.HasSuffix(rest.TaskDefinitionArns[0], "dashboarduz-api:5") || rest.NextToken != nil {
		t.Errorf("second page = %v next %v, want revision 5 only", rest.TaskDefinitionArns, rest.NextToken)
	}
	td, err := client.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("dashboarduz-api:6")})
	if err != nil {
		t.Fatal(err)
	}
	if td.TaskDefinition.Revision != 6 || aws.ToString(td.TaskDefinition.ContainerDefinitions[0].Image) != "api:1.5.0" {
		t.Errorf("task definition = %d %s", td.TaskDefinition.Revision, aws.ToString(td.TaskDefinition.ContainerDefinitions[0].Image))
	}
	_, err = client.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("nope:1")})
	if got := errorCode(err); got != "ClientException" {
		t.Errorf("unknown task definition: error code %q, want ClientException", got)
	}
}
