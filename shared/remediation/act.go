package remediation

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/dashboarduz/incident-response/shared/awserr"
	"github.com/dashboarduz/incident-response/shared/ecs"
	"github.com/dashboarduz/incident-response/shared/incident"
)

// act makes a ready remediation, or takes over a claim whose lease ran
// out: the kill switch is read again, the claim is written, the budget
// spent, then the action made and its outcome recorded.
func (r *run) act(ctx context.Context, inc incident.Incident, rem incident.Remediation) (incident.Incident, error) {
	p := r.h.Policy
	state := inState(rem.State)
	switch {
	case inc.Status == incident.Resolved:
		return r.end(ctx, inc, rem, state, incident.RemedyExpired, "expired", "the incident was resolved before it was made; it is left undone")
	case p == nil:
		return r.end(ctx, inc, rem, state, incident.RemedyFailed, "failed", "automatic remediation is not configured any more")
	case rem.State == incident.RemedyClaimed && rem.Attempts >= p.MaxAttempts:
		last := rem.Outcome
		if last == "" {
			last = "the last attempt did not finish"
		}
		return r.end(ctx, inc, rem, state, incident.RemedyFailed, "failed", fmt.Sprintf("could not be made in %d attempts: %s", rem.Attempts, last))
	}
	ks, err := r.killSwitchState(ctx)
	if err != nil {
		return incident.Incident{}, err
	}
	if ks.On {
		return r.end(ctx, inc, rem, state, incident.RemedyRefused, "refused", ks.Refusal())
	}
	inc, claimed, ok, err := r.claim(ctx, inc, rem)
	if err != nil || !ok {
		return inc, err
	}
	if why, err := r.spend(ctx, inc, claimed); err != nil || why != "" {
		if err != nil {
			return incident.Incident{}, err
		}
		return r.end(ctx, inc, claimed, r.ourClaim(claimed), incident.RemedyRefused, "refused", why)
	}
	result, err := r.make(ctx, &claimed)
	return r.outcome(ctx, inc, claimed, result, err)
}

// end moves a remediation to a final state with the outcome, and
// records it.
func (r *run) end(ctx context.Context, inc incident.Incident, rem incident.Remediation, expect func(incident.Remediation) bool,
	state incident.RemediationState, phase, outcome string) (incident.Incident, error) {
	stored, _, err := r.record(ctx, inc, rem, expect, func(cur *incident.Incident, x *incident.Remediation) []incident.Entry {
		x.State, x.At, x.Outcome, x.LeaseUntil = state, r.now, outcome, time.Time{}
		text := fmt.Sprintf("Remediation %s: %s %s: %s.", phase, x.Action, x.Service, outcome)
		switch state {
		case incident.RemedyRefused:
			text = fmt.Sprintf("Remediation refused: would %s, but %s.", x.Describe(), outcome)
		case incident.RemedyExpired:
			text = fmt.Sprintf("Remediation left undone: %s: %s.", x.Describe(), outcome)
		case incident.RemedyFailed:
			text = fmt.Sprintf("Remediation failed: %s %s.", x.Describe(), outcome)
		}
		return []incident.Entry{r.entry(cur, x, phase, text)}
	})
	return stored, err
}

// claim takes the remediation in the ledger before its action is made:
// from ready, or over a claim whose lease ran out (the same attempt
// count the work was planned on). It reports false when another
// invocation holds it or has moved it on.
func (r *run) claim(ctx context.Context, inc incident.Incident, rem incident.Remediation) (incident.Incident, incident.Remediation, bool, error) {
	expect := func(x incident.Remediation) bool {
		return x.State == incident.RemedyReady || x.State == incident.RemedyClaimed && x.Attempts == rem.Attempts && !x.LeaseUntil.After(r.now)
	}
	var claimed incident.Remediation
	stored, ok, err := r.record(ctx, inc, rem, expect, func(_ *incident.Incident, x *incident.Remediation) []incident.Entry {
		x.Attempts++
		if x.ClaimedAt.IsZero() {
			x.ClaimedAt = r.now
		}
		x.State, x.At, x.LeaseUntil = incident.RemedyClaimed, r.now, r.now.Add(r.h.Policy.RetryAfter.D())
		claimed = *x
		return nil
	})
	return stored, claimed, ok, err
}

// ourClaim expects the stored remediation to still be this claim.
func (r *run) ourClaim(claimed incident.Remediation) func(incident.Remediation) bool {
	return func(x incident.Remediation) bool {
		return x.State == incident.RemedyClaimed && x.Attempts == claimed.Attempts
	}
}

// spend uses the action's budget on its service, under the
// remediation's own key so a retry never spends twice; it returns the
// refusal when the budget is spent.
func (r *run) spend(ctx context.Context, inc incident.Incident, rem incident.Remediation) (string, error) {
	p := r.h.Policy
	useKey := incident.BudgetUseKey(inc.ID, rem)
	// Uses are kept for the budget's window, and as long as a later
	// decision must recognise the deployment a use started.
	keep := max(p.Actions[rem.Action].Budget.Window.D(), p.Rules.ServiceDown.DeployedWithin.D())
	return r.h.Store.SpendBudget(ctx, incident.BudgetKey(rem.Service, rem.Action), incident.BudgetUse{Key: useKey, At: r.now}, r.now.Add(-keep),
		func(uses []incident.BudgetUse) string {
			return p.BudgetRefusal(rem.Action, rem.Service, useKey, uses, r.now)
		})
}

// errNotConfigured is an action whose adapter is missing.
var errNotConfigured = errors.New("no client is configured for it")

// make makes the action through its adapter and says what it did. A
// scale records the count the service had before.
func (r *run) make(ctx context.Context, rem *incident.Remediation) (string, error) {
	switch rem.Action {
	case incident.ActionRestart:
		if r.h.ECS == nil {
			return "", errNotConfigured
		}
		res, err := r.h.ECS.ForceNewDeployment(ctx, rem.Cluster, rem.Service, rem.ClaimedAt)
		if err != nil {
			return "", err
		}
		text := fmt.Sprintf("forced a new deployment of %s/%s (%s of %s)", rem.Cluster, rem.Service, res.DeploymentID, ecs.ShortTaskDefinition(res.TaskDefinition))
		if res.AlreadyDone {
			text += ", started by an earlier attempt"
		}
		return text, nil
	case incident.ActionRollback:
		if r.h.ECS == nil {
			return "", errNotConfigured
		}
		res, err := r.h.ECS.ApplyRollback(ctx, ecs.Rollback{Cluster: rem.Cluster, Service: rem.Service, From: rem.RollbackFrom, To: rem.RollbackTo})
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("rolled back %s from %s to %s (deployment %s)", rem.Service, ecs.ShortTaskDefinition(res.From), ecs.ShortTaskDefinition(res.To), res.DeploymentID), nil
	case incident.ActionScale:
		return r.scale(ctx, rem)
	case incident.ActionMaintenance:
		if r.h.Parameters == nil {
			return "", errNotConfigured
		}
		res, err := r.h.Parameters.Set(ctx, rem.Parameter, true)
		if err != nil {
			return "", err
		}
		if !res.Changed {
			return fmt.Sprintf("maintenance mode was already on (%s)", rem.Parameter), nil
		}
		return fmt.Sprintf("switched maintenance mode on (%s)", rem.Parameter), nil
	}
	return "", fmt.Errorf("unknown action %q", rem.Action)
}

// scale sets the desired count the decision bounded.
func (r *run) scale(ctx context.Context, rem *incident.Remediation) (string, error) {
	if r.h.ECS == nil {
		return "", errNotConfigured
	}
	res, err := r.h.ECS.Scale(ctx, rem.Cluster, rem.Service, rem.To)
	if err != nil {
		return "", err
	}
	rem.From = res.Before
	if !res.Changed {
		return fmt.Sprintf("%s already ran %d tasks", rem.Service, res.After), nil
	}
	return fmt.Sprintf("scaled %s %d -> %d", rem.Service, res.Before, res.After), nil
}

// outcome records what making the action did: verifying (or applied),
// an attempt that failed for now (retried once the claim's lease runs
// out), or a failure AWS would repeat.
func (r *run) outcome(ctx context.Context, inc incident.Incident, claimed incident.Remediation, result string, err error) (incident.Incident, error) {
	p := r.h.Policy
	switch {
	case err == nil:
		stored, _, rerr := r.record(ctx, inc, claimed, r.ourClaim(claimed), func(cur *incident.Incident, x *incident.Remediation) []incident.Entry {
			x.From, x.Result, x.ActedAt, x.At, x.Outcome = claimed.From, result, r.now, r.now, ""
			x.LeaseUntil = time.Time{}
			if x.Action == incident.ActionMaintenance {
				x.State = incident.RemedyApplied
			} else {
				x.State, x.VerifyUntil = incident.RemedyVerifying, r.now.Add(p.VerifyWithin.D())
			}
			return []incident.Entry{r.entry(cur, x, "made", madeText(*x))}
		})
		return stored, rerr
	case awserr.Retryable(err):
		stored, _, rerr := r.record(ctx, inc, claimed, r.ourClaim(claimed), func(cur *incident.Incident, x *incident.Remediation) []incident.Entry {
			x.Outcome = err.Error()
			text := fmt.Sprintf("Remediation attempt %d of %d failed for now: %s; the next attempt is at %s.", x.Attempts, p.MaxAttempts, err, clock(x.LeaseUntil))
			if x.Attempts >= p.MaxAttempts {
				text = fmt.Sprintf("Remediation attempt %d of %d failed for now: %s; that was the last attempt.", x.Attempts, p.MaxAttempts, err)
			}
			return []incident.Entry{r.entry(cur, x, fmt.Sprintf("attempt-%d", x.Attempts), text)}
		})
		return stored, rerr
	}
	if errors.Is(err, errNotConfigured) {
		err = fmt.Errorf("%s cannot be made: %w", claimed.Action, err)
	}
	return r.end(ctx, inc, claimed, r.ourClaim(claimed), incident.RemedyFailed, "failed", "could not be made: "+err.Error())
}
