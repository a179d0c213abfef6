package dynamo

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dashboarduz/incident-response/shared/incident"
)

// The states of a page in the ledger.
const (
	// PageClaimed: somebody holds the lease and is sending the page.
	PageClaimed = "claimed"
	// PageSent: the page was delivered; it is never sent again.
	PageSent = "sent"
)

// PageClaim is the ledger entry for the page of one escalation level of an
// incident. A page is claimed before it is sent and marked sent after, so a
// retried step never pages twice, and a sender that died mid-send is taken
// over once its lease runs out.
type PageClaim struct {
	// State is PageClaimed or PageSent.
	State string
	// Attempts counts the claims, the first one included.
	Attempts int
	// ClaimedAt is when the latest claim was made.
	ClaimedAt time.Time
	// LeaseUntil is when the latest claim may be taken over.
	LeaseUntil time.Time
	// SentAt is when the page was delivered; zero until then.
	SentAt time.Time
	// DedupKey is the PagerDuty dedup_key the page carries.
	DedupKey string
}

// pageClaimRecord is a page ledger item, in its incident's partition. Its
// state attribute is pageState, not status, so it stays out of the byStatus
// index.
type pageClaimRecord struct {
	PK         string `dynamodbav:"pk"`
	SK         string `dynamodbav:"sk"`
	IncidentID string `dynamodbav:"incidentId"`
	Level      int    `dynamodbav:"level"`
	State      string `dynamodbav:"pageState"`
	Attempts   int    `dynamodbav:"attempts"`
	ClaimedAt  string `dynamodbav:"claimedAt"`
	LeaseUntil string `dynamodbav:"leaseUntil"`
	SentAt     string `dynamodbav:"sentAt,omitempty"`
	DedupKey   string `dynamodbav:"pageDedupKey"`
}

func (r pageClaimRecord) claim() (PageClaim, error) {
	c := PageClaim{State: r.State, Attempts: r.Attempts, DedupKey: r.DedupKey}
	var err error
	if c.ClaimedAt, err = parseTime(r.ClaimedAt); err != nil {
		return PageClaim{}, err
	}
	if c.LeaseUntil, err = parseTime(r.LeaseUntil); err != nil {
		return PageClaim{}, err
	}
	if c.SentAt, err = parseTime(r.SentAt); err != nil {
		return PageClaim{}, err
	}
	return c, nil
}

// pageKey is the ledger key of one level's page in one episode: PAGE#<level>
// for the first episode, PAGE#R<episode>#<level> for re-openings.
func pageKey(incidentID string, episode, level int) map[string]types.AttributeValue {
	if episode == 0 {
		return key(incidentPK(incidentID), fmt.Sprintf("%s%02d", pagePrefix, level))
	}
	return key(incidentPK(incidentID), fmt.Sprintf("%sR%03d#%02d", pagePrefix, episode, level))
}

func checkPageArgs(incidentID string, episode, level int) error {
	if incidentID == "" {
		return incident.Errorf(incident.EInvalid, "incident ID is empty")
	}
	if episode < 0 || episode > 999 {
		return incident.Errorf(incident.EInvalid, "episode %d is not between 0 and 999", episode)
	}
	if level < 1 || level > 99 {
		return incident.Errorf(incident.EInvalid, "escalation level %d is not between 1 and 99", level)
	}
	return nil
}

// claimRounds bounds ClaimPage's read-and-retry loop; each round that loses
// a race sees the winner's write in the next, so two are nearly always
// enough.
const claimRounds = 5

// ClaimPage claims the page for one level of an incident before it is
// sent. With no ledger entry it creates one (State PageClaimed, Attempts 1,
// LeaseUntil now+lease). A sent page is returned as it is (State PageSent):
// the caller must not send it again. A claim whose lease has run out
// (LeaseUntil <= now) is taken over, with Attempts+1. A claim with a live
// lease is an EConflict: somebody else is sending it.
func (s *Store) ClaimPage(ctx context.Context, incidentID string, episode, level int, dedupKey string, now time.Time, lease time.Duration) (PageClaim, error) {
	if err := checkPageArgs(incidentID, episode, level); err != nil {
		return PageClaim{}, err
	}
	if now.IsZero() {
		return PageClaim{}, incident.Errorf(incident.EInvalid, "claiming a page needs the time")
	}
	if lease <= 0 {
		return PageClaim{}, incident.Errorf(incident.EInvalid, "page lease %s is not positive", lease)
	}
	now = now.UTC()
	k := pageKey(incidentID, episode, level)
	for range claimRounds {
		rec := pageClaimRecord{
			PK: incidentPK(incidentID), SK: k[AttrSK].(*types.AttributeValueMemberS).Value,
			IncidentID: incidentID, Level: level, State: PageClaimed, Attempts: 1,
			ClaimedAt: formatTime(now), LeaseUntil: formatTime(now.Add(lease)), DedupKey: dedupKey,
		}
		item, err := attributevalue.MarshalMap(rec)
		if err != nil {
			return PageClaim{}, fmt.Errorf("claim page %d of incident %s: %w", level, incidentID, err)
		}
		err = s.putNew(ctx, item)
		if err == nil {
			return rec.claim()
		}
		if !isConditionFailed(err) {
			return PageClaim{}, fmt.Errorf("claim page %d of incident %s: %w", level, incidentID, err)
		}

		out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table), Key: k, ConsistentRead: aws.Bool(true)})
		if err != nil {
			return PageClaim{}, fmt.Errorf("claim page %d of incident %s: read ledger: %w", level, incidentID, err)
		}
		if out.Item == nil {
			continue
		}
		var cur pageClaimRecord
		if err := attributevalue.UnmarshalMap(out.Item, &cur); err != nil {
			return PageClaim{}, fmt.Errorf("claim page %d of incident %s: decode: %w", level, incidentID, err)
		}
		c, err := cur.claim()
		if err != nil {
			return PageClaim{}, fmt.Errorf("claim page %d of incident %s: decode: %w", level, incidentID, err)
		}
		if c.State == PageSent {
			return c, nil
		}
		if c.LeaseUntil.After(now) {
			return PageClaim{}, beingSent(incidentID, level)
		}

		// The lease ran out: take over, on condition that nobody else has
		// since (the lease we saw is still the stored one).
		up, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName:                aws.String(s.table),
			Key:                      k,
			UpdateExpression:         aws.String("SET #attempts = #attempts + :one, #claimedAt = :now, #leaseUntil = :lease"),
			ConditionExpression:      aws.String("#pageState = :claimed AND #leaseUntil = :old"),
			ExpressionAttributeNames: names("attempts", "claimedAt", "leaseUntil", "pageState"),
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":one":     &types.AttributeValueMemberN{Value: "1"},
				":now":     &types.AttributeValueMemberS{Value: formatTime(now)},
				":lease":   &types.AttributeValueMemberS{Value: formatTime(now.Add(lease))},
				":claimed": &types.AttributeValueMemberS{Value: PageClaimed},
				":old":     &types.AttributeValueMemberS{Value: cur.LeaseUntil},
			},
			ReturnValues: types.ReturnValueAllNew,
		})
		if isConditionFailed(err) {
			continue // somebody took over or sent it first: look again
		}
		if err != nil {
			return PageClaim{}, fmt.Errorf("claim page %d of incident %s: take over: %w", level, incidentID, err)
		}
		var taken pageClaimRecord
		if err := attributevalue.UnmarshalMap(up.Attributes, &taken); err != nil {
			return PageClaim{}, fmt.Errorf("claim page %d of incident %s: decode: %w", level, incidentID, err)
		}
		return taken.claim()
	}
	return PageClaim{}, beingSent(incidentID, level)
}

// PageLedger reads the ledger entry of one level's page in one episode,
// with a strongly consistent read; found is false when the page was never
// claimed.
func (s *Store) PageLedger(ctx context.Context, incidentID string, episode, level int) (c PageClaim, found bool, err error) {
	if err := checkPageArgs(incidentID, episode, level); err != nil {
		return PageClaim{}, false, err
	}
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table), Key: pageKey(incidentID, episode, level), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return PageClaim{}, false, fmt.Errorf("read page %d of incident %s: %w", level, incidentID, err)
	}
	if out.Item == nil {
		return PageClaim{}, false, nil
	}
	var r pageClaimRecord
	if err := attributevalue.UnmarshalMap(out.Item, &r); err != nil {
		return PageClaim{}, false, fmt.Errorf("read page %d of incident %s: decode: %w", level, incidentID, err)
	}
	c, err = r.claim()
	if err != nil {
		return PageClaim{}, false, fmt.Errorf("read page %d of incident %s: decode: %w", level, incidentID, err)
	}
	return c, true, nil
}

func beingSent(incidentID string, level int) error {
	return incident.Errorf(incident.EConflict, "page for level %d of %s is being sent", level, incidentID)
}

// ReleasePageClaim gives up a claim after a failed send by ending its lease
// now, so the next attempt may claim it at once. A page that is sent, not
// claimed, or whose lease has already run out is left as it is.
func (s *Store) ReleasePageClaim(ctx context.Context, incidentID string, episode, level int, now time.Time) error {
	if err := checkPageArgs(incidentID, episode, level); err != nil {
		return err
	}
	if now.IsZero() {
		return incident.Errorf(incident.EInvalid, "releasing a page claim needs the time")
	}
	_, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                aws.String(s.table),
		Key:                      pageKey(incidentID, episode, level),
		UpdateExpression:         aws.String("SET #leaseUntil = :now"),
		ConditionExpression:      aws.String("#pageState = :claimed AND #leaseUntil > :now"),
		ExpressionAttributeNames: names("leaseUntil", "pageState"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":now":     &types.AttributeValueMemberS{Value: formatTime(now)},
			":claimed": &types.AttributeValueMemberS{Value: PageClaimed},
		},
	})
	if err != nil && !isConditionFailed(err) {
		return fmt.Errorf("release page %d of incident %s: %w", level, incidentID, err)
	}
	return nil
}

// MarkPageSent records that the page was delivered at the given time. It
// is idempotent: marking a sent page again keeps the first SentAt. A page
// that was never claimed is ENotFound.
func (s *Store) MarkPageSent(ctx context.Context, incidentID string, episode, level int, at time.Time) error {
	if err := checkPageArgs(incidentID, episode, level); err != nil {
		return err
	}
	if at.IsZero() {
		return incident.Errorf(incident.EInvalid, "marking a page sent needs the time it was sent")
	}
	_, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                aws.String(s.table),
		Key:                      pageKey(incidentID, episode, level),
		UpdateExpression:         aws.String("SET #pageState = :sent, #sentAt = if_not_exists(#sentAt, :at)"),
		ConditionExpression:      aws.String("attribute_exists(#pk)"),
		ExpressionAttributeNames: names(AttrPK, "pageState", "sentAt"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":sent": &types.AttributeValueMemberS{Value: PageSent},
			":at":   &types.AttributeValueMemberS{Value: formatTime(at)},
		},
	})
	if isConditionFailed(err) {
		return incident.Errorf(incident.ENotFound, "page for level %d of %s was never claimed", level, incidentID)
	}
	if err != nil {
		return fmt.Errorf("mark page %d of incident %s sent: %w", level, incidentID, err)
	}
	return nil
}
