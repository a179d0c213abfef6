package incident

import (
	"context"
	"errors"
	"testing"
	"time"
)

// conflictingStore answers the first conflicts writes with a version
// conflict, then stores; it counts writes and reads.
type conflictingStore struct {
	stored    Incident
	conflicts int
	writes    int
	reads     int
}

func (s *conflictingStore) GetIncident(_ context.Context, id string) (Incident, error) {
	s.reads++
	return s.stored, nil
}

func (s *conflictingStore) UpdateIncident(_ context.Context, inc Incident) (Incident, error) {
	s.writes++
	if s.conflicts > 0 {
		s.conflicts--
		s.stored.Version++ // another writer got there first
		return Incident{}, Errorf(EConflict, "version changed")
	}
	inc.Version++
	s.stored = inc
	return inc, nil
}

// instantSleep records the waits Update asks for and returns at once.
func instantSleep(t *testing.T) *[]time.Duration {
	t.Helper()
	var waits []time.Duration
	prev := Sleep
	Sleep = func(ctx context.Context, d time.Duration) error {
		waits = append(waits, d)
		return ctx.Err()
	}
	t.Cleanup(func() { Sleep = prev })
	return &waits
}

func TestUpdateBacksOffBetweenRounds(t *testing.T) {
	waits := instantSleep(t)
	s := &conflictingStore{stored: Incident{ID: "inc-1", Status: Triggered, Version: 1}, conflicts: 5}
	got, err := Update(context.Background(), s, s.stored, func(inc *Incident) bool {
		inc.Status = Mitigating
		return true
	})
	if err != nil || got.Status != Mitigating {
		t.Fatalf("Update = %+v, %v", got, err)
	}
	if s.writes != 6 || len(*waits) != 5 {
		t.Fatalf("%d writes and %d waits, want 6 and 5 (one wait after each lost round)", s.writes, len(*waits))
	}
	for i, d := range *waits {
		ceiling := min(updateBackoffBase<<i, updateBackoffMax)
		if d < 0 || d > ceiling {
			t.Errorf("wait %d = %s, want within [0, %s]", i, d, ceiling)
		}
	}
}

func TestUpdateJitters(t *testing.T) {
	seen := map[time.Duration]bool{}
	for range 50 {
		seen[updateBackoff(3)] = true
	}
	if len(seen) < 10 {
		t.Errorf("50 backoffs gave %d distinct waits, want jitter", len(seen))
	}
}

func TestUpdateStillContendedIsAConflict(t *testing.T) {
	instantSleep(t)
	s := &conflictingStore{stored: Incident{ID: "inc-1", Status: Triggered}, conflicts: 1000}
	_, err := Update(context.Background(), s, s.stored, func(inc *Incident) bool { inc.Status = Mitigating; return true })
	if ErrorCode(err) != EConflict {
		t.Fatalf("err = %v (code %s), want a conflict the caller can retry", err, ErrorCode(err))
	}
	if s.writes != updateRounds {
		t.Errorf("%d writes, want %d rounds", s.writes, updateRounds)
	}
}

func TestUpdateStopsWhenTheContextEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	s := &conflictingStore{stored: Incident{ID: "inc-1", Status: Triggered}, conflicts: 1000}
	_, err := Update(ctx, s, s.stored, func(inc *Incident) bool {
		inc.Status = Mitigating
		cancel()
		return true
	})
	if !errors.Is(err, context.Canceled) || s.writes != 1 {
		t.Errorf("err = %v after %d writes, want context.Canceled after one", err, s.writes)
	}
}

func TestSleepWaitsOrStops(t *testing.T) {
	if err := sleepContext(context.Background(), time.Millisecond); err != nil {
		t.Errorf("sleep: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	if err := sleepContext(ctx, time.Hour); !errors.Is(err, context.Canceled) || time.Since(start) > time.Second {
		t.Errorf("sleep on a cancelled context = %v after %s", err, time.Since(start))
	}
}

// TestUpdateNoOpWritesNothing: a change that reports a change but leaves
// the incident as it was is not written (finding M9).
func TestUpdateNoOpWritesNothing(t *testing.T) {
	s := &conflictingStore{stored: Incident{ID: "inc-1", Status: Mitigating, Pages: []Page{{Level: 1}}, Version: 4}}
	got, err := Update(context.Background(), s, s.stored, func(inc *Incident) bool {
		inc.Status = Mitigating
		inc.Pages[0].Level = 1
		return true
	})
	if err != nil || s.writes != 0 || got.Version != 4 {
		t.Errorf("Update = version %d, %v with %d writes; want the incident as read and no write", got.Version, err, s.writes)
	}
	// A change made in place to a shared slice is still a change.
	got, err = Update(context.Background(), s, s.stored, func(inc *Incident) bool {
		inc.Pages[0].Synced = Acknowledged
		return true
	})
	if err != nil || s.writes != 1 || got.Pages[0].Synced != Acknowledged {
		t.Errorf("Update = %+v, %v with %d writes; want the in-place change written", got, err, s.writes)
	}
}
