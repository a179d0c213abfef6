package evidence

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/dashboarduz/incident-response/shared/incident"
)

// Doer sends HTTP requests; *http.Client implements it.
type Doer interface {
	Do(*http.Request) (*http.Response, error)
}

// Answer is one answer of an application endpoint, bounded.
type Answer struct {
	Status      int
	ContentType string
	Body        []byte
	Elapsed     time.Duration
}

// MaxBody is how much of an endpoint's answer is read.
const MaxBody = 64 << 10

// userAgent names triage to the endpoints it calls.
const userAgent = "dashboarduz-incident-response-triage/1"

// ErrNoClient is an endpoint read without an HTTP client.
var ErrNoClient = fmt.Errorf("no HTTP client is configured")

// Get calls an endpoint and reads a bounded part of its answer.
func Get(ctx context.Context, client Doer, url string) (*Answer, error) {
	if client == nil {
		return nil, ErrNoClient
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
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxBody))
	if err != nil {
		return nil, fmt.Errorf("reading the answer: %w", err)
	}
	return &Answer{Status: resp.StatusCode, ContentType: resp.Header.Get("Content-Type"), Body: body, Elapsed: time.Since(start)}, nil
}

// start is the first bytes of a body, on one line and without control
// characters, for an error message; the report's excerpts are redacted
// by triage itself.
func start(b []byte) string {
	s := strings.Join(strings.Fields(string(b)), " ")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, s)
	if len(s) > 120 {
		s = strings.ToValidUTF8(s[:120], "") + " [...]"
	}
	return s
}

// Queue is one queue's figures as /health/queues reports them.
type Queue struct {
	Waiting int `json:"waiting"`
	Active  int `json:"active"`
	Failed  int `json:"failed"`
	Delayed int `json:"delayed"`
}

// Figures reads /health/queues: {"queues": {"<name>": {"waiting":
// n, "active": n, "failed": n, "delayed": n}}}. Counts may be numbers
// or numeric strings.
func Figures(a *Answer) (map[string]Queue, error) {
	var doc struct {
		Queues map[string]map[string]json.RawMessage `json:"queues"`
	}
	if err := json.Unmarshal(a.Body, &doc); err != nil {
		return nil, fmt.Errorf("the answer (HTTP %d, %s) is not the queues JSON: %v: %s", a.Status, contentType(a.ContentType), err, start(a.Body))
	}
	if doc.Queues == nil {
		return nil, fmt.Errorf("the answer (HTTP %d) has no queues object: %s", a.Status, start(a.Body))
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
	a, err := Get(ctx, q.HTTP, s.QueuesURL)
	if err != nil {
		return 0, "", fmt.Errorf("GET %s: %w", s.QueuesURL, err)
	}
	qs, err := Figures(a)
	if err != nil {
		return 0, "", fmt.Errorf("GET %s: %w", s.QueuesURL, err)
	}
	n := 0
	for _, x := range qs {
		n += x.Waiting
	}
	return n, "GET " + s.QueuesURL, nil
}

func contentType(ct string) string {
	if ct == "" {
		return "no Content-Type"
	}
	return ct
}
