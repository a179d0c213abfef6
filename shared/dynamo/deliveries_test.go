package dynamo_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/local/dynamotest"
)

// queuedIncident stores an open incident with two entries queued.
func queuedIncident(t *testing.T, ctx context.Context, store interface {
	CreateIncident(context.Context, incident.Incident, incident.Entry) error
}) incident.Incident {
	t.Helper()
	inc := openIncident("inc-deliveries", "dashboarduz-api", incident.Triggered, t0)
	inc.Announcements = []string{"e1", "e2"}
	if err := store.CreateIncident(ctx, inc, incident.Entry{ID: "e1", At: t0, Kind: incident.EntryOpened, Actor: "test", Text: "opened"}); err != nil {
		t.Fatal(err)
	}
	return inc
}

func claim(subject string, attempts int, at time.Time) incident.Delivery {
	return incident.Delivery{Channel: "slack", Subject: subject, State: incident.DeliveryClaimed, Attempts: attempts, At: at, LeaseUntil: at.Add(2 * time.Minute)}
}

func TestDeliveryLedger(t *testing.T) {
	ctx := context.Background()
	store := dynamotest.New(t)
	inc := queuedIncident(t, ctx, store)

	got, err := store.ClaimDelivery(ctx, inc.ID, claim("e1", 1, t0), t0)
	if err != nil {
		t.Fatal(err)
	}
	if d, ok := got.DeliveryFor("slack", "e1"); !ok || d.State != incident.DeliveryClaimed || got.Version != 2 {
		t.Fatalf("claim returned %+v (version %d)", got.Deliveries, got.Version)
	}
	conflicts := []struct {
		name string
		d    incident.Delivery
		now  time.Time
	}{
		{"a second first claim", claim("e1", 1, t0), t0},
		{"a takeover within the lease", claim("e1", 2, t0.Add(time.Minute)), t0.Add(time.Minute)},
		{"a takeover that skips an attempt", claim("e1", 3, t0.Add(3*time.Minute)), t0.Add(3 * time.Minute)},
		{"an entry not queued", claim("e9", 1, t0), t0},
	}
	for _, c := range conflicts {
		if _, err := store.ClaimDelivery(ctx, inc.ID, c.d, c.now); incident.ErrorCode(err) != incident.EConflict {
			t.Errorf("%s: err = %v, want a conflict", c.name, err)
		}
	}
	// After the lease, the next attempt takes over.
	at := t0.Add(3 * time.Minute)
	if _, err := store.ClaimDelivery(ctx, inc.ID, claim("e1", 2, at), at); err != nil {
		t.Fatalf("takeover after the lease: %v", err)
	}
	// The first sender's record is refused: its claim was taken over.
	sent := incident.Delivery{Channel: "slack", Subject: "e1", State: incident.DeliverySent, Attempts: 1, At: at}
	if err := store.RecordDelivery(ctx, inc.ID, sent, nil); incident.ErrorCode(err) != incident.EConflict {
		t.Errorf("a taken-over sender's record: err = %v, want a conflict", err)
	}
	sent.Attempts = 2
	thread := &incident.SlackThread{Channel: "C0INCIDENTS", TS: "1.000001", OwnChannel: "C0OWN", OwnChannelName: "inc-x", OwnChannelLink: "https://x/archives/C0OWN"}
	for range 2 { // the second is a retried write
		if err := store.RecordDelivery(ctx, inc.ID, sent, thread); err != nil {
			t.Fatalf("record: %v", err)
		}
	}
	stored, err := store.GetIncident(ctx, inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := stored.DeliveryFor("slack", "e1"); d.State != incident.DeliverySent || d.Attempts != 2 || !reflect.DeepEqual(stored.Slack, thread) {
		t.Errorf("stored %+v, thread %+v", d, stored.Slack)
	}
	// A sent message cannot be claimed again.
	if _, err := store.ClaimDelivery(ctx, inc.ID, claim("e1", 3, t0.Add(time.Hour)), t0.Add(time.Hour)); incident.ErrorCode(err) != incident.EConflict {
		t.Errorf("claim of a sent message: err = %v", err)
	}
	// A whole-item update keeps the ledger and the thread.
	stored.Title = "renamed"
	if _, err := store.UpdateIncident(ctx, stored); err != nil {
		t.Fatal(err)
	}
	again, _ := store.GetIncident(ctx, inc.ID)
	if !reflect.DeepEqual(again.Deliveries, stored.Deliveries) || !reflect.DeepEqual(again.Slack, thread) {
		t.Errorf("after an update: %+v %+v", again.Deliveries, again.Slack)
	}
}

func TestReminderClaimNeedsTheReminderUnsent(t *testing.T) {
	ctx := context.Background()
	store := dynamotest.New(t)
	inc := queuedIncident(t, ctx, store)
	r := claim("post-mortem-near-due/0", 1, t0)
	r.Reminder = true
	if _, err := store.ClaimDelivery(ctx, inc.ID, r, t0); err != nil {
		t.Fatalf("claim a reminder not sent: %v", err)
	}
	cur, _ := store.GetIncident(ctx, inc.ID)
	cur.Reminded = []string{"post-mortem-missed/0"}
	if _, err := store.UpdateIncident(ctx, cur); err != nil {
		t.Fatal(err)
	}
	m := claim("post-mortem-missed/0", 1, t0)
	m.Reminder = true
	if _, err := store.ClaimDelivery(ctx, inc.ID, m, t0); incident.ErrorCode(err) != incident.EConflict {
		t.Errorf("claim of a sent reminder: err = %v, want a conflict", err)
	}
}

// TestClaimOnAnIncidentStoredBeforeTheLedger: an item without the
// deliveries map gets one on its first claim.
func TestClaimOnAnIncidentStoredBeforeTheLedger(t *testing.T) {
	ctx := context.Background()
	store, client, table := dynamotest.NewWithClient(t)
	inc := queuedIncident(t, ctx, store)
	if _, err := client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                aws.String(table),
		Key:                      map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "INC#" + inc.ID}, "sk": &types.AttributeValueMemberS{Value: "META"}},
		UpdateExpression:         aws.String("REMOVE #d"),
		ExpressionAttributeNames: map[string]string{"#d": "deliveries"},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := store.ClaimDelivery(ctx, inc.ID, claim("e2", 1, t0), t0); err != nil {
		t.Fatalf("claim: %v", err)
	}
	if _, err := store.ClaimDelivery(ctx, "inc-missing", claim("e2", 1, t0), t0); incident.ErrorCode(err) != incident.ENotFound {
		t.Errorf("claim on a missing incident: err = %v, want not found", err)
	}
}
