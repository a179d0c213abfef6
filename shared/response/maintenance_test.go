package response_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/response"
)

func TestScheduleMaintenance(t *testing.T) {
	t.Run("stores the window", func(t *testing.T) {
		f := newFixture(t)
		uzt := time.FixedZone("UZT", 5*3600)
		start := t0.Add(time.Hour).In(uzt)
		got, err := f.svc.ScheduleMaintenance(ctx, "oncall@example.com", response.MaintenanceRequest{
			Service: "api", Start: start, End: start.Add(2 * time.Hour), Reason: "database upgrade",
		})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(got.ID, "mw-20260301-040000-") || got.Service != "api" || !got.Start.Equal(start) || got.Start.Location() != time.UTC ||
			!got.End.Equal(start.Add(2*time.Hour)) || got.Reason != "database upgrade" || got.CreatedBy != "oncall@example.com" || !got.CreatedAt.Equal(t0) {
			t.Errorf("window = %+v", got)
		}
		stored, err := f.store.MaintenanceWindow(ctx, got.ID)
		if err != nil {
			t.Fatal(err)
		}
		if stored != got {
			t.Errorf("stored = %+v\nreturned %+v", stored, got)
		}
	})

	t.Run("a window already under way", func(t *testing.T) {
		f := newFixture(t)
		if _, err := f.svc.ScheduleMaintenance(ctx, "oncall@example.com", response.MaintenanceRequest{
			Service: "api", Start: t0.Add(-time.Hour), End: t0.Add(time.Hour),
		}); err != nil {
			t.Fatal(err)
		}
	})

	for _, tc := range []struct {
		name       string
		service    string
		start, end time.Time
		field      string
	}{
		{"end before start", "api", t0.Add(2 * time.Hour), t0.Add(time.Hour), "end"},
		{"end at start", "api", t0.Add(time.Hour), t0.Add(time.Hour), "end"},
		{"end in the past", "api", t0.Add(-2 * time.Hour), t0.Add(-time.Hour), "end"},
		{"end now", "api", t0.Add(-2 * time.Hour), t0, "end"},
		{"longer than a week", "api", t0, t0.Add(8 * 24 * time.Hour), "end"},
		{"no service", "", t0, t0.Add(time.Hour), "service"},
		{"no start", "api", time.Time{}, t0.Add(time.Hour), "start"},
		{"no end", "api", t0, time.Time{}, "end"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			_, err := f.svc.ScheduleMaintenance(ctx, "oncall@example.com", response.MaintenanceRequest{Service: tc.service, Start: tc.start, End: tc.end})
			wantError(t, err, incident.EInvalid, tc.field)
			ws, err := f.svc.MaintenanceWindows(ctx, "")
			if err != nil {
				t.Fatal(err)
			}
			if len(ws) != 0 {
				t.Errorf("windows = %+v, want none stored", ws)
			}
		})
	}
}

func windowIDs(ws []incident.MaintenanceWindow) []string {
	out := []string{}
	for _, w := range ws {
		out = append(out, w.ID)
	}
	return out
}

func TestMaintenanceWindows(t *testing.T) {
	f := newFixture(t)
	schedule := func(service string, start time.Time) incident.MaintenanceWindow {
		t.Helper()
		w, err := f.svc.ScheduleMaintenance(ctx, "oncall@example.com", response.MaintenanceRequest{Service: service, Start: start, End: start.Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	a2 := schedule("api", t0.Add(3*time.Hour))
	w1 := schedule("web", t0.Add(2*time.Hour))
	a1 := schedule("api", t0.Add(time.Hour))

	for _, tc := range []struct {
		service string
		want    []string
	}{
		{"", []string{a1.ID, w1.ID, a2.ID}},
		{"api", []string{a1.ID, a2.ID}},
		{"web", []string{w1.ID}},
		{"db", []string{}},
	} {
		t.Run("service "+tc.service, func(t *testing.T) {
			got, err := f.svc.MaintenanceWindows(ctx, tc.service)
			if err != nil {
				t.Fatal(err)
			}
			if got == nil {
				t.Error("windows = nil, want a non-nil slice")
			}
			if g := windowIDs(got); strings.Join(g, ",") != strings.Join(tc.want, ",") {
				t.Errorf("windows = %v, want %v", g, tc.want)
			}
		})
	}
}

func TestEndMaintenance(t *testing.T) {
	t.Run("ends the window and re-plans the open incidents of its service", func(t *testing.T) {
		f := newFixture(t)
		w, err := f.svc.ScheduleMaintenance(ctx, "oncall@example.com", response.MaintenanceRequest{Service: "api", Start: t0, End: t0.Add(2 * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		triggered := f.report(t, "api", "P1", "api down")
		acked := f.report(t, "api", "P2", "api slow")
		if _, err := f.svc.Acknowledge(ctx, "lead@example.com", acked.ID, response.Acknowledgement{}); err != nil {
			t.Fatal(err)
		}
		resolved := f.report(t, "api", "P3", "api typo")
		f.resolve(t, resolved.ID)
		other := f.report(t, "web", "P1", "web down")

		before := map[string]incident.Incident{}
		for _, id := range []string{triggered.ID, acked.ID, resolved.ID, other.ID} {
			before[id] = f.get(t, id)
		}
		at := f.clock.advance(10 * time.Minute)
		n := f.starter.count()
		got, err := f.svc.EndMaintenance(ctx, "manager@example.com", w.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != w.ID || !got.End.Equal(at) || !got.Start.Equal(w.Start) {
			t.Errorf("window = %+v, want %s ended at %s", got, w.ID, at)
		}
		stored, err := f.store.MaintenanceWindow(ctx, w.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !stored.End.Equal(at) {
			t.Errorf("stored end = %s, want %s", stored.End, at)
		}

		for _, id := range []string{triggered.ID, acked.ID} {
			if g, want := f.get(t, id).Generation, before[id].Generation+1; g != want {
				t.Errorf("%s: generation = %d, want %d", id, g, want)
			}
		}
		for _, id := range []string{resolved.ID, other.ID} {
			if g := f.get(t, id); g.Version != before[id].Version {
				t.Errorf("%s: changed to %+v, want it left alone", id, g)
			}
		}
		got2 := f.starter.since(n)
		want := map[start]bool{
			{triggered.ID, before[triggered.ID].Generation + 1}: true,
			{acked.ID, before[acked.ID].Generation + 1}:         true,
		}
		if len(got2) != len(want) {
			t.Errorf("starts = %v, want %v", got2, want)
		}
		for _, s := range got2 {
			if !want[s] {
				t.Errorf("start %v, want only %v", s, want)
			}
		}
	})

	t.Run("a window not started yet is cancelled", func(t *testing.T) {
		f := newFixture(t)
		w, err := f.svc.ScheduleMaintenance(ctx, "oncall@example.com", response.MaintenanceRequest{Service: "api", Start: t0.Add(time.Hour), End: t0.Add(2 * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		got, err := f.svc.EndMaintenance(ctx, "manager@example.com", w.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !got.End.Equal(w.Start) {
			t.Errorf("end = %s, want the start %s", got.End, w.Start)
		}
	})

	t.Run("ending twice is a conflict that re-plans again", func(t *testing.T) {
		f := newFixture(t)
		w, err := f.svc.ScheduleMaintenance(ctx, "oncall@example.com", response.MaintenanceRequest{Service: "api", Start: t0, End: t0.Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		inc := f.report(t, "api", "P1", "api down")
		if _, err := f.svc.EndMaintenance(ctx, "manager@example.com", w.ID); err != nil {
			t.Fatal(err)
		}
		gen := f.get(t, inc.ID).Generation
		f.clock.advance(time.Minute)
		n := f.starter.count()
		_, err = f.svc.EndMaintenance(ctx, "manager@example.com", w.ID)
		e := wantError(t, err, incident.EConflict, "")
		if !strings.Contains(e.Message, "already ended") {
			t.Errorf("message = %q", e.Message)
		}
		// The second call completes a first one cut short part-way: the
		// open incidents re-plan again.
		if g := f.get(t, inc.ID).Generation; g != gen+1 {
			t.Errorf("generation = %d, want %d", g, gen+1)
		}
		wantStarts(t, f.starter.since(n), start{inc.ID, gen + 1})
	})

	t.Run("unknown window", func(t *testing.T) {
		f := newFixture(t)
		_, err := f.svc.EndMaintenance(ctx, "manager@example.com", "mw-nope")
		wantError(t, err, incident.ENotFound, "")
	})
}

// TestEndMaintenanceRetryAfterFailedStartReplans shows a bug: when starting
// one incident's new generation fails, EndMaintenance returns an error
// with the window already ended, and the caller's retry is refused as
// already ended, so the open incidents not yet re-planned keep waiting
// for the window's planned end and the pages it held stay held until then.
func TestEndMaintenanceRetryAfterFailedStartReplans(t *testing.T) {
	f := newFixture(t)
	w, err := f.svc.ScheduleMaintenance(ctx, "oncall@example.com", response.MaintenanceRequest{Service: "api", Start: t0, End: t0.Add(2 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	a := f.report(t, "api", "P1", "api down")
	b := f.report(t, "api", "P1", "api slow")
	before := map[string]int{a.ID: f.get(t, a.ID).Generation, b.ID: f.get(t, b.ID).Generation}

	f.starter.failWith(errors.New("states: throttled"))
	if _, err := f.svc.EndMaintenance(ctx, "manager@example.com", w.ID); err == nil {
		t.Fatal("error = nil, want the failed start")
	}
	f.starter.failWith(nil)
	n := f.starter.count()
	f.clock.advance(time.Second)
	_, retryErr := f.svc.EndMaintenance(ctx, "manager@example.com", w.ID)

	started := map[string]bool{}
	for _, s := range f.starter.since(n) {
		started[s.id] = true
	}
	for _, id := range []string{a.ID, b.ID} {
		if g := f.get(t, id).Generation; g <= before[id] || !started[id] {
			t.Errorf("%s after the retry (which returned %v): generation %d (was %d), started again %v; want a new generation started",
				id, retryErr, g, before[id], started[id])
		}
	}
}
