package eventbridge

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/dashboarduz/incident-response/shared/incident"
)

// Severities of ECS signals, against the runbook's levels. Every ECS
// signal has the category service-down: these events say a service cannot
// run the tasks it should. When users feel it, the service's 5xx and
// health-check alarms open a P0 of their own; these signals say why.
const (
	// SeverityDeploymentFailed is for a deployment the circuit breaker
	// failed or is rolling back: the previous deployment's tasks keep
	// serving, so the new release is not live but users see at most
	// reduced capacity. The runbook's P2: "minor feature unavailable,
	// non-critical errors", answered within the hour.
	SeverityDeploymentFailed = incident.P2
	// SeverityServiceImpaired is for a scheduler that cannot start or
	// place tasks: the service stays below its desired count and does not
	// heal by itself, which degrades it for everyone. The runbook's P1:
	// "major feature unavailable, performance degradation".
	SeverityServiceImpaired = incident.P1
	// SeverityTaskFailed is for one task that stopped with an error: the
	// scheduler replaces it, and a task that keeps failing shows up as an
	// impairment or a failed deployment. P2, like other non-critical
	// errors.
	SeverityTaskFailed = incident.P2
	// severityServiceNote is for scheduler events worth a look but not a
	// page at night: an unhealthy instance in the service registry.
	severityServiceNote = incident.P2
)

// ECS event names and stop codes the decoder reads.
const (
	ecsDeploymentFailed     = "SERVICE_DEPLOYMENT_FAILED"
	ecsDeploymentInProgress = "SERVICE_DEPLOYMENT_IN_PROGRESS"
	ecsDeploymentCompleted  = "SERVICE_DEPLOYMENT_COMPLETED"
	ecsSteadyState          = "SERVICE_STEADY_STATE"

	stopTaskFailedToStart = "TaskFailedToStart"
	stopEssentialExited   = "EssentialContainerExited"
	stopScheduler         = "ServiceSchedulerInitiated"
	stopUser              = "UserInitiated"
	stopSpot              = "SpotInterruption"
	stopTermination       = "TerminationNotice"
)

// impairments are the service actions that fire, with their severity and
// what they mean in words.
var impairments = map[string]struct {
	severity incident.Severity
	what     string
}{
	"SERVICE_TASK_START_IMPAIRED":          {SeverityServiceImpaired, "cannot start tasks consistently"},
	"SERVICE_TASK_PLACEMENT_FAILURE":       {SeverityServiceImpaired, "cannot place a task"},
	"SERVICE_TASK_CONFIGURATION_FAILURE":   {SeverityServiceImpaired, "cannot place a task because of a configuration error"},
	"SERVICE_DISCOVERY_INSTANCE_UNHEALTHY": {severityServiceNote, "has an unhealthy task in its service registry"},
}

// ecsService identifies the ECS service (or, for a task run on its own,
// the task family) an event is about.
type ecsService struct {
	arn     string // the service ARN, or clusterArn/family:<name>: the DedupKey
	cluster string
	name    string
}

// arnParts splits an ARN into partition, service, region, account and
// resource; ok is false for anything that is not an ARN.
func arnParts(arn string) (partition, service, region, account, resource string, ok bool) {
	p := strings.SplitN(arn, ":", 6)
	if len(p) != 6 || p[0] != "arn" || p[1] == "" || p[2] == "" || p[5] == "" {
		return "", "", "", "", "", false
	}
	return p[1], p[2], p[3], p[4], p[5], true
}

// serviceFromARN reads an ECS service ARN, in the current form
// (service/<cluster>/<name>) or the old one (service/<name>, whose cluster
// comes from clusterArn when the event has one).
func serviceFromARN(arn, clusterArn string) (ecsService, bool) {
	_, svc, _, _, resource, ok := arnParts(arn)
	if !ok || svc != "ecs" || !strings.HasPrefix(resource, "service/") {
		return ecsService{}, false
	}
	path := strings.Split(strings.TrimPrefix(resource, "service/"), "/")
	switch {
	case len(path) == 2 && path[0] != "" && path[1] != "":
		return ecsService{arn: arn, cluster: path[0], name: path[1]}, true
	case len(path) == 1 && path[0] != "":
		return ecsService{arn: arn, cluster: clusterName(clusterArn), name: path[0]}, true
	}
	return ecsService{}, false
}

// clusterName is the name in a cluster ARN, or "" if it is none.
func clusterName(arn string) string {
	_, svc, _, _, resource, ok := arnParts(arn)
	if !ok || svc != "ecs" || !strings.HasPrefix(resource, "cluster/") {
		return ""
	}
	return strings.TrimPrefix(resource, "cluster/")
}

// serviceResource finds the service ARN among an event's resources.
func serviceResource(e Event, clusterArn string) (ecsService, *InvalidEventError) {
	for _, r := range e.Resources {
		if s, ok := serviceFromARN(r, clusterArn); ok {
			return s, nil
		}
	}
	return ecsService{}, invalidf("resources hold no ECS service ARN (want arn:aws:ecs:<region>:<account>:service/<cluster>/<service>)")
}

// ecsSignal fills what every ECS signal shares. A service outside the
// allow-list turns it into an ignored signal that says so.
func (d *Decoder) ecsSignal(e Event, svc ecsService, s incident.Signal) incident.Signal {
	s.Source = signalSourceECS
	s.DedupKey = svc.arn
	s.Service = svc.name
	s.Category = incident.ServiceDown
	if s.Details == nil {
		s.Details = map[string]string{}
	}
	s.Details["cluster"] = svc.cluster
	s.Details["ecsService"] = svc.name
	s.Details["eventBridgeId"] = e.ID
	putIf(s.Details, "region", e.Region)
	putIf(s.Details, "account", e.Account)
	if s.Ignored == "" {
		if why := d.Allow.why(svc.cluster, svc.name); why != "" {
			s.Ignored = "ECS event for a resource this system does not respond for: " + why
		}
	}
	return s
}

// ecsDeployment reads an "ECS Deployment State Change": a failed
// deployment and a circuit-breaker rollback fire; a completed deployment
// is the recovery; a deployment starting is no incident.
func (d *Decoder) ecsDeployment(e Event, det ECSDeploymentStateChange) (incident.Signal, *InvalidEventError) {
	if det.EventName == "" {
		return incident.Signal{}, invalidf("detail.eventName is missing")
	}
	if det.DeploymentID == "" {
		return incident.Signal{}, invalidf("detail.deploymentId is missing")
	}
	svc, ierr := serviceResource(e, "")
	if ierr != nil {
		return incident.Signal{}, ierr
	}
	at, ierr := when("detail.updatedAt", det.UpdatedAt, "time", e.Time)
	if ierr != nil {
		return incident.Signal{}, ierr
	}
	s := incident.Signal{
		Time:     at,
		Severity: SeverityDeploymentFailed,
		Reason:   det.Reason,
		EventID:  svc.arn + "/deployment/" + det.DeploymentID + "/" + det.EventName,
		Details:  map[string]string{"deploymentId": det.DeploymentID, "eventName": det.EventName, "eventType": det.EventType},
	}
	switch {
	case det.EventName == ecsDeploymentFailed:
		s.State = incident.Firing
		s.Summary = fmt.Sprintf("ECS deployment %s of %s failed", det.DeploymentID, svc.name)
	case det.EventName == ecsDeploymentInProgress && rollingBack(det.Reason):
		s.State = incident.Firing
		s.EventID += "/rollback"
		s.Summary = fmt.Sprintf("ECS deployment %s of %s is being rolled back", det.DeploymentID, svc.name)
	case det.EventName == ecsDeploymentCompleted:
		s.State = incident.Recovered
		s.Summary = fmt.Sprintf("ECS deployment %s of %s completed", det.DeploymentID, svc.name)
	case det.EventName == ecsDeploymentInProgress:
		s.State = incident.Inconclusive
		s.Summary = fmt.Sprintf("ECS deployment %s of %s in progress", det.DeploymentID, svc.name)
		s.Ignored = "an ECS deployment in progress is no incident; a failure or rollback is"
	default:
		s.State = incident.Inconclusive
		s.Summary = fmt.Sprintf("ECS deployment %s of %s: %s", det.DeploymentID, svc.name, det.EventName)
		s.Ignored = fmt.Sprintf("ECS deployment event %s is not one this system acts on", det.EventName)
	}
	return d.ecsSignal(e, svc, s), nil
}

// rollingBack says whether a deployment reason is the circuit breaker's
// rollback ("ECS deployment circuit breaker: rolling back to deploymentId
// ...").
func rollingBack(reason string) bool {
	return strings.Contains(strings.ToLower(reason), "rolling back")
}

// ecsServiceAction reads an "ECS Service Action": the scheduler's
// impairments fire, a steady state is the recovery, the rest (desired
// count updates, throttling the scheduler retries) is no incident.
func (d *Decoder) ecsServiceAction(e Event, det ECSServiceAction) (incident.Signal, *InvalidEventError) {
	if det.EventName == "" {
		return incident.Signal{}, invalidf("detail.eventName is missing")
	}
	svc, ierr := serviceResource(e, det.ClusterArn)
	if ierr != nil {
		return incident.Signal{}, ierr
	}
	at, ierr := when("detail.createdAt", det.CreatedAt, "time", e.Time)
	if ierr != nil {
		return incident.Signal{}, ierr
	}
	s := incident.Signal{
		Time:     at,
		Severity: SeverityServiceImpaired,
		Reason:   det.Reason,
		EventID:  svc.arn + "/" + det.EventName + "@" + at.Format(time.RFC3339Nano),
		Details:  map[string]string{"eventName": det.EventName, "eventType": det.EventType},
	}
	putIf(s.Details, "capacityProviders", strings.Join(det.CapacityProviderArns, ","))
	if imp, ok := impairments[det.EventName]; ok {
		s.State, s.Severity = incident.Firing, imp.severity
		s.Summary = fmt.Sprintf("ECS service %s %s", svc.name, imp.what)
		if det.Reason != "" {
			s.Summary += " (" + det.Reason + ")"
		}
		return d.ecsSignal(e, svc, s), nil
	}
	if det.EventName == ecsSteadyState {
		s.State = incident.Recovered
		s.Summary = fmt.Sprintf("ECS service %s reached a steady state", svc.name)
		return d.ecsSignal(e, svc, s), nil
	}
	s.State = incident.Inconclusive
	s.Summary = fmt.Sprintf("ECS service %s: %s", svc.name, det.EventName)
	s.Ignored = fmt.Sprintf("ECS service action %s (%s) is not one this system acts on", det.EventName, orNone(det.EventType))
	return d.ecsSignal(e, svc, s), nil
}

// ecsTask reads an "ECS Task State Change". Only a task that stopped with
// an error fires: it failed to start, an essential container exited with a
// non-zero code, or the scheduler replaced it for failing its health
// checks. Scale-in, deployments replacing tasks, user stops and Spot
// interruptions are no incident.
func (d *Decoder) ecsTask(e Event, det ECSTaskStateChange) (incident.Signal, *InvalidEventError) {
	svc, ierr := taskService(det)
	if ierr != nil {
		return incident.Signal{}, ierr
	}
	at, ierr := when("detail.stoppedAt", det.StoppedAt, "detail.executionStoppedAt", det.ExecutionStoppedAt, "detail.updatedAt", det.UpdatedAt, "time", e.Time)
	if ierr != nil {
		return incident.Signal{}, ierr
	}
	id := det.TaskArn + "@v" + fmt.Sprint(det.Version) + "/" + det.LastStatus
	if det.Version == 0 {
		id = det.TaskArn + "/" + det.LastStatus + "/" + e.ID
	}
	s := incident.Signal{
		Time:     at,
		Severity: SeverityTaskFailed,
		EventID:  id,
		Reason:   det.StoppedReason,
		Details:  map[string]string{"taskArn": det.TaskArn, "lastStatus": det.LastStatus},
	}
	putIf(s.Details, "taskDefinitionArn", det.TaskDefinitionArn)
	putIf(s.Details, "stopCode", det.StopCode)
	putIf(s.Details, "startedBy", det.StartedBy)
	putIf(s.Details, "exitCodes", exitCodes(det.Containers))
	failure, ignored := taskVerdict(det)
	if ignored != "" {
		s.State, s.Ignored = incident.Inconclusive, ignored
		s.Summary = fmt.Sprintf("ECS task of %s %s", svc.name, strings.ToLower(orNone(det.LastStatus)))
		return d.ecsSignal(e, svc, s), nil
	}
	s.State = incident.Firing
	s.Summary = fmt.Sprintf("ECS task of %s stopped: %s", svc.name, failure)
	return d.ecsSignal(e, svc, s), nil
}

// taskService finds the service (or task family) a task belongs to.
func taskService(det ECSTaskStateChange) (ecsService, *InvalidEventError) {
	if det.TaskArn == "" {
		return ecsService{}, invalidf("detail.taskArn is missing")
	}
	partition, svc, region, account, resource, ok := arnParts(det.ClusterArn)
	if !ok || svc != "ecs" || !strings.HasPrefix(resource, "cluster/") || len(resource) == len("cluster/") {
		return ecsService{}, invalidf("detail.clusterArn %q is not an ECS cluster ARN", clip(det.ClusterArn))
	}
	cluster := strings.TrimPrefix(resource, "cluster/")
	kind, name, found := strings.Cut(det.Group, ":")
	if !found || name == "" {
		return ecsService{}, invalidf("detail.group %q is neither service:<name> nor family:<name>", clip(det.Group))
	}
	switch kind {
	case "service":
		arn := fmt.Sprintf("arn:%s:ecs:%s:%s:service/%s/%s", partition, region, account, cluster, name)
		return ecsService{arn: arn, cluster: cluster, name: name}, nil
	case "family":
		return ecsService{arn: det.ClusterArn + "/" + det.Group, cluster: cluster, name: name}, nil
	}
	return ecsService{}, invalidf("detail.group %q is neither service:<name> nor family:<name>", clip(det.Group))
}

// taskVerdict says what a task state change means: failure describes an
// error stop in words, or ignored says why it is none.
func taskVerdict(det ECSTaskStateChange) (failure, ignored string) {
	if det.LastStatus != "STOPPED" {
		return "", fmt.Sprintf("the task is %s; only a task that stopped with an error is an incident", orNone(det.LastStatus))
	}
	reason := orNone(det.StoppedReason)
	switch det.StopCode {
	case stopTaskFailedToStart:
		return "it failed to start: " + reason, ""
	case stopEssentialExited, "":
		if f := containerFailure(det.Containers, det.StopCode == stopEssentialExited); f != "" {
			return f, ""
		}
		if det.StopCode == "" {
			return "", "the task stopped without a stop code and no container failed"
		}
		return "", "its essential container exited with code 0"
	case stopScheduler:
		if failedHealthChecks(det.StoppedReason) {
			return "the scheduler replaced it: " + reason, ""
		}
		return "", "the scheduler stopped it (scale-in or a deployment replacing tasks): " + reason
	case stopUser:
		return "", "a user or an API call stopped it: " + reason
	case stopSpot, stopTermination:
		return "", "AWS reclaimed its capacity (" + det.StopCode + "); the scheduler replaces it"
	}
	return "", fmt.Sprintf("stop code %s is not one this system acts on", det.StopCode)
}

// containerFailure describes the first container that exited with a
// non-zero code, or whose exit code is unknown but which gives a reason
// (a container killed before it could exit); "" when every container
// exited cleanly. With unknownFails, a container without an exit code is a
// failure too: an essential container exited and nothing says it was
// clean.
func containerFailure(cs []ECSContainer, unknownFails bool) string {
	for _, c := range cs {
		switch {
		case c.ExitCode != nil && *c.ExitCode != 0:
			f := fmt.Sprintf("container %s exited with code %d", orNone(c.Name), *c.ExitCode)
			if c.Reason != "" {
				f += " (" + c.Reason + ")"
			}
			return f
		case c.ExitCode == nil && c.Reason != "":
			return fmt.Sprintf("container %s stopped: %s", orNone(c.Name), c.Reason)
		}
	}
	for _, c := range cs {
		if unknownFails && c.ExitCode == nil {
			return fmt.Sprintf("container %s stopped with no exit code", orNone(c.Name))
		}
	}
	return ""
}

// failedHealthChecks says whether the scheduler stopped a task for failing
// its load balancer or container health checks, which is a failure and
// not a scale-in.
func failedHealthChecks(reason string) bool {
	r := strings.ToLower(reason)
	return strings.Contains(r, "failed elb health checks") || strings.Contains(r, "failed container health checks") ||
		strings.Contains(r, "is unhealthy")
}

// exitCodes renders the containers' exit codes as name=code, sorted.
func exitCodes(cs []ECSContainer) string {
	var parts []string
	for _, c := range cs {
		if c.ExitCode != nil {
			parts = append(parts, fmt.Sprintf("%s=%d", c.Name, *c.ExitCode))
		}
	}
	slices.Sort(parts)
	return strings.Join(parts, ",")
}

func putIf(m map[string]string, k, v string) {
	if v != "" {
		m[k] = v
	}
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
