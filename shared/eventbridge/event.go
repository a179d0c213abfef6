package eventbridge

import "encoding/json"

// Event is the EventBridge envelope of every event the ingest rule routes.
// Detail stays raw until the source and detail-type say what it holds.
type Event struct {
	Version    string `json:"version"`
	ID         string `json:"id"`
	DetailType string `json:"detail-type"`
	Source     string `json:"source"`
	Account    string `json:"account"`
	// Time is when EventBridge received the event, in RFC 3339 form.
	Time      string          `json:"time"`
	Region    string          `json:"region"`
	Resources []string        `json:"resources"`
	Detail    json.RawMessage `json:"detail"`
}

// ECSDeploymentStateChange is the detail of an "ECS Deployment State
// Change" event: a service deployment started, completed or failed. A
// rollback started by the deployment circuit breaker is an
// SERVICE_DEPLOYMENT_IN_PROGRESS event whose Reason says "rolling back".
type ECSDeploymentStateChange struct {
	// EventType is INFO or ERROR.
	EventType string `json:"eventType"`
	// EventName is SERVICE_DEPLOYMENT_IN_PROGRESS, SERVICE_DEPLOYMENT_COMPLETED
	// or SERVICE_DEPLOYMENT_FAILED.
	EventName    string `json:"eventName"`
	DeploymentID string `json:"deploymentId"`
	UpdatedAt    string `json:"updatedAt"`
	Reason       string `json:"reason"`
}

// ECSServiceAction is the detail of an "ECS Service Action" event: the
// service scheduler reports a steady state, an impairment or a failure to
// place or start tasks.
type ECSServiceAction struct {
	// EventType is INFO, WARN or ERROR.
	EventType  string `json:"eventType"`
	EventName  string `json:"eventName"`
	ClusterArn string `json:"clusterArn"`
	CreatedAt  string `json:"createdAt"`
	// Reason explains placement and configuration failures, e.g.
	// "RESOURCE:FARGATE".
	Reason                string   `json:"reason,omitempty"`
	CapacityProviderArns  []string `json:"capacityProviderArns,omitempty"`
	ContainerInstanceArns []string `json:"containerInstanceArns,omitempty"`
	TaskSetArns           []string `json:"taskSetArns,omitempty"`
	DesiredCount          *int     `json:"desiredCount,omitempty"`
}

// ECSTaskStateChange is the detail of an "ECS Task State Change" event. It
// resembles the Task object of DescribeTasks, with the times as ISO 8601
// strings instead of epoch seconds.
type ECSTaskStateChange struct {
	Attachments          []ECSAttachment `json:"attachments,omitempty"`
	AvailabilityZone     string          `json:"availabilityZone,omitempty"`
	CapacityProviderName string          `json:"capacityProviderName,omitempty"`
	ClusterArn           string          `json:"clusterArn"`
	ContainerInstanceArn string          `json:"containerInstanceArn,omitempty"`
	Containers           []ECSContainer  `json:"containers"`
	CreatedAt            string          `json:"createdAt,omitempty"`
	LaunchType           string          `json:"launchType,omitempty"`
	CPU                  string          `json:"cpu,omitempty"`
	Memory               string          `json:"memory,omitempty"`
	DesiredStatus        string          `json:"desiredStatus"`
	// Group is "service:<name>" for a service's tasks and "family:<name>"
	// for tasks run on their own.
	Group      string          `json:"group,omitempty"`
	LastStatus string          `json:"lastStatus"`
	Overrides  json.RawMessage `json:"overrides,omitempty"`
	// Connectivity is CONNECTED or DISCONNECTED.
	Connectivity   string `json:"connectivity,omitempty"`
	ConnectivityAt string `json:"connectivityAt,omitempty"`
	PullStartedAt  string `json:"pullStartedAt,omitempty"`
	StartedAt      string `json:"startedAt,omitempty"`
	// StartedBy is the deployment ID for a service's tasks.
	StartedBy string `json:"startedBy,omitempty"`
	// StopCode is TaskFailedToStart, EssentialContainerExited,
	// UserInitiated, ServiceSchedulerInitiated, SpotInterruption or
	// TerminationNotice.
	StopCode           string `json:"stopCode,omitempty"`
	StoppingAt         string `json:"stoppingAt,omitempty"`
	StoppedAt          string `json:"stoppedAt,omitempty"`
	StoppedReason      string `json:"stoppedReason,omitempty"`
	ExecutionStoppedAt string `json:"executionStoppedAt,omitempty"`
	PullStoppedAt      string `json:"pullStoppedAt,omitempty"`
	UpdatedAt          string `json:"updatedAt,omitempty"`
	TaskArn            string `json:"taskArn"`
	TaskDefinitionArn  string `json:"taskDefinitionArn"`
	// Version grows with every change of the task; a duplicate event
	// carries the same version.
	Version         int64  `json:"version"`
	PlatformVersion string `json:"platformVersion,omitempty"`
}

// ECSAttachment is a task's elastic network interface.
type ECSAttachment struct {
	ID      string         `json:"id"`
	Type    string         `json:"type"`
	Status  string         `json:"status"`
	Details []ECSNameValue `json:"details,omitempty"`
}

// ECSNameValue is one detail of an attachment.
type ECSNameValue struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// ECSContainer is one container of a task.
type ECSContainer struct {
	ContainerArn string `json:"containerArn"`
	// ExitCode is absent until the container has exited, and for
	// containers that never started.
	ExitCode          *int                  `json:"exitCode,omitempty"`
	LastStatus        string                `json:"lastStatus"`
	Name              string                `json:"name"`
	Image             string                `json:"image,omitempty"`
	ImageDigest       string                `json:"imageDigest,omitempty"`
	RuntimeID         string                `json:"runtimeId,omitempty"`
	TaskArn           string                `json:"taskArn"`
	Reason            string                `json:"reason,omitempty"`
	NetworkInterfaces []ECSNetworkInterface `json:"networkInterfaces,omitempty"`
	CPU               string                `json:"cpu,omitempty"`
	Memory            string                `json:"memory,omitempty"`
	MemoryReservation string                `json:"memoryReservation,omitempty"`
}

// ECSNetworkInterface is a container's network interface.
type ECSNetworkInterface struct {
	AttachmentID       string `json:"attachmentId"`
	PrivateIpv4Address string `json:"privateIpv4Address,omitempty"`
}

// RDSDBInstanceEvent is the detail of an "RDS DB Instance Event". Older
// events have no EventID and a SourceIdentifier prefixed with "rds:".
type RDSDBInstanceEvent struct {
	EventCategories  []string `json:"EventCategories"`
	SourceType       string   `json:"SourceType"`
	SourceArn        string   `json:"SourceArn"`
	Date             string   `json:"Date"`
	Message          string   `json:"Message"`
	SourceIdentifier string   `json:"SourceIdentifier"`
	// EventID is RDS-EVENT-nnnn.
	EventID string            `json:"EventID,omitempty"`
	Tags    map[string]string `json:"Tags,omitempty"`
}
