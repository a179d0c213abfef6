package triage

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/logs"
	"github.com/dashboarduz/incident-response/shared/triage/evidence"
)

// bodyExcerpt is how much of an answer the report quotes.
const bodyExcerpt = 300

// excerpt is the start of a body as the report quotes it: redacted,
// bounded, on one line.
func excerpt(b []byte) string {
	s := strings.Join(strings.Fields(string(b)), " ")
	if len(s) > bodyExcerpt {
		end := bodyExcerpt
		for end > 0 && !utf8.RuneStart(s[end]) {
			end--
		}
		s = s[:end] + " [...]"
	}
	return logs.Redact(s)
}

// health reports the runbook's `curl /health`: the status, the time it
// took and the start of the answer. Healthy is a 2xx answer whose status
// field, when it has one, says ok, healthy or up.
func (p *part) health(ctx context.Context) incident.TriagePart {
	source := "GET " + p.svc.HealthURL
	a, err := evidence.Get(ctx, p.cl.HTTP, p.svc.HealthURL)
	if err != nil {
		return failed(source, err)
	}
	healthy := a.Status >= 200 && a.Status < 300
	var body struct {
		Status string `json:"status"`
	}
	if json.Unmarshal(a.Body, &body) == nil && body.Status != "" {
		healthy = healthy && slices.Contains([]string{"ok", "healthy", "up", "pass"}, strings.ToLower(body.Status))
	}
	word := "unhealthy"
	if healthy {
		word = "healthy"
	}
	return incident.TriagePart{
		Source:  source,
		Summary: fmt.Sprintf("%s: HTTP %d in %s: %s", word, a.Status, a.Elapsed.Round(time.Millisecond), excerpt(a.Body)),
		Facts:   map[string]string{incident.FactHealthy: strconv.FormatBool(healthy), incident.FactStatusCode: strconv.Itoa(a.Status)},
	}
}

// queues reports the runbook's `curl /health/queues`: the jobs waiting
// in all queues (the fact remediation reads), and each queue's figures.
func (p *part) queues(ctx context.Context) incident.TriagePart {
	source := "GET " + p.svc.QueuesURL
	a, err := evidence.Get(ctx, p.cl.HTTP, p.svc.QueuesURL)
	if err != nil {
		return failed(source, err)
	}
	qs, err := evidence.Figures(a)
	if err != nil {
		return failed(source, err)
	}
	names := make([]string, 0, len(qs))
	waiting, failedJobs := 0, 0
	for n, q := range qs {
		names = append(names, n)
		waiting += q.Waiting
		failedJobs += q.Failed
	}
	slices.SortFunc(names, func(a, b string) int { return qs[b].Waiting - qs[a].Waiting })
	tp := incident.TriagePart{Source: source, Facts: map[string]string{incident.FactQueueWaiting: strconv.Itoa(waiting)}}
	var top []string
	for _, n := range names {
		q := qs[n]
		tp.Lines = append(tp.Lines, fmt.Sprintf("%s: %d waiting, %d active, %d failed, %d delayed", n, q.Waiting, q.Active, q.Failed, q.Delayed))
		if len(top) < 3 {
			top = append(top, fmt.Sprintf("%s %d", n, q.Waiting))
		}
	}
	tp.Summary = fmt.Sprintf("%d jobs waiting in %d queue(s) (%s), %d failed (HTTP %d)", waiting, len(qs), strings.Join(top, ", "), failedJobs, a.Status)
	return tp
}
