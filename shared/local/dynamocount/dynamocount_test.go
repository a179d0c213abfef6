package dynamocount_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dashboarduz/incident-response/shared/local/dynamocount"
	"github.com/dashboarduz/incident-response/shared/local/dynamotest"
)

func TestMain(m *testing.M) { dynamotest.Main(m) }

var tables atomic.Int64

// newTable makes a table of its own with two global secondary indexes:
// byColour projects everything, bySize only keys. It returns an uncounted
// client, a counted one, the counter and the table's name.
func newTable(t *testing.T, withUnits bool) (*dynamodb.Client, *dynamodb.Client, *dynamocount.Counter, string) {
	t.Helper()
	_, plain, _ := dynamotest.NewWithClient(t)
	ctx := context.Background()
	name := fmt.Sprintf("dynamocount-%d-%d", time.Now().UnixNano(), tables.Add(1))
	str := func(n string) types.AttributeDefinition {
		return types.AttributeDefinition{AttributeName: aws.String(n), AttributeType: types.ScalarAttributeTypeS}
	}
	key := func(hash, rng string) []types.KeySchemaElement {
		return []types.KeySchemaElement{{AttributeName: aws.String(hash), KeyType: types.KeyTypeHash}, {AttributeName: aws.String(rng), KeyType: types.KeyTypeRange}}
	}
	_, err := plain.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String(name),
		BillingMode:          types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{str("pk"), str("sk"), str("colour"), str("size")},
		KeySchema:            key("pk", "sk"),
		GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{
			{IndexName: aws.String("byColour"), KeySchema: key("colour", "pk"), Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll}},
			{IndexName: aws.String("bySize"), KeySchema: key("size", "pk"), Projection: &types.Projection{ProjectionType: types.ProjectionTypeKeysOnly}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	// dynalite answers CREATING first; the waiter's default first delay
	// would be 20 s.
	waiter := dynamodb.NewTableExistsWaiter(plain, func(o *dynamodb.TableExistsWaiterOptions) { o.MinDelay = 50 * time.Millisecond })
	if err := waiter.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)}, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := plain.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(name)}); err != nil {
			t.Errorf("delete table %s: %v", name, err)
		}
	})
	c := dynamocount.New()
	if withUnits {
		table, err := dynamocount.DescribeTable(ctx, plain, name)
		if err != nil {
			t.Fatal(err)
		}
		c = dynamocount.NewWithUnits(dynamocount.NewUnits(table, plain))
	}
	counted := dynamodb.New(plain.Options(), func(o *dynamodb.Options) {
		o.APIOptions = append(o.APIOptions, c.Middleware)
	})
	return plain, counted, c, name
}

func s(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }

func TestCountsCallsByOperation(t *testing.T) {
	ctx := context.Background()
	_, client, c, table := newTable(t, false)
	item := map[string]types.AttributeValue{"pk": s("a"), "sk": s("1"), "colour": s("red")}
	put := &dynamodb.PutItemInput{TableName: aws.String(table), Item: item, ConditionExpression: aws.String("attribute_not_exists(pk)")}
	if _, err := client.PutItem(ctx, put); err != nil {
		t.Fatal(err)
	}
	var failed *types.ConditionalCheckFailedException
	if _, err := client.PutItem(ctx, put); !errors.As(err, &failed) {
		t.Fatalf("second conditional put: %v, want ConditionalCheckFailedException", err)
	}
	get := &dynamodb.GetItemInput{TableName: aws.String(table), Key: map[string]types.AttributeValue{"pk": s("a"), "sk": s("1")}}
	for range 3 {
		if _, err := client.GetItem(ctx, get); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := client.Query(ctx, &dynamodb.QueryInput{TableName: aws.String(table), KeyConditionExpression: aws.String("pk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": s("a")}}); err != nil {
		t.Fatal(err)
	}
	snap := c.Snapshot()
	if got, want := fmt.Sprint(snap.Calls()), "map[GetItem:3 PutItem:2 Query:1]"; got != want {
		t.Errorf("calls %s, want %s", got, want)
	}
	if got := snap["PutItem"]; got.Failed != 1 || got.ConditionFailed != 1 {
		t.Errorf("PutItem %+v, want one failed by its condition", got)
	}
	if got := snap.Total().Calls; got != 6 {
		t.Errorf("total %d calls, want 6", got)
	}
	if get.ReturnConsumedCapacity != "" {
		t.Errorf("the caller's input was changed: ReturnConsumedCapacity %q", get.ReturnConsumedCapacity)
	}
	// Without units, nothing is priced.
	if got := snap.Total(); got.ReadUnits != 0 || got.WriteUnits != 0 {
		t.Errorf("units %+v without units accounting", got)
	}
}

func TestSnapshotSubIsWhatHappenedBetween(t *testing.T) {
	ctx := context.Background()
	_, client, c, table := newTable(t, false)
	get := &dynamodb.GetItemInput{TableName: aws.String(table), Key: map[string]types.AttributeValue{"pk": s("a"), "sk": s("1")}}
	if _, err := client.GetItem(ctx, get); err != nil {
		t.Fatal(err)
	}
	before := c.Snapshot()
	for range 2 {
		if _, err := client.GetItem(ctx, get); err != nil {
			t.Fatal(err)
		}
	}
	if got := fmt.Sprint(c.Snapshot().Sub(before).Calls()); got != "map[GetItem:2]" {
		t.Errorf("between: %s, want map[GetItem:2]", got)
	}
}

func TestWriteUnitsCountItemSizesAndIndexes(t *testing.T) {
	ctx := context.Background()
	_, client, c, table := newTable(t, true)
	key := map[string]types.AttributeValue{"pk": s("a"), "sk": s("1")}
	step := func(name string, f func() error, want dynamocount.Op) {
		t.Helper()
		before := c.Snapshot()
		err := f()
		var failed *types.ConditionalCheckFailedException
		if err != nil && !errors.As(err, &failed) {
			t.Fatalf("%s: %v", name, err)
		}
		got := c.Snapshot().Sub(before).Total()
		got.Calls, got.Failed, got.ConditionFailed = 0, 0, 0
		if got != want {
			t.Errorf("%s: %+v, want %+v", name, got, want)
		}
	}
	// A 2.5 KB item that enters byColour (everything projected) but not
	// bySize (no size attribute): 3 units on the table, 3 on the index.
	big := strings.Repeat("x", 2500)
	step("put new", func() error {
		_, err := client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), ConditionExpression: aws.String("attribute_not_exists(pk)"),
			Item: map[string]types.AttributeValue{"pk": s("a"), "sk": s("1"), "colour": s("red"), "body": s(big)}})
		return err
	}, dynamocount.Op{WriteUnits: 3, IndexWriteUnits: 3})
	// The same put again is refused by its condition: the table's units
	// of the item as it stands, nothing on the indexes.
	step("put refused", func() error {
		_, err := client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), ConditionExpression: aws.String("attribute_not_exists(pk)"),
			Item: map[string]types.AttributeValue{"pk": s("a"), "sk": s("1")}})
		return err
	}, dynamocount.Op{WriteUnits: 3})
	// Changing byColour's key deletes and re-puts the entry there (3+1
	// after the body is dropped), and adding size puts a keys-only entry
	// into bySize (1). The table pays for the larger of before and after.
	step("update keys", func() error {
		_, err := client.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(table), Key: key,
			UpdateExpression:          aws.String("SET colour = :c, #s = :s REMOVE body"),
			ExpressionAttributeNames:  map[string]string{"#s": "size"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":c": s("blue"), ":s": s("L")}})
		return err
	}, dynamocount.Op{WriteUnits: 3, IndexWriteUnits: 3 + 1 + 1})
	// An update of an attribute neither index keys on: byColour's entry
	// changes (it projects everything), bySize's does not.
	step("update other", func() error {
		_, err := client.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(table), Key: key, ReturnValues: types.ReturnValueAllNew,
			UpdateExpression: aws.String("SET note = :n"), ExpressionAttributeValues: map[string]types.AttributeValue{":n": s("hello")}})
		return err
	}, dynamocount.Op{WriteUnits: 1, IndexWriteUnits: 1})
	// An eventually consistent read of a small item is half a unit, as
	// the endpoint reports it.
	step("get", func() error {
		_, err := client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), Key: key})
		return err
	}, dynamocount.Op{ReadUnits: 0.5})
	step("delete", func() error {
		_, err := client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(table), Key: key})
		return err
	}, dynamocount.Op{WriteUnits: 1, IndexWriteUnits: 2})
}

func TestItemSize(t *testing.T) {
	for _, c := range []struct {
		name string
		item dynamocount.Item
		want int
	}{
		{"string", dynamocount.Item{"pk": s("abc")}, 2 + 3},
		{"number", dynamocount.Item{"n": &types.AttributeValueMemberN{Value: "12345"}}, 1 + 3 + 1},
		{"number with zeros", dynamocount.Item{"n": &types.AttributeValueMemberN{Value: "-0.00120"}}, 1 + 1 + 1},
		{"bool", dynamocount.Item{"ok": &types.AttributeValueMemberBOOL{Value: true}}, 2 + 1},
		{"map", dynamocount.Item{"m": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"k": s("vv")}}}, 1 + 3 + 1 + 1 + 2},
		{"list", dynamocount.Item{"l": &types.AttributeValueMemberL{Value: []types.AttributeValue{s("a"), s("bc")}}}, 1 + 3 + (1 + 1) + (1 + 2)},
	} {
		if got := dynamocount.ItemSize(c.item); got != c.want {
			t.Errorf("%s: %d bytes, want %d", c.name, got, c.want)
		}
	}
}
