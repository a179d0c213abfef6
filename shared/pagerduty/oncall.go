package pagerduty

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	pd "github.com/PagerDuty/go-pagerduty"

	"github.com/dashboarduz/incident-response/shared/incident"
)

// Defaults of OnCallFinder.
const (
	// DefaultOnCallTTL is how long an answer is kept: short, since a
	// hand-over changes who is on call, long enough that a burst of
	// messages asks once.
	DefaultOnCallTTL = time.Minute
	// DefaultOnCallStale is how old a kept answer may be and still be
	// given when PagerDuty cannot be asked.
	DefaultOnCallStale = 15 * time.Minute
	// RESTTimeout bounds one REST API call of the client NewRESTClient
	// builds: a message waits for no lookup longer than this.
	RESTTimeout = 5 * time.Second
	// maxOnCallPages bounds the pages of one lookup (100 entries each).
	maxOnCallPages = 5
)

// OnCallAPI is the part of go-pagerduty's REST API client OnCallFinder
// uses; *pagerduty.Client satisfies it.
type OnCallAPI interface {
	ListOnCallsWithContext(ctx context.Context, o pd.ListOnCallOptions) (*pd.ListOnCallsResponse, error)
}

// NewRESTClient returns a go-pagerduty client for the REST API with an API
// key (a read-only key is enough), at endpoint, e.g. a local stand-in's
// base URL; "" means PagerDuty itself (https://api.pagerduty.com).
func NewRESTClient(apiKey, endpoint string) *pd.Client {
	var opts []pd.ClientOptions
	if endpoint != "" {
		opts = append(opts, pd.WithAPIEndpoint(strings.TrimSuffix(endpoint, "/")))
	}
	c := pd.NewClient(apiKey, opts...)
	c.HTTPClient = &http.Client{Timeout: RESTTimeout, Transport: http.DefaultTransport.(*http.Transport).Clone()}
	return c
}

// OnCallUser is a person on call.
type OnCallUser struct {
	ID    string
	Name  string
	Email string
}

// OnCallFinder finds who is on call for an escalation level: the users at
// the first level of the level's PagerDuty escalation policy, asked of
// PagerDuty's REST API (GET /oncalls) and kept for a short while. It is
// safe for concurrent use.
type OnCallFinder struct {
	API OnCallAPI
	// Policies maps each escalation level's name (on-call, team-lead, ...)
	// to the ID of the escalation policy of its PagerDuty service.
	Policies map[string]string
	// Clock times the cache; nil means the system clock.
	Clock incident.Clock
	// TTL is how long an answer is kept; zero means DefaultOnCallTTL.
	TTL time.Duration
	// Stale is how old a kept answer may be when PagerDuty cannot be
	// asked; zero means DefaultOnCallStale.
	Stale time.Duration

	mu    sync.Mutex
	cache map[string]onCallAnswer
}

type onCallAnswer struct {
	users []OnCallUser
	at    time.Time
}

// OnCall returns who is on call for the level named level, in PagerDuty's
// order. An answer younger than TTL is given again without asking; when
// PagerDuty cannot be asked, an answer younger than Stale is given and
// the failure logged. A level with no policy configured is a not_found
// error.
func (f *OnCallFinder) OnCall(ctx context.Context, level string) ([]OnCallUser, error) {
	policy := f.Policies[level]
	if policy == "" {
		return nil, incident.Errorf(incident.ENotFound, "no PagerDuty escalation policy is configured for level %q", level)
	}
	now := f.now()
	f.mu.Lock()
	kept, ok := f.cache[level]
	f.mu.Unlock()
	if ok && now.Sub(kept.at) < orDefault(f.TTL, DefaultOnCallTTL) {
		return slices.Clone(kept.users), nil
	}
	users, err := f.ask(ctx, policy)
	if err != nil {
		if ok && now.Sub(kept.at) < orDefault(f.Stale, DefaultOnCallStale) {
			slog.WarnContext(ctx, "on-call lookup failed; using the last answer", "level", level, "age", now.Sub(kept.at), "error", err)
			return slices.Clone(kept.users), nil
		}
		return nil, fmt.Errorf("on-call for %s (escalation policy %s): %w", level, policy, err)
	}
	f.mu.Lock()
	if f.cache == nil {
		f.cache = map[string]onCallAnswer{}
	}
	f.cache[level] = onCallAnswer{users: users, at: now}
	f.mu.Unlock()
	return slices.Clone(users), nil
}

// OnCallNames returns the names of who is on call for a level, for the
// messages of package notify.
func (f *OnCallFinder) OnCallNames(ctx context.Context, level string) ([]string, error) {
	users, err := f.OnCall(ctx, level)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(users))
	for _, u := range users {
		names = append(names, u.Name)
	}
	return names, nil
}

// OnCallEmails returns the email addresses of who is on call for a level,
// to invite them to an incident's Slack channel.
func (f *OnCallFinder) OnCallEmails(ctx context.Context, level string) ([]string, error) {
	users, err := f.OnCall(ctx, level)
	if err != nil {
		return nil, err
	}
	var emails []string
	for _, u := range users {
		if u.Email != "" {
			emails = append(emails, u.Email)
		}
	}
	return emails, nil
}

// ask lists the on-call entries of one escalation policy and keeps the
// users of its lowest level: the people PagerDuty notifies first.
func (f *OnCallFinder) ask(ctx context.Context, policy string) ([]OnCallUser, error) {
	var entries []pd.OnCall
	opts := pd.ListOnCallOptions{EscalationPolicyIDs: []string{policy}, Includes: []string{"users"}, Earliest: true, Limit: 100}
	for range maxOnCallPages {
		resp, err := f.API.ListOnCallsWithContext(ctx, opts)
		if err != nil {
			return nil, err
		}
		entries = append(entries, resp.OnCalls...)
		if !resp.More || len(resp.OnCalls) == 0 {
			break
		}
		opts.Offset += uint(len(resp.OnCalls))
	}
	lowest := uint(0)
	for _, e := range entries {
		if e.EscalationPolicy.ID == policy && e.EscalationLevel > 0 && (lowest == 0 || e.EscalationLevel < lowest) {
			lowest = e.EscalationLevel
		}
	}
	var users []OnCallUser
	for _, e := range entries {
		if e.EscalationPolicy.ID != policy || e.EscalationLevel != lowest || e.User.ID == "" {
			continue
		}
		if slices.ContainsFunc(users, func(u OnCallUser) bool { return u.ID == e.User.ID }) {
			continue
		}
		name := strings.TrimSpace(e.User.Name)
		if name == "" {
			name = strings.TrimSpace(e.User.Summary)
		}
		users = append(users, OnCallUser{ID: e.User.ID, Name: name, Email: strings.TrimSpace(e.User.Email)})
	}
	return users, nil
}

func (f *OnCallFinder) now() time.Time {
	if f.Clock == nil {
		return incident.SystemClock{}.Now()
	}
	return f.Clock.Now()
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}
