package secrets

import (
	"context"
	"sync"
	"time"
)

// refreshing keeps what the last successful read of a secret gave and
// reads again at most once per period: a secret stored or rotated after
// the function started is picked up, and callers (forged requests among
// them) cannot make it call Secrets Manager more often. A failed read
// keeps what was read before; until a read succeeds, the last read's
// error is returned. The zero value is ready; it is safe for concurrent
// use.
type refreshing[T any] struct {
	mu     sync.Mutex
	value  T
	ok     bool
	readAt time.Time
	err    error
}

// get returns what is kept, reading it with read first when nothing was
// read yet or the last read is every old at now.
func (c *refreshing[T]) get(ctx context.Context, now time.Time, every time.Duration, read func(context.Context) (T, error)) (T, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.readAt.IsZero() || now.Sub(c.readAt) >= every {
		c.readAt = now
		v, err := read(ctx)
		c.err = err
		if err == nil {
			c.value, c.ok = v, true
		}
	}
	if !c.ok {
		var zero T
		return zero, c.err
	}
	return c.value, nil
}

// orMinute is d, or a minute when d is not positive.
func orMinute(d time.Duration) time.Duration {
	if d <= 0 {
		return time.Minute
	}
	return d
}
