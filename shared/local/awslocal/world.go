package awslocal

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Account and Region are the account and region the stand-in's ARNs name.
const (
	Account = "123456789012"
	Region  = "us-east-1"
)

// World is what the stand-in knows. Its JSON form is what a scenario file
// holds; every slice is optional. Times are RFC 3339.
type World struct {
	Clusters        []Cluster        `json:"clusters,omitempty"`
	TaskDefinitions []TaskDefinition `json:"taskDefinitions,omitempty"`
	Metrics         []Metric         `json:"metrics,omitempty"`
	LogGroups       []LogGroup       `json:"logGroups,omitempty"`
	DBInstances     []DBInstance     `json:"dbInstances,omitempty"`
	Parameters      []Parameter      `json:"parameters,omitempty"`
	// VerifiedIdentities, when not empty, are the only senders SES
	// accepts (addresses or domains), as in the SES sandbox.
	VerifiedIdentities []string `json:"verifiedIdentities,omitempty"`
	// Emails are the messages SES accepted, in order.
	Emails []Email `json:"emails,omitempty"`
}

// Cluster is an ECS cluster and its services.
type Cluster struct {
	Name     string    `json:"name"`
	Services []Service `json:"services,omitempty"`
}

// Service is an ECS service. Its current task definition is the one of
// its PRIMARY deployment; a service given only TaskDefinition gets one
// PRIMARY deployment of it.
type Service struct {
	Name         string `json:"name"`
	Status       string `json:"status,omitempty"` // ACTIVE unless set
	DesiredCount int32  `json:"desiredCount"`
	RunningCount int32  `json:"runningCount"`
	PendingCount int32  `json:"pendingCount"`
	// TaskDefinition is family:revision (or an ARN) of the primary
	// deployment; it is filled from Deployments when empty.
	TaskDefinition string `json:"taskDefinition,omitempty"`
	// Deployments are newest first. INACTIVE ones are history the
	// stand-in keeps for assertions; ECS does not describe them.
	Deployments []Deployment `json:"deployments,omitempty"`
	// StoppedTasks are the recently stopped tasks ECS still lists.
	StoppedTasks []Task `json:"stoppedTasks,omitempty"`
	// CPUUtilization and MemoryUtilization, in percent, answer
	// GetMetricData for AWS/ECS when Metrics has no datapoints for it.
	CPUUtilization    *float64 `json:"cpuUtilization,omitempty"`
	MemoryUtilization *float64 `json:"memoryUtilization,omitempty"`
	// StaysUnhealthy makes new deployments and scaling not help: the new
	// tasks stay pending and the rollout stays IN_PROGRESS, for scenarios
	// of an action that does not fix the incident.
	StaysUnhealthy bool `json:"staysUnhealthy,omitempty"`
}

// Deployment is one deployment of an ECS service.
type Deployment struct {
	ID                 string    `json:"id"`
	Status             string    `json:"status"` // PRIMARY, ACTIVE or INACTIVE
	TaskDefinition     string    `json:"taskDefinition"`
	DesiredCount       int32     `json:"desiredCount"`
	RunningCount       int32     `json:"runningCount"`
	PendingCount       int32     `json:"pendingCount"`
	FailedTasks        int32     `json:"failedTasks,omitempty"`
	RolloutState       string    `json:"rolloutState,omitempty"` // COMPLETED, IN_PROGRESS, FAILED
	RolloutStateReason string    `json:"rolloutStateReason,omitempty"`
	CreatedAt          time.Time `json:"createdAt"`
	UpdatedAt          time.Time `json:"updatedAt"`
}

// Task is a stopped ECS task.
type Task struct {
	ID             string      `json:"id"`
	TaskDefinition string      `json:"taskDefinition,omitempty"`
	StoppedReason  string      `json:"stoppedReason,omitempty"`
	StopCode       string      `json:"stopCode,omitempty"` // e.g. EssentialContainerExited
	CreatedAt      time.Time   `json:"createdAt,omitzero"`
	StartedAt      time.Time   `json:"startedAt,omitzero"`
	StoppedAt      time.Time   `json:"stoppedAt"`
	Containers     []Container `json:"containers,omitempty"`
}

// Container is a container of a stopped task.
type Container struct {
	Name     string `json:"name"`
	ExitCode *int32 `json:"exitCode,omitempty"`
	Reason   string `json:"reason,omitempty"`
}

// TaskDefinition is one revision of an ECS task definition family.
type TaskDefinition struct {
	Family       string    `json:"family"`
	Revision     int32     `json:"revision"`
	Status       string    `json:"status,omitempty"` // ACTIVE unless set
	Image        string    `json:"image,omitempty"`
	RegisteredAt time.Time `json:"registeredAt,omitzero"`
}

// Metric is a CloudWatch metric with its datapoints.
type Metric struct {
	Namespace  string            `json:"namespace"`
	Name       string            `json:"name"`
	Dimensions map[string]string `json:"dimensions,omitempty"`
	Unit       string            `json:"unit,omitempty"`
	Datapoints []Datapoint       `json:"datapoints"`
}

// Datapoint is one raw value of a metric.
type Datapoint struct {
	Time  time.Time `json:"time"`
	Value float64   `json:"value"`
}

// LogGroup is a CloudWatch Logs group and its events.
type LogGroup struct {
	Name   string     `json:"name"`
	Events []LogEvent `json:"events,omitempty"`
}

// LogEvent is one log line.
type LogEvent struct {
	Time    time.Time `json:"time"`
	Stream  string    `json:"stream,omitempty"`
	Message string    `json:"message"`
}

// DBInstance is an RDS DB instance.
type DBInstance struct {
	Identifier    string `json:"identifier"`
	Status        string `json:"status,omitempty"` // available unless set
	Class         string `json:"class,omitempty"`
	Engine        string `json:"engine,omitempty"`
	EngineVersion string `json:"engineVersion,omitempty"`
	MultiAZ       bool   `json:"multiAZ,omitempty"`
	// AllocatedStorage is in GiB.
	AllocatedStorage int32 `json:"allocatedStorage,omitempty"`
	// Connections answers GetMetricData for AWS/RDS DatabaseConnections
	// when Metrics has no datapoints for it.
	Connections *float64 `json:"connections,omitempty"`
	// CPUUtilization does the same for AWS/RDS CPUUtilization.
	CPUUtilization *float64  `json:"cpuUtilization,omitempty"`
	CreatedAt      time.Time `json:"createdAt,omitzero"`
}

// Parameter is an SSM parameter at its current version.
type Parameter struct {
	Name         string    `json:"name"`
	Type         string    `json:"type,omitempty"` // String unless set
	Value        string    `json:"value"`
	Version      int64     `json:"version,omitempty"`
	LastModified time.Time `json:"lastModified,omitzero"`
}

// Schedule is an EventBridge Scheduler schedule.
type Schedule struct {
	Name                  string `json:"name"`
	GroupName             string `json:"groupName,omitempty"`
	Expression            string `json:"expression"`
	Timezone              string `json:"timezone,omitempty"`
	State                 string `json:"state,omitempty"`
	ActionAfterCompletion string `json:"actionAfterCompletion,omitempty"`
	TargetARN             string `json:"targetArn"`
	RoleARN               string `json:"roleArn,omitempty"`
	Input                 string `json:"input,omitempty"`
	Description           string `json:"description,omitempty"`
	// At is when a one-time at(...) schedule fires, zero for others.
	At          time.Time `json:"at,omitzero"`
	ClientToken string    `json:"clientToken,omitempty"`
	CreatedAt   time.Time `json:"createdAt,omitzero"`
}

// Email is a message SES accepted.
type Email struct {
	MessageID string   `json:"messageId"`
	From      string   `json:"from"`
	To        []string `json:"to,omitempty"`
	Cc        []string `json:"cc,omitempty"`
	Bcc       []string `json:"bcc,omitempty"`
	Subject   string   `json:"subject,omitempty"`
	Text      string   `json:"text,omitempty"`
	HTML      string   `json:"html,omitempty"`
	// Raw is the MIME message of a raw send.
	Raw    string    `json:"raw,omitempty"`
	SentAt time.Time `json:"sentAt"`
}

// DecodeWorld reads a World from its JSON form, refusing unknown fields so
// a misspelt scenario fails loudly.
func DecodeWorld(data []byte) (World, error) {
	var w World
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		return World{}, fmt.Errorf("decode awslocal world: %w", err)
	}
	if err := w.normalize(time.Time{}); err != nil {
		return World{}, err
	}
	return w, nil
}

// clone returns a deep copy, so callers never share the server's state.
func (w *World) clone() World {
	b, err := json.Marshal(w)
	if err != nil {
		panic(fmt.Sprintf("awslocal: marshal world: %v", err))
	}
	var c World
	if err := json.Unmarshal(b, &c); err != nil {
		panic(fmt.Sprintf("awslocal: unmarshal world: %v", err))
	}
	return c
}

// normalize fills the defaults a scenario may leave out: statuses, a
// PRIMARY deployment for a service given only a task definition, the
// task definitions services refer to, parameter versions.
func (w *World) normalize(now time.Time) error {
	for ci := range w.Clusters {
		c := &w.Clusters[ci]
		if c.Name == "" {
			return fmt.Errorf("awslocal world: cluster %d has no name", ci)
		}
		for si := range c.Services {
			if err := w.normalizeService(c.Name, &c.Services[si], now); err != nil {
				return err
			}
		}
	}
	for i := range w.TaskDefinitions {
		if w.TaskDefinitions[i].Status == "" {
			w.TaskDefinitions[i].Status = "ACTIVE"
		}
	}
	for i := range w.DBInstances {
		if w.DBInstances[i].Status == "" {
			w.DBInstances[i].Status = "available"
		}
	}
	for i := range w.Parameters {
		p := &w.Parameters[i]
		if p.Type == "" {
			p.Type = "String"
		}
		if p.Version == 0 {
			p.Version = 1
		}
	}
	for i := range w.LogGroups {
		sort.SliceStable(w.LogGroups[i].Events, func(a, b int) bool {
			return w.LogGroups[i].Events[a].Time.Before(w.LogGroups[i].Events[b].Time)
		})
	}
	return nil
}

func (w *World) normalizeService(cluster string, s *Service, now time.Time) error {
	if s.Name == "" {
		return fmt.Errorf("awslocal world: a service of cluster %s has no name", cluster)
	}
	if s.Status == "" {
		s.Status = "ACTIVE"
	}
	if len(s.Deployments) == 0 {
		if s.TaskDefinition == "" {
			return fmt.Errorf("awslocal world: service %s/%s has neither taskDefinition nor deployments", cluster, s.Name)
		}
		s.Deployments = []Deployment{{
			ID: "ecs-svc/1000000000000000001", Status: "PRIMARY", TaskDefinition: s.TaskDefinition,
			DesiredCount: s.DesiredCount, RunningCount: s.RunningCount, PendingCount: s.PendingCount,
			RolloutState: "COMPLETED", CreatedAt: now, UpdatedAt: now,
		}}
	}
	p := primary(s)
	if p == nil {
		return fmt.Errorf("awslocal world: service %s/%s has no PRIMARY deployment", cluster, s.Name)
	}
	s.TaskDefinition = p.TaskDefinition
	for _, d := range s.Deployments {
		if _, _, err := w.ensureTaskDefinition(d.TaskDefinition); err != nil {
			return fmt.Errorf("awslocal world: service %s/%s: %w", cluster, s.Name, err)
		}
	}
	return nil
}

// ensureTaskDefinition registers the revision ref names if the world does
// not hold it yet, so a scenario need not list every revision twice.
func (w *World) ensureTaskDefinition(ref string) (string, int32, error) {
	family, rev, ok := parseTaskDefinitionRef(ref)
	if !ok || rev == 0 {
		return "", 0, fmt.Errorf("task definition %q is not family:revision or its ARN", ref)
	}
	for _, td := range w.TaskDefinitions {
		if td.Family == family && td.Revision == rev {
			return family, rev, nil
		}
	}
	w.TaskDefinitions = append(w.TaskDefinitions, TaskDefinition{Family: family, Revision: rev, Status: "ACTIVE"})
	return family, rev, nil
}

// primary returns the service's PRIMARY deployment, nil if it has none.
func primary(s *Service) *Deployment {
	for i := range s.Deployments {
		if s.Deployments[i].Status == "PRIMARY" {
			return &s.Deployments[i]
		}
	}
	return nil
}

// parseTaskDefinitionRef reads "family", "family:rev" or a task
// definition ARN; rev is 0 when the reference names no revision.
func parseTaskDefinitionRef(ref string) (family string, rev int32, ok bool) {
	if i := strings.Index(ref, ":task-definition/"); strings.HasPrefix(ref, "arn:") && i >= 0 {
		ref = ref[i+len(":task-definition/"):]
	}
	if ref == "" {
		return "", 0, false
	}
	family, r, hasRev := strings.Cut(ref, ":")
	if !hasRev {
		return family, 0, true
	}
	n, err := strconv.ParseInt(r, 10, 32)
	if err != nil || n < 1 {
		return "", 0, false
	}
	return family, int32(n), true
}

// ARNs the stand-in hands out.
func clusterARN(c string) string {
	return fmt.Sprintf("arn:aws:ecs:%s:%s:cluster/%s", Region, Account, c)
}
func serviceARN(c, s string) string {
	return fmt.Sprintf("arn:aws:ecs:%s:%s:service/%s/%s", Region, Account, c, s)
}
func taskARN(c, id string) string {
	return fmt.Sprintf("arn:aws:ecs:%s:%s:task/%s/%s", Region, Account, c, id)
}
func taskDefinitionARN(family string, rev int32) string {
	return fmt.Sprintf("arn:aws:ecs:%s:%s:task-definition/%s:%d", Region, Account, family, rev)
}

// taskDefinitionARNOf turns a family:revision reference into its ARN.
func taskDefinitionARNOf(ref string) string {
	family, rev, ok := parseTaskDefinitionRef(ref)
	if !ok {
		return ref
	}
	return taskDefinitionARN(family, rev)
}
