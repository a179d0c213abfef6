package evidence_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/triage/evidence"
)

func TestDefaultConfigIsTheRunbooks(t *testing.T) {
	cfg := evidence.DefaultConfig()
	api := cfg.Services["dashboarduz-api"]
	if api.Cluster != "dashboarduz-production" || api.LogGroup != "/ecs/dashboarduz-api" || api.HealthURL != "https://api.yourdomain.com/health" || api.DBInstance != "dashboarduz-production-db" {
		t.Errorf("api sources = %+v", api)
	}
	for _, c := range []struct {
		service  string
		category incident.Category
		want     string
	}{
		{"dashboarduz-api", incident.ServiceDown, "health ecs-service metrics logs"},
		{"dashboarduz-worker", incident.QueueBacklog, "queues ecs-service metrics logs"},
		{"dashboarduz-production-db", incident.Database, "database health logs"},
		{"dashboarduz-api", incident.Security, "health ecs-service metrics logs"},
		{"dashboarduz-billing", incident.ServiceDown, ""},
	} {
		if got := strings.Join(cfg.PartsFor(c.service, c.category), " "); got != c.want {
			t.Errorf("%s %s: parts %q, want %q", c.service, c.category, got, c.want)
		}
	}
}

func TestParseConfigRefusesMistakes(t *testing.T) {
	for _, c := range []struct{ name, doc, want string }{
		{"unknown part", `{"timeout":"5s","metricPeriod":"1m","categories":{"database":["disk"]}}`, `part "disk"`},
		{"unknown category", `{"timeout":"5s","metricPeriod":"1m","categories":{"outage":["health"]}}`, "outage"},
		{"bad URL", `{"timeout":"5s","metricPeriod":"1m","services":{"a":{"healthUrl":"api/health"}}}`, "not an absolute"},
		{"long timeout", `{"timeout":"2m","metricPeriod":"1m"}`, "timeout"},
		{"odd period", `{"timeout":"5s","metricPeriod":"2m"}`, "metricPeriod"},
		{"misspelt field", `{"timeout":"5s","metricPeriod":"1m","service":{}}`, "unknown field"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := evidence.ParseConfig([]byte(c.doc))
			if incident.ErrorCode(err) != incident.EInvalid || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %v, want invalid saying %q", err, c.want)
			}
		})
	}
}

func TestQueueReader(t *testing.T) {
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"queues":{"email":{"waiting":12},"exports":{"waiting":"3"}}}`)
	}))
	t.Cleanup(web.Close)
	cfg := evidence.DefaultConfig()
	w := cfg.Services["dashboarduz-worker"]
	w.QueuesURL = web.URL + "/health/queues"
	cfg.Services["dashboarduz-worker"] = w
	n, src, err := evidence.QueueReader{Config: cfg, HTTP: http.DefaultClient}.Waiting(context.Background(), "dashboarduz-worker")
	if err != nil || n != 15 || !strings.Contains(src, "/health/queues") {
		t.Errorf("Waiting = %d, %q, %v", n, src, err)
	}
	if _, _, err := (evidence.QueueReader{Config: cfg, HTTP: http.DefaultClient}).Waiting(context.Background(), "dashboarduz-billing"); incident.ErrorCode(err) != incident.ENotFound {
		t.Errorf("unknown service: %v", err)
	}
}

func TestFiguresOfAnHTMLPage(t *testing.T) {
	_, err := evidence.Figures(&evidence.Answer{Status: 502, ContentType: "text/html", Body: []byte("<html>\n<body>502 Bad Gateway</body></html>")})
	if err == nil || !strings.Contains(err.Error(), "text/html") || !strings.Contains(err.Error(), "502 Bad Gateway") || strings.Contains(err.Error(), "\n") {
		t.Errorf("err = %v, want the HTML named on one line", err)
	}
}
