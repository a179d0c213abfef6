// Package postmortem is the runbook's post-incident step: "Schedule within
// 48 hours, document timeline, identify root cause, create action items,
// update runbooks". It holds the post-mortem of a resolved incident (its
// due time, status and action items, changed by pure functions that take
// an incident.Clock) and the Markdown draft generated from the incident,
// its timeline and the escalation policy. The reminders follow from the
// incident alone (incident.DueReminders), so they are not kept here.
//
// Like shared/incident it imports no AWS package; storage and the API
// adapt it.
package postmortem

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/dashboarduz/incident-response/shared/incident"
)

// Status is where a post-mortem stands.
type Status string

// The statuses.
const (
	// Due: not completed, and its due time has not passed.
	Due Status = "due"
	// Overdue: not completed, and its due time has passed.
	Overdue Status = "overdue"
	// Completed: the review took place and was recorded.
	Completed Status = "completed"
)

// ItemStatus is where an action item stands.
type ItemStatus string

// The action-item statuses.
const (
	ItemOpen   ItemStatus = "open"
	ItemClosed ItemStatus = "closed"
)

// Limits on what responders type, so a stored post-mortem stays small.
const (
	MaxTitle = 200
	MaxOwner = 200
	MaxItems = 100
)

// PostMortem is the review of one resolved incident.
type PostMortem struct {
	IncidentID string `json:"incidentId"`
	// ResolvedAt is the resolution it reviews; DueAt is
	// incident.PostMortemWithin after it.
	ResolvedAt  time.Time    `json:"resolvedAt"`
	DueAt       time.Time    `json:"dueAt"`
	CompletedAt time.Time    `json:"completedAt,omitzero"`
	CompletedBy string       `json:"completedBy,omitempty"`
	ActionItems []ActionItem `json:"actionItems,omitempty"`
	// Version counts the stored post-mortem's writes; every update is
	// conditional on it. Storage keeps it beside the document.
	Version int64 `json:"-"`
}

// ActionItem is one thing to do so the incident does not happen again.
type ActionItem struct {
	// ID is "AI-1", "AI-2", ... in order of creation; items are never
	// deleted, so an ID is never reused.
	ID    string `json:"id"`
	Title string `json:"title"`
	Owner string `json:"owner,omitempty"`
	// AssignedAt is when the current owner was given it.
	AssignedAt time.Time  `json:"assignedAt,omitzero"`
	DueAt      time.Time  `json:"dueAt,omitzero"`
	Status     ItemStatus `json:"status"`
	// CreatedAt and CreatedBy say who added it; ClosedAt and ClosedBy who
	// closed it.
	CreatedAt time.Time `json:"createdAt"`
	CreatedBy string    `json:"createdBy"`
	ClosedAt  time.Time `json:"closedAt,omitzero"`
	ClosedBy  string    `json:"closedBy,omitempty"`
}

// NewActionItem is a request to add an action item.
type NewActionItem struct {
	Title string    `json:"title"`
	Owner string    `json:"owner,omitempty"`
	DueAt time.Time `json:"dueAt,omitzero"`
}

// Schedule returns the post-mortem of a resolved incident, due when the
// incident says (Incident.PostMortemDue, which its reminders follow too).
// A re-opened and resolved-again incident is scheduled from its latest
// resolution.
func Schedule(inc incident.Incident) (PostMortem, error) {
	if inc.Status != incident.Resolved || inc.ResolvedAt.IsZero() {
		return PostMortem{}, incident.Errorf(incident.EConflict, "incident %s is %s: a post-mortem follows its resolution", inc.ID, inc.Status)
	}
	return PostMortem{IncidentID: inc.ID, ResolvedAt: inc.ResolvedAt.UTC(), DueAt: inc.PostMortemDue().UTC()}, nil
}

// StatusAt returns the post-mortem's status at time now.
func (pm PostMortem) StatusAt(now time.Time) Status {
	switch {
	case !pm.CompletedAt.IsZero():
		return Completed
	case !now.Before(pm.DueAt):
		return Overdue
	}
	return Due
}

// Item returns the action item with the ID id.
func (pm PostMortem) Item(id string) (ActionItem, bool) {
	i := pm.itemIndex(id)
	if i < 0 {
		return ActionItem{}, false
	}
	return pm.ActionItems[i], true
}

func (pm PostMortem) itemIndex(id string) int {
	return slices.IndexFunc(pm.ActionItems, func(a ActionItem) bool { return strings.EqualFold(a.ID, id) })
}

// clone copies pm's action items, so the functions below never change
// their argument.
func (pm PostMortem) clone() PostMortem {
	pm.ActionItems = slices.Clone(pm.ActionItems)
	return pm
}

// AddActionItem returns pm with a new open action item, and the item.
// The title is required; the owner and the due time may come later, but
// a due time must not be in the past.
func AddActionItem(pm PostMortem, n NewActionItem, by string, clock incident.Clock) (PostMortem, ActionItem, error) {
	now := clock.Now().UTC()
	title, owner := strings.TrimSpace(n.Title), strings.TrimSpace(n.Owner)
	switch {
	case title == "":
		return pm, ActionItem{}, incident.FieldErrorf("title", "an action item needs a title")
	case utf8.RuneCountInString(title) > MaxTitle:
		return pm, ActionItem{}, incident.FieldErrorf("title", "title is longer than %d characters", MaxTitle)
	case utf8.RuneCountInString(owner) > MaxOwner:
		return pm, ActionItem{}, incident.FieldErrorf("owner", "owner is longer than %d characters", MaxOwner)
	case !n.DueAt.IsZero() && n.DueAt.Before(now):
		return pm, ActionItem{}, incident.FieldErrorf("dueAt", "dueAt %s is in the past", n.DueAt.UTC().Format(time.RFC3339))
	case len(pm.ActionItems) >= MaxItems:
		return pm, ActionItem{}, incident.Errorf(incident.EConflict, "the post-mortem has %d action items, the most it may have", MaxItems)
	}
	item := ActionItem{
		ID:        fmt.Sprintf("AI-%d", len(pm.ActionItems)+1),
		Title:     title,
		Owner:     owner,
		Status:    ItemOpen,
		CreatedAt: now,
		CreatedBy: by,
	}
	if owner != "" {
		item.AssignedAt = now
	}
	if !n.DueAt.IsZero() {
		item.DueAt = n.DueAt.UTC()
	}
	pm = pm.clone()
	pm.ActionItems = append(pm.ActionItems, item)
	return pm, item, nil
}

// Assignment gives an action item an owner and, optionally, a due time:
// completing the post-mortem needs both on every open item, and an item
// added without a due time gets one here.
type Assignment struct {
	Owner string
	DueAt time.Time
}

// Assign returns pm with the open action item id given to a.Owner, and due
// at a.DueAt when that is set (it must not be in the past). An assignment
// that changes nothing is a conflict.
func Assign(pm PostMortem, id string, a Assignment, clock incident.Clock) (PostMortem, ActionItem, error) {
	now := clock.Now().UTC()
	owner := strings.TrimSpace(a.Owner)
	switch {
	case owner == "":
		return pm, ActionItem{}, incident.FieldErrorf("owner", "owner is required")
	case utf8.RuneCountInString(owner) > MaxOwner:
		return pm, ActionItem{}, incident.FieldErrorf("owner", "owner is longer than %d characters", MaxOwner)
	case !a.DueAt.IsZero() && a.DueAt.Before(now):
		return pm, ActionItem{}, incident.FieldErrorf("dueAt", "dueAt %s is in the past", a.DueAt.UTC().Format(time.RFC3339))
	}
	i, err := openItem(pm, id)
	if err != nil {
		return pm, ActionItem{}, err
	}
	cur := pm.ActionItems[i]
	if cur.Owner == owner && (a.DueAt.IsZero() || a.DueAt.Equal(cur.DueAt)) {
		return pm, ActionItem{}, incident.Errorf(incident.EConflict, "action item %s is already assigned to %s", cur.ID, owner)
	}
	pm = pm.clone()
	if cur.Owner != owner {
		pm.ActionItems[i].Owner, pm.ActionItems[i].AssignedAt = owner, now
	}
	if !a.DueAt.IsZero() {
		pm.ActionItems[i].DueAt = a.DueAt.UTC()
	}
	return pm, pm.ActionItems[i], nil
}

// CloseActionItem returns pm with the action item id closed by by.
func CloseActionItem(pm PostMortem, id, by string, clock incident.Clock) (PostMortem, ActionItem, error) {
	i, err := openItem(pm, id)
	if err != nil {
		return pm, ActionItem{}, err
	}
	pm = pm.clone()
	pm.ActionItems[i].Status = ItemClosed
	pm.ActionItems[i].ClosedAt, pm.ActionItems[i].ClosedBy = clock.Now().UTC(), by
	return pm, pm.ActionItems[i], nil
}

// openItem finds the open action item id.
func openItem(pm PostMortem, id string) (int, error) {
	i := pm.itemIndex(id)
	if i < 0 {
		return -1, incident.Errorf(incident.ENotFound, "the post-mortem of %s has no action item %s", pm.IncidentID, id)
	}
	if pm.ActionItems[i].Status == ItemClosed {
		return -1, incident.Errorf(incident.EConflict, "action item %s is closed", pm.ActionItems[i].ID)
	}
	return i, nil
}

// Complete returns pm completed by by. Every open action item must have
// an owner and a due time by then: an action nobody owns is the one that
// never happens. Action items may still be added, assigned and closed
// afterwards; they outlive the review.
func Complete(pm PostMortem, by string, clock incident.Clock) (PostMortem, error) {
	if !pm.CompletedAt.IsZero() {
		return pm, incident.Errorf(incident.EConflict, "the post-mortem of %s was completed at %s by %s", pm.IncidentID, pm.CompletedAt.Format(time.RFC3339), pm.CompletedBy)
	}
	for _, a := range pm.ActionItems {
		if a.Status != ItemOpen {
			continue
		}
		if a.Owner == "" {
			return pm, incident.FieldErrorf("actionItems", "action item %s (%s) has no owner; assign it before completing the post-mortem", a.ID, a.Title)
		}
		if a.DueAt.IsZero() {
			return pm, incident.FieldErrorf("actionItems", "action item %s (%s) has no due date", a.ID, a.Title)
		}
	}
	pm = pm.clone()
	pm.CompletedAt, pm.CompletedBy = clock.Now().UTC(), by
	return pm, nil
}

// EntryCompleted is the kind of the timeline entry that records the
// post-mortem's completion.
const EntryCompleted incident.EntryKind = "post-mortem-completed"
