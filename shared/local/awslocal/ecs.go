package awslocal

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// maxDeploymentHistory bounds the INACTIVE deployments a service keeps.
const maxDeploymentHistory = 20

// epoch is a timestamp as the JSON protocols write it: epoch seconds.
type epoch time.Time

// MarshalJSON writes epoch seconds with millisecond precision.
func (t epoch) MarshalJSON() ([]byte, error) {
	return []byte(strconv.FormatFloat(float64(time.Time(t).UnixMilli())/1e3, 'f', -1, 64)), nil
}

// IsZero lets omitzero leave out unset times.
func (t epoch) IsZero() bool { return time.Time(t).IsZero() }

type ecsDeploymentOut struct {
	ID                 string `json:"id"`
	Status             string `json:"status"`
	TaskDefinition     string `json:"taskDefinition"`
	DesiredCount       int32  `json:"desiredCount"`
	PendingCount       int32  `json:"pendingCount"`
	RunningCount       int32  `json:"runningCount"`
	FailedTasks        int32  `json:"failedTasks"`
	CreatedAt          epoch  `json:"createdAt,omitzero"`
	UpdatedAt          epoch  `json:"updatedAt,omitzero"`
	LaunchType         string `json:"launchType"`
	RolloutState       string `json:"rolloutState,omitempty"`
	RolloutStateReason string `json:"rolloutStateReason,omitempty"`
}

type ecsServiceOut struct {
	ServiceArn     string             `json:"serviceArn"`
	ServiceName    string             `json:"serviceName"`
	ClusterArn     string             `json:"clusterArn"`
	Status         string             `json:"status"`
	DesiredCount   int32              `json:"desiredCount"`
	RunningCount   int32              `json:"runningCount"`
	PendingCount   int32              `json:"pendingCount"`
	LaunchType     string             `json:"launchType"`
	TaskDefinition string             `json:"taskDefinition"`
	Deployments    []ecsDeploymentOut `json:"deployments"`
}

type ecsFailure struct {
	Arn    string `json:"arn"`
	Reason string `json:"reason"`
}

func ecsClusterNotFound() *apiError {
	return badRequest("ClusterNotFoundException", "Cluster not found.")
}

// findCluster finds a cluster by name or ARN; ECS's default cluster is
// "default".
func (r *request) findCluster(ref string) (*Cluster, error) {
	if ref == "" {
		ref = "default"
	}
	name := ref[strings.LastIndex(ref, "/")+1:]
	for i := range r.world.Clusters {
		if r.world.Clusters[i].Name == name {
			return &r.world.Clusters[i], nil
		}
	}
	return nil, ecsClusterNotFound()
}

// lookupService finds a service of c by name or ARN, nil if none.
func lookupService(c *Cluster, ref string) *Service {
	name := ref[strings.LastIndex(ref, "/")+1:]
	for i := range c.Services {
		if c.Services[i].Name == name {
			return &c.Services[i]
		}
	}
	return nil
}

func (r *request) findService(cluster, ref string) (*Cluster, *Service, error) {
	c, err := r.findCluster(cluster)
	if err != nil {
		return nil, nil, err
	}
	s := lookupService(c, ref)
	if s == nil {
		return nil, nil, badRequest("ServiceNotFoundException", "Service not found.")
	}
	return c, s, nil
}

func describeService(cluster string, s *Service) ecsServiceOut {
	out := ecsServiceOut{
		ServiceArn: serviceARN(cluster, s.Name), ServiceName: s.Name, ClusterArn: clusterARN(cluster),
		Status: s.Status, DesiredCount: s.DesiredCount, RunningCount: s.RunningCount, PendingCount: s.PendingCount,
		LaunchType: "FARGATE", TaskDefinition: taskDefinitionARNOf(s.TaskDefinition), Deployments: []ecsDeploymentOut{},
	}
	for _, d := range s.Deployments {
		if d.Status == "INACTIVE" {
			continue
		}
		out.Deployments = append(out.Deployments, ecsDeploymentOut{
			ID: d.ID, Status: d.Status, TaskDefinition: taskDefinitionARNOf(d.TaskDefinition),
			DesiredCount: d.DesiredCount, PendingCount: d.PendingCount, RunningCount: d.RunningCount, FailedTasks: d.FailedTasks,
			CreatedAt: epoch(d.CreatedAt), UpdatedAt: epoch(d.UpdatedAt), LaunchType: "FARGATE",
			RolloutState: d.RolloutState, RolloutStateReason: d.RolloutStateReason,
		})
	}
	return out
}

func ecsDescribeServices(r *request) (any, error) {
	var in struct {
		Cluster  string   `json:"cluster"`
		Services []string `json:"services"`
	}
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	if len(in.Services) == 0 || len(in.Services) > 10 {
		return nil, badRequest("InvalidParameterException", "services must name 1 to 10 services, not %d", len(in.Services))
	}
	c, err := r.findCluster(in.Cluster)
	if err != nil {
		return nil, err
	}
	out := struct {
		Services []ecsServiceOut `json:"services"`
		Failures []ecsFailure    `json:"failures"`
	}{Services: []ecsServiceOut{}, Failures: []ecsFailure{}}
	for _, ref := range in.Services {
		s := lookupService(c, ref)
		if s == nil {
			out.Failures = append(out.Failures, ecsFailure{Arn: serviceARN(c.Name, ref[strings.LastIndex(ref, "/")+1:]), Reason: "MISSING"})
			continue
		}
		out.Services = append(out.Services, describeService(c.Name, s))
	}
	return out, nil
}

func ecsUpdateService(r *request) (any, error) {
	var in struct {
		Cluster            string  `json:"cluster"`
		Service            string  `json:"service"`
		DesiredCount       *int32  `json:"desiredCount"`
		TaskDefinition     *string `json:"taskDefinition"`
		ForceNewDeployment bool    `json:"forceNewDeployment"`
	}
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	c, s, err := r.findService(in.Cluster, in.Service)
	if err != nil {
		return nil, err
	}
	if s.Status != "ACTIVE" {
		return nil, badRequest("ServiceNotActiveException", "Service was not ACTIVE.")
	}
	if in.DesiredCount != nil && *in.DesiredCount < 0 {
		return nil, badRequest("InvalidParameterException", "desiredCount must be 0 or more.")
	}
	td := s.TaskDefinition
	if in.TaskDefinition != nil {
		if td, err = r.resolveTaskDefinition(*in.TaskDefinition, true); err != nil {
			return nil, err
		}
	}
	if in.DesiredCount != nil {
		s.DesiredCount = *in.DesiredCount
	}
	switch {
	case td != s.TaskDefinition || in.ForceNewDeployment:
		r.deploy(s, td)
	case in.DesiredCount != nil:
		r.scale(s)
	}
	return map[string]any{"service": describeService(c.Name, s)}, nil
}

// deploy starts a new PRIMARY deployment of td. A healthy service
// completes it at once; one that StaysUnhealthy keeps it pending while
// the old deployment goes on serving.
func (r *request) deploy(s *Service, td string) {
	d := Deployment{
		ID: fmt.Sprintf("ecs-svc/%d", 4000000000000000000+r.nextID()), Status: "PRIMARY", TaskDefinition: td,
		DesiredCount: s.DesiredCount, CreatedAt: r.now, UpdatedAt: r.now,
	}
	for i := range s.Deployments {
		old := &s.Deployments[i]
		switch {
		case old.Status == "INACTIVE":
		case s.StaysUnhealthy && old.Status == "PRIMARY":
			old.Status, old.UpdatedAt = "ACTIVE", r.now
		default:
			old.Status, old.RunningCount, old.PendingCount, old.UpdatedAt = "INACTIVE", 0, 0, r.now
		}
	}
	if s.StaysUnhealthy {
		d.PendingCount, d.RolloutState = s.DesiredCount, "IN_PROGRESS"
		d.RolloutStateReason = "ECS deployment " + d.ID + " in progress."
		s.PendingCount = s.DesiredCount
	} else {
		d.RunningCount, d.RolloutState = s.DesiredCount, "COMPLETED"
		d.RolloutStateReason = "ECS deployment " + d.ID + " completed."
		s.RunningCount, s.PendingCount = s.DesiredCount, 0
	}
	s.Deployments = append([]Deployment{d}, s.Deployments...)
	if len(s.Deployments) > maxDeploymentHistory {
		s.Deployments = s.Deployments[:maxDeploymentHistory]
	}
	s.TaskDefinition = td
}

// scale brings the running count to the desired count, or for a service
// that StaysUnhealthy leaves the new tasks pending.
func (r *request) scale(s *Service) {
	p := primary(s)
	p.DesiredCount, p.UpdatedAt = s.DesiredCount, r.now
	if s.RunningCount > s.DesiredCount || !s.StaysUnhealthy {
		s.RunningCount = s.DesiredCount
	}
	s.PendingCount = max(0, s.DesiredCount-s.RunningCount)
	p.RunningCount, p.PendingCount = s.RunningCount, s.PendingCount
}

// resolveTaskDefinition reads "family", "family:rev" or an ARN into
// family:rev; "family" is its latest ACTIVE revision. forUpdate refuses
// an INACTIVE revision, as UpdateService does.
func (r *request) resolveTaskDefinition(ref string, forUpdate bool) (string, error) {
	family, rev, ok := parseTaskDefinitionRef(ref)
	notFound := badRequest("ClientException", "Unable to describe task definition.")
	if forUpdate {
		notFound = badRequest("ClientException", "TaskDefinition not found.")
	}
	if !ok {
		return "", notFound
	}
	var found *TaskDefinition
	for i := range r.world.TaskDefinitions {
		td := &r.world.TaskDefinitions[i]
		if td.Family != family {
			continue
		}
		if rev == 0 && td.Status == "ACTIVE" && (found == nil || td.Revision > found.Revision) || rev != 0 && td.Revision == rev {
			found = td
		}
	}
	if found == nil {
		return "", notFound
	}
	if forUpdate && found.Status != "ACTIVE" {
		return "", badRequest("ClientException", "TaskDefinition is inactive")
	}
	return fmt.Sprintf("%s:%d", found.Family, found.Revision), nil
}

// runningTaskID names the i-th running task of a deployment, stably, so
// ListTasks and DescribeTasks agree without storing running tasks.
func runningTaskID(cluster, service, deployment string, i int) string {
	sum := sha256.Sum256(fmt.Appendf(nil, "%s/%s/%s/%d", cluster, service, deployment, i))
	return hex.EncodeToString(sum[:16])
}

type ecsContainerOut struct {
	Name       string `json:"name"`
	LastStatus string `json:"lastStatus"`
	ExitCode   *int32 `json:"exitCode,omitempty"`
	Reason     string `json:"reason,omitempty"`
	TaskArn    string `json:"taskArn"`
}

type ecsTaskOut struct {
	TaskArn           string            `json:"taskArn"`
	ClusterArn        string            `json:"clusterArn"`
	TaskDefinitionArn string            `json:"taskDefinitionArn"`
	Group             string            `json:"group"`
	LastStatus        string            `json:"lastStatus"`
	DesiredStatus     string            `json:"desiredStatus"`
	LaunchType        string            `json:"launchType"`
	StartedBy         string            `json:"startedBy,omitempty"`
	StoppedReason     string            `json:"stoppedReason,omitempty"`
	StopCode          string            `json:"stopCode,omitempty"`
	CreatedAt         epoch             `json:"createdAt,omitzero"`
	StartedAt         epoch             `json:"startedAt,omitzero"`
	StoppedAt         epoch             `json:"stoppedAt,omitzero"`
	Containers        []ecsContainerOut `json:"containers"`
}

// taskView is a task of the world as ECS describes it.
type taskView struct {
	id      string
	service string
	out     ecsTaskOut
}

// tasksOf lists a service's running tasks (one per running count of its
// live deployments) and its stopped ones.
func tasksOf(cluster string, s *Service) []taskView {
	var views []taskView
	for _, d := range s.Deployments {
		if d.Status == "INACTIVE" {
			continue
		}
		for i := range int(d.RunningCount) {
			id := runningTaskID(cluster, s.Name, d.ID, i)
			arn := taskARN(cluster, id)
			views = append(views, taskView{id: id, service: s.Name, out: ecsTaskOut{
				TaskArn: arn, ClusterArn: clusterARN(cluster), TaskDefinitionArn: taskDefinitionARNOf(d.TaskDefinition),
				Group: "service:" + s.Name, LastStatus: "RUNNING", DesiredStatus: "RUNNING", LaunchType: "FARGATE",
				StartedBy: d.ID, CreatedAt: epoch(d.CreatedAt), StartedAt: epoch(d.CreatedAt),
				Containers: []ecsContainerOut{{Name: "app", LastStatus: "RUNNING", TaskArn: arn}},
			}})
		}
	}
	for _, t := range s.StoppedTasks {
		arn := taskARN(cluster, t.ID)
		td := t.TaskDefinition
		if td == "" {
			td = s.TaskDefinition
		}
		out := ecsTaskOut{
			TaskArn: arn, ClusterArn: clusterARN(cluster), TaskDefinitionArn: taskDefinitionARNOf(td),
			Group: "service:" + s.Name, LastStatus: "STOPPED", DesiredStatus: "STOPPED", LaunchType: "FARGATE",
			StoppedReason: t.StoppedReason, StopCode: t.StopCode,
			CreatedAt: epoch(t.CreatedAt), StartedAt: epoch(t.StartedAt), StoppedAt: epoch(t.StoppedAt),
			Containers: []ecsContainerOut{},
		}
		for _, c := range t.Containers {
			out.Containers = append(out.Containers, ecsContainerOut{Name: c.Name, LastStatus: "STOPPED", ExitCode: c.ExitCode, Reason: c.Reason, TaskArn: arn})
		}
		views = append(views, taskView{id: t.ID, service: s.Name, out: out})
	}
	return views
}

func ecsListTasks(r *request) (any, error) {
	var in struct {
		Cluster       string `json:"cluster"`
		ServiceName   string `json:"serviceName"`
		DesiredStatus string `json:"desiredStatus"`
		MaxResults    int    `json:"maxResults"`
		NextToken     string `json:"nextToken"`
	}
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	c, err := r.findCluster(in.Cluster)
	if err != nil {
		return nil, err
	}
	services := c.Services
	if in.ServiceName != "" {
		s := lookupService(c, in.ServiceName)
		if s == nil {
			return nil, badRequest("ServiceNotFoundException", "Service not found.")
		}
		services = []Service{*s}
	}
	want := "RUNNING"
	if in.DesiredStatus != "" {
		want = in.DesiredStatus
	}
	var arns []string
	for i := range services {
		for _, t := range tasksOf(c.Name, &services[i]) {
			if t.out.DesiredStatus == want {
				arns = append(arns, t.out.TaskArn)
			}
		}
	}
	page, next, err := paginate(arns, in.NextToken, in.MaxResults, 100)
	if err != nil {
		return nil, err
	}
	return withNextToken(map[string]any{"taskArns": page}, "nextToken", next), nil
}

func ecsDescribeTasks(r *request) (any, error) {
	var in struct {
		Cluster string   `json:"cluster"`
		Tasks   []string `json:"tasks"`
	}
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	if len(in.Tasks) == 0 || len(in.Tasks) > 100 {
		return nil, badRequest("InvalidParameterException", "tasks must name 1 to 100 tasks, not %d", len(in.Tasks))
	}
	c, err := r.findCluster(in.Cluster)
	if err != nil {
		return nil, err
	}
	byID := map[string]ecsTaskOut{}
	for i := range c.Services {
		for _, t := range tasksOf(c.Name, &c.Services[i]) {
			byID[t.id] = t.out
		}
	}
	out := struct {
		Tasks    []ecsTaskOut `json:"tasks"`
		Failures []ecsFailure `json:"failures"`
	}{Tasks: []ecsTaskOut{}, Failures: []ecsFailure{}}
	for _, ref := range in.Tasks {
		id := ref[strings.LastIndex(ref, "/")+1:]
		if t, ok := byID[id]; ok {
			out.Tasks = append(out.Tasks, t)
		} else {
			out.Failures = append(out.Failures, ecsFailure{Arn: taskARN(c.Name, id), Reason: "MISSING"})
		}
	}
	return out, nil
}

func ecsDescribeTaskDefinition(r *request) (any, error) {
	var in struct {
		TaskDefinition string `json:"taskDefinition"`
	}
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	ref, err := r.resolveTaskDefinition(in.TaskDefinition, false)
	if err != nil {
		return nil, err
	}
	family, rev, _ := parseTaskDefinitionRef(ref)
	var td TaskDefinition
	for _, t := range r.world.TaskDefinitions {
		if t.Family == family && t.Revision == rev {
			td = t
		}
	}
	image := td.Image
	if image == "" {
		image = fmt.Sprintf("%s.dkr.ecr.%s.amazonaws.com/%s:%d", Account, Region, family, rev)
	}
	return map[string]any{"taskDefinition": map[string]any{
		"taskDefinitionArn":       taskDefinitionARN(family, rev),
		"family":                  family,
		"revision":                rev,
		"status":                  td.Status,
		"registeredAt":            epoch(td.RegisteredAt),
		"requiresCompatibilities": []string{"FARGATE"},
		"networkMode":             "awsvpc",
		"cpu":                     "512",
		"memory":                  "1024",
		"containerDefinitions":    []map[string]any{{"name": "app", "image": image, "essential": true}},
	}}, nil
}

func ecsListTaskDefinitions(r *request) (any, error) {
	var in struct {
		FamilyPrefix string `json:"familyPrefix"`
		Status       string `json:"status"`
		Sort         string `json:"sort"`
		MaxResults   int    `json:"maxResults"`
		NextToken    string `json:"nextToken"`
	}
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	status := "ACTIVE"
	if in.Status != "" {
		status = in.Status
	}
	var tds []TaskDefinition
	for _, td := range r.world.TaskDefinitions {
		if td.Status == status && (in.FamilyPrefix == "" || td.Family == in.FamilyPrefix) {
			tds = append(tds, td)
		}
	}
	sort.Slice(tds, func(i, j int) bool {
		if tds[i].Family != tds[j].Family {
			return tds[i].Family < tds[j].Family
		}
		return tds[i].Revision < tds[j].Revision
	})
	if in.Sort == "DESC" {
		for i, j := 0, len(tds)-1; i < j; i, j = i+1, j-1 {
			tds[i], tds[j] = tds[j], tds[i]
		}
	}
	arns := make([]string, len(tds))
	for i, td := range tds {
		arns[i] = taskDefinitionARN(td.Family, td.Revision)
	}
	page, next, err := paginate(arns, in.NextToken, in.MaxResults, 100)
	if err != nil {
		return nil, err
	}
	return withNextToken(map[string]any{"taskDefinitionArns": page}, "nextToken", next), nil
}

// paginate cuts a page of at most limit items (def when limit is 0) from
// the offset a nextToken names; the next token is nil on the last page.
func paginate[T any](items []T, token string, limit, def int) ([]T, *string, error) {
	start := 0
	if token != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(token, "awslocal-"))
		if err != nil || n < 0 || n > len(items) {
			return nil, nil, badRequest("InvalidParameterException", "the nextToken is not one this server gave")
		}
		start = n
	}
	if limit <= 0 {
		limit = def
	}
	end := min(start+limit, len(items))
	page := append([]T{}, items[start:end]...)
	if end == len(items) {
		return page, nil, nil
	}
	next := fmt.Sprintf("awslocal-%d", end)
	return page, &next, nil
}

// withNextToken adds the next token to an output when there is one: the
// services leave the member out on the last page.
func withNextToken(out map[string]any, key string, next *string) map[string]any {
	if next != nil {
		out[key] = *next
	}
	return out
}
