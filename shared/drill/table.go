package drill

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dashboarduz/incident-response/shared/dynamo"
)

// TableAPI is the part of the DynamoDB client Table uses.
type TableAPI interface {
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, optFns ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
}

// Table keeps the drills' records in the incident table, in one partition
// sorted by start time:
//
//	drill record    pk=DRILL    sk=<startedAt, dynamo.TimeLayout>#<drill ID>
//
// The records are the drill's own: shared/dynamo's item layout does not
// change for them, and they carry none of the attributes the table's
// indexes are keyed on, so they never appear in an incident list. They
// expire a little over a year after the drill (the table's TTL), which
// keeps a year of drills to compare.
type Table struct {
	API   TableAPI
	Table string
}

const (
	recordPK = "DRILL"
	// recordTTL is how long a drill record is kept.
	recordTTL = 400 * 24 * time.Hour
)

// item is a drill record as stored.
type item struct {
	PK string `dynamodbav:"pk"`
	SK string `dynamodbav:"sk"`
	Record
	ExpiresAt int64 `dynamodbav:"expiresAt"`
}

// RecordDrill stores r; storing the same drill again overwrites it.
func (t *Table) RecordDrill(ctx context.Context, r Record) error {
	av, err := attributevalue.MarshalMap(item{
		PK:        recordPK,
		SK:        r.StartedAt.UTC().Format(dynamo.TimeLayout) + "#" + r.ID,
		Record:    r,
		ExpiresAt: r.StartedAt.Add(recordTTL).Unix(),
	})
	if err != nil {
		return fmt.Errorf("encode drill %s: %w", r.ID, err)
	}
	if _, err := t.API.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(t.Table), Item: av}); err != nil {
		return fmt.Errorf("put drill %s: %w", r.ID, err)
	}
	return nil
}

// LatestDrill returns the record of the drill that started last; found is
// false when no drill has been recorded.
func (t *Table) LatestDrill(ctx context.Context) (r Record, found bool, err error) {
	out, err := t.API.Query(ctx, &dynamodb.QueryInput{
		TableName:                 aws.String(t.Table),
		KeyConditionExpression:    aws.String("#pk = :pk"),
		ExpressionAttributeNames:  map[string]string{"#pk": dynamo.AttrPK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: recordPK}},
		ScanIndexForward:          aws.Bool(false),
		Limit:                     aws.Int32(1),
	})
	if err != nil {
		return Record{}, false, fmt.Errorf("query the latest drill: %w", err)
	}
	if len(out.Items) == 0 {
		return Record{}, false, nil
	}
	var it item
	if err := attributevalue.UnmarshalMap(out.Items[0], &it); err != nil {
		return Record{}, false, fmt.Errorf("decode the latest drill: %w", err)
	}
	return it.Record, true, nil
}
