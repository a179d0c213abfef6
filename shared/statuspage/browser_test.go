package statuspage

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromiumPath is Debian's chromium, the browser CI installs.
const chromiumPath = "/usr/bin/chromium"

// screenshotDir is where the browser test writes what a visitor sees,
// relative to the repository root (gitignored under build/).
const screenshotDir = "build/screenshots"

// findChromium returns the browser to drive, or skips the test saying
// what is missing; under CI (CI set) a missing browser fails instead,
// since CI installs chromium and never skips the browser tests.
func findChromium(t testing.TB) string {
	return requireBrowser(t, chromiumPath, os.Getenv("CI"))
}

func requireBrowser(t testing.TB, path, ci string) string {
	t.Helper()
	if fi, err := os.Stat(path); err == nil && !fi.IsDir() {
		return path
	}
	msg := "chromium is not installed (" + path + "): apt-get update && apt-get install -y chromium"
	if ci != "" {
		t.Fatalf("%s; CI must install it (.ci/run does)", msg)
		return ""
	}
	t.Skip(msg + "; the browser tests run in CI")
	return ""
}

// repoRoot is the folder holding go.mod.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's folder")
		}
		dir = parent
	}
}

// newBrowser starts headless chromium with a fresh profile and the flags
// that keep it off the network it cannot reach here.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	path := findChromium(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
	)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(cancelAlloc)
	browserCtx, cancelBrowser := chromedp.NewContext(allocCtx)
	t.Cleanup(cancelBrowser)
	// Start the browser now, so a failure to start is reported as such.
	if err := chromedp.Do(browserCtx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return browserCtx
}

// viewport is a window size a visitor might have.
type viewport struct {
	name          string
	width, height int64
	phone         bool
}

var viewports = []viewport{
	{name: "desktop", width: 1280, height: 800},
	{name: "phone", width: 390, height: 844, phone: true},
}

// visitorView is what the page shows a visitor, read in the browser.
type visitorView struct {
	Overall     string  `json:"overall"`
	API         string  `json:"api"`
	Worker      string  `json:"worker"`
	Database    string  `json:"database"`
	Text        string  `json:"text"`
	HTML        string  `json:"html"`
	ScrollWidth float64 `json:"scrollWidth"`
	InnerWidth  float64 `json:"innerWidth"`
	Widest      float64 `json:"widest"`
	VisibleDays int     `json:"visibleDays"`
	Scripts     int     `json:"scripts"`
}

// readView is the script that reads a visitorView: innerText holds only
// what is rendered, so text hidden by CSS does not count as seen.
const readView = `(() => {
  const text = sel => { const el = document.querySelector(sel); return el ? el.innerText.trim() : ""; };
  let widest = 0;
  for (const el of document.body.querySelectorAll("*")) {
    widest = Math.max(widest, el.getBoundingClientRect().right);
  }
  return {
    overall: text("#overall"),
    api: text("#component-dashboarduz-api .state"),
    worker: text("#component-dashboarduz-worker .state"),
    database: text("#component-dashboarduz-production-db .state"),
    text: document.body.innerText,
    html: document.documentElement.outerHTML,
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: window.innerWidth,
    widest: widest,
    visibleDays: [...document.querySelectorAll("#component-dashboarduz-api .day")]
      .filter(el => getComputedStyle(el).display !== "none").length,
    scripts: document.scripts.length,
  };
})()`

// expectation is what a visitor must and must not see in one state.
type expectation struct {
	overall, api string
	see, notSee  []string
	// before: each pair's first text appears above its second.
	before [][2]string
}

var expectations = map[string]expectation{
	"no-incident": {
		overall: "All systems operational", api: "Operational",
		see:    []string{"Components", "API", "Background jobs", "Database", "Past incidents", "Slow dashboards", "Dashboards load normally again.", "% uptime"},
		notSee: []string{"Current incidents", "API unavailable"},
	},
	"incident-open": {
		overall: "Major outage", api: "Major outage",
		see:    []string{"Current incidents", "API unavailable", "Investigating", "We are investigating errors on the API. Dashboards may fail to load.", "Started 1 Mar 2026 03:00 UTC"},
		notSee: []string{"All systems operational", "Mitigating"},
		before: [][2]string{{"Current incidents", "Components"}, {"API unavailable", "Past incidents"}},
	},
	"update-posted": {
		overall: "Major outage", api: "Major outage",
		see:    []string{"API unavailable", "Mitigating", "We found the cause and are rolling back a faulty release.", "We are investigating errors on the API."},
		notSee: []string{"All systems operational"},
		before: [][2]string{{"We found the cause", "We are investigating errors"}},
	},
	"resolved": {
		overall: "All systems operational", api: "Operational",
		see:    []string{"API unavailable", "Resolved 1 Mar 2026 03:45 UTC after 45m", "The API is working normally again.", "Slow dashboards"},
		notSee: []string{"Current incidents"},
		before: [][2]string{{"Past incidents", "API unavailable"}, {"API unavailable", "Slow dashboards"}},
	},
}

func TestBrowser(t *testing.T) {
	browser := newBrowser(t)
	shots := screenshots(t)

	src, clock := &fakeSource{}, &fakeClock{}
	h, err := NewHandler(HandlerConfig{Source: src, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	// Count the browser's revalidations: a reload must send the ETag.
	var revalidations atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == PathHTML && r.Header.Get("If-None-Match") != "" {
			revalidations.Add(1)
		}
		h.ServeHTTP(w, r)
	})) // listens on 127.0.0.1
	t.Cleanup(srv.Close)

	tabs := openTabs(t, browser)
	for i, state := range scenario() {
		src.Set(state.public(), nil)
		clock.Set(state.now)
		want := expectations[state.name]
		for _, vp := range viewports {
			t.Run(state.name+"/"+vp.name, func(t *testing.T) {
				view := visit(t, tabs[vp.name], srv.URL+PathHTML, i > 0, filepath.Join(shots, "statuspage-"+state.name+"-"+vp.name+".png"))
				checkView(t, view, want, vp)
			})
		}
	}
	// Three reloads in each of two tabs.
	if n := revalidations.Load(); n != 6 {
		t.Errorf("the browser revalidated %d times with If-None-Match, want 6", n)
	}
}

// screenshots returns the folder the browser tests write what a visitor
// sees to, created.
func screenshots(t *testing.T) string {
	t.Helper()
	shots := filepath.Join(repoRoot(t), screenshotDir)
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	return shots
}

// openTabs opens one tab per window size, kept across a test's states.
func openTabs(t *testing.T, browser context.Context) map[string]context.Context {
	t.Helper()
	tabs := map[string]context.Context{}
	for _, vp := range viewports {
		tab, cancel := chromedp.NewContext(browser)
		t.Cleanup(cancel)
		opts := []chromedp.EmulateViewportOption{}
		if vp.phone {
			opts = append(opts, chromedp.EmulateScale(2), chromedp.EmulateMobile, chromedp.EmulateTouch)
		}
		if err := chromedp.Do(tab, chromedp.EmulateViewport(vp.width, vp.height, opts...)); err != nil {
			t.Fatalf("%s: emulate: %v", vp.name, err)
		}
		tabs[vp.name] = tab
	}
	return tabs
}

// visit shows the page at url in tab, reads what the visitor sees and
// writes its screenshot to shot. The first visit loads the page; later
// ones reload it, as a visitor would: the response may be cached for
// max-age, so the browser revalidates it with its ETag.
func visit(t *testing.T, tab context.Context, url string, reload bool, shot string) visitorView {
	t.Helper()
	load := chromedp.Navigate(url)
	if reload {
		load = chromedp.Reload()
	}
	if err := chromedp.Do(tab, load); err != nil {
		t.Fatalf("load: %v", err)
	}
	view, err := chromedp.Run(tab, chromedp.Evaluate[visitorView](readView))
	if err != nil {
		t.Fatalf("read the page: %v", err)
	}
	png, err := chromedp.Run(tab, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if err := os.WriteFile(shot, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", shot)
	return view
}

// checkView compares what the visitor saw with the expectation.
func checkView(t *testing.T, v visitorView, want expectation, vp viewport) {
	t.Helper()
	if v.Overall != want.overall {
		t.Errorf("overall status %q, want %q", v.Overall, want.overall)
	}
	if v.API != want.api {
		t.Errorf("API shows %q, want %q", v.API, want.api)
	}
	if v.Worker != "Operational" || v.Database != "Operational" {
		t.Errorf("worker %q, database %q: want both operational", v.Worker, v.Database)
	}
	for _, s := range want.see {
		if !strings.Contains(v.Text, s) {
			t.Errorf("the visitor does not see %q", s)
		}
	}
	for _, s := range want.notSee {
		if strings.Contains(v.Text, s) {
			t.Errorf("the visitor sees %q", s)
		}
	}
	for _, pair := range want.before {
		i, j := strings.Index(v.Text, pair[0]), strings.Index(v.Text, pair[1])
		if i < 0 || j < 0 || i > j {
			t.Errorf("%q is not above %q", pair[0], pair[1])
		}
	}
	for _, s := range internalTexts {
		if strings.Contains(v.Text, s) || strings.Contains(v.HTML, s) {
			t.Errorf("internal text %q is on the page", s)
		}
	}
	if v.Scripts != 0 {
		t.Errorf("%d scripts on the page", v.Scripts)
	}
	if v.InnerWidth != float64(vp.width) {
		t.Errorf("layout width %v, want %d (the viewport meta tag sets it on a phone)", v.InnerWidth, vp.width)
	}
	if v.ScrollWidth > v.InnerWidth || v.Widest > v.InnerWidth+0.5 {
		t.Errorf("horizontal overflow: scroll width %v, widest element ends at %v, window %v", v.ScrollWidth, v.Widest, v.InnerWidth)
	}
	days := DefaultDays
	if vp.phone {
		days = PhoneDays
	}
	if v.VisibleDays != days {
		t.Errorf("%d days of history visible, want %d", v.VisibleDays, days)
	}
}

// recorder is a testing.TB that records a skip or a failure instead of
// ending the test.
type recorder struct {
	testing.TB
	skipped, failed string
}

func (r *recorder) Helper()                           {}
func (r *recorder) Skip(args ...any)                  { r.skipped = fmt.Sprint(args...) }
func (r *recorder) Fatalf(format string, args ...any) { r.failed = fmt.Sprintf(format, args...) }

func TestRequireBrowser(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "chromium")
	for _, c := range []struct {
		ci              string
		skipped, failed bool
	}{{ci: "", skipped: true}, {ci: "1", failed: true}, {ci: "true", failed: true}} {
		r := &recorder{}
		if got := requireBrowser(r, missing, c.ci); got != "" {
			t.Errorf("CI=%q: found %q", c.ci, got)
		}
		if (r.skipped != "") != c.skipped || (r.failed != "") != c.failed {
			t.Errorf("CI=%q: skipped %q, failed %q", c.ci, r.skipped, r.failed)
		}
		if msg := r.skipped + r.failed; !strings.Contains(msg, "apt-get install -y chromium") {
			t.Errorf("CI=%q: the message %q does not say what is missing", c.ci, msg)
		}
	}
	present := filepath.Join(t.TempDir(), "chromium")
	if err := os.WriteFile(present, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	r := &recorder{}
	if got := requireBrowser(r, present, "1"); got != present || r.skipped != "" || r.failed != "" {
		t.Errorf("present browser: %q, %+v", got, r)
	}
}
