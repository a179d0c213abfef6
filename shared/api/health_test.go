package api_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/dashboarduz/incident-response/shared/api"
	"github.com/dashboarduz/incident-response/shared/incident"
)

// TestHealthReportsItsDependencies: GET /health reads the table and
// answers 503 naming the dependency that failed, without a token and
// without the failure's detail (finding M10: /health said ok with
// DynamoDB down).
func TestHealthReportsItsDependencies(t *testing.T) {
	down := errors.New("operation error DynamoDB: GetItem, dial tcp 10.0.12.7:443: connect: connection refused; arn:aws:dynamodb:eu-west-1:123456789012:table/secret")
	for _, c := range []struct {
		name   string
		check  func(ctx context.Context) error
		want   int
		status string
		table  string
	}{
		{"table reachable", func(context.Context) error { return nil }, 200, "ok", "ok"},
		{"table unreachable", func(context.Context) error { return down }, 503, "unavailable", "unavailable"},
		{"table too slow", func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }, 503, "unavailable", "unavailable"},
	} {
		t.Run(c.name, func(t *testing.T) {
			svc := &fakeService{}
			h, err := api.New(api.Config{Service: svc, Auth: fakeAuth{},
				Dependencies:  []api.Dependency{{Name: "table", Check: c.check}},
				HealthTimeout: 50 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			rec := exchange(t, h, tc{name: c.name, method: "GET", target: "/health", want: c.want}, svc)
			if took := time.Since(start); took > 2*time.Second {
				t.Errorf("health took %s", took)
			}
			if rec.Code != c.want {
				t.Fatalf("status %d, want %d: %s", rec.Code, c.want, rec.Body)
			}
			got := decode[struct {
				Status string            `json:"status"`
				Checks map[string]string `json:"checks"`
			}](t, rec)
			if got.Status != c.status || got.Checks["table"] != c.table || len(got.Checks) != 1 {
				t.Errorf("body %s, want status %s and table %s", rec.Body, c.status, c.table)
			}
			for _, secret := range []string{"dial", "10.0.12.7", "arn:", "123456789012"} {
				if strings.Contains(rec.Body.String(), secret) {
					t.Errorf("the open health answer leaks %q: %s", secret, rec.Body)
				}
			}
		})
	}
}

// incidentGetter answers GetIncident with err.
type incidentGetter struct{ err error }

func (g incidentGetter) GetIncident(context.Context, string) (incident.Incident, error) {
	return incident.Incident{}, g.err
}

func TestTableDependency(t *testing.T) {
	for _, c := range []struct {
		err     error
		healthy bool
	}{
		{incident.Errorf(incident.ENotFound, "no incident"), true},
		{nil, true},
		{errors.New("RequestLimitExceeded"), false},
		{incident.Errorf(incident.EInvalid, "bad id"), false},
	} {
		err := api.TableDependency(incidentGetter{c.err}).Check(context.Background())
		if (err == nil) != c.healthy {
			t.Errorf("store answering %v: check = %v, want healthy %v", c.err, err, c.healthy)
		}
	}
}
