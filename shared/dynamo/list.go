package dynamo

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dashboarduz/incident-response/shared/incident"
)

// ListIncidents lists incidents newest first, one page at a time, through
// the byService index when Service is set (Status then filters), else the
// byStatus index when Status is set, else the byOpenedAt index, which holds
// every incident. Severity filters whichever index is read. A page holds
// Limit incidents unless the listing ends first, however many the filters
// drop; next is empty after the last page, and a page may be empty when the
// previous one ended exactly at the end. The indexes are eventually
// consistent: a write may take a moment to show up here. An unknown status
// or severity, a negative limit or a cursor this listing did not produce
// are EInvalid, with Field naming the filter at fault.
func (s *Store) ListIncidents(ctx context.Context, f incident.ListFilter) (incidents []incident.Incident, next string, err error) {
	if f.Status != "" {
		if _, err := incident.ParseStatus(string(f.Status)); err != nil {
			return nil, "", incident.FieldErrorf("status", "%s", incident.ErrorMessage(err))
		}
	}
	if f.Severity != "" {
		if _, err := incident.ParseSeverity(string(f.Severity)); err != nil {
			return nil, "", incident.FieldErrorf("severity", "%s", incident.ErrorMessage(err))
		}
	}
	limit := f.Limit
	switch {
	case limit < 0:
		return nil, "", incident.FieldErrorf("limit", "limit %d is negative", limit)
	case limit == 0:
		limit = incident.DefaultListLimit
	case limit > incident.MaxListLimit:
		limit = incident.MaxListLimit
	}
	in, partAttr, partValue := s.listQuery(f)
	start, err := decodeCursor(f.Cursor, partAttr, partValue)
	if err != nil {
		return nil, "", err
	}
	for {
		page := limit - int32(len(incidents))
		if s.queryLimit > 0 && s.queryLimit < page {
			page = s.queryLimit
		}
		in.Limit = aws.Int32(page)
		in.ExclusiveStartKey = start
		out, err := s.client.Query(ctx, in)
		if err != nil {
			return nil, "", fmt.Errorf("list incidents: %w", err)
		}
		for _, item := range out.Items {
			inc, err := decodeIncident(item)
			if err != nil {
				return nil, "", fmt.Errorf("list incidents: decode: %w", err)
			}
			incidents = append(incidents, inc)
		}
		start = out.LastEvaluatedKey
		// Each query reads at most as many items as incidents are still
		// missing, and a filter only drops items it has read, so the page
		// never overflows and the last evaluated key is exactly where the
		// next page starts.
		if len(start) == 0 || int32(len(incidents)) >= limit {
			break
		}
	}
	next, err = encodeCursor(start)
	if err != nil {
		return nil, "", fmt.Errorf("list incidents: %w", err)
	}
	return incidents, next, nil
}

// listQuery builds the query for a valid filter and names the index
// partition attribute and value that a cursor for it must carry.
func (s *Store) listQuery(f incident.ListFilter) (in *dynamodb.QueryInput, partAttr, partValue string) {
	in = &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		ScanIndexForward:          aws.Bool(false),
		ExpressionAttributeNames:  map[string]string{},
		ExpressionAttributeValues: map[string]types.AttributeValue{},
	}
	// equals returns "#attr = :attr" and binds the name and the value.
	equals := func(attr, value string) string {
		in.ExpressionAttributeNames["#"+attr] = attr
		in.ExpressionAttributeValues[":"+attr] = &types.AttributeValueMemberS{Value: value}
		return "#" + attr + " = :" + attr
	}
	var filters []string
	switch {
	case f.Service != "":
		in.IndexName = aws.String(IndexByService)
		partAttr, partValue = AttrService, f.Service
		if f.Status != "" {
			filters = append(filters, equals(AttrStatus, string(f.Status)))
		}
	case f.Status != "":
		in.IndexName = aws.String(IndexByStatus)
		partAttr, partValue = AttrStatus, string(f.Status)
	default:
		in.IndexName = aws.String(IndexByOpenedAt)
		partAttr, partValue = AttrEntity, EntityIncident
	}
	in.KeyConditionExpression = aws.String(equals(partAttr, partValue))
	if f.Severity != "" {
		filters = append(filters, equals(attrSeverity, string(f.Severity)))
	}
	if len(filters) > 0 {
		in.FilterExpression = aws.String(strings.Join(filters, " AND "))
	}
	return in, partAttr, partValue
}

// attrSeverity is the incident item's severity attribute, which listings
// filter on.
const attrSeverity = "severity"

// ListOpen returns every incident that is not resolved, of one service or
// (service empty) of all, newest first, reading every page.
func (s *Store) ListOpen(ctx context.Context, service string) ([]incident.Incident, error) {
	var queries []*dynamodb.QueryInput
	if service != "" {
		in, _, _ := s.listQuery(incident.ListFilter{Service: service})
		in.FilterExpression = aws.String("#status <> :resolved")
		in.ExpressionAttributeNames["#status"] = AttrStatus
		in.ExpressionAttributeValues[":resolved"] = &types.AttributeValueMemberS{Value: string(incident.Resolved)}
		queries = append(queries, in)
	} else {
		for _, st := range incident.Statuses {
			if st.Open() {
				in, _, _ := s.listQuery(incident.ListFilter{Status: st})
				queries = append(queries, in)
			}
		}
	}
	var open []incident.Incident
	for _, in := range queries {
		err := s.queryAll(ctx, in, func(item map[string]types.AttributeValue) error {
			inc, err := decodeIncident(item)
			if err != nil {
				return err
			}
			open = append(open, inc)
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("list open incidents: %w", err)
		}
	}
	slices.SortStableFunc(open, func(a, b incident.Incident) int {
		if c := b.OpenedAt.Compare(a.OpenedAt); c != 0 {
			return c
		}
		return cmp.Compare(b.ID, a.ID)
	})
	return open, nil
}

// badCursor is what every malformed or foreign cursor gets: the caller can
// only start again.
func badCursor() error {
	return incident.FieldErrorf("cursor", "the cursor is not valid for this listing; list again without a cursor")
}

// encodeCursor turns a LastEvaluatedKey into an opaque cursor: base64 of
// its JSON. Every key attribute here is a string.
func encodeCursor(lek map[string]types.AttributeValue) (string, error) {
	if len(lek) == 0 {
		return "", nil
	}
	m := make(map[string]string, len(lek))
	for k, v := range lek {
		sv, ok := v.(*types.AttributeValueMemberS)
		if !ok {
			return "", fmt.Errorf("last evaluated key attribute %s is %T, not a string", k, v)
		}
		m[k] = sv.Value
	}
	b, err := json.Marshal(m)
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// decodeCursor reads a cursor back into an ExclusiveStartKey, checking that
// it is the key of an incident in the index and partition being listed.
func decodeCursor(cursor, partAttr, partValue string) (map[string]types.AttributeValue, error) {
	if cursor == "" {
		return nil, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return nil, badCursor()
	}
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, badCursor()
	}
	if len(m) != 4 || m[partAttr] != partValue || m[AttrSK] != metaSK ||
		!strings.HasPrefix(m[AttrPK], incidentPrefix) || len(m[AttrPK]) == len(incidentPrefix) {
		return nil, badCursor()
	}
	if _, err := time.Parse(time.RFC3339Nano, m[AttrOpenedAt]); err != nil {
		return nil, badCursor()
	}
	lek := make(map[string]types.AttributeValue, len(m))
	for k, v := range m {
		lek[k] = &types.AttributeValueMemberS{Value: v}
	}
	return lek, nil
}
