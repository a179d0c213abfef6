package health

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/dashboarduz/incident-response/shared/incident"
)

func TestDefaultConfigFollowsTheRunbook(t *testing.T) {
	c := DefaultConfig()
	if len(c.Checks) != 2 || c.Flapping.Window.D() != 30*time.Minute || c.Flapping.Threshold != 4 {
		t.Fatalf("config %+v", c)
	}
	api, queues := c.Checks[0], c.Checks[1]
	if api.URL != "https://api.yourdomain.com/health" || api.Service != "dashboarduz-api" || api.Category != incident.ServiceDown || api.Severity != incident.P0 {
		t.Errorf("api check %+v", api)
	}
	if queues.URL != "https://api.yourdomain.com/health/queues" || queues.Service != "dashboarduz-worker" || queues.Category != incident.QueueBacklog || queues.Severity != incident.P1 {
		t.Errorf("queue check %+v", queues)
	}
	for _, ch := range c.Checks {
		if ch.FailureThreshold != 3 || ch.SuccessThreshold != 1 || ch.Timeout.D() != 5*time.Second || ch.Method != "GET" || len(ch.Parsed()) != len(ch.Conditions) {
			t.Errorf("check %s: %+v", ch.Name, ch)
		}
	}
}

func TestParseConfigDefaults(t *testing.T) {
	c, err := ParseConfig([]byte(`{"checks":[{"name":"a","url":"http://127.0.0.1:1/health","service":"s","category":"service-down","severity":"P2","conditions":["[STATUS] == 200"]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	ch := c.Checks[0]
	if ch.Method != "GET" || ch.Timeout.D() != DefaultTimeout || ch.Interval.D() != time.Minute || ch.FailureThreshold != 3 || ch.SuccessThreshold != 1 ||
		c.Flapping.Window.D() != DefaultFlapWindow || c.Flapping.Threshold != DefaultFlapThreshold {
		t.Errorf("defaults not filled in: %+v %+v", c.Flapping, ch)
	}
}

func TestParseConfigRefuses(t *testing.T) {
	check := func(extra string) string {
		return `{"checks":[{"name":"api","url":"https://api.example.com/health","service":"s","category":"service-down","severity":"P0","conditions":["[STATUS] == 200"]` + extra + `}]}`
	}
	tests := []struct{ doc, want string }{
		{`{"checks":[]}`, "there are no checks"},
		{`{"checks":[{"nme":"x"}]}`, `unknown field "nme"`},
		{check(`,"url":"api.example.com/health"`), `checks[0] (api): url "api.example.com/health" is not an absolute http or https URL`},
		{check(`,"name":"a b"`), `name "a b" must be`},
		{check(`,"method":"DELETE"`), `method "DELETE" is not GET, HEAD or POST`},
		{check(`,"timeout":"2m"`), "timeout 2m0s is not between 0 and 30s"},
		{check(`,"timeout":5`), "duration must be a string"},
		{check(`,"severity":"P9"`), `severity "P9" is not one of`},
		{check(`,"category":"outage"`), `category "outage" is not one of`},
		{check(`,"service":""`), "service is missing"},
		{check(`,"failureThreshold":-1`), "failureThreshold and successThreshold must be from 1 to 100"},
		{check(`,"conditions":[]`), "there are no conditions"},
		{check(`,"conditions":["[STATUS] == 200","[BODY].queues.*.waiting << 1000"]`), `conditions[1]: condition "[BODY].queues.*.waiting << 1000" is not <placeholder> <operator> <value>`},
		{`{"flapping":{"threshold":1},` + check("")[1:], "flapping needs a positive window and a threshold from 2"},
		{`{"checks":[` + check("")[len(`{"checks":[`):len(check(""))-2] + `,` + check("")[len(`{"checks":[`):], "the name api is used twice"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			_, err := ParseConfig([]byte(tt.doc))
			var e *incident.Error
			if !errors.As(err, &e) || e.Code != incident.EInvalid {
				t.Fatalf("ParseConfig = %v, want an invalid error", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}
