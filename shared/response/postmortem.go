package response

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/postmortem"
)

// PostMortemStore is the storage post-mortems need; shared/dynamo's Store
// implements it. An incident's post-mortem is an item of its own beside
// the incident, written with conditional writes on its version.
type PostMortemStore interface {
	incident.Updater
	AppendTimeline(ctx context.Context, incidentID string, e incident.Entry) (bool, error)
	// IncidentAndPostMortem reads both; the post-mortem is nil when none
	// is stored yet.
	IncidentAndPostMortem(ctx context.Context, id string) (incident.Incident, *postmortem.PostMortem, error)
	// IncidentReview reads the incident, its timeline and its post-mortem
	// (nil when none is stored yet).
	IncidentReview(ctx context.Context, id string) (incident.Incident, []incident.Entry, *postmortem.PostMortem, error)
	CreatePostMortem(ctx context.Context, pm postmortem.PostMortem) (postmortem.PostMortem, error)
	UpdatePostMortem(ctx context.Context, pm postmortem.PostMortem) (postmortem.PostMortem, error)
}

// PostMortems runs the runbook's post-incident step through the API: the
// post-mortem of a resolved incident, due 48 hours after its resolution,
// its Markdown draft, its action items and its completion.
//
// A post-mortem is created on its first read or change after the
// incident's resolution (the due time and the reminders follow from the
// incident alone, so nothing waits for it to exist). An incident re-opened
// and resolved again is reviewed once: a post-mortem not yet completed is
// due 48 hours after the latest resolution; a completed one stays
// completed.
type PostMortems struct {
	Store  PostMortemStore
	Policy incident.Policy
	Clock  incident.Clock
}

// PostMortemDocument is a post-mortem as the API answers it (GET
// /incidents/{id}/postmortem and every change): its status now, its due
// time and its action items.
type PostMortemDocument struct {
	IncidentID string `json:"incidentId"`
	// Status is due, overdue or completed.
	Status postmortem.Status `json:"status"`
	// ResolvedAt is the resolution reviewed; DueAt is 48 hours after it.
	ResolvedAt  time.Time               `json:"resolvedAt"`
	DueAt       time.Time               `json:"dueAt"`
	CompletedAt time.Time               `json:"completedAt,omitzero"`
	CompletedBy string                  `json:"completedBy,omitempty"`
	ActionItems []postmortem.ActionItem `json:"actionItems"`
	// Version counts the post-mortem's writes.
	Version int64 `json:"version"`
}

// ActionItemRequest adds an action item (POST
// /incidents/{id}/postmortem/action-items).
type ActionItemRequest struct {
	Title string `json:"title"`
	Owner string `json:"owner,omitempty"`
	// DueAt is a date (due by the end of that day, UTC) or an RFC 3339
	// time.
	DueAt string `json:"dueAt,omitempty"`
}

// AssignmentRequest gives an action item an owner and, optionally, a due
// date (POST /incidents/{id}/postmortem/action-items/{item}/assign).
type AssignmentRequest struct {
	Owner string `json:"owner"`
	DueAt string `json:"dueAt,omitempty"`
}

// postMortemRounds bounds the re-reads after a concurrent change to the
// same post-mortem.
const postMortemRounds = 5

func (p *PostMortems) document(pm postmortem.PostMortem) PostMortemDocument {
	d := PostMortemDocument{
		IncidentID: pm.IncidentID, Status: pm.StatusAt(p.Clock.Now()),
		ResolvedAt: pm.ResolvedAt, DueAt: pm.DueAt, CompletedAt: pm.CompletedAt, CompletedBy: pm.CompletedBy,
		ActionItems: pm.ActionItems, Version: pm.Version,
	}
	if d.ActionItems == nil {
		d.ActionItems = []postmortem.ActionItem{}
	}
	return d
}

// current returns the post-mortem of inc: the stored one, rescheduled
// from the latest resolution when the incident was resolved again before
// it was completed, or, when none is stored, a new one (created bool). An
// incident that was never resolved has none: ENotFound.
func current(inc incident.Incident, stored *postmortem.PostMortem) (pm postmortem.PostMortem, created bool, err error) {
	if stored == nil {
		if inc.Status != incident.Resolved || inc.ResolvedAt.IsZero() {
			return postmortem.PostMortem{}, false, incident.Errorf(incident.ENotFound,
				"incident %s is %s and has no post-mortem: one is scheduled when it is resolved", inc.ID, inc.Status)
		}
		pm, err := postmortem.Schedule(inc)
		return pm, true, err
	}
	pm = *stored
	if pm.CompletedAt.IsZero() && inc.Status == incident.Resolved && !inc.ResolvedAt.IsZero() && !inc.ResolvedAt.Equal(pm.ResolvedAt) {
		pm.ResolvedAt, pm.DueAt = inc.ResolvedAt.UTC(), inc.PostMortemDue().UTC()
	}
	return pm, false, nil
}

// postMortemOf returns current's post-mortem of inc, stored first when
// it is new.
func (p *PostMortems) postMortemOf(ctx context.Context, inc incident.Incident, stored *postmortem.PostMortem) (postmortem.PostMortem, error) {
	pm, created, err := current(inc, stored)
	if err == nil && created {
		pm, err = p.create(ctx, pm)
	}
	return pm, err
}

// create stores a post-mortem current made; a concurrent creator's is
// read back instead.
func (p *PostMortems) create(ctx context.Context, pm postmortem.PostMortem) (postmortem.PostMortem, error) {
	stored, err := p.Store.CreatePostMortem(ctx, pm)
	if incident.ErrorCode(err) != incident.EConflict {
		return stored, err
	}
	_, other, err := p.Store.IncidentAndPostMortem(ctx, pm.IncidentID)
	if err != nil {
		return postmortem.PostMortem{}, err
	}
	if other == nil {
		return postmortem.PostMortem{}, fmt.Errorf("post-mortem of %s: created concurrently but not readable", pm.IncidentID)
	}
	return *other, nil
}

// PostMortem returns an incident's post-mortem, creating it on the first
// read after the resolution.
func (p *PostMortems) PostMortem(ctx context.Context, id string) (PostMortemDocument, error) {
	inc, stored, err := p.Store.IncidentAndPostMortem(ctx, id)
	if err != nil {
		return PostMortemDocument{}, err
	}
	pm, err := p.postMortemOf(ctx, inc, stored)
	if err != nil {
		return PostMortemDocument{}, err
	}
	return p.document(pm), nil
}

// PostMortemDraft returns the Markdown draft of an incident's post-mortem,
// generated now from the incident, its timeline, the policy and the
// post-mortem (created on the first read after the resolution).
func (p *PostMortems) PostMortemDraft(ctx context.Context, id string) ([]byte, error) {
	inc, timeline, stored, err := p.Store.IncidentReview(ctx, id)
	if err != nil {
		return nil, err
	}
	pm, err := p.postMortemOf(ctx, inc, stored)
	if err != nil {
		return nil, err
	}
	return postmortem.Draft(postmortem.DraftInput{Incident: inc, Timeline: timeline, Policy: p.Policy, PostMortem: pm}, p.Clock)
}

// change applies op to the incident's post-mortem and stores the result
// on condition of its version, re-reading and re-applying it when another
// writer changed it meanwhile. op's own errors end it at once.
func (p *PostMortems) change(ctx context.Context, id string, op func(incident.Incident, postmortem.PostMortem) (postmortem.PostMortem, error)) (incident.Incident, postmortem.PostMortem, error) {
	for round := range postMortemRounds {
		if round > 0 {
			if err := incident.Sleep(ctx, time.Duration(10<<round)*time.Millisecond); err != nil {
				return incident.Incident{}, postmortem.PostMortem{}, err
			}
		}
		inc, stored, err := p.Store.IncidentAndPostMortem(ctx, id)
		if err != nil {
			return incident.Incident{}, postmortem.PostMortem{}, err
		}
		pm, err := p.postMortemOf(ctx, inc, stored)
		if incident.ErrorCode(err) == incident.ENotFound {
			// Changing what cannot exist yet is a conflict with the
			// incident's state, not a missing resource.
			return incident.Incident{}, postmortem.PostMortem{}, incident.Errorf(incident.EConflict, "%s", incident.ErrorMessage(err))
		}
		if err != nil {
			return incident.Incident{}, postmortem.PostMortem{}, err
		}
		next, err := op(inc, pm)
		if err != nil {
			return inc, pm, err
		}
		stored2, err := p.Store.UpdatePostMortem(ctx, next)
		if incident.ErrorCode(err) == incident.EConflict {
			continue
		}
		return inc, stored2, err
	}
	return incident.Incident{}, postmortem.PostMortem{}, incident.Errorf(incident.EConflict,
		"the post-mortem of %s is being changed by others right now (still contended after %d attempts); try again", id, postMortemRounds)
}

// AddActionItem adds an open action item to the post-mortem.
func (p *PostMortems) AddActionItem(ctx context.Context, actor, id string, r ActionItemRequest) (PostMortemDocument, error) {
	n := postmortem.NewActionItem{Title: r.Title, Owner: r.Owner}
	if strings.TrimSpace(r.DueAt) != "" {
		due, err := postmortem.ParseDueAt(r.DueAt)
		if err != nil {
			return PostMortemDocument{}, err
		}
		n.DueAt = due
	}
	_, pm, err := p.change(ctx, id, func(_ incident.Incident, pm postmortem.PostMortem) (postmortem.PostMortem, error) {
		next, _, err := postmortem.AddActionItem(pm, n, actor, p.Clock)
		return next, err
	})
	if err != nil {
		return PostMortemDocument{}, err
	}
	return p.document(pm), nil
}

// AssignActionItem gives an open action item an owner and, optionally, a
// due date.
func (p *PostMortems) AssignActionItem(ctx context.Context, actor, id, item string, r AssignmentRequest) (PostMortemDocument, error) {
	a := postmortem.Assignment{Owner: r.Owner}
	if strings.TrimSpace(r.DueAt) != "" {
		due, err := postmortem.ParseDueAt(r.DueAt)
		if err != nil {
			return PostMortemDocument{}, err
		}
		a.DueAt = due
	}
	_, pm, err := p.change(ctx, id, func(_ incident.Incident, pm postmortem.PostMortem) (postmortem.PostMortem, error) {
		next, _, err := postmortem.Assign(pm, item, a, p.Clock)
		return next, err
	})
	if err != nil {
		return PostMortemDocument{}, err
	}
	slog.InfoContext(ctx, "action item assigned", "incidentId", id, "actionItem", item, "by", actor)
	return p.document(pm), nil
}

// CloseActionItem closes an open action item.
func (p *PostMortems) CloseActionItem(ctx context.Context, actor, id, item string) (PostMortemDocument, error) {
	_, pm, err := p.change(ctx, id, func(_ incident.Incident, pm postmortem.PostMortem) (postmortem.PostMortem, error) {
		next, _, err := postmortem.CloseActionItem(pm, item, actor, p.Clock)
		return next, err
	})
	if err != nil {
		return PostMortemDocument{}, err
	}
	return p.document(pm), nil
}

// CompletePostMortem records that the review took place: the post-mortem
// is completed, the incident is marked so (which ends its reminders), and
// the timeline says who completed it. The incident must be resolved, and
// every open action item must have an owner and a due date. Completing a
// completed post-mortem is a conflict, but finishes the marking and the
// timeline entry of an earlier call cut short after its first write.
func (p *PostMortems) CompletePostMortem(ctx context.Context, actor, id string) (PostMortemDocument, error) {
	var already *postmortem.PostMortem
	inc, pm, err := p.change(ctx, id, func(inc incident.Incident, pm postmortem.PostMortem) (postmortem.PostMortem, error) {
		if !pm.CompletedAt.IsZero() {
			already = &pm
			return postmortem.Complete(pm, actor, p.Clock) // the conflict saying when and by whom
		}
		if inc.Status != incident.Resolved {
			return pm, incident.Errorf(incident.EConflict, "incident %s is %s: its post-mortem is completed once it is resolved", inc.ID, inc.Status)
		}
		return postmortem.Complete(pm, actor, p.Clock)
	})
	if err != nil {
		if already != nil {
			if herr := p.markCompleted(ctx, inc, *already); herr != nil {
				slog.ErrorContext(ctx, "complete an earlier completion's marking", "incidentId", id, "error", herr)
			}
		}
		return PostMortemDocument{}, err
	}
	if err := p.markCompleted(ctx, inc, pm); err != nil {
		return PostMortemDocument{}, fmt.Errorf("post-mortem of %s completed; marking the incident: %w", id, err)
	}
	return p.document(pm), nil
}

// markCompleted sets the incident's PostMortemCompleted with a
// conditional update, then writes the completion's timeline entry, keyed
// by its time so a repeat changes nothing.
func (p *PostMortems) markCompleted(ctx context.Context, inc incident.Incident, pm postmortem.PostMortem) error {
	if _, err := incident.Update(ctx, p.Store, inc, func(inc *incident.Incident) bool {
		if inc.PostMortemCompleted {
			return false
		}
		inc.PostMortemCompleted = true
		return true
	}); err != nil {
		return err
	}
	open := 0
	for _, a := range pm.ActionItems {
		if a.Status == postmortem.ItemOpen {
			open++
		}
	}
	text := fmt.Sprintf("Post-mortem completed by %s (due %s): %d action items, %d open.", pm.CompletedBy, pm.DueAt.UTC().Format(time.RFC3339), len(pm.ActionItems), open)
	_, err := p.Store.AppendTimeline(ctx, inc.ID, incident.Entry{
		ID: entryID(pm.CompletedAt, "postmortem/completed"), At: pm.CompletedAt, Kind: postmortem.EntryCompleted,
		Actor: pm.CompletedBy, Text: text,
		Data: map[string]string{"actionItems": fmt.Sprint(len(pm.ActionItems)), "openActionItems": fmt.Sprint(open)},
	})
	if err != nil {
		return fmt.Errorf("%s: record the post-mortem's completion: %w", inc.ID, err)
	}
	return nil
}
