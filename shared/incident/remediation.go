package incident

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// RemediationAction names one of the runbook's remediations.
type RemediationAction string

// The remediations: the runbook's Mitigation and Common Incidents
// actions that a machine may take, and "none" for a decision that found
// nothing to do (a database incident gets diagnostics only).
const (
	// ActionRestart forces a new deployment of an ECS service: the
	// runbook's "restart service if needed".
	ActionRestart RemediationAction = "restart"
	// ActionRollback switches an ECS service to the previous revision of
	// its task definition: "rollback if recent deployment".
	ActionRollback RemediationAction = "rollback"
	// ActionScale sets an ECS service's desired count within bounds:
	// "scale workers if needed", "scale services if needed".
	ActionScale RemediationAction = "scale"
	// ActionMaintenance switches the application's maintenance mode on
	// (an SSM parameter), and off again once the incident is resolved:
	// "enable maintenance mode if necessary". It always waits for
	// approval.
	ActionMaintenance RemediationAction = "maintenance-mode"
	// ActionNone records a decision that took no action, and why.
	ActionNone RemediationAction = "none"
)

// RemediationActions lists the actions a remediation can take.
var RemediationActions = []RemediationAction{ActionRestart, ActionRollback, ActionScale, ActionMaintenance}

// ParseRemediationAction returns the action named s.
func ParseRemediationAction(s string) (RemediationAction, error) {
	for _, a := range RemediationActions {
		if string(a) == s {
			return a, nil
		}
	}
	return "", FieldErrorf("action", "action %q is not one of restart, rollback, scale, maintenance-mode", s)
}

// RemediationState is where a remediation stands.
type RemediationState string

// The remediation states. A decision is none, refused, dry-run,
// awaiting-approval or ready; an approval makes it ready, a rejection or
// an expiry ends it; a ready one is claimed in the ledger before it is
// made, then verified (or, for maintenance mode, applied).
const (
	// RemedyNone: the decision found nothing to do; Reason says why.
	RemedyNone RemediationState = "none"
	// RemedyRefused: a guard rail refused it (allow-list, bounds, budget,
	// kill switch, an earlier failure); Reason says which.
	RemedyRefused RemediationState = "refused"
	// RemedyDryRun: what would have been done is recorded; nothing was.
	RemedyDryRun RemediationState = "dry-run"
	// RemedyAwaiting: a risky action waits for a commander's approval
	// until ApprovalExpires.
	RemedyAwaiting RemediationState = "awaiting-approval"
	// RemedyRejected: a commander rejected it.
	RemedyRejected RemediationState = "rejected"
	// RemedyExpired: nobody approved it in time, or the incident was
	// resolved first; it was left undone.
	RemedyExpired RemediationState = "expired"
	// RemedyReady: decided (or approved) and to be made now.
	RemedyReady RemediationState = "ready"
	// RemedyClaimed: claimed in the ledger until LeaseUntil and being
	// made; a claim whose lease ran out is taken over by the next
	// attempt, which the adapters make idempotent.
	RemedyClaimed RemediationState = "claimed"
	// RemedyVerifying: made; the incident's signal must recover by
	// VerifyUntil.
	RemedyVerifying RemediationState = "verifying"
	// RemedySucceeded: the signal recovered after it was made.
	RemedySucceeded RemediationState = "succeeded"
	// RemedyFailed: it did not help (the signal had not recovered when
	// verification ended), or it could not be made; Outcome says which.
	RemedyFailed RemediationState = "failed"
	// RemedyUnverified: a responder resolved the incident before the
	// verification window ended and the signal had not recovered.
	RemedyUnverified RemediationState = "unverified"
	// RemedyApplied: made, with nothing to verify (maintenance mode is
	// on; it goes off when the incident is resolved).
	RemedyApplied RemediationState = "applied"
)

// UndoState is where putting a remediation back stands: scaling back
// down once the incident is resolved (and the queue has drained), or
// switching maintenance mode off.
type UndoState string

// The undo states; empty means not yet due.
const (
	// UndoWaiting: due, but its condition (a drained queue) does not
	// hold yet; checked again at UndoAt.
	UndoWaiting UndoState = "waiting"
	// UndoDone: put back.
	UndoDone UndoState = "done"
	// UndoSkipped: left as it is, with the reason (someone changed the
	// service since, the kill switch is on, the queue never drained).
	UndoSkipped UndoState = "skipped"
)

// Remediation is one of the runbook's remediations for one episode of
// an incident, and its entry in the remediation ledger: what was
// decided and why, under which guard rails, and how it went. An episode
// has at most one remediation of each action, so {action} names it in
// the approval routes.
type Remediation struct {
	Action  RemediationAction `json:"action"`
	Episode int               `json:"episode"`
	State   RemediationState  `json:"state"`
	// At is when it last changed state.
	At        time.Time `json:"at"`
	DecidedAt time.Time `json:"decidedAt"`
	// Reason is why it was decided, refused or found unnecessary, in
	// the runbook's words and the triage report's figures.
	Reason string `json:"reason"`
	// Cluster and Service are the ECS service acted on, which may differ
	// from the incident's own service (a queue backlog scales the
	// workers).
	Cluster string `json:"cluster,omitempty"`
	Service string `json:"service,omitempty"`
	// From and To are the desired counts of a scale; From is the count
	// the triage report saw until the scale reports the real one.
	From int32 `json:"from,omitempty"`
	To   int32 `json:"to,omitempty"`
	// RollbackFrom and RollbackTo are the task definitions of a planned
	// rollback.
	RollbackFrom string `json:"rollbackFrom,omitempty"`
	RollbackTo   string `json:"rollbackTo,omitempty"`
	// Parameter is the SSM parameter maintenance mode switches.
	Parameter string `json:"parameter,omitempty"`
	// DryRun is set when only what would be done was recorded.
	DryRun bool `json:"dryRun,omitempty"`
	// ApprovalExpires is when an unapproved remediation is left undone.
	ApprovalExpires time.Time `json:"approvalExpires,omitzero"`
	// DecidedBy is the commander who approved or rejected it.
	DecidedBy string `json:"decidedBy,omitempty"`
	// Attempts counts the claims; ClaimedAt is the first one's time,
	// which the ECS adapter uses to recognise its own deployment after
	// an unknown outcome; LeaseUntil is when a claim may be taken over.
	Attempts   int       `json:"attempts,omitempty"`
	ClaimedAt  time.Time `json:"claimedAt,omitzero"`
	LeaseUntil time.Time `json:"leaseUntil,omitzero"`
	// ActedAt is when the action was made; zero while it was not.
	ActedAt time.Time `json:"actedAt,omitzero"`
	// Result says what AWS did, e.g. the deployment it started.
	Result string `json:"result,omitempty"`
	// VerifyUntil ends the verification window.
	VerifyUntil time.Time `json:"verifyUntil,omitzero"`
	// Outcome says how it ended: verified, did not help, could not be
	// made.
	Outcome string `json:"outcome,omitempty"`
	// Undo is set when the action is put back once the incident is
	// resolved, UndoAfter later; DrainedBelow, when positive, also waits
	// for fewer jobs than that in the queues; UndoGiveUp bounds the
	// wait after the resolution.
	Undo         bool      `json:"undo,omitempty"`
	UndoAfter    Duration  `json:"undoAfter,omitempty"`
	DrainedBelow int       `json:"drainedBelow,omitempty"`
	UndoGiveUp   Duration  `json:"undoGiveUp,omitempty"`
	UndoState    UndoState `json:"undoState,omitempty"`
	UndoAt       time.Time `json:"undoAt,omitzero"`
	UndoOutcome  string    `json:"undoOutcome,omitempty"`
}

// Made reports whether the action was made (and may need putting back).
func (r Remediation) Made() bool { return !r.ActedAt.IsZero() }

// Key identifies the remediation within its incident.
func (r Remediation) Key() string { return fmt.Sprintf("%d/%s", r.Episode, r.Action) }

// Describe says what the remediation does, in the words of a dry run's
// record ("scale dashboarduz-worker 2 -> 4").
func (r Remediation) Describe() string {
	switch r.Action {
	case ActionRestart:
		return fmt.Sprintf("restart %s (a new ECS deployment)", r.Service)
	case ActionRollback:
		if r.RollbackTo == "" {
			return fmt.Sprintf("roll back %s to the previous task definition", r.Service)
		}
		return fmt.Sprintf("roll back %s from %s to %s", r.Service, shortTaskDefinition(r.RollbackFrom), shortTaskDefinition(r.RollbackTo))
	case ActionScale:
		if r.From > 0 {
			return fmt.Sprintf("scale %s %d -> %d", r.Service, r.From, r.To)
		}
		return fmt.Sprintf("scale %s to %d", r.Service, r.To)
	case ActionMaintenance:
		return fmt.Sprintf("switch maintenance mode on (%s)", r.Parameter)
	}
	return "take no action"
}

// shortTaskDefinition is family:revision of a task definition ARN.
func shortTaskDefinition(arn string) string {
	return arn[strings.LastIndexByte(arn, '/')+1:]
}

// RemediationFor returns the remediation of that action in the episode,
// with its index in inc.Remediations.
func (inc *Incident) RemediationFor(episode int, action RemediationAction) (Remediation, int, bool) {
	for i, r := range inc.Remediations {
		if r.Episode == episode && r.Action == action {
			return r, i, true
		}
	}
	return Remediation{}, -1, false
}

// RemediationDecisionDue reports whether the current episode awaits its
// remediation decision: it is open, its triage report is gathered, and
// nothing is decided yet.
func (inc *Incident) RemediationDecisionDue() bool {
	decided := slices.ContainsFunc(inc.Remediations, func(r Remediation) bool { return r.Episode == inc.Episode })
	return inc.Status != Resolved && inc.Triage != nil && inc.Triage.Episode == inc.Episode && !decided
}

// RemediationWork is what a remediation has to do, and from when.
type RemediationWork string

// The kinds of remediation work the Remediate task does.
const (
	// WorkAct makes a ready remediation, or takes over a claim whose
	// lease ran out.
	WorkAct RemediationWork = "act"
	// WorkExpire leaves a remediation awaiting approval undone: its
	// approval expired or the incident was resolved.
	WorkExpire RemediationWork = "expire"
	// WorkVerify ends a verification: the window is over, the signal
	// recovered or the incident was resolved.
	WorkVerify RemediationWork = "verify"
	// WorkUndo puts a made remediation back after the resolution.
	WorkUndo RemediationWork = "undo"
)

// Work returns what the remediation has to do for inc and from when; an
// empty work means nothing, now or later.
func (r Remediation) Work(inc Incident) (RemediationWork, time.Time) {
	switch r.State {
	case RemedyReady:
		return WorkAct, r.At
	case RemedyClaimed:
		return WorkAct, r.LeaseUntil
	case RemedyAwaiting:
		if inc.Status == Resolved {
			return WorkExpire, inc.ResolvedAt
		}
		return WorkExpire, r.ApprovalExpires
	case RemedyVerifying:
		if inc.Status == Resolved {
			return WorkVerify, inc.ResolvedAt
		}
		if inc.SignalState == Recovered && !inc.SignalAt.Before(r.ActedAt) {
			return WorkVerify, inc.SignalAt
		}
		return WorkVerify, r.VerifyUntil
	}
	return r.undoWork(inc)
}

// undoWork is the undo due once the incident is resolved.
func (r Remediation) undoWork(inc Incident) (RemediationWork, time.Time) {
	if !r.Undo || !r.Made() || inc.Status != Resolved || r.UndoState == UndoDone || r.UndoState == UndoSkipped {
		return "", time.Time{}
	}
	switch r.State {
	case RemedySucceeded, RemedyFailed, RemedyUnverified, RemedyApplied:
	default:
		return "", time.Time{}
	}
	at := inc.ResolvedAt.Add(r.UndoAfter.D())
	if r.UndoState == UndoWaiting && r.UndoAt.After(at) {
		at = r.UndoAt
	}
	return WorkUndo, at
}

// DueRemediations returns the indexes in inc.Remediations of the
// remediations with work due by now, and the work.
func DueRemediations(inc Incident, now time.Time) map[int]RemediationWork {
	out := map[int]RemediationWork{}
	for i, r := range inc.Remediations {
		if w, at := r.Work(inc); w != "" && !at.After(now) {
			out[i] = w
		}
	}
	return out
}

// remediationStep is a remediate step when a remediation decision is due
// (the episode's triage report is in and nothing is decided), a ready
// remediation waits to be made, a claim's lease ran out, an approval
// expired, a verification window ended or a made remediation is due to
// be put back; it adds the times at which one will be to the wake-ups.
func remediationStep(inc Incident, now time.Time, wake *[]time.Time) (Step, bool) {
	var reasons []string
	if inc.RemediationDecisionDue() {
		reasons = append(reasons, fmt.Sprintf("the remediation of episode %d is decided once its triage report is in", inc.Episode))
	}
	for _, r := range inc.Remediations {
		w, at := r.Work(inc)
		switch {
		case w == "":
		case at.After(now):
			*wake = append(*wake, at)
		default:
			reasons = append(reasons, fmt.Sprintf("remediation %s of episode %d: %s due", r.Action, r.Episode, w))
		}
	}
	if len(reasons) == 0 {
		return Step{}, false
	}
	return Step{Action: ActRemediate, Reason: reasons[0]}, true
}

// findAwaitingApproval returns the index of the remediation of that
// action that waits for approval, the newest if several do; a missing
// one is ENotFound and one in another state EConflict, each saying why.
func (inc *Incident) findAwaitingApproval(action RemediationAction, now time.Time) (int, error) {
	found := -1
	for i, r := range inc.Remediations {
		if r.Action == action && (found < 0 || r.Episode >= inc.Remediations[found].Episode) {
			found = i
		}
	}
	if found < 0 {
		return -1, Errorf(ENotFound, "incident %s has no %s remediation", inc.ID, action)
	}
	r := inc.Remediations[found]
	switch {
	case r.State != RemedyAwaiting:
		return -1, Errorf(EConflict, "the %s remediation of incident %s is %s, not awaiting approval", action, inc.ID, r.State)
	case !now.Before(r.ApprovalExpires):
		return -1, Errorf(EConflict, "the approval of the %s remediation of incident %s expired at %s", action, inc.ID, r.ApprovalExpires.UTC().Format(time.RFC3339))
	case inc.Status == Resolved:
		return -1, Errorf(EConflict, "incident %s is resolved; its %s remediation is left undone", inc.ID, action)
	}
	return found, nil
}

// ApproveRemediation records a commander's approval of the remediation
// of that action that waits for it: it becomes ready, and the
// escalation's new generation makes it at once.
func (inc *Incident) ApproveRemediation(action RemediationAction, by string, now time.Time) (Remediation, error) {
	i, err := inc.findAwaitingApproval(action, now)
	if err != nil {
		return Remediation{}, err
	}
	r := &inc.Remediations[i]
	r.State, r.At, r.DecidedBy = RemedyReady, now.UTC(), by
	inc.Generation++
	return *r, nil
}

// RejectRemediation records a commander's rejection: the remediation is
// left undone.
func (inc *Incident) RejectRemediation(action RemediationAction, by, reason string, now time.Time) (Remediation, error) {
	i, err := inc.findAwaitingApproval(action, now)
	if err != nil {
		return Remediation{}, err
	}
	r := &inc.Remediations[i]
	r.State, r.At, r.DecidedBy = RemedyRejected, now.UTC(), by
	r.Outcome = "rejected by " + by
	if reason != "" {
		r.Outcome += ": " + reason
	}
	inc.Generation++
	return *r, nil
}

// remediationPhases orders a remediation's timeline entries: entries of
// one instant sort by ID (see EntryID), and on the local virtual clock a
// decision, its action and its verification can share an instant.
var remediationPhases = map[string]string{
	"decided": "01", "approved": "02", "rejected": "02", "attempt": "03", "made": "04", "refused": "05", "expired": "05",
	"verified": "06", "unverified": "06", "failed": "06", "escalated": "07", "undo-waiting": "08", "undone": "09", "undo-skipped": "09",
}

// RemediationEntryID is the ID of the timeline entry that records a
// remediation's change at time at; phase says which change ("decided",
// "approved", "made", "attempt-2", ...). The key sits under the
// episode's triage entry ("triage/<episode>"), so that at one instant a
// decision reads after the evidence it was made from.
func RemediationEntryID(r Remediation, at time.Time, phase string) string {
	base, _, _ := strings.Cut(phase, "-")
	if _, ok := remediationPhases[phase]; ok {
		base = phase
	}
	return EntryID(at, fmt.Sprintf("triage/%d/remediation/%s-%s/%s", r.Episode, remediationPhases[base], phase, r.Action))
}

// RemediationEntry is the timeline entry that records a remediation's
// change. Its Data holds, for announcements and the post-mortem, the
// action and the outcome in words ("action", "outcome"), the reason, and
// whether it was a dry run ("dryRun", "true" or "false"); and, for
// machines, the action's name ("remediation"), its state ("state"), the
// service, the episode and the phase.
func RemediationEntry(inc Incident, r Remediation, at time.Time, phase, actor, text string) Entry {
	action := r.Describe()
	if action != "" {
		action = strings.ToUpper(action[:1]) + action[1:]
	}
	return Entry{
		ID: RemediationEntryID(r, at, phase), At: at.UTC(), Kind: EntryRemediation, Actor: actor, Text: text,
		Data: map[string]string{
			"action": action, "outcome": r.OutcomeWords(phase), "reason": r.Reason, "dryRun": fmt.Sprint(r.DryRun),
			"remediation": string(r.Action), "state": string(r.State), "service": r.Service, "episode": fmt.Sprint(r.Episode), "phase": phase,
		},
	}
}

// OutcomeWords says where the remediation stands after the change of
// phase, in a few words for an announcement.
func (r Remediation) OutcomeWords(phase string) string {
	switch phase {
	case "undone":
		return "Put back: " + r.UndoOutcome
	case "undo-skipped":
		return "Not put back: " + r.UndoOutcome
	case "undo-waiting":
		return "Not put back yet: " + r.UndoOutcome
	}
	switch r.State {
	case RemedyNone:
		return "No automatic action"
	case RemedyDryRun:
		return "Would " + r.Describe()
	case RemedyAwaiting:
		return "Waiting for a commander's approval until " + r.ApprovalExpires.UTC().Format("15:04 MST")
	case RemedyReady:
		if r.DecidedBy != "" {
			return "Approved by " + r.DecidedBy + "; made now"
		}
		return "Made now"
	case RemedyClaimed:
		return fmt.Sprintf("Attempt %d failed for now: %s", r.Attempts, r.Outcome)
	case RemedyVerifying:
		return "Made: " + r.Result + "; verifying until " + r.VerifyUntil.UTC().Format("15:04 MST")
	case RemedyApplied:
		return "Made: " + r.Result
	case RemedySucceeded:
		return "Helped: " + r.Outcome
	}
	return strings.ToUpper(string(r.State[:1])) + string(r.State[1:]) + ": " + r.Outcome
}
