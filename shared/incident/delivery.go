package incident

import (
	"slices"
	"time"
)

// DeliveryState is where one message stands in the message ledger.
type DeliveryState string

// The delivery states. A message is claimed before it is sent, as a page
// is, so that a retried or concurrent Notify task never sends it twice,
// and marked sent or given up after. A failed attempt leaves the claim
// with its lease ended, for the next round to take over.
const (
	// DeliveryClaimed: a sender holds the message until LeaseUntil; it may
	// or may not have reached the channel yet.
	DeliveryClaimed DeliveryState = "claimed"
	// DeliverySent: the channel took the message.
	DeliverySent DeliveryState = "sent"
	// DeliveryGivenUp: every attempt allowed failed; the message is not
	// sent, and the timeline says so.
	DeliveryGivenUp DeliveryState = "given-up"
)

// Delivery is one message to one channel (Slack, email) and its entry in
// the message ledger kept in the incident item. Only the messages of
// entries still queued (Announcements) and reminders not yet recorded
// (Reminded) are kept: the Notify task drops a delivery in the write
// that takes its subject off the queue, so the ledger never holds more
// than MaxAnnounce entries per channel.
type Delivery struct {
	// Channel names the channel, e.g. "slack"; Subject is the timeline
	// entry's ID or the reminder's key the message is about.
	Channel string `json:"channel"`
	Subject string `json:"subject"`
	// Reminder says the subject is a post-mortem reminder, not a
	// timeline entry.
	Reminder bool          `json:"reminder,omitempty"`
	State    DeliveryState `json:"state"`
	// Attempts counts the claims, the first one included.
	Attempts int `json:"attempts"`
	// At is when the message was sent or given up; while it is only
	// claimed, when the latest claim was made.
	At time.Time `json:"at"`
	// LeaseUntil is when a claim may be taken over by another sender.
	LeaseUntil time.Time `json:"leaseUntil,omitzero"`
	// Failure says why the latest attempt failed, if it did.
	Failure string `json:"failure,omitempty"`
}

// Key is the delivery's key in the ledger: its channel and subject.
func (d Delivery) Key() string { return DeliveryKey(d.Channel, d.Subject) }

// DeliveryKey is the ledger key of the message a channel sends about a
// subject.
func DeliveryKey(channel, subject string) string { return channel + "/" + subject }

// Settled reports whether the delivery is done with: sent or given up.
func (d Delivery) Settled() bool { return d.State == DeliverySent || d.State == DeliveryGivenUp }

// DeliveryFor returns the ledger's entry for a channel's message about a
// subject, in whatever state it is.
func (inc *Incident) DeliveryFor(channel, subject string) (Delivery, bool) {
	for _, d := range inc.Deliveries {
		if d.Channel == channel && d.Subject == subject {
			return d, true
		}
	}
	return Delivery{}, false
}

// DropDeliveries removes the ledger entries whose subjects (entry IDs or
// reminder keys) are given, on every channel, and reports whether any
// went.
func (inc *Incident) DropDeliveries(subjects []string) bool {
	before := len(inc.Deliveries)
	inc.Deliveries = slices.DeleteFunc(inc.Deliveries, func(d Delivery) bool { return slices.Contains(subjects, d.Subject) })
	return len(inc.Deliveries) != before
}

// SlackThread is where an incident lives in Slack: its alert, whose
// thread every later message replies in, and the incident's own channel
// when its severity gets one. The Notify task records it with the
// alert's delivery, so every later round finds the thread.
type SlackThread struct {
	// Channel and TS name the alert: the channel's ID and the message's
	// ts.
	Channel string `json:"channel"`
	TS      string `json:"ts"`
	// OwnChannel, OwnChannelName and OwnChannelLink name the incident's
	// own channel, when it has one, and OwnTS the alert's copy there.
	OwnChannel     string `json:"ownChannel,omitempty"`
	OwnTS          string `json:"ownTs,omitempty"`
	OwnChannelName string `json:"ownChannelName,omitempty"`
	OwnChannelLink string `json:"ownChannelLink,omitempty"`
}

// Posted reports whether the alert has been posted.
func (t *SlackThread) Posted() bool { return t != nil && t.Channel != "" && t.TS != "" }
