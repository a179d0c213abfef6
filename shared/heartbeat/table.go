package heartbeat

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dashboarduz/incident-response/shared/dynamo"
)

// UpdateItemAPI is the part of the DynamoDB client Table uses.
type UpdateItemAPI interface {
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
}

// Table keeps the heartbeat item in the incident table:
//
//	heartbeat    pk=HEARTBEAT    sk=HEARTBEAT    lastBeat, firstBeat
//
// One item, updated in place, so the beats cost one write each and leave
// nothing behind. Like the drill records, it carries none of the
// attributes the table's indexes are keyed on.
type Table struct {
	API   UpdateItemAPI
	Table string
}

const (
	heartbeatKey  = "HEARTBEAT"
	attrLastBeat  = "lastBeat"
	attrFirstBeat = "firstBeat"
)

// Beat sets the item's lastBeat to at, and its firstBeat too when it has
// none, in one write, and returns firstBeat as written.
func (t *Table) Beat(ctx context.Context, at time.Time) (time.Time, error) {
	now := &types.AttributeValueMemberS{Value: at.UTC().Format(dynamo.TimeLayout)}
	out, err := t.API.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(t.Table),
		Key: map[string]types.AttributeValue{
			dynamo.AttrPK: &types.AttributeValueMemberS{Value: heartbeatKey},
			dynamo.AttrSK: &types.AttributeValueMemberS{Value: heartbeatKey},
		},
		UpdateExpression:          aws.String("SET #last = :now, #first = if_not_exists(#first, :now)"),
		ExpressionAttributeNames:  map[string]string{"#last": attrLastBeat, "#first": attrFirstBeat},
		ExpressionAttributeValues: map[string]types.AttributeValue{":now": now},
		ReturnValues:              types.ReturnValueAllNew,
	})
	if err != nil {
		return time.Time{}, fmt.Errorf("update the heartbeat item: %w", err)
	}
	first, ok := out.Attributes[attrFirstBeat].(*types.AttributeValueMemberS)
	if !ok {
		return time.Time{}, fmt.Errorf("update the heartbeat item: no %s came back", attrFirstBeat)
	}
	t0, err := time.Parse(time.RFC3339Nano, first.Value)
	if err != nil {
		return time.Time{}, fmt.Errorf("update the heartbeat item: %s %q: %w", attrFirstBeat, first.Value, err)
	}
	return t0, nil
}
