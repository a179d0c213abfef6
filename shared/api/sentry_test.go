package api_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dashboarduz/incident-response/shared/api"
	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/sentry"
)

// The integration's client secrets: the current one and the one it is
// replacing.
const (
	sentrySecret    = "sentry-client-secret-current"
	sentryOldSecret = "sentry-client-secret-previous"
)

// fakeIngester records the signals it is given and answers as ingest
// would: an ignored signal is ignored, a firing one opens an incident.
type fakeIngester struct {
	mu   sync.Mutex
	sigs []incident.Signal
	err  error
}

func (f *fakeIngester) Ingest(_ context.Context, sig incident.Signal) (incident.Outcome, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sigs = append(f.sigs, sig)
	switch {
	case f.err != nil:
		return incident.Outcome{}, f.err
	case sig.Ignored != "":
		return incident.Outcome{Route: incident.RouteIgnore, Reason: sig.Ignored}, nil
	case sig.State == incident.Recovered:
		return incident.Outcome{Route: incident.RouteRecover, IncidentID: "inc-20260301-030000-0123456789", Reason: "recovered"}, nil
	}
	return incident.Outcome{Route: incident.RouteOpen, IncidentID: "inc-20260301-030000-0123456789", Reason: "the Sentry alert fired with no open incident"}, nil
}

func (f *fakeIngester) signals() []incident.Signal {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]incident.Signal(nil), f.sigs...)
}

// sentrySecretSource is a WebhookSecretSource with fixed answers.
type sentrySecretSource struct {
	secrets []string
	err     error
	reads   int
}

func (s *sentrySecretSource) WebhookSecrets(context.Context) ([]string, error) {
	s.reads++
	return s.secrets, s.err
}

// sentryFixture reads a sample from events/sentry.
func sentryFixture(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "events", "sentry", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// sentryNow is the handler's clock in these tests.
var sentryNow = openedAt.Add(time.Hour)

// sentryCase is a delivery of body as resource, sent at sentAt and signed
// with signer (unsigned when signer is empty).
func sentryCase(name, resource, body, signer string, sentAt time.Time, want int) tc {
	h := map[string]string{
		sentry.HeaderResource:  resource,
		sentry.HeaderTimestamp: strconv.FormatInt(sentAt.Unix(), 10),
		sentry.HeaderRequestID: "6a4f1f2e-7d3b-4bb3-9b8f-1c2d3e4f5a6b",
	}
	if signer != "" {
		h[sentry.HeaderSignature] = sentry.Sign(signer, []byte(body))
	}
	return tc{name: name, method: "POST", target: "/webhooks/sentry", body: body, header: h, want: want}
}

func TestSentryWebhook(t *testing.T) {
	created := sentryFixture(t, "issue-created.json")
	type sentryTC struct {
		tc
		secrets []string
		source  *sentrySecretSource
		ingErr  error
		noIng   bool
		// ingested is the EventID of the one signal ingest must get; ""
		// means none.
		ingested string
		// result checks the 200 body.
		route   incident.RouteKind
		ignored string
	}
	signed := func(name, resource, body string, want int) tc {
		return sentryCase(name, resource, body, sentrySecret, sentryNow, want)
	}
	withMsg := func(c tc, code, msg string) tc { c.wantCode, c.wantMsg = code, msg; return c }
	rejected := func(c tc) tc { c.docRejects = true; return c }
	big := `{"action":"created","data":{"pad":"` + strings.Repeat("x", api.MaxSentryBodyBytes) + `"}}`
	cases := []sentryTC{
		{tc: signed("issue created", "issue", created, 200), ingested: "sentry:issue:4509871236/created@2026-03-01T02:58:37.391000Z", route: incident.RouteOpen},
		{tc: signed("issue resolved", "issue", sentryFixture(t, "issue-resolved.json"), 200), ingested: "*", route: incident.RouteRecover},
		{tc: signed("metric alert critical", "metric_alert", sentryFixture(t, "metric_alert-critical.json"), 200), ingested: "*", route: incident.RouteOpen},
		{tc: signed("issue assigned is no incident", "issue", sentryFixture(t, "issue-assigned.json"), 200), ingested: "*",
			route: incident.RouteIgnore, ignored: "an assignment in Sentry changes nothing here"},
		{tc: signed("installation is no incident", "installation", sentryFixture(t, "installation-created.json"), 200), ingested: "*",
			route: incident.RouteIgnore, ignored: "installation"},
		{tc: sentryCase("signed with the old secret during a rotation", "issue", created, sentryOldSecret, sentryNow, 200),
			secrets: []string{sentrySecret, sentryOldSecret}, ingested: "*", route: incident.RouteOpen},
		{tc: signed("secret read from the source", "issue", created, 200), secrets: []string{}, source: &sentrySecretSource{secrets: []string{"other", sentrySecret}},
			ingested: "*", route: incident.RouteOpen},
		{tc: rejected(withMsg(sentryCase("unsigned", "issue", created, "", sentryNow, 401), incident.EUnauthorized, "missing Sentry-Hook-Signature"))},
		{tc: withMsg(sentryCase("forged", "issue", created, "not-our-secret", sentryNow, 401), incident.EUnauthorized, "Sentry-Hook-Signature does not match")},
		{tc: withMsg(sentryCase("stale", "issue", created, sentrySecret, sentryNow.Add(-6*time.Minute), 401), incident.EUnauthorized, "too old or in the future")},
		{tc: withMsg(sentryCase("from the future", "issue", created, sentrySecret, sentryNow.Add(2*time.Minute), 401), incident.EUnauthorized, "too old or in the future")},
		{tc: func() tc {
			c := signed("body changed after signing", "issue", created, 401)
			c.body = strings.Replace(created, `"level": "error"`, `"level": "fatal"`, 1)
			c.wantCode = incident.EUnauthorized
			return c
		}()},
		{tc: signed("no secret anywhere", "issue", created, 401), secrets: []string{}, source: &sentrySecretSource{err: errors.New("ResourceNotFoundException")}},
		{tc: rejected(withMsg(signed("unknown resource", "deploy", `{"action":"created","data":{}}`, 400), incident.EInvalid, `Sentry-Hook-Resource "deploy" is not a Sentry resource`))},
		{tc: rejected(withMsg(signed("no data", "issue", `{"action":"created"}`, 400), incident.EInvalid, "data is missing or not an object"))},
		{tc: func() tc {
			c := withMsg(signed("unknown action", "issue", strings.Replace(created, `"action": "created"`, `"action": "frobbed"`, 1), 400), incident.EInvalid, `issue action "frobbed"`)
			c.docSilent = true // the document cannot list every action of every resource
			return c
		}()},
		{tc: func() tc {
			c := rejected(signed("not labelled JSON", "issue", created, 415))
			c.contentType = "text/plain"
			return c
		}()},
		{tc: func() tc { c := signed("too large", "issue", big, 413); c.wantMsg = "1024 KiB"; return c }()},
		{tc: withMsg(signed("ingest fails", "issue", created, 500), incident.EInternal, "internal error"), ingErr: fmt.Errorf("put incident: %w", errors.New("dynamodb: throttled")), ingested: "*"},
		{tc: withMsg(signed("no ingester configured", "issue", created, 500), incident.EInternal, "internal error"), noIng: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ing := &fakeIngester{err: c.ingErr}
			cfg := api.SentryConfig{Secrets: c.secrets, Ingester: ing}
			if c.secrets == nil {
				cfg.Secrets = []string{sentrySecret}
			}
			if c.source != nil {
				cfg.SecretSource = c.source
			}
			if c.noIng {
				cfg.Ingester = nil
			}
			h, err := api.New(api.Config{Service: &fakeService{}, Auth: fakeAuth{}, Clock: incident.ClockFunc(func() time.Time { return sentryNow }), Sentry: cfg})
			if err != nil {
				t.Fatal(err)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, c.request())
			sigs := ing.signals()
			conform(t, c.tc, rec, len(sigs) > 0)
			checkExchange(t, c.tc, rec, &fakeService{})
			switch {
			case c.ingested == "" && len(sigs) > 0:
				t.Errorf("ingest was given %+v, want nothing", sigs)
			case c.ingested != "" && len(sigs) != 1:
				t.Fatalf("ingest was given %d signals, want one", len(sigs))
			case c.ingested != "" && c.ingested != "*" && sigs[0].EventID != c.ingested:
				t.Errorf("EventID %q, want %q", sigs[0].EventID, c.ingested)
			}
			if strings.Contains(rec.Body.String(), "dynamodb") || strings.Contains(rec.Body.String(), sentrySecret) {
				t.Errorf("the answer leaks: %s", rec.Body)
			}
			if rec.Code != 200 {
				return
			}
			got := decode[api.SentryWebhookResult](t, rec)
			if got.Route != c.route || !strings.Contains(got.Ignored, c.ignored) || (c.ignored == "") != (got.Ignored == "") {
				t.Errorf("answer %+v, want route %s, ignored %q", got, c.route, c.ignored)
			}
		})
	}
}

// TestSentryWebhookMapping: the configured mapping names the service and
// the severity; without one the project's slug is the service.
func TestSentryWebhookMapping(t *testing.T) {
	body := sentryFixture(t, "issue-created.json")
	m := sentry.DefaultMapping()
	m.Services = map[string]string{"dashboarduz-api": "api-gateway"}
	m.Levels = map[string]incident.Severity{"error": incident.P1}
	for _, c := range []struct {
		name     string
		mapping  *sentry.Mapping
		service  string
		severity incident.Severity
	}{
		{"default", nil, "dashboarduz-api", incident.P2},
		{"configured", &m, "api-gateway", incident.P1},
	} {
		t.Run(c.name, func(t *testing.T) {
			ing := &fakeIngester{}
			h, err := api.New(api.Config{Service: &fakeService{}, Auth: fakeAuth{}, Clock: incident.ClockFunc(func() time.Time { return sentryNow }),
				Sentry: api.SentryConfig{Secrets: []string{sentrySecret}, Mapping: c.mapping, Ingester: ing}})
			if err != nil {
				t.Fatal(err)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, sentryCase("issue", "issue", body, sentrySecret, sentryNow, 200).request())
			sigs := ing.signals()
			if rec.Code != 200 || len(sigs) != 1 {
				t.Fatalf("%d %s, %d signals", rec.Code, rec.Body, len(sigs))
			}
			if sigs[0].Service != c.service || sigs[0].Severity != c.severity || sigs[0].Category != incident.HighErrorRate {
				t.Errorf("signal %s %s %s, want %s %s high-error-rate", sigs[0].Service, sigs[0].Severity, sigs[0].Category, c.service, c.severity)
			}
		})
	}
}
