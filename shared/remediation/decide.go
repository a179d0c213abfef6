package remediation

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/dashboarduz/incident-response/shared/incident"
)

// decide records the current episode's remediation decision: the
// domain's decision from the triage report, under the guard rails that
// read the world (kill switch, budgets), with a rollback planned from
// the service as it runs now, so an approval names the exact revisions.
func (r *run) decide(ctx context.Context, inc incident.Incident) (incident.Incident, error) {
	rems, err := r.decision(ctx, inc)
	if err != nil {
		return incident.Incident{}, err
	}
	var entries []incident.Entry
	stored, err := incident.Update(ctx, r.h.Store, inc, func(cur *incident.Incident) bool {
		entries = nil
		if cur.Episode != inc.Episode || !cur.RemediationDecisionDue() {
			return false
		}
		for _, rem := range rems {
			cur.Remediations = append(cur.Remediations, rem)
			if r.h.Policy == nil {
				// Nothing to tell: remediation is simply not set up.
				continue
			}
			e := decisionEntry(*cur, rem, r.now)
			entries = append(entries, e)
			cur.Announce(e.ID)
		}
		return true
	})
	if err != nil {
		return incident.Incident{}, err
	}
	for _, e := range entries {
		if _, err := r.h.Store.AppendTimeline(ctx, inc.ID, e); err != nil {
			return incident.Incident{}, fmt.Errorf("record the remediation decision: %w", err)
		}
	}
	return stored, nil
}

// decision is what the episode calls for, with every guard rail applied.
func (r *run) decision(ctx context.Context, inc incident.Incident) ([]incident.Remediation, error) {
	p := r.h.Policy
	if p == nil {
		return []incident.Remediation{{Action: incident.ActionNone, Episode: inc.Episode, State: incident.RemedyNone, At: r.now, DecidedAt: r.now,
			Reason: "automatic remediation is not configured"}}, nil
	}
	report, err := r.h.Store.TriageReport(ctx, inc.ID, inc.Episode)
	if err != nil && incident.ErrorCode(err) != incident.ENotFound {
		return nil, err
	}
	own, err := r.ownDeployments(ctx, inc)
	if err != nil {
		return nil, err
	}
	rems := p.Decide(inc, report, own, r.now)
	guards := incident.RemediationGuards{Budgets: map[string][]incident.BudgetUse{}}
	if slices.ContainsFunc(rems, func(x incident.Remediation) bool { return x.State == incident.RemedyReady }) {
		if guards.KillSwitch, err = r.killSwitchState(ctx); err != nil {
			return nil, err
		}
		for _, x := range rems {
			k := incident.BudgetKey(x.Service, x.Action)
			if _, read := guards.Budgets[k]; read || x.State != incident.RemedyReady {
				continue
			}
			if guards.Budgets[k], err = r.h.Store.BudgetUses(ctx, k); err != nil {
				return nil, err
			}
		}
	}
	rems = p.Guard(inc, rems, guards, r.now)
	for i := range rems {
		if rems[i].Action == incident.ActionRollback {
			r.planRollback(ctx, &rems[i])
		}
	}
	return rems, nil
}

// ownDeployments are the times this system restarted or rolled back the
// incident's service, from those actions' budgets, for the categories
// a recent deployment matters to.
func (r *run) ownDeployments(ctx context.Context, inc incident.Incident) ([]time.Time, error) {
	if inc.Category != incident.ServiceDown && inc.Category != incident.HighErrorRate {
		return nil, nil
	}
	var own []time.Time
	for _, a := range incident.DeploymentActions {
		uses, err := r.h.Store.BudgetUses(ctx, incident.BudgetKey(inc.Service, a))
		if err != nil {
			return nil, err
		}
		for _, u := range uses {
			own = append(own, u.At)
		}
	}
	return own, nil
}

// planRollback finds the revision a rollback goes back to, from the
// service as it runs now; a service with nothing to roll back to, or
// that cannot be read, refuses the rollback with the reason.
func (r *run) planRollback(ctx context.Context, rem *incident.Remediation) {
	switch rem.State {
	case incident.RemedyReady, incident.RemedyAwaiting, incident.RemedyDryRun:
	default:
		return
	}
	if r.h.ECS == nil {
		rem.State, rem.Outcome = incident.RemedyRefused, "no ECS client is configured to plan the rollback"
		return
	}
	plan, err := r.h.ECS.PlanRollback(ctx, rem.Cluster, rem.Service)
	if err != nil {
		rem.State, rem.Outcome = incident.RemedyRefused, "the rollback could not be planned: "+err.Error()
		rem.ApprovalExpires = time.Time{}
		return
	}
	rem.RollbackFrom, rem.RollbackTo = plan.From, plan.To
}

// decisionEntry is the timeline entry of one decided remediation.
func decisionEntry(inc incident.Incident, rem incident.Remediation, now time.Time) incident.Entry {
	return incident.RemediationEntry(inc, rem, now, "decided", Actor, decisionText(inc, rem))
}
