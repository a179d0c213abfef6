package postmortem

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dashboarduz/incident-response/shared/incident"
)

var t0 = time.Date(2026, 3, 1, 3, 0, 0, 0, time.UTC)

// at is a fixed clock.
func at(t time.Time) incident.Clock { return incident.ClockFunc(func() time.Time { return t }) }

func resolvedIncident() incident.Incident {
	return incident.Incident{
		ID: "inc-20260301-030000-c0f8ae04e8", Status: incident.Resolved, Severity: incident.P0,
		OpenedAt: t0, AcknowledgedAt: t0.Add(12 * time.Minute), ResolvedAt: t0.Add(45 * time.Minute),
	}
}

func TestSchedule(t *testing.T) {
	pm, err := Schedule(resolvedIncident())
	if err != nil {
		t.Fatal(err)
	}
	if want := t0.Add(45*time.Minute + 48*time.Hour); !pm.DueAt.Equal(want) {
		t.Errorf("due %s, want 48 hours after the resolution %s", pm.DueAt, want)
	}
	open := resolvedIncident()
	open.Status, open.ResolvedAt = incident.Mitigating, time.Time{}
	if _, err := Schedule(open); incident.ErrorCode(err) != incident.EConflict {
		t.Errorf("open incident: %v, want a conflict", err)
	}
}

func TestStatusAt(t *testing.T) {
	pm, _ := Schedule(resolvedIncident())
	for _, c := range []struct {
		name string
		pm   PostMortem
		now  time.Time
		want Status
	}{
		{"just resolved", pm, pm.ResolvedAt, Due},
		{"a second before due", pm, pm.DueAt.Add(-time.Second), Due},
		{"at the due time", pm, pm.DueAt, Overdue},
		{"long after", pm, pm.DueAt.Add(72 * time.Hour), Overdue},
		{"completed late", PostMortem{DueAt: pm.DueAt, CompletedAt: pm.DueAt.Add(time.Hour)}, pm.DueAt.Add(2 * time.Hour), Completed},
	} {
		if got := c.pm.StatusAt(c.now); got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
}

func TestAddActionItem(t *testing.T) {
	base, _ := Schedule(resolvedIncident())
	now := base.ResolvedAt.Add(time.Hour)
	for _, c := range []struct {
		name      string
		in        NewActionItem
		wantField string
		wantCode  string
	}{
		{name: "title only", in: NewActionItem{Title: "Alert on pool saturation"}},
		{name: "everything", in: NewActionItem{Title: " Canary deploys ", Owner: " team-lead@dashboarduz.example ", DueAt: now.Add(7 * 24 * time.Hour)}},
		{name: "no title", in: NewActionItem{Title: "   "}, wantField: "title", wantCode: incident.EInvalid},
		{name: "title too long", in: NewActionItem{Title: strings.Repeat("é", MaxTitle+1)}, wantField: "title", wantCode: incident.EInvalid},
		{name: "title at the limit", in: NewActionItem{Title: strings.Repeat("é", MaxTitle)}},
		{name: "owner too long", in: NewActionItem{Title: "x", Owner: strings.Repeat("o", MaxOwner+1)}, wantField: "owner", wantCode: incident.EInvalid},
		{name: "due in the past", in: NewActionItem{Title: "x", DueAt: now.Add(-time.Minute)}, wantField: "dueAt", wantCode: incident.EInvalid},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, item, err := AddActionItem(base, c.in, "alice@dashboarduz.example", at(now))
			if c.wantCode != "" {
				var e *incident.Error
				if incident.ErrorCode(err) != c.wantCode || !errors.As(err, &e) || e.Field != c.wantField {
					t.Fatalf("error %v, want %s on %s", err, c.wantCode, c.wantField)
				}
				if len(got.ActionItems) != 0 {
					t.Error("a refused item was added")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if item.ID != "AI-1" || item.Status != ItemOpen || !item.CreatedAt.Equal(now) || item.CreatedBy != "alice@dashboarduz.example" {
				t.Errorf("item %+v", item)
			}
			if item.Title != strings.TrimSpace(c.in.Title) || item.Owner != strings.TrimSpace(c.in.Owner) {
				t.Errorf("not trimmed: %+v", item)
			}
			if (item.Owner != "") != !item.AssignedAt.IsZero() {
				t.Errorf("assigned at %s with owner %q", item.AssignedAt, item.Owner)
			}
			if len(got.ActionItems) != 1 || got.ActionItems[0] != item {
				t.Errorf("post-mortem items %+v", got.ActionItems)
			}
			if len(base.ActionItems) != 0 {
				t.Error("the argument was changed")
			}
		})
	}
}

func TestActionItemIDsAndLimit(t *testing.T) {
	pm, _ := Schedule(resolvedIncident())
	clock := at(pm.ResolvedAt)
	var err error
	for i := range MaxItems {
		var item ActionItem
		pm, item, err = AddActionItem(pm, NewActionItem{Title: "item"}, "a", clock)
		if err != nil {
			t.Fatal(err)
		}
		if want := "AI-" + strconv.Itoa(i+1); item.ID != want {
			t.Fatalf("item %d has ID %s, want %s", i, item.ID, want)
		}
	}
	if _, _, err := AddActionItem(pm, NewActionItem{Title: "one too many"}, "a", clock); incident.ErrorCode(err) != incident.EConflict {
		t.Errorf("item %d: %v, want a conflict", MaxItems+1, err)
	}
}

func TestAssignAndClose(t *testing.T) {
	pm, _ := Schedule(resolvedIncident())
	t1 := pm.ResolvedAt.Add(time.Hour)
	pm, _, _ = AddActionItem(pm, NewActionItem{Title: "Alert on pool saturation"}, "alice", at(t1))
	before := pm

	t2 := t1.Add(time.Hour)
	pm, item, err := Assign(pm, "ai-1", Assignment{Owner: " bob "}, at(t2))
	if err != nil {
		t.Fatal(err)
	}
	if item.Owner != "bob" || !item.AssignedAt.Equal(t2) || pm.ActionItems[0].Owner != "bob" {
		t.Errorf("assigned %+v", item)
	}
	if before.ActionItems[0].Owner != "" {
		t.Error("the argument was changed")
	}
	for _, c := range []struct {
		name, id, owner, code string
	}{
		{"same owner again", "AI-1", "bob", incident.EConflict},
		{"no owner", "AI-1", " ", incident.EInvalid},
		{"unknown item", "AI-9", "carol", incident.ENotFound},
	} {
		if _, _, err := Assign(pm, c.id, Assignment{Owner: c.owner}, at(t2)); incident.ErrorCode(err) != c.code {
			t.Errorf("%s: %v, want %s", c.name, err, c.code)
		}
	}

	t3 := t2.Add(time.Hour)
	closed, item, err := CloseActionItem(pm, "AI-1", "bob", at(t3))
	if err != nil {
		t.Fatal(err)
	}
	if item.Status != ItemClosed || !item.ClosedAt.Equal(t3) || item.ClosedBy != "bob" {
		t.Errorf("closed %+v", item)
	}
	if pm.ActionItems[0].Status != ItemOpen {
		t.Error("the argument was changed")
	}
	if _, _, err := CloseActionItem(closed, "AI-1", "bob", at(t3)); incident.ErrorCode(err) != incident.EConflict {
		t.Errorf("closing twice: %v", err)
	}
	if _, _, err := Assign(closed, "AI-1", Assignment{Owner: "carol"}, at(t3)); incident.ErrorCode(err) != incident.EConflict {
		t.Errorf("assigning a closed item: %v", err)
	}
	if _, _, err := CloseActionItem(closed, "AI-2", "bob", at(t3)); incident.ErrorCode(err) != incident.ENotFound {
		t.Errorf("closing an unknown item: %v", err)
	}
}

func TestAssignWithDueTime(t *testing.T) {
	pm, _ := Schedule(resolvedIncident())
	t1 := pm.ResolvedAt.Add(time.Hour)
	pm, _, _ = AddActionItem(pm, NewActionItem{Title: "Alert on pool saturation", Owner: "bob"}, "alice", at(t1))
	due := t1.Add(7 * 24 * time.Hour)
	t2 := t1.Add(time.Hour)

	// The same owner with a due time: the due time is the change.
	got, item, err := Assign(pm, "AI-1", Assignment{Owner: "bob", DueAt: due}, at(t2))
	if err != nil {
		t.Fatal(err)
	}
	if !item.DueAt.Equal(due) || item.Owner != "bob" || !item.AssignedAt.Equal(t1) {
		t.Errorf("assigned %+v: want the due time set and the assignment time kept", item)
	}
	if !pm.ActionItems[0].DueAt.IsZero() {
		t.Error("the argument was changed")
	}
	// Now it can be completed.
	if _, err := Complete(got, "carol", at(t2)); err != nil {
		t.Errorf("complete after the due time was set: %v", err)
	}
	for _, c := range []struct {
		name string
		a    Assignment
		code string
	}{
		{"nothing new", Assignment{Owner: "bob", DueAt: due}, incident.EConflict},
		{"owner only, the same", Assignment{Owner: "bob"}, incident.EConflict},
		{"due in the past", Assignment{Owner: "carol", DueAt: t2.Add(-time.Minute)}, incident.EInvalid},
	} {
		if _, _, err := Assign(got, "AI-1", c.a, at(t2)); incident.ErrorCode(err) != c.code {
			t.Errorf("%s: %v, want %s", c.name, err, c.code)
		}
	}
	moved, item, err := Assign(got, "ai-1", Assignment{Owner: "carol"}, at(t2))
	if err != nil || item.Owner != "carol" || !item.AssignedAt.Equal(t2) || !item.DueAt.Equal(due) || moved.ActionItems[0].Owner != "carol" {
		t.Errorf("reassigned %+v, %v: want carol, assigned now, the due time kept", item, err)
	}
}

func TestComplete(t *testing.T) {
	pm, _ := Schedule(resolvedIncident())
	now := pm.ResolvedAt.Add(24 * time.Hour)
	clock := at(now)
	pm, _, _ = AddActionItem(pm, NewActionItem{Title: "Alert on pool saturation"}, "alice", clock)
	if _, err := Complete(pm, "alice", clock); incident.ErrorCode(err) != incident.EInvalid || !strings.Contains(err.Error(), "no owner") {
		t.Errorf("unowned item: %v", err)
	}
	pm, _, _ = Assign(pm, "AI-1", Assignment{Owner: "bob"}, clock)
	if _, err := Complete(pm, "alice", clock); incident.ErrorCode(err) != incident.EInvalid || !strings.Contains(err.Error(), "no due date") {
		t.Errorf("undated item: %v", err)
	}
	// A closed item needs neither.
	pm, _, _ = CloseActionItem(pm, "AI-1", "bob", clock)
	done, err := Complete(pm, "alice", clock)
	if err != nil {
		t.Fatal(err)
	}
	if !done.CompletedAt.Equal(now) || done.CompletedBy != "alice" || done.StatusAt(now) != Completed {
		t.Errorf("completed %+v", done)
	}
	if !pm.CompletedAt.IsZero() {
		t.Error("the argument was changed")
	}
	if _, err := Complete(done, "alice", clock); incident.ErrorCode(err) != incident.EConflict {
		t.Errorf("completing twice: %v", err)
	}
	// Items may still be added after the review.
	if _, _, err := AddActionItem(done, NewActionItem{Title: "later"}, "alice", clock); err != nil {
		t.Errorf("adding after completion: %v", err)
	}
}

func TestParseDueAt(t *testing.T) {
	for _, c := range []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"2026-03-10", time.Date(2026, 3, 10, 23, 59, 59, 0, time.UTC), true},
		{"2026-03-10T12:00:00+02:00", time.Date(2026, 3, 10, 10, 0, 0, 0, time.UTC), true},
		{"10/03/2026", time.Time{}, false},
		{"", time.Time{}, false},
	} {
		got, err := ParseDueAt(c.in)
		if (err == nil) != c.ok || !got.Equal(c.want) {
			t.Errorf("ParseDueAt(%q) = %s, %v", c.in, got, err)
		}
		if err != nil && incident.ErrorCode(err) != incident.EInvalid {
			t.Errorf("ParseDueAt(%q): %v is not invalid", c.in, err)
		}
	}
	if got := formatDue(time.Date(2026, 3, 10, 23, 59, 59, 0, time.UTC)); got != "2026-03-10" {
		t.Errorf("formatDue of a date: %s", got)
	}
	if got := formatDue(time.Date(2026, 3, 10, 10, 0, 0, 0, time.UTC)); got != "2026-03-10 10:00 UTC" {
		t.Errorf("formatDue of a time: %s", got)
	}
}
