package slack

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	slackgo "github.com/slack-go/slack"

	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/notify"
)

// Defaults of Options.
const (
	DefaultChannel       = "#incidents"
	DefaultChannelPrefix = "inc-"
	DefaultMaxAttempts   = 3
	DefaultMaxWait       = 10 * time.Second
	// MaxChannelName is Slack's limit on a channel name.
	MaxChannelName = 80
	// maxListPages bounds the search for an incident channel that exists
	// already; 10 pages of 200 channels.
	maxListPages = 10
)

// API is the part of slack-go's *slack.Client the Notifier uses.
type API interface {
	PostMessageContext(ctx context.Context, channelID string, options ...slackgo.MsgOption) (string, string, error)
	UpdateMessageContext(ctx context.Context, channelID, timestamp string, options ...slackgo.MsgOption) (string, string, string, error)
	CreateConversationContext(ctx context.Context, params slackgo.CreateConversationParams) (*slackgo.Channel, error)
	InviteUsersToConversationContext(ctx context.Context, channelID string, users ...string) (*slackgo.Channel, error)
	GetConversationsContext(ctx context.Context, params *slackgo.GetConversationsParameters) ([]slackgo.Channel, string, error)
	JoinConversationContext(ctx context.Context, channelID string) (*slackgo.Channel, string, []string, error)
	AuthTestContext(ctx context.Context) (*slackgo.AuthTestResponse, error)
	OpenViewContext(ctx context.Context, triggerID string, view slackgo.ModalViewRequest) (*slackgo.ViewResponse, error)
}

// Options configures a Notifier; the zero value posts to #incidents and
// gives P0 incidents a channel of their own.
type Options struct {
	// Channel is where alerts go: a channel ID, or a public channel's
	// name such as "#incidents". Empty means DefaultChannel.
	Channel string
	// OwnChannelFor lists the severities that get a channel of their own.
	// Nil means P0 only; an empty, non-nil slice means none.
	OwnChannelFor []incident.Severity
	// ChannelPrefix begins an incident channel's name; empty means
	// DefaultChannelPrefix.
	ChannelPrefix string
	// PrivateChannels makes incident channels private.
	PrivateChannels bool
	// WorkspaceURL, e.g. "https://dashboarduz.slack.com/", makes channel
	// links; empty means the URL auth.test gives, asked once.
	WorkspaceURL string
	// MaxAttempts bounds the calls made for one operation when Slack
	// answers 429; zero means DefaultMaxAttempts.
	MaxAttempts int
	// MaxWait bounds the total time one operation waits on Retry-After;
	// a longer wait is returned as a *SlackUnavailableError for the
	// caller to retry later. Zero means DefaultMaxWait.
	MaxWait time.Duration
	// Sleep waits d or until ctx ends; nil means a timer. Tests pass a
	// fake.
	Sleep func(ctx context.Context, d time.Duration) error
	// HTTPClient posts to response_url addresses; nil means a client with
	// a ten-second timeout.
	HTTPClient *http.Client
	// ResponseURLPrefixes are the addresses Respond may post to; nil
	// means Slack's own, "https://hooks.slack.com/". Local mode adds the
	// local Slack's.
	ResponseURLPrefixes []string
}

// MessageRef names a posted message: the channel's ID and the message's
// ts. Store it to reply in the thread or update the message later.
type MessageRef struct {
	Channel string `json:"channel"`
	TS      string `json:"ts"`
}

// ChannelRef names an incident's own channel.
type ChannelRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// Link is the channel's address in the workspace.
	Link string `json:"link"`
}

// Notifier posts an incident's messages to Slack. It is safe for
// concurrent use if its API is.
type Notifier struct {
	api  API
	opts Options

	mu           sync.Mutex
	workspaceURL string
}

// New returns a Notifier that calls Slack through api, usually the client
// NewAPI or Connect returns.
func New(api API, opts Options) *Notifier {
	if opts.Channel == "" {
		opts.Channel = DefaultChannel
	}
	if opts.OwnChannelFor == nil {
		opts.OwnChannelFor = []incident.Severity{incident.P0}
	}
	if opts.ChannelPrefix == "" {
		opts.ChannelPrefix = DefaultChannelPrefix
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = DefaultMaxAttempts
	}
	if opts.MaxWait <= 0 {
		opts.MaxWait = DefaultMaxWait
	}
	if opts.Sleep == nil {
		opts.Sleep = incident.Sleep
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if opts.ResponseURLPrefixes == nil {
		opts.ResponseURLPrefixes = []string{"https://hooks.slack.com/"}
	}
	return &Notifier{api: api, opts: opts, workspaceURL: opts.WorkspaceURL}
}

// WantsOwnChannel reports whether incidents of severity s get a channel of
// their own.
func (n *Notifier) WantsOwnChannel(s incident.Severity) bool {
	return slices.Contains(n.opts.OwnChannelFor, s)
}

// PostAlert posts an incident's initial alert to the configured channel
// and returns where it is, for the thread replies and updates that follow.
func (n *Notifier) PostAlert(ctx context.Context, msg notify.Message) (MessageRef, error) {
	return n.Post(ctx, n.opts.Channel, msg)
}

// Post posts msg to channel (an ID, or a public channel's name) as a new
// message.
func (n *Notifier) Post(ctx context.Context, channel string, msg notify.Message) (MessageRef, error) {
	return n.post(ctx, channel, msgOptions(msg))
}

// Reply posts msg in the thread of the message at thread.
func (n *Notifier) Reply(ctx context.Context, thread MessageRef, msg notify.Message) (MessageRef, error) {
	if thread.Channel == "" || thread.TS == "" {
		return MessageRef{}, incident.Errorf(incident.EInvalid, "reply to %s: the thread has no channel or ts", msg.IncidentID)
	}
	return n.post(ctx, thread.Channel, append(msgOptions(msg), slackgo.MsgOptionTS(thread.TS)))
}

// PostResolution posts the resolution in the alert's thread and, as Slack's
// reply_broadcast does, in the channel too: one message, seen in both.
func (n *Notifier) PostResolution(ctx context.Context, thread MessageRef, msg notify.Message) (MessageRef, error) {
	if thread.Channel == "" || thread.TS == "" {
		return MessageRef{}, incident.Errorf(incident.EInvalid, "post resolution of %s: the thread has no channel or ts", msg.IncidentID)
	}
	return n.post(ctx, thread.Channel, append(msgOptions(msg), slackgo.MsgOptionTS(thread.TS), slackgo.MsgOptionBroadcast()))
}

// UpdateMessage replaces the message at ref with msg, e.g. the alert
// without its buttons once the incident is resolved.
func (n *Notifier) UpdateMessage(ctx context.Context, ref MessageRef, msg notify.Message) error {
	return n.call(ctx, "chat.update", func(ctx context.Context) error {
		_, _, _, err := n.api.UpdateMessageContext(ctx, ref.Channel, ref.TS, msgOptions(msg)...)
		return err
	})
}

func (n *Notifier) post(ctx context.Context, channel string, opts []slackgo.MsgOption) (MessageRef, error) {
	var ref MessageRef
	err := n.call(ctx, "chat.postMessage", func(ctx context.Context) error {
		var err error
		ref.Channel, ref.TS, err = n.api.PostMessageContext(ctx, channel, opts...)
		return err
	})
	return ref, err
}

// msgOptions posts a rendered message: its blocks, and its first line as
// the notification text, escaped because it holds text anyone could have
// written. Links are not unfurled: the alert is the message.
func msgOptions(msg notify.Message) []slackgo.MsgOption {
	return []slackgo.MsgOption{
		slackgo.MsgOptionText(msg.Summary, true),
		slackgo.MsgOptionBlocks(msg.Blocks...),
		slackgo.MsgOptionDisableLinkUnfurl(),
	}
}

// ChannelName is the name of an incident's own channel: the prefix and
// the incident ID (once, when the ID already begins with the prefix),
// lower-cased, with every character Slack does not allow in a name made a
// hyphen, cut to Slack's 80 characters.
func ChannelName(prefix, incidentID string) string {
	name := strings.ToLower(incidentID)
	if !strings.HasPrefix(name, strings.ToLower(prefix)) {
		name = strings.ToLower(prefix) + name
	}
	b := []byte(name)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			b[i] = '-'
		}
	}
	if len(b) > MaxChannelName {
		b = b[:MaxChannelName]
	}
	return strings.Trim(string(b), "-_")
}

// OpenIncidentChannel creates the incident's own channel and invites the
// Slack users userIDs (the people paged, mapped through a Directory). A
// channel left by an earlier attempt (Slack's name_taken) is found and
// reused, so a retry does not fail. Users already in it are no error.
func (n *Notifier) OpenIncidentChannel(ctx context.Context, incidentID string, userIDs []string) (ChannelRef, error) {
	name := ChannelName(n.opts.ChannelPrefix, incidentID)
	if name == "" {
		return ChannelRef{}, incident.Errorf(incident.EInvalid, "incident ID %q gives no channel name", incidentID)
	}
	ch, err := n.createChannel(ctx, name)
	if err != nil {
		return ChannelRef{}, fmt.Errorf("open channel for %s: %w", incidentID, err)
	}
	if err := n.Invite(ctx, ch.ID, userIDs); err != nil {
		return ChannelRef{}, fmt.Errorf("open channel for %s: %w", incidentID, err)
	}
	link, err := n.channelLink(ctx, ch.ID)
	if err != nil {
		return ChannelRef{}, fmt.Errorf("open channel for %s: %w", incidentID, err)
	}
	return ChannelRef{ID: ch.ID, Name: name, Link: link}, nil
}

func (n *Notifier) createChannel(ctx context.Context, name string) (slackgo.Channel, error) {
	var ch *slackgo.Channel
	err := n.call(ctx, "conversations.create", func(ctx context.Context) error {
		var err error
		ch, err = n.api.CreateConversationContext(ctx, slackgo.CreateConversationParams{ChannelName: name, IsPrivate: n.opts.PrivateChannels})
		return err
	})
	var rej *SlackRejectedError
	if errors.As(err, &rej) && rej.Code == "name_taken" {
		return n.findChannel(ctx, name)
	}
	if err != nil {
		return slackgo.Channel{}, err
	}
	return *ch, nil
}

// findChannel finds the open channel called name and joins it if the bot
// is not in it (a person may have created it by hand).
func (n *Notifier) findChannel(ctx context.Context, name string) (slackgo.Channel, error) {
	types := []string{"public_channel"}
	if n.opts.PrivateChannels {
		types = []string{"private_channel"}
	}
	cursor := ""
	for range maxListPages {
		var page []slackgo.Channel
		err := n.call(ctx, "conversations.list", func(ctx context.Context) error {
			var err error
			page, cursor, err = n.api.GetConversationsContext(ctx, &slackgo.GetConversationsParameters{Cursor: cursor, ExcludeArchived: true, Limit: 200, Types: types})
			return err
		})
		if err != nil {
			return slackgo.Channel{}, err
		}
		for _, ch := range page {
			if ch.Name == name {
				return ch, n.join(ctx, ch)
			}
		}
		if cursor == "" {
			break
		}
	}
	return slackgo.Channel{}, &SlackRejectedError{Method: "conversations.create", Code: "name_taken",
		Err: fmt.Errorf("a channel named %s exists but is archived or not visible to the bot", name)}
}

func (n *Notifier) join(ctx context.Context, ch slackgo.Channel) error {
	if ch.IsMember || ch.IsPrivate {
		return nil
	}
	return n.call(ctx, "conversations.join", func(ctx context.Context) error {
		_, _, _, err := n.api.JoinConversationContext(ctx, ch.ID)
		return err
	})
}

// Invite invites the Slack users userIDs to a channel, one at a time so
// that one user who cannot be invited does not keep the others out.
// Users already in the channel, and the bot itself, are skipped; the
// first other refusal is returned after everyone else is invited.
func (n *Notifier) Invite(ctx context.Context, channelID string, userIDs []string) error {
	var firstErr error
	for _, id := range dedupe(userIDs) {
		err := n.call(ctx, "conversations.invite", func(ctx context.Context) error {
			_, err := n.api.InviteUsersToConversationContext(ctx, channelID, id)
			return err
		})
		var rej *SlackRejectedError
		if errors.As(err, &rej) && (rej.Code == "already_in_channel" || rej.Code == "cant_invite_self") {
			continue
		}
		if err != nil && firstErr == nil {
			firstErr = fmt.Errorf("invite %s: %w", id, err)
		}
		if Retryable(err) {
			return firstErr
		}
	}
	return firstErr
}

func dedupe(ids []string) []string {
	var out []string
	for _, id := range ids {
		if id = strings.TrimSpace(id); id != "" && !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

// channelLink returns the address of a channel in the workspace.
func (n *Notifier) channelLink(ctx context.Context, channelID string) (string, error) {
	n.mu.Lock()
	base := n.workspaceURL
	n.mu.Unlock()
	if base == "" {
		var resp *slackgo.AuthTestResponse
		err := n.call(ctx, "auth.test", func(ctx context.Context) error {
			var err error
			resp, err = n.api.AuthTestContext(ctx)
			return err
		})
		if err != nil {
			return "", err
		}
		base = resp.URL
		n.mu.Lock()
		n.workspaceURL = base
		n.mu.Unlock()
	}
	return strings.TrimSuffix(base, "/") + "/archives/" + channelID, nil
}

// call makes one Web API call, honouring Slack's 429 answers: it waits
// their Retry-After and calls again, up to MaxAttempts calls and MaxWait
// of waiting in all. Only a 429 is retried here, because Slack did nothing
// with the call; after a 5xx or a lost answer the message may have been
// posted, so the caller's ledger decides. Errors come back classified.
func (n *Notifier) call(ctx context.Context, method string, f func(context.Context) error) error {
	var waited time.Duration
	for attempt := 1; ; attempt++ {
		err := f(ctx)
		if err == nil {
			return nil
		}
		var rl *slackgo.RateLimitedError
		if !errors.As(err, &rl) || attempt >= n.opts.MaxAttempts {
			return classify(method, err)
		}
		wait := max(rl.RetryAfter, time.Second)
		if waited+wait > n.opts.MaxWait {
			return classify(method, err)
		}
		if serr := n.opts.Sleep(ctx, wait); serr != nil {
			return classify(method, serr)
		}
		waited += wait
	}
}
