package remediation

import (
	"context"
	"fmt"
	"time"

	"github.com/dashboarduz/incident-response/shared/awserr"
	"github.com/dashboarduz/incident-response/shared/incident"
)

// expire leaves a remediation that waited for approval undone: nobody
// approved it in time, or the incident was resolved first.
func (r *run) expire(ctx context.Context, inc incident.Incident, rem incident.Remediation) (incident.Incident, error) {
	why := fmt.Sprintf("nobody approved it by %s", clock(rem.ApprovalExpires))
	if inc.Status == incident.Resolved {
		why = "the incident was resolved before anyone approved it"
	}
	return r.end(ctx, inc, rem, inState(incident.RemedyAwaiting), incident.RemedyExpired, "expired", why)
}

// verify ends a verification: the signal recovered (succeeded), a
// responder resolved the incident first (unverified), or the window
// ended with the signal still firing (failed): the incident then
// escalates one level, as a responder asking for more expertise would,
// and the failure keeps any later decision from taking the same action
// again.
func (r *run) verify(ctx context.Context, inc incident.Incident, rem incident.Remediation) (incident.Incident, error) {
	stored, _, err := r.record(ctx, inc, rem, inState(incident.RemedyVerifying), func(cur *incident.Incident, x *incident.Remediation) []incident.Entry {
		state, outcome, escalate := incident.VerifyRemediation(*cur, *x, r.now)
		if state == incident.RemedyVerifying {
			return nil
		}
		x.State, x.Outcome, x.At = state, outcome, r.now
		var entries []incident.Entry
		switch state {
		case incident.RemedySucceeded:
			entries = append(entries, r.entry(cur, x, "verified", fmt.Sprintf("Remediation verified: %s helped: %s.", x.Describe(), outcome)))
		case incident.RemedyUnverified:
			entries = append(entries, r.entry(cur, x, "unverified", fmt.Sprintf("Remediation unverified: %s: %s.", x.Describe(), outcome)))
		default:
			text := fmt.Sprintf("Remediation failed: %s %s. No second automatic %s follows.", x.Describe(), outcome, x.Action)
			var request *incident.Entry
			if escalate {
				var note string
				request, note = r.escalate(cur, *x)
				text += " " + note
			}
			entries = append(entries, r.entry(cur, x, "failed", text))
			if request != nil {
				entries = append(entries, *request)
			}
		}
		return entries
	})
	return stored, err
}

// escalate asks for the next level above the highest reached, as a
// responder's request for more expertise does; it returns the request's
// timeline entry, if one was made, and a note for the remediation's.
func (r *run) escalate(cur *incident.Incident, rem incident.Remediation) (*incident.Entry, string) {
	reason := fmt.Sprintf("%s of %s did not help", rem.Action, rem.Service)
	req, err := cur.RequestEscalation(r.h.Escalation, "", Actor, reason, r.now)
	if err != nil {
		return nil, "The incident could not escalate: " + incident.ErrorMessage(err) + "."
	}
	l, _ := r.h.Escalation.Level(req.Level)
	e := incident.Entry{
		ID: incident.RemediationEntryID(rem, req.At, "escalated"), At: req.At, Kind: incident.EntryEscalated, Actor: Actor,
		Text: fmt.Sprintf("%s asked for more expertise: escalating to %s (level %d, %s): %s.", Actor, l.Title, req.Level, l.Name, reason),
		Data: map[string]string{"level": fmt.Sprint(req.Level), "levelName": l.Name},
	}
	cur.Announce(e.ID)
	return &e, fmt.Sprintf("Escalating one level, to %s.", l.Title)
}

// undo puts a made remediation back once the incident is resolved:
// maintenance mode off; a scale back to the count before, once the
// queue has drained (when the rule asks), unless someone has changed
// the count since. The kill switch leaves it as it is, to be put back by
// hand.
func (r *run) undo(ctx context.Context, inc incident.Incident, rem incident.Remediation) (incident.Incident, error) {
	ks, err := r.killSwitchState(ctx)
	if err != nil {
		return incident.Incident{}, err
	}
	if ks.On {
		return r.undone(ctx, inc, rem, incident.UndoSkipped, fmt.Sprintf("%s; put it back by hand: %s", ks.Refusal(), undoHint(rem)))
	}
	if rem.Action == incident.ActionMaintenance {
		return r.maintenanceOff(ctx, inc, rem)
	}
	if rem.Action != incident.ActionScale {
		return r.undone(ctx, inc, rem, incident.UndoSkipped, "nothing to put back")
	}
	if waiting, ok := r.drained(ctx, inc, rem); !ok {
		return r.waitForDrain(ctx, inc, rem, waiting)
	}
	return r.scaleBack(ctx, inc, rem)
}

func undoHint(rem incident.Remediation) string {
	if rem.Action == incident.ActionMaintenance {
		return "switch " + rem.Parameter + " off"
	}
	return fmt.Sprintf("scale %s back to %d", rem.Service, rem.From)
}

// drained reports whether fewer jobs than the rule's threshold wait in
// the queues, and what the figure said; a remediation without a
// threshold is drained at once. Without a queue reader, or when it
// fails, the incident's signal decides: recovered is drained.
func (r *run) drained(ctx context.Context, inc incident.Incident, rem incident.Remediation) (string, bool) {
	if rem.DrainedBelow <= 0 {
		return "", true
	}
	if r.h.Queues != nil {
		n, source, err := r.h.Queues.Waiting(ctx, rem.Service)
		if err == nil {
			return fmt.Sprintf("%d jobs waiting (%s)", n, source), n < rem.DrainedBelow
		}
		if inc.SignalState != incident.Recovered {
			return "the queue figures could not be read: " + err.Error(), false
		}
	}
	return fmt.Sprintf("the incident's signal is %s", inc.SignalState), inc.SignalState == incident.Recovered
}

// waitForDrain looks again later, until the rule's give-up time after
// the resolution; the timeline hears of the first wait and of giving up.
func (r *run) waitForDrain(ctx context.Context, inc incident.Incident, rem incident.Remediation, waiting string) (incident.Incident, error) {
	return r.postponeUndo(ctx, inc, rem, fmt.Sprintf("the queue did not drain below %d", rem.DrainedBelow), waiting,
		fmt.Sprintf("%s stays at %d until the queue drains below %d: %s; looking again every %s.", rem.Service, rem.To, rem.DrainedBelow, waiting, undoRecheck))
}

// undoFailed tries putting back again later when AWS may do it then,
// and gives up at once when AWS refuses.
func (r *run) undoFailed(ctx context.Context, inc incident.Incident, rem incident.Remediation, err error) (incident.Incident, error) {
	if !awserr.Retryable(err) {
		return r.undone(ctx, inc, rem, incident.UndoSkipped, fmt.Sprintf("putting it back failed: %s; %s", err, undoHint(rem)))
	}
	why := "putting it back failed for now: " + err.Error()
	return r.postponeUndo(ctx, inc, rem, "it could not be put back", why, fmt.Sprintf("Remediation not put back yet: %s; trying again every %s.", why, undoRecheck))
}

// postponeUndo looks again in undoRecheck, or gives up (with what) once
// the give-up time after the resolution has passed. Only the first
// postponement is on the timeline.
func (r *run) postponeUndo(ctx context.Context, inc incident.Incident, rem incident.Remediation, what, why, firstText string) (incident.Incident, error) {
	giveUp := rem.UndoGiveUp.D()
	if giveUp <= 0 {
		giveUp = 24 * time.Hour
	}
	if !r.now.Before(inc.ResolvedAt.Add(giveUp)) {
		return r.undone(ctx, inc, rem, incident.UndoSkipped, fmt.Sprintf("%s within %s of the resolution (%s); %s", what, giveUp, why, undoHint(rem)))
	}
	stored, _, err := r.record(ctx, inc, rem, undoPending, func(cur *incident.Incident, x *incident.Remediation) []incident.Entry {
		first := x.UndoState != incident.UndoWaiting
		x.UndoState, x.UndoAt, x.UndoOutcome = incident.UndoWaiting, r.now.Add(undoRecheck), why
		if !first {
			return nil
		}
		return []incident.Entry{r.entry(cur, x, "undo-waiting", firstText)}
	})
	return stored, err
}

// undoPending expects an undo that is not over.
func undoPending(x incident.Remediation) bool {
	return x.UndoState != incident.UndoDone && x.UndoState != incident.UndoSkipped
}

// scaleBack scales the service back to the count it had, within its
// bounds, unless someone changed the count since.
func (r *run) scaleBack(ctx context.Context, inc incident.Incident, rem incident.Remediation) (incident.Incident, error) {
	if r.h.ECS == nil {
		return r.undone(ctx, inc, rem, incident.UndoSkipped, "no ECS client is configured; "+undoHint(rem))
	}
	to := rem.From
	if r.h.Policy != nil {
		if t, ok := r.h.Policy.Target(rem.Service); ok {
			to = max(to, t.MinCount)
		}
	}
	st, err := r.h.ECS.ServiceState(ctx, rem.Cluster, rem.Service)
	if err != nil {
		return r.undoFailed(ctx, inc, rem, err)
	}
	if st.Desired != rem.To {
		return r.undone(ctx, inc, rem, incident.UndoSkipped, fmt.Sprintf("%s now wants %d tasks, not the %d this remediation set: someone changed it since, so it is left as it is", rem.Service, st.Desired, rem.To))
	}
	if _, err := r.h.ECS.Scale(ctx, rem.Cluster, rem.Service, to); err != nil {
		return r.undoFailed(ctx, inc, rem, err)
	}
	why := "the incident is resolved"
	if rem.DrainedBelow > 0 {
		why += " and the queue has drained"
	}
	return r.undone(ctx, inc, rem, incident.UndoDone, fmt.Sprintf("scaled %s back %d -> %d: %s", rem.Service, rem.To, to, why))
}

// maintenanceOff switches maintenance mode off after the resolution.
func (r *run) maintenanceOff(ctx context.Context, inc incident.Incident, rem incident.Remediation) (incident.Incident, error) {
	if r.h.Parameters == nil {
		return r.undone(ctx, inc, rem, incident.UndoSkipped, "no SSM client is configured; "+undoHint(rem))
	}
	if _, err := r.h.Parameters.Set(ctx, rem.Parameter, false); err != nil {
		return r.undoFailed(ctx, inc, rem, err)
	}
	return r.undone(ctx, inc, rem, incident.UndoDone, fmt.Sprintf("switched maintenance mode off (%s): the incident is resolved", rem.Parameter))
}

// undone ends an undo, done or skipped, with the timeline entry.
func (r *run) undone(ctx context.Context, inc incident.Incident, rem incident.Remediation, state incident.UndoState, outcome string) (incident.Incident, error) {
	stored, _, err := r.record(ctx, inc, rem, undoPending, func(cur *incident.Incident, x *incident.Remediation) []incident.Entry {
		x.UndoState, x.UndoOutcome, x.UndoAt = state, outcome, r.now
		phase, text := "undone", "Remediation put back: "+outcome+"."
		if state == incident.UndoSkipped {
			phase, text = "undo-skipped", "Remediation not put back: "+outcome+"."
		}
		return []incident.Entry{r.entry(cur, x, phase, text)}
	})
	return stored, err
}
