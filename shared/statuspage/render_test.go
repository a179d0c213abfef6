package statuspage

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/dashboarduz/incident-response/shared/incident"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it); got:\n%s", path, got)
	}
}

// scenarioPage builds the page of the scenario's state name.
func scenarioPage(t *testing.T, name string) Page {
	t.Helper()
	for _, s := range scenario() {
		if s.name == name {
			return Build(Config{URL: "https://status.example.com/status"}, s.public(), s.now)
		}
	}
	t.Fatalf("no state %s", name)
	return Page{}
}

func render(t *testing.T, write func(*bytes.Buffer, Page) error, p Page) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := write(&buf, p); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func writeHTML(b *bytes.Buffer, p Page) error { return WriteHTML(b, p) }
func writeJSON(b *bytes.Buffer, p Page) error { return WriteJSON(b, p) }
func writeAtom(b *bytes.Buffer, p Page) error { return WriteAtom(b, p) }

func TestGolden(t *testing.T) {
	for _, s := range scenario() {
		p := scenarioPage(t, s.name)
		var indented bytes.Buffer
		if err := json.Indent(&indented, render(t, writeJSON, p), "", "  "); err != nil {
			t.Fatal(err)
		}
		golden(t, s.name+".json", indented.Bytes())
		golden(t, s.name+".atom", render(t, writeAtom, p))
	}
	golden(t, "update-posted.html", render(t, writeHTML, scenarioPage(t, "update-posted")))
}

func TestHTMLIsSelfContained(t *testing.T) {
	for _, s := range scenario() {
		html := string(render(t, writeHTML, scenarioPage(t, s.name)))
		for _, want := range []string{
			`<!doctype html>`,
			`<html lang="en">`,
			`<meta name="viewport" content="width=device-width, initial-scale=1">`,
			`<link rel="alternate" type="application/atom+xml"`,
			`href="status.atom"`,
			`href="status.json"`,
			`<main>`, `<header>`, `<footer>`,
		} {
			if !strings.Contains(html, want) {
				t.Errorf("%s: no %s", s.name, want)
			}
		}
		if strings.Contains(strings.ToLower(html), "<script") {
			t.Errorf("%s: the page has a script", s.name)
		}
		// Nothing is loaded from elsewhere: no src attributes, no
		// absolute links but none at all, no stylesheet links, no @import.
		if m := regexp.MustCompile(`(?i)\ssrc=|rel="stylesheet"|@import|url\(`).FindString(html); m != "" {
			t.Errorf("%s: external asset %q", s.name, m)
		}
		if got := strings.Count(html, `<li class="day `); got != 3*DefaultDays {
			t.Errorf("%s: %d day bars, want %d", s.name, got, 3*DefaultDays)
		}
		if got := strings.Count(html, ` older"`); got != 3*(DefaultDays-PhoneDays) {
			t.Errorf("%s: %d bars hidden on phones, want %d", s.name, got, 3*(DefaultDays-PhoneDays))
		}
	}
}

func TestHTMLStyleMatchesHash(t *testing.T) {
	html := string(render(t, writeHTML, scenarioPage(t, "no-incident")))
	start := strings.Index(html, "<style>") + len("<style>")
	end := strings.Index(html, "</style>")
	if start < len("<style>") || end < start {
		t.Fatal("no style element")
	}
	if html[start:end] != pageCSS {
		t.Error("the style element's text is not page.css verbatim, so the CSP hash would not match it")
	}
	if strings.Count(html, "<style") != 1 || strings.Contains(html, "style=") {
		t.Error("styles outside the one style element would be blocked by the CSP")
	}
}

func TestHTMLEscapes(t *testing.T) {
	p := Build(Config{}, []Incident{{
		ID: "a", Title: `<script>alert("x")</script>`, Severity: incident.P1, Service: "dashboarduz-api", StartedAt: t0,
		Updates: []Update{{At: t0, Status: incident.Investigating, Message: `<img src=x onerror=alert(1)>`}},
	}}, t0.Add(time.Minute))
	html := string(render(t, writeHTML, p))
	if strings.Contains(html, "<script>") || strings.Contains(html, "<img") {
		t.Error("public text was not escaped")
	}
	if !strings.Contains(html, "&lt;script&gt;") {
		t.Error("escaped title missing")
	}
}

func TestHTMLStates(t *testing.T) {
	for _, c := range []struct {
		state       string
		want, avoid []string
	}{
		{"no-incident", []string{"All systems operational", "Slow dashboards", "Past incidents"}, []string{"Current incidents", "API unavailable"}},
		{"incident-open", []string{"Major outage", "Current incidents", "API unavailable", "We are investigating errors on the API."}, []string{"All systems operational"}},
		{"update-posted", []string{"Mitigating", "We found the cause", "We are investigating errors"}, []string{"All systems operational"}},
		{"resolved", []string{"All systems operational", "Resolved <time", "after 45m", "The API is working normally again."}, []string{"Current incidents"}},
	} {
		html := string(render(t, writeHTML, scenarioPage(t, c.state)))
		for _, w := range c.want {
			if !strings.Contains(html, w) {
				t.Errorf("%s: no %q", c.state, w)
			}
		}
		for _, a := range c.avoid {
			if strings.Contains(html, a) {
				t.Errorf("%s: shows %q", c.state, a)
			}
		}
		for _, internal := range internalTexts {
			if strings.Contains(html, internal) {
				t.Errorf("%s: shows internal text %q", c.state, internal)
			}
		}
	}
}

func TestJSONShape(t *testing.T) {
	b := render(t, writeJSON, scenarioPage(t, "update-posted"))
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"page", "status", "components", "incidents", "pastIncidents"} {
		if _, ok := doc[k]; !ok {
			t.Errorf("no %s", k)
		}
	}
	inc := doc["incidents"].([]any)[0].(map[string]any)
	if inc["resolvedAt"] != nil || inc["impact"] != "major_outage" || inc["status"] != "mitigating" || inc["component"] != "dashboarduz-api" {
		t.Errorf("open incident %v", inc)
	}
	if n := len(inc["updates"].([]any)); n != 2 {
		t.Errorf("%d public updates, want 2 (the internal note is not public)", n)
	}
	comp := doc["components"].([]any)[0].(map[string]any)
	if n := len(comp["history"].([]any)); n != DefaultDays {
		t.Errorf("history of %d days", n)
	}
	for _, internal := range internalTexts {
		if bytes.Contains(b, []byte(internal)) {
			t.Errorf("JSON shows internal text %q", internal)
		}
	}
	// An empty page has empty lists, not nulls.
	empty := string(render(t, writeJSON, Build(Config{}, nil, t0)))
	for _, k := range []string{`"incidents":[]`, `"pastIncidents":[]`, `"updatedAt":null`} {
		if !strings.Contains(empty, k) {
			t.Errorf("empty page has no %s", k)
		}
	}
}

// atomDoc is what a feed reader reads of the feed.
type atomDoc struct {
	XMLName xml.Name `xml:"http://www.w3.org/2005/Atom feed"`
	ID      string   `xml:"id"`
	Updated string   `xml:"updated"`
	Author  string   `xml:"author>name"`
	Entries []struct {
		ID      string `xml:"id"`
		Title   string `xml:"title"`
		Updated string `xml:"updated"`
		Content string `xml:"content"`
		Link    struct {
			Href string `xml:"href,attr"`
		} `xml:"link"`
	} `xml:"entry"`
}

func TestAtom(t *testing.T) {
	b := render(t, writeAtom, scenarioPage(t, "resolved"))
	var feed atomDoc
	if err := xml.Unmarshal(b, &feed); err != nil {
		t.Fatalf("feed does not parse: %v", err)
	}
	if feed.ID != "https://status.example.com/status.atom" || feed.Author == "" {
		t.Errorf("feed id %q author %q", feed.ID, feed.Author)
	}
	var titles []string
	ids := map[string]bool{}
	for _, e := range feed.Entries {
		titles = append(titles, e.Title)
		if ids[e.ID] {
			t.Errorf("duplicate entry id %s", e.ID)
		}
		ids[e.ID] = true
		if _, err := time.Parse(time.RFC3339, e.Updated); err != nil {
			t.Errorf("entry updated %q: %v", e.Updated, err)
		}
	}
	want := []string{
		"Resolved: API unavailable", "Mitigating: API unavailable", "Investigating: API unavailable",
		"Resolved: Slow dashboards", "Investigating: Slow dashboards",
	}
	if !equal(titles, want) {
		t.Errorf("entries %v, want one per public update, newest first: %v", titles, want)
	}
	if feed.Updated != "2026-03-01T03:45:00Z" {
		t.Errorf("feed updated %s, want the newest update's time", feed.Updated)
	}
	if feed.Entries[0].Link.Href != "https://status.example.com/status#inc-20260301-030000-c0f8ae04e8" {
		t.Errorf("entry link %s", feed.Entries[0].Link.Href)
	}
	// An entry's ID does not change as more updates are posted.
	earlier := render(t, writeAtom, scenarioPage(t, "incident-open"))
	var before atomDoc
	if err := xml.Unmarshal(earlier, &before); err != nil {
		t.Fatal(err)
	}
	if len(before.Entries) != 3 || !ids[before.Entries[0].ID] {
		t.Errorf("the first update's entry id %v is not in the later feed", before.Entries)
	}
	for _, internal := range internalTexts {
		if bytes.Contains(b, []byte(internal)) {
			t.Errorf("feed shows internal text %q", internal)
		}
	}
}

func TestDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		20 * time.Second:                 "under a minute",
		45 * time.Minute:                 "45m",
		2 * time.Hour:                    "2h",
		2*time.Hour + 5*time.Minute:      "2h 5m",
		3*24*time.Hour + 4*time.Hour:     "3d 4h",
		7 * 24 * time.Hour:               "7d",
		59*time.Minute + 40*time.Second:  "1h",
		24*time.Hour + 30*time.Second:    "1d",
		90*time.Minute + 29*time.Second:  "1h 30m",
		48*time.Hour + 59*time.Minute:    "2d",
		23*time.Hour + 59*time.Minute:    "23h 59m",
		time.Minute:                      "1m",
		-time.Hour:                       "under a minute",
		10*24*time.Hour + 23*time.Hour:   "10d 23h",
		100*24*time.Hour + 1*time.Minute: "100d",
	} {
		if got := Duration(d); got != want {
			t.Errorf("Duration(%s) = %q, want %q", d, got, want)
		}
	}
}
