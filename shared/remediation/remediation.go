// Package remediation is the Remediate task of the escalation state
// machine: it applies the runbook's remediations to an incident under
// their guard rails, as the escalation policy's remediation step asks.
//
// The decisions are the domain's (incident.RemediationPolicy.Decide and
// Guard, incident.VerifyRemediation); this package reads what they need
// (the triage report, the kill switch, the budgets), makes the actions
// through the ECS and SSM adapters, and records every change in the
// incident's remediation ledger with its timeline entry, queued for
// announcement in the same write.
//
// Exactly once: a remediation is claimed in the ledger (the incident
// item, with a lease) before its action is made, so a retried Lambda or
// a redelivered execution finds the claim and does not act again; a
// claim whose lease ran out (the call's outcome is unknown) is taken
// over by the next attempt, which the adapters make idempotent (a
// deployment started since the first claim counts as this one, a scale
// or a switch to the value already set writes nothing, a rollback is
// applied from the plan recorded with the decision). The budget is spent
// under the same key, so a retry never spends it twice.
package remediation

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"time"

	"github.com/dashboarduz/incident-response/shared/ecs"
	"github.com/dashboarduz/incident-response/shared/escalation"
	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/ssm"
)

// Store is the storage the Remediate task needs.
type Store interface {
	incident.Updater
	AppendTimeline(ctx context.Context, incidentID string, e incident.Entry) (bool, error)
	TriageReport(ctx context.Context, id string, episode int) (incident.TriageReport, error)
	KillSwitch(ctx context.Context) (incident.KillSwitch, error)
	BudgetUses(ctx context.Context, key string) ([]incident.BudgetUse, error)
	SpendBudget(ctx context.Context, key string, use incident.BudgetUse, keepSince time.Time, refuse func([]incident.BudgetUse) string) (string, error)
}

// Services reads and changes ECS services; *ecs.Client implements it.
type Services interface {
	ServiceState(ctx context.Context, cluster, service string) (*ecs.ServiceState, error)
	ForceNewDeployment(ctx context.Context, cluster, service string, since time.Time) (*ecs.DeploymentResult, error)
	Scale(ctx context.Context, cluster, service string, desired int32) (*ecs.ScaleResult, error)
	PlanRollback(ctx context.Context, cluster, service string) (*ecs.Rollback, error)
	ApplyRollback(ctx context.Context, plan ecs.Rollback) (*ecs.RollbackResult, error)
}

// Parameters switches on/off SSM parameters; SSMParameters implements it.
type Parameters interface {
	Set(ctx context.Context, name string, on bool) (*ssm.SwitchResult, error)
}

// SSMParameters switches parameters through an SSM client.
type SSMParameters struct {
	API ssm.API
}

// Set switches the parameter name on or off.
func (p SSMParameters) Set(ctx context.Context, name string, on bool) (*ssm.SwitchResult, error) {
	return ssm.NewSwitch(p.API, name).Set(ctx, on)
}

// Queues reads how many jobs wait in the queues a service works on, and
// where the figure came from; evidence.QueueReader implements it.
type Queues interface {
	Waiting(ctx context.Context, service string) (int, string, error)
}

// Handler is the Remediate task.
type Handler struct {
	Store Store
	Clock incident.Clock
	// Policy is the remediation policy; nil means none is configured,
	// and every decision records that no action is taken.
	Policy *incident.RemediationPolicy
	// Escalation is the escalation policy, for escalating one level
	// when an action did not help.
	Escalation incident.Policy
	// ECS makes the ECS actions; Parameters switches maintenance mode;
	// Queues tells whether a queue has drained before scaling back. A
	// missing one fails the actions that need it, with the reason.
	ECS        Services
	Parameters Parameters
	Queues     Queues
	// KillSwitchDefault is the kill switch while the table holds no
	// setting: the deployment's default.
	KillSwitchDefault bool
}

// Actor is the name the task's timeline entries carry.
const Actor = "remediation"

// maxPasses bounds the passes of one Remediate over the due work.
const maxPasses = 3

// undoRecheck is how often a scale-down waiting for a queue to drain
// looks again.
const undoRecheck = 5 * time.Minute

// Handle decides the current episode's remediation when it is due, then
// does the work due on every remediation of the incident: make the
// ready ones, expire unapproved ones, end verifications, put made ones
// back after the resolution.
func (h *Handler) Handle(ctx context.Context, in incident.EscalationState) (incident.EscalationState, error) {
	if in.IncidentID == "" {
		return in, &escalation.InvalidInputError{Reason: "remediate: the input has no incidentId"}
	}
	inc, err := h.Store.GetIncident(ctx, in.IncidentID)
	if incident.ErrorCode(err) == incident.ENotFound {
		return in, &escalation.IncidentNotFoundError{IncidentID: in.IncidentID}
	}
	if err != nil {
		return in, fmt.Errorf("remediate %s: %w", in.IncidentID, err)
	}
	run := &run{h: h, now: h.Clock.Now().UTC()}
	if inc.RemediationDecisionDue() {
		if inc, err = run.decide(ctx, inc); err != nil {
			return in, fmt.Errorf("remediate %s: %w", in.IncidentID, err)
		}
	}
	// A change can make more work due at once (a verification that ends
	// with the resolution, then the scale-down): a few passes, each of
	// which moves every due remediation on.
	for range maxPasses {
		keys := dueKeys(inc, run.now)
		if len(keys) == 0 {
			break
		}
		for _, key := range keys {
			if inc, err = run.work(ctx, inc, key); err != nil {
				return in, fmt.Errorf("remediate %s: %w", in.IncidentID, err)
			}
		}
	}
	slog.InfoContext(ctx, "remediation", "incidentId", inc.ID, "remediations", len(inc.Remediations))
	return in, nil
}

// key names one remediation of an incident.
type key struct {
	episode int
	action  incident.RemediationAction
}

// dueKeys are the remediations with work due now, in ledger order.
func dueKeys(inc incident.Incident, now time.Time) []key {
	var out []key
	for _, i := range slices.Sorted(maps.Keys(incident.DueRemediations(inc, now))) {
		out = append(out, key{inc.Remediations[i].Episode, inc.Remediations[i].Action})
	}
	return out
}

// run is one invocation: its time, and the kill switch once read.
type run struct {
	h          *Handler
	now        time.Time
	killSwitch *incident.KillSwitch
}

// killSwitchState reads the kill switch once per run: the table's
// setting, or the deployment's default when it holds none.
func (r *run) killSwitchState(ctx context.Context) (incident.KillSwitch, error) {
	if r.killSwitch != nil {
		return *r.killSwitch, nil
	}
	k, err := r.h.Store.KillSwitch(ctx)
	switch {
	case incident.ErrorCode(err) == incident.ENotFound:
		k = incident.KillSwitch{On: r.h.KillSwitchDefault, Source: "default"}
	case err != nil:
		return incident.KillSwitch{}, err
	}
	r.killSwitch = &k
	return k, nil
}

// work does what is due on one remediation, on the incident as read.
func (r *run) work(ctx context.Context, inc incident.Incident, k key) (incident.Incident, error) {
	rem, _, ok := inc.RemediationFor(k.episode, k.action)
	if !ok {
		return inc, nil
	}
	w, at := rem.Work(inc)
	if w == "" || at.After(r.now) {
		return inc, nil
	}
	switch w {
	case incident.WorkAct:
		return r.act(ctx, inc, rem)
	case incident.WorkExpire:
		return r.expire(ctx, inc, rem)
	case incident.WorkVerify:
		return r.verify(ctx, inc, rem)
	case incident.WorkUndo:
		return r.undo(ctx, inc, rem)
	}
	return inc, nil
}

// record writes a remediation's change: the incident with the change
// applied to the remediation (found by episode and action) when expect
// still holds on the stored one, with the change's timeline entries
// queued for announcement in that same write, then the entries. The
// entries are built from the incident as stored, so they say what was
// recorded. It reports whether the change was stored; a remediation
// that moved on meanwhile is left as the other writer left it.
func (r *run) record(ctx context.Context, inc incident.Incident, rem incident.Remediation, expect func(incident.Remediation) bool,
	change func(*incident.Incident, *incident.Remediation) []incident.Entry) (incident.Incident, bool, error) {
	var entries []incident.Entry
	applied := false
	stored, err := incident.Update(ctx, r.h.Store, inc, func(cur *incident.Incident) bool {
		entries, applied = nil, false
		_, i, ok := cur.RemediationFor(rem.Episode, rem.Action)
		if !ok || !expect(cur.Remediations[i]) {
			return false
		}
		entries, applied = change(cur, &cur.Remediations[i]), true
		for _, e := range entries {
			cur.Announce(e.ID)
		}
		return true
	})
	if err != nil {
		return incident.Incident{}, false, err
	}
	for _, e := range entries {
		if _, err := r.h.Store.AppendTimeline(ctx, inc.ID, e); err != nil {
			return incident.Incident{}, false, fmt.Errorf("record remediation %s: %w", rem.Key(), err)
		}
	}
	return stored, applied, nil
}

// entry is the timeline entry of a remediation's change at the run's
// time.
func (r *run) entry(inc *incident.Incident, rem *incident.Remediation, phase, text string) incident.Entry {
	return incident.RemediationEntry(*inc, *rem, r.now, phase, Actor, text)
}

// inState returns an expectation that the stored remediation is in one
// of the states.
func inState(states ...incident.RemediationState) func(incident.Remediation) bool {
	return func(r incident.Remediation) bool { return slices.Contains(states, r.State) }
}
