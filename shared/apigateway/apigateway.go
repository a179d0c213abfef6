// Package apigateway runs a plain net/http handler as the Lambda behind an
// API Gateway HTTP API (payload format 2.0). The same handler serves
// 127.0.0.1 in the local stack, so nothing in it knows about Lambda.
package apigateway

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"

	"github.com/dashboarduz/incident-response/shared/auth"
)

// Handler adapts h to a Lambda handler for API Gateway HTTP API events.
// Each event becomes one *http.Request; what h writes becomes the
// response. The JWT authorizer's claims, when the route has one, are put
// into the request's context with auth.WithClaims for
// auth.GatewayAuthenticator to read. An event that cannot be turned into
// a request (which API Gateway never sends) fails the invocation, which
// API Gateway answers with a 500.
func Handler(h http.Handler) func(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return func(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		r, err := NewRequest(ctx, req)
		if err != nil {
			return events.APIGatewayV2HTTPResponse{}, err
		}
		w := NewResponseWriter()
		h.ServeHTTP(w, r)
		return w.Response(), nil
	}
}

// NewRequest builds the server-side *http.Request that event stands for,
// with ctx (plus the authorizer's claims) as its context.
func NewRequest(ctx context.Context, event events.APIGatewayV2HTTPRequest) (*http.Request, error) {
	rc := event.RequestContext
	method := rc.HTTP.Method
	if method == "" {
		return nil, fmt.Errorf("api gateway event %s has no method", rc.RequestID)
	}
	u, err := requestURL(event)
	if err != nil {
		return nil, fmt.Errorf("api gateway event %s: %w", rc.RequestID, err)
	}

	// The raw bytes must reach the handler unchanged: webhook signatures
	// are computed over them.
	var body []byte
	if event.IsBase64Encoded {
		body, err = base64.StdEncoding.DecodeString(event.Body)
		if err != nil {
			return nil, fmt.Errorf("api gateway event %s: decode base64 body: %w", rc.RequestID, err)
		}
	} else {
		body = []byte(event.Body)
	}

	if rc.Authorizer != nil && rc.Authorizer.JWT != nil && rc.Authorizer.JWT.Claims != nil {
		ctx = auth.WithClaims(ctx, rc.Authorizer.JWT.Claims)
	}
	r, err := http.NewRequestWithContext(ctx, method, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("api gateway event %s: %w", rc.RequestID, err)
	}
	// Make it look like a request net/http's server received, not one a
	// client is about to send.
	r.URL = u
	r.RequestURI = u.RequestURI()
	r.Proto = "HTTP/1.1"
	if p := rc.HTTP.Protocol; p != "" {
		if major, minor, ok := http.ParseHTTPVersion(p); ok {
			r.Proto, r.ProtoMajor, r.ProtoMinor = p, major, minor
		}
	}
	r.Header = make(http.Header, len(event.Headers)+1)
	for name, value := range event.Headers {
		// API Gateway lower-cases names and has already joined repeated
		// headers with commas, which means the same in HTTP for every
		// header but Set-Cookie (a response header).
		r.Header.Set(name, value)
	}
	if len(event.Cookies) > 0 {
		// Payload 2.0 moves the Cookie header into Cookies.
		r.Header.Set("Cookie", strings.Join(event.Cookies, "; "))
	}
	r.Host = r.Header.Get("Host")
	if r.Host == "" {
		r.Host = rc.DomainName
	}
	r.Header.Del("Host") // net/http's server keeps it only in r.Host.
	if rc.HTTP.SourceIP != "" {
		// Port 0 keeps net.SplitHostPort working on RemoteAddr; API
		// Gateway does not say which port the client used.
		r.RemoteAddr = net.JoinHostPort(rc.HTTP.SourceIP, "0")
	}
	r.ContentLength = int64(len(body))
	if len(body) > 0 {
		r.Body = io.NopCloser(bytes.NewReader(body))
	} else {
		r.Body = http.NoBody
	}
	r.GetBody = nil
	return r, nil
}

// requestURL is the path and query of the request, parsed as net/http's
// server parses a request line. On a named stage (not $default), API
// Gateway prefixes the path with the stage name, which the routes do not
// include, so it is removed.
func requestURL(event events.APIGatewayV2HTTPRequest) (*url.URL, error) {
	path := event.RawPath
	if path == "" {
		path = event.RequestContext.HTTP.Path
	}
	if stage := event.RequestContext.Stage; stage != "" && stage != "$default" {
		prefix := "/" + stage
		if path == prefix {
			path = "/"
		} else if strings.HasPrefix(path, prefix+"/") {
			path = strings.TrimPrefix(path, prefix)
		}
	}
	if !strings.HasPrefix(path, "/") {
		return nil, fmt.Errorf("path %q is not absolute", path)
	}
	u, err := url.ParseRequestURI(path)
	if err != nil {
		return nil, fmt.Errorf("parse path: %w", err)
	}
	u.RawQuery = event.RawQueryString
	return u, nil
}

// ResponseWriter is an http.ResponseWriter that keeps the response in
// memory for Response to turn into API Gateway's response event.
type ResponseWriter struct {
	header http.Header
	// sent is the header as it was when the status was written: as with
	// net/http, later changes to Header() are not sent.
	sent   http.Header
	status int
	body   bytes.Buffer
}

// NewResponseWriter returns an empty ResponseWriter.
func NewResponseWriter() *ResponseWriter {
	return &ResponseWriter{header: make(http.Header)}
}

// Header returns the response headers, which the handler may change until
// it writes the status or the body.
func (w *ResponseWriter) Header() http.Header { return w.header }

// WriteHeader records the status code. As with net/http, only the first
// final status counts; 1xx informational codes are dropped because API
// Gateway cannot send them.
func (w *ResponseWriter) WriteHeader(status int) {
	if w.sent != nil || status < 200 || status > 999 {
		return
	}
	w.status = status
	w.sent = w.header.Clone()
}

// Write appends to the body, writing status 200 first if no status was
// written.
func (w *ResponseWriter) Write(p []byte) (int, error) {
	if w.sent == nil {
		w.WriteHeader(http.StatusOK)
	}
	if w.body.Len() == 0 && len(p) > 0 {
		// net/http's server sets a missing Content-Type from the first
		// bytes of the body; doing the same keeps the local and Lambda
		// responses alike.
		if _, set := w.sent["Content-Type"]; !set {
			w.sent.Set("Content-Type", http.DetectContentType(p))
		}
	}
	return w.body.Write(p)
}

// Flush does nothing: API Gateway sends the response only once the
// function returns. It lets handlers that flush run unchanged.
func (w *ResponseWriter) Flush() {}

// Response is the recorded response as API Gateway's response event:
// status 200 when none was written, one value per header (repeated ones
// joined with ", "), Set-Cookie headers as Cookies, and the body as text,
// or base64 when it is not valid UTF-8.
func (w *ResponseWriter) Response() events.APIGatewayV2HTTPResponse {
	status, header := w.status, w.sent
	if header == nil {
		status, header = http.StatusOK, w.header
	}
	resp := events.APIGatewayV2HTTPResponse{StatusCode: status, Headers: make(map[string]string, len(header))}
	for name, values := range header {
		if len(values) == 0 {
			continue
		}
		if name == "Set-Cookie" {
			resp.Cookies = append(resp.Cookies, values...)
			continue
		}
		resp.Headers[name] = strings.Join(values, ", ")
	}
	body := w.body.Bytes()
	if utf8.Valid(body) {
		resp.Body = string(body)
	} else {
		resp.Body = base64.StdEncoding.EncodeToString(body)
		resp.IsBase64Encoded = true
	}
	return resp
}
