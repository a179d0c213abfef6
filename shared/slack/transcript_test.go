package slack

import (
	"context"
	"flag"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/local/slacklocal"
	"github.com/dashboarduz/incident-response/shared/notify"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// names is a fixed on-call roster.
type names map[string][]string

func (n names) OnCallNames(_ context.Context, level string) ([]string, error) { return n[level], nil }

// TestP0Transcript plays a P0 through the Notifier as the escalation loop
// will: a channel of its own, the alert with its link, a reply per
// timeline entry, the resolution in the thread and the channel, and the
// alert edited without its buttons. The transcript is what #incidents
// shows.
func TestP0Transcript(t *testing.T) {
	clock := &movingClock{t: t0}
	srv := startSlack(t, slacklocal.Options{Clock: clock})
	n := newNotifier(srv, &sleeper{}, Options{})
	b := &notify.Builder{Clock: clock, OnCall: names{"on-call": {"Dana Whitfield"}, "team-lead": {"Omar Haddad"}},
		IncidentURL: func(id string) string { return "https://incidents.dashboarduz.example/incidents/" + id }}
	ctx := context.Background()
	inc := p0()
	var timeline []incident.Entry
	dir := testDirectory(t)

	ids, _ := dir.SlackUserIDs("dana@dashboarduz.example")
	ch, err := n.OpenIncidentChannel(ctx, inc.ID, ids)
	if err != nil {
		t.Fatal(err)
	}
	facts := notify.Facts{ChannelName: ch.Name, ChannelLink: ch.Link, Affected: "every dashboard user"}
	msg := func(kind notify.Kind) notify.Message {
		m, err := b.Message(ctx, kind, inc, timeline, facts)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	alert, err := n.PostAlert(ctx, msg(notify.KindAlert))
	if err != nil {
		t.Fatal(err)
	}
	step := func(after time.Duration, e incident.Entry, change func()) {
		t.Helper()
		clock.t = t0.Add(after)
		e.At = clock.t
		if change != nil {
			change()
		}
		timeline = append(timeline, e)
		kind, ok := notify.KindOf(e)
		if !ok {
			t.Fatalf("entry %s announces nothing", e.Kind)
		}
		send := n.Reply
		if kind == notify.KindResolution {
			send = n.PostResolution
		}
		if _, err := send(ctx, alert, msg(kind)); err != nil {
			t.Fatal(err)
		}
	}
	step(0, incident.Entry{Kind: incident.EntryPaged, Actor: "escalation", Text: "Paged On-Call Engineer (level 1, on-call) through PagerDuty.", Data: map[string]string{"level": "1", "levelName": "on-call"}}, nil)
	step(5*time.Minute, incident.Entry{Kind: incident.EntryBreach, Actor: "escalation", Data: map[string]string{"target": "response", "severity": "P0"}}, nil)
	step(5*time.Minute, incident.Entry{Kind: incident.EntryPaged, Actor: "escalation", Text: "Paged Team Lead (level 2, team-lead) through PagerDuty: on-call did not acknowledge within 5m0s.", Data: map[string]string{"level": "2", "levelName": "team-lead"}}, nil)
	step(7*time.Minute, incident.Entry{Kind: incident.EntryAcknowledged, Actor: "omar@dashboarduz.example", Text: "Acknowledged by omar@dashboarduz.example."}, func() {
		inc.Status, inc.AcknowledgedAt, inc.AcknowledgedBy = incident.Acknowledged, clock.t, "omar@dashboarduz.example"
	})
	if err := n.UpdateMessage(ctx, alert, msg(notify.KindAlert)); err != nil {
		t.Fatal(err)
	}
	step(12*time.Minute, incident.Entry{Kind: incident.EntryStatusUpdate, Actor: "omar@dashboarduz.example", Data: map[string]string{
		"status": "mitigating", "message": "The 02:40 deploy broke database connections", "actions": "Rolling back to task definition 41", "eta": t0.Add(30 * time.Minute).Format(time.RFC3339)}}, func() {
		inc.Status = incident.Mitigating
	})
	step(15*time.Minute, incident.Entry{Kind: "remediation", Actor: "omar@dashboarduz.example", Data: map[string]string{
		"action": "Roll back dashboarduz-api to task definition 41", "outcome": "Deployment completed; 5xx rate back under 1%", "state": "succeeded"}}, nil)
	step(31*time.Minute, incident.Entry{Kind: incident.EntryResolved, Actor: "omar@dashboarduz.example"}, func() {
		inc.Status, inc.ResolvedAt, inc.ResolvedBy = incident.Resolved, clock.t, "omar@dashboarduz.example"
		inc.RootCause, inc.Resolution = "The 02:40 deploy shipped a connection-pool size of 1", "Rolled back to task definition 41"
	})
	if err := n.UpdateMessage(ctx, alert, msg(notify.KindAlert)); err != nil {
		t.Fatal(err)
	}

	var got strings.Builder
	if err := srv.Transcript(&got, "#incidents", nil); err != nil {
		t.Fatal(err)
	}
	const path = "testdata/p0-transcript.golden"
	if *update {
		if err := os.WriteFile(path, []byte(got.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -update writes it)", err)
	}
	if got.String() != string(want) {
		t.Errorf("transcript differs from %s (go test -update rewrites it):\n%s", path, got.String())
	}
	if chans := srv.Channels(); len(chans) != 2 || chans[1].Name != "inc-20260301-030000-c0f8ae04e8" || strings.Join(chans[1].Members, ",") != "U024BE7LH" {
		t.Errorf("channels %+v", chans)
	}
}

// movingClock is a clock the test moves by hand.
type movingClock struct{ t time.Time }

func (c *movingClock) Now() time.Time { return c.t }
