package api_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dashboarduz/incident-response/shared/api"
	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/response"
)

// The signing secrets: the current one and the one it is replacing.
const (
	secret    = "whsec-current-4f1c9e2a7b"
	oldSecret = "whsec-previous-8d3b6a0c51"
)

// pagerDutyFixture reads a webhook from events/pagerduty.
func pagerDutyFixture(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "events", "pagerduty", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// sign is X-PagerDuty-Signature for body, as PagerDuty computes it: v1=
// and the hex HMAC-SHA256 of the body keyed with the secret.
func sign(secret, body string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(body))
	return "v1=" + hex.EncodeToString(mac.Sum(nil))
}

// webhook is a webhook case: body signed with signer (no header when
// signer is empty).
func webhook(name, body, signer string, want int) tc {
	c := tc{name: name, method: "POST", target: "/webhooks/pagerduty", body: body, want: want}
	if signer != "" {
		c.header = map[string]string{"X-PagerDuty-Signature": sign(signer, body)}
	}
	return c
}

// wantWebhookResult checks the 200 body: {"status":"ok"} when ignored is
// empty, else {"ignored": ...} containing ignored.
func wantWebhookResult(ignored string) func(*testing.T, *httptest.ResponseRecorder) {
	return func(t *testing.T, rec *httptest.ResponseRecorder) {
		t.Helper()
		got := decode[map[string]string](t, rec)
		switch {
		case ignored == "" && (got["status"] != "ok" || len(got) != 1):
			t.Errorf("body %v, want {\"status\":\"ok\"}", got)
		case ignored != "" && (!strings.Contains(got["ignored"], ignored) || len(got) != 1):
			t.Errorf("body %v, want ignored saying %q", got, ignored)
		}
	}
}

func TestPagerDutyWebhook(t *testing.T) {
	acked := pagerDutyFixture(t, "incident-acknowledged.json")
	resolved := pagerDutyFixture(t, "incident-resolved.json")
	const key = "inc-20260301-030000-0123456789/level-1"
	ackEvent := response.PagerDutyEvent{
		ID: "01F4Q8N6X7ZK3Y2B9W5T1R0VDA", Type: "incident.acknowledged", IncidentKey: key,
		Agent: "On-Call Engineer", OccurredAt: time.Date(2026, 3, 1, 3, 4, 12, 318e6, time.UTC),
	}
	resolvedEvent := response.PagerDutyEvent{
		ID: "01F4Q9T2C5HM8E6J4G0P7N3SBW", Type: "incident.resolved", IncidentKey: key,
		Agent: "On-Call Engineer", OccurredAt: time.Date(2026, 3, 1, 3, 41, 7, 902e6, time.UTC),
	}
	ackCall := &call{"PagerDutyWebhook", "", "", ackEvent}

	with := func(c tc, change func(*tc)) tc { change(&c); return c }
	priority := editEvent(t, acked, func(e map[string]any) { e["event_type"] = "incident.priority_updated" })
	noAgent := editEvent(t, resolved, func(e map[string]any) { e["agent"] = nil })
	noKey := editEvent(t, acked, func(e map[string]any) { e["data"].(map[string]any)["incident_key"] = nil })
	noTime := editEvent(t, acked, func(e map[string]any) { delete(e, "occurred_at") })
	notOurs := editEvent(t, acked, func(e map[string]any) { e["data"].(map[string]any)["incident_key"] = "Q2HZ1L0F5GKXYZ" })

	runCases(t, []tc{
		with(webhook("acknowledged", acked, secret, 200), func(c *tc) {
			c.wantCall, c.check = ackCall, wantWebhookResult("")
		}),
		with(webhook("resolved", resolved, secret, 200), func(c *tc) {
			c.wantCall, c.check = &call{"PagerDutyWebhook", "", "", resolvedEvent}, wantWebhookResult("")
		}),
		with(webhook("signed with the previous secret", acked, oldSecret, 200), func(c *tc) { c.wantCall = ackCall }),
		with(webhook("one of several signatures is ours", acked, "", 200), func(c *tc) {
			c.header = map[string]string{"X-PagerDuty-Signature": sign("someone-else", acked) + "," + sign(secret, acked)}
			c.wantCall = ackCall
		}),
		with(webhook("forged signature", acked, "not-our-secret", 401), func(c *tc) {
			c.wantCode, c.wantMsg = incident.EUnauthorized, "X-PagerDuty-Signature"
		}),
		with(webhook("missing signature", acked, "", 401), func(c *tc) {
			c.wantCode, c.wantMsg, c.docRejects = incident.EUnauthorized, "X-PagerDuty-Signature", true
		}),
		with(webhook("malformed signature", acked, "", 401), func(c *tc) {
			c.header = map[string]string{"X-PagerDuty-Signature": "sha256=abc"}
			c.wantCode = incident.EUnauthorized
		}),
		with(webhook("body changed after signing", acked, secret, 401), func(c *tc) {
			c.body = strings.Replace(acked, key, "inc-20260301-030000-9999999999/level-1", 1)
			c.wantCode = incident.EUnauthorized
		}),
		with(webhook("event the service does not act on", priority, secret, 200), func(c *tc) {
			c.check = wantWebhookResult(`event type "incident.priority_updated" is not acted on`)
		}),
		with(webhook("incident without incident_key", noKey, secret, 200), func(c *tc) {
			c.check = wantWebhookResult("no incident_key")
		}),
		with(webhook("no agent", noAgent, secret, 200), func(c *tc) {
			e := resolvedEvent
			e.Agent = ""
			c.wantCall = &call{"PagerDutyWebhook", "", "", e}
		}),
		with(webhook("no occurred_at: the clock's time", noTime, secret, 200), func(c *tc) {
			e := ackEvent
			e.OccurredAt = openedAt.Add(time.Hour)
			c.wantCall, c.docRejects = &call{"PagerDutyWebhook", "", "", e}, true
		}),
		with(webhook("a key shaped as ours naming no page: 404", acked, secret, 404), func(c *tc) {
			c.svcErr = incident.Errorf(incident.ENotFound, "incident %s has no page with key %q", incidentID, key)
			c.wantCall, c.wantCode, c.wantMsg = ackCall, incident.ENotFound, "has no page"
		}),
		with(webhook("a key that is not ours at all", notOurs, secret, 200), func(c *tc) {
			c.check = wantWebhookResult(`incident_key "Q2HZ1L0F5GKXYZ" is not one of our pages`)
		}),
		with(webhook("service failure: PagerDuty retries", acked, secret, 500), func(c *tc) {
			c.svcErr, c.wantCode, c.wantMsg, c.wantCall = errSecret, incident.EInternal, "internal error", ackCall
		}),
		with(webhook("conflict: PagerDuty retries", acked, secret, 500), func(c *tc) {
			c.svcErr = incident.Errorf(incident.EConflict, "incident changed meanwhile")
			c.wantCode, c.wantMsg, c.wantCall = incident.EInternal, "internal error", ackCall
		}),
		with(webhook("not JSON", `{"event":`, secret, 400), func(c *tc) {
			c.wantCode, c.wantMsg, c.docRejects = incident.EInvalid, "not valid JSON", true
		}),
		with(webhook("not labelled JSON", acked, secret, 415), func(c *tc) {
			c.contentType, c.wantCode, c.docRejects = "application/x-www-form-urlencoded", incident.EInvalid, true
		}),
		with(webhook("body over 64 KiB", `{"event":{"id":"`+strings.Repeat("x", 70000)+`"}}`, secret, 413), func(c *tc) {
			c.wantCode, c.wantMsg = incident.EInvalid, "64 KiB"
		}),
	}, secret, oldSecret)
}

// TestPagerDutyWebhookWithoutSecrets: with no secret configured (or only
// an empty one) every webhook is refused, even one signed with an empty key.
func TestPagerDutyWebhookWithoutSecrets(t *testing.T) {
	acked := pagerDutyFixture(t, "incident-acknowledged.json")
	emptyKey := webhook("signed with an empty key", acked, "", 401)
	emptyKey.header = map[string]string{"X-PagerDuty-Signature": sign("", acked)}
	cases := []tc{emptyKey, webhook("signed with a secret the API does not have", acked, secret, 401)}
	t.Run("none", func(t *testing.T) { runCases(t, cases) })
	t.Run("empty", func(t *testing.T) { runCases(t, cases, "") })
}

// editEvent changes the event of a webhook body.
func editEvent(t *testing.T, body string, change func(event map[string]any)) string {
	t.Helper()
	var v map[string]map[string]any
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatal(err)
	}
	change(v["event"])
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// secretSource is a WebhookSecretSource whose secrets a test sets.
type secretSource struct {
	secrets []string
	asked   int
}

func (s *secretSource) WebhookSecrets(context.Context) ([]string, error) {
	s.asked++
	if s.secrets == nil {
		return nil, errors.New("ResourceNotFoundException: the secret does not exist yet")
	}
	return s.secrets, nil
}

// TestWebhookSecretStoredAfterTheStart: the signing secret is stored after
// the function started; webhooks are refused until then and accepted
// after, with no restart.
func TestWebhookSecretStoredAfterTheStart(t *testing.T) {
	svc := &fakeService{}
	src := &secretSource{}
	h, err := api.New(api.Config{Service: svc, Auth: fakeAuth{}, WebhookSecretSource: src})
	if err != nil {
		t.Fatal(err)
	}
	body := pagerDutyFixture(t, "incident-acknowledged.json")
	post := func() int {
		req := httptest.NewRequest("POST", "/webhooks/pagerduty", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-PagerDuty-Signature", sign(secret, body))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code
	}
	if code := post(); code != 401 || len(svc.recorded()) != 0 {
		t.Fatalf("before the secret is stored: %d with %d calls, want 401 and none", code, len(svc.recorded()))
	}
	src.secrets = []string{secret}
	if code := post(); code != 200 || len(svc.recorded()) != 1 {
		t.Fatalf("after it is stored: %d with %d calls, want 200 and one", code, len(svc.recorded()))
	}
	if src.asked != 2 {
		t.Errorf("the source was asked %d times, want once per webhook", src.asked)
	}
}
