package dynamo_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/dashboarduz/incident-response/shared/dynamo"
	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/local/dynamotest"
)

// countingClient counts the items DynamoDB read for the queries it passes
// on (ScannedCount: before any filter), so a test can prove a read bounded.
type countingClient struct {
	*dynamodb.Client
	mu      sync.Mutex
	scanned int
	queries int
}

func (c *countingClient) Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	out, err := c.Client.Query(ctx, in, opts...)
	if err == nil {
		c.mu.Lock()
		c.scanned += int(out.ScannedCount)
		c.queries++
		c.mu.Unlock()
	}
	return out, err
}

func (c *countingClient) reset() (scanned, queries int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	scanned, queries = c.scanned, c.queries
	c.scanned, c.queries = 0, 0
	return scanned, queries
}

// seedPublished stores, around since = t0 + 30 days:
//
//	old-open        public, mitigating, opened 20 days before since   shown: open
//	old-private     triggered, no public title, before since          not public
//	old-resolved    public, resolved, before since                    before the range
//	recent-resolved public, resolved, 2 days after since              shown
//	recent-private  no public title, 3 days after since               not public
//	recent-open     public, triggered, 5 days after since             shown
func seedPublished(t *testing.T, s *dynamo.Store) time.Time {
	t.Helper()
	since := t0.Add(30 * 24 * time.Hour)
	add := func(id string, st incident.Status, opened time.Time, public bool) {
		inc := openIncident(id, "dashboarduz-api", st, opened)
		if public {
			inc.PublicTitle = "Public " + id
		}
		if st == incident.Resolved {
			inc.ResolvedAt = opened.Add(time.Hour)
		}
		mustCreate(t, s, inc)
	}
	add("old-open", incident.Mitigating, since.Add(-20*24*time.Hour), true)
	add("old-private", incident.Triggered, since.Add(-19*24*time.Hour), false)
	add("old-resolved", incident.Resolved, since.Add(-18*24*time.Hour), true)
	add("recent-resolved", incident.Resolved, since.Add(2*24*time.Hour), true)
	add("recent-private", incident.Acknowledged, since.Add(3*24*time.Hour), false)
	add("recent-open", incident.Triggered, since.Add(5*24*time.Hour), true)
	return since
}

func TestPublishedIncidents(t *testing.T) {
	_, client, table := dynamotest.NewWithClient(t)
	counter := &countingClient{Client: client}
	s := dynamo.New(counter, table)
	since := seedPublished(t, s)

	for _, queryLimit := range []int32{0, 1} {
		dynamo.SetQueryLimit(s, queryLimit)
		t.Run(fmt.Sprintf("query limit %d", queryLimit), func(t *testing.T) {
			got, complete, err := s.PublishedIncidents(t.Context(), since, 100)
			if err != nil {
				t.Fatal(err)
			}
			if want := []string{"recent-open", "recent-resolved", "old-open"}; !slices.Equal(ids(got), want) || !complete {
				t.Errorf("published %v (complete %v), want %v, complete", ids(got), complete, want)
			}
			if got[0].PublicTitle != "Public recent-open" {
				t.Errorf("incident read back as %+v", got[0])
			}
		})
	}
	dynamo.SetQueryLimit(s, 0)
	counter.reset()

	// The limit counts every item read, published or not, and the open
	// incidents from before the range come first.
	got, complete, err := s.PublishedIncidents(t.Context(), since, 2)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ids(got), []string{"old-open"}) || complete {
		t.Errorf("limit 2: %v (complete %v), want the old open one and incomplete", ids(got), complete)
	}
	if scanned, _ := counter.reset(); scanned > 2 {
		t.Errorf("limit 2: DynamoDB read %d items", scanned)
	}
	if _, _, err := s.PublishedIncidents(t.Context(), since, 0); incident.ErrorCode(err) != incident.EInvalid {
		t.Errorf("limit 0: %v, want invalid", err)
	}
}

// TestPublishedIncidentsBounded: among many unpublished incidents, the
// read stops at the limit, however many the table holds.
func TestPublishedIncidentsBounded(t *testing.T) {
	_, client, table := dynamotest.NewWithClient(t)
	counter := &countingClient{Client: client}
	s := dynamo.New(counter, table)
	since := t0
	for i := range 40 {
		inc := openIncident(fmt.Sprintf("inc-%02d", i), "dashboarduz-api", incident.Resolved, since.Add(time.Duration(i)*time.Hour))
		inc.ResolvedAt = inc.OpenedAt.Add(time.Minute)
		if i == 39 || i == 0 {
			inc.PublicTitle = "Public"
		}
		mustCreate(t, s, inc)
	}
	counter.reset()
	got, complete, err := s.PublishedIncidents(t.Context(), since, 25)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ids(got), []string{"inc-39"}) || complete {
		t.Errorf("%v (complete %v), want the newest published one only, incomplete", ids(got), complete)
	}
	if scanned, _ := counter.reset(); scanned != 25 {
		t.Errorf("DynamoDB read %d items, want exactly the limit of 25", scanned)
	}
	got, complete, err = s.PublishedIncidents(t.Context(), since, 1000)
	if err != nil || !complete || !slices.Equal(ids(got), []string{"inc-39", "inc-00"}) {
		t.Errorf("limit 1000: %v, complete %v, %v", ids(got), complete, err)
	}
}

func TestPublicUpdates(t *testing.T) {
	s := dynamotest.New(t)
	inc := openIncident("inc-1", "dashboarduz-api", incident.Mitigating, t0)
	mustCreate(t, s, inc)
	other := openIncident("inc-2", "dashboarduz-api", incident.Mitigating, t0)
	mustCreate(t, s, other)
	entry := func(id string, at time.Duration, kind incident.EntryKind, data map[string]string) incident.Entry {
		return incident.Entry{ID: incident.EntryID(t0.Add(at), id), At: t0.Add(at), Kind: kind, Actor: "oncall@example.com", Text: "INCIDENT UPDATE: " + id, Data: data}
	}
	for _, e := range []incident.Entry{
		entry("public-1", time.Minute, incident.EntryStatusUpdate, map[string]string{"status": "investigating", "message": "Looking", incident.DataPublic: "true"}),
		entry("internal", 2*time.Minute, incident.EntryStatusUpdate, map[string]string{"status": "investigating", "message": "pool exhausted on db-1"}),
		entry("marked-false", 3*time.Minute, incident.EntryStatusUpdate, map[string]string{"status": "mitigating", "message": "x", incident.DataPublic: "false"}),
		entry("not-an-update", 4*time.Minute, incident.EntryTriage, map[string]string{incident.DataPublic: "true"}),
		entry("public-2", 5*time.Minute, incident.EntryStatusUpdate, map[string]string{"status": "mitigating", "message": "Rolling back", incident.DataPublic: "true"}),
	} {
		if _, err := s.AppendTimeline(t.Context(), inc.ID, e); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.AppendTimeline(t.Context(), other.ID, entry("other", time.Minute, incident.EntryStatusUpdate, map[string]string{"message": "other", incident.DataPublic: "true"})); err != nil {
		t.Fatal(err)
	}
	got, err := s.PublicUpdates(t.Context(), inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	var msgs []string
	for _, e := range got {
		msgs = append(msgs, e.Data["message"])
	}
	if !slices.Equal(msgs, []string{"Looking", "Rolling back"}) {
		t.Errorf("public updates %q, want the two marked public, oldest first", msgs)
	}
	if none, err := s.PublicUpdates(t.Context(), "inc-none"); err != nil || len(none) != 0 {
		t.Errorf("unknown incident: %v, %v", none, err)
	}
}

func TestIncidentsOpenedBetween(t *testing.T) {
	_, client, table := dynamotest.NewWithClient(t)
	counter := &countingClient{Client: client}
	s := dynamo.New(counter, table)
	from := t0.Truncate(time.Hour)
	to := from.Add(10 * time.Hour)
	for i, at := range []time.Time{
		from.Add(-time.Nanosecond), // before
		from,                       // the first instant
		from.Add(time.Hour),
		from.Add(2 * time.Hour),
		to.Add(-time.Nanosecond), // the last instant
		to,                       // after: the end is excluded
	} {
		mustCreate(t, s, openIncident(fmt.Sprintf("i-%d", i), "dashboarduz-api", incident.Resolved, at))
	}
	for _, c := range []struct {
		limit    int
		want     []string
		complete bool
	}{
		{10, []string{"i-1", "i-2", "i-3", "i-4"}, true},
		{4, []string{"i-1", "i-2", "i-3", "i-4"}, true},
		{3, []string{"i-1", "i-2", "i-3"}, false},
		{1, []string{"i-1"}, false},
	} {
		counter.reset()
		got, complete, err := s.IncidentsOpenedBetween(t.Context(), from, to, c.limit)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(ids(got), c.want) || complete != c.complete {
			t.Errorf("limit %d: %v (complete %v), want %v (complete %v)", c.limit, ids(got), complete, c.want, c.complete)
		}
		if scanned, _ := counter.reset(); scanned > c.limit+1 {
			t.Errorf("limit %d: DynamoDB read %d items", c.limit, scanned)
		}
	}
	if got, complete, err := s.IncidentsOpenedBetween(t.Context(), to, from, 10); err != nil || len(got) != 0 || !complete {
		t.Errorf("an empty range: %v, %v, %v", ids(got), complete, err)
	}
}
