package incident

import (
	"context"
	"fmt"
)

// Updater reads and conditionally writes an incident; the storage adapter
// implements it.
type Updater interface {
	GetIncident(ctx context.Context, id string) (Incident, error)
	UpdateIncident(ctx context.Context, inc Incident) (Incident, error)
}

// updateRounds bounds Update's re-read loop; each lost round means another
// writer made progress.
const updateRounds = 8

// Update applies change to inc and stores it on condition of its version,
// re-reading and re-applying on a version conflict. change reports whether
// it changed anything; when it did not, nothing is written. The incident is
// returned as stored (or as read, when nothing changed).
func Update(ctx context.Context, store Updater, inc Incident, change func(*Incident) bool) (Incident, error) {
	for range updateRounds {
		if !change(&inc) {
			return inc, nil
		}
		stored, err := store.UpdateIncident(ctx, inc)
		if err == nil {
			return stored, nil
		}
		if ErrorCode(err) != EConflict {
			return Incident{}, err
		}
		if inc, err = store.GetIncident(ctx, inc.ID); err != nil {
			return Incident{}, err
		}
	}
	return Incident{}, fmt.Errorf("update %s: still contended after %d attempts", inc.ID, updateRounds)
}
