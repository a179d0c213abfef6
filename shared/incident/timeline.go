package incident

import (
	"fmt"
	"time"
)

// EntryKind says what a timeline entry records.
type EntryKind string

// The kinds of timeline entry.
const (
	EntryOpened           EntryKind = "opened"
	EntrySignal           EntryKind = "signal"
	EntryRecovered        EntryKind = "recovered"
	EntryInsufficientData EntryKind = "insufficient-data"
	EntryPaged            EntryKind = "paged"
	EntryPageFailed       EntryKind = "page-failed"
	EntryPageRejected     EntryKind = "page-rejected"
	EntryEscalationDone   EntryKind = "escalation-done"
	EntryReported         EntryKind = "reported"
	EntryAcknowledged     EntryKind = "acknowledged"
	EntryStatusUpdate     EntryKind = "status-update"
	EntrySeverityChanged  EntryKind = "severity-changed"
	EntryEscalated        EntryKind = "escalation-requested"
	EntryResolved         EntryKind = "resolved"
	EntryReopened         EntryKind = "reopened"
	EntryFlapping         EntryKind = "flapping"
	EntryBreach           EntryKind = "breach"
	EntryMaintenance      EntryKind = "maintenance"
	EntryPagerDutySynced  EntryKind = "pagerduty-synced"
	EntrySyncFailed       EntryKind = "pagerduty-sync-failed"
	EntryTriage           EntryKind = "triage"
	EntryRemediation      EntryKind = "remediation"
	EntryNotifyFailed     EntryKind = "notify-failed"
)

// Keys of a status update entry's Data beside status, message and eta.
const (
	// DataActions holds what is being done.
	DataActions = "actions"
	// DataPublic is "true" on an update the public may see.
	DataPublic = "public"
)

// MaxTimelinePage is the most timeline entries one page holds: what
// storage reads at once and the API's GET /incidents/{id}/timeline may ask
// for.
const MaxTimelinePage = 500

// Entry is one line of an incident's append-only timeline.
type Entry struct {
	// ID orders the timeline and makes appends idempotent: appending an
	// entry whose ID is already there changes nothing. See EntryID.
	ID    string            `json:"id"`
	At    time.Time         `json:"at"`
	Kind  EntryKind         `json:"kind"`
	Actor string            `json:"actor"`
	Text  string            `json:"text"`
	Data  map[string]string `json:"data,omitempty"`
}

// EntryID builds a timeline entry ID that sorts by time and is the same
// each time it is built from the same time and key, so a retried append
// finds the entry it already wrote. Entries of one instant sort by key:
// ingest's "event/" keys come before escalation's "page/" keys, so an
// incident's opening reads before its first page.
func EntryID(at time.Time, key string) string {
	return fmt.Sprintf("%s#%s", at.UTC().Format("20060102T150405.000000000Z"), key)
}
