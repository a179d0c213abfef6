package health

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/dashboarduz/incident-response/shared/incident"
)

// memStore is a StateStore in memory with the version condition of the
// real one. conflicts makes that many puts lose to "another writer", and
// failGet makes reads of a check fail.
type memStore struct {
	mu        sync.Mutex
	states    map[string]State
	conflicts int
	failGet   string
	puts      int
}

func (m *memStore) HealthState(_ context.Context, check string) (State, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if check == m.failGet {
		return State{}, errors.New("throttled")
	}
	s, ok := m.states[check]
	if !ok {
		return State{}, incident.Errorf(incident.ENotFound, "no state for %s", check)
	}
	return s, nil
}

func (m *memStore) PutHealthState(_ context.Context, s State) (State, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.states == nil {
		m.states = map[string]State{}
	}
	if m.conflicts > 0 {
		m.conflicts--
		cur := m.states[s.Check]
		cur.Check, cur.Version = s.Check, cur.Version+1
		m.states[s.Check] = cur
		return State{}, incident.Errorf(incident.EConflict, "version moved on")
	}
	if m.states[s.Check].Version != s.Version {
		return State{}, incident.Errorf(incident.EConflict, "version moved on")
	}
	m.puts++
	s.Version++
	m.states[s.Check] = s
	return s, nil
}

// recorder is an Ingester that records the signals it accepts; failures
// makes that many calls fail first.
type recorder struct {
	mu       sync.Mutex
	signals  []incident.Signal
	failures int
}

func (r *recorder) Ingest(_ context.Context, sig incident.Signal) (incident.Outcome, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.failures > 0 {
		r.failures--
		return incident.Outcome{}, errors.New("DynamoDB throttled the write")
	}
	r.signals = append(r.signals, sig)
	return incident.Outcome{Route: incident.RouteOpen, IncidentID: "inc-1", Reason: "test"}, nil
}

// endpoint is a /health that answers with the status it is set to.
type endpoint struct {
	srv    *httptest.Server
	status atomic.Int32
}

func newEndpoint(t *testing.T) *endpoint {
	e := &endpoint{}
	e.status.Store(http.StatusServiceUnavailable)
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(int(e.status.Load()))
		w.Write([]byte(`{"status":"ok"}`))
	}))
	t.Cleanup(e.srv.Close)
	return e
}

// minuteClock reads t0 plus one minute per run.
type minuteClock struct{ n atomic.Int64 }

func (c *minuteClock) Now() time.Time { return t0.Add(time.Duration(c.n.Load()) * time.Minute) }
func (c *minuteClock) tick()          { c.n.Add(1) }

func newHandler(t *testing.T, e *endpoint, store *memStore, ing *recorder, clock incident.Clock) *Handler {
	t.Helper()
	cfg := Config{Flapping: flap, Checks: []Check{testCheck(t, "dashboarduz-api-health", e.srv.URL+"/health", time.Second, "[STATUS] == 200", "[BODY].status == ok")}}
	return &Handler{Config: cfg, Checker: &Checker{Client: &http.Client{}, Clock: clock}, Store: store, Ingester: ing}
}

func TestHandlerFiresAndRecovers(t *testing.T) {
	e := newEndpoint(t)
	store, ing, clock := &memStore{}, &recorder{}, &minuteClock{}
	h := newHandler(t, e, store, ing, clock)
	for i := range 4 {
		if i == 3 {
			e.status.Store(http.StatusOK)
		}
		rep, err := h.Handle(context.Background())
		if err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
		cr := rep.Checks[0]
		switch i {
		case 0, 1:
			if len(cr.Signals) != 0 || cr.OK || cr.Firing || cr.Reasons[0] != "[STATUS] is 503, want == 200" {
				t.Errorf("run %d: %+v", i, cr)
			}
		case 2:
			if len(cr.Signals) != 1 || cr.Signals[0].State != incident.Firing || cr.Signals[0].Route != incident.RouteOpen || !cr.Firing {
				t.Errorf("run %d: %+v", i, cr)
			}
		case 3:
			if len(cr.Signals) != 1 || cr.Signals[0].State != incident.Recovered || cr.Firing || !cr.OK {
				t.Errorf("run %d: %+v", i, cr)
			}
		}
		clock.tick()
	}
	if len(ing.signals) != 2 || ing.signals[0].State != incident.Firing || ing.signals[1].State != incident.Recovered {
		t.Fatalf("ingested %+v", ing.signals)
	}
	if s := store.states["dashboarduz-api-health"]; s.Pending != nil || s.Firing || len(s.LastResults) != 4 || s.Version != 6 {
		t.Errorf("kept state %+v", s)
	}
}

// When ingest fails, the signal is kept as pending and the next run
// delivers it first, under the same EventID.
func TestHandlerDeliversAPendingSignalNextRun(t *testing.T) {
	e := newEndpoint(t)
	store, ing, clock := &memStore{}, &recorder{failures: 1}, &minuteClock{}
	h := newHandler(t, e, store, ing, clock)
	for range 2 {
		if _, err := h.Handle(context.Background()); err != nil {
			t.Fatal(err)
		}
		clock.tick()
	}
	rep, err := h.Handle(context.Background())
	if err == nil || !strings.Contains(err.Error(), "DynamoDB throttled the write") || !strings.Contains(rep.Checks[0].Problem, "ingest health-check:dashboarduz-api-health/firing@2026-03-01T03:02:00Z") {
		t.Fatalf("run 3: %v, %+v", err, rep)
	}
	pending := store.states["dashboarduz-api-health"].Pending
	if pending == nil || pending.State != incident.Firing {
		t.Fatalf("no pending signal: %+v", store.states["dashboarduz-api-health"])
	}
	clock.tick()
	rep, err = h.Handle(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(ing.signals) != 1 || ing.signals[0].EventID != pending.EventID || len(rep.Checks[0].Signals) != 1 {
		t.Errorf("ingested %+v, report %+v", ing.signals, rep.Checks[0])
	}
	if store.states["dashboarduz-api-health"].Pending != nil {
		t.Errorf("the pending signal is still pending")
	}
}

// Another run writing the state first makes the handler read it again;
// the signal is still delivered once.
func TestHandlerRetriesAfterAConflict(t *testing.T) {
	e := newEndpoint(t)
	store, ing, clock := &memStore{}, &recorder{}, &minuteClock{}
	h := newHandler(t, e, store, ing, clock)
	h.Config.Checks[0].FailureThreshold = 1
	store.conflicts = 2
	rep, err := h.Handle(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(ing.signals) != 1 || len(rep.Checks[0].Signals) != 1 {
		t.Errorf("ingested %d signals: %+v", len(ing.signals), rep)
	}
	store.conflicts = maxRaces
	clock.tick()
	if _, err := h.Handle(context.Background()); err == nil || !strings.Contains(err.Error(), "still contended") {
		t.Errorf("endless conflicts: %v", err)
	}
}

// A check whose state cannot be read is reported; the others are kept.
func TestHandlerKeepsTheOtherChecks(t *testing.T) {
	e := newEndpoint(t)
	store, ing, clock := &memStore{failGet: "broken"}, &recorder{}, &minuteClock{}
	h := newHandler(t, e, store, ing, clock)
	h.Config.Checks = append(h.Config.Checks, testCheck(t, "broken", e.srv.URL+"/health", time.Second, "[STATUS] == 200"))
	rep, err := h.Handle(context.Background())
	if err == nil || !strings.Contains(err.Error(), "health check broken: throttled") {
		t.Fatalf("error %v", err)
	}
	if rep.Checks[1].Problem != "throttled" || rep.Checks[0].Problem != "" || store.states["dashboarduz-api-health"].Version != 1 {
		t.Errorf("report %+v, states %+v", rep, store.states)
	}
}

// The schedule may send any payload or none; the function ignores it.
func TestHandleTakesAnyPayload(t *testing.T) {
	e := newEndpoint(t)
	e.status.Store(http.StatusOK)
	h := newHandler(t, e, &memStore{}, &recorder{}, &minuteClock{})
	for _, payload := range []string{`{}`, ``, `{"source":"aws.scheduler"}`} {
		out, err := lambda.NewHandler(h.Handle).Invoke(context.Background(), []byte(payload))
		if err != nil || !strings.Contains(string(out), `"check":"dashboarduz-api-health","ok":true`) {
			t.Errorf("payload %q: %s, %v", payload, out, err)
		}
	}
}
