package dynamo

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dashboarduz/incident-response/shared/incident"
)

// dedupRecord points a signal's dedup key at the open incident for it, so
// that concurrent signals agree on one incident.
type dedupRecord struct {
	PK         string `dynamodbav:"pk"`
	SK         string `dynamodbav:"sk"`
	DedupKey   string `dynamodbav:"dedupKey"`
	IncidentID string `dynamodbav:"incidentId"`
}

// OpenIncidentID returns the incident the dedup key points at, if any,
// with a strongly consistent read.
func (s *Store) OpenIncidentID(ctx context.Context, dedupKey string) (id string, found bool, err error) {
	if dedupKey == "" {
		return "", false, incident.Errorf(incident.EInvalid, "dedup key is empty")
	}
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.table),
		Key:            key(dedupPrefix+dedupKey, dedupSK),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return "", false, fmt.Errorf("get dedup pointer %s: %w", dedupKey, err)
	}
	if out.Item == nil {
		return "", false, nil
	}
	var r dedupRecord
	if err := attributevalue.UnmarshalMap(out.Item, &r); err != nil {
		return "", false, fmt.Errorf("get dedup pointer %s: decode: %w", dedupKey, err)
	}
	return r.IncidentID, true, nil
}

// ClaimDedupKey points dedupKey at incidentID. With replacing empty the key
// must be free; otherwise it must still point at replacing (typically a
// resolved incident being superseded). Losing the race to another claim is
// an EConflict: re-read with OpenIncidentID and join that incident.
func (s *Store) ClaimDedupKey(ctx context.Context, dedupKey, incidentID, replacing string) error {
	if dedupKey == "" || incidentID == "" {
		return incident.Errorf(incident.EInvalid, "a dedup key claim needs a key and an incident ID")
	}
	item, err := attributevalue.MarshalMap(dedupRecord{PK: dedupPrefix + dedupKey, SK: dedupSK, DedupKey: dedupKey, IncidentID: incidentID})
	if err != nil {
		return fmt.Errorf("claim dedup key %s for incident %s: %w", dedupKey, incidentID, err)
	}
	in := &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: item}
	if replacing == "" {
		in.ConditionExpression = aws.String("attribute_not_exists(#pk)")
		in.ExpressionAttributeNames = names(AttrPK)
	} else {
		in.ConditionExpression = aws.String("#incidentId = :replacing")
		in.ExpressionAttributeNames = names("incidentId")
		in.ExpressionAttributeValues = map[string]types.AttributeValue{":replacing": &types.AttributeValueMemberS{Value: replacing}}
	}
	_, err = s.client.PutItem(ctx, in)
	if isConditionFailed(err) {
		if replacing == "" {
			return incident.Errorf(incident.EConflict, "dedup key %s already points at an incident", dedupKey)
		}
		return incident.Errorf(incident.EConflict, "dedup key %s no longer points at incident %s", dedupKey, replacing)
	}
	if err != nil {
		return fmt.Errorf("claim dedup key %s for incident %s: %w", dedupKey, incidentID, err)
	}
	return nil
}

// ReadSignalContext reads what ingest needs before it routes a signal, in
// one strongly consistent batch read: the incident the signal's dedup key
// points at, if any, and the maintenance windows of the signal's service,
// which decide whether a new incident's first page goes out at once.
func (s *Store) ReadSignalContext(ctx context.Context, dedupKey, service string) (incidentID string, found bool, windows []incident.MaintenanceWindow, err error) {
	if dedupKey == "" || service == "" {
		return "", false, nil, incident.Errorf(incident.EInvalid, "reading a signal's context needs its dedup key and service")
	}
	items, err := s.batchGet(ctx, key(dedupPrefix+dedupKey, dedupSK), activeWindowsKey(service))
	if err != nil {
		return "", false, nil, fmt.Errorf("read dedup pointer %s and maintenance of %s: %w", dedupKey, service, err)
	}
	if item := items[0]; item != nil {
		var r dedupRecord
		if err := attributevalue.UnmarshalMap(item, &r); err != nil {
			return "", false, nil, fmt.Errorf("read dedup pointer %s: decode: %w", dedupKey, err)
		}
		incidentID, found = r.IncidentID, true
	}
	if windows, err = decodeActiveWindows(items[1]); err != nil {
		return "", false, nil, fmt.Errorf("read maintenance of %s: %w", service, err)
	}
	return incidentID, found, windows, nil
}
