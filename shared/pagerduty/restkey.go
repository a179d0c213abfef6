package pagerduty

import (
	"context"
	"fmt"
	"sync"

	pd "github.com/PagerDuty/go-pagerduty"
)

// KeyedOnCallAPI is an OnCallAPI whose REST API key is read when it is
// first needed, from Key (a Secrets Manager secret, cached by its
// reader), so a function that never names anyone never reads the key. A
// changed key builds a new client. It is safe for concurrent use.
type KeyedOnCallAPI struct {
	Key func(ctx context.Context) (string, error)
	// Endpoint is the REST API's base address; "" means PagerDuty's.
	Endpoint string

	mu     sync.Mutex
	key    string
	client *pd.Client
}

// ListOnCallsWithContext lists on-call entries with the current key.
func (k *KeyedOnCallAPI) ListOnCallsWithContext(ctx context.Context, o pd.ListOnCallOptions) (*pd.ListOnCallsResponse, error) {
	key, err := k.Key(ctx)
	if err != nil {
		return nil, fmt.Errorf("read the PagerDuty REST API key: %w", err)
	}
	k.mu.Lock()
	if k.client == nil || key != k.key {
		k.client, k.key = NewRESTClient(key, k.Endpoint), key
	}
	c := k.client
	k.mu.Unlock()
	return c.ListOnCallsWithContext(ctx, o)
}
