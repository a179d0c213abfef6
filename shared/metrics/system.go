package metrics

import (
	"context"
	"log/slog"
	"slices"
)

// The system's own metrics: how the system watching itself reports that it
// is alive (the heartbeat) and that it can still page (the fire drill).
// Each carries the dimension DimensionFunction, the name of the function
// that measured it, so that two stacks in one account never mask each
// other's silence: an alarm on one stack's heartbeat sees only its own.
const (
	// Heartbeat is 1 for each beat whose checks all passed; a beat that
	// fails emits nothing, so the alarm on its absence fires either way.
	Heartbeat = "Heartbeat"
	// FireDrillFailing is 1 while the latest fire drill failed or none has
	// passed for longer than allowed, 0 otherwise; the heartbeat emits it.
	FireDrillFailing = "FireDrillFailing"
	// FireDrillHopSeconds is how long after the drill's start one hop was
	// seen done, with the dimension DimensionHop.
	FireDrillHopSeconds = "FireDrillHopSeconds"
	// FireDrillHopFailed is 1 for a hop that was not seen done in time, 0
	// for one that was, with the dimension DimensionHop.
	FireDrillHopFailed = "FireDrillHopFailed"
	// FireDrillPassed is 1 for a drill whose every hop passed, 0 otherwise.
	FireDrillPassed = "FireDrillPassed"
)

// Dimension names of the system's own metrics.
const (
	// DimensionFunction is the name of the Lambda function that emitted
	// the metric (AWS_LAMBDA_FUNCTION_NAME).
	DimensionFunction = "FunctionName"
	// DimensionHop names a fire-drill hop.
	DimensionHop = "Hop"
)

// Dimension is one dimension of a metric.
type Dimension struct {
	Name  string
	Value string
}

// Emit writes one Embedded Metric Format record of the metric name with
// the given dimensions, all in one dimension set. Like the response
// metrics, it costs no API call: CloudWatch Logs makes the metric from the
// function's log.
func Emit(ctx context.Context, name string, value float64, unit string, dims ...Dimension) {
	names := make([]string, 0, len(dims))
	attrs := make([]any, 0, len(dims)+2)
	for _, d := range dims {
		names = append(names, d.Name)
		attrs = append(attrs, slog.String(d.Name, d.Value))
	}
	slices.Sort(names)
	attrs = append(attrs, envelope(name, unit, names), slog.Float64(name, value))
	slog.InfoContext(ctx, "metric "+name, attrs...)
}
