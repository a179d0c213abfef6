package dynamo

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dashboarduz/incident-response/shared/incident"
)

// timelineEnd sorts after every timeline entry's sort key ("TL#...") and
// before the partition's other items that sort after them (TRIAGE#...).
const timelineEnd = "TL$"

// TimelinePage reads an incident and the latest limit entries of its
// timeline older than the entry before (every entry when before is
// empty), oldest first; more says that older entries remain, and the
// oldest entry's ID is then the next page's before. It reads the
// partition backwards from before, so a page costs what it holds however
// long the timeline is: one query when it reaches the incident's own
// item, and a read of that item when it does not. A missing incident is
// an ENotFound; limit is 1 to incident.MaxTimelinePage.
func (s *Store) TimelinePage(ctx context.Context, id, before string, limit int) (inc incident.Incident, entries []incident.Entry, more bool, err error) {
	if id == "" {
		return incident.Incident{}, nil, false, incident.Errorf(incident.EInvalid, "incident ID is empty")
	}
	if limit < 1 || limit > incident.MaxTimelinePage {
		return incident.Incident{}, nil, false, incident.FieldErrorf("limit", "limit must be 1 to %d, not %d", incident.MaxTimelinePage, limit)
	}
	hi := timelineEnd
	if before != "" {
		hi = timelinePrefix + before
	}
	r := pageReader{id: id, limit: limit}
	if err := s.readBackwards(ctx, id, hi, &r); err != nil {
		return incident.Incident{}, nil, false, fmt.Errorf("read timeline of incident %s: %w", id, err)
	}
	if r.inc == nil {
		// More entries than the page holds: the incident's item was not
		// reached.
		if r.inc, r.opening, err = s.incidentItem(ctx, id); err != nil {
			return incident.Incident{}, nil, false, err
		}
	}
	return *r.inc, r.page(before), r.more, nil
}

// pageReader collects one page of a timeline read newest first.
type pageReader struct {
	id      string
	limit   int
	entries []incident.Entry // newest first, at most limit
	more    bool             // an entry older than the page exists
	inc     *incident.Incident
	opening *incident.Entry
}

// take reads one item, newest first, and reports whether to read on.
func (r *pageReader) take(item map[string]types.AttributeValue) (bool, error) {
	sk, _ := item[AttrSK].(*types.AttributeValueMemberS)
	switch {
	case sk == nil:
		return false, fmt.Errorf("an item of incident %s has no sort key", r.id)
	case sk.Value == metaSK:
		inc, opening, err := decodeIncidentItem(item)
		if err != nil {
			return false, err
		}
		r.inc, r.opening = &inc, opening
		return false, nil // the incident's item sorts first: nothing older
	case !strings.HasPrefix(sk.Value, timelinePrefix):
		return true, nil // its post-mortem and other items
	case len(r.entries) == r.limit:
		r.more = true
		return false, nil
	}
	e, err := decodeEntry(item)
	if err != nil {
		return false, err
	}
	r.entries = append(r.entries, e)
	return true, nil
}

// page returns the page oldest first, with the opening entry (kept in the
// incident's item) where its ID places it: inside the page's span, or
// anywhere before the end of the last page.
func (r *pageReader) page(before string) []incident.Entry {
	out := slices.Clone(r.entries)
	slices.Reverse(out)
	if o := r.opening; o != nil && (before == "" || o.ID < before) {
		oldest := ""
		if len(out) > 0 {
			oldest = out[0].ID
		}
		inSpan := !r.more || o.ID > oldest
		if inSpan && !slices.ContainsFunc(out, func(e incident.Entry) bool { return e.ID == o.ID }) {
			out = append(out, *o)
			slices.SortStableFunc(out, func(a, b incident.Entry) int { return strings.Compare(a.ID, b.ID) })
		}
	}
	if out == nil {
		out = []incident.Entry{}
	}
	return out
}

// readBackwards queries an incident's partition from the sort key hi
// (excluded) down, a page at a time, handing each item to r until it has
// had enough.
func (s *Store) readBackwards(ctx context.Context, id, hi string, r *pageReader) error {
	in := &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		KeyConditionExpression:    aws.String("#pk = :pk AND #sk < :hi"),
		ExpressionAttributeNames:  names(AttrPK, AttrSK),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(incidentPK(id)), ":hi": str(hi)},
		ScanIndexForward:          aws.Bool(false),
		ConsistentRead:            aws.Bool(true),
		// The page, the one entry that says more remain, and room for the
		// post-mortem and the incident's own item.
		Limit: aws.Int32(int32(r.limit) + 3),
	}
	for {
		out, err := s.client.Query(ctx, in)
		if err != nil {
			return err
		}
		for _, item := range out.Items {
			goOn, err := r.take(item)
			if err != nil {
				return fmt.Errorf("decode: %w", err)
			}
			if !goOn {
				return nil
			}
		}
		if out.LastEvaluatedKey == nil {
			return nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// incidentItem reads an incident and the opening entry kept in its item.
func (s *Store) incidentItem(ctx context.Context, id string) (*incident.Incident, *incident.Entry, error) {
	item, err := s.readIncidentItem(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	inc, opening, err := decodeIncidentItem(item)
	if err != nil {
		return nil, nil, fmt.Errorf("get incident %s: decode: %w", id, err)
	}
	return &inc, opening, nil
}
