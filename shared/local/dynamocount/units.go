package dynamocount

import (
	"context"
	"fmt"
	"math"
	"reflect"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Item is a DynamoDB item as the SDK holds it.
type Item = map[string]types.AttributeValue

// Index is a global secondary index: its key attributes and what it
// projects.
type Index struct {
	Name string
	Keys []string
	// Projection is ALL, KEYS_ONLY or INCLUDE (with NonKeyAttributes).
	Projection       types.ProjectionType
	NonKeyAttributes []string
}

// Table is what Units needs to know about a table: its key attributes and
// its global secondary indexes.
type Table struct {
	Name    string
	Keys    []string
	Indexes []Index
}

// DescribeTableAPI is the call DescribeTable needs.
type DescribeTableAPI interface {
	DescribeTable(ctx context.Context, in *dynamodb.DescribeTableInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error)
}

// DescribeTable reads a table's keys and global secondary indexes.
func DescribeTable(ctx context.Context, client DescribeTableAPI, name string) (Table, error) {
	out, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
	if err != nil {
		return Table{}, fmt.Errorf("describe table %s: %w", name, err)
	}
	t := Table{Name: name, Keys: keyNames(out.Table.KeySchema)}
	for _, g := range out.Table.GlobalSecondaryIndexes {
		idx := Index{Name: aws.ToString(g.IndexName), Keys: keyNames(g.KeySchema), Projection: types.ProjectionTypeAll}
		if g.Projection != nil {
			idx.Projection = g.Projection.ProjectionType
			idx.NonKeyAttributes = g.Projection.NonKeyAttributes
		}
		t.Indexes = append(t.Indexes, idx)
	}
	return t, nil
}

func keyNames(ks []types.KeySchemaElement) []string {
	out := make([]string, len(ks))
	for i, k := range ks {
		out[i] = aws.ToString(k.AttributeName)
	}
	return out
}

// GetItemAPI is the call Units makes to read an item after an UpdateItem.
type GetItemAPI interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
}

// Units works out the request units of each call as DynamoDB's on-demand
// pricing counts them.
//
// Reads are taken from the ConsumedCapacity the endpoint reports (dynalite
// and DynamoDB both compute it from the sizes of the items read), or, when
// it reports none, from the sizes of the items returned.
//
// Writes are worked out from the item before and after the write: on the
// table ceil(max(before, after) / 1 KB) write units (at least one, also for
// a write refused by its condition); on each global secondary index one
// write of the index entry's size when the item enters or leaves the index
// or its projected attributes change, two when its index key changes.
// dynalite reports table units only, which is why the counter does this
// itself. To know the item before a write, Units keeps an image of every
// item written through the counted client, so its figures hold for a table
// it has seen from empty; to know the item after an UpdateItem that does
// not return it, it reads it with Reader, which must not be counted.
// Transactions are counted as calls but not priced: the data model uses
// none.
type Units struct {
	table  Table
	reader GetItemAPI

	mu     sync.Mutex
	images map[string]Item
}

// NewUnits returns units accounting for table, reading items after updates
// with reader.
func NewUnits(table Table, reader GetItemAPI) *Units {
	return &Units{table: table, reader: reader, images: map[string]Item{}}
}

// measure works out what one call consumed.
func (u *Units) measure(ctx context.Context, params, result any, conditionFailed bool) Op {
	switch in := params.(type) {
	case *dynamodb.GetItemInput:
		out, _ := result.(*dynamodb.GetItemOutput)
		return Op{ReadUnits: u.readUnits(out, aws.ToBool(in.ConsistentRead))}
	case *dynamodb.QueryInput:
		out, _ := result.(*dynamodb.QueryOutput)
		if out == nil {
			return Op{}
		}
		return Op{ReadUnits: reported(out.ConsumedCapacity, func() float64 { return itemsUnits(out.Items, aws.ToBool(in.ConsistentRead)) })}
	case *dynamodb.ScanInput:
		out, _ := result.(*dynamodb.ScanOutput)
		if out == nil {
			return Op{}
		}
		return Op{ReadUnits: reported(out.ConsumedCapacity, func() float64 { return itemsUnits(out.Items, aws.ToBool(in.ConsistentRead)) })}
	case *dynamodb.BatchGetItemInput:
		out, _ := result.(*dynamodb.BatchGetItemOutput)
		if out == nil {
			return Op{}
		}
		var n float64
		for _, c := range out.ConsumedCapacity {
			n += aws.ToFloat64(c.CapacityUnits)
		}
		return Op{ReadUnits: n}
	case *dynamodb.PutItemInput:
		return u.put(aws.ToString(in.TableName), in.Item, conditionFailed)
	case *dynamodb.UpdateItemInput:
		out, _ := result.(*dynamodb.UpdateItemOutput)
		return u.update(ctx, in, out, conditionFailed)
	case *dynamodb.DeleteItemInput:
		return u.delete(aws.ToString(in.TableName), in.Key, conditionFailed)
	case *dynamodb.BatchWriteItemInput:
		var total Op
		for table, reqs := range in.RequestItems {
			for _, r := range reqs {
				switch {
				case r.PutRequest != nil:
					total = total.add(u.put(table, r.PutRequest.Item, false), 1)
				case r.DeleteRequest != nil:
					total = total.add(u.delete(table, r.DeleteRequest.Key, false), 1)
				}
			}
		}
		return total
	}
	return Op{}
}

// reported returns the capacity the endpoint reported, or what fallback
// works out when it reported none.
func reported(c *types.ConsumedCapacity, fallback func() float64) float64 {
	if c != nil && c.CapacityUnits != nil {
		return *c.CapacityUnits
	}
	return fallback()
}

func (u *Units) readUnits(out *dynamodb.GetItemOutput, consistent bool) float64 {
	if out == nil {
		return 0
	}
	return reported(out.ConsumedCapacity, func() float64 { return readUnitsOf(ItemSize(out.Item), consistent) })
}

// readUnitsOf is the read units of reading size bytes: one per 4 KB
// started, half of that when eventually consistent. Reading nothing still
// costs the minimum.
func readUnitsOf(size int, consistent bool) float64 {
	n := math.Max(1, math.Ceil(float64(size)/4096))
	if !consistent {
		n /= 2
	}
	return n
}

// itemsUnits is a Query's or Scan's read units: the items' sizes summed,
// then rounded up to 4 KB.
func itemsUnits(items []Item, consistent bool) float64 {
	size := 0
	for _, it := range items {
		size += ItemSize(it)
	}
	return readUnitsOf(size, consistent)
}

// writeUnitsOf is the write units of writing size bytes: one per 1 KB
// started, at least one.
func writeUnitsOf(size int) float64 {
	return math.Max(1, math.Ceil(float64(size)/1024))
}

func (u *Units) put(table string, item Item, conditionFailed bool) Op {
	if conditionFailed {
		return u.refused(table, item, item)
	}
	return u.write(table, item, item)
}

func (u *Units) delete(table string, key Item, conditionFailed bool) Op {
	if conditionFailed {
		return u.refused(table, key, nil)
	}
	return u.write(table, key, nil)
}

func (u *Units) update(ctx context.Context, in *dynamodb.UpdateItemInput, out *dynamodb.UpdateItemOutput, conditionFailed bool) Op {
	table := aws.ToString(in.TableName)
	if conditionFailed {
		return u.refused(table, in.Key, nil)
	}
	var after Item
	if out != nil && in.ReturnValues == types.ReturnValueAllNew {
		after = out.Attributes
	} else if got, err := u.reader.GetItem(ctx, &dynamodb.GetItemInput{TableName: in.TableName, Key: in.Key, ConsistentRead: aws.Bool(true)}); err == nil {
		after = got.Item
	}
	if after == nil {
		// The item could not be read back: price the write as the
		// smallest one.
		return Op{WriteUnits: 1}
	}
	return u.write(table, in.Key, after)
}

// refused prices a write its condition refused: the units of the item as
// it stands (or of the new item, for a put of a key with no item), and
// nothing on the indexes, which do not change.
func (u *Units) refused(table string, key, item Item) Op {
	u.mu.Lock()
	before := u.images[u.imageKey(table, key)]
	u.mu.Unlock()
	if before == nil {
		before = item
	}
	return Op{WriteUnits: writeUnitsOf(ItemSize(before))}
}

// write prices a write that replaced the item at key with after (nil: a
// delete), and keeps after as the item's image.
func (u *Units) write(table string, key, after Item) Op {
	k := u.imageKey(table, key)
	u.mu.Lock()
	before := u.images[k]
	if after == nil {
		delete(u.images, k)
	} else {
		u.images[k] = after
	}
	u.mu.Unlock()
	op := Op{WriteUnits: writeUnitsOf(max(ItemSize(before), ItemSize(after)))}
	if table == u.table.Name {
		for _, idx := range u.table.Indexes {
			op.IndexWriteUnits += u.indexWrite(idx, before, after)
		}
	}
	return op
}

// indexWrite prices what a write does to one global secondary index, as
// DynamoDB's documentation lists the cases.
func (u *Units) indexWrite(idx Index, before, after Item) float64 {
	old, cur := u.entry(idx, before), u.entry(idx, after)
	switch {
	case old == nil && cur == nil:
		return 0
	case old == nil:
		return writeUnitsOf(ItemSize(cur))
	case cur == nil:
		return writeUnitsOf(ItemSize(old))
	case !sameKeys(idx.Keys, old, cur):
		return writeUnitsOf(ItemSize(old)) + writeUnitsOf(ItemSize(cur))
	case !reflect.DeepEqual(old, cur):
		return writeUnitsOf(max(ItemSize(old), ItemSize(cur)))
	}
	return 0
}

// entry is the index entry of item: nil when the item lacks one of the
// index's key attributes, otherwise its projected attributes.
func (u *Units) entry(idx Index, item Item) Item {
	if item == nil {
		return nil
	}
	for _, k := range idx.Keys {
		if _, ok := item[k]; !ok {
			return nil
		}
	}
	if idx.Projection == types.ProjectionTypeAll || idx.Projection == "" {
		return item
	}
	out := Item{}
	for _, names := range [][]string{u.table.Keys, idx.Keys, idx.NonKeyAttributes} {
		for _, n := range names {
			if v, ok := item[n]; ok {
				out[n] = v
			}
		}
	}
	return out
}

func sameKeys(keys []string, a, b Item) bool {
	for _, k := range keys {
		if !reflect.DeepEqual(a[k], b[k]) {
			return false
		}
	}
	return true
}

// imageKey identifies an item by its table and its key attributes' values.
func (u *Units) imageKey(table string, item Item) string {
	var b strings.Builder
	b.WriteString(table)
	for _, k := range u.table.Keys {
		b.WriteString("\x00")
		b.WriteString(scalar(item[k]))
	}
	return b.String()
}

func scalar(v types.AttributeValue) string {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return "S" + v.Value
	case *types.AttributeValueMemberN:
		return "N" + v.Value
	case *types.AttributeValueMemberB:
		return "B" + string(v.Value)
	}
	return fmt.Sprintf("%T", v)
}

// ItemSize is an item's size as DynamoDB counts it for capacity: the UTF-8
// length of each attribute name plus the size of its value.
func ItemSize(item Item) int {
	n := 0
	for name, v := range item {
		n += len(name) + valueSize(v)
	}
	return n
}

// valueSize follows DynamoDB's item-size rules: strings and binaries by
// length, numbers about one byte per two significant digits plus one,
// booleans and nulls one byte, lists and maps three bytes plus one byte per
// element.
func valueSize(v types.AttributeValue) int {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return len(v.Value)
	case *types.AttributeValueMemberN:
		return numberSize(v.Value)
	case *types.AttributeValueMemberB:
		return len(v.Value)
	case *types.AttributeValueMemberBOOL, *types.AttributeValueMemberNULL:
		return 1
	case *types.AttributeValueMemberSS:
		return sumLen(v.Value)
	case *types.AttributeValueMemberNS:
		n := 0
		for _, s := range v.Value {
			n += numberSize(s)
		}
		return n
	case *types.AttributeValueMemberBS:
		n := 0
		for _, b := range v.Value {
			n += len(b)
		}
		return n
	case *types.AttributeValueMemberL:
		n := 3
		for _, e := range v.Value {
			n += 1 + valueSize(e)
		}
		return n
	case *types.AttributeValueMemberM:
		n := 3
		for k, e := range v.Value {
			n += 1 + len(k) + valueSize(e)
		}
		return n
	}
	return 0
}

func sumLen(ss []string) int {
	n := 0
	for _, s := range ss {
		n += len(s)
	}
	return n
}

// numberSize is about one byte per two significant digits, plus one.
func numberSize(s string) int {
	digits := strings.Trim(signAndPoint.Replace(strings.SplitN(strings.ToLower(s), "e", 2)[0]), "0")
	return (len(digits)+1)/2 + 1
}

// signAndPoint drops what is not a digit of a number's mantissa.
var signAndPoint = strings.NewReplacer("-", "", "+", "", ".", "")
