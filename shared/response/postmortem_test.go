package response_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/postmortem"
	"github.com/dashboarduz/incident-response/shared/response"
)

// postMortems is the post-mortem service on the fixture's store and clock.
func (f *fixture) postMortems() *response.PostMortems {
	return &response.PostMortems{Store: f.store, Policy: incident.DefaultPolicy(), Clock: f.clock}
}

// TestPostMortemWorkflow takes a P0 from resolution through its
// post-mortem: created on the first read, due 48 hours after the
// resolution, action items added, assigned and closed, completion refused
// while an open item has no owner or due date, then completed by the
// commander, which marks the incident and ends its reminders.
func TestPostMortemWorkflow(t *testing.T) {
	f := newFixture(t)
	pms := f.postMortems()
	inc := f.report(t, "dashboarduz-api", "P0", "API down")
	resolved := f.resolve(t, inc.ID)

	doc, err := pms.PostMortem(ctx, inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !doc.ResolvedAt.Equal(resolved.ResolvedAt) || !doc.DueAt.Equal(resolved.PostMortemDue()) || doc.Status != postmortem.Due || doc.Version != 1 || len(doc.ActionItems) != 0 {
		t.Fatalf("first read %+v: want version 1, due 48 hours after %s", doc, resolved.ResolvedAt)
	}
	if again, err := pms.PostMortem(ctx, inc.ID); err != nil || again.Version != 1 {
		t.Errorf("second read %+v, %v: want the same post-mortem", again, err)
	}
	md, err := pms.PostMortemDraft(ctx, inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"# Post-mortem: API down", "bad deploy", "## Timeline", "Incident reported by reporter@example.com"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("the draft does not say %q:\n%s", want, md)
		}
	}

	f.clock.advance(time.Hour)
	doc, err = pms.AddActionItem(ctx, "oncall@example.com", inc.ID, response.ActionItemRequest{Title: "Alert on pool saturation"})
	if err != nil || len(doc.ActionItems) != 1 || doc.ActionItems[0].ID != "AI-1" || doc.Version != 2 {
		t.Fatalf("add: %+v, %v", doc, err)
	}
	doc, err = pms.AddActionItem(ctx, "oncall@example.com", inc.ID, response.ActionItemRequest{Title: "Canary deploys", Owner: "lead@example.com", DueAt: "2026-03-20"})
	if err != nil || doc.ActionItems[1].DueAt.Format(time.RFC3339) != "2026-03-20T23:59:59Z" {
		t.Fatalf("add with a date: %+v, %v", doc, err)
	}
	_, err = pms.CompletePostMortem(ctx, "ic@example.com", inc.ID)
	wantError(t, err, incident.EInvalid, "actionItems")

	doc, err = pms.AssignActionItem(ctx, "oncall@example.com", inc.ID, "AI-1", response.AssignmentRequest{Owner: "dba@example.com", DueAt: "2026-03-15"})
	if err != nil || doc.ActionItems[0].Owner != "dba@example.com" || doc.ActionItems[0].DueAt.IsZero() {
		t.Fatalf("assign: %+v, %v", doc, err)
	}
	doc, err = pms.CloseActionItem(ctx, "lead@example.com", inc.ID, "AI-2")
	if err != nil || doc.ActionItems[1].Status != postmortem.ItemClosed || doc.ActionItems[1].ClosedBy != "lead@example.com" {
		t.Fatalf("close: %+v, %v", doc, err)
	}
	_, err = pms.CloseActionItem(ctx, "lead@example.com", inc.ID, "AI-2")
	wantError(t, err, incident.EConflict, "")
	_, err = pms.AssignActionItem(ctx, "oncall@example.com", inc.ID, "AI-9", response.AssignmentRequest{Owner: "x"})
	wantError(t, err, incident.ENotFound, "")
	_, err = pms.AddActionItem(ctx, "oncall@example.com", inc.ID, response.ActionItemRequest{Title: "x", DueAt: "2020-01-01"})
	wantError(t, err, incident.EInvalid, "dueAt")

	f.clock.advance(time.Hour)
	done, err := pms.CompletePostMortem(ctx, "ic@example.com", inc.ID)
	if err != nil || done.Status != postmortem.Completed || done.CompletedBy != "ic@example.com" || !done.CompletedAt.Equal(f.clock.Now()) {
		t.Fatalf("complete: %+v, %v", done, err)
	}
	marked := f.get(t, inc.ID)
	if !marked.PostMortemCompleted {
		t.Error("the incident is not marked post-mortem completed")
	}
	if due := marked.DueReminders(marked.PostMortemDue()); len(due) != 0 {
		t.Errorf("reminders still due after completion: %v", due)
	}
	last := f.last(t, inc.ID)
	if last.Kind != postmortem.EntryCompleted || last.Actor != "ic@example.com" || !strings.Contains(last.Text, "2 action items, 1 open") {
		t.Errorf("last timeline entry %+v, want the completion", last)
	}
	_, err = pms.CompletePostMortem(ctx, "ic@example.com", inc.ID)
	wantError(t, err, incident.EConflict, "")
	entries := f.timeline(t, inc.ID)
	if n := countKind(entries, postmortem.EntryCompleted); n != 1 {
		t.Errorf("%d completion entries after completing twice, want 1", n)
	}
	// Action items outlive the review.
	if _, err := pms.AddActionItem(ctx, "oncall@example.com", inc.ID, response.ActionItemRequest{Title: "Runbook: pool sizing"}); err != nil {
		t.Errorf("add after completion: %v", err)
	}
}

func countKind(entries []incident.Entry, kind incident.EntryKind) int {
	n := 0
	for _, e := range entries {
		if e.Kind == kind {
			n++
		}
	}
	return n
}

// TestPostMortemBeforeResolution: an open incident has no post-mortem to
// read (404) or change (409); an unknown incident is 404 either way.
func TestPostMortemBeforeResolution(t *testing.T) {
	f := newFixture(t)
	pms := f.postMortems()
	inc := f.report(t, "dashboarduz-api", "P1", "Slow exports")
	_, err := pms.PostMortem(ctx, inc.ID)
	wantError(t, err, incident.ENotFound, "")
	_, err = pms.PostMortemDraft(ctx, inc.ID)
	wantError(t, err, incident.ENotFound, "")
	_, err = pms.AddActionItem(ctx, "oncall@example.com", inc.ID, response.ActionItemRequest{Title: "x"})
	wantError(t, err, incident.EConflict, "")
	_, err = pms.CompletePostMortem(ctx, "ic@example.com", inc.ID)
	wantError(t, err, incident.EConflict, "")
	for _, err := range []error{
		func() error { _, err := pms.PostMortem(ctx, "inc-none"); return err }(),
		func() error {
			_, err := pms.AddActionItem(ctx, "a", "inc-none", response.ActionItemRequest{Title: "x"})
			return err
		}(),
		func() error { _, err := pms.CompletePostMortem(ctx, "a", "inc-none"); return err }(),
	} {
		wantError(t, err, incident.ENotFound, "")
	}
}

// TestPostMortemFollowsTheLatestResolution: an incident re-opened and
// resolved again before its post-mortem was completed is due 48 hours
// after the latest resolution; completing needs it resolved.
func TestPostMortemFollowsTheLatestResolution(t *testing.T) {
	f := newFixture(t)
	pms := f.postMortems()
	inc := f.report(t, "dashboarduz-api", "P1", "Errors")
	f.resolve(t, inc.ID)
	first, err := pms.PostMortem(ctx, inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	f.clock.advance(2 * time.Hour)
	reopened := f.get(t, inc.ID)
	reopened.Reopen(incident.DefaultPolicy(), f.clock.Now())
	if _, err := f.store.UpdateIncident(ctx, reopened); err != nil {
		t.Fatal(err)
	}
	_, err = pms.CompletePostMortem(ctx, "ic@example.com", inc.ID)
	wantError(t, err, incident.EConflict, "")
	if got, err := pms.PostMortem(ctx, inc.ID); err != nil || !got.DueAt.Equal(first.DueAt) {
		t.Errorf("while re-opened: %+v, %v; want the post-mortem as it was", got, err)
	}
	f.clock.advance(time.Hour)
	again := f.resolve(t, inc.ID)
	got, err := pms.PostMortem(ctx, inc.ID)
	if err != nil || !got.ResolvedAt.Equal(again.ResolvedAt) || !got.DueAt.Equal(again.PostMortemDue()) {
		t.Errorf("after the second resolution: %+v, %v; want it due %s", got, err, again.PostMortemDue())
	}
	// A change stores the new due time.
	changed, err := pms.AddActionItem(ctx, "oncall@example.com", inc.ID, response.ActionItemRequest{Title: "x", Owner: "y", DueAt: "2030-01-01"})
	if err != nil || !changed.DueAt.Equal(again.PostMortemDue()) {
		t.Errorf("changed: %+v, %v", changed, err)
	}
	stored, err := f.store.PostMortem(ctx, inc.ID)
	if err != nil || !stored.DueAt.Equal(again.PostMortemDue()) {
		t.Errorf("stored %+v, %v", stored, err)
	}
}

// TestCompletePostMortemHeals: a completion cut short after its first
// write (the post-mortem stored completed, the incident not marked) is
// finished by calling again, which is still a conflict.
func TestCompletePostMortemHeals(t *testing.T) {
	f := newFixture(t)
	pms := f.postMortems()
	inc := f.report(t, "dashboarduz-api", "P2", "Slow")
	f.resolve(t, inc.ID)
	if _, err := pms.PostMortem(ctx, inc.ID); err != nil {
		t.Fatal(err)
	}
	pm, err := f.store.PostMortem(ctx, inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	done, err := postmortem.Complete(pm, "ic@example.com", f.clock)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.UpdatePostMortem(ctx, done); err != nil {
		t.Fatal(err)
	}
	if f.get(t, inc.ID).PostMortemCompleted {
		t.Fatal("marked before the retry")
	}
	f.clock.advance(time.Minute)
	_, err = pms.CompletePostMortem(ctx, "ic@example.com", inc.ID)
	wantError(t, err, incident.EConflict, "")
	if !f.get(t, inc.ID).PostMortemCompleted {
		t.Error("the retry did not mark the incident")
	}
	last := f.last(t, inc.ID)
	if last.Kind != postmortem.EntryCompleted || !last.At.Equal(done.CompletedAt) {
		t.Errorf("last entry %+v, want the completion at %s", last, done.CompletedAt)
	}
}

// TestActionItemsConcurrently: responders adding items at once all get
// theirs, with distinct IDs: a lost version race is re-read and re-applied.
func TestActionItemsConcurrently(t *testing.T) {
	f := newFixture(t)
	pms := f.postMortems()
	inc := f.report(t, "dashboarduz-api", "P1", "Errors")
	f.resolve(t, inc.ID)
	if _, err := pms.PostMortem(ctx, inc.ID); err != nil {
		t.Fatal(err)
	}
	const n = 4
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			_, errs[i] = pms.AddActionItem(ctx, "oncall@example.com", inc.ID, response.ActionItemRequest{Title: "item"})
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Errorf("add: %v", err)
		}
	}
	doc, err := pms.PostMortem(ctx, inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range doc.ActionItems {
		got = append(got, a.ID)
	}
	if !slices.Equal(got, []string{"AI-1", "AI-2", "AI-3", "AI-4"}) || doc.Version != n+1 {
		t.Errorf("items %v at version %d, want AI-1..AI-4 at %d", got, doc.Version, n+1)
	}
}

// summaryStore answers IncidentsOpenedBetween from a list, saying it is
// incomplete when told to.
type summaryStore struct {
	incidents  []incident.Incident
	incomplete bool
	from, to   time.Time
	limit      int
}

func (s *summaryStore) IncidentsOpenedBetween(_ context.Context, from, to time.Time, limit int) ([]incident.Incident, bool, error) {
	s.from, s.to, s.limit = from, to, limit
	return s.incidents, !s.incomplete, nil
}

func TestSummaries(t *testing.T) {
	f := newFixture(t)
	a := f.report(t, "dashboarduz-api", "P0", "API down")
	f.clock.advance(2 * time.Minute)
	if _, err := f.svc.Acknowledge(ctx, "oncall@example.com", a.ID, response.Acknowledgement{}); err != nil {
		t.Fatal(err)
	}
	f.clock.advance(30 * time.Minute)
	f.resolve(t, a.ID)
	f.report(t, "dashboarduz-worker", "P2", "Jobs slow")
	f.clock.advance(time.Hour)

	s := &response.Summaries{Store: f.store, Policy: incident.DefaultPolicy(), Clock: f.clock}
	sum, err := s.Summary(ctx, "2026-03-01", "2026-03-02")
	if err != nil {
		t.Fatal(err)
	}
	if sum.Overall.Count != 2 || sum.BySeverity[0].Count != 1 || sum.BySeverity[2].Count != 1 {
		t.Fatalf("summary %+v: want the P0 and the P2", sum)
	}
	p0 := sum.BySeverity[0]
	if p0.TimeToAcknowledge.MeanSeconds == nil || *p0.TimeToAcknowledge.MeanSeconds != 180 || p0.Resolved != 1 {
		t.Errorf("P0 %+v: want acknowledged after 3 minutes and resolved", p0.Stats)
	}
	if none, err := s.Summary(ctx, "2026-02-01", "2026-03-01"); err != nil || none.Overall.Count != 0 {
		t.Errorf("the month before: %+v, %v", none.Overall, err)
	}
	_, err = s.Summary(ctx, "2020-01-01", "")
	wantError(t, err, incident.EInvalid, "from")
	_, err = s.Summary(ctx, "", "soon")
	wantError(t, err, incident.EInvalid, "to")

	// Past the cap, the summary is refused rather than made from part of
	// the range.
	capped := &summaryStore{incomplete: true}
	s.Store = capped
	_, err = s.Summary(ctx, "2026-01-01", "2026-03-01")
	e := wantError(t, err, incident.EInvalid, "from")
	if !strings.Contains(e.Message, "more than 5000 incidents") || capped.limit != response.MaxSummaryIncidents {
		t.Errorf("message %q, limit asked %d", e.Message, capped.limit)
	}
}
