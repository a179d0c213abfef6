// Package dynamo stores incidents, their timelines, page and message
// ledgers, triage reports and post-mortems, the dedup pointers, the
// maintenance windows, the health checks' states and the remediation
// guard rails in one DynamoDB table.
//
// Every write is a single-item write, conditional (attribute_not_exists,
// a version number, a page's or message's claim) wherever two writers
// could race; the package never uses TransactWriteItems, so the local
// stand-in dynalite behaves exactly like DynamoDB. Conditional-check
// failures surface as *incident.Error with code EConflict (or ENotFound
// when the item turns out to be missing); every other DynamoDB failure
// is an internal error wrapped with what was being done.
//
// The layout is shaped by the round trips on the paging path: a new
// alarm reaches its first page in six calls (a batch read of its dedup
// pointer and its service's maintenance windows, the pointer's claim, the
// incident's creation with its opening entry, the page's claim, its
// timeline entry, its outcome), a repeat of a firing alarm in two.
//
// Item layout (partition key pk, sort key sk):
//
//	incident        pk=INC#<id>          sk=META     the incident, its page and message ledgers (maps pages, deliveries) and its opening timeline entry
//	timeline entry  pk=INC#<id>          sk=TL#<entry ID>
//	triage report   pk=INC#<id>          sk=TRIAGE#<episode, 3 digits>
//	post-mortem     pk=INC#<id>          sk=POSTMORTEM
//	dedup pointer   pk=DEDUP#<key>       sk=DEDUP
//	maintenance     pk=MAINT#<service>   sk=ACTIVE   the service's windows that have not ended, at most MaxActiveWindows
//	window          pk=MWIN#<id>         sk=WINDOW   one window, for reading and ending it by ID; expires 90 days after its end
//	window services pk=MAINT             sk=<service> the services that have windows, for listing them all
//	health check    pk=HEALTH#<check>    sk=STATE
//	budget          pk=BUDGET#<service>/<action> sk=BUDGET  a remediation's recent uses on a service
//	kill switch     pk=SETTINGS          sk=REMEDIATION#KILL-SWITCH
//	cursor key      pk=CONFIG            sk=CURSOR_KEY the key that signs listing cursors
//
// The page ledger lives in the incident item, so claiming a page is one
// conditional write that also checks the incident still needs it (it is
// open, in the status and severity its plan saw, and in the page's
// episode), and returns the incident the page is about.
//
// Only incident (META) items carry the attributes status, service, entity
// and openedAt, so only incidents appear in the byStatus, byService and
// byOpenedAt indexes.
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
	BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error)
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
	// keys holds the key that signs listing cursors (see cursorKey).
	keys cursorKeys
	// queryLimit, when positive, caps the items of every Query page so that
	// tests can prove pagination without writing megabytes.
	queryLimit int32
}

// New returns a Store on the named table. Its listing cursors are signed
// with the table's own key, which every instance on the table shares (see
// Store.cursorKey).
func New(client API, table string) *Store {
	return &Store{client: client, table: table}
}

// Key prefixes and fixed sort keys.
const (
	incidentPrefix = "INC#"
	metaSK         = "META"
	timelinePrefix = "TL#"
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

// putIfVersion writes item on condition that the stored item's number
// attribute versionAttr is still expected, or, with expected 0, that no
// item has its key yet (putNew); a *types.ConditionalCheckFailedException
// (isConditionFailed) says another writer got there first.
func (s *Store) putIfVersion(ctx context.Context, item map[string]types.AttributeValue, versionAttr string, expected int64) error {
	if expected == 0 {
		return s.putNew(ctx, item)
	}
	_, err := s.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                 aws.String(s.table),
		Item:                      item,
		ConditionExpression:       aws.String("#" + versionAttr + " = :expected"),
		ExpressionAttributeNames:  names(versionAttr),
		ExpressionAttributeValues: map[string]types.AttributeValue{":expected": number(expected)},
	})
	return err
}
