package postmortem

import (
	"testing"
	"time"
)

func kinds(rs []Reminder) []string {
	var out []string
	for _, r := range rs {
		k := string(r.Kind)
		if r.ActionItemID != "" {
			k += ":" + r.ActionItemID
		}
		out = append(out, k)
	}
	return out
}

func same(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestDueReminders(t *testing.T) {
	pm, _ := Schedule(resolvedIncident())
	due := pm.DueAt
	withItems, _, _ := AddActionItem(pm, NewActionItem{Title: "a", Owner: "bob", DueAt: due.Add(24 * time.Hour)}, "alice", at(pm.ResolvedAt))
	withItems, _, _ = AddActionItem(withItems, NewActionItem{Title: "no due date"}, "alice", at(pm.ResolvedAt))
	closedItem, _, _ := CloseActionItem(withItems, "AI-1", "bob", at(pm.ResolvedAt))
	completed, err := Complete(pm, "alice", at(pm.ResolvedAt.Add(time.Hour)))
	if err != nil {
		t.Fatal(err)
	}
	nearSent := MarkReminded(pm, Reminder{Key: "postmortem/" + pm.IncidentID + "/near-due"})

	for _, c := range []struct {
		name string
		pm   PostMortem
		now  time.Time
		want []string
	}{
		{"just resolved", pm, pm.ResolvedAt, nil},
		{"a second before near", pm, due.Add(-NearDue - time.Second), nil},
		{"near", pm, due.Add(-NearDue), []string{"near-due"}},
		{"near, already sent", nearSent, due.Add(-time.Hour), nil},
		{"missed, near sent", nearSent, due, []string{"missed"}},
		{"missed, near never sent: only the missed one", pm, due.Add(time.Hour), []string{"missed"}},
		{"completed: nothing about the post-mortem", completed, due.Add(time.Hour), nil},
		{"an open item past its due time", withItems, due.Add(25 * time.Hour), []string{"missed", "action-item-overdue:AI-1"}},
		{"a closed item is not reminded of", closedItem, due.Add(25 * time.Hour), []string{"missed"}},
	} {
		if got := kinds(DueReminders(c.pm, c.now)); !same(got, c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

func TestRemindersOnceEach(t *testing.T) {
	pm, _ := Schedule(resolvedIncident())
	pm, _, _ = AddActionItem(pm, NewActionItem{Title: "a", Owner: "bob", DueAt: pm.DueAt.Add(time.Hour)}, "alice", at(pm.ResolvedAt))
	var sent []string
	now := pm.ResolvedAt
	for range 10 {
		next, ok := NextReminderAt(pm, now)
		if !ok {
			break
		}
		now = next
		for _, r := range DueReminders(pm, now) {
			sent = append(sent, string(r.Kind)+"@"+r.At.Format(time.RFC3339))
			pm = MarkReminded(pm, r)
		}
	}
	want := []string{
		"near-due@" + pm.DueAt.Add(-NearDue).Format(time.RFC3339),
		"missed@" + pm.DueAt.Format(time.RFC3339),
		"action-item-overdue@" + pm.DueAt.Add(time.Hour).Format(time.RFC3339),
	}
	if !same(sent, want) {
		t.Errorf("sent %v, want %v", sent, want)
	}
	if len(DueReminders(pm, now.Add(1000*time.Hour))) != 0 {
		t.Error("a reminder was due again")
	}
	if _, ok := NextReminderAt(pm, now); ok {
		t.Error("a next reminder after all were sent")
	}
	if n := len(MarkReminded(pm, Reminder{Key: pm.Reminded[0]}).Reminded); n != 3 {
		t.Errorf("marking twice recorded %d keys", n)
	}
}

func TestReminderKeyFollowsNewDueDate(t *testing.T) {
	pm, _ := Schedule(resolvedIncident())
	first := pm.DueAt.Add(time.Hour)
	pm, _, _ = AddActionItem(pm, NewActionItem{Title: "a", Owner: "bob", DueAt: first}, "alice", at(pm.ResolvedAt))
	rs := DueReminders(pm, first)
	if len(rs) != 2 || rs[1].Kind != ReminderItemOverdue {
		t.Fatalf("reminders %v", kinds(rs))
	}
	pm = MarkReminded(MarkReminded(pm, rs[0]), rs[1])
	// The owner moves the date: the new date is reminded of too.
	pm.ActionItems[0].DueAt = first.Add(48 * time.Hour)
	if got := kinds(DueReminders(pm, first.Add(48*time.Hour))); !same(got, []string{"action-item-overdue:AI-1"}) {
		t.Errorf("after a new due date: %v", got)
	}
}
