package apigateway

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/dashboarduz/incident-response/shared/auth"
)

// eventsDir is the repository's events folder, shared by the tests, the
// local stack and the demo.
const eventsDir = "../../events"

func readEvent(t *testing.T, name string) (events.APIGatewayV2HTTPRequest, []byte) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(eventsDir, "apigateway", name))
	if err != nil {
		t.Fatal(err)
	}
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatalf("decode %s: %v", name, err)
	}
	return ev, raw
}

// TestFixtureRoundTrip decodes the fixture into the aws-lambda-go type and
// encodes it again: every field of the fixture must come back unchanged,
// so a misspelt or misplaced field fails here instead of being silently
// dropped. (The type adds empty fields, such as requestContext.
// authentication, that a real event without mTLS leaves out.)
func TestFixtureRoundTrip(t *testing.T) {
	ev, raw := readEvent(t, "get-incident.json")
	out, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	var in, back any
	if err := json.Unmarshal(raw, &in); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(out, &back); err != nil {
		t.Fatal(err)
	}
	assertSubset(t, "$", in, back)
}

// assertSubset fails for every value of want that got lacks or differs in.
func assertSubset(t *testing.T, path string, want, got any) {
	t.Helper()
	wm, ok := want.(map[string]any)
	if !ok {
		if !reflect.DeepEqual(want, got) {
			t.Errorf("%s = %v after round trip, want %v", path, got, want)
		}
		return
	}
	gm, ok := got.(map[string]any)
	if !ok {
		t.Errorf("%s = %v after round trip, want an object", path, got)
		return
	}
	for k, v := range wm {
		assertSubset(t, path+"."+k, v, gm[k])
	}
}

// seen is what a test handler saw of its request.
type seen struct {
	method, path, rawPath, query, host, remoteAddr, proto, requestURI string
	pathID                                                            string
	header                                                            http.Header
	body                                                              []byte
	contentLength                                                     int64
	claims                                                            map[string]string
	hasClaims                                                         bool
	identity                                                          auth.Identity
	identityErr                                                       error
	cookies                                                           []*http.Cookie
	cognitoRole                                                       auth.Role
}

func record(got *seen) func(w http.ResponseWriter, r *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			panic(err)
		}
		claims, ok := auth.ClaimsFromContext(r.Context())
		id, idErr := auth.GatewayAuthenticator{}.Authenticate(r)
		cognito, _ := auth.GatewayAuthenticator{Roles: auth.RoleMapping{Claim: auth.ClaimCognitoGroups}}.Authenticate(r)
		*got = seen{
			method: r.Method, path: r.URL.Path, rawPath: r.URL.RawPath, query: r.URL.RawQuery,
			host: r.Host, remoteAddr: r.RemoteAddr, proto: r.Proto, requestURI: r.RequestURI,
			pathID: r.PathValue("id"), header: r.Header.Clone(), body: body, contentLength: r.ContentLength,
			claims: claims, hasClaims: ok, identity: id, identityErr: idErr, cookies: r.Cookies(), cognitoRole: cognito.Role,
		}
	}
}

func TestGetIncidentFixture(t *testing.T) {
	ev, _ := readEvent(t, "get-incident.json")
	var got seen
	mux := http.NewServeMux()
	mux.HandleFunc("GET /incidents/{id}", func(w http.ResponseWriter, r *http.Request) {
		record(&got)(w, r)
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"incident":{"id":"` + r.PathValue("id") + `"}}`))
	})

	resp, err := Handler(mux)(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct{ name, got, want string }{
		{"method", got.method, "GET"},
		{"path", got.path, "/incidents/inc-20260314-021700-3fa85f6457"},
		{"path value id", got.pathID, ev.PathParameters["id"]},
		{"query", got.query, ""},
		{"request URI", got.requestURI, "/incidents/inc-20260314-021700-3fa85f6457"},
		{"host", got.host, "a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com"},
		{"proto", got.proto, "HTTP/1.1"},
		{"accept", got.header.Get("Accept"), "application/json,text/plain;q=0.5"},
		{"user agent", got.header.Get("User-Agent"), "curl/8.5.0"},
		{"forwarded proto", got.header.Get("X-Forwarded-Proto"), "https"},
		{"authorization", got.header.Get("Authorization"), ev.Headers["authorization"]},
		{"claim sub", got.claims["sub"], "8d7c0a5e-4b1f-4f3e-9a61-2f0c9b7e1d42"},
		{"claim email", got.claims["email"], "oncall@dashboarduz.example"},
		{"actor", got.identity.Actor(), "oncall@dashboarduz.example (8d7c0a5e-4b1f-4f3e-9a61-2f0c9b7e1d42)"},
		{"role from groups, which Cognito does not send", got.identity.Role.String(), "none"},
		{"role from cognito:groups", got.cognitoRole.String(), "responder"},
	} {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
	if _, ok := got.header["Host"]; ok {
		t.Error("Host left in the header map; net/http's server moves it to r.Host")
	}
	host, _, err := net.SplitHostPort(got.remoteAddr)
	if err != nil || host != "203.0.113.7" {
		t.Errorf("RemoteAddr = %q (host %q, %v), want 203.0.113.7 with a port", got.remoteAddr, host, err)
	}
	if !got.hasClaims || got.identityErr != nil {
		t.Errorf("claims present %v, identity error %v", got.hasClaims, got.identityErr)
	}
	if len(got.body) != 0 || got.contentLength != 0 {
		t.Errorf("body = %q (length %d), want empty", got.body, got.contentLength)
	}

	if resp.StatusCode != http.StatusOK {
		t.Errorf("status = %d, want 200", resp.StatusCode)
	}
	if resp.Headers["Content-Type"] != "application/json" {
		t.Errorf("Content-Type = %q", resp.Headers["Content-Type"])
	}
	if want := `{"incident":{"id":"inc-20260314-021700-3fa85f6457"}}`; resp.Body != want || resp.IsBase64Encoded {
		t.Errorf("body = %q (base64 %v), want %q as text", resp.Body, resp.IsBase64Encoded, want)
	}
}

// pagerDutyBody has what breaks careless body handling: CRLF, a
// multi-byte character and no trailing newline normalisation.
var pagerDutyBody = []byte("{\"event\":{\"event_type\":\"incident.acknowledged\",\"data\":{\"title\":\"Zürich DB \u2014 down\"}}}\r\n")

func TestPostBase64Body(t *testing.T) {
	const secret = "webhook-secret"
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(pagerDutyBody)
	signature := "v1=" + hex.EncodeToString(mac.Sum(nil))

	ev := events.APIGatewayV2HTTPRequest{
		Version:        "2.0",
		RouteKey:       "POST /webhooks/pagerduty",
		RawPath:        "/webhooks/pagerduty",
		RawQueryString: "source=pagerduty&tag=a&tag=b%20c",
		Cookies:        []string{"session=abc", "theme=dark"},
		Headers: map[string]string{
			"content-type":          "application/json; charset=utf-8",
			"content-length":        strconv.Itoa(len(pagerDutyBody)),
			"host":                  "a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com",
			"x-pagerduty-signature": signature,
			"x-webhook-tag":         "first,second", // two headers, joined by API Gateway
		},
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RouteKey:  "POST /webhooks/pagerduty",
			Stage:     "$default",
			RequestID: "OJ2cLhZQjoEEMYQ=",
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method: "POST", Path: "/webhooks/pagerduty", Protocol: "HTTP/1.1", SourceIP: "2001:db8::7",
			},
		},
		Body:            base64.StdEncoding.EncodeToString(pagerDutyBody),
		IsBase64Encoded: true,
	}

	var got seen
	var signatureOK bool
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		record(&got)(w, r)
		m := hmac.New(sha256.New, []byte(secret))
		m.Write(got.body)
		signatureOK = r.Header.Get("X-Pagerduty-Signature") == "v1="+hex.EncodeToString(m.Sum(nil))
		w.WriteHeader(http.StatusAccepted)
	})
	resp, err := Handler(h)(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}

	if !bytes.Equal(got.body, pagerDutyBody) {
		t.Errorf("body = %q, want %q", got.body, pagerDutyBody)
	}
	if !signatureOK {
		t.Error("signature over the received body does not match")
	}
	if got.contentLength != int64(len(pagerDutyBody)) {
		t.Errorf("ContentLength = %d, want %d", got.contentLength, len(pagerDutyBody))
	}
	for _, c := range []struct{ name, got, want string }{
		{"method", got.method, "POST"},
		{"path", got.path, "/webhooks/pagerduty"},
		{"query", got.query, "source=pagerduty&tag=a&tag=b%20c"},
		{"request URI", got.requestURI, "/webhooks/pagerduty?source=pagerduty&tag=a&tag=b%20c"},
		{"content type", got.header.Get("Content-Type"), "application/json; charset=utf-8"},
		{"joined header", got.header.Get("X-Webhook-Tag"), "first,second"},
		{"remote addr", got.remoteAddr, "[2001:db8::7]:0"},
	} {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
	var cookies []string
	for _, c := range got.cookies {
		cookies = append(cookies, c.Name+"="+c.Value)
	}
	if !slices.Equal(cookies, []string{"session=abc", "theme=dark"}) {
		t.Errorf("cookies = %v", cookies)
	}
	if got.hasClaims {
		t.Errorf("claims %v on a route without an authorizer", got.claims)
	}
	if got.identityErr == nil {
		t.Error("GatewayAuthenticator accepted a request without claims")
	}
	if resp.StatusCode != http.StatusAccepted || resp.Body != "" {
		t.Errorf("response = %d %q, want 202 with no body", resp.StatusCode, resp.Body)
	}
}

func TestResponse(t *testing.T) {
	binary := []byte{0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0x00, 0xff, 0xfe}
	tests := []struct {
		name     string
		handler  http.HandlerFunc
		want     events.APIGatewayV2HTTPResponse
		wantBody []byte
	}{
		{
			name:    "nothing written",
			handler: func(w http.ResponseWriter, r *http.Request) {},
			want:    events.APIGatewayV2HTTPResponse{StatusCode: 200, Headers: map[string]string{}},
		},
		{
			name: "headers and cookies",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.Header().Add("Vary", "Accept")
				w.Header().Add("Vary", "Authorization")
				w.Header().Add("Set-Cookie", "a=1; Path=/; HttpOnly")
				w.Header().Add("Set-Cookie", "b=2; Secure")
				w.WriteHeader(http.StatusCreated)
				w.Header().Set("X-Too-Late", "1") // after the status: not sent
				w.WriteHeader(http.StatusInternalServerError)
				io.WriteString(w, `{"id":"inc-1"}`)
			},
			want: events.APIGatewayV2HTTPResponse{
				StatusCode: 201,
				Headers:    map[string]string{"Content-Type": "application/json", "Vary": "Accept, Authorization"},
				Cookies:    []string{"a=1; Path=/; HttpOnly", "b=2; Secure"},
				Body:       `{"id":"inc-1"}`,
			},
		},
		{
			name: "informational status ignored",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusEarlyHints)
				w.WriteHeader(http.StatusNotFound)
			},
			want: events.APIGatewayV2HTTPResponse{StatusCode: 404, Headers: map[string]string{}},
		},
		{
			name: "content type sniffed",
			handler: func(w http.ResponseWriter, r *http.Request) {
				io.WriteString(w, "ok")
				io.WriteString(w, "<html>") // only the first write is sniffed
			},
			want: events.APIGatewayV2HTTPResponse{
				StatusCode: 200,
				Headers:    map[string]string{"Content-Type": "text/plain; charset=utf-8"},
				Body:       "ok<html>",
			},
		},
		{
			name: "binary body in base64",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "image/png")
				w.Write(binary[:4])
				w.Write(binary[4:])
			},
			want: events.APIGatewayV2HTTPResponse{
				StatusCode:      200,
				Headers:         map[string]string{"Content-Type": "image/png"},
				Body:            base64.StdEncoding.EncodeToString(binary),
				IsBase64Encoded: true,
			},
			wantBody: binary,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := events.APIGatewayV2HTTPRequest{
				RawPath:        "/",
				RequestContext: events.APIGatewayV2HTTPRequestContext{HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "GET"}},
			}
			got, err := Handler(tt.handler)(context.Background(), ev)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("response =\n%+v\nwant\n%+v", got, tt.want)
			}
			if tt.wantBody != nil {
				body, err := base64.StdEncoding.DecodeString(got.Body)
				if err != nil || !bytes.Equal(body, tt.wantBody) {
					t.Errorf("decoded body = %x (%v), want %x", body, err, tt.wantBody)
				}
			}
		})
	}
}

func TestRequestPath(t *testing.T) {
	tests := []struct {
		name, rawPath, httpPath, stage string
		wantPath, wantRawPath          string
	}{
		{"raw path", "/incidents/inc-1", "/ignored", "$default", "/incidents/inc-1", ""},
		{"context path when no raw path", "", "/incidents", "$default", "/incidents", ""},
		{"escaped segment kept", "/incidents/a%2Fb", "", "$default", "/incidents/a/b", "/incidents/a%2Fb"},
		{"named stage removed", "/prod/incidents", "", "prod", "/incidents", ""},
		{"named stage root", "/prod", "", "prod", "/", ""},
		{"stage name as a word prefix kept", "/production/x", "", "prod", "/production/x", ""},
		{"double slash is a path, not a host", "//evil.example/x", "", "$default", "//evil.example/x", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := events.APIGatewayV2HTTPRequest{RawPath: tt.rawPath}
			ev.RequestContext.Stage = tt.stage
			ev.RequestContext.HTTP = events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "GET", Path: tt.httpPath}
			r, err := NewRequest(context.Background(), ev)
			if err != nil {
				t.Fatal(err)
			}
			if r.URL.Path != tt.wantPath || r.URL.RawPath != tt.wantRawPath || r.URL.Host != "" {
				t.Errorf("URL = path %q raw %q host %q, want path %q raw %q", r.URL.Path, r.URL.RawPath, r.URL.Host, tt.wantPath, tt.wantRawPath)
			}
		})
	}
}

func TestNewRequestRejectsBrokenEvents(t *testing.T) {
	get := events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "GET"}
	tests := []struct {
		name string
		ev   events.APIGatewayV2HTTPRequest
	}{
		{"no method", events.APIGatewayV2HTTPRequest{RawPath: "/"}},
		{"bad base64", events.APIGatewayV2HTTPRequest{RawPath: "/", Body: "not base64!", IsBase64Encoded: true,
			RequestContext: events.APIGatewayV2HTTPRequestContext{HTTP: get}}},
		{"relative path", events.APIGatewayV2HTTPRequest{RawPath: "incidents",
			RequestContext: events.APIGatewayV2HTTPRequestContext{HTTP: get}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			called := false
			_, err := Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { called = true }))(context.Background(), tt.ev)
			if err == nil || called {
				t.Errorf("err = %v, handler called %v; want an error and no call", err, called)
			}
		})
	}
}
