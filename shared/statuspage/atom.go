package statuspage

import (
	"cmp"
	"encoding/xml"
	"fmt"
	"io"
	"slices"
	"time"
)

// FeedEntries is the most entries the feed carries: the newest updates.
// Feed readers remember what they have seen, so older ones add nothing.
const FeedEntries = 100

// atomFeed is an Atom 1.0 feed (RFC 4287).
type atomFeed struct {
	XMLName xml.Name    `xml:"http://www.w3.org/2005/Atom feed"`
	ID      string      `xml:"id"`
	Title   string      `xml:"title"`
	Updated string      `xml:"updated"`
	Author  atomPerson  `xml:"author"`
	Links   []atomLink  `xml:"link"`
	Entries []atomEntry `xml:"entry"`
}

type atomPerson struct {
	Name string `xml:"name"`
}

type atomLink struct {
	Rel  string `xml:"rel,attr"`
	Type string `xml:"type,attr,omitempty"`
	Href string `xml:"href,attr"`
}

type atomEntry struct {
	ID        string       `xml:"id"`
	Title     string       `xml:"title"`
	Updated   string       `xml:"updated"`
	Published string       `xml:"published"`
	Link      atomLink     `xml:"link"`
	Category  atomCategory `xml:"category"`
	Content   atomText     `xml:"content"`
}

type atomCategory struct {
	Term  string `xml:"term,attr"`
	Label string `xml:"label,attr"`
}

type atomText struct {
	Type string `xml:"type,attr"`
	Body string `xml:",chardata"`
}

// feedEntry is one public update with its incident, for sorting.
type feedEntry struct {
	pi PublicIncident
	u  Update
	n  int // the update's position among its incident's, oldest first
}

// WriteAtom renders the page's public updates as an Atom feed, one entry
// per update, newest first. Entry IDs are the page URL with a fragment
// naming the incident and the update's position, so they stay the same
// however often the feed is rendered.
func WriteAtom(w io.Writer, p Page) error {
	var all []feedEntry
	for _, pi := range append(slices.Clone(p.Open), p.Past...) {
		for i, u := range pi.Updates {
			all = append(all, feedEntry{pi: pi, u: u, n: len(pi.Updates) - i})
		}
	}
	slices.SortStableFunc(all, func(a, b feedEntry) int {
		if c := b.u.At.Compare(a.u.At); c != 0 {
			return c
		}
		if c := cmp.Compare(a.pi.ID, b.pi.ID); c != 0 {
			return c
		}
		return cmp.Compare(b.n, a.n)
	})
	all = all[:min(len(all), FeedEntries)]

	updated := p.Updated
	if updated.IsZero() {
		updated = p.From
	}
	feed := atomFeed{
		ID:      p.URL + ".atom",
		Title:   p.Title,
		Updated: atomTime(updated),
		Author:  atomPerson{Name: p.Title},
		Links: []atomLink{
			{Rel: "self", Type: "application/atom+xml", Href: p.URL + ".atom"},
			{Rel: "alternate", Type: "text/html", Href: p.URL},
		},
	}
	for _, e := range all {
		feed.Entries = append(feed.Entries, atomEntry{
			ID:        fmt.Sprintf("%s#%s-update-%d", p.URL, e.pi.ID, e.n),
			Title:     fmt.Sprintf("%s: %s", StatusLabel(e.u.Status), e.pi.Title),
			Updated:   atomTime(e.u.At),
			Published: atomTime(e.u.At),
			Link:      atomLink{Rel: "alternate", Type: "text/html", Href: p.URL + "#" + e.pi.ID},
			Category:  atomCategory{Term: e.pi.Component.Name, Label: e.pi.Component.DisplayName},
			Content:   atomText{Type: "text", Body: entryText(e)},
		})
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(feed); err != nil {
		return fmt.Errorf("status page atom: %w", err)
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// entryText is an entry's content: the message and what it affects.
func entryText(e feedEntry) string {
	text := e.u.Message
	if text != "" {
		text += "\n\n"
	}
	return text + fmt.Sprintf("Affects: %s. Impact: %s.", e.pi.Component.DisplayName, e.pi.Impact.Label())
}

func atomTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }
