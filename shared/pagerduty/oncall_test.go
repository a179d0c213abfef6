package pagerduty_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/local/pagerdutylocal"
	"github.com/dashboarduz/incident-response/shared/notify"
	"github.com/dashboarduz/incident-response/shared/pagerduty"
)

// The finder names people in the messages package notify renders.
var _ notify.OnCallFinder = (*pagerduty.OnCallFinder)(nil)

const restKey = "y_NbAkKc66ryYTWUXYEu"

var onCallT0 = time.Date(2026, 3, 1, 3, 0, 0, 0, time.UTC)

// movingClock is a clock the test moves by hand.
type movingClock struct{ t time.Time }

func (c *movingClock) Now() time.Time { return c.t }

func roster() []pagerdutylocal.OnCall {
	return []pagerdutylocal.OnCall{
		{EscalationPolicyID: "PONCALL", EscalationPolicyName: "Dashboarduz On-Call", Level: 1, UserID: "PDANA01", UserName: "Dana Whitfield", UserEmail: "dana@dashboarduz.example",
			ScheduleID: "PSCHED1", Start: onCallT0.Add(-10 * time.Hour), End: onCallT0.Add(14 * time.Hour)},
		{EscalationPolicyID: "PONCALL", Level: 1, UserID: "PSAM001", UserName: "Sam Roe", UserEmail: "sam@dashboarduz.example",
			ScheduleID: "PSCHED1", Start: onCallT0.Add(-34 * time.Hour), End: onCallT0.Add(-10 * time.Hour)},
		{EscalationPolicyID: "PONCALL", Level: 2, UserID: "POMAR01", UserName: "Omar Haddad", UserEmail: "omar@dashboarduz.example"},
		{EscalationPolicyID: "PLEAD01", Level: 1, UserID: "POMAR01", UserName: "Omar Haddad", UserEmail: "omar@dashboarduz.example"},
		{EscalationPolicyID: "PLEAD01", Level: 1, UserID: "PLENA01", UserName: "Lena Park", UserEmail: "lena@dashboarduz.example"},
	}
}

func onCallSetup(t *testing.T, clock incident.Clock) (*pagerduty.OnCallFinder, *pagerdutylocal.Server) {
	t.Helper()
	srv, err := pagerdutylocal.Start(pagerdutylocal.New(clock))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	srv.SetOnCalls(roster())
	srv.SetAPIToken(restKey)
	f := &pagerduty.OnCallFinder{
		API:      pagerduty.NewRESTClient(restKey, srv.URL),
		Policies: map[string]string{"on-call": "PONCALL", "team-lead": "PLEAD01"},
		Clock:    clock,
	}
	return f, srv
}

func TestOnCallByName(t *testing.T) {
	clock := &movingClock{t: onCallT0}
	f, _ := onCallSetup(t, clock)
	ctx := context.Background()
	users, err := f.OnCall(ctx, "on-call")
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(users) != "[{PDANA01 Dana Whitfield dana@dashboarduz.example}]" {
		t.Errorf("on-call = %v, want Dana only: Sam's shift ended and Omar is the policy's second level", users)
	}
	names, err := f.OnCallNames(ctx, "team-lead")
	if err != nil || strings.Join(names, ", ") != "Omar Haddad, Lena Park" {
		t.Errorf("team-lead names = %v, %v", names, err)
	}
	emails, err := f.OnCallEmails(ctx, "team-lead")
	if err != nil || strings.Join(emails, ",") != "omar@dashboarduz.example,lena@dashboarduz.example" {
		t.Errorf("team-lead emails = %v, %v", emails, err)
	}
	if _, err := f.OnCall(ctx, "cto"); incident.ErrorCode(err) != incident.ENotFound {
		t.Errorf("a level without a policy: %v, want not_found", err)
	}
}

func TestOnCallIsKeptBriefly(t *testing.T) {
	clock := &movingClock{t: onCallT0}
	f, srv := onCallSetup(t, clock)
	ctx := context.Background()
	for range 3 {
		if _, err := f.OnCall(ctx, "on-call"); err != nil {
			t.Fatal(err)
		}
	}
	if n := srv.OnCallRequests(); n != 1 {
		t.Errorf("%d requests for three lookups within the TTL, want 1", n)
	}
	clock.t = clock.t.Add(pagerduty.DefaultOnCallTTL)
	if _, err := f.OnCall(ctx, "on-call"); err != nil {
		t.Fatal(err)
	}
	if n := srv.OnCallRequests(); n != 2 {
		t.Errorf("%d requests after the TTL, want 2", n)
	}

	// PagerDuty down: the last answer serves while it is not too old.
	srv.FailNextOnCalls(2, pagerdutylocal.Failure{Status: 503})
	clock.t = clock.t.Add(5 * time.Minute)
	if users, err := f.OnCall(ctx, "on-call"); err != nil || len(users) != 1 {
		t.Errorf("with PagerDuty down and a 5-minute-old answer: %v, %v", users, err)
	}
	clock.t = clock.t.Add(pagerduty.DefaultOnCallStale)
	if _, err := f.OnCall(ctx, "on-call"); err == nil || !strings.Contains(err.Error(), "PONCALL") {
		t.Errorf("with PagerDuty down and a stale answer: %v, want an error naming the policy", err)
	}
}

func TestOnCallRefusedKey(t *testing.T) {
	f, srv := onCallSetup(t, &movingClock{t: onCallT0})
	f.API = pagerduty.NewRESTClient("wrong-key", srv.URL)
	if users, err := f.OnCall(context.Background(), "on-call"); err == nil {
		t.Errorf("a refused key gave an answer: %v", users)
	}
}

func TestOnCallPages(t *testing.T) {
	clock := &movingClock{t: onCallT0}
	f, srv := onCallSetup(t, clock)
	var many []pagerdutylocal.OnCall
	for i := range 130 {
		many = append(many, pagerdutylocal.OnCall{EscalationPolicyID: "PONCALL", Level: 1, UserID: fmt.Sprintf("PU%04d", i), UserName: fmt.Sprintf("Engineer %d", i)})
	}
	srv.SetOnCalls(many)
	users, err := f.OnCall(context.Background(), "on-call")
	if err != nil {
		t.Fatal(err)
	}
	if len(users) != 130 || users[129].Name != "Engineer 129" || users[129].Email != "" {
		t.Errorf("%d users, last %+v; want all 130 over two pages", len(users), users[len(users)-1])
	}
	if n := srv.OnCallRequests(); n != 2 {
		t.Errorf("%d requests, want 2 pages", n)
	}
}

// TestOnCallNamesInTheAlert is the whole path: PagerDuty's roster names
// the engineer in the runbook's initial alert.
func TestOnCallNamesInTheAlert(t *testing.T) {
	clock := &movingClock{t: onCallT0}
	f, _ := onCallSetup(t, clock)
	b := &notify.Builder{OnCall: f, Clock: clock}
	inc := incident.Incident{ID: "inc-20260301-030000-c0f8ae04e8", Service: "dashboarduz-api", Severity: incident.P0, Status: incident.Triggered, Summary: "API down", OpenedAt: onCallT0}
	msg, err := b.Message(context.Background(), notify.KindAlert, inc, nil, notify.Facts{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(msg.Text, "On-Call: Dana Whitfield (On-Call Engineer)") {
		t.Errorf("alert:\n%s", msg.Text)
	}
}

// TestKeyedOnCallAPI: the REST key is read when the first lookup needs
// it, and a changed key (a rotation) builds a new client.
func TestKeyedOnCallAPI(t *testing.T) {
	srv, err := pagerdutylocal.Start(pagerdutylocal.New(&movingClock{t: onCallT0}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	srv.SetOnCalls(roster())
	srv.SetAPIToken(restKey)
	keys, reads := []string{"an-old-key", restKey}, 0
	api := &pagerduty.KeyedOnCallAPI{Endpoint: srv.URL, Key: func(context.Context) (string, error) {
		k := keys[min(reads, len(keys)-1)]
		reads++
		return k, nil
	}}
	f := &pagerduty.OnCallFinder{API: api, Policies: map[string]string{"on-call": "PONCALL"}, Clock: &movingClock{t: onCallT0}}
	if reads != 0 {
		t.Fatal("the key was read before a lookup")
	}
	if _, err := f.OnCallNames(context.Background(), "on-call"); err == nil {
		t.Fatal("the old key was accepted")
	}
	names, err := f.OnCallNames(context.Background(), "on-call")
	if err != nil || fmt.Sprint(names) != "[Dana Whitfield]" {
		t.Fatalf("names = %v, %v", names, err)
	}
}
