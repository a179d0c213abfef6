// Package dynamo stores incidents, their timelines, the page ledger, the
// dedup pointers and the maintenance windows in one DynamoDB table.
//
// Every write is a single-item conditional write (attribute_not_exists, a
// version number, or a maintenance window's end); the package never uses
// TransactWriteItems, so the local stand-in dynalite behaves exactly like
// DynamoDB. Conditional-check failures surface as *incident.Error with
// code EConflict (or ENotFound when the item turns out to be missing);
// every other DynamoDB failure is an internal error wrapped with what was
// being done.
//
// Item layout (partition key pk, sort key sk):
//
//	incident        pk=INC#<id>        sk=META
//	timeline entry  pk=INC#<id>        sk=TL#<entry ID>
//	page ledger     pk=INC#<id>        sk=PAGE#<level, 2 digits> (first episode), PAGE#R<episode, 3 digits>#<level> (re-openings)
//	dedup pointer   pk=DEDUP#<key>     sk=DEDUP
//	maintenance     pk=MAINT           sk=<service>#<start>#<window ID>
//
// Only incident (META) items carry the attributes status, service, entity
// and openedAt, so only incidents appear in the byStatus, byService and
// byOpenedAt indexes. All maintenance windows share one partition, sorted
// by service and then start, so one query reads them all or, with
// begins_with on the sort key, those of one service.
//
// Times are stored as fixed-width RFC 3339 strings in UTC (TimeLayout), so
// they sort as strings; they come back in UTC.
package dynamo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Names in the table schema, exported so that the CDK app creates exactly
// what this package reads and writes.
const (
	// AttrPK is the table's partition key (string).
	AttrPK = "pk"
	// AttrSK is the table's sort key (string).
	AttrSK = "sk"
	// AttrTTL is the table's time-to-live attribute (number, epoch
	// seconds). TTL is switched on in CDK only; dynalite ignores it.
	AttrTTL = "expiresAt"

	// IndexByStatus lists incidents by status, ordered by AttrOpenedAt.
	IndexByStatus = "byStatus"
	// IndexByService lists incidents by service, ordered by AttrOpenedAt.
	IndexByService = "byService"

	// IndexByOpenedAt lists every incident, ordered by AttrOpenedAt.
	IndexByOpenedAt = "byOpenedAt"

	// AttrEntity is the partition key of IndexByOpenedAt (string): only
	// incident items carry it, with the value EntityIncident.
	AttrEntity = "entity"
	// EntityIncident is AttrEntity's value on incident items.
	EntityIncident = "incident"

	// AttrStatus is the partition key of IndexByStatus (string).
	AttrStatus = "status"
	// AttrService is the partition key of IndexByService (string).
	AttrService = "service"
	// AttrOpenedAt is the sort key of the three indexes (string, TimeLayout).
	AttrOpenedAt = "openedAt"
)

// TimeLayout is how times are stored: RFC 3339 in UTC with all nine
// fractional digits, so every value has the same width and string order is
// time order. time.RFC3339Nano parses it.
const TimeLayout = "2006-01-02T15:04:05.000000000Z07:00"

// API is the part of the DynamoDB client the Store uses; *dynamodb.Client
// implements it.
type API interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, optFns ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
}

// Store reads and writes incidents and their ledgers in one table. It is
// safe for concurrent use.
type Store struct {
	client API
	table  string
	// queryLimit, when positive, caps the items of every Query page so that
	// tests can prove pagination without writing megabytes.
	queryLimit int32
}

// New returns a Store on the named table.
func New(client API, table string) *Store {
	return &Store{client: client, table: table}
}

// Key prefixes and fixed sort keys.
const (
	incidentPrefix = "INC#"
	metaSK         = "META"
	timelinePrefix = "TL#"
	pagePrefix     = "PAGE#"
	dedupPrefix    = "DEDUP#"
	dedupSK        = "DEDUP"
)

func incidentPK(id string) string { return incidentPrefix + id }

// isConditionFailed reports whether err is a failed condition expression.
func isConditionFailed(err error) bool {
	var e *types.ConditionalCheckFailedException
	return errors.As(err, &e)
}

// formatTime stores t in TimeLayout; the zero time is stored as "".
func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(TimeLayout)
}

// parseTime reads a time stored by formatTime.
func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("stored time %q: %w", s, err)
	}
	return t.UTC(), nil
}

// names returns ExpressionAttributeNames mapping #name to name for each
// name, so that expressions never trip over reserved words such as status.
func names(attrs ...string) map[string]string {
	m := make(map[string]string, len(attrs))
	for _, a := range attrs {
		m["#"+a] = a
	}
	return m
}

// putNew writes item on condition that no item has its key yet; a
// *types.ConditionalCheckFailedException (isConditionFailed) says one has.
func (s *Store) putNew(ctx context.Context, item map[string]types.AttributeValue) error {
	_, err := s.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                aws.String(s.table),
		Item:                     item,
		ConditionExpression:      aws.String("attribute_not_exists(#pk)"),
		ExpressionAttributeNames: names(AttrPK),
	})
	return err
}
