package comms

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"

	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/notify"
	"github.com/dashboarduz/incident-response/shared/slack"
)

// SlackNotifier is the part of *slack.Notifier the Slack channel uses.
type SlackNotifier interface {
	PostAlert(ctx context.Context, msg notify.Message) (slack.MessageRef, error)
	Post(ctx context.Context, channel string, msg notify.Message) (slack.MessageRef, error)
	Reply(ctx context.Context, thread slack.MessageRef, msg notify.Message) (slack.MessageRef, error)
	PostResolution(ctx context.Context, thread slack.MessageRef, msg notify.Message) (slack.MessageRef, error)
	UpdateMessage(ctx context.Context, ref slack.MessageRef, msg notify.Message) error
	OpenIncidentChannel(ctx context.Context, incidentID string, userIDs []string) (slack.ChannelRef, error)
	Invite(ctx context.Context, channelID string, userIDs []string) error
	WantsOwnChannel(s incident.Severity) bool
}

// OnCallEmails gives the email addresses of who is on call for an
// escalation level (by its name), to invite the people paged to an
// incident's own channel; *pagerduty.OnCallFinder implements it.
type OnCallEmails interface {
	OnCallEmails(ctx context.Context, level string) ([]string, error)
}

// SlackChannel announces an incident in Slack with the runbook's
// templates: the initial alert in the configured channel with its
// Acknowledge and Resolve buttons, every later message as a reply in its
// thread, the resolution in the thread and the channel, and the alert
// edited as the incident moves on (its Acknowledge button goes once it is
// acknowledged, both once it is resolved). Incidents of the severities the
// notifier names get a channel of their own, the people paged invited.
type SlackChannel struct {
	// Connect returns the notifier, connecting on first use (the bot
	// token is read from Secrets Manager then, not at cold start).
	Connect func(ctx context.Context) (SlackNotifier, error)
	// Forget, when set, drops the connection after Slack refused the bot
	// token, so the next round reads the secret again.
	Forget func()
	// Builder renders the messages.
	Builder *notify.Builder
	// OnCall, with Directory, names the Slack users to invite to an
	// incident's own channel; nil invites nobody.
	OnCall    OnCallEmails
	Directory slack.Directory
}

// SlackChannelName is the Slack channel's name in the ledger.
const SlackChannelName = "slack"

// Name returns "slack".
func (s *SlackChannel) Name() string { return SlackChannelName }

// Announces reports whether a message announces e: every kind the
// templates have.
func (s *SlackChannel) Announces(_ incident.Incident, e incident.Entry) bool {
	_, ok := notify.KindOf(e)
	return ok
}

// Reminds reports true: post-mortem reminders go to the incident's thread.
func (s *SlackChannel) Reminds(incident.Incident) bool { return true }

// Send posts one message.
func (s *SlackChannel) Send(ctx context.Context, m Message) (Outcome, error) {
	n, err := s.Connect(ctx)
	if err != nil {
		return Outcome{}, fmt.Errorf("connect to Slack: %w", err)
	}
	out, err := s.send(ctx, n, m)
	var rej *slack.SlackRejectedError
	if errors.As(err, &rej) {
		if rej.AuthFailed() && s.Forget != nil {
			s.Forget()
		}
		if messageRefused(rej.Code) {
			err = &PermanentError{Err: err}
		}
	}
	return out, err
}

// messageRefused reports Slack's refusals of a message as it is, which
// no retry can cure; the others (the token, the channel, a missing
// scope) may be fixed by a person within the attempts' span.
func messageRefused(code string) bool {
	switch code {
	case "invalid_blocks", "invalid_blocks_format", "msg_too_long", "no_text", "too_many_attachments", "invalid_arguments":
		return true
	}
	return false
}

func (s *SlackChannel) send(ctx context.Context, n SlackNotifier, m Message) (Outcome, error) {
	kind := notify.KindReminder
	if m.Entry != nil {
		kind, _ = notify.KindOf(*m.Entry)
	}
	thread := m.Incident.Slack
	var out Outcome
	if !thread.Posted() {
		// The alert starts the thread; a message whose alert never went
		// out (it was given up, or its incident predates Slack) posts it
		// first.
		t, err := s.postAlert(ctx, n, m.Incident)
		if err != nil {
			return Outcome{}, err
		}
		thread, out.Thread = t, t
		m.Incident.Slack = t
	}
	if kind == notify.KindAlert {
		return out, nil
	}
	msg, err := s.render(ctx, kind, m)
	if err != nil {
		return out, &PermanentError{Err: err}
	}
	ref := slack.MessageRef{Channel: thread.Channel, TS: thread.TS}
	switch kind {
	case notify.KindResolution:
		_, err = n.PostResolution(ctx, ref, msg)
		s.copyToOwnChannel(ctx, n, thread, msg)
	case notify.KindReminder:
		// Reminders come days later: broadcast, so the channel sees them.
		_, err = n.PostResolution(ctx, ref, msg)
		s.copyToOwnChannel(ctx, n, thread, msg)
	default:
		_, err = n.Reply(ctx, ref, msg)
	}
	if err != nil {
		return out, err
	}
	if kind == notify.KindSeverityChanged {
		if t := s.openOwnChannel(ctx, n, m.Incident); t != nil {
			out.Thread, m.Incident.Slack = t, t
		}
	}
	s.afterReply(ctx, n, kind, m)
	return out, nil
}

// openOwnChannel opens the incident's own channel when its severity, raised
// since the alert, now gets one: the people paged so far are invited and
// the alert is copied there as it reads now. It returns the thread with
// the channel, or nil when there is nothing to open or it could not be
// opened (logged: the severity change itself was announced).
func (s *SlackChannel) openOwnChannel(ctx context.Context, n SlackNotifier, inc incident.Incident) *incident.SlackThread {
	if inc.Slack == nil || inc.Slack.OwnChannel != "" || !n.WantsOwnChannel(inc.Severity) {
		return nil
	}
	ch, err := n.OpenIncidentChannel(ctx, inc.ID, s.pagedUsers(ctx, inc))
	if err != nil {
		slog.WarnContext(ctx, "open the incident's own channel", "incidentId", inc.ID, "error", err)
		return nil
	}
	t := *inc.Slack
	t.OwnChannel, t.OwnChannelName, t.OwnChannelLink = ch.ID, ch.Name, ch.Link
	inc.Slack = &t
	if msg, err := s.render(ctx, notify.KindAlert, Message{Incident: inc}); err == nil {
		t.OwnTS = s.copyToOwnChannel(ctx, n, &t, msg)
	}
	return &t
}

// afterReply does what a reply calls for beside itself: the alert edited
// when the incident is acknowledged, resolved, re-opened or its severity
// changed, the people paged invited to the incident's own channel.
// Neither is the message, so a failure is logged and the message counts
// as sent.
func (s *SlackChannel) afterReply(ctx context.Context, n SlackNotifier, kind notify.Kind, m Message) {
	switch kind {
	case notify.KindAcknowledged, notify.KindResolution, notify.KindReopened, notify.KindSeverityChanged:
		s.updateAlert(ctx, n, m.Incident)
	case notify.KindPage, notify.KindEscalation:
		if t := m.Incident.Slack; t != nil && t.OwnChannel != "" {
			level := m.Entry.Data["levelName"]
			if err := n.Invite(ctx, t.OwnChannel, s.usersOf(ctx, m.Incident, level)); err != nil {
				slog.WarnContext(ctx, "invite the people paged to the incident's channel", "incidentId", m.Incident.ID, "level", level, "error", err)
			}
		}
	}
}

// postAlert opens the incident's own channel when its severity gets one,
// posts the alert to the configured channel (and a copy to its own), and
// returns the thread.
func (s *SlackChannel) postAlert(ctx context.Context, n SlackNotifier, inc incident.Incident) (*incident.SlackThread, error) {
	t := &incident.SlackThread{}
	if n.WantsOwnChannel(inc.Severity) {
		ch, err := n.OpenIncidentChannel(ctx, inc.ID, s.pagedUsers(ctx, inc))
		if err != nil {
			// The alert matters more than the room: it goes out without
			// the channel's link.
			slog.WarnContext(ctx, "open the incident's own channel", "incidentId", inc.ID, "error", err)
		} else {
			t.OwnChannel, t.OwnChannelName, t.OwnChannelLink = ch.ID, ch.Name, ch.Link
		}
	}
	inc.Slack = t
	msg, err := s.render(ctx, notify.KindAlert, Message{Incident: inc})
	if err != nil {
		return nil, &PermanentError{Err: err}
	}
	ref, err := n.PostAlert(ctx, msg)
	if err != nil {
		return nil, err
	}
	t.Channel, t.TS = ref.Channel, ref.TS
	t.OwnTS = s.copyToOwnChannel(ctx, n, t, msg)
	return t, nil
}

// copyToOwnChannel posts msg in the incident's own channel too, so the
// people there read the alert and the resolution without leaving it, and
// returns the copy's ts ("" when it could not be posted).
func (s *SlackChannel) copyToOwnChannel(ctx context.Context, n SlackNotifier, t *incident.SlackThread, msg notify.Message) string {
	if t == nil || t.OwnChannel == "" {
		return ""
	}
	ref, err := n.Post(ctx, t.OwnChannel, msg)
	if err != nil {
		slog.WarnContext(ctx, "post to the incident's own channel", "incidentId", msg.IncidentID, "kind", msg.Kind, "error", err)
	}
	return ref.TS
}

// updateAlert edits the alert, and its copy in the incident's own
// channel, to say where the incident stands now.
func (s *SlackChannel) updateAlert(ctx context.Context, n SlackNotifier, inc incident.Incident) {
	t := inc.Slack
	if !t.Posted() {
		return
	}
	msg, err := s.render(ctx, notify.KindAlert, Message{Incident: inc})
	if err != nil {
		slog.WarnContext(ctx, "render the alert", "incidentId", inc.ID, "error", err)
		return
	}
	refs := []slack.MessageRef{{Channel: t.Channel, TS: t.TS}}
	if t.OwnChannel != "" && t.OwnTS != "" {
		refs = append(refs, slack.MessageRef{Channel: t.OwnChannel, TS: t.OwnTS})
	}
	for _, ref := range refs {
		if err := n.UpdateMessage(ctx, ref, msg); err != nil {
			slog.WarnContext(ctx, "update the alert", "incidentId", inc.ID, "channel", ref.Channel, "error", err)
		}
	}
}

// render renders a message of kind with the incident's own channel and
// the subject entry as facts.
func (s *SlackChannel) render(ctx context.Context, kind notify.Kind, m Message) (notify.Message, error) {
	f := notify.Facts{Entry: m.Entry, Reminder: m.Reminder}
	if t := m.Incident.Slack; t != nil {
		f.ChannelName, f.ChannelLink = t.OwnChannelName, t.OwnChannelLink
	}
	if kind == notify.KindAlert {
		f.Entry = nil
	}
	return s.Builder.Message(ctx, kind, m.Incident, m.Timeline, f)
}

// pagedUsers are the Slack users on call for every level paged in the
// current episode, and for the first level, which a new incident pages at
// once.
func (s *SlackChannel) pagedUsers(ctx context.Context, inc incident.Incident) []string {
	levels := []string{firstLevel(s.Builder)}
	for _, p := range inc.EpisodePages() {
		if p.Delivered() && !slices.Contains(levels, p.LevelName) {
			levels = append(levels, p.LevelName)
		}
	}
	var ids []string
	for _, l := range levels {
		for _, id := range s.usersOf(ctx, inc, l) {
			if !slices.Contains(ids, id) {
				ids = append(ids, id)
			}
		}
	}
	return ids
}

// usersOf are the Slack users on call for a level. A failed lookup is
// logged: an invitation never holds a message back.
func (s *SlackChannel) usersOf(ctx context.Context, inc incident.Incident, level string) []string {
	if s.OnCall == nil || level == "" {
		return nil
	}
	emails, err := s.OnCall.OnCallEmails(ctx, level)
	if err != nil {
		slog.WarnContext(ctx, "on-call lookup for the incident's channel", "incidentId", inc.ID, "level", level, "error", err)
		return nil
	}
	ids, unknown := s.Directory.SlackUserIDs(emails...)
	if len(unknown) > 0 {
		slog.InfoContext(ctx, "people on call without a Slack user in the directory", "incidentId", inc.ID, "level", level, "count", strconv.Itoa(len(unknown)))
	}
	return ids
}

func firstLevel(b *notify.Builder) string {
	p := b.Policy
	if len(p.Levels) == 0 {
		p = incident.DefaultPolicy()
	}
	if l, ok := p.Level(1); ok {
		return l.Name
	}
	return ""
}
