package remediation_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	awsecs "github.com/aws/aws-sdk-go-v2/service/ecs"
	awsssm "github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/dashboarduz/incident-response/shared/dynamo"
	"github.com/dashboarduz/incident-response/shared/ecs"
	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/local/awslocal"
	"github.com/dashboarduz/incident-response/shared/local/dynamotest"
	"github.com/dashboarduz/incident-response/shared/local/sfnlocal"
	"github.com/dashboarduz/incident-response/shared/remediation"
)

func TestMain(m *testing.M) { dynamotest.MainQuiet(m) }

var t0 = time.Date(2026, 3, 1, 3, 0, 0, 0, time.UTC)

// queues answers the jobs waiting, as /health/queues would.
type queues struct {
	mu      sync.Mutex
	waiting int
}

func (q *queues) Waiting(context.Context, string) (int, string, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.waiting, "GET /health/queues", nil
}

type fixture struct {
	store  *dynamo.Store
	aws    *awslocal.Server
	clock  *sfnlocal.VirtualClock
	queues *queues
	h      *remediation.Handler
}

// world is production: the API (4 tasks, revisions 41 to 43 of its task
// definition, 43 deployed three days ago), the workers (2 tasks) and the
// maintenance-mode parameter, off.
func world() awslocal.World {
	return awslocal.World{
		Clusters: []awslocal.Cluster{{Name: "dashboarduz-production", Services: []awslocal.Service{
			{Name: "dashboarduz-api", DesiredCount: 4, RunningCount: 1, Deployments: []awslocal.Deployment{{ID: "ecs-svc/1", Status: "PRIMARY",
				TaskDefinition: "dashboarduz-api:43", DesiredCount: 4, RunningCount: 1, RolloutState: "COMPLETED", CreatedAt: t0.Add(-20 * time.Minute), UpdatedAt: t0.Add(-20 * time.Minute)}}},
			{Name: "dashboarduz-worker", DesiredCount: 2, RunningCount: 2, Deployments: []awslocal.Deployment{{ID: "ecs-svc/2", Status: "PRIMARY",
				TaskDefinition: "dashboarduz-worker:7", DesiredCount: 2, RunningCount: 2, RolloutState: "COMPLETED", CreatedAt: t0.Add(-72 * time.Hour), UpdatedAt: t0.Add(-72 * time.Hour)}}},
		}}},
		TaskDefinitions: []awslocal.TaskDefinition{{Family: "dashboarduz-api", Revision: 41}, {Family: "dashboarduz-api", Revision: 42}, {Family: "dashboarduz-api", Revision: 43}},
		Parameters:      []awslocal.Parameter{{Name: "/dashboarduz/production/maintenance-mode", Value: "off"}},
	}
}

func newFixture(t *testing.T, policy func(*incident.RemediationPolicy)) *fixture {
	t.Helper()
	c := sfnlocal.NewVirtualClock(t0.Add(time.Minute))
	srv, err := awslocal.Start(awslocal.Options{World: world(), Clock: c, Hold: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	p := incident.DefaultRemediationPolicy()
	if policy != nil {
		policy(&p)
	}
	f := &fixture{store: dynamotest.New(t), aws: srv, clock: c, queues: &queues{waiting: 1520}}
	f.h = &remediation.Handler{
		Store: f.store, Clock: c, Policy: &p, Escalation: incident.DefaultPolicy(),
		ECS:        ecs.New(awsecs.NewFromConfig(srv.AWSConfig())),
		Parameters: remediation.SSMParameters{API: awsssm.NewFromConfig(srv.AWSConfig())},
		Queues:     f.queues,
	}
	return f
}

func ecsPart(running, desired, stopped int, deployed time.Time, td string) incident.TriagePart {
	return incident.TriagePart{Name: incident.PartECSService, Source: "ECS", Summary: "state", Facts: map[string]string{
		incident.FactRunning: fmt.Sprint(running), incident.FactDesired: fmt.Sprint(desired), incident.FactStoppedWithError: fmt.Sprint(stopped),
		incident.FactLastDeploymentAt: deployed.UTC().Format(time.RFC3339), incident.FactTaskDefinition: td,
	}}
}

// open stores an incident of the service and category, paged and
// triaged with the parts given, as the escalation leaves it.
func (f *fixture) open(t *testing.T, event, service string, c incident.Category, sev incident.Severity, parts ...incident.TriagePart) incident.Incident {
	t.Helper()
	ctx := t.Context()
	inc := incident.Open(incident.Signal{Source: "cloudwatch", EventID: event, DedupKey: "alarm/" + event, Service: service, Category: c, Severity: sev,
		Summary: "trouble", Time: t0, State: incident.Firing})
	if err := f.store.CreateIncident(ctx, inc, incident.Entry{ID: incident.EntryID(t0, "event/"+event), At: t0, Kind: incident.EntryOpened, Actor: "cloudwatch", Text: "opened"}); err != nil {
		t.Fatal(err)
	}
	if err := f.store.PutTriageReport(ctx, incident.TriageReport{IncidentID: inc.ID, At: t0, Parts: parts}); err != nil {
		t.Fatal(err)
	}
	return f.update(t, inc.ID, func(i *incident.Incident) {
		i.Pages = []incident.Page{{Level: 1, LevelName: "on-call", At: t0, State: incident.PageSent, DedupKey: incident.PageDedupKey(i.ID, 0, 1)}}
		i.Triage = &incident.TriageMark{At: t0}
	})
}

func (f *fixture) update(t *testing.T, id string, change func(*incident.Incident)) incident.Incident {
	t.Helper()
	inc, err := f.store.GetIncident(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	stored, err := incident.Update(t.Context(), f.store, inc, func(i *incident.Incident) bool { change(i); return true })
	if err != nil {
		t.Fatal(err)
	}
	return stored
}

// run runs the Remediate task at time at and returns the incident after.
func (f *fixture) run(t *testing.T, id string, at time.Time) incident.Incident {
	t.Helper()
	f.clock.Set(at)
	if _, err := f.h.Handle(t.Context(), incident.EscalationState{IncidentID: id}); err != nil {
		t.Fatal(err)
	}
	inc, err := f.store.GetIncident(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	return inc
}

func (f *fixture) service(t *testing.T, name string) awslocal.Service {
	t.Helper()
	for _, s := range f.aws.World().Clusters[0].Services {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no service %s", name)
	return awslocal.Service{}
}

// entries returns the remediation entries of the incident's timeline.
func (f *fixture) entries(t *testing.T, id string) []incident.Entry {
	t.Helper()
	tl, err := f.store.Timeline(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	var out []incident.Entry
	for _, e := range tl {
		if e.Kind == incident.EntryRemediation || e.Kind == incident.EntryEscalated {
			out = append(out, e)
		}
	}
	return out
}

func wantTexts(t *testing.T, es []incident.Entry, want ...string) {
	t.Helper()
	if len(es) != len(want) {
		var got []string
		for _, e := range es {
			got = append(got, e.Text)
		}
		t.Fatalf("%d entries, want %d:\n%s", len(es), len(want), strings.Join(got, "\n"))
	}
	for i, w := range want {
		if !strings.Contains(es[i].Text, w) {
			t.Errorf("entry %d = %q, want it to say %q", i, es[i].Text, w)
		}
	}
}

func only(t *testing.T, inc incident.Incident) incident.Remediation {
	t.Helper()
	if len(inc.Remediations) != 1 {
		t.Fatalf("remediations %+v, want one", inc.Remediations)
	}
	return inc.Remediations[0]
}

var longAgo = t0.Add(-72 * time.Hour)

func TestRestartIsMadeOnceAndVerified(t *testing.T) {
	f := newFixture(t, nil)
	inc := f.open(t, "e1", "dashboarduz-api", incident.ServiceDown, incident.P0, ecsPart(1, 4, 3, longAgo, "dashboarduz-api:43"))
	got := f.run(t, inc.ID, t0.Add(time.Minute))
	r := only(t, got)
	if r.State != incident.RemedyVerifying || r.Attempts != 1 || !r.VerifyUntil.Equal(t0.Add(11*time.Minute)) || !strings.Contains(r.Result, "forced a new deployment of dashboarduz-production/dashboarduz-api") {
		t.Fatalf("restart = %+v", r)
	}
	if api := f.service(t, "dashboarduz-api"); api.RunningCount != 4 || api.Deployments[0].CreatedAt != t0.Add(time.Minute) {
		t.Errorf("api after the restart = %+v", api)
	}
	if n := len(f.aws.CallsTo("ecs", "UpdateService")); n != 1 {
		t.Errorf("%d UpdateService calls, want 1", n)
	}
	// A redelivered Remediate finds nothing to do.
	f.run(t, inc.ID, t0.Add(2*time.Minute))
	if n := len(f.aws.CallsTo("ecs", "UpdateService")); n != 1 {
		t.Errorf("after a redelivery %d UpdateService calls, want 1", n)
	}
	// The alarm recovers; the verification ends at once.
	f.update(t, inc.ID, func(i *incident.Incident) { i.SignalState, i.SignalAt = incident.Recovered, t0.Add(4*time.Minute) })
	got = f.run(t, inc.ID, t0.Add(5*time.Minute))
	if r := only(t, got); r.State != incident.RemedySucceeded {
		t.Errorf("after the recovery = %+v", r)
	}
	wantTexts(t, f.entries(t, inc.ID),
		"Remediation decided: restart dashboarduz-api (a new ECS deployment), because 1 of 4 tasks of dashboarduz-api running, 3 stopped with an error",
		"Remediation made: forced a new deployment", "Remediation verified: restart dashboarduz-api")
	for _, e := range f.entries(t, inc.ID) {
		if !contains(got.Announcements, e.ID) || e.Data["remediation"] != "restart" || e.Data["action"] != "Restart dashboarduz-api (a new ECS deployment)" || e.Data["dryRun"] != "false" || e.Data["outcome"] == "" {
			t.Errorf("entry %s is not announced or lacks its data: %+v (announcements %v)", e.ID, e.Data, got.Announcements)
		}
	}
	uses, err := f.store.BudgetUses(t.Context(), "dashboarduz-api/restart")
	if err != nil || len(uses) != 1 || uses[0].Key != inc.ID+"/0/restart" {
		t.Errorf("budget uses = %+v, %v", uses, err)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestAnActionThatDoesNotHelpEscalates(t *testing.T) {
	f := newFixture(t, nil)
	if err := f.aws.Update(func(w *awslocal.World) { w.Clusters[0].Services[0].StaysUnhealthy = true }); err != nil {
		t.Fatal(err)
	}
	inc := f.open(t, "e1", "dashboarduz-api", incident.ServiceDown, incident.P0, ecsPart(1, 4, 3, longAgo, "dashboarduz-api:43"))
	f.run(t, inc.ID, t0.Add(time.Minute))
	got := f.run(t, inc.ID, t0.Add(11*time.Minute))
	r := only(t, got)
	if r.State != incident.RemedyFailed || !strings.Contains(r.Outcome, "still firing") {
		t.Fatalf("restart = %+v", r)
	}
	if len(got.Escalations) != 1 || got.Escalations[0].Level != 2 || got.Escalations[0].By != remediation.Actor {
		t.Errorf("escalations = %+v, want level 2 asked by remediation", got.Escalations)
	}
	es := f.entries(t, inc.ID)
	wantTexts(t, es, "Remediation decided", "Remediation made", "did not help", "asked for more expertise: escalating to Team Lead (level 2, team-lead)")
	if es[3].Kind != incident.EntryEscalated || !contains(got.Announcements, es[3].ID) {
		t.Errorf("escalation entry %+v not announced", es[3])
	}
	if step := incident.Next(got, incident.DefaultPolicy(), t0.Add(11*time.Minute), nil); step.Action != incident.ActPage || step.Level != 2 {
		t.Errorf("next step %+v, want level 2 paged", step)
	}
}

func TestRollbackWaitsForApproval(t *testing.T) {
	f := newFixture(t, nil)
	inc := f.open(t, "e1", "dashboarduz-api", incident.HighErrorRate, incident.P1, ecsPart(4, 4, 0, t0.Add(-20*time.Minute), "arn:aws:ecs:us-east-1:123456789012:task-definition/dashboarduz-api:43"))
	got := f.run(t, inc.ID, t0.Add(time.Minute))
	r := only(t, got)
	if r.State != incident.RemedyAwaiting || !strings.HasSuffix(r.RollbackTo, "dashboarduz-api:42") || !r.ApprovalExpires.Equal(t0.Add(31*time.Minute)) {
		t.Fatalf("rollback = %+v", r)
	}
	if n := len(f.aws.CallsTo("ecs", "UpdateService")); n != 0 {
		t.Fatalf("%d UpdateService calls before the approval", n)
	}
	f.run(t, inc.ID, t0.Add(10*time.Minute))
	if only(t, f.update(t, inc.ID, func(*incident.Incident) {})).State != incident.RemedyAwaiting {
		t.Fatal("the rollback did not wait")
	}
	f.update(t, inc.ID, func(i *incident.Incident) {
		if _, err := i.ApproveRemediation(incident.ActionRollback, "ic@example.com", t0.Add(12*time.Minute)); err != nil {
			t.Fatal(err)
		}
	})
	got = f.run(t, inc.ID, t0.Add(12*time.Minute))
	if r := only(t, got); r.State != incident.RemedyVerifying || !strings.Contains(r.Result, "rolled back dashboarduz-api from dashboarduz-api:43 to dashboarduz-api:42") {
		t.Errorf("after the approval = %+v", r)
	}
	if api := f.service(t, "dashboarduz-api"); api.TaskDefinition != "dashboarduz-api:42" {
		t.Errorf("api runs %s, want dashboarduz-api:42", api.TaskDefinition)
	}
	wantTexts(t, f.entries(t, inc.ID), "Remediation waits for approval until 03:31:00: roll back dashboarduz-api from dashboarduz-api:43 to dashboarduz-api:42, because", "Remediation made: rolled back")
}

func TestApprovalExpires(t *testing.T) {
	f := newFixture(t, nil)
	inc := f.open(t, "e1", "dashboarduz-api", incident.HighErrorRate, incident.P1, ecsPart(4, 4, 0, t0.Add(-20*time.Minute), "dashboarduz-api:43"))
	f.run(t, inc.ID, t0.Add(time.Minute))
	got := f.run(t, inc.ID, t0.Add(31*time.Minute))
	if r := only(t, got); r.State != incident.RemedyExpired || !strings.Contains(r.Outcome, "nobody approved it by 03:31:00") {
		t.Errorf("rollback = %+v", r)
	}
	if api := f.service(t, "dashboarduz-api"); api.TaskDefinition != "dashboarduz-api:43" {
		t.Errorf("api runs %s, want it untouched", api.TaskDefinition)
	}
}

func TestKillSwitchStopsEverything(t *testing.T) {
	f := newFixture(t, nil)
	if _, err := f.store.SetKillSwitch(t.Context(), incident.KillSwitch{On: true, By: "admin@example.com", At: t0, Reason: "ECS migration"}); err != nil {
		t.Fatal(err)
	}
	inc := f.open(t, "e1", "dashboarduz-api", incident.ServiceDown, incident.P0, ecsPart(1, 4, 3, longAgo, "dashboarduz-api:43"))
	got := f.run(t, inc.ID, t0.Add(time.Minute))
	if r := only(t, got); r.State != incident.RemedyRefused || !strings.Contains(r.Outcome, "kill switch is on (set by admin@example.com") {
		t.Errorf("restart = %+v", r)
	}
	if n := len(f.aws.CallsTo("ecs", "UpdateService")); n != 0 {
		t.Errorf("%d UpdateService calls under the kill switch", n)
	}
	t.Run("the deployment's default applies without a setting", func(t *testing.T) {
		g := newFixture(t, nil)
		g.h.KillSwitchDefault = true
		inc := g.open(t, "e2", "dashboarduz-api", incident.ServiceDown, incident.P0, ecsPart(1, 4, 3, longAgo, "dashboarduz-api:43"))
		if r := only(t, g.run(t, inc.ID, t0.Add(time.Minute))); r.State != incident.RemedyRefused || !strings.Contains(r.Outcome, "deployment's default") {
			t.Errorf("restart = %+v", r)
		}
	})
	t.Run("turned on between the approval and the action", func(t *testing.T) {
		g := newFixture(t, nil)
		inc := g.open(t, "e3", "dashboarduz-api", incident.HighErrorRate, incident.P1, ecsPart(4, 4, 0, t0.Add(-20*time.Minute), "dashboarduz-api:43"))
		g.run(t, inc.ID, t0.Add(time.Minute))
		g.update(t, inc.ID, func(i *incident.Incident) {
			_, _ = i.ApproveRemediation(incident.ActionRollback, "ic", t0.Add(2*time.Minute))
		})
		if _, err := g.store.SetKillSwitch(t.Context(), incident.KillSwitch{On: true, By: "admin", At: t0}); err != nil {
			t.Fatal(err)
		}
		if r := only(t, g.run(t, inc.ID, t0.Add(3*time.Minute))); r.State != incident.RemedyRefused {
			t.Errorf("rollback = %+v", r)
		}
		if n := len(g.aws.CallsTo("ecs", "UpdateService")); n != 0 {
			t.Errorf("%d UpdateService calls", n)
		}
	})
}

func TestBudgetIsSharedAcrossIncidents(t *testing.T) {
	f := newFixture(t, nil)
	first := f.open(t, "e1", "dashboarduz-api", incident.ServiceDown, incident.P0, ecsPart(1, 4, 3, longAgo, "dashboarduz-api:43"))
	second := f.open(t, "e2", "dashboarduz-api", incident.ServiceDown, incident.P1, ecsPart(1, 4, 3, longAgo, "dashboarduz-api:43"))
	f.run(t, first.ID, t0.Add(time.Minute))
	got := f.run(t, second.ID, t0.Add(5*time.Minute))
	if r := only(t, got); r.State != incident.RemedyRefused || !strings.Contains(r.Outcome, "budget of 1 restart per 30m0s on dashboarduz-api is spent: used at 03:01") {
		t.Errorf("second restart = %+v", r)
	}
	if n := len(f.aws.CallsTo("ecs", "UpdateService")); n != 1 {
		t.Errorf("%d UpdateService calls, want 1", n)
	}
}

func TestDryRunRecordsWhatItWouldDo(t *testing.T) {
	f := newFixture(t, func(p *incident.RemediationPolicy) { p.DryRun = true })
	inc := f.open(t, "e1", "dashboarduz-worker", incident.QueueBacklog, incident.P1,
		incident.TriagePart{Name: incident.PartQueues, Facts: map[string]string{incident.FactQueueWaiting: "1520"}}, ecsPart(2, 2, 0, longAgo, "dashboarduz-worker:7"))
	got := f.run(t, inc.ID, t0.Add(time.Minute))
	if r := only(t, got); r.State != incident.RemedyDryRun || !r.DryRun {
		t.Errorf("scale = %+v", r)
	}
	es := f.entries(t, inc.ID)
	wantTexts(t, es, "Dry run: would scale dashboarduz-worker 2 -> 4, because 1520 jobs wait in the queues (runbook: Queue Backlog: scale workers if needed). Nothing was changed.")
	if es[0].Data["dryRun"] != "true" || es[0].Data["state"] != "dry-run" || es[0].Data["outcome"] != "Would scale dashboarduz-worker 2 -> 4" {
		t.Errorf("data %+v", es[0].Data)
	}
	if w := f.service(t, "dashboarduz-worker"); w.DesiredCount != 2 || len(f.aws.CallsTo("ecs", "UpdateService")) != 0 {
		t.Errorf("a dry run changed the workers: %+v", w)
	}
}

func TestQueueBacklogScalesUpThenBackDown(t *testing.T) {
	f := newFixture(t, nil)
	inc := f.open(t, "e1", "dashboarduz-worker", incident.QueueBacklog, incident.P1,
		incident.TriagePart{Name: incident.PartQueues, Facts: map[string]string{incident.FactQueueWaiting: "1520"}}, ecsPart(2, 2, 0, longAgo, "dashboarduz-worker:7"))
	f.run(t, inc.ID, t0.Add(time.Minute))
	if w := f.service(t, "dashboarduz-worker"); w.DesiredCount != 4 {
		t.Fatalf("workers want %d tasks, want 4", w.DesiredCount)
	}
	f.update(t, inc.ID, func(i *incident.Incident) {
		i.SignalState, i.SignalAt = incident.Recovered, t0.Add(6*time.Minute)
		i.Status, i.ResolvedAt, i.ResolvedBy, i.RootCause = incident.Resolved, t0.Add(20*time.Minute), "oncall", "a burst of exports"
	})
	f.run(t, inc.ID, t0.Add(7*time.Minute))
	f.run(t, inc.ID, t0.Add(35*time.Minute))
	if w := f.service(t, "dashboarduz-worker"); w.DesiredCount != 4 {
		t.Fatalf("scaled down with 1520 jobs waiting: %+v", w)
	}
	got, _ := f.store.GetIncident(t.Context(), inc.ID)
	if r := only(t, got); r.UndoState != incident.UndoWaiting || !r.UndoAt.Equal(t0.Add(40*time.Minute)) {
		t.Fatalf("undo = %s until %s", r.UndoState, r.UndoAt)
	}
	f.queues.waiting = 12
	got = f.run(t, inc.ID, t0.Add(40*time.Minute))
	if r := only(t, got); r.UndoState != incident.UndoDone || !strings.Contains(r.UndoOutcome, "scaled dashboarduz-worker back 4 -> 2") {
		t.Errorf("undo = %+v", r)
	}
	if w := f.service(t, "dashboarduz-worker"); w.DesiredCount != 2 {
		t.Errorf("workers want %d tasks after the drain, want 2", w.DesiredCount)
	}
	wantTexts(t, f.entries(t, inc.ID), "Remediation decided: scale dashboarduz-worker 2 -> 4", "Remediation made: scaled dashboarduz-worker 2 -> 4",
		"Remediation verified", "stays at 4 until the queue drains below 100: 1520 jobs waiting", "Remediation put back: scaled dashboarduz-worker back 4 -> 2")
}

func TestScaleDownLeavesACountSomeoneChanged(t *testing.T) {
	f := newFixture(t, nil)
	inc := f.open(t, "e1", "dashboarduz-worker", incident.QueueBacklog, incident.P1, ecsPart(2, 2, 0, longAgo, "dashboarduz-worker:7"))
	f.run(t, inc.ID, t0.Add(time.Minute))
	f.queues.waiting = 0
	if err := f.aws.Update(func(w *awslocal.World) { w.Clusters[0].Services[1].DesiredCount = 6 }); err != nil {
		t.Fatal(err)
	}
	f.update(t, inc.ID, func(i *incident.Incident) {
		i.Status, i.ResolvedAt, i.ResolvedBy, i.RootCause = incident.Resolved, t0.Add(5*time.Minute), "oncall", "burst"
	})
	got := f.run(t, inc.ID, t0.Add(20*time.Minute))
	if r := only(t, got); r.UndoState != incident.UndoSkipped || !strings.Contains(r.UndoOutcome, "now wants 6 tasks") {
		t.Errorf("undo = %+v", r)
	}
}

func TestMaintenanceModeOnWithApprovalOffAtResolution(t *testing.T) {
	f := newFixture(t, nil)
	inc := f.open(t, "e1", "dashboarduz-api", incident.ServiceDown, incident.P0, ecsPart(0, 4, 4, longAgo, "dashboarduz-api:43"))
	got := f.run(t, inc.ID, t0.Add(time.Minute))
	if len(got.Remediations) != 2 || got.Remediations[1].Action != incident.ActionMaintenance || got.Remediations[1].State != incident.RemedyAwaiting {
		t.Fatalf("remediations = %+v, want the restart and maintenance mode awaiting approval", got.Remediations)
	}
	f.update(t, inc.ID, func(i *incident.Incident) {
		_, _ = i.ApproveRemediation(incident.ActionMaintenance, "ic", t0.Add(2*time.Minute))
	})
	got = f.run(t, inc.ID, t0.Add(2*time.Minute))
	if got.Remediations[1].State != incident.RemedyApplied || f.aws.World().Parameters[0].Value != "on" {
		t.Fatalf("maintenance = %+v, parameter %+v", got.Remediations[1], f.aws.World().Parameters[0])
	}
	f.update(t, inc.ID, func(i *incident.Incident) {
		i.Status, i.ResolvedAt, i.ResolvedBy, i.RootCause = incident.Resolved, t0.Add(9*time.Minute), "oncall", "OOM"
		i.SignalState, i.SignalAt = incident.Recovered, t0.Add(8*time.Minute)
	})
	got = f.run(t, inc.ID, t0.Add(9*time.Minute))
	if got.Remediations[1].UndoState != incident.UndoDone || f.aws.World().Parameters[0].Value != "off" {
		t.Errorf("after the resolution: %+v, parameter %+v", got.Remediations[1], f.aws.World().Parameters[0])
	}
}

func TestAnUnknownOutcomeIsNotMadeTwice(t *testing.T) {
	f := newFixture(t, nil)
	// The first UpdateService goes through but its answer never comes.
	if err := f.aws.AddFault(awslocal.Fault{Service: "ecs", Operation: "UpdateService", Kind: awslocal.TimeoutApplied, Count: 1}); err != nil {
		t.Fatal(err)
	}
	inc := f.open(t, "e1", "dashboarduz-api", incident.ServiceDown, incident.P0, ecsPart(1, 4, 3, longAgo, "dashboarduz-api:43"))
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	f.clock.Set(t0.Add(time.Minute))
	_, _ = f.h.Handle(ctx, incident.EscalationState{IncidentID: inc.ID})
	cancel()
	got, _ := f.store.GetIncident(t.Context(), inc.ID)
	if r := only(t, got); r.State != incident.RemedyClaimed || r.Attempts != 1 {
		t.Fatalf("after the lost answer = %+v", r)
	}
	// Before the lease runs out nothing happens; after, the next attempt
	// finds its deployment.
	f.run(t, inc.ID, t0.Add(2*time.Minute))
	got = f.run(t, inc.ID, t0.Add(3*time.Minute))
	r := only(t, got)
	if r.State != incident.RemedyVerifying || r.Attempts != 2 || !strings.Contains(r.Result, "started by an earlier attempt") {
		t.Errorf("after the retry = %+v", r)
	}
	if n := len(f.aws.CallsTo("ecs", "UpdateService")); n != 1 {
		t.Errorf("%d UpdateService calls, want 1", n)
	}
}

func TestConcurrentRemediatesActOnce(t *testing.T) {
	f := newFixture(t, nil)
	inc := f.open(t, "e1", "dashboarduz-worker", incident.QueueBacklog, incident.P1, ecsPart(2, 2, 0, longAgo, "dashboarduz-worker:7"))
	f.clock.Set(t0.Add(time.Minute))
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			if _, err := f.h.Handle(t.Context(), incident.EscalationState{IncidentID: inc.ID}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	got, _ := f.store.GetIncident(t.Context(), inc.ID)
	if r := only(t, got); r.State != incident.RemedyVerifying {
		t.Errorf("scale = %+v", r)
	}
	scales := 0
	for _, c := range f.aws.CallsTo("ecs", "UpdateService") {
		if strings.Contains(string(c.Input), `"desiredCount":4`) {
			scales++
		}
	}
	if scales != 1 {
		t.Errorf("%d scale calls, want 1", scales)
	}
}

func TestRefusalsAndFailuresAreRecorded(t *testing.T) {
	t.Run("outside the allow-list", func(t *testing.T) {
		f := newFixture(t, nil)
		inc := f.open(t, "e1", "dashboarduz-billing", incident.ServiceDown, incident.P1, ecsPart(0, 2, 2, longAgo, "dashboarduz-billing:3"))
		got := f.run(t, inc.ID, t0.Add(time.Minute))
		if r := only(t, got); r.State != incident.RemedyRefused || !strings.Contains(r.Outcome, "dashboarduz-billing is not in the remediation allow-list") {
			t.Errorf("restart = %+v", r)
		}
		wantTexts(t, f.entries(t, inc.ID), "Remediation refused: would restart dashboarduz-billing")
	})
	t.Run("access denied fails without a retry", func(t *testing.T) {
		f := newFixture(t, nil)
		if err := f.aws.AddFault(awslocal.Fault{Service: "ecs", Operation: "UpdateService", Kind: awslocal.AccessDenied}); err != nil {
			t.Fatal(err)
		}
		inc := f.open(t, "e1", "dashboarduz-api", incident.ServiceDown, incident.P0, ecsPart(1, 4, 3, longAgo, "dashboarduz-api:43"))
		got := f.run(t, inc.ID, t0.Add(time.Minute))
		if r := only(t, got); r.State != incident.RemedyFailed || !strings.Contains(r.Outcome, "could not be made: ECS refused UpdateService") {
			t.Errorf("restart = %+v", r)
		}
	})
	t.Run("throttling retries, then gives up", func(t *testing.T) {
		f := newFixture(t, nil)
		if err := f.aws.AddFault(awslocal.Fault{Service: "ecs", Operation: "UpdateService", Kind: awslocal.Throttle}); err != nil {
			t.Fatal(err)
		}
		inc := f.open(t, "e1", "dashboarduz-api", incident.ServiceDown, incident.P0, ecsPart(1, 4, 3, longAgo, "dashboarduz-api:43"))
		for i := range 4 {
			f.run(t, inc.ID, t0.Add(time.Minute+time.Duration(i)*2*time.Minute))
		}
		got, _ := f.store.GetIncident(t.Context(), inc.ID)
		if r := only(t, got); r.State != incident.RemedyFailed || r.Attempts != 3 || !strings.Contains(r.Outcome, "could not be made in 3 attempts") {
			t.Errorf("restart = %+v", r)
		}
		wantTexts(t, f.entries(t, inc.ID), "Remediation decided", "attempt 1 of 3 failed for now", "attempt 2 of 3", "attempt 3 of 3", "Remediation failed")
	})
	t.Run("database gets diagnostics only", func(t *testing.T) {
		f := newFixture(t, nil)
		inc := f.open(t, "e1", "dashboarduz-production-db", incident.Database, incident.P1,
			incident.TriagePart{Name: incident.PartDatabase, Summary: "dashboarduz-production-db is available; 480 connections"})
		f.run(t, inc.ID, t0.Add(time.Minute))
		wantTexts(t, f.entries(t, inc.ID), "No automatic remediation: database incidents get diagnostics only, never an automatic action (runbook: Database Issues): dashboarduz-production-db is available; 480 connections.")
		if n := len(f.aws.Calls()); n != 0 {
			t.Errorf("%d AWS calls for a database incident", n)
		}
	})
}
