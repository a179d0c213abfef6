package health_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dashboarduz/incident-response/shared/health"
	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/ingest"
	"github.com/dashboarduz/incident-response/shared/local/dynamotest"
	"github.com/dashboarduz/incident-response/shared/statemachine"
)

func TestMain(m *testing.M) { dynamotest.MainQuiet(m) }

// starts records the escalations ingest starts.
type starts struct {
	mu  sync.Mutex
	ids []string
}

func (s *starts) StartEscalation(_ context.Context, st incident.EscalationState) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ids = append(s.ids, statemachine.ExecutionName(st.IncidentID, st.Generation))
	return nil
}

// TestHealthCheckOpensAnIncident runs the handler as the function wires it,
// against dynalite and the real ingest: the API's /health fails three
// minutes in a row and a P0 service-down incident opens with its
// escalation started; then it passes and the recovery is noted on the
// incident, which stays open for a responder to resolve.
func TestHealthCheckOpensAnIncident(t *testing.T) {
	var status atomic.Int32
	status.Store(http.StatusServiceUnavailable)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(int(status.Load()))
		if status.Load() == http.StatusOK {
			w.Write([]byte(`{"status":"ok"}`))
			return
		}
		w.Write([]byte("<html><body>503 Service Temporarily Unavailable</body></html>"))
	}))
	defer srv.Close()
	cfg := health.DefaultConfig()
	cfg.Checks = cfg.Checks[:1]
	cfg.Checks[0].URL = srv.URL + "/health"

	store := dynamotest.New(t)
	st := &starts{}
	var minutes atomic.Int64
	clock := incident.ClockFunc(func() time.Time {
		return time.Date(2026, 3, 1, 3, 0, 0, 0, time.UTC).Add(time.Duration(minutes.Load()) * time.Minute)
	})
	h := &health.Handler{
		Config:   cfg,
		Checker:  &health.Checker{Client: srv.Client(), Clock: clock},
		Store:    store,
		Ingester: &ingest.Handler{Store: store, Starter: st, Rules: incident.DefaultClassificationRules(), Policy: incident.DefaultPolicy()},
	}
	var opened string
	for i := range 4 {
		if i == 3 {
			status.Store(http.StatusOK)
		}
		rep, err := h.Handle(t.Context())
		if err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
		sigs := rep.Checks[0].Signals
		switch i {
		case 2:
			if len(sigs) != 1 || sigs[0].Route != incident.RouteOpen || sigs[0].IncidentID == "" {
				t.Fatalf("run %d: %+v", i, rep.Checks[0])
			}
			opened = sigs[0].IncidentID
		case 3:
			if len(sigs) != 1 || sigs[0].Route != incident.RouteRecover || sigs[0].IncidentID != opened {
				t.Fatalf("run %d: %+v", i, rep.Checks[0])
			}
		default:
			if len(sigs) != 0 {
				t.Fatalf("run %d: %+v", i, rep.Checks[0])
			}
		}
		minutes.Add(1)
	}
	inc, err := store.GetIncident(t.Context(), opened)
	if err != nil {
		t.Fatal(err)
	}
	if inc.Severity != incident.P0 || inc.Category != incident.ServiceDown || inc.Service != "dashboarduz-api" ||
		inc.Status != incident.Triggered || inc.SignalState != incident.Recovered || inc.Source != "health-check" {
		t.Errorf("incident %+v", inc)
	}
	// The open starts the escalation; the recovery, a generation that
	// announces it at once.
	if want := []string{opened, statemachine.ExecutionName(opened, 1)}; !slices.Equal(st.ids, want) {
		t.Errorf("escalations started: %v, want %v", st.ids, want)
	}
	kept, err := store.HealthState(t.Context(), "dashboarduz-api-health")
	if err != nil {
		t.Fatal(err)
	}
	if kept.Firing || kept.Pending != nil || len(kept.LastResults) != 4 || kept.LastResults[2].Failures[1] == "" {
		t.Errorf("kept state %+v", kept)
	}
}
