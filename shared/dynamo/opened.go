package dynamo

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dashboarduz/incident-response/shared/incident"
)

// The reads below serve pages anyone may load (the status page) and
// summaries over a year: each reads a time range of an index, never the
// table, and stops after a number of items the caller sets, so that no
// amount of incidents makes one request read them all.

// attrPublicTitle is the incident item's public title, absent on an
// incident nobody published.
const attrPublicTitle = "publicTitle"

// PublishedIncidents returns the incidents with a public title that are
// open, or were opened at or after since, newest first. It reads at most
// limit incident items from the indexes (those without a public title
// count too, since DynamoDB reads them before its filter drops them): the
// open ones opened before since first, through the byStatus index, then
// those opened since, newest first, through the byOpenedAt index. complete
// is false when it stopped at the limit with items left unread: the
// oldest of the range are then missing. The indexes are eventually
// consistent.
func (s *Store) PublishedIncidents(ctx context.Context, since time.Time, limit int) (incidents []incident.Incident, complete bool, err error) {
	if limit <= 0 {
		return nil, false, incident.Errorf(incident.EInvalid, "limit %d is not positive", limit)
	}
	var queries []*dynamodb.QueryInput
	for _, st := range incident.Statuses {
		if st.Open() {
			queries = append(queries, s.rangeQuery(IndexByStatus, AttrStatus, string(st), "#openedAt < :since", map[string]types.AttributeValue{":since": str(formatTime(since))}))
		}
	}
	queries = append(queries, s.rangeQuery(IndexByOpenedAt, AttrEntity, EntityIncident, "#openedAt >= :since", map[string]types.AttributeValue{":since": str(formatTime(since))}))
	seen := map[string]bool{}
	budget := limit
	complete = true
	for _, in := range queries {
		in.ScanIndexForward = aws.Bool(false)
		in.FilterExpression = aws.String("attribute_exists(#publicTitle)")
		in.ExpressionAttributeNames["#publicTitle"] = attrPublicTitle
		done, err := s.readBounded(ctx, in, &budget, func(inc incident.Incident) {
			if !seen[inc.ID] {
				seen[inc.ID] = true
				incidents = append(incidents, inc)
			}
		})
		if err != nil {
			return nil, false, fmt.Errorf("read published incidents since %s: %w", since.Format(time.RFC3339), err)
		}
		if !done {
			complete = false
			break
		}
	}
	sortNewestFirst(incidents)
	return incidents, complete, nil
}

// IncidentsOpenedBetween returns the incidents opened in [from, to),
// oldest first, through the byOpenedAt index, reading at most limit of
// them. complete is false when the range holds more than limit
// incidents; the result then holds the oldest limit. The index is
// eventually consistent.
func (s *Store) IncidentsOpenedBetween(ctx context.Context, from, to time.Time, limit int) (incidents []incident.Incident, complete bool, err error) {
	switch {
	case limit <= 0:
		return nil, false, incident.Errorf(incident.EInvalid, "limit %d is not positive", limit)
	case !from.Before(to):
		return nil, true, nil
	}
	// BETWEEN is inclusive; the stored times have nanoseconds, so the
	// last nanosecond before to is the exclusive end.
	in := s.rangeQuery(IndexByOpenedAt, AttrEntity, EntityIncident, "#openedAt BETWEEN :from AND :last", map[string]types.AttributeValue{
		":from": str(formatTime(from)),
		":last": str(formatTime(to.Add(-time.Nanosecond))),
	})
	in.ScanIndexForward = aws.Bool(true)
	// One more than the limit tells a range of exactly limit incidents
	// from a larger one.
	budget := limit + 1
	if _, err := s.readBounded(ctx, in, &budget, func(inc incident.Incident) { incidents = append(incidents, inc) }); err != nil {
		return nil, false, fmt.Errorf("read incidents opened from %s to %s: %w", from.Format(time.RFC3339), to.Format(time.RFC3339), err)
	}
	if len(incidents) > limit {
		return incidents[:limit], false, nil
	}
	return incidents, true, nil
}

// rangeQuery builds a query of one partition of an index whose sort key,
// openedAt, meets cond (with #openedAt bound and values holding its
// placeholders).
func (s *Store) rangeQuery(index, partAttr, partValue, cond string, values map[string]types.AttributeValue) *dynamodb.QueryInput {
	values[":part"] = str(partValue)
	return &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		IndexName:                 aws.String(index),
		KeyConditionExpression:    aws.String("#part = :part AND " + cond),
		ExpressionAttributeNames:  map[string]string{"#part": partAttr, "#openedAt": AttrOpenedAt},
		ExpressionAttributeValues: values,
	}
}

// readBounded runs a query page by page, handing each incident to fn,
// until it ends (done) or it has read *budget items, counted as DynamoDB
// counts what it reads before a filter; the items read are taken from
// *budget.
func (s *Store) readBounded(ctx context.Context, in *dynamodb.QueryInput, budget *int, fn func(incident.Incident)) (done bool, err error) {
	for *budget > 0 {
		page := int32(min(*budget, 1000))
		if s.queryLimit > 0 {
			page = min(page, s.queryLimit)
		}
		in.Limit = aws.Int32(page)
		out, err := s.client.Query(ctx, in)
		if err != nil {
			return false, err
		}
		*budget -= int(out.ScannedCount)
		for _, item := range out.Items {
			inc, err := decodeIncident(item)
			if err != nil {
				return false, fmt.Errorf("decode: %w", err)
			}
			fn(inc)
		}
		if len(out.LastEvaluatedKey) == 0 {
			return true, nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
	return false, nil
}

// PublicUpdates returns the status updates of an incident that a
// responder marked public (Data public "true"), oldest first, with one
// query of its timeline whose filter leaves the rest in the table.
func (s *Store) PublicUpdates(ctx context.Context, id string) ([]incident.Entry, error) {
	if id == "" {
		return nil, incident.Errorf(incident.EInvalid, "incident ID is empty")
	}
	var entries []incident.Entry
	err := s.queryAll(ctx, &dynamodb.QueryInput{
		TableName:              aws.String(s.table),
		KeyConditionExpression: aws.String("#pk = :pk AND begins_with(#sk, :tl)"),
		FilterExpression:       aws.String("#kind = :kind AND #data.#public = :true"),
		ExpressionAttributeNames: map[string]string{
			"#pk": AttrPK, "#sk": AttrSK, "#kind": "kind", "#data": "data", "#public": incident.DataPublic,
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk":   str(incidentPK(id)),
			":tl":   str(timelinePrefix),
			":kind": str(string(incident.EntryStatusUpdate)),
			":true": str("true"),
		},
	}, func(item map[string]types.AttributeValue) error {
		e, err := decodeEntry(item)
		if err != nil {
			return err
		}
		entries = append(entries, e)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read public updates of incident %s: %w", id, err)
	}
	return entries, nil
}
