package pagerduty

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	pd "github.com/PagerDuty/go-pagerduty"
)

// EventsTimeout bounds one Events API call made by the client NewEventsClient
// builds. PagerDuty answers in well under a second; a call still waiting
// after this long is reported as unavailable and retried by Step Functions,
// which is safe because every event carries a fixed dedup_key.
const EventsTimeout = 10 * time.Second

// EventsAPI is the part of PagerDuty's Events API v2 the Pager uses. It is
// satisfied by *pagerduty.Client from github.com/PagerDuty/go-pagerduty.
type EventsAPI interface {
	ManageEventWithContext(ctx context.Context, e *pd.V2Event) (*pd.V2EventResponse, error)
}

// NewEventsClient returns a go-pagerduty client for the Events API v2 at
// endpoint, the base URL such as "http://127.0.0.1:8080" of a local
// recorder; "" means PagerDuty itself (https://events.pagerduty.com).
//
// Its HTTP client gives up after EventsTimeout and keeps what PagerDuty
// answered on a failed call (status, message, Retry-After), which
// go-pagerduty v1.8.0 would otherwise drop, so the Pager's errors can say
// it.
func NewEventsClient(endpoint string) *pd.Client {
	return newEventsClient(endpoint, EventsTimeout)
}

func newEventsClient(endpoint string, timeout time.Duration) *pd.Client {
	var opts []pd.ClientOptions
	if endpoint != "" {
		endpoint = strings.TrimSuffix(strings.TrimSuffix(endpoint, "/"), "/v2/enqueue")
		opts = append(opts, pd.WithV2EventsAPIEndpoint(endpoint))
	}
	c := pd.NewClient("", opts...)
	c.HTTPClient = &recordingHTTPClient{client: &http.Client{
		Timeout:   timeout,
		Transport: http.DefaultTransport.(*http.Transport).Clone(),
	}}
	return c
}

// exchange is what the HTTP client saw of one Events API call. The Pager
// puts an empty one in the call's context and reads it after the call.
type exchange struct {
	seen       bool
	status     int
	message    string
	retryAfter time.Duration
	err        error
}

type exchangeKey struct{}

func withExchange(ctx context.Context) (context.Context, *exchange) {
	x := &exchange{}
	return context.WithValue(ctx, exchangeKey{}, x), x
}

// recordingHTTPClient is an HTTP client that notes failed answers on the
// request context's exchange and hands go-pagerduty the response unchanged.
type recordingHTTPClient struct {
	client *http.Client
}

// maxErrorBody bounds how much of an error answer is read.
const maxErrorBody = 64 << 10

// Do sends req and notes the outcome when req's context carries an exchange.
func (h *recordingHTTPClient) Do(req *http.Request) (*http.Response, error) {
	resp, err := h.client.Do(req)
	x, _ := req.Context().Value(exchangeKey{}).(*exchange)
	if x == nil {
		return resp, err
	}
	x.seen = true
	if err != nil {
		x.err = err
		return resp, err
	}
	x.status = resp.StatusCode
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		return resp, nil
	}
	x.retryAfter = retryAfter(resp.Header)
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	_ = resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	x.message = errorMessage(resp.Header.Get("Content-Type"), body)
	return resp, nil
}

// errorMessage extracts PagerDuty's explanation from an error answer: the
// Events API's {"status","message","errors"} object, or a short plain-text
// body. Anything else (an HTML page from a load balancer) gives "".
func errorMessage(contentType string, body []byte) string {
	var obj struct {
		Status  string   `json:"status"`
		Message string   `json:"message"`
		Errors  []string `json:"errors"`
		Error   *struct {
			Message string   `json:"message"`
			Errors  []string `json:"errors"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &obj) == nil {
		if obj.Error != nil {
			return joinMessage(obj.Error.Message, obj.Error.Errors)
		}
		msg := obj.Message
		if msg == "" {
			msg = obj.Status
		}
		return joinMessage(msg, obj.Errors)
	}
	mt, _, _ := mime.ParseMediaType(contentType)
	text := strings.TrimSpace(string(body))
	if (mt == "text/plain" || mt == "") && len(text) <= 200 && !strings.ContainsAny(text, "\n<") {
		return text
	}
	return ""
}

// retryAfter reads a Retry-After header in seconds or as an HTTP date,
// measured against the answer's own Date header so no clock is needed.
func retryAfter(h http.Header) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil {
		if s < 0 {
			return 0
		}
		return time.Duration(s) * time.Second
	}
	at, err := http.ParseTime(v)
	if err != nil {
		return 0
	}
	date, err := http.ParseTime(h.Get("Date"))
	if err != nil || !at.After(date) {
		return 0
	}
	return at.Sub(date)
}
