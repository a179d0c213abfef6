package response_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dashboarduz/incident-response/shared/dynamo"
	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/local/dynamotest"
	"github.com/dashboarduz/incident-response/shared/response"
)

// TestMain keeps the logs out of the output unless -v is given,
// and runs the tests against one dynalite.
func TestMain(m *testing.M) { dynamotest.MainQuiet(m) }

// start is one escalation generation a Starter was asked to start.
type start struct {
	id         string
	generation int
}

// starter records the escalation generations started and fails them when
// fail says so.
type starter struct {
	mu     sync.Mutex
	starts []start
	fail   func(id string, generation int) error
}

func (s *starter) StartEscalation(_ context.Context, st incident.EscalationState) error {
	id, generation := st.IncidentID, st.Generation
	s.mu.Lock()
	defer s.mu.Unlock()
	s.starts = append(s.starts, start{id, generation})
	if s.fail != nil {
		return s.fail(id, generation)
	}
	return nil
}

// failWith makes every start fail with err; nil makes them succeed again.
func (s *starter) failWith(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err == nil {
		s.fail = nil
		return
	}
	s.fail = func(string, int) error { return err }
}

// since returns the starts recorded after the first n.
func (s *starter) since(n int) []start {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.starts[n:])
}

func (s *starter) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.starts)
}

// clock is a settable clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	return c.now
}

var t0 = time.Date(2026, 3, 1, 3, 0, 0, 0, time.UTC)

// fixture is a service on a fresh table, with its starter and clock.
type fixture struct {
	svc     *response.Service
	store   *dynamo.Store
	starter *starter
	clock   *clock
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{store: dynamotest.New(t), starter: &starter{}, clock: &clock{now: t0}}
	f.svc = &response.Service{Store: f.store, Starter: f.starter, Policy: incident.DefaultPolicy(), Clock: f.clock}
	return f
}

var ctx = context.Background()

// report opens an incident of service with severity and advances the
// clock a minute, so that the next operation happens later.
func (f *fixture) report(t *testing.T, service, severity, title string) incident.Incident {
	t.Helper()
	inc, err := f.svc.Report(ctx, "reporter@example.com", response.Report{
		Title: title, Service: service, Severity: severity, Category: "other", Description: "something is wrong",
	})
	if err != nil {
		t.Fatalf("report %s: %v", title, err)
	}
	f.clock.advance(time.Minute)
	return inc
}

func (f *fixture) get(t *testing.T, id string) incident.Incident {
	t.Helper()
	inc, err := f.store.GetIncident(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return inc
}

func (f *fixture) timeline(t *testing.T, id string) []incident.Entry {
	t.Helper()
	es, err := f.store.Timeline(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return es
}

// last returns the newest timeline entry of an incident.
func (f *fixture) last(t *testing.T, id string) incident.Entry {
	t.Helper()
	es := f.timeline(t, id)
	if len(es) == 0 {
		t.Fatalf("incident %s has an empty timeline", id)
	}
	return es[len(es)-1]
}

// setPages stores pages on an incident, as the escalation would have.
func (f *fixture) setPages(t *testing.T, id string, episode int, pages ...incident.Page) incident.Incident {
	t.Helper()
	inc := f.get(t, id)
	inc.Episode = episode
	inc.Pages = pages
	stored, err := f.store.UpdateIncident(ctx, inc)
	if err != nil {
		t.Fatal(err)
	}
	return stored
}

// page is a delivered page of level in episode.
func page(id string, episode, level int) incident.Page {
	l, _ := incident.DefaultPolicy().Level(level)
	return incident.Page{Level: level, LevelName: l.Name, At: t0, DedupKey: incident.PageDedupKey(id, episode, level), Episode: episode, State: incident.PageSent}
}

// resolve resolves an incident and advances the clock.
func (f *fixture) resolve(t *testing.T, id string) incident.Incident {
	t.Helper()
	inc, err := f.svc.Resolve(ctx, "oncall@example.com", id, response.Resolution{RootCause: "bad deploy"})
	if err != nil {
		t.Fatal(err)
	}
	f.clock.advance(time.Minute)
	return inc
}

// wantError checks that err is an *incident.Error with code and field.
func wantError(t *testing.T, err error, code, field string) *incident.Error {
	t.Helper()
	var e *incident.Error
	if !errors.As(err, &e) {
		t.Fatalf("error = %v, want an *incident.Error with code %s", err, code)
	}
	if e.Code != code || e.Field != field {
		t.Fatalf("error = {Code:%q Field:%q Message:%q}, want code %q field %q", e.Code, e.Field, e.Message, code, field)
	}
	return e
}

func wantStarts(t *testing.T, got []start, want ...start) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("starts = %v, want %v", got, want)
	}
}

func TestReport(t *testing.T) {
	t.Run("creates the incident as reported", func(t *testing.T) {
		f := newFixture(t)
		got, err := f.svc.Report(ctx, "oncall@example.com", response.Report{
			Title: "Checkout returns 500", Service: "checkout", Severity: "P1", Category: "high-error-rate",
			Description: "Customers cannot pay since 02:55.",
		})
		if err != nil {
			t.Fatal(err)
		}
		want := incident.Incident{
			ID: got.ID, Title: "Checkout returns 500", Service: "checkout", Category: incident.HighErrorRate,
			Severity: incident.P1, Status: incident.Triggered, Source: "user-report",
			DedupKey: "report/checkout/Checkout returns 500", Summary: "Checkout returns 500",
			OpenedAt: t0, SignalState: incident.Firing, SignalAt: t0,
			Description: "Customers cannot pay since 02:55.", Version: 1,
			Announcements: []string{incident.EntryID(t0, "api/reported")},
		}
		if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", want) {
			t.Errorf("incident =\n%+v\nwant\n%+v", got, want)
		}
		if !strings.HasPrefix(got.ID, "inc-20260301-030000-") {
			t.Errorf("ID = %q, want one derived from the report time", got.ID)
		}
		if stored := f.get(t, got.ID); fmt.Sprintf("%+v", stored) != fmt.Sprintf("%+v", got) {
			t.Errorf("stored =\n%+v\nreturned\n%+v", stored, got)
		}

		es := f.timeline(t, got.ID)
		if len(es) != 1 {
			t.Fatalf("timeline = %+v, want one entry", es)
		}
		e := es[0]
		if e.Kind != incident.EntryReported || e.Actor != "oncall@example.com" || !e.At.Equal(t0) {
			t.Errorf("entry = %+v, want reported by oncall@example.com at %s", e, t0)
		}
		if e.Data["description"] != "Customers cannot pay since 02:55." {
			t.Errorf("entry data = %v, want the description", e.Data)
		}
		for _, part := range []string{"oncall@example.com", "P1", "checkout", "high-error-rate", "Customers cannot pay"} {
			if !strings.Contains(e.Text, part) {
				t.Errorf("entry text %q does not mention %q", e.Text, part)
			}
		}
		wantStarts(t, f.starter.since(0), start{got.ID, 0})
	})

	valid := response.Report{Title: "t", Service: "s", Severity: "P2", Category: "database", Description: "d"}
	for _, tc := range []struct {
		name  string
		edit  func(*response.Report)
		field string
	}{
		{"missing title", func(r *response.Report) { r.Title = "" }, "title"},
		{"blank title", func(r *response.Report) { r.Title = "  \t" }, "title"},
		{"missing service", func(r *response.Report) { r.Service = "" }, "service"},
		{"missing description", func(r *response.Report) { r.Description = " " }, "description"},
		{"missing severity", func(r *response.Report) { r.Severity = "" }, "severity"},
		{"bad severity", func(r *response.Report) { r.Severity = "P5" }, "severity"},
		{"lower-case severity", func(r *response.Report) { r.Severity = "p1" }, "severity"},
		{"missing category", func(r *response.Report) { r.Category = "" }, "category"},
		{"bad category", func(r *response.Report) { r.Category = "outage" }, "category"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			r := valid
			tc.edit(&r)
			_, err := f.svc.Report(ctx, "oncall@example.com", r)
			wantError(t, err, incident.EInvalid, tc.field)
			list, err := f.svc.List(ctx, response.ListRequest{})
			if err != nil {
				t.Fatal(err)
			}
			if len(list.Incidents) != 0 {
				t.Errorf("incidents = %+v, want none stored", list.Incidents)
			}
			wantStarts(t, f.starter.since(0))
		})
	}

	t.Run("a failed start is an error", func(t *testing.T) {
		f := newFixture(t)
		f.starter.failWith(errors.New("states: throttled"))
		_, err := f.svc.Report(ctx, "oncall@example.com", valid)
		if got := incident.ErrorCode(err); got != incident.EInternal {
			t.Errorf("error = %v (code %q), want an internal error", err, got)
		}
	})
}

// TestReportFieldErrorIsDeterministic shows a bug: Report checks title,
// service and description by ranging over a map, so a report missing all
// three names a different field from one call to the next.
func TestReportFieldErrorIsDeterministic(t *testing.T) {
	f := newFixture(t)
	fields := map[string]int{}
	for range 30 {
		_, err := f.svc.Report(ctx, "oncall@example.com", response.Report{Severity: "P1", Category: "other"})
		var e *incident.Error
		if !errors.As(err, &e) {
			t.Fatalf("error = %v, want an *incident.Error", err)
		}
		fields[e.Field]++
	}
	if len(fields) != 1 {
		t.Errorf("fields named for the same empty report = %v, want the same field every time", fields)
	}
}

func ids(incs []incident.Incident) []string {
	out := []string{}
	for _, inc := range incs {
		out = append(out, inc.ID)
	}
	return out
}

func TestList(t *testing.T) {
	f := newFixture(t)
	// Reported a minute apart, so newest first is the reverse order.
	a := f.report(t, "api", "P0", "api down")
	b := f.report(t, "api", "P2", "api slow")
	c := f.report(t, "web", "P0", "web down")
	d := f.report(t, "web", "P3", "web typo")
	e := f.report(t, "db", "P1", "db lag")
	if _, err := f.svc.Acknowledge(ctx, "oncall@example.com", b.ID, response.Acknowledgement{}); err != nil {
		t.Fatal(err)
	}
	f.clock.advance(time.Minute)
	f.resolve(t, c.ID)

	for _, tc := range []struct {
		name string
		req  response.ListRequest
		want []string
	}{
		{"everything, newest first", response.ListRequest{}, []string{e.ID, d.ID, c.ID, b.ID, a.ID}},
		{"by status", response.ListRequest{Status: "triggered"}, []string{e.ID, d.ID, a.ID}},
		{"by status acknowledged", response.ListRequest{Status: "acknowledged"}, []string{b.ID}},
		{"by status resolved", response.ListRequest{Status: "resolved"}, []string{c.ID}},
		{"by severity", response.ListRequest{Severity: "P0"}, []string{c.ID, a.ID}},
		{"by service", response.ListRequest{Service: "web"}, []string{d.ID, c.ID}},
		{"by service and status", response.ListRequest{Service: "api", Status: "triggered"}, []string{a.ID}},
		{"by service and severity", response.ListRequest{Service: "web", Severity: "P3"}, []string{d.ID}},
		{"by status and severity", response.ListRequest{Status: "triggered", Severity: "P0"}, []string{a.ID}},
		{"limit", response.ListRequest{Limit: 2}, []string{e.ID, d.ID}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := f.svc.List(ctx, tc.req)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(ids(got.Incidents), tc.want) {
				t.Errorf("incidents = %v, want %v", ids(got.Incidents), tc.want)
			}
		})
	}

	t.Run("cursor continues the listing", func(t *testing.T) {
		var got []string
		req := response.ListRequest{Limit: 2}
		for range 10 {
			page, err := f.svc.List(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			if len(page.Incidents) > 2 {
				t.Errorf("page of %d incidents, want at most 2", len(page.Incidents))
			}
			got = append(got, ids(page.Incidents)...)
			if page.Next == "" {
				break
			}
			req.Cursor = page.Next
		}
		if want := []string{e.ID, d.ID, c.ID, b.ID, a.ID}; !slices.Equal(got, want) {
			t.Errorf("pages = %v, want %v", got, want)
		}
	})

	t.Run("cursor with a filter", func(t *testing.T) {
		first, err := f.svc.List(ctx, response.ListRequest{Status: "triggered", Limit: 1})
		if err != nil {
			t.Fatal(err)
		}
		if first.Next == "" {
			t.Fatal("first page has no next cursor")
		}
		second, err := f.svc.List(ctx, response.ListRequest{Status: "triggered", Limit: 5, Cursor: first.Next})
		if err != nil {
			t.Fatal(err)
		}
		got := append(ids(first.Incidents), ids(second.Incidents)...)
		if want := []string{e.ID, d.ID, a.ID}; !slices.Equal(got, want) {
			t.Errorf("pages = %v, want %v", got, want)
		}
		if second.Next != "" {
			t.Errorf("next after the last page = %q, want empty", second.Next)
		}
	})

	for _, tc := range []struct {
		name  string
		req   response.ListRequest
		field string
	}{
		{"bad status", response.ListRequest{Status: "open"}, "status"},
		{"bad severity", response.ListRequest{Severity: "P4"}, "severity"},
		{"negative limit", response.ListRequest{Limit: -1}, "limit"},
		{"bad cursor", response.ListRequest{Cursor: "not-a-cursor"}, "cursor"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.svc.List(ctx, tc.req)
			wantError(t, err, incident.EInvalid, tc.field)
		})
	}

	t.Run("empty result is an empty slice", func(t *testing.T) {
		got, err := f.svc.List(ctx, response.ListRequest{Service: "nobody"})
		if err != nil {
			t.Fatal(err)
		}
		if got.Incidents == nil || len(got.Incidents) != 0 || got.Next != "" {
			t.Errorf("list = %#v, want an empty non-nil slice and no next", got)
		}
	})

	t.Run("empty table is an empty slice", func(t *testing.T) {
		got, err := newFixture(t).svc.List(ctx, response.ListRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if got.Incidents == nil || len(got.Incidents) != 0 {
			t.Errorf("incidents = %#v, want an empty non-nil slice", got.Incidents)
		}
	})
}

func TestGet(t *testing.T) {
	f := newFixture(t)
	inc := f.report(t, "api", "P1", "api down")
	acked, err := f.svc.Acknowledge(ctx, "lead@example.com", inc.ID, response.Acknowledgement{})
	if err != nil {
		t.Fatal(err)
	}

	t.Run("incident with its timeline", func(t *testing.T) {
		got, err := f.svc.Get(ctx, inc.ID)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprintf("%+v", got.Incident) != fmt.Sprintf("%+v", acked) {
			t.Errorf("incident =\n%+v\nwant\n%+v", got.Incident, acked)
		}
		var kinds []incident.EntryKind
		for _, e := range got.Timeline {
			kinds = append(kinds, e.Kind)
		}
		if want := []incident.EntryKind{incident.EntryReported, incident.EntryAcknowledged}; !slices.Equal(kinds, want) {
			t.Errorf("timeline kinds = %v, want %v", kinds, want)
		}
	})

	t.Run("an incident's timeline starts with its opening entry", func(t *testing.T) {
		bare := incident.Incident{ID: "inc-bare", Service: "api", Severity: incident.P3, Category: incident.Other, Status: incident.Triggered, OpenedAt: t0}
		opened := incident.Entry{ID: incident.EntryID(t0, "event/x"), At: t0, Kind: incident.EntryOpened, Actor: "test", Text: "opened"}
		if err := f.store.CreateIncident(ctx, bare, opened); err != nil {
			t.Fatal(err)
		}
		got, err := f.svc.Get(ctx, "inc-bare")
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Timeline) != 1 || got.Timeline[0].Kind != incident.EntryOpened {
			t.Errorf("timeline = %#v, want the opening entry", got.Timeline)
		}
	})

	t.Run("unknown id", func(t *testing.T) {
		_, err := f.svc.Get(ctx, "inc-nope")
		wantError(t, err, incident.ENotFound, "")
	})
}

func TestAcknowledge(t *testing.T) {
	t.Run("acknowledges and starts the next generation", func(t *testing.T) {
		f := newFixture(t)
		inc := f.report(t, "api", "P1", "api down")
		at := f.clock.Now()
		n := f.starter.count()
		got, err := f.svc.Acknowledge(ctx, "lead@example.com", inc.ID, response.Acknowledgement{Message: "looking at the deploy"})
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != incident.Acknowledged || !got.AcknowledgedAt.Equal(at) || got.AcknowledgedBy != "lead@example.com" ||
			got.Generation != 1 || got.Version != 2 {
			t.Errorf("incident = %+v, want acknowledged by lead at %s, generation 1, version 2", got, at)
		}
		if stored := f.get(t, inc.ID); fmt.Sprintf("%+v", stored) != fmt.Sprintf("%+v", got) {
			t.Errorf("stored =\n%+v\nreturned\n%+v", stored, got)
		}
		wantStarts(t, f.starter.since(n), start{inc.ID, 1})
		e := f.last(t, inc.ID)
		if e.Kind != incident.EntryAcknowledged || e.Actor != "lead@example.com" || e.Text != "Acknowledged by lead@example.com: looking at the deploy" {
			t.Errorf("entry = %+v, want acknowledged by lead with the message", e)
		}
	})

	t.Run("without a message", func(t *testing.T) {
		f := newFixture(t)
		inc := f.report(t, "api", "P1", "api down")
		if _, err := f.svc.Acknowledge(ctx, "lead@example.com", inc.ID, response.Acknowledgement{}); err != nil {
			t.Fatal(err)
		}
		if e := f.last(t, inc.ID); e.Text != "Acknowledged by lead@example.com." {
			t.Errorf("entry text = %q", e.Text)
		}
	})

	t.Run("again is a conflict that still restarts the generation", func(t *testing.T) {
		f := newFixture(t)
		inc := f.report(t, "api", "P1", "api down")
		first, err := f.svc.Acknowledge(ctx, "lead@example.com", inc.ID, response.Acknowledgement{})
		if err != nil {
			t.Fatal(err)
		}
		f.clock.advance(time.Minute)
		n, entries := f.starter.count(), len(f.timeline(t, inc.ID))
		_, err = f.svc.Acknowledge(ctx, "manager@example.com", inc.ID, response.Acknowledgement{})
		e := wantError(t, err, incident.EConflict, "")
		if !strings.Contains(e.Message, "already acknowledged") {
			t.Errorf("message = %q, want it to say the incident is already acknowledged", e.Message)
		}
		wantStarts(t, f.starter.since(n), start{inc.ID, first.Generation})
		if stored := f.get(t, inc.ID); stored.Version != first.Version || stored.AcknowledgedBy != "lead@example.com" {
			t.Errorf("stored = %+v, want it unchanged", stored)
		}
		if got := len(f.timeline(t, inc.ID)); got != entries {
			t.Errorf("timeline has %d entries, want %d", got, entries)
		}
	})

	t.Run("after a status update is a conflict", func(t *testing.T) {
		f := newFixture(t)
		inc := f.report(t, "api", "P1", "api down")
		if _, err := f.svc.PostUpdate(ctx, "lead@example.com", inc.ID, response.StatusUpdate{Status: "investigating", Message: "on it"}); err != nil {
			t.Fatal(err)
		}
		_, err := f.svc.Acknowledge(ctx, "manager@example.com", inc.ID, response.Acknowledgement{})
		e := wantError(t, err, incident.EConflict, "")
		if !strings.Contains(e.Message, "investigating") {
			t.Errorf("message = %q, want it to name the current status", e.Message)
		}
	})

	t.Run("a resolved incident is a conflict", func(t *testing.T) {
		f := newFixture(t)
		inc := f.report(t, "api", "P1", "api down")
		resolved := f.resolve(t, inc.ID)
		n := f.starter.count()
		_, err := f.svc.Acknowledge(ctx, "lead@example.com", inc.ID, response.Acknowledgement{})
		e := wantError(t, err, incident.EConflict, "")
		if !strings.Contains(e.Message, "resolved") {
			t.Errorf("message = %q, want it to say the incident is resolved", e.Message)
		}
		wantStarts(t, f.starter.since(n), start{inc.ID, resolved.Generation})
	})

	t.Run("unknown incident", func(t *testing.T) {
		f := newFixture(t)
		_, err := f.svc.Acknowledge(ctx, "lead@example.com", "inc-nope", response.Acknowledgement{})
		wantError(t, err, incident.ENotFound, "")
		wantStarts(t, f.starter.since(0))
	})

	t.Run("a failed start after the write is an error", func(t *testing.T) {
		f := newFixture(t)
		inc := f.report(t, "api", "P1", "api down")
		f.starter.failWith(errors.New("states: throttled"))
		n := f.starter.count()
		_, err := f.svc.Acknowledge(ctx, "lead@example.com", inc.ID, response.Acknowledgement{})
		if err == nil {
			t.Fatal("error = nil, want the failed start")
		}
		if got := incident.ErrorCode(err); got != incident.EInternal {
			t.Errorf("code = %q, want internal", got)
		}
		if !strings.Contains(err.Error(), "states: throttled") {
			t.Errorf("error = %v, want it to wrap the starter's error", err)
		}
		wantStarts(t, f.starter.since(n), start{inc.ID, 1})
		if stored := f.get(t, inc.ID); stored.Status != incident.Acknowledged || stored.Generation != 1 {
			t.Errorf("stored = %+v, want the acknowledgement written", stored)
		}
	})

	t.Run("a failed restart on a conflict returns the conflict", func(t *testing.T) {
		f := newFixture(t)
		inc := f.report(t, "api", "P1", "api down")
		if _, err := f.svc.Acknowledge(ctx, "lead@example.com", inc.ID, response.Acknowledgement{}); err != nil {
			t.Fatal(err)
		}
		f.starter.failWith(errors.New("states: throttled"))
		_, err := f.svc.Acknowledge(ctx, "lead@example.com", inc.ID, response.Acknowledgement{})
		wantError(t, err, incident.EConflict, "")
	})
}

// TestAcknowledgeRetryAfterFailedStartRecordsTimeline shows a bug: when
// the escalation cannot be started after the acknowledgement is written,
// Acknowledge returns before writing the timeline entry, and the retry the
// caller makes is refused as already acknowledged, so the timeline never
// records who acknowledged the incident. (The PagerDuty webhook has the
// same gap: its redelivery sees the incident acknowledged and returns nil.)
func TestAcknowledgeRetryAfterFailedStartRecordsTimeline(t *testing.T) {
	f := newFixture(t)
	inc := f.report(t, "api", "P1", "api down")
	f.starter.failWith(errors.New("states: throttled"))
	if _, err := f.svc.Acknowledge(ctx, "lead@example.com", inc.ID, response.Acknowledgement{}); err == nil {
		t.Fatal("error = nil, want the failed start")
	}
	f.starter.failWith(nil)
	f.clock.advance(time.Second)
	_, retryErr := f.svc.Acknowledge(ctx, "lead@example.com", inc.ID, response.Acknowledgement{})

	var acks []incident.Entry
	for _, e := range f.timeline(t, inc.ID) {
		if e.Kind == incident.EntryAcknowledged {
			acks = append(acks, e)
		}
	}
	if len(acks) != 1 || acks[0].Actor != "lead@example.com" {
		t.Errorf("acknowledged entries after the retry (which returned %v) = %+v, want one naming lead@example.com", retryErr, acks)
	}
}

func TestPostUpdate(t *testing.T) {
	for _, status := range []string{"", "triggered", "acknowledged", "resolved", "Investigating", "fixing"} {
		t.Run("status "+status, func(t *testing.T) {
			f := newFixture(t)
			inc := f.report(t, "api", "P1", "api down")
			n := f.starter.count()
			_, err := f.svc.PostUpdate(ctx, "lead@example.com", inc.ID, response.StatusUpdate{Status: status, Message: "m"})
			wantError(t, err, incident.EInvalid, "status")
			wantStarts(t, f.starter.since(n))
		})
	}
	for _, msg := range []string{"", " \n "} {
		t.Run(fmt.Sprintf("message %q", msg), func(t *testing.T) {
			f := newFixture(t)
			inc := f.report(t, "api", "P1", "api down")
			_, err := f.svc.PostUpdate(ctx, "lead@example.com", inc.ID, response.StatusUpdate{Status: "investigating", Message: msg})
			wantError(t, err, incident.EInvalid, "message")
			if stored := f.get(t, inc.ID); stored.Version != inc.Version {
				t.Errorf("stored = %+v, want it unchanged", stored)
			}
		})
	}

	t.Run("an update to a triggered incident acknowledges it", func(t *testing.T) {
		f := newFixture(t)
		inc := f.report(t, "api", "P1", "api down")
		at := f.clock.Now()
		n := f.starter.count()
		eta := time.Date(2026, 3, 1, 6, 30, 0, 0, time.FixedZone("UZT", 5*3600))
		got, err := f.svc.PostUpdate(ctx, "lead@example.com", inc.ID, response.StatusUpdate{Status: "investigating", Message: "rolling back", ETA: &eta})
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != incident.Investigating || got.AcknowledgedBy != "lead@example.com" || !got.AcknowledgedAt.Equal(at) || got.Generation != 1 {
			t.Errorf("incident = %+v, want investigating, acknowledged by lead at %s, generation 1", got, at)
		}
		wantStarts(t, f.starter.since(n), start{inc.ID, 1})
		e := f.last(t, inc.ID)
		wantData := map[string]string{"status": "investigating", "message": "rolling back", "eta": "2026-03-01T01:30:00Z"}
		if e.Kind != incident.EntryStatusUpdate || e.Actor != "lead@example.com" || fmt.Sprint(e.Data) != fmt.Sprint(wantData) {
			t.Errorf("entry = %+v, want a status update by lead with data %v", e, wantData)
		}
		// The update is in the data once; the text is its headline.
		if e.Text != "Status update (Investigating): rolling back" {
			t.Errorf("entry text %q, want the headline", e.Text)
		}
	})

	t.Run("a long update is stored once, its headline cut", func(t *testing.T) {
		f := newFixture(t)
		inc := f.report(t, "api", "P1", "api down")
		msg := strings.Repeat("Every API task fails its health check. ", 100) + "\nSecond line."
		if _, err := f.svc.PostUpdate(ctx, "lead@example.com", inc.ID, response.StatusUpdate{Status: "mitigating", Message: msg, Actions: "Rolling back"}); err != nil {
			t.Fatal(err)
		}
		e := f.last(t, inc.ID)
		if e.Data["message"] != msg || e.Data["actions"] != "Rolling back" {
			t.Errorf("data = %v, want the whole message and the actions", e.Data)
		}
		if n := len([]rune(e.Text)); n > 160 || !strings.HasSuffix(e.Text, "…") || strings.Contains(e.Text, "Second line") {
			t.Errorf("text (%d characters) = %q, want a headline of the first line, cut", n, e.Text)
		}
	})

	t.Run("each update status, on an acknowledged incident", func(t *testing.T) {
		f := newFixture(t)
		inc := f.report(t, "api", "P1", "api down")
		acked, err := f.svc.Acknowledge(ctx, "oncall@example.com", inc.ID, response.Acknowledgement{})
		if err != nil {
			t.Fatal(err)
		}
		for _, st := range []incident.Status{incident.Mitigating, incident.Monitoring, incident.Investigating, incident.Investigating} {
			f.clock.advance(time.Minute)
			n := f.starter.count()
			got, err := f.svc.PostUpdate(ctx, "lead@example.com", inc.ID, response.StatusUpdate{Status: string(st), Message: "m"})
			if err != nil {
				t.Fatalf("%s: %v", st, err)
			}
			if got.Status != st || got.AcknowledgedBy != "oncall@example.com" || !got.AcknowledgedAt.Equal(acked.AcknowledgedAt) || got.Generation != acked.Generation {
				t.Errorf("%s: incident = %+v, want status %s and the acknowledgement and generation unchanged", st, got, st)
			}
			wantStarts(t, f.starter.since(n), start{inc.ID, acked.Generation})
			if e := f.last(t, inc.ID); e.Kind != incident.EntryStatusUpdate || e.Data["status"] != string(st) {
				t.Errorf("%s: entry = %+v", st, e)
			}
			if _, ok := f.last(t, inc.ID).Data["eta"]; ok {
				t.Errorf("%s: entry has an eta, none was given", st)
			}
		}
	})

	t.Run("a resolved incident is a conflict", func(t *testing.T) {
		f := newFixture(t)
		inc := f.report(t, "api", "P1", "api down")
		f.resolve(t, inc.ID)
		_, err := f.svc.PostUpdate(ctx, "lead@example.com", inc.ID, response.StatusUpdate{Status: "monitoring", Message: "m"})
		wantError(t, err, incident.EConflict, "")
	})

	t.Run("unknown incident", func(t *testing.T) {
		f := newFixture(t)
		_, err := f.svc.PostUpdate(ctx, "lead@example.com", "inc-nope", response.StatusUpdate{Status: "monitoring", Message: "m"})
		wantError(t, err, incident.ENotFound, "")
	})
}

func TestChangeSeverity(t *testing.T) {
	for _, sev := range []string{"", "P4", "critical"} {
		t.Run(fmt.Sprintf("severity %q", sev), func(t *testing.T) {
			f := newFixture(t)
			inc := f.report(t, "api", "P2", "api slow")
			_, err := f.svc.ChangeSeverity(ctx, "lead@example.com", inc.ID, response.SeverityChange{Severity: sev})
			wantError(t, err, incident.EInvalid, "severity")
		})
	}

	t.Run("changes and starts the next generation", func(t *testing.T) {
		f := newFixture(t)
		inc := f.report(t, "api", "P2", "api slow")
		n := f.starter.count()
		got, err := f.svc.ChangeSeverity(ctx, "lead@example.com", inc.ID, response.SeverityChange{Severity: "P0", Reason: "all customers affected"})
		if err != nil {
			t.Fatal(err)
		}
		if got.Severity != incident.P0 || got.Generation != 1 || got.Version != 2 {
			t.Errorf("incident = %+v, want P0, generation 1, version 2", got)
		}
		wantStarts(t, f.starter.since(n), start{inc.ID, 1})
		e := f.last(t, inc.ID)
		if e.Kind != incident.EntrySeverityChanged || e.Actor != "lead@example.com" || e.Data["from"] != "P2" || e.Data["to"] != "P0" ||
			e.Text != "Severity changed from P2 to P0 by lead@example.com: all customers affected" {
			t.Errorf("entry = %+v", e)
		}
	})

	t.Run("same severity is a conflict", func(t *testing.T) {
		f := newFixture(t)
		inc := f.report(t, "api", "P2", "api slow")
		n := f.starter.count()
		_, err := f.svc.ChangeSeverity(ctx, "lead@example.com", inc.ID, response.SeverityChange{Severity: "P2"})
		e := wantError(t, err, incident.EConflict, "")
		if !strings.Contains(e.Message, "already P2") {
			t.Errorf("message = %q", e.Message)
		}
		wantStarts(t, f.starter.since(n), start{inc.ID, 0})
	})

	t.Run("a resolved incident is a conflict", func(t *testing.T) {
		f := newFixture(t)
		inc := f.report(t, "api", "P2", "api slow")
		f.resolve(t, inc.ID)
		_, err := f.svc.ChangeSeverity(ctx, "lead@example.com", inc.ID, response.SeverityChange{Severity: "P0"})
		wantError(t, err, incident.EConflict, "")
		if stored := f.get(t, inc.ID); stored.Severity != incident.P2 {
			t.Errorf("severity = %s, want P2 kept", stored.Severity)
		}
	})
}

func TestEscalate(t *testing.T) {
	t.Run("next level above the highest paged", func(t *testing.T) {
		f := newFixture(t)
		inc := f.report(t, "api", "P1", "api down")
		paged := f.setPages(t, inc.ID, 0, page(inc.ID, 0, 1))
		at := f.clock.Now()
		n := f.starter.count()
		got, err := f.svc.Escalate(ctx, "lead@example.com", inc.ID, response.Escalation{Reason: "need a DBA"})
		if err != nil {
			t.Fatal(err)
		}
		want := []incident.EscalationRequest{{Episode: 0, Level: 2, LevelName: "team-lead", At: at, By: "lead@example.com", Reason: "need a DBA"}}
		if fmt.Sprint(got.Escalations) != fmt.Sprint(want) || got.Generation != paged.Generation+1 {
			t.Errorf("incident = %+v, want escalations %+v and generation %d", got, want, paged.Generation+1)
		}
		wantStarts(t, f.starter.since(n), start{inc.ID, paged.Generation + 1})
		e := f.last(t, inc.ID)
		if e.Kind != incident.EntryEscalated || e.Actor != "lead@example.com" || e.Data["level"] != "2" || e.Data["levelName"] != "team-lead" ||
			!strings.Contains(e.Text, "Team Lead") || !strings.Contains(e.Text, "need a DBA") {
			t.Errorf("entry = %+v", e)
		}
	})

	t.Run("first level when nobody was paged", func(t *testing.T) {
		f := newFixture(t)
		inc := f.report(t, "api", "P3", "api typo")
		got, err := f.svc.Escalate(ctx, "lead@example.com", inc.ID, response.Escalation{})
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Escalations) != 1 || got.Escalations[0].Level != 1 {
			t.Errorf("escalations = %+v, want level 1", got.Escalations)
		}
	})

	t.Run("named level", func(t *testing.T) {
		f := newFixture(t)
		inc := f.report(t, "api", "P1", "api down")
		f.setPages(t, inc.ID, 0, page(inc.ID, 0, 1))
		got, err := f.svc.Escalate(ctx, "lead@example.com", inc.ID, response.Escalation{Level: "cto", Reason: "press"})
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Escalations) != 1 || got.Escalations[0].Level != 4 || got.Escalations[0].LevelName != "cto" || got.Escalations[0].By != "lead@example.com" {
			t.Errorf("escalations = %+v, want cto (level 4) by lead", got.Escalations)
		}
		if e := f.last(t, inc.ID); e.Data["level"] != "4" || e.Data["levelName"] != "cto" {
			t.Errorf("entry = %+v", e)
		}
	})

	t.Run("unknown level", func(t *testing.T) {
		f := newFixture(t)
		inc := f.report(t, "api", "P1", "api down")
		_, err := f.svc.Escalate(ctx, "lead@example.com", inc.ID, response.Escalation{Level: "ceo"})
		wantError(t, err, incident.EInvalid, "level")
	})

	for _, level := range []string{"on-call", "team-lead"} {
		t.Run("already paged "+level, func(t *testing.T) {
			f := newFixture(t)
			inc := f.report(t, "api", "P1", "api down")
			paged := f.setPages(t, inc.ID, 0, page(inc.ID, 0, 1), page(inc.ID, 0, 2))
			n := f.starter.count()
			_, err := f.svc.Escalate(ctx, "lead@example.com", inc.ID, response.Escalation{Level: level})
			e := wantError(t, err, incident.EConflict, "")
			if !strings.Contains(e.Message, "already paged") {
				t.Errorf("message = %q", e.Message)
			}
			wantStarts(t, f.starter.since(n), start{inc.ID, paged.Generation})
		})
	}

	t.Run("already requested", func(t *testing.T) {
		f := newFixture(t)
		inc := f.report(t, "api", "P1", "api down")
		f.setPages(t, inc.ID, 0, page(inc.ID, 0, 1))
		if _, err := f.svc.Escalate(ctx, "lead@example.com", inc.ID, response.Escalation{}); err != nil {
			t.Fatal(err)
		}
		_, err := f.svc.Escalate(ctx, "manager@example.com", inc.ID, response.Escalation{Level: "team-lead"})
		wantError(t, err, incident.EConflict, "")
	})

	t.Run("beyond the last level", func(t *testing.T) {
		f := newFixture(t)
		inc := f.report(t, "api", "P0", "api down")
		f.setPages(t, inc.ID, 0, page(inc.ID, 0, 1), page(inc.ID, 0, 2), page(inc.ID, 0, 3), page(inc.ID, 0, 4))
		_, err := f.svc.Escalate(ctx, "lead@example.com", inc.ID, response.Escalation{})
		wantError(t, err, incident.EConflict, "")
	})

	t.Run("pages of an earlier episode do not count", func(t *testing.T) {
		f := newFixture(t)
		inc := f.report(t, "api", "P1", "api down")
		f.setPages(t, inc.ID, 1, page(inc.ID, 0, 1), page(inc.ID, 0, 2))
		got, err := f.svc.Escalate(ctx, "lead@example.com", inc.ID, response.Escalation{})
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Escalations) != 1 || got.Escalations[0].Level != 1 || got.Escalations[0].Episode != 1 {
			t.Errorf("escalations = %+v, want level 1 of episode 1", got.Escalations)
		}
	})

	t.Run("a resolved incident is a conflict", func(t *testing.T) {
		f := newFixture(t)
		inc := f.report(t, "api", "P1", "api down")
		f.resolve(t, inc.ID)
		_, err := f.svc.Escalate(ctx, "lead@example.com", inc.ID, response.Escalation{})
		wantError(t, err, incident.EConflict, "")
	})
}

func TestResolve(t *testing.T) {
	for _, rc := range []string{"", "  "} {
		t.Run(fmt.Sprintf("root cause %q", rc), func(t *testing.T) {
			f := newFixture(t)
			inc := f.report(t, "api", "P1", "api down")
			n := f.starter.count()
			_, err := f.svc.Resolve(ctx, "lead@example.com", inc.ID, response.Resolution{RootCause: rc, Summary: "s"})
			wantError(t, err, incident.EInvalid, "rootCause")
			wantStarts(t, f.starter.since(n))
		})
	}

	t.Run("resolves and starts the next generation", func(t *testing.T) {
		f := newFixture(t)
		inc := f.report(t, "api", "P1", "api down")
		at := f.clock.Now()
		n := f.starter.count()
		got, err := f.svc.Resolve(ctx, "lead@example.com", inc.ID, response.Resolution{RootCause: "expired certificate", Summary: "renewed it"})
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != incident.Resolved || !got.ResolvedAt.Equal(at) || got.ResolvedBy != "lead@example.com" ||
			got.RootCause != "expired certificate" || got.Resolution != "renewed it" || got.Generation != 1 {
			t.Errorf("incident = %+v, want resolved by lead at %s with root cause and resolution, generation 1", got, at)
		}
		if stored := f.get(t, inc.ID); fmt.Sprintf("%+v", stored) != fmt.Sprintf("%+v", got) {
			t.Errorf("stored =\n%+v\nreturned\n%+v", stored, got)
		}
		wantStarts(t, f.starter.since(n), start{inc.ID, 1})
		e := f.last(t, inc.ID)
		if e.Kind != incident.EntryResolved || e.Actor != "lead@example.com" || e.Data["rootCause"] != "expired certificate" ||
			e.Text != "Resolved by lead@example.com. Root cause: expired certificate. Resolution: renewed it" {
			t.Errorf("entry = %+v", e)
		}
	})

	t.Run("resolving twice is a conflict", func(t *testing.T) {
		f := newFixture(t)
		inc := f.report(t, "api", "P1", "api down")
		first := f.resolve(t, inc.ID)
		n := f.starter.count()
		_, err := f.svc.Resolve(ctx, "manager@example.com", inc.ID, response.Resolution{RootCause: "other"})
		e := wantError(t, err, incident.EConflict, "")
		if !strings.Contains(e.Message, "already resolved") {
			t.Errorf("message = %q, want it to say already resolved", e.Message)
		}
		wantStarts(t, f.starter.since(n), start{inc.ID, first.Generation})
		if stored := f.get(t, inc.ID); stored.ResolvedBy != "oncall@example.com" || stored.RootCause != "bad deploy" {
			t.Errorf("stored = %+v, want the first resolution kept", stored)
		}
	})
}

func TestReportWithAnIdempotencyKey(t *testing.T) {
	f := newFixture(t)
	rep := response.Report{Title: "Checkout returns 500", Service: "checkout", Severity: "P1", Category: "high-error-rate",
		Description: "Customers cannot pay since 02:55.", IdempotencyKey: "report-7f3a"}
	// The first call's start fails after the incident is written; the
	// client retries with the same key a minute later.
	f.starter.failWith(errors.New("ThrottlingException"))
	if _, err := f.svc.Report(ctx, "oncall@example.com", rep); err == nil {
		t.Fatal("first report: want the start's error")
	}
	f.starter.failWith(nil)
	f.clock.advance(time.Minute)
	first, err := f.svc.Report(ctx, "oncall@example.com", rep)
	if err != nil {
		t.Fatal(err)
	}
	again, err := f.svc.Report(ctx, "oncall@example.com", rep)
	if err != nil {
		t.Fatal(err)
	}
	if again.ID != first.ID || !first.OpenedAt.Equal(t0) {
		t.Errorf("retries opened %s (at %s) and %s, want the first call's incident", first.ID, first.OpenedAt, again.ID)
	}
	list, err := f.svc.List(ctx, response.ListRequest{Service: "checkout"})
	if err != nil || len(list.Incidents) != 1 {
		t.Errorf("incidents = %v, %v; want one", ids(list.Incidents), err)
	}
	if es := f.timeline(t, first.ID); len(es) != 1 {
		t.Errorf("timeline = %+v, want one reported entry", es)
	}
	// The key is the caller's: another caller's key opens its own incident.
	other, err := f.svc.Report(ctx, "lead@example.com", rep)
	if err != nil || other.ID == first.ID {
		t.Errorf("another caller's report = %s, %v; want a new incident", other.ID, err)
	}
}

func TestIdenticalReportsWithoutAKey(t *testing.T) {
	f := newFixture(t)
	rep := response.Report{Title: "Exports time out", Service: "api", Severity: "P2", Category: "performance", Description: "CSV exports over 10k rows time out"}
	first, err := f.svc.Report(ctx, "oncall@example.com", rep)
	if err != nil {
		t.Fatal(err)
	}
	f.clock.advance(time.Minute)
	again, err := f.svc.Report(ctx, "oncall@example.com", rep)
	if err != nil || again.ID != first.ID {
		t.Errorf("the same report a minute later = %s, %v; want %s (a double submission)", again.ID, err, first.ID)
	}
	rep.Description += " since 02:00"
	other, err := f.svc.Report(ctx, "oncall@example.com", rep)
	if err != nil || other.ID == first.ID {
		t.Errorf("a different report = %s, %v; want a new incident", other.ID, err)
	}
	f.clock.advance(10 * time.Minute)
	later, err := f.svc.Report(ctx, "oncall@example.com", response.Report{Title: "Exports time out", Service: "api", Severity: "P2", Category: "performance", Description: "CSV exports over 10k rows time out"})
	if err != nil || later.ID == first.ID {
		t.Errorf("the same report in a later ten-minute slot = %s, %v; want a new incident", later.ID, err)
	}
}

// failingTimeline fails the next timeline append, as a throttled PutItem
// or a function stopped between its two writes would.
type failingTimeline struct {
	response.Store
	fail bool
}

func (f *failingTimeline) AppendTimeline(ctx context.Context, id string, e incident.Entry) (bool, error) {
	if f.fail {
		f.fail = false
		return false, errors.New("ProvisionedThroughputExceededException")
	}
	return f.Store.AppendTimeline(ctx, id, e)
}

// TestEscalateRetryCompletesTheTimeline: the request is stored but its
// timeline entry is not; the caller's retry is refused as under way and
// writes the entry.
func TestEscalateRetryCompletesTheTimeline(t *testing.T) {
	f := newFixture(t)
	inc := f.report(t, "api", "P1", "api down")
	f.setPages(t, inc.ID, 0, page(inc.ID, 0, 1))
	store := &failingTimeline{Store: f.store, fail: true}
	svc := &response.Service{Store: store, Starter: f.starter, Policy: incident.DefaultPolicy(), Clock: f.clock}
	esc := response.Escalation{Reason: "need database expertise"}
	if _, err := svc.Escalate(ctx, "oncall@example.com", inc.ID, esc); err == nil {
		t.Fatal("first call: want the timeline failure")
	}
	f.clock.advance(time.Minute)
	_, err := svc.Escalate(ctx, "oncall@example.com", inc.ID, esc)
	wantError(t, err, incident.EConflict, "")
	var entries []incident.Entry
	for _, e := range f.timeline(t, inc.ID) {
		if e.Kind == incident.EntryEscalated {
			entries = append(entries, e)
		}
	}
	if len(entries) != 1 || entries[0].Actor != "oncall@example.com" || !strings.Contains(entries[0].Text, "need database expertise") || !entries[0].At.Equal(t0.Add(time.Minute)) {
		t.Errorf("escalation entries = %+v, want the first call's, at its time", entries)
	}
}

// TestReportAfterItsIncidentWasResolved: the same report sent after its
// incident was resolved is a new occurrence, not a retry: it opens a new
// incident and pages (finding M4: it answered the resolved incident and
// nobody was paged).
func TestReportAfterItsIncidentWasResolved(t *testing.T) {
	for _, key := range []string{"", "report-7f3a"} {
		t.Run("idempotency key "+strconv.Quote(key), func(t *testing.T) {
			f := newFixture(t)
			rep := response.Report{Title: "Checkout returns 500", Service: "checkout", Severity: "P1", Category: "high-error-rate",
				Description: "Customers cannot pay.", IdempotencyKey: key}
			first, err := f.svc.Report(ctx, "oncall@example.com", rep)
			if err != nil {
				t.Fatal(err)
			}
			f.clock.advance(time.Minute)
			f.resolve(t, first.ID)
			f.clock.advance(time.Minute)
			n := f.starter.count()
			again, err := f.svc.Report(ctx, "oncall@example.com", rep)
			if err != nil {
				t.Fatal(err)
			}
			if again.ID == first.ID || again.Status != incident.Triggered {
				t.Fatalf("report after the resolution = %s (%s), want a new triggered incident", again.ID, again.Status)
			}
			wantStarts(t, f.starter.since(n), start{again.ID, 0})
			if got := f.get(t, first.ID); got.Status != incident.Resolved {
				t.Errorf("the first incident is %s, want it left resolved", got.Status)
			}
			// A retry of the second report finds the second incident.
			retry, err := f.svc.Report(ctx, "oncall@example.com", rep)
			if err != nil || retry.ID != again.ID {
				t.Errorf("retry = %s, %v; want %s", retry.ID, err, again.ID)
			}
		})
	}
}

// TestReportKeyReusedWithAnotherBody: an Idempotency-Key sent again with a
// different report is refused, naming the header, and nothing is dropped
// silently (finding M5: the second report, a P0 for another service, was
// answered with the first incident).
func TestReportKeyReusedWithAnotherBody(t *testing.T) {
	f := newFixture(t)
	rep := response.Report{Title: "Exports time out", Service: "api", Severity: "P2", Category: "performance",
		Description: "CSV exports time out", IdempotencyKey: "k-1"}
	first, err := f.svc.Report(ctx, "oncall@example.com", rep)
	if err != nil {
		t.Fatal(err)
	}
	other := response.Report{Title: "Database down", Service: "dashboarduz-production-db", Severity: "P0", Category: "database",
		Description: "Connections refused", IdempotencyKey: "k-1"}
	n := f.starter.count()
	_, err = f.svc.Report(ctx, "oncall@example.com", other)
	e := wantError(t, err, incident.EConflict, "Idempotency-Key")
	if e != nil && !strings.Contains(e.Message, "different") {
		t.Errorf("message %q does not say the body differs", e.Message)
	}
	wantStarts(t, f.starter.since(n))
	list, err := f.svc.List(ctx, response.ListRequest{})
	if err != nil || len(list.Incidents) != 1 || list.Incidents[0].ID != first.ID {
		t.Errorf("incidents = %v, %v; want only the first", ids(list.Incidents), err)
	}
	// Changing only the severity is a different report too.
	sev := rep
	sev.Severity = "P1"
	_, err = f.svc.Report(ctx, "oncall@example.com", sev)
	wantError(t, err, incident.EConflict, "Idempotency-Key")
	// The first body with its key is still a retry.
	again, err := f.svc.Report(ctx, "oncall@example.com", rep)
	if err != nil || again.ID != first.ID {
		t.Errorf("retry = %s, %v; want %s", again.ID, err, first.ID)
	}
}

// TestConcurrentStatusUpdates: 30 responders post updates to one incident
// at once. Each gets its update recorded or a clear conflict, never an
// internal error (finding M9: 16 of 30 answered 500 after eight rounds
// without backoff, and updates that changed nothing rewrote the item).
func TestConcurrentStatusUpdates(t *testing.T) {
	f := newFixture(t)
	inc := f.report(t, "api", "P1", "api down")
	statuses := []string{"investigating", "mitigating", "monitoring"}
	const n = 30
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, errs[i] = f.svc.PostUpdate(ctx, fmt.Sprintf("responder-%d@example.com", i), inc.ID,
				response.StatusUpdate{Status: statuses[i%len(statuses)], Message: fmt.Sprintf("update %d", i)})
		})
	}
	wg.Wait()
	ok := 0
	for i, err := range errs {
		switch incident.ErrorCode(err) {
		case "":
			ok++
		case incident.EConflict:
		default:
			t.Errorf("update %d: %v (code %s), want success or a conflict", i, err, incident.ErrorCode(err))
		}
	}
	t.Logf("%d of %d updates succeeded, the others were told of a conflict", ok, n)
	if ok == 0 {
		t.Error("no update succeeded")
	}
	updates := 0
	for _, e := range f.timeline(t, inc.ID) {
		if e.Kind == incident.EntryStatusUpdate {
			updates++
		}
	}
	if updates != ok {
		t.Errorf("%d status updates on the timeline, %d calls succeeded", updates, ok)
	}
}

// TestSameStatusUpdateIsAnnounced: an update with the status the incident
// already has records its message and queues it to be announced, in one
// write of the incident.
func TestSameStatusUpdateIsAnnounced(t *testing.T) {
	f := newFixture(t)
	inc := f.report(t, "api", "P1", "api down")
	first, err := f.svc.PostUpdate(ctx, "oncall@example.com", inc.ID, response.StatusUpdate{Status: "mitigating", Message: "rolling back"})
	if err != nil {
		t.Fatal(err)
	}
	f.clock.advance(time.Minute)
	again, err := f.svc.PostUpdate(ctx, "oncall@example.com", inc.ID, response.StatusUpdate{Status: "mitigating", Message: "still rolling back"})
	if err != nil {
		t.Fatal(err)
	}
	stored := f.get(t, inc.ID)
	if again.Version != first.Version+1 || stored.Version != first.Version+1 {
		t.Errorf("versions %d, %d after the second update, want %d: one write", again.Version, stored.Version, first.Version+1)
	}
	if n := len(stored.Announcements); n != 3 {
		t.Errorf("announcements %v, want the report and the two updates", stored.Announcements)
	}
	if e := f.last(t, inc.ID); e.Kind != incident.EntryStatusUpdate || e.Data["message"] != "still rolling back" {
		t.Errorf("last entry = %+v, want the second update", e)
	}
}
