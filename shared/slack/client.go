package slack

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	slackgo "github.com/slack-go/slack"
)

// CallTimeout bounds one Web API call made by the client NewAPI builds.
// Slack answers in well under a second; a call still waiting after this
// long is reported as unavailable and retried later by the caller.
const CallTimeout = 10 * time.Second

// TokenSource gives the bot token (xoxb-...). The token lives in Secrets
// Manager; the Lambda's wiring implements this over it, so neither the
// template, the environment nor the logs ever hold it.
type TokenSource interface {
	SlackBotToken(ctx context.Context) (string, error)
}

// ClientOptions configures the client NewAPI builds.
type ClientOptions struct {
	// APIURL is the Web API's base address ending in "/", e.g. a local
	// Slack's; empty means Slack itself (https://slack.com/api/).
	APIURL string
	// HTTPClient makes the calls; nil means one that gives up after
	// CallTimeout.
	HTTPClient *http.Client
}

// NewAPI returns a slack-go client that calls the Web API with token.
// slack-go's own retries stay off: the Notifier honours 429s itself,
// within its bound, and leaves every other failure to its caller.
func NewAPI(token string, opts ClientOptions) *slackgo.Client {
	hc := opts.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: CallTimeout}
	}
	o := []slackgo.Option{slackgo.OptionHTTPClient(hc)}
	if opts.APIURL != "" {
		u := opts.APIURL
		if !strings.HasSuffix(u, "/") {
			u += "/"
		}
		o = append(o, slackgo.OptionAPIURL(u))
	}
	return slackgo.New(token, o...)
}

// Connect reads the bot token from tokens and returns a client for it.
func Connect(ctx context.Context, tokens TokenSource, opts ClientOptions) (*slackgo.Client, error) {
	token, err := tokens.SlackBotToken(ctx)
	if err != nil {
		return nil, fmt.Errorf("read Slack bot token: %w", err)
	}
	token = strings.TrimSpace(token)
	if token == "" {
		return nil, errors.New("read Slack bot token: the secret holds no token")
	}
	return NewAPI(token, opts), nil
}
