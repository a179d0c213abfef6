package incident

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"time"
)

// Updater reads and conditionally writes an incident; the storage adapter
// implements it.
type Updater interface {
	GetIncident(ctx context.Context, id string) (Incident, error)
	UpdateIncident(ctx context.Context, inc Incident) (Incident, error)
}

// updateRounds bounds Update's re-read loop; each lost round means another
// writer made progress. With the backoff below, the rounds span about two
// seconds at most, well inside an API call's time.
const updateRounds = 12

// The backoff between rounds: a random wait up to base·2ⁿ, at most max
// ("full jitter"), so writers that lost to the same winner do not all
// come back at the same moment and collide again.
const (
	updateBackoffBase = 10 * time.Millisecond
	updateBackoffMax  = 320 * time.Millisecond
)

// Sleep waits for d or until ctx is done, whichever is first, and returns
// ctx's error in the second case. Update waits with it between rounds;
// tests replace it with one that returns at once.
var Sleep = sleepContext

func sleepContext(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// updateBackoff is the wait before the retry that follows lost round n
// (0-based).
func updateBackoff(n int) time.Duration {
	ceiling := min(updateBackoffBase<<min(n, 16), updateBackoffMax)
	return rand.N(ceiling + 1)
}

// Update applies change to inc and stores it on condition of its version,
// re-reading and re-applying on a version conflict, with a jittered
// backoff between rounds. change reports whether it changed anything; when
// it did not, or when the incident is the same after it as before (a
// status set to the one it has), nothing is written. The incident is
// returned as stored (or as read, when nothing changed). An incident still
// contended after every round is an EConflict the caller may retry.
func Update(ctx context.Context, store Updater, inc Incident, change func(*Incident) bool) (Incident, error) {
	for round := range updateRounds {
		if round > 0 {
			if err := Sleep(ctx, updateBackoff(round-1)); err != nil {
				return Incident{}, fmt.Errorf("update %s: %w", inc.ID, err)
			}
			var err error
			if inc, err = store.GetIncident(ctx, inc.ID); err != nil {
				return Incident{}, err
			}
		}
		before := inc.Clone()
		if !change(&inc) || reflect.DeepEqual(before, inc) {
			return inc, nil
		}
		stored, err := store.UpdateIncident(ctx, inc)
		if err == nil {
			return stored, nil
		}
		if ErrorCode(err) != EConflict {
			return Incident{}, err
		}
		if ctx.Err() != nil {
			return Incident{}, fmt.Errorf("update %s: %w", inc.ID, ctx.Err())
		}
	}
	return Incident{}, Errorf(EConflict, "incident %s is being changed by others right now (still contended after %d attempts); try again", inc.ID, updateRounds)
}
