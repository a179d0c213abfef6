// Package metrics emits the response metrics (time to acknowledge, time to
// resolve, missed targets) in CloudWatch's Embedded Metric Format: one
// structured log record per data point, which CloudWatch Logs turns into
// metrics with no API call and no extra permission.
package metrics

import (
	"context"
	"log/slog"
	"time"

	"github.com/dashboarduz/incident-response/shared/incident"
)

// Namespace is the CloudWatch namespace of every metric.
const Namespace = "Dashboarduz/IncidentResponse"

// Metric names.
const (
	ResponseTargetMissed   = "ResponseTargetMissed"
	ResolutionTargetMissed = "ResolutionTargetMissed"
	TimeToAcknowledge      = "TimeToAcknowledge"
	TimeToResolve          = "TimeToResolve"
)

// envelope is the _aws member of an EMF record: it tells CloudWatch Logs
// that the record's attribute name is a metric in unit, under the
// dimension set dims (the names of attributes of the record).
func envelope(name, unit string, dims []string) slog.Attr {
	return slog.Any("_aws", map[string]any{
		"Timestamp": time.Now().UnixMilli(),
		"CloudWatchMetrics": []map[string]any{{
			"Namespace":  Namespace,
			"Dimensions": [][]string{dims},
			"Metrics":    []map[string]string{{"Name": name, "Unit": unit}},
		}},
	})
}

// emit writes one EMF record with the metric under the dimensions
// Severity and Service.
func emit(ctx context.Context, name string, value float64, unit string, inc incident.Incident) {
	slog.InfoContext(ctx, "metric "+name,
		envelope(name, unit, []string{"Severity", "Service"}),
		slog.Float64(name, value),
		slog.String("Severity", string(inc.Severity)),
		slog.String("Service", inc.Service),
		slog.String("incidentId", inc.ID),
	)
}

// TargetMissed emits a missed response or resolution target.
func TargetMissed(ctx context.Context, inc incident.Incident, target string) {
	name := ResponseTargetMissed
	if target == incident.TargetResolution {
		name = ResolutionTargetMissed
	}
	emit(ctx, name, 1, "Count", inc)
}

// Acknowledged emits the time from the episode's start to its
// acknowledgement.
func Acknowledged(ctx context.Context, inc incident.Incident) {
	emit(ctx, TimeToAcknowledge, inc.AcknowledgedAt.Sub(inc.Started()).Seconds(), "Seconds", inc)
}

// Resolved emits the time from the episode's start to its resolution.
func Resolved(ctx context.Context, inc incident.Incident) {
	emit(ctx, TimeToResolve, inc.ResolvedAt.Sub(inc.Started()).Seconds(), "Seconds", inc)
}
