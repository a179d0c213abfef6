package triage

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/dashboarduz/incident-response/shared/cloudwatch"
	"github.com/dashboarduz/incident-response/shared/ecs"
	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/logs"
	"github.com/dashboarduz/incident-response/shared/rds"
	"github.com/dashboarduz/incident-response/shared/triage/evidence"
)

// The adapters the sources read through, each the small part of its
// package the source calls.

// Doer sends HTTP requests; *http.Client implements it.
type Doer = evidence.Doer

// ServiceReader reads an ECS service's state; *ecs.Client implements it.
type ServiceReader interface {
	ServiceState(ctx context.Context, cluster, service string) (*ecs.ServiceState, error)
}

// MetricsReader reads CloudWatch metrics; *cloudwatch.Metrics
// implements it.
type MetricsReader interface {
	ServiceUtilization(ctx context.Context, cluster, service string, period time.Duration) (*cloudwatch.ServiceUtilization, error)
	DatabaseConnections(ctx context.Context, dbInstance string, period time.Duration) (*cloudwatch.Series, error)
}

// LogReader reads error lines; *logs.Reader implements it.
type LogReader interface {
	ErrorLines(ctx context.Context, logGroup string, lim logs.Limits) (*logs.Excerpt, error)
}

// DBReader reads an RDS instance; *rds.Client implements it.
type DBReader interface {
	Instance(ctx context.Context, id string) (*rds.Instance, error)
}

// Clients are the adapters the configured sources read through. A
// missing one makes its parts fail with the reason, never panic.
type Clients struct {
	HTTP    Doer
	ECS     ServiceReader
	Metrics MetricsReader
	Logs    LogReader
	RDS     DBReader
}

// Configured picks the configured sources of an incident: the parts
// its category gets, from where its service's evidence is.
type Configured struct {
	Config  evidence.Config
	Clients Clients
}

// For returns the sources of the incident's report, in the category's
// order.
func (c Configured) For(inc incident.Incident) []Source {
	s := c.Config.Services[inc.Service]
	var out []Source
	for _, p := range c.Config.PartsFor(inc.Service, inc.Category) {
		out = append(out, &part{name: p, svc: s, cfg: c.Config, cl: c.Clients})
	}
	return out
}

// part is one configured source.
type part struct {
	name string
	svc  evidence.ServiceSources
	cfg  evidence.Config
	cl   Clients
}

// Gather gathers the part; a failure is reported in it, with what was
// asked.
func (p *part) Gather(ctx context.Context, inc incident.Incident) incident.TriagePart {
	var tp incident.TriagePart
	switch p.name {
	case incident.PartHealth:
		tp = p.health(ctx)
	case incident.PartQueues:
		tp = p.queues(ctx)
	case incident.PartECSService:
		tp = p.ecsService(ctx)
	case incident.PartMetrics:
		tp = p.metrics(ctx)
	case incident.PartLogs:
		tp = p.logLines(ctx)
	case incident.PartDatabase:
		tp = p.database(ctx)
	default:
		tp = incident.TriagePart{Error: "unknown part"}
	}
	tp.Name = p.name
	if tp.Error != "" && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		tp.Error = "timed out: " + tp.Error
	}
	return tp
}

// failed is a part that could not be gathered from source.
func failed(source string, err error) incident.TriagePart {
	return incident.TriagePart{Source: source, Error: err.Error()}
}

var errNoClient = errors.New("no client is configured for this source")

// ecsService reports the runbook's "Check ECS service status": counts,
// the latest deployments and why recent tasks stopped.
func (p *part) ecsService(ctx context.Context) incident.TriagePart {
	source := fmt.Sprintf("ECS DescribeServices %s/%s", p.svc.Cluster, p.svc.ECSService)
	if p.cl.ECS == nil {
		return failed(source, errNoClient)
	}
	st, err := p.cl.ECS.ServiceState(ctx, p.svc.Cluster, p.svc.ECSService)
	if err != nil {
		return failed(source, err)
	}
	return ecsPart(st)
}

// ecsPart turns a service's state into its part.
func ecsPart(st *ecs.ServiceState) incident.TriagePart {
	tp := incident.TriagePart{Source: st.Source, Facts: map[string]string{
		incident.FactRunning: itoa(st.Running), incident.FactDesired: itoa(st.Desired), incident.FactPending: itoa(st.Pending),
		incident.FactTaskDefinition: st.TaskDefinition,
	}}
	if len(st.Deployments) > 0 {
		tp.Facts[incident.FactLastDeploymentAt] = st.Deployments[0].CreatedAt.UTC().Format(time.RFC3339)
	}
	if len(st.Deployments) > 1 {
		tp.Facts[incident.FactPreviousDeploymentAt] = st.Deployments[1].CreatedAt.UTC().Format(time.RFC3339)
	}
	for _, d := range st.Deployments {
		tp.Lines = append(tp.Lines, fmt.Sprintf("deployment %s %s of %s created %s: %s, %d/%d running, %d pending, %d failed",
			d.Status, d.ID, ecs.ShortTaskDefinition(d.TaskDefinition), d.CreatedAt.UTC().Format(time.RFC3339), orDash(d.RolloutState), d.Running, d.Desired, d.Pending, d.Failed))
	}
	withError := 0
	for _, t := range st.StoppedTasks {
		if stoppedWithError(t) {
			withError++
		}
		tp.Lines = append(tp.Lines, stoppedLine(t))
	}
	tp.Facts[incident.FactStoppedWithError] = strconv.Itoa(withError)
	tp.Summary = fmt.Sprintf("%s: %d of %d tasks running, %d pending, running %s", st.Status, st.Running, st.Desired, st.Pending, ecs.ShortTaskDefinition(st.TaskDefinition))
	if len(st.Deployments) > 0 {
		tp.Summary += fmt.Sprintf(" (deployed %s)", st.Deployments[0].CreatedAt.UTC().Format("2006-01-02 15:04Z"))
	}
	tp.Summary += fmt.Sprintf("; %d recently stopped task(s), %d with an error", len(st.StoppedTasks), withError)
	if st.StoppedTasksError != "" {
		tp.Summary += "; the stopped tasks could not be read: " + st.StoppedTasksError
	}
	return tp
}

// stoppedWithError tells a task that failed (a container exited
// non-zero, the essential container exited, the task failed to start)
// from one the scheduler stopped on purpose (a scale-in, a deployment).
func stoppedWithError(t ecs.StoppedTask) bool {
	for _, c := range t.Containers {
		if c.ExitCode != nil && *c.ExitCode != 0 {
			return true
		}
	}
	switch t.StopCode {
	case "TaskFailedToStart", "EssentialContainerExited":
		return true
	}
	return false
}

func stoppedLine(t ecs.StoppedTask) string {
	line := fmt.Sprintf("task %s (%s) stopped %s: %s", shortID(t.TaskARN), ecs.ShortTaskDefinition(t.TaskDefinition), t.StoppedAt.UTC().Format("15:04:05"), logs.Redact(t.StoppedReason))
	for _, c := range t.Containers {
		if c.ExitCode != nil {
			line += fmt.Sprintf("; %s exited %d", c.Name, *c.ExitCode)
		}
		if c.Reason != "" {
			line += fmt.Sprintf(" (%s)", logs.Redact(c.Reason))
		}
	}
	return line
}

// metrics reports the runbook's CPU and memory check for the last 30
// minutes: the latest values are the facts, the peaks in the summary.
func (p *part) metrics(ctx context.Context) incident.TriagePart {
	source := fmt.Sprintf("CloudWatch GetMetricData AWS/ECS CPUUtilization and MemoryUtilization of %s/%s", p.svc.Cluster, p.svc.ECSService)
	if p.cl.Metrics == nil {
		return failed(source, errNoClient)
	}
	u, err := p.cl.Metrics.ServiceUtilization(ctx, p.svc.Cluster, p.svc.ECSService, p.cfg.MetricPeriod.D())
	if err != nil {
		return failed(source, err)
	}
	tp := incident.TriagePart{Source: fmt.Sprintf("CloudWatch GetMetricData AWS/ECS CPUUtilization and MemoryUtilization of %s/%s, %s per %s, %s to %s",
		p.svc.Cluster, p.svc.ECSService, u.CPU.Stat, u.CPU.Period, u.CPU.Start.UTC().Format("15:04"), u.CPU.End.UTC().Format("15:04 MST")), Facts: map[string]string{}}
	var said []string
	for _, s := range []struct {
		name, fact string
		series     cloudwatch.Series
	}{{"CPU", incident.FactCPUPercent, u.CPU}, {"memory", incident.FactMemoryPercent, u.Memory}} {
		latest, ok := s.series.Latest()
		if !ok {
			said = append(said, s.name+" has no datapoints")
			continue
		}
		peak, _ := s.series.Max()
		tp.Facts[s.fact] = strconv.FormatFloat(latest.Value, 'f', 1, 64)
		said = append(said, fmt.Sprintf("%s %.1f%% (peak %.1f%% at %s)", s.name, latest.Value, peak.Value, peak.Time.UTC().Format("15:04")))
		tp.Lines = append(tp.Lines, seriesLine(s.name, s.series))
	}
	tp.Summary = strings.Join(said, ", ") + " over the last 30 minutes"
	return tp
}

// seriesLine lists a series' points compactly.
func seriesLine(name string, s cloudwatch.Series) string {
	var pts []string
	for _, pt := range s.Points {
		pts = append(pts, fmt.Sprintf("%s %.1f", pt.Time.UTC().Format("15:04"), pt.Value))
	}
	return name + ": " + strings.Join(pts, ", ")
}

// logLines reports the newest error lines of the service's log group,
// redacted and bounded.
func (p *part) logLines(ctx context.Context) incident.TriagePart {
	source := "CloudWatch Logs FilterLogEvents on " + p.svc.LogGroup
	if p.cl.Logs == nil {
		return failed(source, errNoClient)
	}
	lim := p.cfg.Logs
	ex, err := p.cl.Logs.ErrorLines(ctx, p.svc.LogGroup, logs.Limits{Lines: lim.Lines, Bytes: lim.Bytes, LineBytes: lim.LineBytes, Window: lim.Window.D()})
	if err != nil {
		return failed(source, err)
	}
	// The adapter's source quotes the whole filter pattern; the error
	// words are implied here, to keep the timeline readable.
	tp := incident.TriagePart{Source: fmt.Sprintf("CloudWatch Logs FilterLogEvents on %s, error lines, %s to %s", ex.LogGroup, ex.Start.UTC().Format("15:04"), ex.End.UTC().Format("15:04 MST"))}
	for _, l := range ex.Lines {
		tp.Lines = append(tp.Lines, fmt.Sprintf("%s %s: %s", l.Time.UTC().Format("15:04:05"), l.Stream, l.Message))
	}
	switch {
	case len(ex.Lines) == 0:
		tp.Summary = "no error lines in the last " + ex.End.Sub(ex.Start).String()
	default:
		tp.Summary = fmt.Sprintf("%d error line(s), the newest at %s: %s", len(ex.Lines), ex.Lines[0].Time.UTC().Format("15:04:05"), firstLine(ex.Lines[0].Message, 160))
	}
	if ex.Truncated {
		tp.Summary += " (more lines than shown)"
	}
	return tp
}

// database reports the runbook's "Check RDS status" and its connection
// count: the instance's status always, the connections when CloudWatch
// answers.
func (p *part) database(ctx context.Context) incident.TriagePart {
	source := "RDS DescribeDBInstances " + p.svc.DBInstance
	if p.cl.RDS == nil {
		return failed(source, errNoClient)
	}
	in, err := p.cl.RDS.Instance(ctx, p.svc.DBInstance)
	if err != nil {
		return failed(source, err)
	}
	tp := incident.TriagePart{Source: in.Source, Facts: map[string]string{incident.FactDBStatus: in.Status}}
	tp.Summary = fmt.Sprintf("%s is %s (%s, %s %s, Multi-AZ %v, %d GiB, in %s)", in.Identifier, in.Status, in.Class, in.Engine, in.EngineVersion, in.MultiAZ, in.AllocatedStorageGiB, orDash(in.AvailabilityZone))
	if p.cl.Metrics == nil {
		tp.Summary += "; connections: " + errNoClient.Error()
		return tp
	}
	conns, err := p.cl.Metrics.DatabaseConnections(ctx, p.svc.DBInstance, p.cfg.MetricPeriod.D())
	if err != nil {
		tp.Summary += "; connections could not be read: " + err.Error()
		return tp
	}
	tp.Source += "; " + conns.Source
	if latest, ok := conns.Latest(); ok {
		peak, _ := conns.Max()
		tp.Facts[incident.FactConnections] = strconv.FormatFloat(latest.Value, 'f', 0, 64)
		tp.Summary += fmt.Sprintf("; %.0f connections (peak %.0f at %s)", latest.Value, peak.Value, peak.Time.UTC().Format("15:04"))
		tp.Lines = append(tp.Lines, seriesLine("connections", *conns))
	} else {
		tp.Summary += "; no connection datapoints in the last 30 minutes"
	}
	return tp
}

func itoa(n int32) string { return strconv.Itoa(int(n)) }

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// shortID is the last part of an ARN.
func shortID(arn string) string {
	if i := strings.LastIndex(arn, "/"); i >= 0 {
		return arn[i+1:]
	}
	return arn
}

// firstLine is s's first line, at most n bytes.
func firstLine(s string, n int) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > n {
		return s[:n] + " [...]"
	}
	return s
}
