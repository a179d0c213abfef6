package dynamo

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dashboarduz/incident-response/shared/incident"
)

// triagePrefix keys an incident's triage reports, one per episode, in its
// partition: pk=INC#<id>, sk=TRIAGE#<episode, 3 digits>. A report is kept
// as one JSON document; it has none of the index attributes.
const triagePrefix = "TRIAGE#"

func triageKey(id string, episode int) map[string]types.AttributeValue {
	return key(incidentPK(id), fmt.Sprintf("%s%03d", triagePrefix, episode))
}

// PutTriageReport stores the triage report of an incident's episode,
// replacing one stored before for the same episode (a retried triage
// gathers afresh).
func (s *Store) PutTriageReport(ctx context.Context, r incident.TriageReport) error {
	if r.IncidentID == "" {
		return incident.Errorf(incident.EInvalid, "a triage report needs its incident")
	}
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("store triage report of %s: %w", r.IncidentID, err)
	}
	item := triageKey(r.IncidentID, r.Episode)
	item["report"] = str(string(b))
	if _, err := s.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: item}); err != nil {
		return fmt.Errorf("store triage report of %s: %w", r.IncidentID, err)
	}
	return nil
}

// TriageReport returns the triage report of an incident's episode. A
// report never gathered is ENotFound.
func (s *Store) TriageReport(ctx context.Context, id string, episode int) (incident.TriageReport, error) {
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table), Key: triageKey(id, episode), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return incident.TriageReport{}, fmt.Errorf("read triage report of %s: %w", id, err)
	}
	if _, ok := out.Item["report"]; !ok {
		return incident.TriageReport{}, incident.Errorf(incident.ENotFound, "incident %s has no triage report for episode %d", id, episode)
	}
	r, err := decodeTriageReport(out.Item)
	if err != nil {
		return incident.TriageReport{}, fmt.Errorf("read triage report of %s: %w", id, err)
	}
	return r, nil
}

// decodeTriageReport reads a triage report item.
func decodeTriageReport(item map[string]types.AttributeValue) (incident.TriageReport, error) {
	v, ok := item["report"].(*types.AttributeValueMemberS)
	if !ok {
		return incident.TriageReport{}, fmt.Errorf("a triage report item has no report")
	}
	var r incident.TriageReport
	if err := json.Unmarshal([]byte(v.Value), &r); err != nil {
		return incident.TriageReport{}, fmt.Errorf("decode triage report: %w", err)
	}
	return r, nil
}

// IncidentWithEntries reads an incident and the timeline entries of it
// named by entryIDs (its opening entry included), with strongly
// consistent batch reads: what announcing them needs. An ID with no entry
// yet (its writer has not written it) is left out; the entries come back
// in ID order, which is time order. A missing incident is ENotFound.
func (s *Store) IncidentWithEntries(ctx context.Context, id string, entryIDs []string) (incident.Incident, []incident.Entry, error) {
	keys := []map[string]types.AttributeValue{key(incidentPK(id), metaSK)}
	for _, e := range entryIDs {
		keys = append(keys, key(incidentPK(id), timelinePrefix+e))
	}
	var items []map[string]types.AttributeValue
	for chunk := range slices.Chunk(keys, 100) {
		got, err := s.batchGet(ctx, chunk...)
		if err != nil {
			return incident.Incident{}, nil, fmt.Errorf("read incident %s and its entries: %w", id, err)
		}
		items = append(items, got...)
	}
	if items[0] == nil {
		return incident.Incident{}, nil, notFound(id)
	}
	inc, opening, err := decodeIncidentItem(items[0])
	if err != nil {
		return incident.Incident{}, nil, fmt.Errorf("read incident %s: decode: %w", id, err)
	}
	var entries []incident.Entry
	if opening != nil && slices.Contains(entryIDs, opening.ID) {
		entries = append(entries, *opening)
	}
	for _, item := range items[1:] {
		if item == nil {
			continue
		}
		e, err := decodeEntry(item)
		if err != nil {
			return incident.Incident{}, nil, fmt.Errorf("read timeline entries of %s: %w", id, err)
		}
		entries = append(entries, e)
	}
	slices.SortFunc(entries, func(a, b incident.Entry) int { return strings.Compare(a.ID, b.ID) })
	return inc, entries, nil
}
