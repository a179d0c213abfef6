package statuspage

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// newTestHandler serves the scenario's state name from a fake source on
// a fake clock.
func newTestHandler(t *testing.T, state string, cacheFor time.Duration) (*Handler, *fakeSource, *fakeClock) {
	t.Helper()
	src, clock := &fakeSource{}, &fakeClock{}
	for _, s := range scenario() {
		if s.name == state {
			src.Set(s.public(), nil)
			clock.Set(s.now)
		}
	}
	h, err := NewHandler(HandlerConfig{Source: src, Clock: clock, CacheFor: cacheFor, Page: Config{URL: "https://status.example.com/status"}})
	if err != nil {
		t.Fatal(err)
	}
	return h, src, clock
}

func get(h http.Handler, path string, header ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodGet, path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestHandlerServesEachFormat(t *testing.T) {
	h, _, _ := newTestHandler(t, "update-posted", 0)
	for _, c := range []struct {
		path, contentType, contains string
	}{
		{PathHTML, "text/html; charset=utf-8", "<h3>API unavailable</h3>"},
		{PathJSON, "application/json", `"title":"API unavailable"`},
		{PathAtom, "application/atom+xml; charset=utf-8", "<title>Mitigating: API unavailable</title>"},
	} {
		w := get(h, c.path)
		if w.Code != http.StatusOK {
			t.Fatalf("%s: %d %s", c.path, w.Code, w.Body)
		}
		hdr := w.Header()
		if got := hdr.Get("Content-Type"); got != c.contentType {
			t.Errorf("%s: Content-Type %q", c.path, got)
		}
		if got := hdr.Get("Cache-Control"); got != "public, max-age=30" {
			t.Errorf("%s: Cache-Control %q", c.path, got)
		}
		if got := hdr.Get("ETag"); got != ETag(w.Body.Bytes()) {
			t.Errorf("%s: ETag %q is not the body's hash", c.path, got)
		}
		if hdr.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: no nosniff", c.path)
		}
		if !strings.Contains(w.Body.String(), c.contains) {
			t.Errorf("%s: body has no %q", c.path, c.contains)
		}
	}
	csp := get(h, PathHTML).Header().Get("Content-Security-Policy")
	if !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "style-src "+StyleHash) || strings.Contains(csp, "script-src") {
		t.Errorf("CSP %q", csp)
	}
	if get(h, PathJSON).Header().Get("Access-Control-Allow-Origin") != "*" {
		t.Error("the JSON is public data that other sites may read")
	}
}

func TestHandlerConditionalGet(t *testing.T) {
	h, _, _ := newTestHandler(t, "incident-open", 0)
	first := get(h, PathHTML)
	etag := first.Header().Get("ETag")
	if !strings.HasPrefix(etag, `"`) || !strings.HasSuffix(etag, `"`) || len(etag) < 10 {
		t.Fatalf("ETag %q is not a strong tag", etag)
	}
	for _, inm := range []string{etag, `"other", ` + etag, "W/" + etag, "*"} {
		w := get(h, PathHTML, "If-None-Match", inm)
		if w.Code != http.StatusNotModified {
			t.Errorf("If-None-Match %s: %d, want 304", inm, w.Code)
		}
		if w.Body.Len() != 0 {
			t.Errorf("304 with a body")
		}
		if w.Header().Get("ETag") != etag || w.Header().Get("Cache-Control") != "public, max-age=30" {
			t.Errorf("304 headers %v", w.Header())
		}
	}
	if w := get(h, PathHTML, "If-None-Match", `"stale"`); w.Code != http.StatusOK || w.Body.Len() == 0 {
		t.Errorf("a stale tag got %d", w.Code)
	}
	// Each format has its own tag.
	if get(h, PathJSON).Header().Get("ETag") == etag {
		t.Error("the JSON has the HTML's tag")
	}
	if w := get(h, PathJSON, "If-None-Match", etag); w.Code != http.StatusOK {
		t.Errorf("the HTML's tag matched the JSON: %d", w.Code)
	}
}

func TestHandlerETagFollowsContent(t *testing.T) {
	h, src, clock := newTestHandler(t, "incident-open", 0)
	before := get(h, PathHTML).Header().Get("ETag")
	// Later, with nothing new: same content, same tag, on any instance.
	clock.Set(clock.Now().Add(time.Minute))
	if got := get(h, PathHTML).Header().Get("ETag"); got != before {
		t.Errorf("tag changed without new content: %s -> %s", before, got)
	}
	h2, err := NewHandler(HandlerConfig{Source: src, Clock: clock, Page: Config{URL: "https://status.example.com/status"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := get(h2, PathHTML).Header().Get("ETag"); got != before {
		t.Errorf("another instance gives another tag: %s, %s", before, got)
	}
	// An update is posted: a new tag once the cache expires.
	for _, s := range scenario() {
		if s.name == "update-posted" {
			src.Set(s.public(), nil)
		}
	}
	clock.Set(clock.Now().Add(DefaultCacheFor))
	w := get(h, PathHTML, "If-None-Match", before)
	if w.Code != http.StatusOK || w.Header().Get("ETag") == before {
		t.Errorf("after an update: %d with tag %s", w.Code, w.Header().Get("ETag"))
	}
}

func TestHandlerRoutes(t *testing.T) {
	h, _, _ := newTestHandler(t, "no-incident", 0)
	for _, p := range []string{"/", "/status/", "/status.xml", "/statusx"} {
		if w := get(h, p); w.Code != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", p, w.Code)
		}
	}
	r := httptest.NewRequest(http.MethodPost, PathHTML, nil)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusMethodNotAllowed || w.Header().Get("Allow") != "GET, HEAD" {
		t.Errorf("POST: %d, Allow %q", w.Code, w.Header().Get("Allow"))
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, err := http.Head(srv.URL + PathJSON)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || len(body) != 0 || resp.Header.Get("ETag") == "" || resp.ContentLength <= 0 {
		t.Errorf("HEAD: %d, %d bytes, ETag %q, length %d", resp.StatusCode, len(body), resp.Header.Get("ETag"), resp.ContentLength)
	}
}

func TestNewHandlerNeedsSource(t *testing.T) {
	if _, err := NewHandler(HandlerConfig{}); err == nil {
		t.Error("no error without a source")
	}
}

func TestHandlerCachesForAWhile(t *testing.T) {
	h, src, clock := newTestHandler(t, "incident-open", 0)
	start := clock.Now()
	for range 5 {
		get(h, PathHTML)
		get(h, PathJSON)
	}
	if n := src.reads.Load(); n != 1 {
		t.Errorf("%d reads within the cache period, want 1", n)
	}
	if want := time.Date(2025, 12, 2, 0, 0, 0, 0, time.UTC); !src.since.Equal(want) {
		t.Errorf("asked for incidents since %s, want the history's first day %s", src.since, want)
	}
	clock.Set(start.Add(DefaultCacheFor - time.Nanosecond))
	get(h, PathAtom)
	if n := src.reads.Load(); n != 1 {
		t.Errorf("%d reads just before expiry, want 1", n)
	}
	clock.Set(start.Add(DefaultCacheFor))
	get(h, PathAtom)
	if n := src.reads.Load(); n != 2 {
		t.Errorf("%d reads after expiry, want 2", n)
	}
}

func TestHandlerBurstCostsOneRead(t *testing.T) {
	h, src, _ := newTestHandler(t, "update-posted", 0)
	gate := make(chan struct{})
	src.mu.Lock()
	src.gate = gate
	src.mu.Unlock()

	const readers = 200
	var wg sync.WaitGroup
	codes := make([]int, readers)
	tags := make([]string, readers)
	paths := []string{PathHTML, PathJSON, PathAtom}
	for i := range readers {
		wg.Go(func() {
			w := get(h, paths[i%3])
			codes[i], tags[i] = w.Code, w.Header().Get("ETag")
		})
	}
	// Let the readers pile up behind the first read, then release it.
	deadline := time.Now().Add(5 * time.Second)
	for src.reads.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond)
	close(gate)
	wg.Wait()

	if n := src.reads.Load(); n != 1 {
		t.Errorf("%d reads of the source for a burst of %d readers, want 1", n, readers)
	}
	for i := range readers {
		if codes[i] != http.StatusOK || tags[i] != tags[i%3] {
			t.Fatalf("reader %d: %d, tag %s (reader %d had %s)", i, codes[i], tags[i], i%3, tags[i%3])
		}
	}
}

// TestHandlerNoCacheReadsEachTime: with caching off (CacheFor < 0), each
// request after the last one finished reads the source again.
func TestHandlerNoCacheReadsEachTime(t *testing.T) {
	h, src, _ := newTestHandler(t, "no-incident", -1)
	get(h, PathHTML)
	get(h, PathHTML)
	if n := src.reads.Load(); n != 2 {
		t.Errorf("%d reads with caching off, want 2", n)
	}
}

func TestHandlerSourceFailure(t *testing.T) {
	h, src, clock := newTestHandler(t, "incident-open", 0)
	src.Set(nil, errors.New("dynamodb: throttled"))
	w := get(h, PathHTML)
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Cache-Control") != "no-store" || w.Header().Get("Retry-After") == "" {
		t.Errorf("no page yet: %d %v", w.Code, w.Header())
	}
	if strings.Contains(w.Body.String(), "dynamodb") {
		t.Error("the error's detail reached the visitor")
	}

	// Once a page was built, a failing source serves it for a while.
	for _, s := range scenario() {
		if s.name == "incident-open" {
			src.Set(s.public(), nil)
		}
	}
	clock.Set(clock.Now().Add(DefaultCacheFor))
	good := get(h, PathHTML)
	if good.Code != http.StatusOK {
		t.Fatalf("recovered: %d", good.Code)
	}
	src.Set(nil, errors.New("dynamodb: throttled"))
	clock.Set(clock.Now().Add(DefaultCacheFor))
	reads := src.reads.Load()
	if w := get(h, PathHTML); w.Code != http.StatusOK || w.Header().Get("ETag") != good.Header().Get("ETag") {
		t.Errorf("stale page not served: %d", w.Code)
	}
	// ... without asking the failing source on every request.
	get(h, PathHTML)
	if n := src.reads.Load() - reads; n != 1 {
		t.Errorf("%d reads of the failing source within a cache period, want 1", n)
	}
	clock.Set(clock.Now().Add(StaleFor))
	if w := get(h, PathHTML); w.Code != http.StatusServiceUnavailable {
		t.Errorf("a page older than StaleFor was served: %d", w.Code)
	}
}

func TestHandlerWaiterGivesUp(t *testing.T) {
	h, src, _ := newTestHandler(t, "no-incident", 0)
	gate := make(chan struct{})
	src.mu.Lock()
	src.gate = gate
	src.mu.Unlock()
	leaderDone := make(chan int)
	go func() { leaderDone <- get(h, PathHTML).Code }()
	for src.reads.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	r := httptest.NewRequestWithContext(ctx, http.MethodGet, PathHTML, nil)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusServiceUnavailable {
		t.Errorf("a reader whose request ended got %d", w.Code)
	}
	close(gate)
	if code := <-leaderDone; code != http.StatusOK {
		t.Errorf("leader got %d", code)
	}
}
