package health

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dashboarduz/incident-response/shared/incident"
)

// testCheck is a check on url with conditions, validated like a loaded
// one.
func testCheck(t *testing.T, name, url string, timeout time.Duration, conditions ...string) Check {
	t.Helper()
	ch := Check{Name: name, URL: url, Timeout: incident.Duration(timeout), Service: "dashboarduz-api",
		Category: incident.ServiceDown, Severity: incident.P0, Conditions: conditions}
	if err := ch.complete(); err != nil {
		t.Fatal(err)
	}
	return ch
}

func newChecker() *Checker {
	return &Checker{Client: &http.Client{}, Clock: incident.SystemClock{}}
}

func TestCheckAgainstAServer(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("User-Agent") != userAgent {
			w.WriteHeader(http.StatusTeapot)
			return
		}
		switch r.URL.Path {
		case "/health":
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"status":"ok"}`)
		case "/health/queues":
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"queues":{"email":{"waiting":1500},"exports":{"waiting":3}}}`)
		case "/html":
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusBadGateway)
			fmt.Fprint(w, "<html><body>502 Bad Gateway</body></html>")
		case "/big":
			fmt.Fprint(w, `{"status":"ok","pad":"`+strings.Repeat("x", 200)+`"}`)
		}
	}))
	defer srv.Close()
	tests := []struct {
		path       string
		conditions []string
		ok         bool
		status     int
		failures   []string
	}{
		{"/health", []string{"[STATUS] == 200", "[BODY].status == ok", "[RESPONSE_TIME] < 2s"}, true, 200, nil},
		{"/health/queues", []string{"[STATUS] == 200", "[BODY].queues.*.waiting < 1000"}, false, 200, []string{"[BODY].queues.email.waiting is 1500, want < 1000"}},
		{"/html", []string{"[STATUS] == 200", "[BODY].status == ok"}, false, 502, []string{"[STATUS] is 502, want == 200", `[BODY].status: the body is not JSON (text/html, 41 bytes, starting "<html><body>502 Bad Gateway</body></html...")`}},
		{"/big", []string{"[BODY].status == ok"}, false, 200, []string{"[BODY].status: the body is larger than the 100 bytes a check reads"}},
	}
	c := newChecker()
	c.MaxBodyBytes = 100
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			r := c.Check(context.Background(), testCheck(t, "c", srv.URL+tt.path, time.Second, tt.conditions...))
			if r.OK != tt.ok || r.Status != tt.status || r.Error != "" || r.Check != "c" || r.At.IsZero() {
				t.Errorf("result %+v", r)
			}
			if strings.Join(r.Failures, "\n") != strings.Join(tt.failures, "\n") {
				t.Errorf("failures\n got %q\nwant %q", r.Failures, tt.failures)
			}
		})
	}
}

func TestCheckTimesOut(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	start := time.Now()
	r := newChecker().Check(context.Background(), testCheck(t, "slow", srv.URL+"/health", 150*time.Millisecond, "[STATUS] == 200"))
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("the check took %s despite its 150ms timeout", took)
	}
	if r.OK || !strings.Contains(r.Error, "no answer within the 150ms timeout (GET "+srv.URL+"/health)") {
		t.Errorf("result %+v", r)
	}
}

func TestCheckConnectionRefused(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	r := newChecker().Check(context.Background(), testCheck(t, "down", url+"/health", time.Second, "[STATUS] == 200"))
	if r.OK || r.Status != 0 || !strings.Contains(r.Error, "request failed") || !strings.Contains(r.Error, "connection refused") {
		t.Errorf("result %+v", r)
	}
	if got := r.Reasons(); len(got) != 1 || got[0] != r.Error {
		t.Errorf("Reasons = %q", got)
	}
}

// TestCheckAllRunsInParallel runs three checks that each take 300ms; run
// one after the other they would take 900ms.
func TestCheckAllRunsInParallel(t *testing.T) {
	var inFlight, most atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		for {
			m := most.Load()
			if n <= m || most.CompareAndSwap(m, n) {
				break
			}
		}
		time.Sleep(300 * time.Millisecond)
		inFlight.Add(-1)
	}))
	defer srv.Close()
	var checks []Check
	for i := range 3 {
		checks = append(checks, testCheck(t, fmt.Sprintf("c%d", i), fmt.Sprintf("%s/%d", srv.URL, i), 2*time.Second, "[STATUS] == 200"))
	}
	results := newChecker().CheckAll(context.Background(), checks)
	for i, r := range results {
		if r.Check != checks[i].Name || !r.OK {
			t.Errorf("result %d: %+v", i, r)
		}
	}
	if most.Load() != 3 {
		t.Errorf("at most %d checks were in flight at once, want 3", most.Load())
	}
}

func TestCheckMeasuresResponseTimeOnTheClock(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	// Each reading of this clock is 3s after the last one.
	var ticks atomic.Int64
	clock := incident.ClockFunc(func() time.Time { return time.Unix(ticks.Add(3), 0).UTC() })
	c := &Checker{Client: &http.Client{}, Clock: clock}
	r := c.Check(context.Background(), testCheck(t, "c", srv.URL, time.Second, "[RESPONSE_TIME] < 2s"))
	if r.OK || r.ResponseTimeMS != 3000 || len(r.Failures) != 1 || r.Failures[0] != "[RESPONSE_TIME] is 3s, want < 2s" {
		t.Errorf("result %+v", r)
	}
}
