package incident

import (
	"slices"
	"testing"
)

func TestAnnounceNowAsksForOneGeneration(t *testing.T) {
	// The newest generation has planned: a new one is asked for.
	inc := Incident{Generation: 2, PlannedGeneration: 2}
	inc.AnnounceNow("e1")
	if inc.Generation != 3 || !slices.Equal(inc.Announcements, []string{"e1"}) {
		t.Fatalf("generation %d, queue %v; want 3 and e1", inc.Generation, inc.Announcements)
	}
	// One is pending already (this write or an earlier one asked): no
	// second.
	inc.AnnounceNow("e2")
	inc.AnnounceNow("e2")
	if inc.Generation != 3 || !slices.Equal(inc.Announcements, []string{"e1", "e2"}) {
		t.Errorf("generation %d, queue %v; want 3 and e1, e2", inc.Generation, inc.Announcements)
	}
	// Announce alone never asks.
	inc = Incident{Generation: 1, PlannedGeneration: 1}
	inc.Announce("e3")
	if inc.Generation != 1 {
		t.Errorf("Announce moved the generation to %d", inc.Generation)
	}
}

func TestDropDeliveries(t *testing.T) {
	inc := Incident{Deliveries: []Delivery{
		{Channel: "slack", Subject: "e1", State: DeliverySent},
		{Channel: "email", Subject: "e1", State: DeliveryGivenUp},
		{Channel: "slack", Subject: "e2", State: DeliveryClaimed},
		{Channel: "slack", Subject: "post-mortem-near-due/0", Reminder: true, State: DeliverySent},
	}}
	if !inc.DropDeliveries([]string{"e1", "post-mortem-near-due/0"}) {
		t.Fatal("nothing dropped")
	}
	if len(inc.Deliveries) != 1 || inc.Deliveries[0].Subject != "e2" {
		t.Errorf("left %+v, want only e2's", inc.Deliveries)
	}
	if d, ok := inc.DeliveryFor("slack", "e2"); !ok || d.Key() != "slack/e2" || d.Settled() {
		t.Errorf("DeliveryFor = %+v, %v", d, ok)
	}
	if inc.DropDeliveries([]string{"e9"}) {
		t.Error("dropping nothing reports a change")
	}
	c := inc.Clone()
	c.Deliveries[0].State = DeliverySent
	if inc.Deliveries[0].State != DeliveryClaimed {
		t.Error("Clone shares the ledger")
	}
}
