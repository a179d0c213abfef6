package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dashboarduz/incident-response/shared/health"
	"github.com/dashboarduz/incident-response/shared/incident"
)

// badGateway is what a load balancer answers when the API behind it is
// down: an HTML page.
const badGateway = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n"

// endpoint serves /health: the 502 page while down, else {"status":"ok"}.
func healthEndpoint(t *testing.T, down *atomic.Bool) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusBadGateway)
			w.Write([]byte(badGateway))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"status":"ok"}`))
	}))
	t.Cleanup(srv.Close)
	return srv
}

// apiHealthCheck is the runbook's /health check of the API, pointed at
// url.
func apiHealthCheck(t *testing.T, url string) health.Config {
	t.Helper()
	cfg := health.DefaultConfig()
	cfg.Checks = cfg.Checks[:1]
	cfg.Checks[0].URL = url + "/health"
	return cfg
}

// TestHealthChecksThroughTheLocalStack runs the health-check function's
// handler against an endpoint a minute apart on the stack's clock: the
// API answers a 502 HTML page, which fails with reasons that say so;
// the third failure in a row opens a P0 service-down incident and on-call
// is paged; a pass is noted as the recovery, and the incident stays open.
func TestHealthChecksThroughTheLocalStack(t *testing.T) {
	ctx := context.Background()
	s := newStack(t)
	var down atomic.Bool
	down.Store(true)
	srv := healthEndpoint(t, &down)
	h := s.HealthHandler(apiHealthCheck(t, srv.URL), srv.Client())
	start := s.Clock.Now()
	minute := func(n int) { s.Virtual.Set(start.Add(time.Duration(n) * time.Minute)) }

	var opened string
	for run := range 3 {
		minute(run)
		rep, err := h.Handle(ctx)
		if err != nil {
			t.Fatalf("run %d: %v", run, err)
		}
		cr := rep.Checks[0]
		reasons := strings.Join(cr.Reasons, "; ")
		if cr.OK || !strings.Contains(reasons, "502") || !strings.Contains(reasons, "not JSON") {
			t.Errorf("run %d: ok %v, reasons %q; want a failure naming the 502 and the HTML body", run, cr.OK, reasons)
		}
		switch {
		case run < 2 && len(cr.Signals) != 0:
			t.Errorf("run %d: signals %+v before the third failure", run, cr.Signals)
		case run == 2 && (len(cr.Signals) != 1 || cr.Signals[0].Route != incident.RouteOpen):
			t.Fatalf("run %d: signals %+v, want an incident opened", run, cr.Signals)
		case run == 2:
			opened = cr.Signals[0].IncidentID
		}
	}
	if err := s.Exec.RunReady(ctx); err != nil {
		t.Fatal(err)
	}
	inc := onlyIncident(t, s)
	if inc.ID != opened || inc.Service != "dashboarduz-api" || inc.Category != incident.ServiceDown || inc.Severity != incident.P0 || inc.Source != health.SignalSource {
		t.Errorf("incident = %s %s %s %s from %s", inc.ID, inc.Service, inc.Category, inc.Severity, inc.Source)
	}
	if n := s.Recorder.Triggers(); n != 1 {
		t.Errorf("%d pages, want on-call paged once", n)
	}
	es, err := s.Store.Timeline(ctx, opened)
	if err != nil {
		t.Fatal(err)
	}
	if len(es) == 0 || es[0].Kind != incident.EntryOpened || !strings.Contains(es[0].Text, "502") {
		t.Errorf("opening entry %+v, want it to say why the check failed", es)
	}

	down.Store(false)
	minute(3)
	rep, err := h.Handle(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if sigs := rep.Checks[0].Signals; !rep.Checks[0].OK || len(sigs) != 1 || sigs[0].Route != incident.RouteRecover || sigs[0].IncidentID != opened {
		t.Fatalf("passing run: %+v, want the recovery of %s", rep.Checks[0], opened)
	}
	if got := kindsOf(t, s, opened, incident.EntryRecovered); len(got) != 1 || got[0] != "recovered@3m0s" {
		t.Errorf("recoveries = %v, want one at 3m0s", got)
	}
	if inc := onlyIncident(t, s); inc.Status != incident.Triggered {
		t.Errorf("status %s: a recovery must not resolve the incident", inc.Status)
	}
}

// TestDevServerRunsHealthChecks: with health checks, the dev server runs
// them on the real clock; a failing endpoint opens an incident that pages
// within a few runs, and each run's verdict is in its output.
func TestDevServerRunsHealthChecks(t *testing.T) {
	var down atomic.Bool
	down.Store(true)
	srv := healthEndpoint(t, &down)
	cfg := apiHealthCheck(t, srv.URL)
	out := &syncBuffer{}
	base, _ := startDevOut(t, DevOptions{HealthChecks: &cfg, HealthEvery: 50 * time.Millisecond}, out)
	// The page may reach PagerDuty before the run that opened the
	// incident has printed its verdict: wait for both.
	wants := []string{"Health checks: 1, every 50ms", "health check dashboarduz-api-health: fails: [STATUS]", "-> firing signal: open inc-"}
	printed := func() bool {
		for _, want := range wants {
			if !strings.Contains(out.String(), want) {
				return false
			}
		}
		return true
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, v := do(t, "GET", base+"/dev/pagerduty", "", nil)
		if evs, _ := v["events"].([]any); len(evs) >= 1 && printed() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no page, or not every line of %q, within 10 s; output:\n%s", wants, out)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
