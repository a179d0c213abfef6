package statuspage

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/dashboarduz/incident-response/shared/incident"
)

// Source reads the public incidents: every incident with a public title
// that is open or was resolved at or after since, with its public updates
// only. The storage adapter implements it.
type Source interface {
	PublicIncidents(ctx context.Context, since time.Time) ([]Incident, error)
}

// The paths the handler serves.
const (
	PathHTML = "/status"
	PathJSON = "/status.json"
	PathAtom = "/status.atom"
)

// Handler defaults.
const (
	// DefaultMaxAge is how long browsers and shared caches may keep a
	// response: short, since an outage's first update matters most.
	DefaultMaxAge = 30 * time.Second
	// DefaultCacheFor is how long the handler keeps a rendered page: a
	// burst of readers (an outage sends everyone to the page at once)
	// costs one read of the source per period.
	DefaultCacheFor = 10 * time.Second
	// StaleFor is how long the last good page is served when the source
	// fails: the status page should stay up when storage does not.
	StaleFor = 10 * time.Minute
	// fetchTimeout bounds one read of the source; it does not depend on
	// the request that started it, since other readers wait for it too.
	fetchTimeout = 10 * time.Second
)

// HandlerConfig configures NewHandler.
type HandlerConfig struct {
	// Page says what the page shows.
	Page Config
	// Source reads the public incidents; required.
	Source Source
	// Clock dates the page; the system clock when nil.
	Clock incident.Clock
	// MaxAge is the Cache-Control max-age; DefaultMaxAge when zero.
	MaxAge time.Duration
	// CacheFor is how long a rendered page is reused; DefaultCacheFor
	// when zero, and never when negative (concurrent readers still share
	// one read).
	CacheFor time.Duration
}

// format is one of the page's representations.
type format int

const (
	formatHTML format = iota
	formatJSON
	formatAtom
	formatCount
)

// representation is one rendered format of a page.
type representation struct {
	body        []byte
	etag        string
	contentType string
}

// snapshot is the page rendered in every format at one time.
type snapshot struct {
	reps  [formatCount]representation
	built time.Time
}

// fetch is one read of the source that concurrent readers share.
type fetch struct {
	done chan struct{}
	snap *snapshot
	err  error
}

// Handler serves GET and HEAD on PathHTML, PathJSON and PathAtom. It is
// safe for concurrent use: readers share one rendered page per CacheFor,
// and readers arriving while it is being built wait for that build
// instead of starting their own. Responses carry a strong ETag (a hash of
// the body) and answer a matching If-None-Match with 304.
type Handler struct {
	cfg          HandlerConfig
	cacheControl string

	mu       sync.Mutex
	snap     *snapshot // the newest good page
	checked  time.Time // when the source was last asked, successfully or not
	inflight *fetch
}

// NewHandler returns the status page handler.
func NewHandler(cfg HandlerConfig) (*Handler, error) {
	if cfg.Source == nil {
		return nil, errors.New("status page: no source")
	}
	if cfg.Clock == nil {
		cfg.Clock = incident.SystemClock{}
	}
	if cfg.MaxAge == 0 {
		cfg.MaxAge = DefaultMaxAge
	}
	if cfg.CacheFor == 0 {
		cfg.CacheFor = DefaultCacheFor
	}
	cfg.Page = cfg.Page.WithDefaults()
	return &Handler{cfg: cfg, cacheControl: "public, max-age=" + strconv.Itoa(int(cfg.MaxAge.Seconds()))}, nil
}

// contentSecurityPolicy allows the page nothing but its own inline style:
// no scripts, images, frames or form posts.
var contentSecurityPolicy = "default-src 'none'; style-src " + StyleHash + "; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// ServeHTTP serves one of the page's representations.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var f format
	switch r.URL.Path {
	case PathHTML:
		f = formatHTML
	case PathJSON:
		f = formatJSON
	case PathAtom:
		f = formatAtom
	default:
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	snap, err := h.current(r.Context())
	if err != nil {
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Retry-After", "30")
		http.Error(w, "The status page is temporarily unavailable.", http.StatusServiceUnavailable)
		return
	}
	rep := snap.reps[f]
	hdr := w.Header()
	hdr.Set("Content-Type", rep.contentType)
	hdr.Set("ETag", rep.etag)
	hdr.Set("Cache-Control", h.cacheControl)
	hdr.Set("X-Content-Type-Options", "nosniff")
	if f == formatHTML {
		hdr.Set("Content-Security-Policy", contentSecurityPolicy)
	} else {
		// Public data: other sites may show it.
		hdr.Set("Access-Control-Allow-Origin", "*")
	}
	// ServeContent answers If-None-Match (304), HEAD and ranges.
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(rep.body))
}

// current returns the page to serve: the cached one while it is fresh,
// else the result of one read of the source shared by every reader
// asking meanwhile.
func (h *Handler) current(ctx context.Context) (*snapshot, error) {
	h.mu.Lock()
	if h.snap != nil && h.cfg.Clock.Now().Sub(h.checked) < h.cfg.CacheFor {
		s := h.snap
		h.mu.Unlock()
		return s, nil
	}
	f := h.inflight
	leader := f == nil
	if leader {
		f = &fetch{done: make(chan struct{})}
		h.inflight = f
	}
	h.mu.Unlock()

	if leader {
		h.refresh(ctx, f)
	}
	select {
	case <-f.done:
		return f.snap, f.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// refresh reads the source and renders the page, then hands the result
// to every reader waiting on f. When the source fails, the last good page
// is served until it is StaleFor old.
func (h *Handler) refresh(ctx context.Context, f *fetch) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), fetchTimeout)
	defer cancel()
	snap, err := h.build(ctx)

	h.mu.Lock()
	defer h.mu.Unlock()
	now := h.cfg.Clock.Now()
	h.checked = now
	h.inflight = nil
	switch {
	case err == nil:
		h.snap = snap
		f.snap = snap
	case h.snap != nil && now.Sub(h.snap.built) < StaleFor:
		slog.ErrorContext(ctx, "status page: serving the last good page", "builtAt", h.snap.built, "error", err)
		f.snap = h.snap
	default:
		slog.ErrorContext(ctx, "status page: no page to serve", "error", err)
		f.err = err
	}
	close(f.done)
}

// build reads the source and renders every format.
func (h *Handler) build(ctx context.Context) (*snapshot, error) {
	now := h.cfg.Clock.Now().UTC()
	since := day(now).AddDate(0, 0, -(h.cfg.Page.Days - 1))
	incidents, err := h.cfg.Source.PublicIncidents(ctx, since)
	if err != nil {
		return nil, fmt.Errorf("status page: read public incidents since %s: %w", since.Format(time.DateOnly), err)
	}
	page := Build(h.cfg.Page, incidents, now)
	snap := &snapshot{built: now}
	for _, r := range []struct {
		f           format
		contentType string
		write       func(io.Writer, Page) error
	}{
		{formatHTML, "text/html; charset=utf-8", WriteHTML},
		{formatJSON, "application/json", WriteJSON},
		{formatAtom, "application/atom+xml; charset=utf-8", WriteAtom},
	} {
		var buf bytes.Buffer
		if err := r.write(&buf, page); err != nil {
			return nil, err
		}
		snap.reps[r.f] = representation{body: buf.Bytes(), etag: ETag(buf.Bytes()), contentType: r.contentType}
	}
	return snap, nil
}

// ETag is the strong entity tag of a body: a hash of its bytes, so equal
// content has an equal tag on every instance of the function.
func ETag(body []byte) string {
	sum := sha256.Sum256(body)
	return `"` + base64.RawURLEncoding.EncodeToString(sum[:18]) + `"`
}
