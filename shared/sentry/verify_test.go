package sentry

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dashboarduz/incident-response/shared/incident"
)

func TestVerify(t *testing.T) {
	body := readFixture(t, "issue-created.json")
	ok := func() http.Header { return headers(ResourceIssue, body, now) }
	tests := []struct {
		name    string
		secrets []string
		header  func() http.Header
		body    []byte
		kind    ErrorKind // 0 when the delivery is accepted
		status  int
		code    string
		problem string
	}{
		{name: "signed", header: ok},
		{name: "second secret during a rotation", secrets: []string{"new-secret", secret}, header: ok},
		{name: "upper-case hex", header: func() http.Header {
			h := ok()
			h.Set(HeaderSignature, strings.ToUpper(h.Get(HeaderSignature)))
			return h
		}},
		{name: "unsigned", header: func() http.Header { h := ok(); h.Del(HeaderSignature); return h },
			kind: Unsigned, status: 401, code: incident.EUnauthorized, problem: "Sentry-Hook-Signature is missing"},
		{name: "wrong secret", secrets: []string{"another"}, header: ok,
			kind: BadSignature, status: 401, code: incident.EUnauthorized, problem: "matches none of the 1 configured client secrets"},
		{name: "no secrets configured", secrets: []string{}, header: ok,
			kind: BadSignature, status: 401, code: incident.EUnauthorized},
		{name: "not hex", header: func() http.Header { h := ok(); h.Set(HeaderSignature, "sha256=abc"); return h },
			kind: BadSignature, status: 401, code: incident.EUnauthorized, problem: "not a hex HMAC-SHA256"},
		{name: "short", header: func() http.Header { h := ok(); h.Set(HeaderSignature, h.Get(HeaderSignature)[:62]); return h },
			kind: BadSignature, status: 401, code: incident.EUnauthorized},
		{name: "body changed after signing", header: ok, body: []byte(strings.Replace(string(body), `"error"`, `"debug"`, 1)),
			kind: BadSignature, status: 401, code: incident.EUnauthorized},
		{name: "stale", header: func() http.Header { return headers(ResourceIssue, body, now.Add(-6*time.Minute)) },
			kind: Stale, status: 401, code: incident.EUnauthorized, problem: "is 6m0s old, more than 5m0s"},
		{name: "just in time", header: func() http.Header { return headers(ResourceIssue, body, now.Add(-5*time.Minute)) }},
		{name: "future", header: func() http.Header { return headers(ResourceIssue, body, now.Add(2*time.Minute)) },
			kind: Stale, status: 401, code: incident.EUnauthorized, problem: "in the future"},
		{name: "no timestamp", header: func() http.Header { h := ok(); h.Del(HeaderTimestamp); return h },
			kind: Stale, status: 401, code: incident.EUnauthorized, problem: "Sentry-Hook-Timestamp is missing"},
		{name: "timestamp not a number", header: func() http.Header { h := ok(); h.Set(HeaderTimestamp, "1e9"); return h },
			kind: Stale, status: 401, code: incident.EUnauthorized, problem: "is not Unix seconds"},
		{name: "fractional timestamp", header: func() http.Header {
			h := ok()
			h.Set(HeaderTimestamp, strconv.FormatInt(now.Unix(), 10)+".677")
			return h
		}},
		{name: "no resource", header: func() http.Header { h := ok(); h.Del(HeaderResource); return h },
			kind: Malformed, status: 400, code: incident.EInvalid, problem: "Sentry-Hook-Resource is missing"},
		{name: "unknown resource", header: func() http.Header { h := ok(); h.Set(HeaderResource, "deploy"); return h },
			kind: Unsupported, status: 400, code: incident.EInvalid, problem: `"deploy" is not a Sentry resource`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			secrets := tt.secrets
			if secrets == nil {
				secrets = []string{secret}
			}
			b := body
			if tt.body != nil {
				b = tt.body
			}
			d, err := Verifier{Secrets: secrets, Clock: clock}.Verify(tt.header(), b)
			if tt.kind == 0 {
				if err != nil {
					t.Fatal(err)
				}
				if d.Resource != ResourceIssue || d.RequestID == "" || string(d.Body) != string(b) || d.Timestamp.IsZero() {
					t.Errorf("delivery %+v", d)
				}
				return
			}
			var we *WebhookError
			if !errors.As(err, &we) {
				t.Fatalf("error %v is not a *WebhookError", err)
			}
			if we.Kind != tt.kind || we.HTTPStatus() != tt.status || incident.ErrorCode(err) != tt.code {
				t.Errorf("got %s %d %s, want %s %d %s", we.Kind, we.HTTPStatus(), incident.ErrorCode(err), tt.kind, tt.status, tt.code)
			}
			if !strings.Contains(we.Problem, tt.problem) {
				t.Errorf("problem %q does not contain %q", we.Problem, tt.problem)
			}
			if tt.status == 401 && strings.Contains(incident.ErrorMessage(err), "secret") {
				t.Errorf("the public message %q speaks of the secrets", incident.ErrorMessage(err))
			}
		})
	}
}

// TestSignKnownVector pins Sign to Sentry's documented scheme, the hex
// HMAC-SHA256 of the raw body under the client secret, with a value
// computed independently (Python's hmac module).
func TestSignKnownVector(t *testing.T) {
	if got, want := Sign("secret", []byte("{}")), "77325902caca812dc259733aacd046b73817372c777b8d95b402647474516e13"; got != want {
		t.Errorf("Sign = %s, want %s", got, want)
	}
}
