package comms

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/local/slacklocal"
)

const (
	alertLine = "🚨 INCIDENT: P0 Critical dashboarduz-api - API 5xx error rate above 5%"
	ownName   = "inc-20260301-030000-c0f8ae04e8"
)

// TestP0InSlackAndByEmail follows a P0 from its alarm to its resolution:
// the alert in #incidents with its buttons and a channel of its own with
// the people paged in it, every later message in the alert's thread, the
// resolution in the channel too, the alert edited as the incident moves
// on, and the stakeholders emailed at open, at the public update and at
// resolution.
func TestP0InSlackAndByEmail(t *testing.T) {
	e := newEnv(t)
	inc, _ := e.open(incident.P0)
	e.record(inc.ID, paged(t0, 1, "on-call"), func(inc *incident.Incident) {
		inc.RecordPage(incident.Page{Level: 1, LevelName: "on-call", At: t0, State: incident.PageSent, DedupKey: "k1"})
	})
	if err := e.notify(inc.ID); err != nil {
		t.Fatal(err)
	}
	want := []string{alertLine, "#" + ownName + " " + alertLine, "↳ 📟 PAGED: inc-20260301-030000-c0f8ae04e8 (P0 dashboarduz-api)"}
	if got := e.messages(); !slices.Equal(got, want) {
		t.Fatalf("messages after the opening:\n%q\nwant\n%q", got, want)
	}
	alert := e.slack.Messages()[0]
	if ack, res := hasButtons(t, alert); !ack || !res {
		t.Errorf("the alert's buttons: acknowledge %v, resolve %v", ack, res)
	}
	if !strings.Contains(blocksOf(t, alert), "#"+ownName) || !strings.Contains(blocksOf(t, alert), "https://dashboarduz.slack.com/archives/") {
		t.Errorf("the alert does not link the incident's channel: %s", blocksOf(t, alert))
	}
	ch := e.slack.Channels()[1]
	if ch.Name != ownName || !slices.Equal(ch.Members, []string{"U0DANA"}) {
		t.Errorf("own channel %s with %v, want %s with the on-call engineer", ch.Name, ch.Members, ownName)
	}
	stored := e.get(inc.ID)
	if !stored.Slack.Posted() || stored.Slack.TS != alert.TS || stored.Slack.OwnChannel != ch.ID || len(stored.Announcements) != 0 || len(stored.Deliveries) != 0 {
		t.Errorf("after the round: slack %+v, queue %v, ledger %+v", stored.Slack, stored.Announcements, stored.Deliveries)
	}

	e.clock.Set(t0.Add(5 * time.Minute))
	e.record(inc.ID, paged(t0.Add(5*time.Minute), 2, "team-lead"), nil)
	e.clock.Set(t0.Add(7 * time.Minute))
	e.record(inc.ID, incident.Entry{At: t0.Add(7 * time.Minute), Kind: incident.EntryAcknowledged, Actor: "omar@dashboarduz.example", Text: "Acknowledged by omar@dashboarduz.example."},
		func(inc *incident.Incident) {
			inc.Status, inc.AcknowledgedAt, inc.AcknowledgedBy = incident.Acknowledged, t0.Add(7*time.Minute), "omar@dashboarduz.example"
		})
	e.record(inc.ID, statusUpdate(t0.Add(10*time.Minute), true, "The 02:40 deploy broke database connections"), nil)
	e.record(inc.ID, statusUpdate(t0.Add(12*time.Minute), false, "Pool size was 1"), nil)
	if err := e.notify(inc.ID); err != nil {
		t.Fatal(err)
	}
	if ack, res := hasButtons(t, e.slack.Messages()[0]); ack || !res {
		t.Errorf("after the acknowledgement the alert's buttons: acknowledge %v, resolve %v; want only Resolve", ack, res)
	}
	if ch := e.slack.Channels()[1]; !slices.Equal(ch.Members, []string{"U0DANA", "U0OMAR"}) {
		t.Errorf("the team lead paged is not invited: %v", ch.Members)
	}

	e.clock.Set(t0.Add(31 * time.Minute))
	e.record(inc.ID, incident.Entry{At: t0.Add(31 * time.Minute), Kind: incident.EntryResolved, Actor: "omar@dashboarduz.example", Text: "Resolved."},
		func(inc *incident.Incident) {
			inc.Status, inc.ResolvedAt, inc.ResolvedBy, inc.RootCause = incident.Resolved, t0.Add(31*time.Minute), "omar@dashboarduz.example", "Pool size of 1"
		})
	if err := e.notify(inc.ID); err != nil {
		t.Fatal(err)
	}
	want = append(want,
		"↳ ⬆️ ESCALATED: inc-20260301-030000-c0f8ae04e8 (P0 dashboarduz-api)",
		"↳ ✋ ACKNOWLEDGED: inc-20260301-030000-c0f8ae04e8 (P0 dashboarduz-api)",
		"↳ 📊 INCIDENT UPDATE: inc-20260301-030000-c0f8ae04e8",
		"↳ 📊 INCIDENT UPDATE: inc-20260301-030000-c0f8ae04e8",
		"↳ ✅ INCIDENT RESOLVED: inc-20260301-030000-c0f8ae04e8",
		"#"+ownName+" ✅ INCIDENT RESOLVED: inc-20260301-030000-c0f8ae04e8",
	)
	if got := e.messages(); !slices.Equal(got, want) {
		t.Fatalf("messages:\n%q\nwant\n%q", got, want)
	}
	msgs := e.slack.Messages()
	if res := msgs[len(msgs)-2]; !res.Broadcast {
		t.Error("the resolution is not sent to the channel too")
	}
	if ack, res := hasButtons(t, msgs[0]); ack || res || msgs[0].Edits != 2 {
		t.Errorf("the resolved alert: buttons %v %v, %d edits; want none and 2 edits", ack, res, msgs[0].Edits)
	}
	if ack, res := hasButtons(t, msgs[1]); ack || res || msgs[1].Edits != 2 || msgs[1].ChannelName != ownName {
		t.Errorf("the alert's copy in %s: buttons %v %v, %d edits; want none and 2 edits", msgs[1].ChannelName, ack, res, msgs[1].Edits)
	}
	var subjects []string
	for _, m := range e.emails() {
		subjects = append(subjects, m.Subject)
		if !slices.Equal(m.To, []string{"stakeholders@dashboarduz.example"}) || !strings.Contains(m.Text, "inc-20260301-030000-c0f8ae04e8") || !strings.Contains(m.HTML, "<pre") {
			t.Errorf("email %q to %v:\n%s", m.Subject, m.To, m.Text)
		}
	}
	wantSubjects := []string{alertLine, "📊 INCIDENT UPDATE: inc-20260301-030000-c0f8ae04e8", "✅ INCIDENT RESOLVED: inc-20260301-030000-c0f8ae04e8"}
	if !slices.Equal(subjects, wantSubjects) {
		t.Errorf("emails %q, want %q", subjects, wantSubjects)
	}
	if !strings.Contains(e.emails()[1].Text, "The 02:40 deploy broke database connections") {
		t.Errorf("the public update's email says:\n%s", e.emails()[1].Text)
	}
	if stored := e.get(inc.ID); len(stored.Announcements) != 0 || len(stored.Deliveries) != 0 {
		t.Errorf("queue %v, ledger %+v after the last round", stored.Announcements, stored.Deliveries)
	}
}

// TestRetriedNotifySendsNothingTwice runs the task again with the entries
// its plan named, as Step Functions' retry of a task that timed out after
// finishing would.
func TestRetriedNotifySendsNothingTwice(t *testing.T) {
	e := newEnv(t)
	inc, opening := e.open(incident.P0)
	page := e.record(inc.ID, paged(t0, 1, "on-call"), nil)
	planned := incident.EscalationState{IncidentID: inc.ID, Action: incident.ActNotify, Entries: []string{opening.ID, page.ID}}
	for range 3 {
		if _, err := e.h.Handle(e.ctx, planned); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(e.slack.Messages()); n != 3 {
		t.Errorf("%d Slack messages, want 3 (the alert, its copy, the page):\n%q", n, e.messages())
	}
	if n := len(e.emails()); n != 1 {
		t.Errorf("%d emails, want 1", n)
	}
}

// TestConcurrentNotifySendsEachMessageOnce runs the task eight times at
// once on the same incident, as overlapping executions may.
func TestConcurrentNotifySendsEachMessageOnce(t *testing.T) {
	e := newEnv(t)
	inc, _ := e.open(incident.P1)
	for i := range 4 {
		e.record(inc.ID, statusUpdate(t0.Add(time.Duration(i+1)*time.Minute), true, "update "+string(rune('a'+i))), nil)
	}
	planned := e.get(inc.ID).Announcements
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := e.h.Handle(e.ctx, incident.EscalationState{IncidentID: inc.ID, Action: incident.ActNotify, Entries: planned})
			if err != nil && !pending(err) {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	// Those that found a message held wait for a later round, after the
	// holders have recorded theirs.
	for round := 0; len(e.get(inc.ID).Announcements) > 0; round++ {
		if round == 5 {
			t.Fatalf("queue still holds %v", e.get(inc.ID).Announcements)
		}
		if err := e.notify(inc.ID); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(e.slack.Messages()); n != 5 {
		t.Errorf("%d Slack messages, want 5 (the alert and four updates):\n%q", n, e.messages())
	}
	if n := len(e.emails()); n != 5 {
		t.Errorf("%d emails, want 5", n)
	}
	var order []string
	for _, m := range e.slack.Messages()[1:] {
		for _, l := range slacklocal.MessageLines(m) {
			if u, ok := strings.CutPrefix(l, "Update: update "); ok {
				order = append(order, u)
			}
		}
	}
	if !slices.Equal(order, []string{"a", "b", "c", "d"}) {
		t.Errorf("updates in the order %q, want a to d", order)
	}
}

// crashingStore fails RecordDelivery as a task that stopped between
// Slack's answer and its record would: the message is out, the ledger
// still holds the claim.
type crashingStore struct {
	Store
	mu      sync.Mutex
	crashes int
}

func (c *crashingStore) RecordDelivery(ctx context.Context, id string, d incident.Delivery, thread *incident.SlackThread) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.crashes > 0 && d.Channel == SlackChannelName {
		c.crashes--
		return errors.New("task stopped")
	}
	return c.Store.RecordDelivery(ctx, id, d, thread)
}

// TestCrashBetweenPostAndRecord: the claim holds the message for its
// lease, so no round posts it again meanwhile; once the lease has run
// out the next round posts it again (at least once, never silently lost)
// and goes on.
func TestCrashBetweenPostAndRecord(t *testing.T) {
	e := newEnv(t)
	inc, _ := e.open(incident.P2)
	e.record(inc.ID, paged(t0, 1, "on-call"), nil)
	crashing := &Handler{Store: &crashingStore{Store: e.store, crashes: 1}, Clock: e.clock, Channels: e.h.Channels[:1]}
	if err := e.notifyWith(crashing, inc.ID); err == nil || pending(err) {
		t.Fatalf("err = %v, want the crash", err)
	}
	if n := len(e.slack.Messages()); n != 1 {
		t.Fatalf("%d messages after the crash, want the alert", n)
	}
	e.clock.Set(t0.Add(time.Minute))
	if err := e.notifyWith(crashing, inc.ID); !pending(err) {
		t.Fatalf("within the lease: err = %v, want the message held", err)
	}
	if n := len(e.slack.Messages()); n != 1 {
		t.Fatalf("%d messages within the lease, want 1", n)
	}
	e.clock.Set(t0.Add(DefaultLease + time.Minute))
	if err := e.notifyWith(crashing, inc.ID); err != nil {
		t.Fatal(err)
	}
	want := []string{"🚨 INCIDENT: P2 Medium dashboarduz-api - API 5xx error rate above 5%", "🚨 INCIDENT: P2 Medium dashboarduz-api - API 5xx error rate above 5%",
		"↳ 📟 PAGED: inc-20260301-030000-c0f8ae04e8 (P2 dashboarduz-api)"}
	if got := e.messages(); !slices.Equal(got, want) {
		t.Errorf("messages %q, want the alert again after the lease and then the page", got)
	}
	if stored := e.get(inc.ID); len(stored.Announcements) != 0 || stored.Slack.TS != e.slack.Messages()[1].TS {
		t.Errorf("queue %v, thread %+v", stored.Announcements, stored.Slack)
	}
}

// TestHeldClaimWaits: a message another Notify holds is neither sent nor
// overtaken by the channel's later messages.
func TestHeldClaimWaits(t *testing.T) {
	e := newEnv(t)
	inc, opening := e.open(incident.P2)
	e.record(inc.ID, paged(t0, 1, "on-call"), nil)
	if _, err := e.store.ClaimDelivery(e.ctx, inc.ID, incident.Delivery{Channel: SlackChannelName, Subject: opening.ID, State: incident.DeliveryClaimed,
		Attempts: 1, At: t0, LeaseUntil: t0.Add(DefaultLease)}, t0); err != nil {
		t.Fatal(err)
	}
	err := e.notify(inc.ID)
	if !pending(err) || !strings.Contains(err.Error(), "held") {
		t.Fatalf("err = %v, want the held alert named", err)
	}
	if n := len(e.slack.Messages()); n != 0 {
		t.Errorf("%d messages posted past a held alert", n)
	}
}

func TestRateLimitsAreHonoured(t *testing.T) {
	e := newEnv(t)
	inc, _ := e.open(incident.P2)
	// A short Retry-After is waited out within the call.
	e.slack.FailNext("chat.postMessage", 1, slacklocal.Failure{Status: 429, RetryAfter: 2 * time.Second})
	if err := e.notify(inc.ID); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(e.sleeps, []time.Duration{2 * time.Second}) || len(e.slack.Messages()) != 1 {
		t.Fatalf("waits %v, %d messages; want one 2s wait and the alert", e.sleeps, len(e.slack.Messages()))
	}

	// A long one makes the message wait for a later round, not before
	// Slack asked.
	e.record(inc.ID, paged(t0, 1, "on-call"), nil)
	e.slack.FailNext("chat.postMessage", 1, slacklocal.Failure{Status: 429, RetryAfter: 45 * time.Second})
	err := e.notify(inc.ID)
	if !pending(err) || !strings.Contains(err.Error(), "rate-limited") {
		t.Fatalf("err = %v, want the rate limit to wait", err)
	}
	failed := e.timeline(inc.ID, incident.EntryNotifyFailed)
	if len(failed) != 1 || !strings.Contains(failed[0].Text, "attempt 1 of 8") || !strings.Contains(failed[0].Text, "in 45s") {
		t.Fatalf("timeline failures %+v", failed)
	}
	calls := e.slack.CallCount("chat.postMessage")
	e.clock.Set(t0.Add(20 * time.Second))
	if err := e.notify(inc.ID); !pending(err) {
		t.Fatalf("before Retry-After: err = %v", err)
	}
	if e.slack.CallCount("chat.postMessage") != calls {
		t.Fatal("Slack was called again before its Retry-After")
	}
	e.clock.Set(t0.Add(46 * time.Second))
	if err := e.notify(inc.ID); err != nil {
		t.Fatal(err)
	}
	if got := e.messages(); len(got) != 2 || !strings.HasPrefix(got[1], "↳ 📟 PAGED") {
		t.Errorf("messages %q", got)
	}
}

// TestFailedMessageIsRetriedThenGivenUp: Slack keeps failing; each
// attempt is on the timeline, the last says it gave up, and later
// messages go on without the alert's failure holding them for ever. The
// email channel is not held back by Slack's failures.
func TestFailedMessageIsRetriedThenGivenUp(t *testing.T) {
	e := newEnv(t)
	e.h.MaxAttempts = 3
	inc, _ := e.open(incident.P1)
	e.record(inc.ID, paged(t0, 1, "on-call"), nil)
	e.slack.FailNext("chat.postMessage", 3, slacklocal.Failure{Status: 503})
	at := t0
	for attempt := 1; attempt <= 2; attempt++ {
		if err := e.notify(inc.ID); !pending(err) {
			t.Fatalf("attempt %d: err = %v, want it to wait", attempt, err)
		}
		at = at.Add(maxRetryWait)
		e.clock.Set(at)
	}
	if n := len(e.emails()); n != 1 {
		t.Errorf("%d emails while Slack fails, want the alert's", n)
	}
	if err := e.notify(inc.ID); err != nil {
		t.Fatal(err)
	}
	failed := e.timeline(inc.ID, incident.EntryNotifyFailed)
	if len(failed) != 3 || failed[2].Data["gaveUp"] != "true" || !strings.Contains(failed[2].Text, "gave up on the alert message") || !strings.Contains(failed[2].Text, "after 3 attempts") {
		t.Fatalf("timeline failures:\n%+v", failed)
	}
	// The page, next, still starts a thread: it posts the alert first.
	want := []string{"🚨 INCIDENT: P1 High dashboarduz-api - API 5xx error rate above 5%", "↳ 📟 PAGED: inc-20260301-030000-c0f8ae04e8 (P1 dashboarduz-api)"}
	if got := e.messages(); !slices.Equal(got, want) {
		t.Errorf("messages %q, want %q", got, want)
	}
	if stored := e.get(inc.ID); len(stored.Announcements) != 0 || len(stored.Deliveries) != 0 {
		t.Errorf("queue %v, ledger %+v", stored.Announcements, stored.Deliveries)
	}
}

// TestRefusedMessageIsGivenUpAtOnce: Slack refuses the message itself; no
// retry would cure it.
func TestRefusedMessageIsGivenUpAtOnce(t *testing.T) {
	e := newEnv(t)
	inc, _ := e.open(incident.P2)
	e.record(inc.ID, paged(t0, 1, "on-call"), nil)
	e.slack.FailNext("chat.postMessage", 1, slacklocal.Failure{Error: "invalid_blocks"})
	if err := e.notify(inc.ID); err != nil {
		t.Fatal(err)
	}
	failed := e.timeline(inc.ID, incident.EntryNotifyFailed)
	if len(failed) != 1 || failed[0].Data["gaveUp"] != "true" || !strings.Contains(failed[0].Text, "invalid_blocks") {
		t.Fatalf("timeline failures %+v", failed)
	}
	if got := e.messages(); len(got) != 2 {
		t.Errorf("messages %q, want the alert (with the page) and the page", got)
	}
}

// TestWithoutChannelsTheQueueDrains: with nothing configured, the task
// takes the announcements off the queue and fails nothing.
func TestWithoutChannelsTheQueueDrains(t *testing.T) {
	e := newEnv(t)
	inc, _ := e.open(incident.P0)
	e.record(inc.ID, paged(t0, 1, "on-call"), nil)
	if err := e.notifyWith(&Handler{Store: e.store, Clock: e.clock}, inc.ID); err != nil {
		t.Fatal(err)
	}
	if stored := e.get(inc.ID); len(stored.Announcements) != 0 {
		t.Errorf("queue %v", stored.Announcements)
	}
	if len(e.slack.Calls()) != 0 || len(e.emails()) != 0 {
		t.Error("something was sent without channels")
	}
}

// TestRemindersGoToTheThread: the post-mortem's reminders go to the
// incident's thread, and to the channel, once each.
func TestRemindersGoToTheThread(t *testing.T) {
	e := newEnv(t)
	inc, _ := e.open(incident.P2)
	resolvedAt := t0.Add(time.Hour)
	e.clock.Set(resolvedAt)
	e.record(inc.ID, incident.Entry{At: resolvedAt, Kind: incident.EntryResolved, Actor: "dana@dashboarduz.example", Text: "Resolved."}, func(inc *incident.Incident) {
		inc.Status, inc.ResolvedAt, inc.RootCause = incident.Resolved, resolvedAt, "A bad deploy"
	})
	if err := e.notify(inc.ID); err != nil {
		t.Fatal(err)
	}
	for _, at := range []time.Duration{36 * time.Hour, 37 * time.Hour, 48 * time.Hour, 49 * time.Hour} {
		e.clock.Set(resolvedAt.Add(at))
		if err := e.notify(inc.ID); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"🚨 INCIDENT: P2 Medium dashboarduz-api - API 5xx error rate above 5%", "↳ ✅ INCIDENT RESOLVED: inc-20260301-030000-c0f8ae04e8",
		"↳ 📝 POST-MORTEM REMINDER: inc-20260301-030000-c0f8ae04e8 (P2 dashboarduz-api)", "↳ 📝 POST-MORTEM REMINDER: inc-20260301-030000-c0f8ae04e8 (P2 dashboarduz-api)"}
	if got := e.messages(); !slices.Equal(got, want) {
		t.Fatalf("messages %q, want %q", got, want)
	}
	msgs := e.slack.Messages()
	if !msgs[2].Broadcast || !strings.Contains(strings.Join(slacklocal.MessageLines(msgs[2]), "\n"), "Due in 12h") ||
		!strings.Contains(strings.Join(slacklocal.MessageLines(msgs[3]), "\n"), "Overdue") {
		t.Errorf("reminders:\n%s\n%s", slacklocal.MessageLines(msgs[2]), slacklocal.MessageLines(msgs[3]))
	}
	if stored := e.get(inc.ID); len(stored.Reminded) != 2 || len(stored.Deliveries) != 0 {
		t.Errorf("reminded %v, ledger %+v", stored.Reminded, stored.Deliveries)
	}
}

// TestEmailRules: stakeholders hear of P0 and P1 incidents at open, at
// each public update and at resolution, and of nothing else.
func TestEmailRules(t *testing.T) {
	ch := &EmailChannel{}
	tests := []struct {
		sev   incident.Severity
		entry incident.Entry
		want  bool
	}{
		{incident.P0, incident.Entry{Kind: incident.EntryOpened}, true},
		{incident.P1, incident.Entry{Kind: incident.EntryReported}, true},
		{incident.P2, incident.Entry{Kind: incident.EntryOpened}, false},
		{incident.P3, incident.Entry{Kind: incident.EntryResolved}, false},
		{incident.P1, statusUpdate(t0, true, "public"), true},
		{incident.P1, statusUpdate(t0, false, "internal"), false},
		{incident.P2, statusUpdate(t0, true, "public"), false},
		{incident.P0, incident.Entry{Kind: incident.EntryResolved}, true},
		{incident.P0, paged(t0, 1, "on-call"), false},
		{incident.P0, incident.Entry{Kind: incident.EntryAcknowledged}, false},
		{incident.P0, incident.Entry{Kind: incident.EntryBreach}, false},
		{incident.P0, incident.Entry{Kind: incident.EntryTriage}, false},
	}
	for _, tt := range tests {
		if got := ch.Announces(incident.Incident{Severity: tt.sev}, tt.entry); got != tt.want {
			t.Errorf("%s %s (public %q): %v, want %v", tt.sev, tt.entry.Kind, tt.entry.Data[incident.DataPublic], got, tt.want)
		}
	}
	only := &EmailChannel{Severities: []incident.Severity{incident.P2}}
	if !only.Announces(incident.Incident{Severity: incident.P2}, incident.Entry{Kind: incident.EntryOpened}) ||
		only.Announces(incident.Incident{Severity: incident.P0}, incident.Entry{Kind: incident.EntryOpened}) {
		t.Error("configured severities are not followed")
	}
	if ch.Reminds(incident.Incident{Severity: incident.P0}) {
		t.Error("post-mortem reminders are emailed")
	}
}

// TestEmailFailureIsRetried: SES throttles; the email waits for a later
// round and Slack goes on.
func TestEmailFailureIsRetried(t *testing.T) {
	e := newEnv(t)
	inc, _ := e.open(incident.P0)
	if err := e.aws.AddFault(awslocalThrottle()); err != nil {
		t.Fatal(err)
	}
	if err := e.notify(inc.ID); !pending(err) {
		t.Fatalf("err = %v, want the email to wait", err)
	}
	if len(e.slack.Messages()) == 0 || len(e.emails()) != 0 {
		t.Fatalf("%d Slack messages, %d emails", len(e.slack.Messages()), len(e.emails()))
	}
	e.aws.ClearFaults()
	e.clock.Set(t0.Add(time.Minute))
	if err := e.notify(inc.ID); err != nil {
		t.Fatal(err)
	}
	if n := len(e.emails()); n != 1 {
		t.Errorf("%d emails, want 1", n)
	}
}

// endlessTimeline stands in for a timeline too long to read whole: every
// page before the newest is full of older signals, with more to come.
type endlessTimeline struct {
	Store
	pages int
}

func (s *endlessTimeline) TimelinePage(ctx context.Context, id, before string, limit int) (incident.Incident, []incident.Entry, bool, error) {
	s.pages++
	if before == "" {
		inc, page, _, err := s.Store.TimelinePage(ctx, id, before, limit)
		return inc, page, true, err
	}
	page := make([]incident.Entry, limit)
	for i := range page {
		at := t0.Add(-time.Duration(s.pages*limit-i) * time.Second)
		page[i] = incident.Entry{ID: incident.EntryID(at, fmt.Sprintf("event/old-%d-%d", s.pages, i)), At: at, Kind: incident.EntrySignal, Actor: "alarm-ingest", Text: "Alarm still firing."}
	}
	return incident.Incident{}, page, true, nil
}

// TestResolutionReadsABoundedTimeline: however long the timeline, the
// resolution's summary reads a few pages of its latest entries, and the
// resolution goes out.
func TestResolutionReadsABoundedTimeline(t *testing.T) {
	e := newEnv(t)
	inc, _ := e.open(incident.P2)
	if err := e.notify(inc.ID); err != nil {
		t.Fatal(err)
	}
	resolvedAt := t0.Add(time.Hour)
	e.clock.Set(resolvedAt)
	e.record(inc.ID, incident.Entry{At: resolvedAt, Kind: incident.EntryResolved, Actor: "dana@dashboarduz.example", Text: "Resolved."}, func(inc *incident.Incident) {
		inc.Status, inc.ResolvedAt, inc.RootCause = incident.Resolved, resolvedAt, "A bad deploy"
	})
	long := &endlessTimeline{Store: e.store}
	h := *e.h
	h.Store = long
	if err := e.notifyWith(&h, inc.ID); err != nil {
		t.Fatal(err)
	}
	// The newest page holds the few real entries, then full pages until
	// resolutionHistory entries are read.
	if most := resolutionHistory/incident.MaxTimelinePage + 1; long.pages > most {
		t.Errorf("read %d timeline pages, want at most %d", long.pages, most)
	}
	if got := e.messages(); !slices.ContainsFunc(got, func(m string) bool { return strings.Contains(m, "INCIDENT RESOLVED") }) {
		t.Errorf("messages %q, want the resolution", got)
	}
}

// TestRaisedToP0OpensItsOwnChannel: an incident raised to a severity that
// gets its own channel gets it with the change: the channel is opened, the
// alert is copied there as it reads now, and the alert in #incidents is
// edited to the new severity and links the channel.
func TestRaisedToP0OpensItsOwnChannel(t *testing.T) {
	e := newEnv(t)
	inc, _ := e.open(incident.P2)
	if err := e.notify(inc.ID); err != nil {
		t.Fatal(err)
	}
	if th := e.get(inc.ID).Slack; th == nil || th.OwnChannel != "" {
		t.Fatalf("thread of the P2 %+v, want one without a channel of its own", th)
	}
	raised := t0.Add(10 * time.Minute)
	e.clock.Set(raised)
	e.record(inc.ID, incident.Entry{At: raised, Kind: incident.EntrySeverityChanged, Actor: "omar@dashboarduz.example",
		Text: "Severity changed from P2 to P0 by omar@dashboarduz.example: every request fails", Data: map[string]string{"from": "P2", "to": "P0"}},
		func(inc *incident.Incident) { inc.Severity = incident.P0 })
	if err := e.notify(inc.ID); err != nil {
		t.Fatal(err)
	}
	th := e.get(inc.ID).Slack
	if th == nil || th.OwnChannel == "" || th.OwnChannelName != ownName || th.OwnTS == "" {
		t.Fatalf("thread after the raise %+v, want the incident's own channel with the alert's copy", th)
	}
	if got, want := e.messages()[len(e.messages())-1], "#"+ownName+" "+alertLine; got != want {
		t.Errorf("last message %q, want the alert copied to its own channel: %q", got, want)
	}
	alert := e.slack.Messages()[0]
	if alert.Edits < 1 || !strings.HasPrefix(alert.Text, alertLine) || !strings.Contains(string(alert.Blocks), "#"+ownName) {
		t.Errorf("the alert in #incidents (%d edits): %s\n%s\nwant it edited to P0 with the channel's link", alert.Edits, alert.Text, alert.Blocks)
	}
}
