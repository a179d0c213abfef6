package incident

import "time"

// TriageReport is the evidence gathered for one episode of an incident
// before anyone is awake: what the runbook's Triage section asks a
// responder to look at, each part saying where it came from.
type TriageReport struct {
	IncidentID string       `json:"incidentId"`
	Episode    int          `json:"episode"`
	At         time.Time    `json:"at"`
	Parts      []TriagePart `json:"parts"`
}

// TriagePart is one source of evidence: a health endpoint's answer, an
// ECS service's state, CPU and memory, log lines, a database's status, a
// queue's figures. A part that failed says why; the others still count.
type TriagePart struct {
	// Name says what the part is, e.g. "ecs-service" (see the Part
	// constants).
	Name string `json:"name"`
	// Source says where it came from, e.g. "ECS DescribeServices
	// dashboarduz-production/dashboarduz-api".
	Source string `json:"source"`
	// Summary is one line for the timeline.
	Summary string `json:"summary"`
	// Error, when set, says why the part could not be gathered.
	Error string `json:"error,omitempty"`
	// Facts are the figures remediation decides on, by the Fact keys.
	Facts map[string]string `json:"facts,omitempty"`
	// Lines are longer evidence, e.g. the newest error lines of a log
	// group, redacted and bounded.
	Lines []string `json:"lines,omitempty"`
}

// The parts of a triage report.
const (
	PartHealth     = "health"
	PartECSService = "ecs-service"
	PartMetrics    = "metrics"
	PartLogs       = "logs"
	PartDatabase   = "database"
	PartQueues     = "queues"
)

// The facts of a triage report that remediation reads, by part. Times are
// RFC 3339 in UTC; counts and percentages are decimal strings.
const (
	// ecs-service
	FactRunning              = "running"
	FactDesired              = "desired"
	FactPending              = "pending"
	FactTaskDefinition       = "taskDefinition"
	FactLastDeploymentAt     = "lastDeploymentAt"
	FactPreviousDeploymentAt = "previousDeploymentAt"
	FactStoppedWithError     = "stoppedWithError"
	// metrics
	FactCPUPercent    = "cpuPercent"
	FactMemoryPercent = "memoryPercent"
	// health and queues
	FactHealthy      = "healthy"
	FactStatusCode   = "statusCode"
	FactQueueWaiting = "waiting"
	// database
	FactDBStatus    = "dbStatus"
	FactConnections = "connections"
)

// Part returns the report's part of that name, if it has one.
func (r TriageReport) Part(name string) (TriagePart, bool) {
	for _, p := range r.Parts {
		if p.Name == name {
			return p, true
		}
	}
	return TriagePart{}, false
}
