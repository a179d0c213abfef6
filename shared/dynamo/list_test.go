package dynamo_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/dashboarduz/incident-response/shared/dynamo"
	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/local/dynamotest"
)

// wantField checks that err is an EInvalid about the named field.
func wantField(t *testing.T, err error, field string) {
	t.Helper()
	var e *incident.Error
	if !errors.As(err, &e) || e.Code != incident.EInvalid || e.Field != field {
		t.Fatalf("error = %#v (%v), want code %s with field %q", e, err, incident.EInvalid, field)
	}
}

// seedSeverities stores, oldest first, incidents of several services,
// statuses and severities:
//
//	a-0 api triggered P1     w-0 worker triggered P2
//	a-1 api triggered P2     w-1 worker acknowledged P1
//	a-2 api resolved P1      w-2 worker triggered P1
//	a-3 api triggered P1     a-4 api resolved P3
//	a-5 api triggered P1     w-3 worker triggered P2
//
// in the order a-0, a-1, a-2, a-3, w-0, w-1, w-2, a-4, a-5, w-3.
func seedSeverities(t *testing.T, s *dynamo.Store) {
	t.Helper()
	at := t0
	add := func(id, service string, st incident.Status, sev incident.Severity) {
		at = at.Add(time.Minute)
		inc := openIncident(id, service, st, at)
		inc.Severity = sev
		mustCreate(t, s, inc)
	}
	add("a-0", "api", incident.Triggered, incident.P1)
	add("a-1", "api", incident.Triggered, incident.P2)
	add("a-2", "api", incident.Resolved, incident.P1)
	add("a-3", "api", incident.Triggered, incident.P1)
	add("w-0", "worker", incident.Triggered, incident.P2)
	add("w-1", "worker", incident.Acknowledged, incident.P1)
	add("w-2", "worker", incident.Triggered, incident.P1)
	add("a-4", "api", incident.Resolved, incident.P3)
	add("a-5", "api", incident.Triggered, incident.P1)
	add("w-3", "worker", incident.Triggered, incident.P2)
}

func TestListEveryIncidentAndSeverity(t *testing.T) {
	_, client, table := dynamotest.NewWithClient(t)
	seedSeverities(t, dynamo.New(client, table))

	tests := []struct {
		name      string
		filter    incident.ListFilter
		want      []string
		wantPages []int
	}{
		{"every incident", incident.ListFilter{},
			[]string{"w-3", "a-5", "a-4", "w-2", "w-1", "w-0", "a-3", "a-2", "a-1", "a-0"}, []int{10}},
		{"every incident across pages", incident.ListFilter{Limit: 3},
			[]string{"w-3", "a-5", "a-4", "w-2", "w-1", "w-0", "a-3", "a-2", "a-1", "a-0"}, []int{3, 3, 3, 1}},
		{"every incident, a page ending exactly at the end", incident.ListFilter{Limit: 5},
			[]string{"w-3", "a-5", "a-4", "w-2", "w-1", "w-0", "a-3", "a-2", "a-1", "a-0"}, []int{5, 5, 0}},
		{"every incident of a severity", incident.ListFilter{Severity: incident.P1, Limit: 4},
			[]string{"a-5", "w-2", "w-1", "a-3", "a-2", "a-0"}, []int{4, 2}},
		{"a severity nobody has", incident.ListFilter{Severity: incident.P0}, nil, []int{0}},
		{"by status and severity", incident.ListFilter{Status: incident.Triggered, Severity: incident.P1, Limit: 3},
			[]string{"a-5", "w-2", "a-3", "a-0"}, []int{3, 1}},
		{"by service and severity", incident.ListFilter{Service: "api", Severity: incident.P1, Limit: 2},
			[]string{"a-5", "a-3", "a-2", "a-0"}, []int{2, 2, 0}},
		{"by service, status and severity", incident.ListFilter{Service: "api", Status: incident.Triggered, Severity: incident.P1, Limit: 2},
			[]string{"a-5", "a-3", "a-0"}, []int{2, 1}},
		{"by service and a severity that service lacks", incident.ListFilter{Service: "worker", Severity: incident.P3}, nil, []int{0}},
	}
	// Query pages of one and two items make every filtered listing span
	// many queries, most of them returning fewer items than they read.
	for _, queryLimit := range []int32{0, 1, 2} {
		s := dynamo.New(client, table)
		dynamo.SetQueryLimit(s, queryLimit)
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%s/query limit %d", tt.name, queryLimit), func(t *testing.T) {
				got, pages := listAll(t, s, tt.filter)
				if !reflect.DeepEqual(got, tt.want) {
					t.Errorf("IDs = %v, want %v", got, tt.want)
				}
				if !reflect.DeepEqual(pages, tt.wantPages) {
					t.Errorf("page sizes = %v, want %v", pages, tt.wantPages)
				}
			})
		}
	}

	s := dynamo.New(client, table)

	t.Run("a cursor continues with or without the severity filter", func(t *testing.T) {
		// Both read the byOpenedAt index; the cursor only marks a place in it.
		first, next, err := s.ListIncidents(t.Context(), incident.ListFilter{Limit: 2})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := ids(first), []string{"w-3", "a-5"}; !reflect.DeepEqual(got, want) {
			t.Fatalf("first page = %v, want %v", got, want)
		}
		rest, _ := listAll(t, s, incident.ListFilter{Severity: incident.P1, Cursor: next})
		if want := []string{"w-2", "w-1", "a-3", "a-2", "a-0"}; !reflect.DeepEqual(rest, want) {
			t.Errorf("rest = %v, want %v", rest, want)
		}
	})

	_, allCursor, err := s.ListIncidents(t.Context(), incident.ListFilter{Limit: 1})
	if err != nil || allCursor == "" {
		t.Fatalf("ListIncidents: cursor %q, err %v", allCursor, err)
	}
	_, statusCursor, err := s.ListIncidents(t.Context(), incident.ListFilter{Status: incident.Triggered, Limit: 1})
	if err != nil || statusCursor == "" {
		t.Fatalf("ListIncidents: cursor %q, err %v", statusCursor, err)
	}
	// A cursor naming another entity in the byOpenedAt index, with its
	// signature kept: a changed cursor no longer matches it (finding L17).
	body, sig, _ := strings.Cut(allCursor, ".")
	var key map[string]string
	raw, _ := base64.RawURLEncoding.DecodeString(body)
	if err := json.Unmarshal(raw, &key); err != nil {
		t.Fatal(err)
	}
	if key[dynamo.AttrEntity] != dynamo.EntityIncident {
		t.Fatalf("cursor key %v lacks %s=%s", key, dynamo.AttrEntity, dynamo.EntityIncident)
	}
	key[dynamo.AttrEntity] = "window"
	raw, _ = json.Marshal(key)
	foreign := base64.RawURLEncoding.EncodeToString(raw) + "." + sig
	unsigned := body
	// Another instance on the same table (a Lambda instance of its own)
	// shares the table's key: it continues a cursor this one made.
	sibling := dynamo.New(client, table)
	if page, _, err := sibling.ListIncidents(t.Context(), incident.ListFilter{Cursor: allCursor, Limit: 1}); err != nil || len(page) != 1 {
		t.Errorf("another instance continuing a cursor: %v, %v", ids(page), err)
	}
	// Another store's key: a cursor it made is refused here.
	other := dynamo.New(client, table)
	dynamo.SetCursorKey(other, []byte("another deployment's key"))
	_, otherCursor, err := other.ListIncidents(t.Context(), incident.ListFilter{Limit: 1})
	if err != nil || otherCursor == "" {
		t.Fatalf("other store: cursor %q, err %v", otherCursor, err)
	}

	invalid := []struct {
		name   string
		filter incident.ListFilter
		field  string
	}{
		{"unknown severity", incident.ListFilter{Severity: "P9"}, "severity"},
		{"lower-case severity", incident.ListFilter{Service: "api", Severity: "p1"}, "severity"},
		{"unknown status", incident.ListFilter{Status: "open", Severity: incident.P1}, "status"},
		{"negative limit", incident.ListFilter{Limit: -1}, "limit"},
		{"status cursor for every incident", incident.ListFilter{Cursor: statusCursor}, "cursor"},
		{"every-incident cursor for a status", incident.ListFilter{Status: incident.Triggered, Cursor: allCursor}, "cursor"},
		{"every-incident cursor for a service", incident.ListFilter{Service: "api", Cursor: allCursor}, "cursor"},
		{"cursor of another entity", incident.ListFilter{Cursor: foreign}, "cursor"},
		{"unsigned cursor", incident.ListFilter{Cursor: unsigned}, "cursor"},
		{"cursor of another key", incident.ListFilter{Cursor: otherCursor}, "cursor"},
	}
	for _, tt := range invalid {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := s.ListIncidents(t.Context(), tt.filter)
			wantField(t, err, tt.field)
		})
	}
}

func TestListEveryIncidentHoldsOnlyIncidents(t *testing.T) {
	s := dynamotest.New(t)
	ctx := t.Context()
	mustCreate(t, s, fullIncident("inc-full"))
	if _, err := s.AppendTimeline(ctx, "inc-full", entry(t0, "a", "x")); err != nil {
		t.Fatal(err)
	}
	if err := s.SettlePage(ctx, "inc-full", incident.Page{Level: 3, State: incident.PageSent, Attempts: 2, LevelName: "engineering-manager", At: t0.Add(20 * time.Minute), DedupKey: incident.PageDedupKey("inc-full", 0, 3)}, "", false); err != nil {
		t.Fatal(err)
	}
	if err := s.ClaimDedupKey(ctx, "key", "inc-full", ""); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateMaintenanceWindow(ctx, window("mw-1", "dashboarduz-api", t0, t0.Add(time.Hour)), t0, nil); err != nil {
		t.Fatal(err)
	}
	for _, f := range []incident.ListFilter{{}, {Service: "dashboarduz-api"}, {Severity: incident.P1}} {
		got, next, err := s.ListIncidents(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		want := []incident.Incident{fullIncident("inc-full")}
		want[0].Pages[2].State, want[0].Pages[2].LeaseUntil = incident.PageSent, time.Time{}
		want[0].Version = 2
		if !reflect.DeepEqual(got, want) || next != "" {
			t.Errorf("ListIncidents(%+v) = %+v, next %q; want only the whole incident, no next", f, got, next)
		}
	}
}

func TestUpdatedIncidentStaysListed(t *testing.T) {
	s := dynamotest.New(t)
	mustCreate(t, s, openIncident("inc-1", "api", incident.Triggered, t0))
	inc, err := s.GetIncident(t.Context(), "inc-1")
	if err != nil {
		t.Fatal(err)
	}
	inc.Status = incident.Resolved
	inc.Severity = incident.P0
	if _, err := s.UpdateIncident(t.Context(), inc); err != nil {
		t.Fatal(err)
	}
	got, _, err := s.ListIncidents(t.Context(), incident.ListFilter{Severity: incident.P0})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"inc-1"}; !reflect.DeepEqual(ids(got), want) {
		t.Errorf("ListIncidents(P0) = %v, want %v", ids(got), want)
	}
}

// TestRareSeverityCostsFewQueries: finding M6, a P0 behind 600 P2
// incidents took one query per incident; a filtered listing now reads in
// batches, and a page ending mid-batch continues exactly after its last
// incident.
func TestRareSeverityCostsFewQueries(t *testing.T) {
	_, client, table := dynamotest.NewWithClient(t)
	counter := &countingAPI{API: client}
	s := dynamo.New(counter, table)
	rare := openIncident("p0-old", "api", incident.Triggered, t0)
	rare.Severity = incident.P0
	mustCreate(t, s, rare)
	parallel(t, 600, 8, func(i int) error {
		inc := openIncident(fmt.Sprintf("p2-%03d", i), "api", incident.Triggered, t0.Add(time.Duration(i+1)*time.Second))
		return s.CreateIncident(t.Context(), inc, opening(inc))
	})
	counter.queries.Store(0)
	got, next, err := s.ListIncidents(t.Context(), incident.ListFilter{Severity: incident.P0, Limit: 1})
	if err != nil || len(got) != 1 || got[0].ID != "p0-old" {
		t.Fatalf("ListIncidents(P0) = %v, %q, %v; want p0-old", ids(got), next, err)
	}
	if q := counter.queries.Load(); q > 4 {
		t.Errorf("%d queries for one P0 behind 600 P2, want at most 4", q)
	}
	// Pages of a filtered listing that end mid-batch lose nothing.
	all, pages := listAll(t, s, incident.ListFilter{Severity: incident.P2, Limit: 23})
	if len(all) != 600 || pages[0] != 23 {
		t.Errorf("listed %d P2 incidents in pages %v, want 600 in pages of 23", len(all), pages)
	}
	seen := map[string]bool{}
	for _, id := range all {
		if seen[id] {
			t.Fatalf("%s listed twice", id)
		}
		seen[id] = true
	}
}
