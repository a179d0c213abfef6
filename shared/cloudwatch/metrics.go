package cloudwatch

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awscloudwatch "github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/dashboarduz/incident-response/shared/awserr"
	"github.com/dashboarduz/incident-response/shared/incident"
)

// TriageWindow is how far back triage reads metrics: the runbook's "last
// 30 minutes".
const TriageWindow = 30 * time.Minute

// maxMetricPages bounds the GetMetricData pages one read follows; 30
// minutes of a few series fit in one.
const maxMetricPages = 5

// GetMetricDataAPI is the part of the CloudWatch client Metrics uses;
// *cloudwatch.Client satisfies it.
type GetMetricDataAPI interface {
	GetMetricData(ctx context.Context, params *awscloudwatch.GetMetricDataInput, optFns ...func(*awscloudwatch.Options)) (*awscloudwatch.GetMetricDataOutput, error)
}

// Metrics reads the figures triage reports from CloudWatch metrics with
// GetMetricData.
type Metrics struct {
	api   GetMetricDataAPI
	clock incident.Clock
}

// NewMetrics returns Metrics that call api; the window ends at clock's
// now.
func NewMetrics(api GetMetricDataAPI, clock incident.Clock) *Metrics {
	return &Metrics{api: api, clock: clock}
}

// Series is one metric statistic over a window, oldest point first.
type Series struct {
	Namespace  string            `json:"namespace"`
	MetricName string            `json:"metricName"`
	Dimensions map[string]string `json:"dimensions"`
	Stat       string            `json:"stat"`
	Period     time.Duration     `json:"period"`
	Start      time.Time         `json:"start"`
	End        time.Time         `json:"end"`
	Points     []Point           `json:"points"`
	// Complete is false when CloudWatch said it had more than it gave.
	Complete bool `json:"complete"`
	// Source says where the figures came from.
	Source string `json:"source"`
}

// Point is one value of a series.
type Point struct {
	Time  time.Time `json:"time"`
	Value float64   `json:"value"`
}

// Latest returns the newest point, false when the series is empty.
func (s *Series) Latest() (Point, bool) {
	if len(s.Points) == 0 {
		return Point{}, false
	}
	return s.Points[len(s.Points)-1], true
}

// Max returns the highest point, false when the series is empty.
func (s *Series) Max() (Point, bool) {
	if len(s.Points) == 0 {
		return Point{}, false
	}
	m := s.Points[0]
	for _, p := range s.Points[1:] {
		if p.Value > m.Value {
			m = p
		}
	}
	return m, true
}

// ServiceUtilization is an ECS service's CPU and memory.
type ServiceUtilization struct {
	CPU    Series `json:"cpu"`
	Memory Series `json:"memory"`
}

// ServiceUtilization reads the average CPUUtilization and
// MemoryUtilization of an ECS service over the last TriageWindow, per
// period (one or five minutes), in one call.
func (m *Metrics) ServiceUtilization(ctx context.Context, cluster, service string, period time.Duration) (*ServiceUtilization, error) {
	dims := map[string]string{"ClusterName": cluster, "ServiceName": service}
	got, err := m.read(ctx, period, "ECS service "+cluster+"/"+service, []query{
		{id: "cpu", namespace: "AWS/ECS", name: "CPUUtilization", stat: "Average", dims: dims},
		{id: "memory", namespace: "AWS/ECS", name: "MemoryUtilization", stat: "Average", dims: dims},
	})
	if err != nil {
		return nil, err
	}
	return &ServiceUtilization{CPU: got[0], Memory: got[1]}, nil
}

// DatabaseConnections reads the maximum DatabaseConnections of an RDS DB
// instance over the last TriageWindow, per period (one or five minutes):
// the maximum, because a connection pool runs out at its peak.
func (m *Metrics) DatabaseConnections(ctx context.Context, dbInstance string, period time.Duration) (*Series, error) {
	got, err := m.read(ctx, period, "DB instance "+dbInstance, []query{
		{id: "connections", namespace: "AWS/RDS", name: "DatabaseConnections", stat: "Maximum", dims: map[string]string{"DBInstanceIdentifier": dbInstance}},
	})
	if err != nil {
		return nil, err
	}
	return &got[0], nil
}

// query is one series to read.
type query struct {
	id, namespace, name, stat string
	dims                      map[string]string
}

// read gets the series of qs over the triage window ending now, following
// NextToken for a bounded number of pages.
func (m *Metrics) read(ctx context.Context, period time.Duration, target string, qs []query) ([]Series, error) {
	if period != time.Minute && period != 5*time.Minute {
		return nil, incident.FieldErrorf("period", "the metric period must be 1 or 5 minutes, not %s", period)
	}
	end := m.clock.Now().UTC()
	start := end.Add(-TriageWindow).Truncate(period)
	series := make([]Series, len(qs))
	index := map[string]int{}
	in := &awscloudwatch.GetMetricDataInput{StartTime: &start, EndTime: &end, ScanBy: types.ScanByTimestampAscending}
	for i, q := range qs {
		index[q.id] = i
		series[i] = newSeries(q, period, start, end)
		in.MetricDataQueries = append(in.MetricDataQueries, dataQuery(q, period))
	}
	for page := 0; page < maxMetricPages; page++ {
		out, err := m.api.GetMetricData(ctx, in)
		if err != nil {
			return nil, awserr.Classify("CloudWatch", "GetMetricData", target, err)
		}
		for _, r := range out.MetricDataResults {
			i, ok := index[aws.ToString(r.Id)]
			if !ok {
				continue
			}
			series[i].Complete = r.StatusCode == types.StatusCodeComplete
			for j := range min(len(r.Timestamps), len(r.Values)) {
				series[i].Points = append(series[i].Points, Point{Time: r.Timestamps[j].UTC(), Value: r.Values[j]})
			}
		}
		if out.NextToken == nil {
			break
		}
		in.NextToken = out.NextToken
	}
	for i := range series {
		sort.SliceStable(series[i].Points, func(a, b int) bool { return series[i].Points[a].Time.Before(series[i].Points[b].Time) })
	}
	return series, nil
}

func newSeries(q query, period time.Duration, start, end time.Time) Series {
	return Series{
		Namespace: q.namespace, MetricName: q.name, Dimensions: q.dims, Stat: q.stat,
		Period: period, Start: start, End: end, Points: []Point{},
		Source: fmt.Sprintf("CloudWatch GetMetricData %s %s %s per %s, %s to %s", q.namespace, q.name, q.stat, period,
			start.Format("15:04"), end.Format("15:04 MST")),
	}
}

func dataQuery(q query, period time.Duration) types.MetricDataQuery {
	names := make([]string, 0, len(q.dims))
	for k := range q.dims {
		names = append(names, k)
	}
	sort.Strings(names)
	dims := make([]types.Dimension, 0, len(names))
	for _, k := range names {
		dims = append(dims, types.Dimension{Name: aws.String(k), Value: aws.String(q.dims[k])})
	}
	return types.MetricDataQuery{
		Id: aws.String(q.id),
		MetricStat: &types.MetricStat{
			Metric: &types.Metric{Namespace: aws.String(q.namespace), MetricName: aws.String(q.name), Dimensions: dims},
			Period: aws.Int32(int32(period / time.Second)),
			Stat:   aws.String(q.stat),
		},
		ReturnData: aws.Bool(true),
	}
}
