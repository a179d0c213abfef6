package awslocal_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/dashboarduz/incident-response/shared/local/awslocal"
)

func metricQuery(id, namespace, name, stat string, period int32, dims ...string) types.MetricDataQuery {
	var ds []types.Dimension
	for i := 0; i+1 < len(dims); i += 2 {
		ds = append(ds, types.Dimension{Name: aws.String(dims[i]), Value: aws.String(dims[i+1])})
	}
	return types.MetricDataQuery{Id: aws.String(id), MetricStat: &types.MetricStat{
		Metric: &types.Metric{Namespace: aws.String(namespace), MetricName: aws.String(name), Dimensions: ds},
		Period: aws.Int32(period), Stat: aws.String(stat),
	}}
}

func TestCloudWatchGetMetricData(t *testing.T) {
	w := testWorld()
	w.Metrics = []awslocal.Metric{{
		Namespace: "Dashboarduz", Name: "QueueWaiting", Dimensions: map[string]string{"Queue": "emails"},
		Datapoints: []awslocal.Datapoint{
			{Time: t0.Add(-9 * time.Minute), Value: 100}, {Time: t0.Add(-8 * time.Minute), Value: 300},
			{Time: t0.Add(-4 * time.Minute), Value: 1200}, {Time: t0.Add(-2 * time.Hour), Value: 5},
		},
	}}
	srv := start(t, w)
	client := cloudwatch.NewFromConfig(srv.AWSConfig())
	out, err := client.GetMetricData(context.Background(), &cloudwatch.GetMetricDataInput{
		StartTime: aws.Time(t0.Add(-30 * time.Minute)), EndTime: aws.Time(t0),
		MetricDataQueries: []types.MetricDataQuery{
			metricQuery("cpu", "AWS/ECS", "CPUUtilization", "Average", 300, "ClusterName", "dashboarduz", "ServiceName", "dashboarduz-api"),
			metricQuery("mem", "AWS/ECS", "MemoryUtilization", "Average", 60, "ClusterName", "dashboarduz", "ServiceName", "dashboarduz-api"),
			metricQuery("conns", "AWS/RDS", "DatabaseConnections", "Maximum", 300, "DBInstanceIdentifier", "dashboarduz-db"),
			metricQuery("queue", "Dashboarduz", "QueueWaiting", "Maximum", 300, "Queue", "emails"),
			metricQuery("none", "AWS/ECS", "CPUUtilization", "Average", 300, "ClusterName", "dashboarduz", "ServiceName", "nope"),
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		id     string
		n      int
		newest float64
	}{
		{"cpu", 6, 91.5}, {"mem", 30, 62}, {"conns", 6, 480}, {"queue", 2, 1200}, {"none", 0, 0},
	}
	for i, tt := range tests {
		r := out.MetricDataResults[i]
		if aws.ToString(r.Id) != tt.id || len(r.Values) != tt.n || len(r.Timestamps) != tt.n || r.StatusCode != types.StatusCodeComplete {
			t.Errorf("%s: got id %s with %d values, %d timestamps, status %s; want %d", tt.id, aws.ToString(r.Id), len(r.Values), len(r.Timestamps), r.StatusCode, tt.n)
			continue
		}
		if tt.n > 0 && r.Values[0] != tt.newest {
			t.Errorf("%s: newest value %v, want %v", tt.id, r.Values[0], tt.newest)
		}
	}
	queue := out.MetricDataResults[3]
	if !queue.Timestamps[0].Equal(t0.Add(-5*time.Minute)) || queue.Values[1] != 300 {
		t.Errorf("queue buckets = %v %v, want the -5m bucket first and the -10m bucket's maximum 300", queue.Timestamps, queue.Values)
	}
	c := lastCall(t, srv)
	if c.Service != "cloudwatch" || c.Operation != "GetMetricData" {
		t.Errorf("call = %s %s", c.Service, c.Operation)
	}
}

func TestCloudWatchRefusesMetricMath(t *testing.T) {
	srv := start(t)
	_, err := cloudwatch.NewFromConfig(srv.AWSConfig()).GetMetricData(context.Background(), &cloudwatch.GetMetricDataInput{
		StartTime: aws.Time(t0.Add(-time.Hour)), EndTime: aws.Time(t0),
		MetricDataQueries: []types.MetricDataQuery{{Id: aws.String("e1"), Expression: aws.String("SUM(METRICS())")}},
	})
	if got := errorCode(err); got != "InvalidParameterValue" {
		t.Errorf("error code = %q (%v), want InvalidParameterValue", got, err)
	}
}
