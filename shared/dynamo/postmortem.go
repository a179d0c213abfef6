package dynamo

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/postmortem"
)

// postMortemSK keys an incident's post-mortem in its partition:
// pk=INC#<id>, sk=POSTMORTEM. The item holds the post-mortem as one JSON
// document (attribute postMortem) and its version; it has none of the
// index attributes, so it never shows in an incident listing.
const postMortemSK = "POSTMORTEM"

// Attributes of the post-mortem item.
const attrPostMortem = "postMortem"

func postMortemKey(id string) map[string]types.AttributeValue {
	return key(incidentPK(id), postMortemSK)
}

// postMortemItem is the stored form of pm with version.
func postMortemItem(pm postmortem.PostMortem, version int64) (map[string]types.AttributeValue, error) {
	b, err := json.Marshal(pm)
	if err != nil {
		return nil, err
	}
	item := postMortemKey(pm.IncidentID)
	item[attrPostMortem] = str(string(b))
	item[attrVersion] = number(version)
	return item, nil
}

// decodePostMortem reads a post-mortem item.
func decodePostMortem(item map[string]types.AttributeValue) (postmortem.PostMortem, error) {
	doc, ok := item[attrPostMortem].(*types.AttributeValueMemberS)
	if !ok {
		return postmortem.PostMortem{}, fmt.Errorf("post-mortem item has no %s document", attrPostMortem)
	}
	var pm postmortem.PostMortem
	if err := json.Unmarshal([]byte(doc.Value), &pm); err != nil {
		return postmortem.PostMortem{}, fmt.Errorf("post-mortem document: %w", err)
	}
	v, ok := item[attrVersion].(*types.AttributeValueMemberN)
	if !ok {
		return postmortem.PostMortem{}, fmt.Errorf("post-mortem item has no version")
	}
	if _, err := fmt.Sscan(v.Value, &pm.Version); err != nil {
		return postmortem.PostMortem{}, fmt.Errorf("post-mortem version %q: %w", v.Value, err)
	}
	return pm, nil
}

// CreatePostMortem stores a new post-mortem with Version 1, whatever
// pm.Version says, and returns it as stored. An incident has one
// post-mortem: when one is already stored, it is an EConflict.
func (s *Store) CreatePostMortem(ctx context.Context, pm postmortem.PostMortem) (postmortem.PostMortem, error) {
	if pm.IncidentID == "" {
		return postmortem.PostMortem{}, incident.Errorf(incident.EInvalid, "a post-mortem needs its incident")
	}
	pm.Version = 1
	item, err := postMortemItem(pm, pm.Version)
	if err != nil {
		return postmortem.PostMortem{}, fmt.Errorf("create post-mortem of %s: %w", pm.IncidentID, err)
	}
	err = s.putNew(ctx, item)
	if isConditionFailed(err) {
		return postmortem.PostMortem{}, incident.Errorf(incident.EConflict, "incident %s already has a post-mortem", pm.IncidentID)
	}
	if err != nil {
		return postmortem.PostMortem{}, fmt.Errorf("create post-mortem of %s: %w", pm.IncidentID, err)
	}
	return pm, nil
}

// UpdatePostMortem replaces a stored post-mortem on condition that its
// version is still pm.Version, writes Version+1 and returns it as
// stored. A changed version is an EConflict (re-read and try again); a
// post-mortem never created is an ENotFound.
func (s *Store) UpdatePostMortem(ctx context.Context, pm postmortem.PostMortem) (postmortem.PostMortem, error) {
	if pm.IncidentID == "" {
		return postmortem.PostMortem{}, incident.Errorf(incident.EInvalid, "a post-mortem needs its incident")
	}
	expected := pm.Version
	pm.Version = expected + 1
	item, err := postMortemItem(pm, pm.Version)
	if err != nil {
		return postmortem.PostMortem{}, fmt.Errorf("update post-mortem of %s: %w", pm.IncidentID, err)
	}
	_, err = s.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                 aws.String(s.table),
		Item:                      item,
		ConditionExpression:       aws.String("#version = :expected"),
		ExpressionAttributeNames:  names(attrVersion),
		ExpressionAttributeValues: map[string]types.AttributeValue{":expected": number(expected)},
	})
	if isConditionFailed(err) {
		if _, found, gerr := s.postMortem(ctx, pm.IncidentID); gerr == nil && !found {
			return postmortem.PostMortem{}, incident.Errorf(incident.ENotFound, "incident %s has no post-mortem", pm.IncidentID)
		}
		return postmortem.PostMortem{}, incident.Errorf(incident.EConflict, "the post-mortem of %s was changed concurrently: version %d is stale", pm.IncidentID, expected)
	}
	if err != nil {
		return postmortem.PostMortem{}, fmt.Errorf("update post-mortem of %s: %w", pm.IncidentID, err)
	}
	return pm, nil
}

// PostMortem reads an incident's post-mortem with a strongly consistent
// read. One never created is an ENotFound.
func (s *Store) PostMortem(ctx context.Context, id string) (postmortem.PostMortem, error) {
	pm, found, err := s.postMortem(ctx, id)
	if err != nil {
		return postmortem.PostMortem{}, err
	}
	if !found {
		return postmortem.PostMortem{}, incident.Errorf(incident.ENotFound, "incident %s has no post-mortem", id)
	}
	return pm, nil
}

func (s *Store) postMortem(ctx context.Context, id string) (postmortem.PostMortem, bool, error) {
	if id == "" {
		return postmortem.PostMortem{}, false, incident.Errorf(incident.EInvalid, "incident ID is empty")
	}
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table), Key: postMortemKey(id), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return postmortem.PostMortem{}, false, fmt.Errorf("read post-mortem of %s: %w", id, err)
	}
	if out.Item == nil {
		return postmortem.PostMortem{}, false, nil
	}
	pm, err := decodePostMortem(out.Item)
	if err != nil {
		return postmortem.PostMortem{}, false, fmt.Errorf("read post-mortem of %s: %w", id, err)
	}
	return pm, true, nil
}

// IncidentAndPostMortem reads an incident and its post-mortem in one
// strongly consistent batch read. The post-mortem is nil when none is
// stored yet; a missing incident is an ENotFound.
func (s *Store) IncidentAndPostMortem(ctx context.Context, id string) (incident.Incident, *postmortem.PostMortem, error) {
	if id == "" {
		return incident.Incident{}, nil, incident.Errorf(incident.EInvalid, "incident ID is empty")
	}
	items, err := s.batchGet(ctx, key(incidentPK(id), metaSK), postMortemKey(id))
	if err != nil {
		return incident.Incident{}, nil, fmt.Errorf("read incident %s and its post-mortem: %w", id, err)
	}
	if items[0] == nil {
		return incident.Incident{}, nil, notFound(id)
	}
	inc, err := decodeIncident(items[0])
	if err != nil {
		return incident.Incident{}, nil, fmt.Errorf("read incident %s: decode: %w", id, err)
	}
	if items[1] == nil {
		return inc, nil, nil
	}
	pm, err := decodePostMortem(items[1])
	if err != nil {
		return incident.Incident{}, nil, fmt.Errorf("read post-mortem of %s: %w", id, err)
	}
	return inc, &pm, nil
}

// IncidentReview reads an incident, its whole timeline and its
// post-mortem with one strongly consistent query of its partition: what
// the post-mortem's draft is written from. The post-mortem is nil when
// none is stored yet; a missing incident is an ENotFound.
func (s *Store) IncidentReview(ctx context.Context, id string) (incident.Incident, []incident.Entry, *postmortem.PostMortem, error) {
	var pm *postmortem.PostMortem
	inc, entries, err := s.partition(ctx, id, func(sk string, item map[string]types.AttributeValue) error {
		if sk != postMortemSK {
			return nil
		}
		p, err := decodePostMortem(item)
		if err != nil {
			return err
		}
		pm = &p
		return nil
	})
	if err != nil {
		return incident.Incident{}, nil, nil, err
	}
	if inc == nil {
		return incident.Incident{}, nil, nil, notFound(id)
	}
	return *inc, entries, pm, nil
}
