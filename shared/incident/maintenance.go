package incident

import (
	"fmt"
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

// Validate checks a window before it is stored.
func (w MaintenanceWindow) Validate() error {
	switch {
	case w.Service == "":
		return FieldErrorf("service", "service is required")
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

// MaxMaintenanceWindow bounds a window, so a typo in a year cannot silence
// a service for good.
const MaxMaintenanceWindow = 7 * 24 * time.Hour

// NewMaintenanceWindowID derives a window ID from its service, start and
// creation time.
func NewMaintenanceWindowID(service string, start, created time.Time) string {
	return fmt.Sprintf("mw-%s-%s", start.UTC().Format("20060102-150405"), shortHash(service+"\x00"+created.UTC().Format(time.RFC3339Nano)))
}
