package triage

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/logs"
)

// Bounds of what triage reads from an endpoint.
const (
	// maxEndpointBody is how much of an answer is read.
	maxEndpointBody = 64 << 10
	// bodyExcerpt is how much of an answer the report quotes.
	bodyExcerpt = 300
	// userAgent names triage to the endpoints it calls.
	userAgent = "dashboarduz-incident-response-triage/1"
)

// answer is one endpoint's answer.
type answer struct {
	status      int
	contentType string
	body        []byte
	elapsed     time.Duration
}

// get calls an endpoint and reads a bounded part of its answer.
func get(ctx context.Context, client Doer, url string) (*answer, error) {
	if client == nil {
		return nil, errNoClient
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", userAgent)
	req.Header.Set("Accept", "application/json")
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxEndpointBody))
	if err != nil {
		return nil, fmt.Errorf("reading the answer: %w", err)
	}
	return &answer{status: resp.StatusCode, contentType: resp.Header.Get("Content-Type"), body: body, elapsed: time.Since(start)}, nil
}

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
	a, err := get(ctx, p.cl.HTTP, p.svc.HealthURL)
	if err != nil {
		return failed(source, err)
	}
	healthy := a.status >= 200 && a.status < 300
	var body struct {
		Status string `json:"status"`
	}
	if json.Unmarshal(a.body, &body) == nil && body.Status != "" {
		healthy = healthy && slices.Contains([]string{"ok", "healthy", "up", "pass"}, strings.ToLower(body.Status))
	}
	word := "unhealthy"
	if healthy {
		word = "healthy"
	}
	return incident.TriagePart{
		Source:  source,
		Summary: fmt.Sprintf("%s: HTTP %d in %s: %s", word, a.status, a.elapsed.Round(time.Millisecond), excerpt(a.body)),
		Facts:   map[string]string{incident.FactHealthy: strconv.FormatBool(healthy), incident.FactStatusCode: strconv.Itoa(a.status)},
	}
}

// Queue is one queue's figures as /health/queues reports them.
type Queue struct {
	Waiting int `json:"waiting"`
	Active  int `json:"active"`
	Failed  int `json:"failed"`
	Delayed int `json:"delayed"`
}

// queueFigures reads /health/queues: {"queues": {"<name>": {"waiting":
// n, "active": n, "failed": n, "delayed": n}}}. Counts may be numbers
// or numeric strings.
func queueFigures(a *answer) (map[string]Queue, error) {
	var doc struct {
		Queues map[string]map[string]json.RawMessage `json:"queues"`
	}
	if err := json.Unmarshal(a.body, &doc); err != nil {
		return nil, fmt.Errorf("the answer (HTTP %d, %s) is not the queues JSON: %v: %s", a.status, orDash(a.contentType), err, excerpt(a.body))
	}
	if doc.Queues == nil {
		return nil, fmt.Errorf("the answer (HTTP %d) has no queues object: %s", a.status, excerpt(a.body))
	}
	out := map[string]Queue{}
	for name, q := range doc.Queues {
		out[name] = Queue{Waiting: count(q["waiting"]), Active: count(q["active"]), Failed: count(q["failed"]), Delayed: count(q["delayed"])}
	}
	return out, nil
}

// count reads a count written as a number or a numeric string; anything
// else counts as zero.
func count(raw json.RawMessage) int {
	var n float64
	if json.Unmarshal(raw, &n) == nil {
		return int(n)
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return int(f)
		}
	}
	return 0
}

// queues reports the runbook's `curl /health/queues`: the jobs waiting
// in all queues (the fact remediation reads), and each queue's figures.
func (p *part) queues(ctx context.Context) incident.TriagePart {
	source := "GET " + p.svc.QueuesURL
	a, err := get(ctx, p.cl.HTTP, p.svc.QueuesURL)
	if err != nil {
		return failed(source, err)
	}
	qs, err := queueFigures(a)
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
	tp.Summary = fmt.Sprintf("%d jobs waiting in %d queue(s) (%s), %d failed (HTTP %d)", waiting, len(qs), strings.Join(top, ", "), failedJobs, a.status)
	return tp
}

// QueueReader reads how many jobs wait in the queues of a service's
// /health/queues, for remediation's scale-down after a queue backlog.
type QueueReader struct {
	Config Config
	HTTP   Doer
}

// Waiting returns the jobs waiting in all queues of the service's
// /health/queues, and where the figure came from.
func (q QueueReader) Waiting(ctx context.Context, service string) (int, string, error) {
	s, ok := q.Config.Services[service]
	if !ok || s.QueuesURL == "" {
		return 0, "", incident.Errorf(incident.ENotFound, "triage sources have no queues URL for %s", service)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	a, err := get(ctx, q.HTTP, s.QueuesURL)
	if err != nil {
		return 0, "", fmt.Errorf("GET %s: %w", s.QueuesURL, err)
	}
	qs, err := queueFigures(a)
	if err != nil {
		return 0, "", fmt.Errorf("GET %s: %w", s.QueuesURL, err)
	}
	n := 0
	for _, x := range qs {
		n += x.Waiting
	}
	return n, "GET " + s.QueuesURL, nil
}
