package incident

import (
	"fmt"
	"slices"
	"time"
)

// MaintenanceWindow is a planned period during which a service's signals
// are recorded but nobody is paged. Pages held by a window go out when it
// ends, if the incident still needs them.
type MaintenanceWindow struct {
	ID        string    `json:"id"`
	Service   string    `json:"service"`
	Start     time.Time `json:"start"`
	End       time.Time `json:"end"`
	Reason    string    `json:"reason"`
	CreatedBy string    `json:"createdBy"`
	CreatedAt time.Time `json:"createdAt"`
	// EndedBy is who ended the window before its planned end, if anyone.
	EndedBy string `json:"endedBy,omitempty"`
}

// Covers reports whether the window holds pages for service at time t.
func (w MaintenanceWindow) Covers(service string, t time.Time) bool {
	return w.Service == service && !t.Before(w.Start) && t.Before(w.End)
}

// SelfService is the service of the incident-response system's own
// alarms (failed escalations, rejected pages, dead letters): no
// maintenance window may silence them.
const SelfService = "incident-response"

// Validate checks a window before it is stored.
func (w MaintenanceWindow) Validate() error {
	switch {
	case w.Service == "":
		return FieldErrorf("service", "service is required")
	case w.Service == SelfService:
		return FieldErrorf("service", "the %s service pages about paging itself; no maintenance window may hold its pages", SelfService)
	case w.Start.IsZero():
		return FieldErrorf("start", "start is required")
	case w.End.IsZero():
		return FieldErrorf("end", "end is required")
	case !w.End.After(w.Start):
		return FieldErrorf("end", "end %s is not after start %s", w.End.Format(time.RFC3339), w.Start.Format(time.RFC3339))
	case w.End.Sub(w.Start) > MaxMaintenanceWindow:
		return FieldErrorf("end", "a maintenance window may last at most %s", MaxMaintenanceWindow)
	}
	return nil
}

// Bounds on maintenance windows, so that neither a typo in a year nor
// windows chained one after another can silence a service for long.
const (
	// MaxMaintenanceWindow is the longest one window may last.
	MaxMaintenanceWindow = 7 * 24 * time.Hour
	// MaxMaintenanceAhead is how far ahead a window may start.
	MaxMaintenanceAhead = 30 * 24 * time.Hour
	// MaxMaintenanceCovered is how much of the time from now on a
	// service's windows may cover together.
	MaxMaintenanceCovered = 7 * 24 * time.Hour
)

// CheckMaintenanceSchedule checks a new window against the windows of its
// service that have not ended by now: it must start within
// MaxMaintenanceAhead, and together they may cover at most
// MaxMaintenanceCovered of the time from now on.
func CheckMaintenanceSchedule(active []MaintenanceWindow, w MaintenanceWindow, now time.Time) error {
	if w.Start.After(now.Add(MaxMaintenanceAhead)) {
		return FieldErrorf("start", "a maintenance window may start at most %s ahead", MaxMaintenanceAhead)
	}
	if !w.End.After(now) {
		return FieldErrorf("end", "end %s is in the past", w.End.Format(time.RFC3339))
	}
	covered := coveredFrom(append(slices.Clone(active), w), now)
	if covered > MaxMaintenanceCovered {
		return FieldErrorf("end", "with this window %s's maintenance windows would cover %s from now on; together they may cover at most %s", w.Service, covered, MaxMaintenanceCovered)
	}
	return nil
}

// coveredFrom is how much time from now on the windows cover together,
// overlaps counted once.
func coveredFrom(ws []MaintenanceWindow, now time.Time) time.Duration {
	slices.SortFunc(ws, func(a, b MaintenanceWindow) int { return a.Start.Compare(b.Start) })
	var total time.Duration
	var reach time.Time
	for _, w := range ws {
		start := w.Start
		if start.Before(now) {
			start = now
		}
		if start.Before(reach) {
			start = reach
		}
		if w.End.After(start) {
			total += w.End.Sub(start)
			reach = w.End
		}
	}
	return total
}

// NewMaintenanceWindowID derives a window ID from its service, start and
// creation time.
func NewMaintenanceWindowID(service string, start, created time.Time) string {
	return fmt.Sprintf("mw-%s-%s", start.UTC().Format("20060102-150405"), shortHash(service+"\x00"+created.UTC().Format(time.RFC3339Nano)))
}
