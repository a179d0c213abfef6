package awslocal

import (
	"maps"
	"regexp"
	"sort"
	"time"
)

type cwDimension struct {
	Name  string `json:"Name"`
	Value string `json:"Value"`
}

type cwQuery struct {
	ID         string `json:"Id"`
	Expression string `json:"Expression"`
	Label      string `json:"Label"`
	MetricStat *struct {
		Metric struct {
			Namespace  string        `json:"Namespace"`
			MetricName string        `json:"MetricName"`
			Dimensions []cwDimension `json:"Dimensions"`
		} `json:"Metric"`
		Period int    `json:"Period"`
		Stat   string `json:"Stat"`
	} `json:"MetricStat"`
}

// cwQueryID is CloudWatch's rule for a query ID.
var cwQueryID = regexp.MustCompile(`^[a-z][a-zA-Z0-9_]*$`)

func cwGetMetricData(r *request) (any, error) {
	var in struct {
		StartTime         float64   `json:"StartTime"`
		EndTime           float64   `json:"EndTime"`
		ScanBy            string    `json:"ScanBy"`
		MetricDataQueries []cwQuery `json:"MetricDataQueries"`
	}
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	start, end := epochSeconds(in.StartTime), epochSeconds(in.EndTime)
	if !start.Before(end) {
		return nil, badRequest("InvalidParameterValue", "The parameter StartTime must be less than the parameter EndTime.")
	}
	if len(in.MetricDataQueries) == 0 || len(in.MetricDataQueries) > 500 {
		return nil, badRequest("InvalidParameterValue", "MetricDataQueries must hold 1 to 500 queries.")
	}
	results := make([]any, 0, len(in.MetricDataQueries))
	for _, q := range in.MetricDataQueries {
		res, err := r.cwResult(q, start, end, in.ScanBy != "TimestampAscending")
		if err != nil {
			return nil, err
		}
		results = append(results, res)
	}
	return map[string]any{"MetricDataResults": results, "Messages": []any{}}, nil
}

// cwResult answers one query from the world's datapoints.
func (r *request) cwResult(q cwQuery, start, end time.Time, descending bool) (map[string]any, error) {
	if !cwQueryID.MatchString(q.ID) {
		return nil, badRequest("ValidationError", "The value %q for parameter MetricDataQueries.member.Id is not valid: it must start with a lowercase letter.", q.ID)
	}
	if q.Expression != "" || q.MetricStat == nil {
		return nil, badRequest("InvalidParameterValue", "query %s: awslocal answers MetricStat queries only; it does not evaluate metric math", q.ID)
	}
	ms := q.MetricStat
	if ms.Period < 1 || ms.Period >= 60 && ms.Period%60 != 0 {
		return nil, badRequest("InvalidParameterValue", "query %s: the period must be 1, 5, 10, 30 or a multiple of 60 seconds", q.ID)
	}
	agg, ok := cwStats[ms.Stat]
	if !ok {
		return nil, badRequest("InvalidParameterValue", "query %s: awslocal does not compute the statistic %q", q.ID, ms.Stat)
	}
	dims := map[string]string{}
	for _, d := range ms.Metric.Dimensions {
		dims[d.Name] = d.Value
	}
	period := time.Duration(ms.Period) * time.Second
	points := r.datapoints(ms.Metric.Namespace, ms.Metric.MetricName, dims, start, end, period)
	buckets := map[time.Time][]float64{}
	for _, p := range points {
		b := p.Time.Truncate(period)
		buckets[b] = append(buckets[b], p.Value)
	}
	times := make([]time.Time, 0, len(buckets))
	for t := range buckets {
		times = append(times, t)
	}
	sort.Slice(times, func(i, j int) bool { return times[i].Before(times[j]) != descending })
	values := make([]float64, len(times))
	for i, t := range times {
		values[i] = agg(buckets[t])
	}
	label := q.Label
	if label == "" {
		label = ms.Metric.MetricName
	}
	return map[string]any{"Id": q.ID, "Label": label, "Timestamps": times, "Values": values, "StatusCode": "Complete"}, nil
}

// datapoints returns a metric's raw values in [start, end): the world's
// datapoints for it, or else one value per period from the utilization or
// connection figure a service or DB instance of the world holds.
func (r *request) datapoints(namespace, name string, dims map[string]string, start, end time.Time, period time.Duration) []Datapoint {
	for _, m := range r.world.Metrics {
		if m.Namespace == namespace && m.Name == name && maps.Equal(m.Dimensions, dims) {
			var out []Datapoint
			for _, p := range m.Datapoints {
				if !p.Time.Before(start) && p.Time.Before(end) {
					out = append(out, p)
				}
			}
			return out
		}
	}
	v := r.figure(namespace, name, dims)
	if v == nil {
		return nil
	}
	var out []Datapoint
	for t := start.Truncate(period); t.Before(end); t = t.Add(period) {
		if !t.Before(start) {
			out = append(out, Datapoint{Time: t, Value: *v})
		}
	}
	return out
}

// figure finds the constant a service or DB instance holds for a metric.
func (r *request) figure(namespace, name string, dims map[string]string) *float64 {
	switch {
	case namespace == "AWS/ECS" && len(dims) == 2:
		for _, c := range r.world.Clusters {
			if c.Name != dims["ClusterName"] {
				continue
			}
			if s := lookupService(&c, dims["ServiceName"]); s != nil && s.Name == dims["ServiceName"] {
				return map[string]*float64{"CPUUtilization": s.CPUUtilization, "MemoryUtilization": s.MemoryUtilization}[name]
			}
		}
	case namespace == "AWS/RDS" && len(dims) == 1:
		for _, db := range r.world.DBInstances {
			if db.Identifier == dims["DBInstanceIdentifier"] {
				return map[string]*float64{"DatabaseConnections": db.Connections, "CPUUtilization": db.CPUUtilization}[name]
			}
		}
	}
	return nil
}

// cwStats are the statistics the stand-in computes.
var cwStats = map[string]func([]float64) float64{
	"Average": func(v []float64) float64 { return sum(v) / float64(len(v)) },
	"Sum":     sum,
	"Minimum": func(v []float64) float64 {
		m := v[0]
		for _, x := range v {
			m = min(m, x)
		}
		return m
	},
	"Maximum": func(v []float64) float64 {
		m := v[0]
		for _, x := range v {
			m = max(m, x)
		}
		return m
	},
	"SampleCount": func(v []float64) float64 { return float64(len(v)) },
}

func sum(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x
	}
	return s
}
