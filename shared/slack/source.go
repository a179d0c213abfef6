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

// OpenResolveModal opens the resolve modal through the Notifier, for the
// api function, which connects only when someone presses Resolve.
func (s *NotifierSource) OpenResolveModal(ctx context.Context, triggerID, incidentID string, alert MessageRef) error {
	n, err := s.Notifier(ctx)
	if err != nil {
		return err
	}
	return n.OpenResolveModal(ctx, triggerID, incidentID, alert)
}

// Respond answers a response_url through the Notifier.
func (s *NotifierSource) Respond(ctx context.Context, responseURL, text string) error {
	n, err := s.Notifier(ctx)
	if err != nil {
		return err
	}
	return n.Respond(ctx, responseURL, text)
}
