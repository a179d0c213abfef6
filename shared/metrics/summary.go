package metrics

import (
	"math"
	"slices"
	"strings"
	"time"

	"github.com/dashboarduz/incident-response/shared/incident"
)

// Summary is the response summary of the incidents opened in [From, To):
// the JSON of GET /metrics/summary?from=&to=. For example:
//
//	{
//	  "from": "2026-02-01T00:00:00Z", "to": "2026-03-01T00:00:00Z",
//	  "overall": {
//	    "count": 12, "acknowledged": 11, "resolved": 10,
//	    "timeToAcknowledge": {"count": 11, "meanSeconds": 412.5, "p50Seconds": 300, "p90Seconds": 900},
//	    "timeToResolve": {"count": 10, "meanSeconds": 5400, "p50Seconds": 3600, "p90Seconds": 14400},
//	    "responseTarget": {"met": 9, "missed": 2, "pending": 1, "rate": 0.8181818181818182},
//	    "resolutionTarget": {"met": 9, "missed": 1, "pending": 2, "rate": 0.9},
//	    "allTargets": {"met": 8, "missed": 3, "pending": 1, "rate": 0.7272727272727273}
//	  },
//	  "bySeverity": [
//	    {"severity": "P0", "responseTargetSeconds": 300, "resolutionTargetSeconds": 3600, "count": 2, ...},
//	    {"severity": "P1", ...}, {"severity": "P2", ...}, {"severity": "P3", ...}
//	  ]
//	}
//
// Every severity is listed, with a count of zero when it had no incident.
// A statistic with no data point (a mean of nothing, a rate of nothing
// decided) is null, never zero.
type Summary struct {
	From       time.Time       `json:"from"`
	To         time.Time       `json:"to"`
	Overall    Stats           `json:"overall"`
	BySeverity []SeverityStats `json:"bySeverity"`
}

// SeverityStats are the Stats of one severity with its policy targets.
type SeverityStats struct {
	Severity incident.Severity `json:"severity"`
	// ResponseTargetSeconds and ResolutionTargetSeconds are the policy's
	// acknowledgeWithin and resolveWithin.
	ResponseTargetSeconds   float64 `json:"responseTargetSeconds"`
	ResolutionTargetSeconds float64 `json:"resolutionTargetSeconds"`
	Stats
}

// Stats summarize a set of incidents.
type Stats struct {
	Count        int `json:"count"`
	Acknowledged int `json:"acknowledged"`
	Resolved     int `json:"resolved"`
	// TimeToAcknowledge is the MTTA and its percentiles: from the start of
	// the incident's latest episode to its acknowledgement.
	TimeToAcknowledge Distribution `json:"timeToAcknowledge"`
	// TimeToResolve is the MTTR and its percentiles: from the start of the
	// latest episode to the resolution.
	TimeToResolve Distribution `json:"timeToResolve"`
	// ResponseTarget: acknowledged (or resolved) within the policy's
	// acknowledgeWithin.
	ResponseTarget Attainment `json:"responseTarget"`
	// ResolutionTarget: resolved within the policy's resolveWithin.
	ResolutionTarget Attainment `json:"resolutionTarget"`
	// AllTargets: both met; missed when either was.
	AllTargets Attainment `json:"allTargets"`
}

// Distribution is the mean, median and 90th percentile of durations, in
// seconds; percentiles are nearest-rank, so each is a value that occurred.
type Distribution struct {
	Count       int      `json:"count"`
	MeanSeconds *float64 `json:"meanSeconds"`
	P50Seconds  *float64 `json:"p50Seconds"`
	P90Seconds  *float64 `json:"p90Seconds"`
}

// Attainment counts the incidents that met a target, missed it, or for
// which it is still pending (open, with the deadline ahead). Rate is
// Met / (Met + Missed).
type Attainment struct {
	Met     int      `json:"met"`
	Missed  int      `json:"missed"`
	Pending int      `json:"pending"`
	Rate    *float64 `json:"rate"`
}

// outcome of one target for one incident.
type outcome int

const (
	pending outcome = iota
	met
	missed
)

// Summarize computes the summary of the incidents opened (first opened,
// for a re-opened incident) in [from, to), as of now, against the
// policy's targets for each incident's current severity. Incidents
// outside the range are ignored, so the caller may pass a superset.
func Summarize(incidents []incident.Incident, p incident.Policy, from, to, now time.Time) Summary {
	from, to = from.UTC(), to.UTC()
	sum := Summary{From: from, To: to}
	overall := &acc{}
	bySev := map[incident.Severity]*acc{}
	for _, s := range incident.Severities {
		bySev[s] = &acc{}
	}
	for _, inc := range incidents {
		if inc.OpenedAt.Before(from) || !inc.OpenedAt.Before(to) {
			continue
		}
		overall.add(inc, p, now)
		if a, ok := bySev[inc.Severity]; ok {
			a.add(inc, p, now)
		}
	}
	sum.Overall = overall.stats()
	for _, s := range incident.Severities {
		sp := p.For(s)
		sum.BySeverity = append(sum.BySeverity, SeverityStats{
			Severity:                s,
			ResponseTargetSeconds:   sp.AcknowledgeWithin.D().Seconds(),
			ResolutionTargetSeconds: sp.ResolveWithin.D().Seconds(),
			Stats:                   bySev[s].stats(),
		})
	}
	return sum
}

// acc accumulates Stats.
type acc struct {
	count, acked, resolved int
	tta, ttr               []time.Duration
	response, resolution   Attainment
	all                    Attainment
}

func (a *acc) add(inc incident.Incident, p incident.Policy, now time.Time) {
	sp := p.For(inc.Severity)
	start := inc.Started()
	a.count++
	if !inc.AcknowledgedAt.IsZero() {
		a.acked++
		a.tta = append(a.tta, inc.AcknowledgedAt.Sub(start))
	}
	if !inc.ResolvedAt.IsZero() {
		a.resolved++
		a.ttr = append(a.ttr, inc.ResolvedAt.Sub(start))
	}
	// A resolution is a response too, as the escalation counts it.
	respondedAt := inc.AcknowledgedAt
	if respondedAt.IsZero() {
		respondedAt = inc.ResolvedAt
	}
	resp := judge(inc, incident.TargetResponse, start.Add(sp.AcknowledgeWithin.D()), respondedAt, now)
	res := judge(inc, incident.TargetResolution, start.Add(sp.ResolveWithin.D()), inc.ResolvedAt, now)
	count(&a.response, resp)
	count(&a.resolution, res)
	switch {
	case resp == missed || res == missed:
		count(&a.all, missed)
	case resp == met && res == met:
		count(&a.all, met)
	default:
		count(&a.all, pending)
	}
}

// judge decides one target: missed when a breach of it was recorded in
// any episode or when it was done after the deadline or not done by a
// deadline now past; met when done in time; else pending.
func judge(inc incident.Incident, target string, deadline, doneAt, now time.Time) outcome {
	for _, b := range inc.Breaches {
		if b.Target == target {
			return missed
		}
	}
	switch {
	case !doneAt.IsZero() && !doneAt.After(deadline):
		return met
	case !doneAt.IsZero() || !now.Before(deadline):
		return missed
	}
	return pending
}

func count(a *Attainment, o outcome) {
	switch o {
	case met:
		a.Met++
	case missed:
		a.Missed++
	default:
		a.Pending++
	}
}

func (a *acc) stats() Stats {
	return Stats{
		Count: a.count, Acknowledged: a.acked, Resolved: a.resolved,
		TimeToAcknowledge: distribution(a.tta),
		TimeToResolve:     distribution(a.ttr),
		ResponseTarget:    withRate(a.response),
		ResolutionTarget:  withRate(a.resolution),
		AllTargets:        withRate(a.all),
	}
}

func withRate(a Attainment) Attainment {
	if n := a.Met + a.Missed; n > 0 {
		r := float64(a.Met) / float64(n)
		a.Rate = &r
	}
	return a
}

func distribution(ds []time.Duration) Distribution {
	d := Distribution{Count: len(ds)}
	if len(ds) == 0 {
		return d
	}
	sorted := slices.Clone(ds)
	slices.Sort(sorted)
	var total time.Duration
	for _, x := range sorted {
		total += x
	}
	mean := (total / time.Duration(len(sorted))).Seconds()
	p50, p90 := Percentile(sorted, 50).Seconds(), Percentile(sorted, 90).Seconds()
	d.MeanSeconds, d.P50Seconds, d.P90Seconds = &mean, &p50, &p90
	return d
}

// Percentile returns the nearest-rank p-th percentile of sorted, which
// must be in ascending order and not empty: the smallest value with at
// least p percent of the values at or below it.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

// Summary ranges.
const (
	// DefaultSummarySpan is the range when from is not given: 30 days
	// before to.
	DefaultSummarySpan = 30 * 24 * time.Hour
	// MaxSummarySpan bounds a range, and so the incidents one request
	// reads.
	MaxSummarySpan = 366 * 24 * time.Hour
)

// ParseSummaryRange reads the from and to query parameters: RFC 3339
// times or dates (YYYY-MM-DD, midnight UTC). to defaults to now and from
// to DefaultSummarySpan before to; from must be before to, and the range
// at most MaxSummarySpan.
func ParseSummaryRange(fromParam, toParam string, now time.Time) (from, to time.Time, err error) {
	to = now.UTC()
	if strings.TrimSpace(toParam) != "" {
		if to, err = parseTime("to", toParam); err != nil {
			return time.Time{}, time.Time{}, err
		}
	}
	from = to.Add(-DefaultSummarySpan)
	if strings.TrimSpace(fromParam) != "" {
		if from, err = parseTime("from", fromParam); err != nil {
			return time.Time{}, time.Time{}, err
		}
	}
	switch {
	case !from.Before(to):
		return time.Time{}, time.Time{}, incident.FieldErrorf("from", "from (%s) must be before to (%s)", from.Format(time.RFC3339), to.Format(time.RFC3339))
	case to.Sub(from) > MaxSummarySpan:
		return time.Time{}, time.Time{}, incident.FieldErrorf("from", "the range from %s to %s is longer than %d days", from.Format(time.RFC3339), to.Format(time.RFC3339), int(MaxSummarySpan.Hours()/24))
	}
	return from, to, nil
}

func parseTime(field, s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Time{}, incident.FieldErrorf(field, "%s %q is neither an RFC 3339 time nor a date (YYYY-MM-DD)", field, s)
}
