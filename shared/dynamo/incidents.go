package dynamo

import (
	"context"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dashboarduz/incident-response/shared/incident"
)

// incidentRecord is an incident as stored: the META item of its partition.
// Its status, service and openedAt attributes put it in the indexes.
type incidentRecord struct {
	PK             string       `dynamodbav:"pk"`
	SK             string       `dynamodbav:"sk"`
	Entity         string       `dynamodbav:"entity"`
	ID             string       `dynamodbav:"id"`
	Title          string       `dynamodbav:"title"`
	Service        string       `dynamodbav:"service"`
	Category       string       `dynamodbav:"category"`
	Severity       string       `dynamodbav:"severity"`
	Status         string       `dynamodbav:"status"`
	Source         string       `dynamodbav:"source"`
	DedupKey       string       `dynamodbav:"dedupKey"`
	Summary        string       `dynamodbav:"summary"`
	OpenedAt       string       `dynamodbav:"openedAt"`
	AcknowledgedAt string       `dynamodbav:"acknowledgedAt,omitempty"`
	ResolvedAt     string       `dynamodbav:"resolvedAt,omitempty"`
	SignalState    string       `dynamodbav:"signalState"`
	SignalAt       string       `dynamodbav:"signalAt,omitempty"`
	Pages          []pageRecord `dynamodbav:"pages,omitempty"`
	Version        int64        `dynamodbav:"version"`

	Description       string             `dynamodbav:"description,omitempty"`
	AcknowledgedBy    string             `dynamodbav:"acknowledgedBy,omitempty"`
	ResolvedBy        string             `dynamodbav:"resolvedBy,omitempty"`
	RootCause         string             `dynamodbav:"rootCause,omitempty"`
	Resolution        string             `dynamodbav:"resolution,omitempty"`
	Episode           int                `dynamodbav:"episode,omitempty"`
	EpisodeStart      string             `dynamodbav:"episodeStart,omitempty"`
	Flaps             []string           `dynamodbav:"flaps,omitempty"`
	Flapping          bool               `dynamodbav:"flapping,omitempty"`
	FlappingEpisode   int                `dynamodbav:"flappingEpisode,omitempty"`
	FlappingAt        string             `dynamodbav:"flappingAt,omitempty"`
	Escalations       []escalationRecord `dynamodbav:"escalations,omitempty"`
	Breaches          []breachRecord     `dynamodbav:"breaches,omitempty"`
	Generation        int                `dynamodbav:"generation,omitempty"`
	PlannedGeneration int                `dynamodbav:"plannedGeneration,omitempty"`
}

// escalationRecord is one escalation request inside an incident record.
type escalationRecord struct {
	Episode   int    `dynamodbav:"episode"`
	Level     int    `dynamodbav:"level"`
	LevelName string `dynamodbav:"levelName"`
	At        string `dynamodbav:"at"`
	By        string `dynamodbav:"by"`
	Reason    string `dynamodbav:"reason,omitempty"`
}

// breachRecord is one missed target inside an incident record.
type breachRecord struct {
	Target  string `dynamodbav:"target"`
	At      string `dynamodbav:"at"`
	Episode int    `dynamodbav:"episode"`
}

// pageRecord is one page inside an incident record.
type pageRecord struct {
	Level     int    `dynamodbav:"level"`
	LevelName string `dynamodbav:"levelName"`
	At        string `dynamodbav:"at,omitempty"`
	DedupKey  string `dynamodbav:"dedupKey"`
	Failure   string `dynamodbav:"failure,omitempty"`
	Episode   int    `dynamodbav:"episode,omitempty"`
	Synced    string `dynamodbav:"synced,omitempty"`
}

func toIncidentRecord(inc incident.Incident) incidentRecord {
	r := incidentRecord{
		PK:             incidentPK(inc.ID),
		SK:             metaSK,
		Entity:         EntityIncident,
		ID:             inc.ID,
		Title:          inc.Title,
		Service:        inc.Service,
		Category:       string(inc.Category),
		Severity:       string(inc.Severity),
		Status:         string(inc.Status),
		Source:         inc.Source,
		DedupKey:       inc.DedupKey,
		Summary:        inc.Summary,
		OpenedAt:       formatTime(inc.OpenedAt),
		AcknowledgedAt: formatTime(inc.AcknowledgedAt),
		ResolvedAt:     formatTime(inc.ResolvedAt),
		SignalState:    string(inc.SignalState),
		SignalAt:       formatTime(inc.SignalAt),
		Version:        inc.Version,
	}
	for _, p := range inc.Pages {
		r.Pages = append(r.Pages, pageRecord{Level: p.Level, LevelName: p.LevelName, At: formatTime(p.At), DedupKey: p.DedupKey, Failure: p.Failure, Episode: p.Episode, Synced: string(p.Synced)})
	}
	r.Description, r.AcknowledgedBy, r.ResolvedBy, r.RootCause, r.Resolution = inc.Description, inc.AcknowledgedBy, inc.ResolvedBy, inc.RootCause, inc.Resolution
	r.Episode, r.EpisodeStart = inc.Episode, formatTime(inc.EpisodeStart)
	for _, t := range inc.Flaps {
		r.Flaps = append(r.Flaps, formatTime(t))
	}
	r.Flapping, r.FlappingEpisode, r.FlappingAt = inc.Flapping, inc.FlappingEpisode, formatTime(inc.FlappingAt)
	for _, e := range inc.Escalations {
		r.Escalations = append(r.Escalations, escalationRecord{Episode: e.Episode, Level: e.Level, LevelName: e.LevelName, At: formatTime(e.At), By: e.By, Reason: e.Reason})
	}
	for _, b := range inc.Breaches {
		r.Breaches = append(r.Breaches, breachRecord{Target: b.Target, At: formatTime(b.At), Episode: b.Episode})
	}
	r.Generation, r.PlannedGeneration = inc.Generation, inc.PlannedGeneration
	return r
}

func (r incidentRecord) incident() (incident.Incident, error) {
	inc := incident.Incident{
		ID:          r.ID,
		Title:       r.Title,
		Service:     r.Service,
		Category:    incident.Category(r.Category),
		Severity:    incident.Severity(r.Severity),
		Status:      incident.Status(r.Status),
		Source:      r.Source,
		DedupKey:    r.DedupKey,
		Summary:     r.Summary,
		SignalState: incident.SignalState(r.SignalState),
		Version:     r.Version,
	}
	var err error
	if inc.OpenedAt, err = parseTime(r.OpenedAt); err != nil {
		return incident.Incident{}, err
	}
	if inc.AcknowledgedAt, err = parseTime(r.AcknowledgedAt); err != nil {
		return incident.Incident{}, err
	}
	if inc.ResolvedAt, err = parseTime(r.ResolvedAt); err != nil {
		return incident.Incident{}, err
	}
	if inc.SignalAt, err = parseTime(r.SignalAt); err != nil {
		return incident.Incident{}, err
	}
	for _, p := range r.Pages {
		at, err := parseTime(p.At)
		if err != nil {
			return incident.Incident{}, err
		}
		inc.Pages = append(inc.Pages, incident.Page{Level: p.Level, LevelName: p.LevelName, At: at, DedupKey: p.DedupKey, Failure: p.Failure, Episode: p.Episode, Synced: incident.Status(p.Synced)})
	}
	inc.Description, inc.AcknowledgedBy, inc.ResolvedBy, inc.RootCause, inc.Resolution = r.Description, r.AcknowledgedBy, r.ResolvedBy, r.RootCause, r.Resolution
	inc.Episode = r.Episode
	if inc.EpisodeStart, err = parseTime(r.EpisodeStart); err != nil {
		return incident.Incident{}, err
	}
	for _, s := range r.Flaps {
		t, err := parseTime(s)
		if err != nil {
			return incident.Incident{}, err
		}
		inc.Flaps = append(inc.Flaps, t)
	}
	inc.Flapping, inc.FlappingEpisode = r.Flapping, r.FlappingEpisode
	if inc.FlappingAt, err = parseTime(r.FlappingAt); err != nil {
		return incident.Incident{}, err
	}
	for _, e := range r.Escalations {
		at, err := parseTime(e.At)
		if err != nil {
			return incident.Incident{}, err
		}
		inc.Escalations = append(inc.Escalations, incident.EscalationRequest{Episode: e.Episode, Level: e.Level, LevelName: e.LevelName, At: at, By: e.By, Reason: e.Reason})
	}
	for _, b := range r.Breaches {
		at, err := parseTime(b.At)
		if err != nil {
			return incident.Incident{}, err
		}
		inc.Breaches = append(inc.Breaches, incident.Breach{Target: b.Target, At: at, Episode: b.Episode})
	}
	inc.Generation, inc.PlannedGeneration = r.Generation, r.PlannedGeneration
	return inc, nil
}

// decodeIncident reads an incident item.
func decodeIncident(item map[string]types.AttributeValue) (incident.Incident, error) {
	var r incidentRecord
	if err := attributevalue.UnmarshalMap(item, &r); err != nil {
		return incident.Incident{}, err
	}
	return r.incident()
}

// validateIncident rejects incidents the indexes cannot hold: DynamoDB
// refuses empty strings as index keys.
func validateIncident(inc incident.Incident) error {
	switch {
	case inc.ID == "":
		return incident.Errorf(incident.EInvalid, "incident has no ID")
	case inc.Service == "":
		return incident.Errorf(incident.EInvalid, "incident %s has no service", inc.ID)
	case inc.OpenedAt.IsZero():
		return incident.Errorf(incident.EInvalid, "incident %s has no opening time", inc.ID)
	}
	if _, err := incident.ParseStatus(string(inc.Status)); err != nil {
		return err
	}
	return nil
}

// CreateIncident stores a new incident with Version 1, whatever inc.Version
// says. An incident with the same ID already there is an EConflict.
func (s *Store) CreateIncident(ctx context.Context, inc incident.Incident) error {
	if err := validateIncident(inc); err != nil {
		return err
	}
	inc.Version = 1
	item, err := attributevalue.MarshalMap(toIncidentRecord(inc))
	if err != nil {
		return fmt.Errorf("create incident %s: %w", inc.ID, err)
	}
	err = s.putNew(ctx, item)
	if isConditionFailed(err) {
		return incident.Errorf(incident.EConflict, "incident %s already exists", inc.ID)
	}
	if err != nil {
		return fmt.Errorf("create incident %s: %w", inc.ID, err)
	}
	return nil
}

// GetIncident reads an incident with a strongly consistent read. A missing
// incident is an ENotFound.
func (s *Store) GetIncident(ctx context.Context, id string) (incident.Incident, error) {
	inc, found, err := s.getIncident(ctx, id)
	if err != nil {
		return incident.Incident{}, err
	}
	if !found {
		return incident.Incident{}, incident.Errorf(incident.ENotFound, "incident %s not found", id)
	}
	return inc, nil
}

func (s *Store) getIncident(ctx context.Context, id string) (incident.Incident, bool, error) {
	if id == "" {
		return incident.Incident{}, false, incident.Errorf(incident.EInvalid, "incident ID is empty")
	}
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.table),
		Key:            key(incidentPK(id), metaSK),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return incident.Incident{}, false, fmt.Errorf("get incident %s: %w", id, err)
	}
	if out.Item == nil {
		return incident.Incident{}, false, nil
	}
	inc, err := decodeIncident(out.Item)
	if err != nil {
		return incident.Incident{}, false, fmt.Errorf("get incident %s: decode: %w", id, err)
	}
	return inc, true, nil
}

// UpdateIncident replaces the stored incident on condition that its version
// is still inc.Version, writes Version+1 and returns the incident as stored.
// A changed version is an EConflict (re-read and try again); a missing
// incident is an ENotFound.
func (s *Store) UpdateIncident(ctx context.Context, inc incident.Incident) (incident.Incident, error) {
	if err := validateIncident(inc); err != nil {
		return incident.Incident{}, err
	}
	expected := inc.Version
	inc.Version = expected + 1
	rec := toIncidentRecord(inc)
	item, err := attributevalue.MarshalMap(rec)
	if err != nil {
		return incident.Incident{}, fmt.Errorf("update incident %s: %w", inc.ID, err)
	}
	_, err = s.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                 aws.String(s.table),
		Item:                      item,
		ConditionExpression:       aws.String("#version = :expected"),
		ExpressionAttributeNames:  names("version"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":expected": &types.AttributeValueMemberN{Value: strconv.FormatInt(expected, 10)}},
	})
	if isConditionFailed(err) {
		// Tell a missing incident from a stale version; only the losing
		// side of a race pays for this read.
		current, found, gerr := s.getIncident(ctx, inc.ID)
		if gerr != nil {
			return incident.Incident{}, fmt.Errorf("update incident %s: %w", inc.ID, gerr)
		}
		if !found {
			return incident.Incident{}, incident.Errorf(incident.ENotFound, "incident %s not found", inc.ID)
		}
		return incident.Incident{}, incident.Errorf(incident.EConflict, "incident %s was changed concurrently: version %d is stale, the stored version is %d", inc.ID, expected, current.Version)
	}
	if err != nil {
		return incident.Incident{}, fmt.Errorf("update incident %s: %w", inc.ID, err)
	}
	stored, err := rec.incident()
	if err != nil {
		return incident.Incident{}, fmt.Errorf("update incident %s: %w", inc.ID, err)
	}
	return stored, nil
}

// key builds a primary key.
func key(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		AttrPK: &types.AttributeValueMemberS{Value: pk},
		AttrSK: &types.AttributeValueMemberS{Value: sk},
	}
}
