package health

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/dashboarduz/incident-response/shared/incident"
)

// Doer sends HTTP requests; *http.Client implements it.
type Doer interface {
	Do(*http.Request) (*http.Response, error)
}

// DefaultMaxBodyBytes is how much of a body a check reads.
const DefaultMaxBodyBytes = 1 << 20

// userAgent names the checker to the endpoints it calls.
const userAgent = "dashboarduz-incident-response-health-check/1"

// maxFailures bounds the failures one result keeps.
const maxFailures = 10

// Result is the outcome of one check run.
type Result struct {
	Check string    `json:"check"`
	At    time.Time `json:"at"`
	OK    bool      `json:"ok"`
	// Status is the HTTP status; zero when no answer came.
	Status         int   `json:"status,omitempty"`
	ResponseTimeMS int64 `json:"responseTimeMs"`
	// Failures says which conditions failed and why.
	Failures []string `json:"failures,omitempty"`
	// Error says why no answer came: a connection error or a timeout.
	Error string `json:"error,omitempty"`
}

// Reasons is the result's failures and error in one list.
func (r Result) Reasons() []string {
	if r.Error != "" {
		return append([]string{r.Error}, r.Failures...)
	}
	return r.Failures
}

// Checker runs checks over HTTP.
type Checker struct {
	Client Doer
	// Clock is required: it stamps results and times the responses.
	Clock incident.Clock
	// MaxBodyBytes is how much of a body is read; zero means
	// DefaultMaxBodyBytes.
	MaxBodyBytes int64
}

// CheckAll runs every check at once, each within its own timeout, and
// returns the results in the order of the checks.
func (c *Checker) CheckAll(ctx context.Context, checks []Check) []Result {
	results := make([]Result, len(checks))
	var wg sync.WaitGroup
	for i, ch := range checks {
		wg.Go(func() { results[i] = c.Check(ctx, ch) })
	}
	wg.Wait()
	return results
}

// Check calls one endpoint and evaluates the check's conditions on the
// answer. A connection error or a timeout fails the check with the
// reason; so does a body that cannot be read.
func (c *Checker) Check(ctx context.Context, ch Check) Result {
	ctx, cancel := context.WithTimeout(ctx, ch.Timeout.D())
	defer cancel()
	start := c.Clock.Now()
	res := Result{Check: ch.Name, At: start}
	req, err := http.NewRequestWithContext(ctx, ch.Method, ch.URL, nil)
	if err != nil {
		res.Error = fmt.Sprintf("cannot build the request: %v", err)
		return res
	}
	req.Header.Set("User-Agent", userAgent)
	for k, v := range ch.Headers {
		req.Header.Set(k, v)
	}
	resp, err := c.Client.Do(req)
	if err != nil {
		res.ResponseTimeMS = c.Clock.Now().Sub(start).Milliseconds()
		res.Error = requestError(ctx, ch, err)
		return res
	}
	defer resp.Body.Close()
	limit := c.MaxBodyBytes
	if limit <= 0 {
		limit = DefaultMaxBodyBytes
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	elapsed := c.Clock.Now().Sub(start)
	res.Status, res.ResponseTimeMS = resp.StatusCode, elapsed.Milliseconds()
	if err != nil {
		res.Error = "reading the body: " + requestError(ctx, ch, err)
		return res
	}
	r := &Response{Status: resp.StatusCode, ContentType: resp.Header.Get("Content-Type"), Body: body, Elapsed: elapsed}
	if int64(len(body)) > limit {
		r.Body, r.Truncated = body[:limit], true
	}
	for _, cond := range ch.Parsed() {
		res.Failures = append(res.Failures, cond.Evaluate(r)...)
	}
	if len(res.Failures) > maxFailures {
		res.Failures = append(res.Failures[:maxFailures], fmt.Sprintf("and %d more failures", len(res.Failures)-maxFailures))
	}
	res.OK = len(res.Failures) == 0
	return res
}

// requestError says in words why a request got no answer.
func requestError(ctx context.Context, ch Check, err error) string {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Sprintf("no answer within the %s timeout (%s %s)", ch.Timeout.D(), ch.Method, ch.URL)
	}
	return fmt.Sprintf("request failed: %v", err)
}
