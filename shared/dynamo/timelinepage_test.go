package dynamo_test

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/dashboarduz/incident-response/shared/dynamo"
	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/local/dynamotest"
)

// TestTimelinePages: a long timeline is read a page at a time, newest
// page first, each entry once and in order, the opening entry (kept in
// the incident's item) where its time puts it, each page in one or two
// calls however long the timeline.
func TestTimelinePages(t *testing.T) {
	_, client, table := dynamotest.NewWithClient(t)
	counter := &countingAPI{API: client}
	s := dynamo.New(counter, table)
	inc := fullIncident("inc-long")
	inc.OpenedAt = t0.Add(5 * time.Second) // two signals came before the incident opened
	mustCreate(t, s, inc)
	const n = 230
	for i := range n {
		e := entry(t0.Add(time.Duration(i)*time.Second), fmt.Sprintf("e%03d", i), fmt.Sprint("entry ", i))
		if _, err := s.AppendTimeline(t.Context(), inc.ID, e); err != nil {
			t.Fatal(err)
		}
	}
	all, err := s.Timeline(t.Context(), inc.ID)
	if err != nil || len(all) != n+1 {
		t.Fatalf("Timeline: %d entries, %v; want %d", len(all), err, n+1)
	}
	var got []incident.Entry
	before, pages := "", 0
	for {
		counter.queries.Store(0)
		stored, page, more, err := s.TimelinePage(t.Context(), inc.ID, before, 100)
		if err != nil {
			t.Fatal(err)
		}
		if stored.ID != inc.ID {
			t.Fatalf("page %d: incident %q", pages, stored.ID)
		}
		if q := counter.queries.Load(); q != 1 {
			t.Errorf("page %d: %d queries, want 1", pages, q)
		}
		pages++
		got = append(page, got...)
		if !more {
			break
		}
		before = page[0].ID
	}
	if pages != 3 {
		t.Errorf("%d pages, want 3 (100, 100, 30 and the opening)", pages)
	}
	if !reflect.DeepEqual(got, all) {
		t.Fatalf("pages hold %d entries, want the %d of Timeline in order", len(got), len(all))
	}
	if _, page, more, err := s.TimelinePage(t.Context(), inc.ID, "", incident.MaxTimelinePage); err != nil || more || !reflect.DeepEqual(page, all) {
		t.Errorf("one page of %d: %d entries, more %v, %v; want all", incident.MaxTimelinePage, len(page), more, err)
	}
	if _, _, _, err := s.TimelinePage(t.Context(), inc.ID, "", incident.MaxTimelinePage+1); incident.ErrorCode(err) != incident.EInvalid {
		t.Errorf("a page over the maximum: %v, want EInvalid", err)
	}
	if _, _, _, err := s.TimelinePage(t.Context(), "inc-none", "", 10); incident.ErrorCode(err) != incident.ENotFound {
		t.Errorf("an unknown incident: %v, want ENotFound", err)
	}
	// A short timeline is the incident and its entries in one query.
	short := fullIncident("inc-short")
	mustCreate(t, s, short)
	counter.queries.Store(0)
	if _, page, more, err := s.TimelinePage(t.Context(), short.ID, "", 100); err != nil || more || len(page) != 1 || counter.queries.Load() != 1 {
		t.Errorf("short timeline: %d entries, more %v, %v, %d queries; want the opening in 1 query", len(page), more, err, counter.queries.Load())
	}
}
