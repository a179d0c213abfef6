package response

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/dashboarduz/incident-response/shared/incident"
)

// Triage returns the triage report of the incident's current episode;
// one not gathered yet is ENotFound, saying when it will be.
func (s *Service) Triage(ctx context.Context, id string) (incident.TriageReport, error) {
	inc, err := s.Store.GetIncident(ctx, id)
	if err != nil {
		return incident.TriageReport{}, err
	}
	r, err := s.Store.TriageReport(ctx, id, inc.Episode)
	if incident.ErrorCode(err) == incident.ENotFound {
		return incident.TriageReport{}, incident.Errorf(incident.ENotFound, "incident %s has no triage report for episode %d yet: it is gathered once the episode's first page is out", id, inc.Episode)
	}
	return r, err
}

// ApproveAction approves the incident's remediation of that action that
// waits for approval; the escalation's new generation makes it at once.
func (s *Service) ApproveAction(ctx context.Context, actor, id, action string, d ActionDecision) (incident.Incident, error) {
	return s.decideAction(ctx, actor, id, action, d, true)
}

// RejectAction rejects the incident's remediation of that action that
// waits for approval: it is left undone.
func (s *Service) RejectAction(ctx context.Context, actor, id, action string, d ActionDecision) (incident.Incident, error) {
	return s.decideAction(ctx, actor, id, action, d, false)
}

func (s *Service) decideAction(ctx context.Context, actor, id, action string, d ActionDecision, approve bool) (incident.Incident, error) {
	a, err := incident.ParseRemediationAction(action)
	if err != nil {
		return incident.Incident{}, err
	}
	now := s.Clock.Now()
	phase := "rejected"
	if approve {
		phase = "approved"
	}
	var rem incident.Remediation
	keyOf := func(r incident.Remediation) string {
		return fmt.Sprintf("remediation/%d/%s/%s", r.Episode, r.Action, phase)
	}
	note := func(inc incident.Incident) error {
		text := fmt.Sprintf("Remediation %s by %s: %s.", phase, actor, rem.Describe())
		if approve {
			text = fmt.Sprintf("Remediation approved by %s: %s; it is made now.", actor, rem.Describe())
		}
		if d.Reason != "" {
			text += " Reason: " + d.Reason
		}
		e := incident.RemediationEntry(inc, rem, now, phase, actor, text)
		e.ID = entryID(now, keyOf(rem))
		if _, err := s.Store.AppendTimeline(ctx, inc.ID, e); err != nil {
			return fmt.Errorf("%s: record the remediation %s: %w", inc.ID, phase, err)
		}
		return nil
	}
	return s.change(ctx, id, func(inc *incident.Incident) error {
		var err error
		if approve {
			rem, err = inc.ApproveRemediation(a, actor, now)
		} else {
			rem, err = inc.RejectRemediation(a, actor, d.Reason, now)
		}
		if err != nil {
			return err
		}
		announce(inc, now, keyOf(rem))
		return nil
	}, note, nil)
}

// KillSwitch returns the remediation kill switch in effect: an admin's
// setting in the table, or the deployment's default when there is none.
func (s *Service) KillSwitch(ctx context.Context) (incident.KillSwitch, error) {
	k, err := s.Store.KillSwitch(ctx)
	if incident.ErrorCode(err) == incident.ENotFound {
		return incident.KillSwitch{On: s.KillSwitchDefault, Source: "default"}, nil
	}
	return k, err
}

// killSwitchRounds bounds SetKillSwitch's retries on a concurrent change.
const killSwitchRounds = 3

// SetKillSwitch turns the remediation kill switch on or off; it stops
// (or lets resume) every automatic remediation at once, on the next
// step of each incident's escalation.
func (s *Service) SetKillSwitch(ctx context.Context, actor string, c KillSwitchChange) (incident.KillSwitch, error) {
	if c.On == nil {
		return incident.KillSwitch{}, incident.FieldErrorf("on", "on is required: true stops all automatic remediation, false lets it resume")
	}
	var err error
	for range killSwitchRounds {
		cur, rerr := s.Store.KillSwitch(ctx)
		if rerr != nil && incident.ErrorCode(rerr) != incident.ENotFound {
			return incident.KillSwitch{}, rerr
		}
		var k incident.KillSwitch
		k, err = s.Store.SetKillSwitch(ctx, incident.KillSwitch{On: *c.On, By: actor, At: s.Clock.Now(), Reason: c.Reason, Version: cur.Version})
		if err == nil {
			slog.InfoContext(ctx, "remediation kill switch set", "on", k.On, "by", actor, "reason", c.Reason)
			return k, nil
		}
		if incident.ErrorCode(err) != incident.EConflict {
			return incident.KillSwitch{}, err
		}
	}
	return incident.KillSwitch{}, err
}
