package dynamo

import (
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/sha256"
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
// Limit incidents unless the listing ends first; when filters drop most of
// what is read, one call reads at most MaxListExamined items and may then
// return fewer (even none) with a next cursor: follow it. next is empty
// after the last page. Cursors are signed with the store's cursor key, so
// a cursor this store did not make (or made for another listing) is
// refused. The indexes are eventually consistent: a write may take a
// moment to show up here. An unknown status or severity, a negative limit
// or a bad cursor are EInvalid, with Field naming the filter at fault.
func (s *Store) ListIncidents(ctx context.Context, f incident.ListFilter) (incidents []incident.Incident, next string, err error) {
	limit, err := checkListFilter(f)
	if err != nil {
		return nil, "", err
	}
	in, partAttr, partValue := s.listQuery(f)
	start, err := s.decodeCursor(ctx, f.Cursor, partAttr, partValue)
	if err != nil {
		return nil, "", err
	}
	filtered := in.FilterExpression != nil
	examined := 0
	for {
		in.Limit = aws.Int32(s.readSize(limit-int32(len(incidents)), filtered))
		in.ExclusiveStartKey = start
		out, err := s.client.Query(ctx, in)
		if err != nil {
			return nil, "", fmt.Errorf("list incidents: %w", err)
		}
		examined += int(out.ScannedCount)
		start = out.LastEvaluatedKey
		for i, item := range out.Items {
			inc, err := decodeIncident(item)
			if err != nil {
				return nil, "", fmt.Errorf("list incidents: decode: %w", err)
			}
			incidents = append(incidents, inc)
			if int32(len(incidents)) == limit && (i < len(out.Items)-1 || len(start) == 0) {
				// The page is full before the read ended: the next one
				// starts after this incident.
				start = keyOf(item, partAttr)
				break
			}
		}
		if len(start) == 0 || int32(len(incidents)) >= limit || examined >= MaxListExamined {
			break
		}
	}
	if next, err = s.encodeCursor(ctx, start); err != nil {
		return nil, "", fmt.Errorf("list incidents: %w", err)
	}
	return incidents, next, nil
}

// MaxListExamined bounds the items one listing call reads, whatever its
// filters drop, so a rare severity among a million incidents costs pages,
// not one unbounded call.
const MaxListExamined = 2000

// checkListFilter checks a listing's filters and returns its page size.
func checkListFilter(f incident.ListFilter) (int32, error) {
	if f.Status != "" {
		if _, err := incident.ParseStatus(string(f.Status)); err != nil {
			return 0, incident.FieldErrorf("status", "%s", incident.ErrorMessage(err))
		}
	}
	if f.Severity != "" {
		if _, err := incident.ParseSeverity(string(f.Severity)); err != nil {
			return 0, incident.FieldErrorf("severity", "%s", incident.ErrorMessage(err))
		}
	}
	switch limit := f.Limit; {
	case limit < 0:
		return 0, incident.FieldErrorf("limit", "limit %d is negative", limit)
	case limit == 0:
		return incident.DefaultListLimit, nil
	case limit > incident.MaxListLimit:
		return incident.MaxListLimit, nil
	default:
		return limit, nil
	}
}

// readSize is how many items one query reads: as many as the page still
// lacks, or, when a filter drops items, a batch big enough that a rare
// match costs few queries.
func (s *Store) readSize(missing int32, filtered bool) int32 {
	n := missing
	if filtered {
		n = max(missing, filteredReadSize)
	}
	if s.queryLimit > 0 && s.queryLimit < n {
		n = s.queryLimit
	}
	return n
}

// filteredReadSize is the batch a filtered listing reads per query.
const filteredReadSize = 250

// keyOf is the key of an index item, as a LastEvaluatedKey names it: the
// table's key and the index's partition and sort keys.
func keyOf(item map[string]types.AttributeValue, partAttr string) map[string]types.AttributeValue {
	k := make(map[string]types.AttributeValue, 4)
	for _, a := range []string{AttrPK, AttrSK, partAttr, AttrOpenedAt} {
		k[a] = item[a]
	}
	return k
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
	sortNewestFirst(open)
	return open, nil
}

// sortNewestFirst orders incidents as the listings return them: newest
// first, by ID among those opened at the same time.
func sortNewestFirst(incidents []incident.Incident) {
	slices.SortStableFunc(incidents, func(a, b incident.Incident) int {
		return cmp.Or(b.OpenedAt.Compare(a.OpenedAt), cmp.Compare(b.ID, a.ID))
	})
}

// badCursor is what every malformed, forged or foreign cursor gets: the
// caller can only start again.
func badCursor() error {
	return incident.FieldErrorf("cursor", "the cursor is not valid for this listing; list again without a cursor")
}

// encodeCursor turns a LastEvaluatedKey into an opaque cursor: base64 of
// its JSON, a dot, and base64 of its HMAC-SHA256 under the store's cursor
// key. Every key attribute here is a string.
func (s *Store) encodeCursor(ctx context.Context, lek map[string]types.AttributeValue) (string, error) {
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
	sig, err := s.cursorMAC(ctx, b)
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b) + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}

func (s *Store) cursorMAC(ctx context.Context, b []byte) ([]byte, error) {
	k, err := s.cursorKey(ctx)
	if err != nil {
		return nil, err
	}
	mac := hmac.New(sha256.New, k)
	mac.Write(b)
	return mac.Sum(nil), nil
}

// decodeCursor reads a cursor back into an ExclusiveStartKey, checking its
// signature and that it is the key of an incident in the index and
// partition being listed.
func (s *Store) decodeCursor(ctx context.Context, cursor, partAttr, partValue string) (map[string]types.AttributeValue, error) {
	if cursor == "" {
		return nil, nil
	}
	body, sig, ok := strings.Cut(cursor, ".")
	if !ok {
		return nil, badCursor()
	}
	b, err := base64.RawURLEncoding.DecodeString(body)
	if err != nil {
		return nil, badCursor()
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil {
		return nil, badCursor()
	}
	want, err := s.cursorMAC(ctx, b)
	if err != nil {
		return nil, err
	}
	if !hmac.Equal(got, want) {
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
