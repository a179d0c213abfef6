package dynamo_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/local/dynamotest"
)

// refuseAt refuses a use once n uses are recorded.
func refuseAt(n int) func([]incident.BudgetUse) string {
	return func(uses []incident.BudgetUse) string {
		if len(uses) >= n {
			return fmt.Sprintf("spent: %d uses", len(uses))
		}
		return ""
	}
}

func TestSpendBudget(t *testing.T) {
	s := dynamotest.New(t)
	ctx := t.Context()
	const key = "dashboarduz-api/restart"
	use := func(k string, at time.Time) incident.BudgetUse { return incident.BudgetUse{Key: k, At: at} }
	if why, err := s.SpendBudget(ctx, key, use("inc-1/0/restart", t0), t0.Add(-time.Hour), refuseAt(1)); err != nil || why != "" {
		t.Fatalf("first use: %q, %v", why, err)
	}
	t.Run("a retry of the same use is not refused nor counted twice", func(t *testing.T) {
		if why, err := s.SpendBudget(ctx, key, use("inc-1/0/restart", t0.Add(time.Minute)), t0.Add(-time.Hour), refuseAt(1)); err != nil || why != "" {
			t.Fatalf("retry: %q, %v", why, err)
		}
		uses, err := s.BudgetUses(ctx, key)
		if err != nil || len(uses) != 1 || !uses[0].At.Equal(t0) {
			t.Errorf("uses = %+v, %v; want the first use only", uses, err)
		}
	})
	t.Run("another incident is refused while the use is in the window", func(t *testing.T) {
		why, err := s.SpendBudget(ctx, key, use("inc-2/0/restart", t0.Add(10*time.Minute)), t0.Add(-20*time.Minute), refuseAt(1))
		if err != nil || why != "spent: 1 uses" {
			t.Errorf("second incident: %q, %v", why, err)
		}
	})
	t.Run("a use older than the window is forgotten", func(t *testing.T) {
		why, err := s.SpendBudget(ctx, key, use("inc-3/0/restart", t0.Add(40*time.Minute)), t0.Add(10*time.Minute), refuseAt(1))
		if err != nil || why != "" {
			t.Fatalf("after the window: %q, %v", why, err)
		}
		uses, _ := s.BudgetUses(ctx, key)
		if len(uses) != 1 || uses[0].Key != "inc-3/0/restart" {
			t.Errorf("uses = %+v, want only the new one", uses)
		}
	})
	t.Run("budgets are per service and action", func(t *testing.T) {
		if why, err := s.SpendBudget(ctx, "dashboarduz-worker/restart", use("inc-4/0/restart", t0.Add(41*time.Minute)), t0, refuseAt(1)); err != nil || why != "" {
			t.Errorf("another service: %q, %v", why, err)
		}
	})
}

// TestSpendBudgetConcurrently spends a budget of 2 from 12 incidents at
// once: exactly two get it, because every write is conditional on the
// budget's version.
func TestSpendBudgetConcurrently(t *testing.T) {
	s := dynamotest.New(t)
	ctx := t.Context()
	var mu sync.Mutex
	granted, refused := 0, 0
	var wg sync.WaitGroup
	for i := range 12 {
		wg.Go(func() {
			why, err := s.SpendBudget(ctx, "dashboarduz-worker/scale", incident.BudgetUse{Key: fmt.Sprintf("inc-%d/0/scale", i), At: t0}, t0.Add(-time.Hour), refuseAt(2))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil && incident.ErrorCode(err) == incident.EConflict:
				refused++ // still contended: not granted either
			case err != nil:
				t.Errorf("spend %d: %v", i, err)
			case why == "":
				granted++
			default:
				refused++
			}
		})
	}
	wg.Wait()
	uses, err := s.BudgetUses(ctx, "dashboarduz-worker/scale")
	if err != nil {
		t.Fatal(err)
	}
	if granted != 2 || len(uses) != 2 || refused != 10 {
		t.Errorf("granted %d, refused %d, stored %+v; want 2 granted and stored", granted, refused, uses)
	}
}

func TestKillSwitch(t *testing.T) {
	s := dynamotest.New(t)
	ctx := t.Context()
	_, err := s.KillSwitch(ctx)
	wantCode(t, err, incident.ENotFound)
	on, err := s.SetKillSwitch(ctx, incident.KillSwitch{On: true, By: "admin@example.com", At: t0, Reason: "ECS migration"})
	if err != nil || on.Version != 1 || on.Source != "table" {
		t.Fatalf("set = %+v, %v", on, err)
	}
	got, err := s.KillSwitch(ctx)
	if err != nil || !got.On || got.By != "admin@example.com" || !got.At.Equal(t0) || got.Reason != "ECS migration" || got.Version != 1 || got.Source != "table" {
		t.Errorf("read back %+v, %v", got, err)
	}
	_, err = s.SetKillSwitch(ctx, incident.KillSwitch{On: false, By: "other", At: t0, Version: 0})
	wantCode(t, err, incident.EConflict)
	off, err := s.SetKillSwitch(ctx, incident.KillSwitch{On: false, By: "admin@example.com", At: t0.Add(time.Hour), Version: 1})
	if err != nil || off.On || off.Version != 2 {
		t.Errorf("turn off = %+v, %v", off, err)
	}
}

func TestTriageReportPerEpisode(t *testing.T) {
	s := dynamotest.New(t)
	ctx := t.Context()
	inc := openIncident("inc-triage", "dashboarduz-api", incident.Triggered, t0)
	mustCreate(t, s, inc)
	if _, err := s.TriageReport(ctx, inc.ID, 0); incident.ErrorCode(err) != incident.ENotFound {
		t.Fatalf("before triage: %v, want ENotFound", err)
	}
	for ep := range 2 {
		if err := s.PutTriageReport(ctx, incident.TriageReport{IncidentID: inc.ID, Episode: ep, At: t0, Parts: []incident.TriagePart{{Name: "health", Summary: fmt.Sprintf("episode %d", ep)}}}); err != nil {
			t.Fatal(err)
		}
	}
	for ep := range 2 {
		if r, err := s.TriageReport(ctx, inc.ID, ep); err != nil || r.Parts[0].Summary != fmt.Sprintf("episode %d", ep) {
			t.Errorf("episode %d: report %+v, %v", ep, r, err)
		}
	}
	// The timeline still reads only entries.
	if tl, err := s.Timeline(ctx, inc.ID); err != nil || len(tl) != 1 || !strings.HasPrefix(tl[0].Text, "opened") {
		t.Errorf("timeline = %+v, %v", tl, err)
	}
	if _, tl, _, err := s.TimelinePage(ctx, inc.ID, "", 10); err != nil || len(tl) != 1 {
		t.Errorf("timeline page = %+v, %v", tl, err)
	}
}

func TestRemediationsRoundTrip(t *testing.T) {
	s := dynamotest.New(t)
	ctx := t.Context()
	inc := openIncident("inc-remedy", "dashboarduz-worker", incident.Triggered, t0)
	mustCreate(t, s, inc)
	inc.Remediations = []incident.Remediation{{
		Action: incident.ActionScale, Episode: 0, State: incident.RemedyVerifying, At: t0, DecidedAt: t0, Reason: "1520 jobs waiting",
		Cluster: "dashboarduz-production", Service: "dashboarduz-worker", From: 2, To: 4, Attempts: 1, ClaimedAt: t0, ActedAt: t0,
		VerifyUntil: t0.Add(10 * time.Minute), Undo: true, UndoAfter: incident.Duration(15 * time.Minute), DrainedBelow: 100,
	}}
	stored, err := s.UpdateIncident(ctx, inc)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.GetIncident(ctx, inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Remediations) != 1 || got.Remediations[0].UndoAfter != stored.Remediations[0].UndoAfter || !got.Remediations[0].VerifyUntil.Equal(t0.Add(10*time.Minute)) || got.Remediations[0].To != 4 {
		t.Errorf("remediations read back %+v", got.Remediations)
	}
}
