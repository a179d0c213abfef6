package response_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/response"
)

// awaiting gives the incident a rollback that waits for approval until
// 30 minutes from now.
func (f *fixture) awaiting(t *testing.T, id string) {
	t.Helper()
	inc := f.get(t, id)
	now := f.clock.Now()
	if _, err := incident.Update(ctx, f.store, inc, func(i *incident.Incident) bool {
		i.Remediations = append(i.Remediations, incident.Remediation{Action: incident.ActionRollback, Episode: i.Episode, State: incident.RemedyAwaiting,
			At: now, DecidedAt: now, Reason: "a deployment 20m before", Service: "dashboarduz-api", RollbackFrom: "td/dashboarduz-api:43", RollbackTo: "td/dashboarduz-api:42",
			ApprovalExpires: now.Add(30 * time.Minute)})
		return true
	}); err != nil {
		t.Fatal(err)
	}
}

func TestApproveAction(t *testing.T) {
	f := newFixture(t)
	inc := f.report(t, "dashboarduz-api", "P1", "errors")
	f.awaiting(t, inc.ID)
	starts := f.starter.count()
	got, err := f.svc.ApproveAction(ctx, "ic@example.com", inc.ID, "rollback", response.ActionDecision{Reason: "the deploy broke checkout"})
	if err != nil {
		t.Fatal(err)
	}
	r := got.Remediations[0]
	if r.State != incident.RemedyReady || r.DecidedBy != "ic@example.com" {
		t.Errorf("remediation = %+v", r)
	}
	if s := f.starter.since(starts); len(s) != 1 || s[0].generation != got.Generation {
		t.Errorf("starts %+v, want the new generation %d started so the approval acts at once", s, got.Generation)
	}
	tl, _ := f.store.Timeline(ctx, inc.ID)
	last := tl[len(tl)-1]
	if last.Kind != incident.EntryRemediation || last.Actor != "ic@example.com" || !strings.Contains(last.Text, "Remediation approved by ic@example.com: roll back dashboarduz-api from dashboarduz-api:43 to dashboarduz-api:42; it is made now. Reason: the deploy broke checkout") ||
		last.Data["state"] != "ready" || !slices.Contains(got.Announcements, last.ID) {
		t.Errorf("entry %+v, announcements %v", last, got.Announcements)
	}
	_, err = f.svc.ApproveAction(ctx, "ic@example.com", inc.ID, "rollback", response.ActionDecision{})
	if incident.ErrorCode(err) != incident.EConflict {
		t.Errorf("approving twice: %v", err)
	}
	if _, err := f.svc.ApproveAction(ctx, "ic", inc.ID, "reboot", response.ActionDecision{}); incident.ErrorCode(err) != incident.EInvalid {
		t.Errorf("an unknown action: %v", err)
	}
	if _, err := f.svc.ApproveAction(ctx, "ic", inc.ID, "restart", response.ActionDecision{}); incident.ErrorCode(err) != incident.ENotFound {
		t.Errorf("an action never decided: %v", err)
	}
}

func TestRejectAction(t *testing.T) {
	f := newFixture(t)
	inc := f.report(t, "dashboarduz-api", "P1", "errors")
	f.awaiting(t, inc.ID)
	got, err := f.svc.RejectAction(ctx, "ic@example.com", inc.ID, "rollback", response.ActionDecision{Reason: "a hotfix is going out"})
	if err != nil {
		t.Fatal(err)
	}
	if r := got.Remediations[0]; r.State != incident.RemedyRejected || r.Outcome != "rejected by ic@example.com: a hotfix is going out" {
		t.Errorf("remediation = %+v", r)
	}
	f.clock.advance(time.Hour)
	g := f.report(t, "dashboarduz-api", "P1", "errors again")
	f.awaiting(t, g.ID)
	f.clock.advance(31 * time.Minute)
	if _, err := f.svc.RejectAction(ctx, "ic", g.ID, "rollback", response.ActionDecision{}); incident.ErrorCode(err) != incident.EConflict || !strings.Contains(err.Error(), "expired") {
		t.Errorf("rejecting after the expiry: %v", err)
	}
}

func TestTriageOfTheCurrentEpisode(t *testing.T) {
	f := newFixture(t)
	inc := f.report(t, "dashboarduz-api", "P1", "errors")
	if _, err := f.svc.Triage(ctx, inc.ID); incident.ErrorCode(err) != incident.ENotFound || !strings.Contains(err.Error(), "once the episode's first page is out") {
		t.Errorf("before triage: %v", err)
	}
	if err := f.store.PutTriageReport(ctx, incident.TriageReport{IncidentID: inc.ID, At: t0, Parts: []incident.TriagePart{{Name: "health", Summary: "healthy"}}}); err != nil {
		t.Fatal(err)
	}
	r, err := f.svc.Triage(ctx, inc.ID)
	if err != nil || len(r.Parts) != 1 {
		t.Errorf("report %+v, %v", r, err)
	}
	got, err := f.svc.Get(ctx, inc.ID)
	if err != nil || got.Triage == nil || got.Triage.Parts[0].Summary != "healthy" {
		t.Errorf("Get's triage = %+v, %v", got.Triage, err)
	}
	if _, err := f.svc.Triage(ctx, "inc-missing"); incident.ErrorCode(err) != incident.ENotFound {
		t.Errorf("missing incident: %v", err)
	}
}

func TestKillSwitchSetting(t *testing.T) {
	f := newFixture(t)
	f.svc.KillSwitchDefault = true
	k, err := f.svc.KillSwitch(ctx)
	if err != nil || !k.On || k.Source != "default" {
		t.Errorf("default = %+v, %v", k, err)
	}
	off := false
	k, err = f.svc.SetKillSwitch(ctx, "admin@example.com", response.KillSwitchChange{On: &off, Reason: "automation reviewed"})
	if err != nil || k.On || k.By != "admin@example.com" || k.Source != "table" {
		t.Fatalf("set = %+v, %v", k, err)
	}
	on := true
	if k, err = f.svc.SetKillSwitch(ctx, "admin@example.com", response.KillSwitchChange{On: &on}); err != nil || !k.On || k.Version != 2 {
		t.Errorf("set again = %+v, %v", k, err)
	}
	if k, _ := f.svc.KillSwitch(ctx); !k.On || k.Source != "table" {
		t.Errorf("read = %+v", k)
	}
	if _, err := f.svc.SetKillSwitch(ctx, "admin", response.KillSwitchChange{}); incident.ErrorCode(err) != incident.EInvalid {
		t.Errorf("no on: %v", err)
	}
}
