package dynamo

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/dashboarduz/incident-response/shared/incident"
)

// Attribute names of the message ledger and the Slack thread.
const (
	attrDeliveries = "deliveries"
	attrSlack      = "slack"
	attrReminded   = "reminded"
)

// deliveryRecord is one entry of the message ledger, in the incident
// item's deliveries map under its key (incident.DeliveryKey).
type deliveryRecord struct {
	Channel    string `dynamodbav:"channel"`
	Subject    string `dynamodbav:"subject"`
	Reminder   bool   `dynamodbav:"reminder,omitempty"`
	State      string `dynamodbav:"state"`
	Attempts   int    `dynamodbav:"attempts"`
	At         string `dynamodbav:"at,omitempty"`
	LeaseUntil string `dynamodbav:"leaseUntil,omitempty"`
	Failure    string `dynamodbav:"failure,omitempty"`
}

// slackRecord is where an incident lives in Slack.
type slackRecord struct {
	Channel        string `dynamodbav:"channel"`
	TS             string `dynamodbav:"ts"`
	OwnChannel     string `dynamodbav:"ownChannel,omitempty"`
	OwnTS          string `dynamodbav:"ownTs,omitempty"`
	OwnChannelName string `dynamodbav:"ownChannelName,omitempty"`
	OwnChannelLink string `dynamodbav:"ownChannelLink,omitempty"`
}

// maxFailure bounds the failure text a delivery keeps, so the ledger
// stays small whatever an outside service answers.
const maxFailure = 300

func toDeliveryRecord(d incident.Delivery) deliveryRecord {
	f := d.Failure
	if len(f) > maxFailure {
		f = strings.ToValidUTF8(f[:maxFailure], "") + "…"
	}
	return deliveryRecord{Channel: d.Channel, Subject: d.Subject, Reminder: d.Reminder, State: string(d.State), Attempts: d.Attempts,
		At: formatTime(d.At), LeaseUntil: formatTime(d.LeaseUntil), Failure: f}
}

// toDeliveryRecords builds the deliveries map; an incident without
// deliveries has an empty map, never none, so that claiming its first
// message can set a key in it.
func toDeliveryRecords(ds []incident.Delivery) map[string]deliveryRecord {
	m := make(map[string]deliveryRecord, len(ds))
	for _, d := range ds {
		m[d.Key()] = toDeliveryRecord(d)
	}
	return m
}

func (r deliveryRecord) delivery() (incident.Delivery, error) {
	d := incident.Delivery{Channel: r.Channel, Subject: r.Subject, Reminder: r.Reminder, State: incident.DeliveryState(r.State), Attempts: r.Attempts, Failure: r.Failure}
	var err error
	if d.At, err = parseTime(r.At); err != nil {
		return incident.Delivery{}, err
	}
	if d.LeaseUntil, err = parseTime(r.LeaseUntil); err != nil {
		return incident.Delivery{}, err
	}
	return d, nil
}

// deliveriesOf turns the stored map into the incident's deliveries, in
// key order.
func deliveriesOf(m map[string]deliveryRecord) ([]incident.Delivery, error) {
	return ledgerOf(m, deliveryRecord.delivery, "delivery")
}

func toSlackRecord(t *incident.SlackThread) *slackRecord {
	if t == nil {
		return nil
	}
	return &slackRecord{Channel: t.Channel, TS: t.TS, OwnChannel: t.OwnChannel, OwnTS: t.OwnTS, OwnChannelName: t.OwnChannelName, OwnChannelLink: t.OwnChannelLink}
}

func (r *slackRecord) thread() *incident.SlackThread {
	if r == nil {
		return nil
	}
	return &incident.SlackThread{Channel: r.Channel, TS: r.TS, OwnChannel: r.OwnChannel, OwnTS: r.OwnTS, OwnChannelName: r.OwnChannelName, OwnChannelLink: r.OwnChannelLink}
}

func checkDelivery(id string, d incident.Delivery) error {
	switch {
	case id == "":
		return incident.Errorf(incident.EInvalid, "incident ID is empty")
	case d.Channel == "" || d.Subject == "" || strings.Contains(d.Channel, "/"):
		return incident.Errorf(incident.EInvalid, "a delivery needs a channel without / and a subject")
	case d.Attempts < 1:
		return incident.Errorf(incident.EInvalid, "a delivery counts at least one attempt")
	}
	return nil
}

// ClaimDelivery claims a message in the incident's message ledger before
// it is sent (d with State claimed, its Attempts and LeaseUntil set) and
// returns the incident as stored with the claim. With
// Attempts 1 the message must never have been claimed; with more, the
// claim takes over an earlier one that made Attempts-1 claims and whose
// lease has run out by now. Either way its subject must still wait: the
// timeline entry in the queue (Announcements), or the reminder
// (d.Reminder) not recorded as sent (Reminded). Anything else (somebody
// else holds, has sent or gave up the message, or its subject is done
// with) is an EConflict: read the incident and decide again.
func (s *Store) ClaimDelivery(ctx context.Context, id string, d incident.Delivery, now time.Time) (incident.Incident, error) {
	if err := checkDelivery(id, d); err != nil {
		return incident.Incident{}, err
	}
	if d.State != incident.DeliveryClaimed || !d.LeaseUntil.After(now) {
		return incident.Incident{}, incident.Errorf(incident.EInvalid, "a delivery claim needs state claimed and a lease after now")
	}
	rec, err := attributevalue.Marshal(toDeliveryRecord(d))
	if err != nil {
		return incident.Incident{}, fmt.Errorf("claim %s of incident %s: %w", d.Key(), id, err)
	}
	nm := names(attrDeliveries, attrVersion)
	nm["#k"] = d.Key()
	values := map[string]types.AttributeValue{":d": rec, ":one": number(1), ":subject": str(d.Subject)}
	var cond string
	if d.Reminder {
		nm["#reminded"] = attrReminded
		cond = "(attribute_not_exists(#reminded) OR NOT contains(#reminded, :subject)) AND "
	} else {
		nm["#announcements"] = attrAnnouncements
		cond = "contains(#announcements, :subject) AND "
	}
	cond += claimCondition("#deliveries", string(incident.DeliveryClaimed), d.Attempts, now, nm, values)
	in := &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.table),
		Key:                       key(incidentPK(id), metaSK),
		UpdateExpression:          aws.String("SET #deliveries.#k = :d ADD #version :one"),
		ConditionExpression:       aws.String(cond),
		ExpressionAttributeNames:  nm,
		ExpressionAttributeValues: values,
		ReturnValues:              types.ReturnValueAllNew,
	}
	out, err := s.client.UpdateItem(ctx, in)
	if isMissingMap(err) {
		// An incident stored before the ledger existed has no map to set
		// a key in: give it one and claim again.
		if err = s.addDeliveriesMap(ctx, id); err == nil {
			out, err = s.client.UpdateItem(ctx, in)
		}
	}
	if isConditionFailed(err) {
		return incident.Incident{}, s.conflictOrMissing(ctx, id, fmt.Sprintf("the message %s is no longer this claim's to send", d.Key()))
	}
	if err != nil {
		return incident.Incident{}, fmt.Errorf("claim %s of incident %s: %w", d.Key(), id, err)
	}
	inc, err := decodeIncident(out.Attributes)
	if err != nil {
		return incident.Incident{}, fmt.Errorf("claim %s of incident %s: decode: %w", d.Key(), id, err)
	}
	return inc, nil
}

// isMissingMap reports DynamoDB's refusal to set a key in a map attribute
// that does not exist.
func isMissingMap(err error) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && ae.ErrorCode() == "ValidationException" && strings.Contains(ae.ErrorMessage(), "document path")
}

func (s *Store) addDeliveriesMap(ctx context.Context, id string) error {
	_, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.table),
		Key:                       key(incidentPK(id), metaSK),
		UpdateExpression:          aws.String("SET #deliveries = if_not_exists(#deliveries, :empty)"),
		ConditionExpression:       aws.String("attribute_exists(#pk)"),
		ExpressionAttributeNames:  names(attrDeliveries, AttrPK),
		ExpressionAttributeValues: map[string]types.AttributeValue{":empty": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{}}},
	})
	if isConditionFailed(err) {
		return notFound(id)
	}
	return err
}

// RecordDelivery records the outcome of a claimed message: d with State
// sent or given up, or still claimed with its lease ended (LeaseUntil at
// now) and its Failure after a failed attempt, so the next round may take
// over at once. thread, when not nil, is stored as the incident's Slack
// thread in the same write: the alert's place, found by every later
// reply. The write holds only while the ledger still holds the claim with
// d.Attempts, so a sender whose claim was taken over records nothing; the
// same outcome stored already is not an error (a retried write).
func (s *Store) RecordDelivery(ctx context.Context, id string, d incident.Delivery, thread *incident.SlackThread) error {
	if err := checkDelivery(id, d); err != nil {
		return err
	}
	rec, err := attributevalue.Marshal(toDeliveryRecord(d))
	if err != nil {
		return fmt.Errorf("record %s of incident %s: %w", d.Key(), id, err)
	}
	nm := names(attrDeliveries, attrVersion, "state", "attempts")
	nm["#k"] = d.Key()
	values := map[string]types.AttributeValue{
		":d": rec, ":one": number(1), ":claimed": str(string(incident.DeliveryClaimed)), ":attempts": number(d.Attempts),
	}
	update := "SET #deliveries.#k = :d"
	if thread != nil {
		t, err := attributevalue.Marshal(toSlackRecord(thread))
		if err != nil {
			return fmt.Errorf("record %s of incident %s: %w", d.Key(), id, err)
		}
		update += ", #slack = :thread"
		values[":thread"] = t
		nm["#slack"] = attrSlack
	}
	_, err = s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.table),
		Key:                       key(incidentPK(id), metaSK),
		UpdateExpression:          aws.String(update + " ADD #version :one"),
		ConditionExpression:       aws.String("#deliveries.#k.#state = :claimed AND #deliveries.#k.#attempts = :attempts"),
		ExpressionAttributeNames:  nm,
		ExpressionAttributeValues: values,
	})
	if isConditionFailed(err) {
		return s.recordedAlready(ctx, id, d)
	}
	if err != nil {
		return fmt.Errorf("record %s of incident %s: %w", d.Key(), id, err)
	}
	return nil
}

// recordedAlready accepts a record whose condition failed because the
// same outcome is stored already; anything else is an EConflict.
func (s *Store) recordedAlready(ctx context.Context, id string, d incident.Delivery) error {
	inc, err := s.GetIncident(ctx, id)
	if err != nil {
		return err
	}
	if cur, ok := inc.DeliveryFor(d.Channel, d.Subject); ok && cur.State == d.State && cur.Attempts == d.Attempts && d.State != incident.DeliveryClaimed {
		return nil
	}
	return incident.Errorf(incident.EConflict, "the claim on %s of %s was taken over", d.Key(), id)
}
