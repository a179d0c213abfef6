// Package bench is the measuring harness behind `make bench`: a local
// PagerDuty Events API that timestamps each page's arrival, the load
// (alarm-to-page latency, a storm of repeated alarms) sent to a target
// (the local stack's POST /events, or Prometheus Alertmanager for a side
// by side comparison), the prices of the AWS services the stack uses, kept
// as data in prices.json, and the cost model computed from what was
// counted.
//
// Everything it starts listens on 127.0.0.1; every loop is bounded.
package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"sync"
	"time"

	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/local/localhttp"
	"github.com/dashboarduz/incident-response/shared/local/pagerdutylocal"
)

// tokenPattern finds the alarm a page is about in its summary: the load
// names every alarm bench-<run>-<n> and puts that name in the text the
// target copies into the page's summary.
var tokenPattern = regexp.MustCompile(`bench-[a-z]+-[0-9]+`)

// Token names alarm n of a run, as tokenPattern finds it in a summary.
func Token(run string, n int) string {
	return fmt.Sprintf("bench-%s-%04d", run, n)
}

// EventsAPI is a PagerDuty Events API v2 on 127.0.0.1 that records when
// each trigger arrived, by the alarm named in its summary. Requests are
// validated and answered by pagerdutylocal's recorder, as PagerDuty would.
type EventsAPI struct {
	// URL is the enqueue endpoint, e.g. http://127.0.0.1:4321/v2/enqueue.
	URL string

	rec *pagerdutylocal.Recorder
	srv *localhttp.Server

	mu      sync.Mutex
	arrived map[string][]time.Time
	first   map[string]chan struct{}
	other   int
}

// StartEventsAPI serves an EventsAPI on addr, which must be a loopback
// address ("127.0.0.1:0" picks a free port).
func StartEventsAPI(addr string) (*EventsAPI, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("events API address %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("events API address %q: loopback only", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	e := &EventsAPI{
		URL:     "http://" + ln.Addr().String() + pagerdutylocal.EnqueuePath,
		rec:     pagerdutylocal.New(incident.SystemClock{}),
		arrived: map[string][]time.Time{},
		first:   map[string]chan struct{}{},
	}
	e.srv = localhttp.Serve(ln, e)
	return e, nil
}

// ServeHTTP stamps a trigger's arrival before anything else, then lets the
// recorder validate and answer it.
func (e *EventsAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	at := time.Now()
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, pagerdutylocal.MaxBody))
	if err != nil {
		http.Error(w, "could not read the event", http.StatusBadRequest)
		return
	}
	var ev struct {
		Action  string `json:"event_action"`
		Payload struct {
			Summary string `json:"summary"`
		} `json:"payload"`
	}
	if json.Unmarshal(body, &ev) == nil {
		e.record(ev.Action, tokenPattern.FindString(ev.Payload.Summary), at)
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	e.rec.ServeHTTP(w, r)
}

func (e *EventsAPI) record(action, token string, at time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if action != "trigger" || token == "" {
		e.other++
		return
	}
	e.arrived[token] = append(e.arrived[token], at)
	if len(e.arrived[token]) == 1 {
		close(e.firstChan(token))
	}
}

// firstChan is closed when token's first page arrives. Callers hold e.mu.
func (e *EventsAPI) firstChan(token string) chan struct{} {
	c, ok := e.first[token]
	if !ok {
		c = make(chan struct{})
		e.first[token] = c
	}
	return c
}

// WaitFirst waits for the first page about token and returns when it
// arrived.
func (e *EventsAPI) WaitFirst(ctx context.Context, token string) (time.Time, error) {
	e.mu.Lock()
	c := e.firstChan(token)
	e.mu.Unlock()
	select {
	case <-c:
	case <-ctx.Done():
		return time.Time{}, fmt.Errorf("no page for %s: %w", token, ctx.Err())
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.arrived[token][0], nil
}

// Pages returns how many triggers about token arrived.
func (e *EventsAPI) Pages(token string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.arrived[token])
}

// Other returns how many events arrived that were not triggers about a
// bench alarm (acknowledgements, resolutions, anything else).
func (e *EventsAPI) Other() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.other
}

// Close stops the server.
func (e *EventsAPI) Close() error {
	return e.srv.Close()
}
