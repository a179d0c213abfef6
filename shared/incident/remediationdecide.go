package incident

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// SourceUserReport is the source of incidents opened from a user's
// report.
const SourceUserReport = "user-report"

// KillSwitch is the setting that stops all automatic remediation at
// once: decisions are refused, ready actions are not made and nothing
// is put back. Verification goes on, since it only watches.
type KillSwitch struct {
	On     bool      `json:"on"`
	By     string    `json:"by,omitempty"`
	At     time.Time `json:"at,omitzero"`
	Reason string    `json:"reason,omitempty"`
	// Source says where the setting came from: "table" when an admin
	// set it, "default" when the table holds none and the deployment's
	// default applies.
	Source string `json:"source,omitempty"`
	// Version counts the writes of the setting in the table.
	Version int64 `json:"version,omitempty"`
}

// Refusal says why the kill switch refuses an action.
func (k KillSwitch) Refusal() string {
	switch {
	case k.Source == "default" || k.By == "":
		return "the remediation kill switch is on (the deployment's default); an admin can turn it off with PUT /remediation/kill-switch"
	case k.Reason != "":
		return fmt.Sprintf("the remediation kill switch is on (set by %s at %s: %s)", k.By, k.At.UTC().Format(time.RFC3339), k.Reason)
	}
	return fmt.Sprintf("the remediation kill switch is on (set by %s at %s)", k.By, k.At.UTC().Format(time.RFC3339))
}

// BudgetUse is one use of an action's budget on a service: the action
// that used it (Key: incident/episode/action, so a retry never spends
// twice) and when.
type BudgetUse struct {
	Key string    `json:"key"`
	At  time.Time `json:"at"`
}

// BudgetKey names the budget of an action on a service.
func BudgetKey(service string, action RemediationAction) string {
	return service + "/" + string(action)
}

// BudgetUseKey is the key of the use a remediation makes of its budget.
func BudgetUseKey(incidentID string, r Remediation) string {
	return fmt.Sprintf("%s/%d/%s", incidentID, r.Episode, r.Action)
}

// RemediationGuards are the facts outside the incident that the guard
// rails read: the kill switch and the budgets' recent uses, by
// BudgetKey.
type RemediationGuards struct {
	KillSwitch KillSwitch
	Budgets    map[string][]BudgetUse
}

// BudgetRefusal says why an action's budget on a service refuses one
// more use, given the uses recorded; "" when it allows it. A use whose
// key is key (the same remediation, retried) never counts against it.
func (p RemediationPolicy) BudgetRefusal(action RemediationAction, service, key string, uses []BudgetUse, now time.Time) string {
	b := p.Actions[action].Budget
	var in []BudgetUse
	for _, u := range uses {
		if u.Key == key {
			return ""
		}
		if now.Sub(u.At) < b.Window.D() {
			in = append(in, u)
		}
	}
	if len(in) < b.Count {
		return ""
	}
	var when []string
	for _, u := range in {
		when = append(when, fmt.Sprintf("%s (%s)", u.At.UTC().Format("15:04"), strings.SplitN(u.Key, "/", 2)[0]))
	}
	return fmt.Sprintf("the budget of %d %s per %s on %s is spent: used at %s", b.Count, action, b.Window.D(), service, strings.Join(when, ", "))
}

// ownDeploymentSlack is how long after a remediation's claim the ECS
// deployment it started may be created.
const ownDeploymentSlack = 5 * time.Minute

// Decide is the runbook's remediation decision for the incident's
// current episode, from its triage report, as a pure function: what each
// common incident calls for, checked against the allow-list, the bounds
// and the incident's earlier remediations. own are the times this
// system restarted or rolled back the incident's service (its budgets'
// uses, across incidents): a deployment that one of them started is no
// reason to roll back. It returns at least one remediation (ActionNone
// when nothing is to be done, with the reason); the ones to be made are
// RemedyReady, before the guard rails of Guard.
func (p RemediationPolicy) Decide(inc Incident, report TriageReport, own []time.Time, now time.Time) []Remediation {
	base := Remediation{Episode: inc.Episode, At: now.UTC(), DecidedAt: now.UTC()}
	if inc.Source == SourceUserReport {
		return []Remediation{noAction(base, "incidents opened from a user report are not remediated automatically: no signal would show whether an action helped")}
	}
	var rems []Remediation
	switch inc.Category {
	case Database:
		return []Remediation{noAction(base, databaseReason(report))}
	case ServiceDown, HighErrorRate:
		rems = p.decideServiceDown(inc, report, own, base)
	case QueueBacklog:
		rems = []Remediation{p.decideScale(inc, report, base, p.Rules.QueueBacklog, "Queue Backlog: scale workers if needed")}
	case Performance:
		rems = []Remediation{p.decideScale(inc, report, base, p.Rules.Performance, "Performance Degradation: scale services if needed")}
	default:
		return []Remediation{noAction(base, fmt.Sprintf("the runbook has no automatic remediation for %s incidents", inc.Category))}
	}
	if m, ok := p.decideMaintenance(inc, report, base); ok {
		rems = append(rems, m)
	}
	for i := range rems {
		p.checkAllowed(inc, &rems[i])
	}
	return rems
}

// Guard applies the guard rails that read the world outside the
// incident to the ready remediations of a decision: the kill switch,
// the budget (refused when spent), dry run (recorded, not made) and
// approval (waits until ApprovalExpires).
func (p RemediationPolicy) Guard(inc Incident, rems []Remediation, g RemediationGuards, now time.Time) []Remediation {
	out := slices.Clone(rems)
	for i := range out {
		r := &out[i]
		if r.State != RemedyReady {
			continue
		}
		key := BudgetUseKey(inc.ID, *r)
		if g.KillSwitch.On {
			refuse(r, g.KillSwitch.Refusal())
		} else if why := p.BudgetRefusal(r.Action, r.Service, key, g.Budgets[BudgetKey(r.Service, r.Action)], now); why != "" {
			refuse(r, why)
		} else if p.dryRun(r.Action) {
			r.State, r.DryRun = RemedyDryRun, true
		} else if p.Actions[r.Action].Approval {
			r.State, r.ApprovalExpires = RemedyAwaiting, now.UTC().Add(p.ApprovalExpiresAfter.D())
		}
	}
	return out
}

// refuse marks a remediation refused by a guard rail, keeping what it
// would have done in the reason.
func refuse(r *Remediation, why string) {
	r.State = RemedyRefused
	r.Outcome = why
}

func noAction(base Remediation, reason string) Remediation {
	base.Action, base.State, base.Reason = ActionNone, RemedyNone, reason
	return base
}

// checkAllowed refuses a ready remediation the allow-list does not
// allow, and one of a kind that already failed on this incident: no
// second automatic action of a kind that did not help.
func (p RemediationPolicy) checkAllowed(inc Incident, r *Remediation) {
	if r.State != RemedyReady {
		return
	}
	if why := p.allowed(r.Action, r.Service); why != "" {
		refuse(r, why)
		return
	}
	for _, old := range inc.Remediations {
		if old.Action == r.Action && old.Service == r.Service && old.State == RemedyFailed {
			refuse(r, fmt.Sprintf("%s of %s already failed on this incident at %s (%s); no second automatic %s follows",
				r.Action, r.Service, old.At.UTC().Format("15:04"), old.Outcome, r.Action))
			return
		}
	}
}

// decideServiceDown: a deployment shortly before the incident is rolled
// back (service-down and high-error-rate); otherwise a service-down
// incident whose tasks are unhealthy is restarted.
func (p RemediationPolicy) decideServiceDown(inc Incident, report TriageReport, own []time.Time, base Remediation) []Remediation {
	ecs, ok := report.Part(PartECSService)
	if !ok || ecs.Error != "" {
		return []Remediation{noAction(base, "no automatic action without evidence: "+partProblem(ecs, ok, "the ECS service state"))}
	}
	t, _ := p.Target(inc.Service)
	base.Service, base.Cluster = inc.Service, t.Cluster
	running, _ := factInt(ecs, FactRunning)
	desired, _ := factInt(ecs, FactDesired)
	if at, ok := factTime(ecs, FactLastDeploymentAt); ok && p.Rules.ServiceDown.DeployedWithin > 0 {
		start := inc.Started()
		if !at.After(start) && start.Sub(at) <= p.Rules.ServiceDown.DeployedWithin.D() && !ownDeployment(inc, inc.Service, own, at) {
			r := base
			r.Action, r.State, r.RollbackFrom = ActionRollback, RemedyReady, ecs.Facts[FactTaskDefinition]
			r.Reason = fmt.Sprintf("%s was deployed at %s (%s), %s before the incident began, followed by %s (runbook: rollback if recent deployment)",
				inc.Service, at.UTC().Format("15:04"), shortTaskDefinition(r.RollbackFrom), start.Sub(at).Round(time.Second), symptom(inc.Category))
			return []Remediation{r}
		}
	}
	if inc.Category == HighErrorRate {
		return []Remediation{noAction(base, fmt.Sprintf("no deployment of %s in the %s before the errors began: nothing to roll back; the runbook's next steps (Sentry, logs, external APIs, environment variables) need a person", inc.Service, p.Rules.ServiceDown.DeployedWithin.D()))}
	}
	stopped, _ := factInt(ecs, FactStoppedWithError)
	if running >= desired && stopped == 0 {
		return []Remediation{noAction(base, fmt.Sprintf("%d of %d tasks of %s run and none stopped with an error: a restart would not help", running, desired, inc.Service))}
	}
	r := base
	r.Action, r.State = ActionRestart, RemedyReady
	r.Reason = fmt.Sprintf("%d of %d tasks of %s running, %d stopped with an error (runbook: Service Down, restart service if needed)", running, desired, inc.Service, stopped)
	return []Remediation{r}
}

func symptom(c Category) string {
	if c == HighErrorRate {
		return "a high error rate"
	}
	return "the service going down"
}

// ownDeployment reports whether a deployment at t was started by a
// remediation (this incident's, or any other's at one of the times
// own), which is no reason to roll back.
func ownDeployment(inc Incident, service string, own []time.Time, t time.Time) bool {
	for _, r := range inc.Remediations {
		if slices.Contains(DeploymentActions, r.Action) && r.Service == service && !r.ClaimedAt.IsZero() && !t.Before(r.ClaimedAt) {
			return true
		}
	}
	for _, u := range own {
		if !t.Before(u) && t.Sub(u) <= ownDeploymentSlack {
			return true
		}
	}
	return false
}

// DeploymentActions are the actions that start an ECS deployment, whose
// budgets' uses tell Decide which deployments this system started.
var DeploymentActions = []RemediationAction{ActionRestart, ActionRollback}

// decideScale scales the rule's service within its bounds.
func (p RemediationPolicy) decideScale(inc Incident, report TriageReport, base Remediation, rule ScaleRule, runbook string) Remediation {
	if rule == (ScaleRule{}) {
		return noAction(base, fmt.Sprintf("no scale rule is configured for %s incidents", inc.Category))
	}
	service := rule.Service
	if service == "" {
		service = inc.Service
	}
	t, _ := p.Target(service)
	r := base
	r.Action, r.State, r.Service, r.Cluster = ActionScale, RemedyReady, service, t.Cluster
	if why := p.allowed(ActionScale, service); why != "" {
		refuse(&r, why)
		r.Reason = runbook
		return r
	}
	why, ok := utilizationReason(report, rule)
	if !ok {
		return noAction(base, why)
	}
	desired := int32(-1)
	if ecs, ok := report.Part(PartECSService); ok && ecs.Error == "" && service == inc.Service {
		if n, ok := factInt(ecs, FactDesired); ok {
			desired = int32(n)
		}
	}
	to := rule.To
	if rule.Step > 0 {
		if desired < 0 {
			return noAction(base, fmt.Sprintf("the desired count of %s is not in the triage report, so a step of %d cannot be scaled", service, rule.Step))
		}
		to = desired + rule.Step
	}
	bound := ""
	if to > t.MaxCount {
		to, bound = t.MaxCount, fmt.Sprintf(", bounded by its maximum of %d", t.MaxCount)
	}
	switch {
	case desired >= t.MaxCount:
		refuse(&r, fmt.Sprintf("%s already runs %d tasks, its maximum", service, desired))
	case desired >= to:
		return noAction(base, fmt.Sprintf("%s already runs %d tasks, no fewer than the %d the rule asks for", service, desired, to))
	}
	r.From, r.To = max(desired, 0), to
	r.Reason = fmt.Sprintf("%s (runbook: %s)%s", why, runbook, bound)
	if rule.ScaleDownAfter > 0 {
		r.Undo, r.UndoAfter, r.DrainedBelow, r.UndoGiveUp = true, rule.ScaleDownAfter, rule.DrainedBelow, rule.GiveUpAfter
	}
	return r
}

// utilizationReason says what the triage report shows that calls for
// scaling; ok is false when the rule's utilization threshold is not
// crossed (or cannot be read), and the text then says why not.
func utilizationReason(report TriageReport, rule ScaleRule) (string, bool) {
	if rule.UtilizationAbove <= 0 {
		if q, ok := report.Part(PartQueues); ok && q.Error == "" && q.Facts[FactQueueWaiting] != "" {
			return q.Facts[FactQueueWaiting] + " jobs wait in the queues", true
		}
		return "the queues are backed up", true
	}
	m, ok := report.Part(PartMetrics)
	if !ok || m.Error != "" {
		return "not scaling without figures: " + partProblem(m, ok, "CPU and memory"), false
	}
	cpu, okc := factFloat(m, FactCPUPercent)
	mem, okm := factFloat(m, FactMemoryPercent)
	if !okc && !okm {
		return "not scaling without figures: CPU and memory have no recent datapoints", false
	}
	figures := fmt.Sprintf("CPU %.0f%%, memory %.0f%%", cpu, mem)
	if max(cpu, mem) < rule.UtilizationAbove {
		return fmt.Sprintf("%s, below %.0f%%: more tasks would not help; the runbook's next steps (database, cache, slow queries) need a person", figures, rule.UtilizationAbove), false
	}
	return fmt.Sprintf("%s, above %.0f%%", figures, rule.UtilizationAbove), true
}

// decideMaintenance proposes maintenance mode when the rule's
// categories, severities and task count match.
func (p RemediationPolicy) decideMaintenance(inc Incident, report TriageReport, base Remediation) (Remediation, bool) {
	rule := p.Rules.MaintenanceMode
	if !slices.Contains(rule.Categories, inc.Category) || len(rule.Severities) > 0 && !slices.Contains(rule.Severities, inc.Severity) {
		return Remediation{}, false
	}
	if rule.WhenNoTaskRuns {
		ecs, ok := report.Part(PartECSService)
		if n, known := factInt(ecs, FactRunning); !ok || ecs.Error != "" || !known || n > 0 {
			return Remediation{}, false
		}
	}
	t, _ := p.Target(inc.Service)
	r := base
	r.Action, r.State, r.Service, r.Cluster, r.Parameter = ActionMaintenance, RemedyReady, inc.Service, t.Cluster, rule.Parameter
	r.Undo = true
	r.Reason = fmt.Sprintf("%s %s incident with no task of %s running (runbook: enable maintenance mode if necessary); it goes off when the incident is resolved", inc.Severity, inc.Category, inc.Service)
	return r, true
}

// databaseReason is the no-action reason of a database incident, with
// the diagnostics triage gathered.
func databaseReason(report TriageReport) string {
	text := "database incidents get diagnostics only, never an automatic action (runbook: Database Issues)"
	db, ok := report.Part(PartDatabase)
	if !ok || db.Error != "" {
		return text + "; " + partProblem(db, ok, "the RDS diagnostics")
	}
	return text + ": " + db.Summary
}

// partProblem says why a part of the report cannot be used.
func partProblem(p TriagePart, ok bool, what string) string {
	if !ok {
		return what + " is not in the triage report"
	}
	return what + " could not be gathered: " + p.Error
}

func factInt(p TriagePart, key string) (int, bool) {
	n, err := strconv.Atoi(p.Facts[key])
	return n, err == nil
}

func factFloat(p TriagePart, key string) (float64, bool) {
	f, err := strconv.ParseFloat(p.Facts[key], 64)
	return f, err == nil
}

func factTime(p TriagePart, key string) (time.Time, bool) {
	t, err := time.Parse(time.RFC3339, p.Facts[key])
	return t, err == nil
}

// VerifyRemediation ends a remediation's verification at now: succeeded
// when the incident's signal has recovered, unverified when a responder
// resolved the incident first, failed when the window ended with the
// signal still firing; escalate reports that the incident must then
// escalate one level. It returns the state and the outcome in words.
func VerifyRemediation(inc Incident, r Remediation, now time.Time) (state RemediationState, outcome string, escalate bool) {
	recovered := inc.SignalState == Recovered
	switch {
	case recovered && inc.SignalAt.Before(r.ActedAt):
		return RemedySucceeded, fmt.Sprintf("the signal had recovered at %s and stayed so", inc.SignalAt.UTC().Format("15:04:05")), false
	case recovered:
		return RemedySucceeded, fmt.Sprintf("the signal recovered at %s, %s after the action", inc.SignalAt.UTC().Format("15:04:05"), inc.SignalAt.Sub(r.ActedAt).Round(time.Second)), false
	case inc.Status == Resolved:
		return RemedyUnverified, fmt.Sprintf("%s resolved the incident before the verification window ended and the signal had not recovered", inc.ResolvedBy), false
	case now.Before(r.VerifyUntil):
		return RemedyVerifying, "", false
	}
	return RemedyFailed, fmt.Sprintf("did not help: the signal was still %s when the verification window of %s ended at %s",
		inc.SignalState, r.VerifyUntil.Sub(r.ActedAt).Round(time.Second), r.VerifyUntil.UTC().Format("15:04:05")), true
}
