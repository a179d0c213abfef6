package dynamo_test

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/dashboarduz/incident-response/shared/dynamo"
	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/local/dynamotest"
)

func TestMain(m *testing.M) { dynamotest.Main(m) }

var t0 = time.Date(2025, 3, 14, 9, 26, 53, 589793238, time.UTC)

// fullIncident sets every field, so a round trip that drops one fails.
func fullIncident(id string) incident.Incident {
	return incident.Incident{
		ID:             id,
		Title:          "P1 dashboarduz-api - 5xx rate above 5%",
		Service:        "dashboarduz-api",
		Category:       incident.HighErrorRate,
		Severity:       incident.P1,
		Status:         incident.Acknowledged,
		Source:         "cloudwatch",
		DedupKey:       "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:api-5xx",
		Summary:        "5xx rate above 5%",
		OpenedAt:       t0,
		AcknowledgedAt: t0.Add(7 * time.Minute),
		ResolvedAt:     t0.Add(time.Hour),
		SignalState:    incident.Firing,
		SignalAt:       t0.Add(30 * time.Second),
		Pages: []incident.Page{
			{Level: 1, LevelName: "on-call", At: t0.Add(time.Second), DedupKey: incident.PageDedupKey(id, 0, 1), State: incident.PageRejected, Failure: "PagerDuty rejected the routing key"},
			{Level: 2, LevelName: "team-lead", At: t0.Add(16 * time.Minute), DedupKey: incident.PageDedupKey(id, 0, 2), State: incident.PageSent, Synced: incident.Acknowledged},
			{Level: 3, LevelName: "engineering-manager", At: t0.Add(20 * time.Minute), DedupKey: incident.PageDedupKey(id, 0, 3), State: incident.PageClaimed, Attempts: 2, LeaseUntil: t0.Add(21 * time.Minute)},
		},
		Signals:    3,
		Generation: 2, PlannedGeneration: 1,
		Notes: []string{"note-1"},
		Deliveries: []incident.Delivery{
			{Channel: "email", Subject: "e1", State: incident.DeliverySent, Attempts: 1, At: t0.Add(time.Minute)},
			{Channel: "slack", Subject: "post-mortem-near-due/0", Reminder: true, State: incident.DeliveryClaimed, Attempts: 2, At: t0, LeaseUntil: t0.Add(time.Minute), Failure: "Slack answered 503"},
		},
		Slack:   &incident.SlackThread{Channel: "C0INCIDENTS", TS: "1740798000.000100", OwnChannel: "C0OWN", OwnTS: "1740798000.000200", OwnChannelName: "inc-x", OwnChannelLink: "https://x.slack.com/archives/C0OWN"},
		Version: 1,
	}
}

// openIncident is a minimal triggered incident.
func openIncident(id, service string, status incident.Status, opened time.Time) incident.Incident {
	return incident.Incident{
		ID: id, Title: "t " + id, Service: service, Category: incident.ServiceDown, Severity: incident.P2,
		Status: status, Source: "test", DedupKey: "key-" + id, Summary: "s", OpenedAt: opened, SignalState: incident.Firing,
		Version: 1,
	}
}

func wantCode(t *testing.T, err error, want string) {
	t.Helper()
	if got := incident.ErrorCode(err); got != want {
		t.Fatalf("error code = %q (err %v), want %q", got, err, want)
	}
}

func mustCreate(t *testing.T, s *dynamo.Store, incs ...incident.Incident) {
	t.Helper()
	for _, inc := range incs {
		if err := s.CreateIncident(t.Context(), inc, opening(inc)); err != nil {
			t.Fatalf("CreateIncident(%s): %v", inc.ID, err)
		}
	}
}

// opening is the opening timeline entry stored with an incident.
func opening(inc incident.Incident) incident.Entry {
	return incident.Entry{ID: incident.EntryID(inc.OpenedAt, "event/open"), At: inc.OpenedAt.UTC(), Kind: incident.EntryOpened, Actor: "test", Text: "opened " + inc.ID}
}

func TestIncidents(t *testing.T) {
	t.Run("create, get and update round trip every field", func(t *testing.T) {
		s := dynamotest.New(t)
		inc := fullIncident("inc-1")
		inc.Version = 7 // ignored: a new incident is version 1
		mustCreate(t, s, inc)

		got, err := s.GetIncident(t.Context(), "inc-1")
		if err != nil {
			t.Fatal(err)
		}
		want := fullIncident("inc-1")
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("GetIncident:\n got %+v\nwant %+v", got, want)
		}

		got.Status = incident.Resolved
		got.SignalState = incident.Recovered
		got.Pages = append(got.Pages, incident.Page{Level: 4, LevelName: "cto", At: t0.Add(time.Hour), DedupKey: "k4", State: incident.PageSent})
		stored, err := s.UpdateIncident(t.Context(), got)
		if err != nil {
			t.Fatal(err)
		}
		want = got
		want.Version = 2
		if !reflect.DeepEqual(stored, want) {
			t.Fatalf("UpdateIncident returned:\n got %+v\nwant %+v", stored, want)
		}
		reread, err := s.GetIncident(t.Context(), "inc-1")
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(reread, want) {
			t.Fatalf("GetIncident after update:\n got %+v\nwant %+v", reread, want)
		}
	})

	t.Run("times come back in UTC and unset times stay zero", func(t *testing.T) {
		s := dynamotest.New(t)
		inc := openIncident("inc-tz", "api", incident.Triggered, time.Date(2025, 1, 2, 3, 4, 5, 0, time.FixedZone("CET", 3600)))
		mustCreate(t, s, inc)
		got, err := s.GetIncident(t.Context(), "inc-tz")
		if err != nil {
			t.Fatal(err)
		}
		if want := time.Date(2025, 1, 2, 2, 4, 5, 0, time.UTC); got.OpenedAt != want {
			t.Errorf("OpenedAt = %v, want %v", got.OpenedAt, want)
		}
		if !got.AcknowledgedAt.IsZero() || !got.ResolvedAt.IsZero() || len(got.Pages) != 0 {
			t.Errorf("unset fields came back set: %+v", got)
		}
	})

	t.Run("get a missing incident is not found", func(t *testing.T) {
		s := dynamotest.New(t)
		_, err := s.GetIncident(t.Context(), "nope")
		wantCode(t, err, incident.ENotFound)
		if got, want := incident.ErrorMessage(err), "incident nope not found"; got != want {
			t.Errorf("message = %q, want %q", got, want)
		}
	})

	t.Run("create twice is a conflict", func(t *testing.T) {
		s := dynamotest.New(t)
		mustCreate(t, s, fullIncident("inc-1"))
		wantCode(t, s.CreateIncident(t.Context(), fullIncident("inc-1"), opening(fullIncident("inc-1"))), incident.EConflict)
	})

	t.Run("update from a stale version is a conflict", func(t *testing.T) {
		s := dynamotest.New(t)
		mustCreate(t, s, fullIncident("inc-1"))
		v1 := fullIncident("inc-1")
		if _, err := s.UpdateIncident(t.Context(), v1); err != nil {
			t.Fatal(err)
		}
		v1.Title = "lost update"
		_, err := s.UpdateIncident(t.Context(), v1)
		wantCode(t, err, incident.EConflict)
		got, _ := s.GetIncident(t.Context(), "inc-1")
		if got.Version != 2 || got.Title == "lost update" {
			t.Errorf("stored incident changed by a stale update: version %d, title %q", got.Version, got.Title)
		}
	})

	t.Run("update a missing incident is not found", func(t *testing.T) {
		s := dynamotest.New(t)
		_, err := s.UpdateIncident(t.Context(), fullIncident("ghost"))
		wantCode(t, err, incident.ENotFound)
	})

	t.Run("incidents the indexes cannot hold are invalid", func(t *testing.T) {
		s := dynamotest.New(t)
		for name, mutate := range map[string]func(*incident.Incident){
			"no ID":          func(i *incident.Incident) { i.ID = "" },
			"no service":     func(i *incident.Incident) { i.Service = "" },
			"no status":      func(i *incident.Incident) { i.Status = "" },
			"unknown status": func(i *incident.Incident) { i.Status = "open" },
			"no opened time": func(i *incident.Incident) { i.OpenedAt = time.Time{} },
		} {
			inc := fullIncident("inc-1")
			mutate(&inc)
			if err := s.CreateIncident(t.Context(), inc, opening(inc)); incident.ErrorCode(err) != incident.EInvalid {
				t.Errorf("%s: CreateIncident error = %v, want code %s", name, err, incident.EInvalid)
			}
		}
	})

	t.Run("DynamoDB failures are internal errors with context", func(t *testing.T) {
		_, client, _ := dynamotest.NewWithClient(t)
		s := dynamo.New(client, "no-such-table")
		_, err := s.GetIncident(t.Context(), "inc-1")
		wantCode(t, err, incident.EInternal)
		if !strings.Contains(err.Error(), "get incident inc-1: ") {
			t.Errorf("error %q lacks context", err)
		}
	})
}

func entry(at time.Time, key, text string) incident.Entry {
	return incident.Entry{ID: incident.EntryID(at, key), At: at, Kind: incident.EntrySignal, Actor: "test", Text: text}
}

func TestTimeline(t *testing.T) {
	t.Run("append is idempotent and reads back in ID order", func(t *testing.T) {
		s := dynamotest.New(t)
		mustCreate(t, s, fullIncident("inc-1"))
		e1 := entry(t0, "a", "first")
		e1.Data = map[string]string{"alarm": "api-5xx", "empty": ""}
		e2 := entry(t0.Add(time.Second), "b", "second")
		e3 := entry(t0.Add(2*time.Second), "c", "third")
		for _, e := range []incident.Entry{e3, e1, e2} {
			added, err := s.AppendTimeline(t.Context(), "inc-1", e)
			if err != nil || !added {
				t.Fatalf("AppendTimeline(%s) = %v, %v; want true, nil", e.ID, added, err)
			}
		}
		retry := e2
		retry.Text = "a retry must not overwrite"
		added, err := s.AppendTimeline(t.Context(), "inc-1", retry)
		if err != nil || added {
			t.Fatalf("AppendTimeline(retry) = %v, %v; want false, nil", added, err)
		}
		// Another incident's entries stay out.
		if _, err := s.AppendTimeline(t.Context(), "inc-2", entry(t0, "x", "other")); err != nil {
			t.Fatal(err)
		}

		got, err := s.Timeline(t.Context(), "inc-1")
		if err != nil {
			t.Fatal(err)
		}
		if want := []incident.Entry{e1, opening(fullIncident("inc-1")), e2, e3}; !reflect.DeepEqual(got, want) {
			t.Fatalf("Timeline:\n got %+v\nwant %+v", got, want)
		}
	})

	t.Run("an incident's opening entry is stored with it", func(t *testing.T) {
		s := dynamotest.New(t)
		mustCreate(t, s, fullIncident("inc-1"))
		got, err := s.Timeline(t.Context(), "inc-1")
		if want := []incident.Entry{opening(fullIncident("inc-1"))}; err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("Timeline = %v, %v; want %v", got, err, want)
		}
		inc, tl, more, err := s.TimelinePage(t.Context(), "inc-1", "", 100)
		if err != nil || more || !reflect.DeepEqual(inc, fullIncident("inc-1")) || !reflect.DeepEqual(tl, got) {
			t.Fatalf("TimelinePage = %+v, %v, %v, %v", inc, tl, more, err)
		}
		// An update keeps it.
		if _, err := s.UpdateIncident(t.Context(), inc); err != nil {
			t.Fatal(err)
		}
		if again, _ := s.Timeline(t.Context(), "inc-1"); !reflect.DeepEqual(again, got) {
			t.Fatalf("Timeline after an update = %v, want %v", again, got)
		}
	})

	t.Run("an unknown incident has an empty timeline and is not found with it", func(t *testing.T) {
		s := dynamotest.New(t)
		got, err := s.Timeline(t.Context(), "nope")
		if err != nil || len(got) != 0 {
			t.Fatalf("Timeline = %v, %v; want empty", got, err)
		}
		_, _, _, err = s.TimelinePage(t.Context(), "nope", "", 100)
		wantCode(t, err, incident.ENotFound)
	})

	t.Run("an entry without an ID is invalid", func(t *testing.T) {
		s := dynamotest.New(t)
		_, err := s.AppendTimeline(t.Context(), "inc-1", incident.Entry{Text: "no id"})
		wantCode(t, err, incident.EInvalid)
	})

	t.Run("a timeline over 1 MB is read across query pages", func(t *testing.T) {
		_, client, table := dynamotest.NewWithClient(t)
		counter := &countingAPI{API: client}
		s := dynamo.New(counter, table)
		const n = 300
		text := strings.Repeat("x", 4000) // 300 x 4 KB = 1.2 MB
		want := make([]incident.Entry, n)
		for i := range want {
			want[i] = entry(t0.Add(time.Duration(i)*time.Millisecond), fmt.Sprint(i), text)
		}
		parallel(t, n, 8, func(i int) error {
			_, err := s.AppendTimeline(t.Context(), "inc-big", want[i])
			return err
		})
		counter.queries.Store(0)
		got, err := s.Timeline(t.Context(), "inc-big")
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("Timeline returned %d entries, want %d in order", len(got), len(want))
		}
		q := counter.queries.Load()
		if q < 2 {
			t.Errorf("Timeline made %d queries; want at least 2 (1 MB pages)", q)
		}
		t.Logf("read %d entries in %d queries", len(got), q)
	})
}

// countingAPI counts the queries made through a real client.
type countingAPI struct {
	dynamo.API
	queries atomic.Int64
}

func (c *countingAPI) Query(ctx context.Context, in *dynamodb.QueryInput, optFns ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	c.queries.Add(1)
	return c.API.Query(ctx, in, optFns...)
}

// parallel runs fn(0..n-1) on workers goroutines and fails on any error.
func parallel(t *testing.T, n, workers int, fn func(i int) error) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	next := make(chan int)
	for range workers {
		wg.Go(func() {
			for i := range next {
				if err := fn(i); err != nil {
					errs <- err
				}
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func TestDedupPointer(t *testing.T) {
	s := dynamotest.New(t)
	ctx := t.Context()
	const key = "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:api-5xx"

	lookup := func(wantID string, wantFound bool) {
		t.Helper()
		id, found, err := s.OpenIncidentID(ctx, key)
		if err != nil || id != wantID || found != wantFound {
			t.Fatalf("OpenIncidentID = %q, %v, %v; want %q, %v, nil", id, found, err, wantID, wantFound)
		}
	}

	lookup("", false)
	if err := s.ClaimDedupKey(ctx, key, "inc-a", ""); err != nil {
		t.Fatal(err)
	}
	lookup("inc-a", true)
	wantCode(t, s.ClaimDedupKey(ctx, key, "inc-b", ""), incident.EConflict)
	wantCode(t, s.ClaimDedupKey(ctx, key, "inc-b", "inc-wrong"), incident.EConflict)
	lookup("inc-a", true)
	if err := s.ClaimDedupKey(ctx, key, "inc-b", "inc-a"); err != nil {
		t.Fatalf("replace inc-a by inc-b: %v", err)
	}
	lookup("inc-b", true)
	wantCode(t, s.ClaimDedupKey(ctx, key, "inc-c", "inc-a"), incident.EConflict) // inc-a no longer holds it
	if err := s.ClaimDedupKey(ctx, key, "inc-c", "inc-b"); err != nil {
		t.Fatal(err)
	}
	lookup("inc-c", true)
	wantCode(t, s.ClaimDedupKey(ctx, "", "inc-c", ""), incident.EInvalid)
}

func ids(incs []incident.Incident) []string {
	out := []string{}
	for _, inc := range incs {
		out = append(out, inc.ID)
	}
	return out
}

// seedList stores, oldest first: api-0..api-4 triggered, api-r0..api-r1
// resolved, worker-0..worker-2 triggered and worker-ack acknowledged.
func seedList(t *testing.T, s *dynamo.Store) {
	t.Helper()
	at := t0
	add := func(id, service string, st incident.Status) {
		at = at.Add(time.Minute)
		mustCreate(t, s, openIncident(id, service, st, at))
	}
	for i := range 5 {
		add(fmt.Sprintf("api-%d", i), "api", incident.Triggered)
	}
	add("api-r0", "api", incident.Resolved)
	add("api-r1", "api", incident.Resolved)
	for i := range 3 {
		add(fmt.Sprintf("worker-%d", i), "worker", incident.Triggered)
	}
	add("worker-ack", "worker", incident.Acknowledged)
}

// listAll follows the cursor to the end and returns the IDs and the size of
// each page.
func listAll(t *testing.T, s *dynamo.Store, f incident.ListFilter) (all []string, pages []int) {
	t.Helper()
	for range 50 {
		incs, next, err := s.ListIncidents(t.Context(), f)
		if err != nil {
			t.Fatalf("ListIncidents(%+v): %v", f, err)
		}
		all = append(all, ids(incs)...)
		pages = append(pages, len(incs))
		if next == "" {
			return all, pages
		}
		f.Cursor = next
	}
	t.Fatal("ListIncidents never ended")
	return nil, nil
}

func TestListIncidents(t *testing.T) {
	s := dynamotest.New(t)
	seedList(t, s)

	tests := []struct {
		name      string
		filter    incident.ListFilter
		want      []string
		wantPages []int
	}{
		{"by status across pages", incident.ListFilter{Status: incident.Triggered, Limit: 3},
			[]string{"worker-2", "worker-1", "worker-0", "api-4", "api-3", "api-2", "api-1", "api-0"}, []int{3, 3, 2}},
		{"by status in one page", incident.ListFilter{Status: incident.Resolved},
			[]string{"api-r1", "api-r0"}, []int{2}},
		{"by service across pages", incident.ListFilter{Service: "api", Limit: 4},
			[]string{"api-r1", "api-r0", "api-4", "api-3", "api-2", "api-1", "api-0"}, []int{4, 3}},
		{"by service and status fills whole pages", incident.ListFilter{Service: "api", Status: incident.Triggered, Limit: 2},
			[]string{"api-4", "api-3", "api-2", "api-1", "api-0"}, []int{2, 2, 1}},
		{"a page ending exactly at the end is followed by an empty one", incident.ListFilter{Service: "worker", Limit: 2},
			[]string{"worker-ack", "worker-2", "worker-1", "worker-0"}, []int{2, 2, 0}},
		{"nothing matches", incident.ListFilter{Service: "nope"}, nil, []int{0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, pages := listAll(t, s, tt.filter)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("IDs = %v, want %v", got, tt.want)
			}
			if !reflect.DeepEqual(pages, tt.wantPages) {
				t.Errorf("page sizes = %v, want %v", pages, tt.wantPages)
			}
		})
	}

	t.Run("small query pages still fill a listing page", func(t *testing.T) {
		s2, client, table := dynamotest.NewWithClient(t)
		seedList(t, s2)
		s := dynamo.New(client, table)
		dynamo.SetQueryLimit(s, 1)
		got, pages := listAll(t, s, incident.ListFilter{Service: "api", Status: incident.Triggered, Limit: 3})
		if want := []string{"api-4", "api-3", "api-2", "api-1", "api-0"}; !reflect.DeepEqual(got, want) {
			t.Errorf("IDs = %v, want %v", got, want)
		}
		if want := []int{3, 2}; !reflect.DeepEqual(pages, want) {
			t.Errorf("page sizes = %v, want %v", pages, want)
		}
	})

	t.Run("listed incidents are whole", func(t *testing.T) {
		s := dynamotest.New(t)
		mustCreate(t, s, fullIncident("inc-full"))
		got, _, err := s.ListIncidents(t.Context(), incident.ListFilter{Service: "dashboarduz-api"})
		if err != nil {
			t.Fatal(err)
		}
		if want := []incident.Incident{fullIncident("inc-full")}; !reflect.DeepEqual(got, want) {
			t.Errorf("ListIncidents:\n got %+v\nwant %+v", got, want)
		}
	})

	_, statusCursor, err := s.ListIncidents(t.Context(), incident.ListFilter{Status: incident.Triggered, Limit: 1})
	if err != nil || statusCursor == "" {
		t.Fatalf("ListIncidents: cursor %q, err %v", statusCursor, err)
	}
	invalid := []struct {
		name   string
		filter incident.ListFilter
	}{
		{"unknown status", incident.ListFilter{Status: "open"}},
		{"negative limit", incident.ListFilter{Status: incident.Triggered, Limit: -1}},
		{"cursor not base64", incident.ListFilter{Status: incident.Triggered, Cursor: "!!!"}},
		{"cursor not JSON", incident.ListFilter{Status: incident.Triggered, Cursor: "bm90IGpzb24"}},
		{"cursor of another index", incident.ListFilter{Service: "api", Cursor: statusCursor}},
		{"cursor of another status", incident.ListFilter{Status: incident.Resolved, Cursor: statusCursor}},
	}
	for _, tt := range invalid {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := s.ListIncidents(t.Context(), tt.filter)
			wantCode(t, err, incident.EInvalid)
		})
	}
}

func TestListOpen(t *testing.T) {
	_, client, table := dynamotest.NewWithClient(t)
	s := dynamo.New(client, table)
	seedList(t, s)
	// Pages of two items, so every listing below spans several queries.
	dynamo.SetQueryLimit(s, 2)

	tests := []struct {
		service string
		want    []string
	}{
		{"", []string{"worker-ack", "worker-2", "worker-1", "worker-0", "api-4", "api-3", "api-2", "api-1", "api-0"}},
		{"api", []string{"api-4", "api-3", "api-2", "api-1", "api-0"}},
		{"worker", []string{"worker-ack", "worker-2", "worker-1", "worker-0"}},
		{"nope", []string{}},
	}
	for _, tt := range tests {
		t.Run("service "+tt.service, func(t *testing.T) {
			got, err := s.ListOpen(t.Context(), tt.service)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(ids(got), tt.want) {
				t.Errorf("ListOpen(%q) = %v, want %v", tt.service, ids(got), tt.want)
			}
		})
	}
}

// claimOf is a claim on the page to level of an episode.
func claimOf(id string, episode, level, attempt int, at time.Time, lease time.Duration) incident.Page {
	return incident.Page{
		Level: level, LevelName: fmt.Sprintf("level-%d", level), At: at, DedupKey: incident.PageDedupKey(id, episode, level),
		State: incident.PageClaimed, Episode: episode, Attempts: attempt, LeaseUntil: at.Add(lease),
	}
}

// planOf is what a plan saw of an open P2 incident.
func planOf(st incident.Status) incident.EscalationState {
	return incident.EscalationState{Status: st, Severity: incident.P2}
}

func TestPageLedger(t *testing.T) {
	const lease = 5 * time.Minute
	triggered := planOf(incident.Triggered)

	t.Run("claim, conflict, takeover, release, sent", func(t *testing.T) {
		s := dynamotest.New(t)
		ctx := t.Context()
		mustCreate(t, s, openIncident("inc-1", "api", incident.Triggered, t0))

		c1 := claimOf("inc-1", 0, 1, 1, t0, lease)
		inc, err := s.ClaimPage(ctx, "inc-1", c1, triggered, t0)
		if err != nil {
			t.Fatal(err)
		}
		if got, ok := inc.LedgerEntry(0, 1); !ok || !reflect.DeepEqual(got, c1) || inc.Version != 2 {
			t.Fatalf("first claim returned the incident with entry %+v (version %d), want %+v (version 2)", got, inc.Version, c1)
		}

		_, err = s.ClaimPage(ctx, "inc-1", c1, triggered, t0.Add(time.Minute))
		wantCode(t, err, incident.EConflict)

		// Another level is a separate claim.
		if _, err := s.ClaimPage(ctx, "inc-1", claimOf("inc-1", 0, 2, 1, t0, lease), triggered, t0); err != nil {
			t.Fatalf("claim level 2: %v", err)
		}

		// A takeover before the lease runs out, or naming the wrong number
		// of earlier attempts, is refused.
		expiry := t0.Add(lease) // a lease ending now has run out
		_, err = s.ClaimPage(ctx, "inc-1", claimOf("inc-1", 0, 1, 2, t0.Add(time.Minute), lease), triggered, t0.Add(time.Minute))
		wantCode(t, err, incident.EConflict)
		_, err = s.ClaimPage(ctx, "inc-1", claimOf("inc-1", 0, 1, 3, expiry, lease), triggered, expiry)
		wantCode(t, err, incident.EConflict)
		c2 := claimOf("inc-1", 0, 1, 2, expiry, lease)
		if _, err := s.ClaimPage(ctx, "inc-1", c2, triggered, expiry); err != nil {
			t.Fatalf("takeover: %v", err)
		}

		// The first sender's outcome no longer counts.
		late := c1
		late.State = incident.PageSent
		wantCode(t, s.SettlePage(ctx, "inc-1", late, "", false), incident.EConflict)

		failed := expiry.Add(time.Minute)
		if err := s.ReleasePage(ctx, "inc-1", c2, failed); err != nil {
			t.Fatal(err)
		}
		c3 := claimOf("inc-1", 0, 1, 3, failed, lease)
		if _, err := s.ClaimPage(ctx, "inc-1", c3, triggered, failed); err != nil {
			t.Fatalf("claim after release: %v", err)
		}

		sent := c3
		sent.State, sent.At = incident.PageSent, failed.Add(10*time.Second)
		if err := s.SettlePage(ctx, "inc-1", sent, "", false); err != nil {
			t.Fatal(err)
		}
		if err := s.SettlePage(ctx, "inc-1", sent, "", false); err != nil {
			t.Fatalf("settle again: %v", err)
		}
		if err := s.ReleasePage(ctx, "inc-1", c3, sent.At.Add(time.Hour)); err != nil {
			t.Fatalf("release after sent: %v", err)
		}
		_, err = s.ClaimPage(ctx, "inc-1", claimOf("inc-1", 0, 1, 4, sent.At.Add(24*time.Hour), lease), triggered, sent.At.Add(24*time.Hour))
		wantCode(t, err, incident.EConflict)

		got, err := s.GetIncident(ctx, "inc-1")
		if err != nil {
			t.Fatal(err)
		}
		want := sent
		want.LeaseUntil = time.Time{}
		if p, _ := got.LedgerEntry(0, 1); !reflect.DeepEqual(p, want) {
			t.Fatalf("ledger entry = %+v, want %+v", p, want)
		}
		if pages := got.EpisodePages(); len(pages) != 1 || pages[0].Level != 1 {
			t.Fatalf("recorded pages = %+v, want the sent level 1 only", pages)
		}
	})

	t.Run("a claim holds only while the incident is as planned", func(t *testing.T) {
		s := dynamotest.New(t)
		ctx := t.Context()
		mustCreate(t, s, openIncident("inc-1", "api", incident.Triggered, t0))
		for name, plan := range map[string]incident.EscalationState{
			"another status":   planOf(incident.Acknowledged),
			"another severity": {Status: incident.Triggered, Severity: incident.P0},
		} {
			_, err := s.ClaimPage(ctx, "inc-1", claimOf("inc-1", 0, 1, 1, t0, lease), plan, t0)
			if incident.ErrorCode(err) != incident.EConflict {
				t.Errorf("%s: %v, want a conflict", name, err)
			}
		}
		_, err := s.ClaimPage(ctx, "inc-1", claimOf("inc-1", 1, 1, 1, t0, lease), triggered, t0)
		wantCode(t, err, incident.EConflict) // another episode
		_, err = s.ClaimPage(ctx, "missing", claimOf("missing", 0, 1, 1, t0, lease), triggered, t0)
		wantCode(t, err, incident.ENotFound)
		inc, _ := s.GetIncident(ctx, "inc-1")
		inc.Status, inc.ResolvedAt = incident.Resolved, t0
		if _, err := s.UpdateIncident(ctx, inc); err != nil {
			t.Fatal(err)
		}
		_, err = s.ClaimPage(ctx, "inc-1", claimOf("inc-1", 0, 1, 1, t0, lease), planOf(incident.Resolved), t0)
		wantCode(t, err, incident.EInvalid)
		_, err = s.ClaimPage(ctx, "inc-1", claimOf("inc-1", 0, 1, 1, t0, lease), triggered, t0)
		wantCode(t, err, incident.EConflict)
	})

	t.Run("a re-opened incident's episode has its own ledger entries", func(t *testing.T) {
		s := dynamotest.New(t)
		ctx := t.Context()
		inc := openIncident("inc-1", "api", incident.Triggered, t0)
		inc.Episode = 1
		mustCreate(t, s, inc)
		c := claimOf("inc-1", 1, 1, 1, t0, lease)
		if _, err := s.ClaimPage(ctx, "inc-1", c, planOf(incident.Triggered), t0); err != nil {
			t.Fatal(err)
		}
		got, _ := s.GetIncident(ctx, "inc-1")
		if _, ok := got.LedgerEntry(1, 1); !ok {
			t.Fatalf("no ledger entry for episode 1: %+v", got.Pages)
		}
	})

	t.Run("synced marks and a later trigger", func(t *testing.T) {
		s := dynamotest.New(t)
		ctx := t.Context()
		mustCreate(t, s, openIncident("inc-1", "api", incident.Triggered, t0))
		for level := 1; level <= 2; level++ {
			c := claimOf("inc-1", 0, level, 1, t0, lease)
			if _, err := s.ClaimPage(ctx, "inc-1", c, triggered, t0); err != nil {
				t.Fatal(err)
			}
			if level == 1 {
				c.State = incident.PageSent
				if err := s.SettlePage(ctx, "inc-1", c, "", false); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := s.MarkSynced(ctx, "inc-1", map[[2]int]incident.Status{{0, 1}: incident.Acknowledged, {0, 2}: incident.Acknowledged}); err != nil {
			t.Fatal(err)
		}
		wantCode(t, s.MarkSynced(ctx, "inc-1", map[[2]int]incident.Status{{0, 3}: incident.Resolved}), incident.EConflict)
		// The claimed page is sent after all: PagerDuty must be told again.
		c := claimOf("inc-1", 0, 2, 1, t0, lease)
		c.State = incident.PageSent
		if err := s.SettlePage(ctx, "inc-1", c, "", false); err != nil {
			t.Fatal(err)
		}
		got, _ := s.GetIncident(ctx, "inc-1")
		p1, _ := got.LedgerEntry(0, 1)
		p2, _ := got.LedgerEntry(0, 2)
		if p1.Synced != incident.Acknowledged || p2.Synced != "" {
			t.Fatalf("synced = %q and %q, want acknowledged and none", p1.Synced, p2.Synced)
		}
	})

	t.Run("the ledger stays out of the timeline and the indexes", func(t *testing.T) {
		s := dynamotest.New(t)
		inc := openIncident("inc-1", "api", incident.Triggered, t0)
		mustCreate(t, s, inc)
		if _, err := s.ClaimPage(t.Context(), "inc-1", claimOf("inc-1", 0, 1, 1, t0, lease), triggered, t0); err != nil {
			t.Fatal(err)
		}
		if _, err := s.AppendTimeline(t.Context(), "inc-1", entry(t0.Add(time.Second), "a", "x")); err != nil {
			t.Fatal(err)
		}
		if err := s.ClaimDedupKey(t.Context(), "key-inc-1", "inc-1", ""); err != nil {
			t.Fatal(err)
		}
		tl, err := s.Timeline(t.Context(), "inc-1")
		if err != nil || len(tl) != 2 || !reflect.DeepEqual(tl[0], opening(inc)) {
			t.Fatalf("Timeline = %+v, %v; want the opening entry and the one appended", tl, err)
		}
		open, err := s.ListOpen(t.Context(), "")
		if err != nil {
			t.Fatal(err)
		}
		if got, want := ids(open), []string{"inc-1"}; !reflect.DeepEqual(got, want) {
			t.Fatalf("ListOpen = %v, want %v", got, want)
		}
	})

	t.Run("bad arguments", func(t *testing.T) {
		s := dynamotest.New(t)
		ctx := t.Context()
		_, err := s.ClaimPage(ctx, "inc-1", claimOf("inc-1", 0, 0, 1, t0, lease), triggered, t0)
		wantCode(t, err, incident.EInvalid)
		_, err = s.ClaimPage(ctx, "inc-1", claimOf("inc-1", 0, 1, 1, t0, 0), triggered, t0)
		wantCode(t, err, incident.EInvalid)
		wantCode(t, s.SettlePage(ctx, "inc-1", claimOf("inc-1", 0, 1, 1, t0, lease), "", false), incident.EInvalid)
		if err := s.ReleasePage(ctx, "inc-1", claimOf("inc-1", 0, 1, 1, t0, lease), t0); err != nil {
			t.Errorf("release of a page never claimed: %v", err)
		}
	})
}

func TestJoinFiring(t *testing.T) {
	s := dynamotest.New(t)
	ctx := t.Context()
	inc := openIncident("inc-1", "api", incident.Triggered, t0)
	inc.SignalAt = t0
	mustCreate(t, s, inc)
	sig := func(at time.Time) incident.Signal {
		return incident.Signal{EventID: "e", Time: at, State: incident.Firing}
	}
	for _, tt := range []struct {
		at   time.Time
		want bool
	}{
		{t0, false}, // the opening event again
		{t0.Add(time.Minute), true},
		{t0.Add(30 * time.Second), false}, // older than the latest
		{t0.Add(2 * time.Minute), true},
	} {
		got, err := s.JoinFiring(ctx, "inc-1", sig(tt.at))
		if err != nil || got != tt.want {
			t.Fatalf("JoinFiring(%v) = %v, %v; want %v", tt.at, got, err, tt.want)
		}
	}
	got, _ := s.GetIncident(ctx, "inc-1")
	if got.Signals != 2 || !got.SignalAt.Equal(t0.Add(2*time.Minute)) || got.Version != 3 {
		t.Fatalf("after two joins: signals %d, signalAt %v, version %d", got.Signals, got.SignalAt, got.Version)
	}
	got.SignalState = incident.Recovered
	if _, err := s.UpdateIncident(ctx, got); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.JoinFiring(ctx, "inc-1", sig(t0.Add(time.Hour))); ok || err != nil {
		t.Fatalf("JoinFiring after a recovery = %v, %v; want false: a flap is routed in full", ok, err)
	}
	if ok, err := s.JoinFiring(ctx, "missing", sig(t0.Add(time.Hour))); ok || err != nil {
		t.Fatalf("JoinFiring of a missing incident = %v, %v; want false", ok, err)
	}
}

// race runs fn on n goroutines released at once and counts the outcomes by
// error code ("" for success).
func race(t *testing.T, n int, fn func(i int) error) map[string]int {
	t.Helper()
	var (
		mu    sync.Mutex
		codes = map[string]int{}
		start = make(chan struct{})
		wg    sync.WaitGroup
	)
	for i := range n {
		wg.Go(func() {
			<-start
			err := fn(i)
			mu.Lock()
			defer mu.Unlock()
			codes[incident.ErrorCode(err)]++
			if code := incident.ErrorCode(err); code != "" && code != incident.EConflict {
				t.Errorf("goroutine %d: %v", i, err)
			}
		})
	}
	close(start)
	wg.Wait()
	return codes
}

func TestRaces(t *testing.T) {
	const n = 50
	want := map[string]int{"": 1, incident.EConflict: n - 1}

	t.Run("one dedup claim wins", func(t *testing.T) {
		s := dynamotest.New(t)
		got := race(t, n, func(i int) error {
			return s.ClaimDedupKey(t.Context(), "k", fmt.Sprintf("inc-%d", i), "")
		})
		if !reflect.DeepEqual(got, want) {
			t.Errorf("outcomes = %v, want %v", got, want)
		}
	})

	t.Run("one dedup replacement wins", func(t *testing.T) {
		s := dynamotest.New(t)
		if err := s.ClaimDedupKey(t.Context(), "k", "old", ""); err != nil {
			t.Fatal(err)
		}
		got := race(t, n, func(i int) error {
			return s.ClaimDedupKey(t.Context(), "k", fmt.Sprintf("inc-%d", i), "old")
		})
		if !reflect.DeepEqual(got, want) {
			t.Errorf("outcomes = %v, want %v", got, want)
		}
	})

	t.Run("one update from the same version wins", func(t *testing.T) {
		s := dynamotest.New(t)
		mustCreate(t, s, fullIncident("inc-1"))
		got := race(t, n, func(i int) error {
			inc := fullIncident("inc-1")
			inc.Summary = fmt.Sprintf("writer %d", i)
			_, err := s.UpdateIncident(t.Context(), inc)
			return err
		})
		if !reflect.DeepEqual(got, want) {
			t.Errorf("outcomes = %v, want %v", got, want)
		}
		if inc, err := s.GetIncident(t.Context(), "inc-1"); err != nil || inc.Version != 2 {
			t.Errorf("after the race: version %d, err %v; want version 2", inc.Version, err)
		}
	})

	t.Run("one page claim wins", func(t *testing.T) {
		s := dynamotest.New(t)
		mustCreate(t, s, openIncident("inc-1", "api", incident.Triggered, t0))
		var claims atomic.Int64
		got := race(t, n, func(i int) error {
			_, err := s.ClaimPage(t.Context(), "inc-1", claimOf("inc-1", 0, 1, 1, t0, time.Minute), planOf(incident.Triggered), t0)
			if err == nil {
				claims.Add(1)
			}
			return err
		})
		if !reflect.DeepEqual(got, want) || claims.Load() != 1 {
			t.Errorf("outcomes = %v with %d claims, want %v with 1", got, claims.Load(), want)
		}
	})

	t.Run("one takeover of an expired lease wins", func(t *testing.T) {
		s := dynamotest.New(t)
		mustCreate(t, s, openIncident("inc-1", "api", incident.Triggered, t0))
		if _, err := s.ClaimPage(t.Context(), "inc-1", claimOf("inc-1", 0, 1, 1, t0, time.Minute), planOf(incident.Triggered), t0); err != nil {
			t.Fatal(err)
		}
		later := t0.Add(time.Hour)
		var takeovers atomic.Int64
		got := race(t, n, func(i int) error {
			_, err := s.ClaimPage(t.Context(), "inc-1", claimOf("inc-1", 0, 1, 2, later, time.Minute), planOf(incident.Triggered), later)
			if err == nil {
				takeovers.Add(1)
			}
			return err
		})
		if !reflect.DeepEqual(got, want) || takeovers.Load() != 1 {
			t.Errorf("outcomes = %v with %d takeovers, want %v with 1", got, takeovers.Load(), want)
		}
	})

	t.Run("one timeline append adds the entry", func(t *testing.T) {
		s := dynamotest.New(t)
		var added atomic.Int64
		race(t, n, func(i int) error {
			ok, err := s.AppendTimeline(t.Context(), "inc-1", entry(t0, "same", fmt.Sprint(i)))
			if ok {
				added.Add(1)
			}
			return err
		})
		if added.Load() != 1 {
			t.Errorf("%d appends reported added, want 1", added.Load())
		}
	})
}

func TestCreateTableTwice(t *testing.T) {
	_, client, table := dynamotest.NewWithClient(t)
	if err := dynamo.CreateTable(t.Context(), client, table); err != nil {
		t.Errorf("CreateTable on an existing table: %v", err)
	}
}
