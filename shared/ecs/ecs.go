// Package ecs adapts Amazon ECS to triage and remediation: it reads the
// state of a service (running, desired and pending counts, its latest
// deployments, the reasons its recent tasks stopped) and makes the
// runbook's remediations: force a new deployment, scale to a count, roll
// back to the previous task definition revision.
//
// # Idempotency
//
// ECS UpdateService takes no client token, so a retried call is a second
// call. Exactly-once rests on the caller's ledger: an action is claimed
// in DynamoDB before it is made, and a retried Lambda or redelivered
// event finds the claim and does not act again. The adapter narrows what
// a retry after an unknown outcome (a timeout after ECS took the call)
// can do:
//   - Scale is idempotent by nature: it sets a count, and does nothing
//     when the service already has it.
//   - ForceNewDeployment takes the time the action was claimed; a PRIMARY
//     deployment created at or after it means the earlier attempt went
//     through, and no second deployment is started.
//   - A rollback is planned once (PlanRollback, recorded with the claim or
//     the approval) and applied from that plan (ApplyRollback), which does
//     nothing when the service already runs the planned revision and
//     refuses when it runs neither: a retry never rolls back twice.
//
// Errors are *awserr.AWSUnavailableError (retry later) or
// *awserr.AWSRejectedError (with an *incident.Error code), or an
// *incident.Error of the adapter's own.
package ecs

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsecs "github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/dashboarduz/incident-response/shared/awserr"
	"github.com/dashboarduz/incident-response/shared/incident"
)

// MaxStoppedTasks is how many recently stopped tasks ServiceState reports.
const MaxStoppedTasks = 5

// API is the part of the ECS client the adapter uses; *ecs.Client
// satisfies it.
type API interface {
	DescribeServices(ctx context.Context, params *awsecs.DescribeServicesInput, optFns ...func(*awsecs.Options)) (*awsecs.DescribeServicesOutput, error)
	UpdateService(ctx context.Context, params *awsecs.UpdateServiceInput, optFns ...func(*awsecs.Options)) (*awsecs.UpdateServiceOutput, error)
	ListTasks(ctx context.Context, params *awsecs.ListTasksInput, optFns ...func(*awsecs.Options)) (*awsecs.ListTasksOutput, error)
	DescribeTasks(ctx context.Context, params *awsecs.DescribeTasksInput, optFns ...func(*awsecs.Options)) (*awsecs.DescribeTasksOutput, error)
	ListTaskDefinitions(ctx context.Context, params *awsecs.ListTaskDefinitionsInput, optFns ...func(*awsecs.Options)) (*awsecs.ListTaskDefinitionsOutput, error)
}

// Client reads and changes ECS services.
type Client struct {
	api API
}

// New returns a Client that calls api.
func New(api API) *Client { return &Client{api: api} }

// ServiceState is what triage reports of an ECS service.
type ServiceState struct {
	Cluster string `json:"cluster"`
	Service string `json:"service"`
	Status  string `json:"status"`
	Desired int32  `json:"desired"`
	Running int32  `json:"running"`
	Pending int32  `json:"pending"`
	// TaskDefinition is the ARN the PRIMARY deployment runs.
	TaskDefinition string `json:"taskDefinition"`
	// Deployments are those ECS describes (the PRIMARY one and any still
	// being replaced), newest first.
	Deployments []Deployment `json:"deployments"`
	// StoppedTasks are the most recently stopped tasks, newest first, at
	// most MaxStoppedTasks.
	StoppedTasks []StoppedTask `json:"stoppedTasks"`
	// StoppedTasksError says why the stopped tasks could not be read;
	// the rest of the state is still reported.
	StoppedTasksError string `json:"stoppedTasksError,omitempty"`
	// Source says where the state came from.
	Source string `json:"source"`
}

// DeployedSince returns the newest deployment created at or after t, if
// any: the runbook's "a deployment in the last hour".
func (s *ServiceState) DeployedSince(t time.Time) (Deployment, bool) {
	for _, d := range s.Deployments {
		if !d.CreatedAt.Before(t) {
			return d, true
		}
	}
	return Deployment{}, false
}

// Deployment is one deployment of a service.
type Deployment struct {
	ID                 string    `json:"id"`
	Status             string    `json:"status"`
	TaskDefinition     string    `json:"taskDefinition"`
	RolloutState       string    `json:"rolloutState,omitempty"`
	RolloutStateReason string    `json:"rolloutStateReason,omitempty"`
	Desired            int32     `json:"desired"`
	Running            int32     `json:"running"`
	Pending            int32     `json:"pending"`
	Failed             int32     `json:"failed"`
	CreatedAt          time.Time `json:"createdAt"`
	UpdatedAt          time.Time `json:"updatedAt"`
}

// StoppedTask is a task that stopped, with why.
type StoppedTask struct {
	TaskARN        string          `json:"taskArn"`
	TaskDefinition string          `json:"taskDefinition"`
	StoppedReason  string          `json:"stoppedReason"`
	StopCode       string          `json:"stopCode,omitempty"`
	StoppedAt      time.Time       `json:"stoppedAt"`
	Containers     []ContainerExit `json:"containers,omitempty"`
}

// ContainerExit is how a container of a stopped task ended.
type ContainerExit struct {
	Name     string `json:"name"`
	ExitCode *int32 `json:"exitCode,omitempty"`
	Reason   string `json:"reason,omitempty"`
}

func target(cluster, service string) string { return "service " + cluster + "/" + service }

// describe reads one service; a service ECS does not know is not_found.
func (c *Client) describe(ctx context.Context, cluster, service string) (*types.Service, error) {
	out, err := c.api.DescribeServices(ctx, &awsecs.DescribeServicesInput{Cluster: &cluster, Services: []string{service}})
	if err != nil {
		return nil, awserr.Classify("ECS", "DescribeServices", target(cluster, service), err)
	}
	if len(out.Services) == 0 {
		return nil, incident.Errorf(incident.ENotFound, "ECS service %s not found in cluster %s", service, cluster)
	}
	return &out.Services[0], nil
}

// ServiceState reads a service's counts and deployments, and the reasons
// its recent tasks stopped. Failing to read the stopped tasks is
// reported in the state, not as an error.
func (c *Client) ServiceState(ctx context.Context, cluster, service string) (*ServiceState, error) {
	s, err := c.describe(ctx, cluster, service)
	if err != nil {
		return nil, err
	}
	st := &ServiceState{
		Cluster: cluster, Service: service, Status: aws.ToString(s.Status),
		Desired: s.DesiredCount, Running: s.RunningCount, Pending: s.PendingCount,
		TaskDefinition: aws.ToString(s.TaskDefinition), Deployments: []Deployment{}, StoppedTasks: []StoppedTask{},
		Source: fmt.Sprintf("ECS DescribeServices, ListTasks and DescribeTasks for %s/%s", cluster, service),
	}
	for _, d := range s.Deployments {
		st.Deployments = append(st.Deployments, Deployment{
			ID: aws.ToString(d.Id), Status: aws.ToString(d.Status), TaskDefinition: aws.ToString(d.TaskDefinition),
			RolloutState: string(d.RolloutState), RolloutStateReason: aws.ToString(d.RolloutStateReason),
			Desired: d.DesiredCount, Running: d.RunningCount, Pending: d.PendingCount, Failed: d.FailedTasks,
			CreatedAt: aws.ToTime(d.CreatedAt).UTC(), UpdatedAt: aws.ToTime(d.UpdatedAt).UTC(),
		})
	}
	sort.SliceStable(st.Deployments, func(i, j int) bool { return st.Deployments[i].CreatedAt.After(st.Deployments[j].CreatedAt) })
	stopped, err := c.stoppedTasks(ctx, cluster, service)
	if err != nil {
		st.StoppedTasksError = err.Error()
	} else {
		st.StoppedTasks = stopped
	}
	return st, nil
}

// stoppedTasks reads the service's most recently stopped tasks. ECS keeps
// stopped tasks for about an hour, which is the window triage wants.
func (c *Client) stoppedTasks(ctx context.Context, cluster, service string) ([]StoppedTask, error) {
	list, err := c.api.ListTasks(ctx, &awsecs.ListTasksInput{Cluster: &cluster, ServiceName: &service, DesiredStatus: types.DesiredStatusStopped, MaxResults: aws.Int32(100)})
	if err != nil {
		return nil, awserr.Classify("ECS", "ListTasks", target(cluster, service), err)
	}
	if len(list.TaskArns) == 0 {
		return []StoppedTask{}, nil
	}
	out, err := c.api.DescribeTasks(ctx, &awsecs.DescribeTasksInput{Cluster: &cluster, Tasks: list.TaskArns})
	if err != nil {
		return nil, awserr.Classify("ECS", "DescribeTasks", target(cluster, service), err)
	}
	tasks := make([]StoppedTask, 0, len(out.Tasks))
	for _, t := range out.Tasks {
		st := StoppedTask{
			TaskARN: aws.ToString(t.TaskArn), TaskDefinition: aws.ToString(t.TaskDefinitionArn),
			StoppedReason: aws.ToString(t.StoppedReason), StopCode: string(t.StopCode), StoppedAt: aws.ToTime(t.StoppedAt).UTC(),
		}
		for _, ct := range t.Containers {
			st.Containers = append(st.Containers, ContainerExit{Name: aws.ToString(ct.Name), ExitCode: ct.ExitCode, Reason: aws.ToString(ct.Reason)})
		}
		tasks = append(tasks, st)
	}
	sort.SliceStable(tasks, func(i, j int) bool { return tasks[i].StoppedAt.After(tasks[j].StoppedAt) })
	if len(tasks) > MaxStoppedTasks {
		tasks = tasks[:MaxStoppedTasks]
	}
	return tasks, nil
}

// primaryDeployment returns the service's PRIMARY deployment; a nil
// service (an answer without one) has none.
func primaryDeployment(s *types.Service) (types.Deployment, bool) {
	if s == nil {
		return types.Deployment{}, false
	}
	for _, d := range s.Deployments {
		if aws.ToString(d.Status) == "PRIMARY" {
			return d, true
		}
	}
	return types.Deployment{}, false
}

// runningTaskDefinition is the task definition the service runs: its
// PRIMARY deployment's, else the service's own.
func runningTaskDefinition(s *types.Service) string {
	if p, ok := primaryDeployment(s); ok {
		return aws.ToString(p.TaskDefinition)
	}
	return aws.ToString(s.TaskDefinition)
}

// DeploymentResult is what ForceNewDeployment did.
type DeploymentResult struct {
	DeploymentID   string    `json:"deploymentId"`
	TaskDefinition string    `json:"taskDefinition"`
	CreatedAt      time.Time `json:"createdAt"`
	// AlreadyDone reports that a deployment created since the claim was
	// found, so no new one was started.
	AlreadyDone bool `json:"alreadyDone,omitempty"`
}

// ForceNewDeployment replaces the service's tasks with new ones of the
// same task definition: the runbook's restart. since is when the caller
// claimed the action; a PRIMARY deployment created at or after it is
// taken as this action's (AlreadyDone), so a retry does not restart the
// service twice. A zero since always deploys.
func (c *Client) ForceNewDeployment(ctx context.Context, cluster, service string, since time.Time) (*DeploymentResult, error) {
	s, err := c.describe(ctx, cluster, service)
	if err != nil {
		return nil, err
	}
	if p, ok := primaryDeployment(s); ok && !since.IsZero() && !aws.ToTime(p.CreatedAt).Before(since) {
		return &DeploymentResult{DeploymentID: aws.ToString(p.Id), TaskDefinition: aws.ToString(p.TaskDefinition), CreatedAt: aws.ToTime(p.CreatedAt).UTC(), AlreadyDone: true}, nil
	}
	out, err := c.api.UpdateService(ctx, &awsecs.UpdateServiceInput{Cluster: &cluster, Service: &service, ForceNewDeployment: true})
	if err != nil {
		return nil, awserr.Classify("ECS", "UpdateService", target(cluster, service), err)
	}
	p, ok := primaryDeployment(out.Service)
	if !ok {
		return nil, incident.Errorf(incident.EInternal, "ECS UpdateService on %s answered without a PRIMARY deployment", target(cluster, service))
	}
	return &DeploymentResult{DeploymentID: aws.ToString(p.Id), TaskDefinition: aws.ToString(p.TaskDefinition), CreatedAt: aws.ToTime(p.CreatedAt).UTC()}, nil
}

// ScaleResult is what Scale did.
type ScaleResult struct {
	Before int32 `json:"before"`
	After  int32 `json:"after"`
	// Changed is false when the service already had the count.
	Changed bool `json:"changed"`
}

// Scale sets the service's desired count, reporting the count before.
// The bounds are the caller's guard rails; a negative count is invalid.
func (c *Client) Scale(ctx context.Context, cluster, service string, desired int32) (*ScaleResult, error) {
	if desired < 0 {
		return nil, incident.FieldErrorf("desired", "cannot scale %s to %d tasks", target(cluster, service), desired)
	}
	s, err := c.describe(ctx, cluster, service)
	if err != nil {
		return nil, err
	}
	res := &ScaleResult{Before: s.DesiredCount, After: desired}
	if s.DesiredCount == desired {
		return res, nil
	}
	if _, err := c.api.UpdateService(ctx, &awsecs.UpdateServiceInput{Cluster: &cluster, Service: &service, DesiredCount: &desired}); err != nil {
		return nil, awserr.Classify("ECS", "UpdateService", target(cluster, service), err)
	}
	res.Changed = true
	return res, nil
}

// Rollback is a planned rollback: the service runs From and is to run
// To, the ACTIVE revision of the same family just before it. Both are
// task definition ARNs.
type Rollback struct {
	Cluster string `json:"cluster"`
	Service string `json:"service"`
	From    string `json:"from"`
	To      string `json:"to"`
}

// String says what the rollback does, e.g. for a dry run.
func (r Rollback) String() string {
	return fmt.Sprintf("roll back %s/%s from %s to %s", r.Cluster, r.Service, ShortTaskDefinition(r.From), ShortTaskDefinition(r.To))
}

// PlanRollback finds the revision to roll back to: the highest ACTIVE
// revision of the PRIMARY deployment's family below its own. When there
// is none (the service runs the family's first ACTIVE revision) it
// returns a not_found *incident.Error saying so.
func (c *Client) PlanRollback(ctx context.Context, cluster, service string) (*Rollback, error) {
	s, err := c.describe(ctx, cluster, service)
	if err != nil {
		return nil, err
	}
	current := runningTaskDefinition(s)
	family, rev, ok := parseTaskDefinition(current)
	if !ok {
		return nil, incident.Errorf(incident.EInternal, "ECS service %s/%s runs %q, which is not a task definition ARN", cluster, service, current)
	}
	prev, err := c.previousRevision(ctx, family, rev)
	if err != nil {
		return nil, err
	}
	if prev == "" {
		return nil, incident.Errorf(incident.ENotFound, "nothing to roll back to: ECS service %s/%s runs %s:%d and no earlier ACTIVE revision of %s exists", cluster, service, family, rev, family)
	}
	return &Rollback{Cluster: cluster, Service: service, From: current, To: prev}, nil
}

// previousRevision lists the family's ACTIVE revisions, newest first, and
// returns the first below rev, "" if none.
func (c *Client) previousRevision(ctx context.Context, family string, rev int) (string, error) {
	in := &awsecs.ListTaskDefinitionsInput{FamilyPrefix: &family, Status: types.TaskDefinitionStatusActive, Sort: types.SortOrderDesc}
	pages := awsecs.NewListTaskDefinitionsPaginator(c.api, in)
	for range 20 {
		if !pages.HasMorePages() {
			break
		}
		out, err := pages.NextPage(ctx)
		if err != nil {
			return "", awserr.Classify("ECS", "ListTaskDefinitions", "family "+family, err)
		}
		for _, arn := range out.TaskDefinitionArns {
			f, r, ok := parseTaskDefinition(arn)
			if ok && f == family && r < rev {
				return arn, nil
			}
		}
	}
	return "", nil
}

// RollbackResult is what ApplyRollback did.
type RollbackResult struct {
	From         string `json:"from"`
	To           string `json:"to"`
	DeploymentID string `json:"deploymentId"`
	// AlreadyDone reports that the service already ran To.
	AlreadyDone bool `json:"alreadyDone,omitempty"`
}

// ApplyRollback switches the service to the planned revision. It does
// nothing when the service already runs it, and refuses with a conflict
// when it runs neither revision of the plan (someone deployed since).
func (c *Client) ApplyRollback(ctx context.Context, plan Rollback) (*RollbackResult, error) {
	s, err := c.describe(ctx, plan.Cluster, plan.Service)
	if err != nil {
		return nil, err
	}
	current := runningTaskDefinition(s)
	res := &RollbackResult{From: plan.From, To: plan.To}
	switch current {
	case plan.To:
		p, _ := primaryDeployment(s)
		res.DeploymentID, res.AlreadyDone = aws.ToString(p.Id), true
		return res, nil
	case plan.From:
	default:
		return nil, incident.Errorf(incident.EConflict, "not rolled back: ECS service %s/%s now runs %s, not %s as planned; plan the rollback again", plan.Cluster, plan.Service, ShortTaskDefinition(current), ShortTaskDefinition(plan.From))
	}
	out, err := c.api.UpdateService(ctx, &awsecs.UpdateServiceInput{Cluster: &plan.Cluster, Service: &plan.Service, TaskDefinition: &plan.To})
	if err != nil {
		return nil, awserr.Classify("ECS", "UpdateService", target(plan.Cluster, plan.Service), err)
	}
	if p, ok := primaryDeployment(out.Service); ok {
		res.DeploymentID = aws.ToString(p.Id)
	}
	return res, nil
}

// parseTaskDefinition reads family and revision from a task definition
// ARN or family:revision.
func parseTaskDefinition(ref string) (string, int, bool) {
	family, r, ok := strings.Cut(ShortTaskDefinition(ref), ":")
	if !ok || family == "" {
		return "", 0, false
	}
	n, err := strconv.Atoi(r)
	if err != nil || n < 1 {
		return "", 0, false
	}
	return family, n, true
}

// ShortTaskDefinition is family:revision of a task definition ARN, as
// people write it; anything else is returned as it is.
func ShortTaskDefinition(arn string) string {
	if i := strings.LastIndex(arn, "task-definition/"); i >= 0 {
		return arn[i+len("task-definition/"):]
	}
	return arn
}
