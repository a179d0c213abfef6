package statuspage

import (
	"bytes"
	"crypto/sha256"
	_ "embed" // for go:embed
	"encoding/base64"
	"fmt"
	"html/template"
	"io"
	"strings"
	"time"
)

var (
	//go:embed page.html.tmpl
	pageTemplate string
	//go:embed page.css
	pageCSS string
)

// PhoneDays is how many days of history a phone-width window shows: 90
// bars do not fit legibly in 390 pixels, so the older ones are hidden by
// CSS (the HTML still has them, for wider windows).
const PhoneDays = 30

// StyleHash is the CSP source of the page's only style element, so the
// handler can forbid every other style and all scripts.
var StyleHash = func() string {
	sum := sha256.Sum256([]byte(pageCSS))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}()

var htmlTemplate = template.Must(template.New("page").Funcs(template.FuncMap{
	"iso":         func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"when":        when,
	"duration":    func(a, b time.Time) string { return Duration(b.Sub(a)) },
	"statusLabel": StatusLabel,
	"uptime":      func(u float64) string { return fmt.Sprintf("%.2f", u) },
	"dayTitle":    dayTitle,
}).Parse(pageTemplate))

// htmlData is what the template sees: the page and the few things only
// HTML needs.
type htmlData struct {
	Page
	CSS       template.CSS
	FeedHref  string
	JSONHref  string
	PhoneDays int
}

// WriteHTML renders the page as an HTML document with its styles inline
// and no script: it loads in one request and works with scripts off.
func WriteHTML(w io.Writer, p Page) error {
	// Links are relative to the page, so they work under any path prefix
	// (an API Gateway stage, a proxy).
	base := lastSegment(p.URL)
	data := htmlData{Page: p, CSS: template.CSS(pageCSS), FeedHref: base + ".atom", JSONHref: base + ".json", PhoneDays: min(PhoneDays, p.Days)}
	var buf bytes.Buffer
	if err := htmlTemplate.Execute(&buf, data); err != nil {
		return fmt.Errorf("status page: %w", err)
	}
	_, err := buf.WriteTo(w)
	return err
}

// Older reports whether day i of the history is hidden on a phone: all
// but the last PhoneDays are.
func (d htmlData) Older(i int) bool { return i < d.Days-d.PhoneDays }

// lastSegment returns the last path segment of a URL ("status" for
// https://example.com/status).
func lastSegment(u string) string {
	u, _, _ = strings.Cut(u, "?")
	u, _, _ = strings.Cut(u, "#")
	if i := strings.LastIndex(u, "/"); i >= 0 {
		u = u[i+1:]
	}
	if u == "" {
		return "status"
	}
	return u
}

// when formats a time for visitors: minutes are enough, and the page says
// once that times are UTC.
func when(t time.Time) string { return t.UTC().Format("2 Jan 2006 15:04 UTC") }

// Duration formats how long something lasted in the largest two units,
// e.g. "45m", "2h 5m", "3d 4h".
func Duration(d time.Duration) string {
	d = d.Round(time.Minute)
	if d < time.Minute {
		return "under a minute"
	}
	days, hours, mins := int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour), int(d%time.Hour/time.Minute)
	switch {
	case days > 0 && hours > 0:
		return fmt.Sprintf("%dd %dh", days, hours)
	case days > 0:
		return fmt.Sprintf("%dd", days)
	case hours > 0 && mins > 0:
		return fmt.Sprintf("%dh %dm", hours, mins)
	case hours > 0:
		return fmt.Sprintf("%dh", hours)
	}
	return fmt.Sprintf("%dm", mins)
}

// dayTitle describes a day of history for the tooltip of its bar.
func dayTitle(d Day) string {
	s := d.Date.Format("2 Jan 2006") + ": "
	if len(d.Incidents) == 0 {
		return s + "no incidents"
	}
	titles := make([]string, len(d.Incidents))
	for i, in := range d.Incidents {
		titles[i] = in.Title
	}
	return s + d.State.Label() + " - " + strings.Join(titles, "; ")
}
