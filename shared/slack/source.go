package slack

import (
	"context"
	"sync"
)

// NotifierSource connects a Notifier on first use, with the bot token
// read from Tokens, and keeps it: a function that never posts never reads
// the secret, and a cold start never waits for Secrets Manager. Forget
// drops the Notifier after Slack refused its token, so the next use reads
// the secret again and a rotated token is picked up. It is safe for
// concurrent use.
type NotifierSource struct {
	Tokens  TokenSource
	Client  ClientOptions
	Options Options

	mu sync.Mutex
	n  *Notifier
}

// Notifier returns the Notifier, connecting when there is none. A failed
// read is returned and tried again on the next call.
func (s *NotifierSource) Notifier(ctx context.Context) (*Notifier, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.n != nil {
		return s.n, nil
	}
	api, err := Connect(ctx, s.Tokens, s.Client)
	if err != nil {
		return nil, err
	}
	s.n = New(api, s.Options)
	return s.n, nil
}

// Forget drops the Notifier.
func (s *NotifierSource) Forget() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n = nil
}
