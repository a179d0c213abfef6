package comms

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"github.com/dashboarduz/incident-response/shared/dynamo"
	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/local/awslocal"
	"github.com/dashboarduz/incident-response/shared/local/dynamotest"
	"github.com/dashboarduz/incident-response/shared/local/sfnlocal"
	"github.com/dashboarduz/incident-response/shared/local/slacklocal"
	"github.com/dashboarduz/incident-response/shared/notify"
	"github.com/dashboarduz/incident-response/shared/ses"
	"github.com/dashboarduz/incident-response/shared/slack"
)

// TestMain keeps the handler's logs out of the output unless -v is given.
func TestMain(m *testing.M) { dynamotest.MainQuiet(m) }

var t0 = time.Date(2026, 3, 1, 3, 0, 0, 0, time.UTC)

const botToken = "xoxb-comms-test"

// roster is who is on call, by level: names for the messages, emails for
// the invitations.
type roster map[string][][2]string

func (r roster) OnCallNames(_ context.Context, level string) ([]string, error) {
	var out []string
	for _, p := range r[level] {
		out = append(out, p[0])
	}
	return out, nil
}

func (r roster) OnCallEmails(_ context.Context, level string) ([]string, error) {
	var out []string
	for _, p := range r[level] {
		out = append(out, p[1])
	}
	return out, nil
}

var people = roster{
	"on-call":   {{"Dana Whitfield", "dana@dashboarduz.example"}},
	"team-lead": {{"Omar Haddad", "omar@dashboarduz.example"}},
}

// env is a Notify task against dynalite, a local Slack and a local SES.
type env struct {
	t      *testing.T
	ctx    context.Context
	clock  *sfnlocal.VirtualClock
	store  *dynamo.Store
	slack  *slacklocal.Server
	aws    *awslocal.Server
	sleeps []time.Duration
	h      *Handler
}

// newEnv builds the task with the Slack and email channels.
func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, ctx: context.Background(), clock: sfnlocal.NewVirtualClock(t0), store: dynamotest.New(t)}
	var err error
	if e.slack, err = slacklocal.Start(slacklocal.Options{Clock: e.clock, Token: botToken}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.slack.Close)
	if e.aws, err = awslocal.Start(awslocal.Options{Clock: e.clock, World: awslocal.World{VerifiedIdentities: []string{"dashboarduz.example"}}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.aws.Close() })
	builder := &notify.Builder{OnCall: people, Clock: e.clock}
	dir, err := slack.NewDirectory(
		slack.Responder{SlackUserID: "U0DANA", Email: "dana@dashboarduz.example", Name: "Dana Whitfield"},
		slack.Responder{SlackUserID: "U0OMAR", Email: "omar@dashboarduz.example", Name: "Omar Haddad"},
	)
	if err != nil {
		t.Fatal(err)
	}
	sender, err := ses.NewSender(sesv2.NewFromConfig(e.aws.AWSConfig()), "Incidents <incidents@dashboarduz.example>")
	if err != nil {
		t.Fatal(err)
	}
	notifier := slack.New(slack.NewAPI(botToken, slack.ClientOptions{APIURL: e.slack.URL}), slack.Options{
		Sleep: func(_ context.Context, d time.Duration) error { e.sleeps = append(e.sleeps, d); return nil },
	})
	e.h = &Handler{Store: e.store, Clock: e.clock, Channels: []Channel{
		&SlackChannel{Connect: func(context.Context) (SlackNotifier, error) { return notifier, nil }, Builder: builder, OnCall: people, Directory: dir},
		&EmailChannel{Sender: sender, To: []string{"stakeholders@dashboarduz.example"}, Builder: builder},
	}}
	return e
}

// open stores a P0 opened by an alarm at t0 with its opening entry queued.
func (e *env) open(sev incident.Severity) (incident.Incident, incident.Entry) {
	e.t.Helper()
	inc := incident.Incident{
		ID: "inc-20260301-030000-c0f8ae04e8", Title: string(sev) + " dashboarduz-api - API 5xx error rate above 5%",
		Service: "dashboarduz-api", Category: incident.ServiceDown, Severity: sev, Status: incident.Triggered,
		Source: "cloudwatch", DedupKey: "alarm", Summary: "API 5xx error rate above 5%", OpenedAt: t0,
		SignalState: incident.Firing, SignalAt: t0,
	}
	opening := incident.Entry{ID: incident.EntryID(t0, "event/open"), At: t0, Kind: incident.EntryOpened, Actor: "alarm-ingest",
		Text: "Incident opened: " + string(sev) + " dashboarduz-api (service-down)."}
	inc.Announce(opening.ID)
	if err := e.store.CreateIncident(e.ctx, inc, opening); err != nil {
		e.t.Fatal(err)
	}
	return e.get(inc.ID), opening
}

func (e *env) get(id string) incident.Incident {
	e.t.Helper()
	inc, err := e.store.GetIncident(e.ctx, id)
	if err != nil {
		e.t.Fatal(err)
	}
	return inc
}

// record appends an entry and queues it, changing the incident as its
// writer would.
func (e *env) record(id string, entry incident.Entry, change func(*incident.Incident)) incident.Entry {
	e.t.Helper()
	if entry.ID == "" {
		entry.ID = incident.EntryID(entry.At, string(entry.Kind)+"/"+fmt.Sprint(entry.At.Unix()))
	}
	if _, err := incident.Update(e.ctx, e.store, e.get(id), func(inc *incident.Incident) bool {
		if change != nil {
			change(inc)
		}
		inc.Announce(entry.ID)
		return true
	}); err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.store.AppendTimeline(e.ctx, id, entry); err != nil {
		e.t.Fatal(err)
	}
	return entry
}

// notify runs the task as the state machine would after a plan: with the
// entries queued now.
func (e *env) notify(id string) error {
	e.t.Helper()
	return e.notifyWith(e.h, id)
}

func (e *env) notifyWith(h *Handler, id string) error {
	e.t.Helper()
	inc := e.get(id)
	_, err := h.Handle(e.ctx, incident.EscalationState{IncidentID: id, Action: incident.ActNotify, Entries: inc.Announcements})
	return err
}

// messages returns the first line of every Slack message, in order, with
// "↳ " before thread replies and the channel's name before messages
// elsewhere than #incidents.
func (e *env) messages() []string {
	var out []string
	for _, m := range e.slack.Messages() {
		line := slacklocal.MessageLines(m)[0]
		if m.ThreadTS != "" {
			line = "↳ " + line
		}
		if m.ChannelName != slacklocal.DefaultChannelName {
			line = "#" + m.ChannelName + " " + line
		}
		out = append(out, line)
	}
	return out
}

func (e *env) emails() []awslocal.Email { return e.aws.World().Emails }

// timeline returns the timeline's entries of kind.
func (e *env) timeline(id string, kind incident.EntryKind) []incident.Entry {
	e.t.Helper()
	tl, err := e.store.Timeline(e.ctx, id)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []incident.Entry
	for _, x := range tl {
		if x.Kind == kind {
			out = append(out, x)
		}
	}
	return out
}

func pending(err error) bool {
	var p *AnnouncementsPendingError
	return errors.As(err, &p)
}

func paged(at time.Time, level int, name string) incident.Entry {
	return incident.Entry{ID: incident.EntryID(at, fmt.Sprintf("page/%d", level)), At: at, Kind: incident.EntryPaged, Actor: "escalation",
		Text: fmt.Sprintf("Paged level %d (%s) through PagerDuty: a new incident pages the first level at once.", level, name),
		Data: map[string]string{"level": fmt.Sprint(level), "levelName": name}}
}

func statusUpdate(at time.Time, public bool, msg string) incident.Entry {
	data := map[string]string{"status": "mitigating", "message": msg, incident.DataActions: "Rolling back the 02:40 deploy"}
	if public {
		data[incident.DataPublic] = "true"
	}
	return incident.Entry{ID: incident.EntryID(at, "api/update/"+msg), At: at, Kind: incident.EntryStatusUpdate, Actor: "dana@dashboarduz.example", Text: msg, Data: data}
}

// blocksOf decodes a message's blocks.
func blocksOf(t *testing.T, m slacklocal.Message) string {
	t.Helper()
	var v any
	if err := json.Unmarshal(m.Blocks, &v); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func hasButtons(t *testing.T, m slacklocal.Message) (ack, resolve bool) {
	b := blocksOf(t, m)
	return strings.Contains(b, notify.ActionAcknowledge), strings.Contains(b, notify.ActionResolve)
}

// awslocalThrottle throttles every SES call until cleared.
func awslocalThrottle() awslocal.Fault {
	return awslocal.Fault{Service: "ses", Kind: awslocal.Throttle}
}
