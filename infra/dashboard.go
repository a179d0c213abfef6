package main

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/aws-cdk-go/awscdk/v2/interfaces/interfacesawscloudwatch"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/metrics"
)

// DashboardProps configures Dashboard.
type DashboardProps struct {
	// Namespace holds the response metrics the functions emit in Embedded
	// Metric Format (shared/metrics.Namespace), with the dimensions
	// Severity and Service.
	Namespace string
	// Policy is the escalation policy document whose targets the graphs
	// draw; the embedded default when empty.
	Policy string
	// Functions are the stack's functions by name, for their errors and
	// throttles.
	Functions map[string]awslambda.Function
	// StateMachine is the escalation state machine.
	StateMachine awsstepfunctions.IStateMachine
	// Alarms are the stack's own alarms, shown with their state (the
	// functions' error and throttle alarms are graphed instead).
	Alarms []awscloudwatch.Alarm
}

// Dashboard is the CloudWatch dashboard of the response and of the system
// itself: time to acknowledge and to resolve per severity and service
// against the runbook's targets, missed targets, and the errors,
// throttles and failed escalations that would make those numbers lie.
type Dashboard struct {
	constructs.Construct
	// Dashboard is the CloudWatch dashboard itself.
	Dashboard awscloudwatch.Dashboard
}

// Dashboard layout: CloudWatch dashboards are 24 columns wide.
const (
	dashboardWidth = 24
	graphHeight    = 6
	// responsePeriod suits metrics with one data point per incident.
	responsePeriodHours = 1
	// healthPeriod suits the per-minute metrics of functions and
	// executions.
	healthPeriodMinutes = 5
)

// NewDashboard creates the dashboard. The response graphs use CloudWatch
// search expressions, so every service that ever has an incident shows up
// without a change to the stack.
func NewDashboard(scope constructs.Construct, id string, props *DashboardProps) (*Dashboard, error) {
	policy := incident.DefaultPolicy()
	if props.Policy != "" {
		p, err := incident.ParsePolicy([]byte(props.Policy))
		if err != nil {
			return nil, fmt.Errorf("dashboard: %w", err)
		}
		policy = p
	}
	c := constructs.NewConstruct(scope, jsii.String(id))
	d := awscloudwatch.NewDashboard(c, jsii.String("Dashboard"), &awscloudwatch.DashboardProps{
		DashboardName: awscdk.Aws_STACK_NAME(),
		// Incidents are rare: a week shows a few of them.
		DefaultInterval: awscdk.Duration_Days(jsii.Number(7)),
	})
	d.AddWidgets(awscloudwatch.NewTextWidget(&awscloudwatch.TextWidgetProps{
		Markdown: jsii.String("# Incident response\n" +
			"Time to acknowledge and to resolve per severity and service, with the escalation policy's targets as lines; " +
			"missed response and resolution targets; and the health of the pipeline itself. " +
			"A failed escalation or a throttled function means the numbers above it may be missing incidents."),
		Width:  jsii.Number(dashboardWidth),
		Height: jsii.Number(2),
	}))
	d.AddWidgets(durationRow(props.Namespace, metrics.TimeToAcknowledge, "time to acknowledge", policy, func(sp incident.SeverityPolicy) incident.Duration { return sp.AcknowledgeWithin })...)
	d.AddWidgets(durationRow(props.Namespace, metrics.TimeToResolve, "time to resolve", policy, func(sp incident.SeverityPolicy) incident.Duration { return sp.ResolveWithin })...)
	d.AddWidgets(missedRow(props.Namespace)...)
	d.AddWidgets(healthRow(props)...)
	return &Dashboard{Construct: c, Dashboard: d}, nil
}

// search is a search expression over the response metrics: one series per
// service (and severity) that has data.
func search(namespace, filter, statistic, label string) awscloudwatch.MathExpression {
	expr := fmt.Sprintf("SEARCH('{%s,Service,Severity} %s', '%s', %d)", namespace, filter, statistic, responsePeriodHours*3600)
	return awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
		Expression:   jsii.String(expr),
		UsingMetrics: &map[string]awscloudwatch.IMetric{},
		Label:        jsii.String(label),
		Period:       awscdk.Duration_Hours(jsii.Number(responsePeriodHours)),
	})
}

// durationRow is one graph per severity of a duration metric by service,
// with the severity's target as a line.
func durationRow(namespace, metric, what string, p incident.Policy, target func(incident.SeverityPolicy) incident.Duration) []awscloudwatch.IWidget {
	var row []awscloudwatch.IWidget
	for _, s := range incident.Severities {
		t := target(p.For(s)).D()
		row = append(row, awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{
			Title: jsii.String(fmt.Sprintf("%s %s (seconds)", s, what)),
			Left: &[]awscloudwatch.IMetric{
				search(namespace, fmt.Sprintf(`MetricName="%s" Severity="%s"`, metric, s), "Maximum", "${PROP('Dim.Service')}"),
			},
			LeftAnnotations: &[]*awscloudwatch.HorizontalAnnotation{{
				Value: jsii.Number(t.Seconds()),
				Label: jsii.String(fmt.Sprintf("%s target %s", s, shortDuration(t))),
				Color: awscloudwatch.Color_RED(),
			}},
			LeftYAxis: &awscloudwatch.YAxisProps{Min: jsii.Number(0), ShowUnits: jsii.Bool(false)},
			Width:     jsii.Number(dashboardWidth / len(incident.Severities)),
			Height:    jsii.Number(graphHeight),
		}))
	}
	return row
}

// shortDuration writes a target as the policy does ("5m", "4h", "168h"),
// without Go's trailing zero units.
func shortDuration(d time.Duration) string {
	s := d.String()
	for _, zero := range []string{"m0s", "h0m"} {
		if strings.HasSuffix(s, zero) {
			s = strings.TrimSuffix(s, zero[1:])
		}
	}
	return s
}

// missedRow shows the missed targets by severity and service, and their
// totals per severity over the dashboard's time range.
func missedRow(namespace string) []awscloudwatch.IWidget {
	missed := func(metric, title string) awscloudwatch.IWidget {
		return awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{
			Title:     jsii.String(title),
			Left:      &[]awscloudwatch.IMetric{search(namespace, fmt.Sprintf(`MetricName="%s"`, metric), "Sum", "${PROP('Dim.Severity')} ${PROP('Dim.Service')}")},
			Stacked:   jsii.Bool(true),
			LeftYAxis: &awscloudwatch.YAxisProps{Min: jsii.Number(0), ShowUnits: jsii.Bool(false)},
			Width:     jsii.Number(9),
			Height:    jsii.Number(graphHeight),
		})
	}
	var totals []awscloudwatch.IMetric
	for _, s := range incident.Severities {
		filter := fmt.Sprintf(`(MetricName="%s" OR MetricName="%s") Severity="%s"`, metrics.ResponseTargetMissed, metrics.ResolutionTargetMissed, s)
		totals = append(totals, awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
			Expression:   jsii.String(fmt.Sprintf("SUM(SEARCH('{%s,Service,Severity} %s', 'Sum', %d))", namespace, filter, responsePeriodHours*3600)),
			UsingMetrics: &map[string]awscloudwatch.IMetric{},
			Label:        jsii.String(fmt.Sprintf("%s missed targets", s)),
		}))
	}
	return []awscloudwatch.IWidget{
		missed(metrics.ResponseTargetMissed, "Missed response targets by severity and service"),
		missed(metrics.ResolutionTargetMissed, "Missed resolution targets by severity and service"),
		awscloudwatch.NewSingleValueWidget(&awscloudwatch.SingleValueWidgetProps{
			Title:                jsii.String("Missed targets in the time range"),
			Metrics:              &totals,
			SetPeriodToTimeRange: jsii.Bool(true),
			Width:                jsii.Number(6),
			Height:               jsii.Number(graphHeight),
		}),
	}
}

// healthRow shows the system's own health: function errors and
// throttles, failed and timed-out escalations, and the stack's alarms.
func healthRow(props *DashboardProps) []awscloudwatch.IWidget {
	opts := func(label, statistic string) *awscloudwatch.MetricOptions {
		return &awscloudwatch.MetricOptions{
			Label:     jsii.String(label),
			Statistic: jsii.String(statistic),
			Period:    awscdk.Duration_Minutes(jsii.Number(healthPeriodMinutes)),
		}
	}
	var errs, throttles []awscloudwatch.IMetric
	for _, n := range slices.Sorted(maps.Keys(props.Functions)) {
		errs = append(errs, props.Functions[n].MetricErrors(opts(n, "Sum")))
		throttles = append(throttles, props.Functions[n].MetricThrottles(opts(n, "Sum")))
	}
	graph := func(title string, ms []awscloudwatch.IMetric, width float64) awscloudwatch.IWidget {
		return awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{
			Title:     jsii.String(title),
			Left:      &ms,
			LeftYAxis: &awscloudwatch.YAxisProps{Min: jsii.Number(0), ShowUnits: jsii.Bool(false)},
			Width:     jsii.Number(width),
			Height:    jsii.Number(graphHeight),
		})
	}
	sm := props.StateMachine
	row := []awscloudwatch.IWidget{
		graph("Function errors", errs, 6),
		graph("Function throttles", throttles, 6),
		graph("Escalation executions failed and timed out", []awscloudwatch.IMetric{
			sm.MetricFailed(opts("Failed", "Sum")),
			sm.MetricTimedOut(opts("Timed out", "Sum")),
		}, 6),
	}
	if len(props.Alarms) > 0 {
		alarms := make([]interfacesawscloudwatch.IAlarmRef, len(props.Alarms))
		for i, a := range props.Alarms {
			alarms[i] = a
		}
		row = append(row, awscloudwatch.NewAlarmStatusWidget(&awscloudwatch.AlarmStatusWidgetProps{
			Title:  jsii.String("The system's own alarms"),
			Alarms: &alarms,
			Width:  jsii.Number(6),
			Height: jsii.Number(graphHeight),
		}))
	}
	return row
}
