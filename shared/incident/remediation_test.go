package incident

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// report is a triage report with the given parts.
func report(parts ...TriagePart) TriageReport {
	return TriageReport{IncidentID: "inc-1", At: t0, Parts: parts}
}

func ecsPart(running, desired, stopped int, deployedAt time.Time) TriagePart {
	return TriagePart{Name: PartECSService, Facts: map[string]string{
		FactRunning: itoa(running), FactDesired: itoa(desired), FactStoppedWithError: itoa(stopped),
		FactTaskDefinition:   "arn:aws:ecs:us-east-1:123456789012:task-definition/dashboarduz-api:42",
		FactLastDeploymentAt: deployedAt.UTC().Format(time.RFC3339),
	}}
}

func itoa(n int) string { return strconv.Itoa(n) }

func incidentOf(service string, c Category, sev Severity) Incident {
	return Incident{ID: "inc-1", Service: service, Category: c, Severity: sev, Status: Triggered, Source: "cloudwatch",
		OpenedAt: t0, SignalState: Firing, SignalAt: t0, Triage: &TriageMark{At: t0}}
}

func TestDefaultRemediationPolicyIsTheRunbooks(t *testing.T) {
	p := DefaultRemediationPolicy()
	if p.Rules.QueueBacklog.Service != "dashboarduz-worker" || p.Rules.QueueBacklog.To != 4 {
		t.Errorf("queue backlog rule = %+v, want dashboarduz-worker to 4", p.Rules.QueueBacklog)
	}
	if !p.Actions[ActionRollback].Approval || !p.Actions[ActionMaintenance].Approval || p.Actions[ActionRestart].Approval {
		t.Errorf("approval: rollback and maintenance mode by default, restart not: %+v", p.Actions)
	}
	if p.Clusters[0] != "dashboarduz-production" || p.DryRun {
		t.Errorf("clusters %v dryRun %v", p.Clusters, p.DryRun)
	}
}

func TestParseRemediationPolicyRefusesBadGuardRails(t *testing.T) {
	good := string(defaultRemediationPolicy)
	for _, c := range []struct{ name, from, to, want string }{
		{"maintenance without approval", `"maintenance-mode": {"approval": true`, `"maintenance-mode": {"approval": false`, "always waits for approval"},
		{"a budget of nothing", `"restart": {"approval": false, "budget": {"count": 1`, `"restart": {"approval": false, "budget": {"count": 0`, "budget"},
		{"a service outside the clusters", `"cluster": "dashboarduz-production",
      "actions": ["restart", "rollback", "scale"]`, `"cluster": "staging",
      "actions": ["restart", "rollback", "scale"]`, "which clusters does not allow"},
		{"an unknown action", `"actions": ["restart", "rollback", "scale"]`, `"actions": ["restart", "reboot"]`, "reboot"},
		{"an unknown field", `"dryRun": false`, `"dryRunAll": false`, "unknown field"},
		{"a scale rule with both", `"to": 4,`, `"to": 4, "step": 1,`, "exactly one of to and step"},
		{"no verification window", `"verifyWithin": "10m"`, `"verifyWithin": "0s"`, "verifyWithin"},
		{"bounds upside down", `"minCount": 2,
      "maxCount": 8`, `"minCount": 9,
      "maxCount": 8`, "minCount"},
	} {
		t.Run(c.name, func(t *testing.T) {
			doc := strings.Replace(good, c.from, c.to, 1)
			if doc == good {
				t.Fatalf("the case changes nothing: %q not in the default", c.from)
			}
			_, err := ParseRemediationPolicy([]byte(doc))
			if ErrorCode(err) != EInvalid || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %v, want invalid saying %q", err, c.want)
			}
		})
	}
}

func TestDecide(t *testing.T) {
	p := DefaultRemediationPolicy()
	longAgo := t0.Add(-72 * time.Hour)
	tests := []struct {
		name   string
		inc    Incident
		report TriageReport
		want   []string // action:state
		reason string
	}{
		{"service down with unhealthy tasks restarts", incidentOf("dashboarduz-api", ServiceDown, P0), report(ecsPart(1, 4, 3, longAgo)),
			[]string{"restart:ready"}, "1 of 4 tasks"},
		{"service down after a deployment rolls back", incidentOf("dashboarduz-api", ServiceDown, P1), report(ecsPart(1, 4, 3, t0.Add(-20*time.Minute))),
			[]string{"rollback:ready"}, "20m0s before the incident began"},
		{"errors after a deployment roll back", incidentOf("dashboarduz-api", HighErrorRate, P1), report(ecsPart(4, 4, 0, t0.Add(-59*time.Minute))),
			[]string{"rollback:ready"}, "high error rate"},
		{"a deployment two hours before is not recent", incidentOf("dashboarduz-api", HighErrorRate, P1), report(ecsPart(4, 4, 0, t0.Add(-2*time.Hour))),
			[]string{"none:none"}, "no deployment"},
		{"a deployment after the incident began is not its cause", incidentOf("dashboarduz-api", ServiceDown, P1), report(ecsPart(1, 4, 1, t0.Add(time.Minute))),
			[]string{"restart:ready"}, ""},
		{"healthy tasks are not restarted", incidentOf("dashboarduz-api", ServiceDown, P1), report(ecsPart(4, 4, 0, longAgo)),
			[]string{"none:none"}, "a restart would not help"},
		{"no ECS state, no action", incidentOf("dashboarduz-api", ServiceDown, P1), report(TriagePart{Name: PartECSService, Error: "AccessDenied"}),
			[]string{"none:none"}, "could not be gathered: AccessDenied"},
		{"P0 outage with nothing running asks for maintenance mode too", incidentOf("dashboarduz-api", ServiceDown, P0), report(ecsPart(0, 4, 4, longAgo)),
			[]string{"restart:ready", "maintenance-mode:ready"}, ""},
		{"a service outside the allow-list is refused", incidentOf("dashboarduz-billing", ServiceDown, P0), report(ecsPart(0, 2, 2, longAgo)),
			[]string{"restart:refused", "maintenance-mode:refused"}, ""},
		{"queue backlog scales the workers to 4", incidentOf("dashboarduz-worker", QueueBacklog, P1),
			report(TriagePart{Name: PartQueues, Facts: map[string]string{FactQueueWaiting: "1520"}}, ecsPart(2, 2, 0, longAgo)),
			[]string{"scale:ready"}, "1520 jobs wait in the queues"},
		{"workers already at 4 are not scaled", incidentOf("dashboarduz-worker", QueueBacklog, P1), report(ecsPart(4, 4, 0, longAgo)),
			[]string{"none:none"}, "already runs 4"},
		{"workers at their maximum are refused", incidentOf("dashboarduz-worker", QueueBacklog, P1), report(ecsPart(8, 8, 0, longAgo)),
			[]string{"scale:refused"}, ""},
		{"hot API scales by two", incidentOf("dashboarduz-api", Performance, P2),
			report(ecsPart(4, 4, 0, longAgo), TriagePart{Name: PartMetrics, Facts: map[string]string{FactCPUPercent: "91.5", FactMemoryPercent: "40.0"}}),
			[]string{"scale:ready"}, "CPU 92%"},
		{"a cool API is not scaled", incidentOf("dashboarduz-api", Performance, P2),
			report(ecsPart(4, 4, 0, longAgo), TriagePart{Name: PartMetrics, Facts: map[string]string{FactCPUPercent: "20", FactMemoryPercent: "30"}}),
			[]string{"none:none"}, "below 70%"},
		{"database gets diagnostics only", incidentOf("dashboarduz-production-db", Database, P1),
			report(TriagePart{Name: PartDatabase, Summary: "dashboarduz-production-db is available; 480 connections"}),
			[]string{"none:none"}, "diagnostics only, never an automatic action (runbook: Database Issues): dashboarduz-production-db is available"},
		{"security has no automatic remediation", incidentOf("dashboarduz-api", Security, P0), report(ecsPart(0, 4, 4, longAgo)),
			[]string{"none:none"}, "no automatic remediation for security"},
		{"a user report is not remediated", func() Incident {
			i := incidentOf("dashboarduz-api", ServiceDown, P0)
			i.Source = SourceUserReport
			return i
		}(),
			report(ecsPart(0, 4, 4, longAgo)), []string{"none:none"}, "user report"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := p.Decide(tt.inc, tt.report, nil, t0.Add(time.Minute))
			var keys []string
			for _, r := range got {
				keys = append(keys, string(r.Action)+":"+string(r.State))
				if r.Reason == "" && r.State != RemedyRefused {
					t.Errorf("%s has no reason", r.Action)
				}
			}
			if strings.Join(keys, " ") != strings.Join(tt.want, " ") {
				t.Fatalf("decided %v, want %v (%+v)", keys, tt.want, got)
			}
			if !strings.Contains(got[0].Reason, tt.reason) {
				t.Errorf("reason %q does not say %q", got[0].Reason, tt.reason)
			}
		})
	}
}

func TestDecideScaleBoundsAndUndo(t *testing.T) {
	p := DefaultRemediationPolicy()
	inc := incidentOf("dashboarduz-api", Performance, P2)
	got := p.Decide(inc, report(ecsPart(7, 7, 0, t0.Add(-72*time.Hour)), TriagePart{Name: PartMetrics, Facts: map[string]string{FactCPUPercent: "95", FactMemoryPercent: "95"}}), nil, t0)
	r := got[0]
	if r.State != RemedyReady || r.From != 7 || r.To != 8 || !strings.Contains(r.Reason, "bounded by its maximum of 8") {
		t.Errorf("scale = %+v, want 7 -> 8 bounded by the maximum", r)
	}
	if !r.Undo || r.UndoAfter.D() != 30*time.Minute || r.Describe() != "scale dashboarduz-api 7 -> 8" {
		t.Errorf("undo %v after %s, describe %q", r.Undo, r.UndoAfter.D(), r.Describe())
	}
	q := p.Decide(incidentOf("dashboarduz-worker", QueueBacklog, P1), report(ecsPart(2, 2, 0, t0.Add(-72*time.Hour))), nil, t0)[0]
	if q.DrainedBelow != 100 || q.UndoAfter.D() != 15*time.Minute || q.Describe() != "scale dashboarduz-worker 2 -> 4" {
		t.Errorf("queue scale = %+v", q)
	}
}

func TestDecideNoSecondActionOfAKindThatFailed(t *testing.T) {
	p := DefaultRemediationPolicy()
	inc := incidentOf("dashboarduz-api", ServiceDown, P0)
	inc.Episode = 1
	inc.Remediations = []Remediation{{Action: ActionRestart, Service: "dashboarduz-api", Episode: 0, State: RemedyFailed, At: t0, Outcome: "did not help"}}
	got := p.Decide(inc, report(ecsPart(1, 4, 3, t0.Add(-72*time.Hour))), nil, t0)
	if got[0].State != RemedyRefused || !strings.Contains(got[0].Outcome, "no second automatic restart") {
		t.Errorf("decided %+v, want the restart refused", got[0])
	}
}

func TestDecideKnowsItsOwnDeployments(t *testing.T) {
	p := DefaultRemediationPolicy()
	inc := incidentOf("dashboarduz-api", ServiceDown, P0)
	deployed := t0.Add(-10 * time.Minute)
	rep := report(ecsPart(1, 4, 3, deployed))
	if got := p.Decide(inc, rep, nil, t0); got[0].Action != ActionRollback {
		t.Fatalf("a stranger's deployment: %+v, want a rollback", got[0])
	}
	if got := p.Decide(inc, rep, []time.Time{deployed.Add(-20 * time.Second)}, t0); got[0].Action != ActionRestart {
		t.Errorf("a restart's deployment: %+v, want a restart, not a rollback of it", got[0])
	}
	if got := p.Decide(inc, rep, []time.Time{deployed.Add(-time.Hour)}, t0); got[0].Action != ActionRollback {
		t.Errorf("an older restart: %+v, want a rollback", got[0])
	}
}

func TestGuard(t *testing.T) {
	inc := incidentOf("dashboarduz-api", ServiceDown, P0)
	ready := func(a RemediationAction) []Remediation {
		return []Remediation{{Action: a, Service: "dashboarduz-api", State: RemedyReady, Episode: 0}}
	}
	now := t0.Add(time.Minute)
	p := DefaultRemediationPolicy()
	t.Run("kill switch refuses", func(t *testing.T) {
		got := p.Guard(inc, ready(ActionRestart), RemediationGuards{KillSwitch: KillSwitch{On: true, By: "admin@example.com", At: t0, Reason: "migrating"}}, now)
		if got[0].State != RemedyRefused || !strings.Contains(got[0].Outcome, "kill switch is on (set by admin@example.com") {
			t.Errorf("got %+v", got[0])
		}
	})
	t.Run("spent budget refuses", func(t *testing.T) {
		uses := map[string][]BudgetUse{BudgetKey("dashboarduz-api", ActionRestart): {{Key: "inc-0/0/restart", At: t0.Add(-10 * time.Minute)}}}
		got := p.Guard(inc, ready(ActionRestart), RemediationGuards{Budgets: uses}, now)
		if got[0].State != RemedyRefused || !strings.Contains(got[0].Outcome, "budget of 1 restart per 30m0s on dashboarduz-api is spent: used at 02:50 (inc-0)") {
			t.Errorf("got %+v", got[0])
		}
	})
	t.Run("an old use leaves the budget", func(t *testing.T) {
		uses := map[string][]BudgetUse{BudgetKey("dashboarduz-api", ActionRestart): {{Key: "inc-0/0/restart", At: t0.Add(-31 * time.Minute)}}}
		if got := p.Guard(inc, ready(ActionRestart), RemediationGuards{Budgets: uses}, now); got[0].State != RemedyReady {
			t.Errorf("got %+v", got[0])
		}
	})
	t.Run("its own use is not counted", func(t *testing.T) {
		uses := map[string][]BudgetUse{BudgetKey("dashboarduz-api", ActionRestart): {{Key: "inc-1/0/restart", At: t0}}}
		if got := p.Guard(inc, ready(ActionRestart), RemediationGuards{Budgets: uses}, now); got[0].State != RemedyReady {
			t.Errorf("got %+v", got[0])
		}
	})
	t.Run("approval waits", func(t *testing.T) {
		got := p.Guard(inc, ready(ActionRollback), RemediationGuards{}, now)
		if got[0].State != RemedyAwaiting || !got[0].ApprovalExpires.Equal(now.Add(30*time.Minute)) {
			t.Errorf("got %+v", got[0])
		}
	})
	t.Run("dry run globally and per action", func(t *testing.T) {
		dry := DefaultRemediationPolicy()
		dry.DryRun = true
		if got := dry.Guard(inc, ready(ActionRollback), RemediationGuards{}, now); got[0].State != RemedyDryRun || !got[0].DryRun {
			t.Errorf("global: got %+v", got[0])
		}
		per := DefaultRemediationPolicy()
		a := per.Actions[ActionRestart]
		a.DryRun = true
		per.Actions[ActionRestart] = a
		if got := per.Guard(inc, ready(ActionRestart), RemediationGuards{}, now); got[0].State != RemedyDryRun {
			t.Errorf("per action: got %+v", got[0])
		}
		if got := per.Guard(inc, ready(ActionScale), RemediationGuards{}, now); got[0].State != RemedyReady {
			t.Errorf("another action: got %+v", got[0])
		}
	})
}

// remediated is a P0 incident whose first page is out and whose restart
// is in the given state.
func remediated(r Remediation) Incident {
	inc := open(P0, Acknowledged, 1)
	inc.Pages[0].Synced = Acknowledged
	inc.Remediations = []Remediation{r}
	return inc
}

func TestNextPlansRemediation(t *testing.T) {
	p := DefaultPolicy()
	m := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Minute) }
	tests := []struct {
		name  string
		inc   Incident
		now   time.Time
		want  Action
		until time.Time
	}{
		{"a decision is due once triage is in", func() Incident { i := remediated(Remediation{}); i.Remediations = nil; return i }(), m(1), ActRemediate, time.Time{}},
		{"no decision before triage", func() Incident { i := remediated(Remediation{}); i.Remediations, i.Triage = nil, nil; return i }(), m(1), ActTriage, time.Time{}},
		{"a ready action is made", remediated(Remediation{Action: ActionRestart, State: RemedyReady, At: m(1)}), m(1), ActRemediate, time.Time{}},
		{"a claim holds until its lease ends", remediated(Remediation{Action: ActionRestart, State: RemedyClaimed, LeaseUntil: m(3)}), m(1), ActWait, m(3)},
		{"a claim whose lease ended is taken over", remediated(Remediation{Action: ActionRestart, State: RemedyClaimed, LeaseUntil: m(3)}), m(3), ActRemediate, time.Time{}},
		{"an approval waits until it expires", remediated(Remediation{Action: ActionRollback, State: RemedyAwaiting, ApprovalExpires: m(20)}), m(1), ActWait, m(20)},
		{"an expired approval is due", remediated(Remediation{Action: ActionRollback, State: RemedyAwaiting, ApprovalExpires: m(20)}), m(20), ActRemediate, time.Time{}},
		{"verification waits for its window", remediated(Remediation{Action: ActionRestart, State: RemedyVerifying, ActedAt: m(1), VerifyUntil: m(11)}), m(2), ActWait, m(11)},
		{"the window's end is due", remediated(Remediation{Action: ActionRestart, State: RemedyVerifying, ActedAt: m(1), VerifyUntil: m(11)}), m(11), ActRemediate, time.Time{}},
		{"an early recovery ends verification at once", func() Incident {
			i := remediated(Remediation{Action: ActionRestart, State: RemedyVerifying, ActedAt: m(1), VerifyUntil: m(11)})
			i.SignalState, i.SignalAt = Recovered, m(4)
			return i
		}(), m(5), ActRemediate, time.Time{}},
		{"a finished remediation asks for nothing", remediated(Remediation{Action: ActionRestart, State: RemedySucceeded, ActedAt: m(1)}), m(12), ActWait, m(30)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Next(tt.inc, p, tt.now, nil)
			if got.Action != tt.want || tt.want == ActWait && !got.Until.Equal(tt.until) {
				t.Errorf("Next = %+v, want %s until %s", got, tt.want, tt.until)
			}
		})
	}
}

func TestRemediationUndoAfterResolution(t *testing.T) {
	p := DefaultPolicy()
	inc := remediated(Remediation{Action: ActionScale, State: RemedySucceeded, ActedAt: t0, Undo: true, UndoAfter: Duration(15 * time.Minute)})
	inc.Status, inc.ResolvedAt = Resolved, t0.Add(time.Hour)
	inc.Pages[0].Synced = Resolved
	if got := Next(inc, p, t0.Add(70*time.Minute), nil); got.Action != ActWait || !got.Until.Equal(t0.Add(75*time.Minute)) {
		t.Errorf("before the scale-down: %+v, want a wait until 04:15", got)
	}
	if got := Next(inc, p, t0.Add(75*time.Minute), nil); got.Action != ActRemediate {
		t.Errorf("at the scale-down: %+v, want remediate", got)
	}
	inc.Remediations[0].UndoState, inc.Remediations[0].UndoAt = UndoWaiting, t0.Add(80*time.Minute)
	if got := Next(inc, p, t0.Add(76*time.Minute), nil); got.Action != ActWait || !got.Until.Equal(t0.Add(80*time.Minute)) {
		t.Errorf("waiting for the drain: %+v, want a wait until 04:20", got)
	}
	inc.Remediations[0].UndoState = UndoDone
	if got := Next(inc, p, t0.Add(81*time.Minute), nil); got.Action == ActRemediate {
		t.Errorf("after the scale-down: %+v", got)
	}
	dry := remediated(Remediation{Action: ActionScale, State: RemedyDryRun, DryRun: true, Undo: true})
	dry.Status, dry.ResolvedAt = Resolved, t0
	if w, _ := dry.Remediations[0].Work(dry); w != "" {
		t.Errorf("a dry run has something to put back: %s", w)
	}
}

func TestApproveAndReject(t *testing.T) {
	inc := remediated(Remediation{Action: ActionRollback, State: RemedyAwaiting, ApprovalExpires: t0.Add(30 * time.Minute)})
	gen := inc.Generation
	if _, err := inc.ApproveRemediation(ActionRestart, "ic", t0); ErrorCode(err) != ENotFound {
		t.Errorf("approving an action never decided: %v", err)
	}
	r, err := inc.ApproveRemediation(ActionRollback, "ic@example.com", t0.Add(time.Minute))
	if err != nil || r.State != RemedyReady || r.DecidedBy != "ic@example.com" || inc.Generation != gen+1 {
		t.Fatalf("approve = %+v, %v (generation %d)", r, err, inc.Generation)
	}
	if _, err := inc.RejectRemediation(ActionRollback, "ic", "", t0.Add(2*time.Minute)); ErrorCode(err) != EConflict || !strings.Contains(err.Error(), "is ready, not awaiting approval") {
		t.Errorf("rejecting an approved one: %v", err)
	}
	late := remediated(Remediation{Action: ActionRollback, State: RemedyAwaiting, ApprovalExpires: t0.Add(30 * time.Minute)})
	if _, err := late.ApproveRemediation(ActionRollback, "ic", t0.Add(30*time.Minute)); ErrorCode(err) != EConflict || !strings.Contains(err.Error(), "expired") {
		t.Errorf("approving after the expiry: %v", err)
	}
	no := remediated(Remediation{Action: ActionRollback, State: RemedyAwaiting, ApprovalExpires: t0.Add(30 * time.Minute)})
	r, err = no.RejectRemediation(ActionRollback, "ic", "a hotfix", t0)
	if err != nil || r.State != RemedyRejected || r.Outcome != "rejected by ic: a hotfix" {
		t.Errorf("reject = %+v, %v", r, err)
	}
}

func TestVerifyRemediation(t *testing.T) {
	r := Remediation{Action: ActionRestart, ActedAt: t0, VerifyUntil: t0.Add(10 * time.Minute)}
	inc := incidentOf("dashboarduz-api", ServiceDown, P0)
	if st, _, esc := VerifyRemediation(inc, r, t0.Add(5*time.Minute)); st != RemedyVerifying || esc {
		t.Errorf("within the window: %s %v", st, esc)
	}
	st, out, esc := VerifyRemediation(inc, r, t0.Add(10*time.Minute))
	if st != RemedyFailed || !esc || !strings.Contains(out, "still firing") {
		t.Errorf("at the window's end still firing: %s %q %v", st, out, esc)
	}
	inc.SignalState, inc.SignalAt = Recovered, t0.Add(3*time.Minute)
	if st, out, esc := VerifyRemediation(inc, r, t0.Add(3*time.Minute)); st != RemedySucceeded || esc || !strings.Contains(out, "3m0s after the action") {
		t.Errorf("recovered: %s %q %v", st, out, esc)
	}
	inc.SignalState, inc.Status, inc.ResolvedBy = Firing, Resolved, "oncall"
	if st, _, esc := VerifyRemediation(inc, r, t0.Add(4*time.Minute)); st != RemedyUnverified || esc {
		t.Errorf("resolved first: %s %v", st, esc)
	}
}

func TestRemediationEntryData(t *testing.T) {
	r := Remediation{Action: ActionScale, Service: "dashboarduz-worker", Episode: 0, State: RemedyDryRun, DryRun: true, Reason: "1520 jobs waiting", From: 2, To: 4}
	e := RemediationEntry(Incident{}, r, t0, "decided", "remediation", "Dry run: would "+r.Describe())
	if e.Kind != EntryRemediation || e.Data["action"] != "Scale dashboarduz-worker 2 -> 4" || e.Data["outcome"] != "Would scale dashboarduz-worker 2 -> 4" ||
		e.Data["remediation"] != "scale" || e.Data["state"] != "dry-run" || e.Data["dryRun"] != "true" || e.Data["reason"] != "1520 jobs waiting" {
		t.Errorf("entry = %+v", e)
	}
	if e.Text != "Dry run: would scale dashboarduz-worker 2 -> 4" {
		t.Errorf("text %q", e.Text)
	}
}
