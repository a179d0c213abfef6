package dynamo

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dashboarduz/incident-response/shared/incident"
)

// entryRecord is a timeline entry as stored, in its incident's partition.
// It has no status, service or openedAt attribute, so it stays out of the
// indexes.
type entryRecord struct {
	PK         string            `dynamodbav:"pk"`
	SK         string            `dynamodbav:"sk"`
	IncidentID string            `dynamodbav:"incidentId"`
	EntryID    string            `dynamodbav:"entryId"`
	At         string            `dynamodbav:"at,omitempty"`
	Kind       string            `dynamodbav:"kind"`
	Actor      string            `dynamodbav:"actor"`
	Text       string            `dynamodbav:"text"`
	Data       map[string]string `dynamodbav:"data,omitempty"`
}

func toEntryRecord(incidentID string, e incident.Entry) entryRecord {
	return entryRecord{
		PK:         incidentPK(incidentID),
		SK:         timelinePrefix + e.ID,
		IncidentID: incidentID,
		EntryID:    e.ID,
		At:         formatTime(e.At),
		Kind:       string(e.Kind),
		Actor:      e.Actor,
		Text:       e.Text,
		Data:       e.Data,
	}
}

func (r entryRecord) entry() (incident.Entry, error) {
	at, err := parseTime(r.At)
	if err != nil {
		return incident.Entry{}, err
	}
	e := incident.Entry{ID: r.EntryID, At: at, Kind: incident.EntryKind(r.Kind), Actor: r.Actor, Text: r.Text}
	if len(r.Data) > 0 {
		e.Data = r.Data
	}
	return e, nil
}

// AppendTimeline adds entry e to an incident's timeline unless an entry
// with the same ID is already there, in which case it reports false and
// leaves the stored entry as it was: a retried append changes nothing. An
// entry without an ID is EInvalid.
func (s *Store) AppendTimeline(ctx context.Context, incidentID string, e incident.Entry) (added bool, err error) {
	if incidentID == "" {
		return false, incident.Errorf(incident.EInvalid, "incident ID is empty")
	}
	if e.ID == "" {
		return false, incident.Errorf(incident.EInvalid, "timeline entry for incident %s has no ID", incidentID)
	}
	item, err := attributevalue.MarshalMap(toEntryRecord(incidentID, e))
	if err != nil {
		return false, fmt.Errorf("append timeline entry %s to incident %s: %w", e.ID, incidentID, err)
	}
	err = s.putNew(ctx, item)
	if isConditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("append timeline entry %s to incident %s: %w", e.ID, incidentID, err)
	}
	return true, nil
}

// Timeline returns an incident's timeline in entry ID order (which
// incident.EntryID makes time order), reading every page. An incident
// without entries, or an unknown one, has an empty timeline.
func (s *Store) Timeline(ctx context.Context, incidentID string) ([]incident.Entry, error) {
	_, entries, err := s.partition(ctx, incidentID, nil)
	return entries, err
}

// partition reads an incident's partition: its item, when there is one,
// and its timeline, the opening entry stored in the item first. It hands
// each of the partition's other items (its triage reports, its
// post-mortem) to other, when set, with its sort key.
func (s *Store) partition(ctx context.Context, id string, other func(sk string, item map[string]types.AttributeValue) error) (*incident.Incident, []incident.Entry, error) {
	if id == "" {
		return nil, nil, incident.Errorf(incident.EInvalid, "incident ID is empty")
	}
	var inc *incident.Incident
	var entries []incident.Entry
	err := s.queryAll(ctx, &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		KeyConditionExpression:    aws.String("#pk = :pk"),
		ExpressionAttributeNames:  names(AttrPK),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(incidentPK(id))},
		ConsistentRead:            aws.Bool(true),
	}, func(item map[string]types.AttributeValue) error {
		sk, _ := item[AttrSK].(*types.AttributeValueMemberS)
		switch {
		case sk == nil:
			return fmt.Errorf("an item of incident %s has no sort key", id)
		case sk.Value == metaSK:
			i, opening, err := decodeIncidentItem(item)
			if err != nil {
				return err
			}
			inc = &i
			if opening != nil {
				entries = append(entries, *opening)
			}
			return nil
		case !strings.HasPrefix(sk.Value, timelinePrefix):
			// The incident's other items: its triage reports, its
			// post-mortem.
			if other != nil {
				return other(sk.Value, item)
			}
			return nil
		}
		e, err := decodeEntry(item)
		if err != nil {
			return err
		}
		entries = append(entries, e)
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("read timeline of incident %s: %w", id, err)
	}
	slices.SortStableFunc(entries, func(a, b incident.Entry) int { return strings.Compare(a.ID, b.ID) })
	entries = slices.CompactFunc(entries, func(a, b incident.Entry) bool { return a.ID == b.ID })
	return inc, entries, nil
}

// decodeEntry reads a timeline entry item.
func decodeEntry(item map[string]types.AttributeValue) (incident.Entry, error) {
	var r entryRecord
	if err := attributevalue.UnmarshalMap(item, &r); err != nil {
		return incident.Entry{}, err
	}
	return r.entry()
}

// decodeIncidentItem reads an incident item and the opening entry stored
// in it, if any.
func decodeIncidentItem(item map[string]types.AttributeValue) (incident.Incident, *incident.Entry, error) {
	inc, err := decodeIncident(item)
	if err != nil {
		return incident.Incident{}, nil, err
	}
	av, ok := item[attrOpening]
	if !ok {
		return inc, nil, nil
	}
	var r entryRecord
	if err := attributevalue.Unmarshal(av, &r); err != nil {
		return incident.Incident{}, nil, fmt.Errorf("opening entry: %w", err)
	}
	e, err := r.entry()
	if err != nil {
		return incident.Incident{}, nil, fmt.Errorf("opening entry: %w", err)
	}
	return inc, &e, nil
}

// queryAll runs a query to its last page and hands every item to fn.
func (s *Store) queryAll(ctx context.Context, in *dynamodb.QueryInput, fn func(map[string]types.AttributeValue) error) error {
	if s.queryLimit > 0 {
		in.Limit = aws.Int32(s.queryLimit)
	}
	p := dynamodb.NewQueryPaginator(s.client, in)
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, item := range out.Items {
			if err := fn(item); err != nil {
				return fmt.Errorf("decode: %w", err)
			}
		}
	}
	return nil
}
