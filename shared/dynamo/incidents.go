package dynamo

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dashboarduz/incident-response/shared/incident"
)

// incidentRecord is an incident as stored: the META item of its partition.
// Its status, service and openedAt attributes put it in the indexes. The
// item also holds the incident's opening timeline entry (attribute
// opening), which this record leaves alone so that updates keep it.
type incidentRecord struct {
	PK             string                `dynamodbav:"pk"`
	SK             string                `dynamodbav:"sk"`
	Entity         string                `dynamodbav:"entity"`
	ID             string                `dynamodbav:"id"`
	Title          string                `dynamodbav:"title"`
	Service        string                `dynamodbav:"service"`
	Category       string                `dynamodbav:"category"`
	Severity       string                `dynamodbav:"severity"`
	Status         string                `dynamodbav:"status"`
	Source         string                `dynamodbav:"source"`
	DedupKey       string                `dynamodbav:"dedupKey"`
	Summary        string                `dynamodbav:"summary"`
	OpenedAt       string                `dynamodbav:"openedAt"`
	AcknowledgedAt string                `dynamodbav:"acknowledgedAt,omitempty"`
	ResolvedAt     string                `dynamodbav:"resolvedAt,omitempty"`
	SignalState    string                `dynamodbav:"signalState"`
	SignalAt       string                `dynamodbav:"signalAt,omitempty"`
	Signals        int                   `dynamodbav:"signals,omitempty"`
	Pages          map[string]pageRecord `dynamodbav:"pages"`
	Version        int64                 `dynamodbav:"version"`

	Description       string             `dynamodbav:"description,omitempty"`
	PublicTitle       string             `dynamodbav:"publicTitle,omitempty"`
	AcknowledgedBy    string             `dynamodbav:"acknowledgedBy,omitempty"`
	ResolvedBy        string             `dynamodbav:"resolvedBy,omitempty"`
	RootCause         string             `dynamodbav:"rootCause,omitempty"`
	Resolution        string             `dynamodbav:"resolution,omitempty"`
	Episode           int                `dynamodbav:"episode"`
	EpisodeStart      string             `dynamodbav:"episodeStart,omitempty"`
	Flaps             []string           `dynamodbav:"flaps,omitempty"`
	Flapping          bool               `dynamodbav:"flapping,omitempty"`
	FlappingEpisode   int                `dynamodbav:"flappingEpisode,omitempty"`
	FlappingAt        string             `dynamodbav:"flappingAt,omitempty"`
	Escalations       []escalationRecord `dynamodbav:"escalations,omitempty"`
	Breaches          []breachRecord     `dynamodbav:"breaches,omitempty"`
	Generation        int                `dynamodbav:"generation"`
	PlannedGeneration int                `dynamodbav:"plannedGeneration,omitempty"`
	PlannedHandover   int                `dynamodbav:"plannedHandover,omitempty"`
	Notes             []string           `dynamodbav:"notes,omitempty"`

	Announcements       []string          `dynamodbav:"announcements,omitempty"`
	Triage              *triageMarkRecord `dynamodbav:"triage,omitempty"`
	Remediations        string            `dynamodbav:"remediations,omitempty"`
	PostMortemCompleted bool              `dynamodbav:"postMortemCompleted,omitempty"`
	Reminded            []string          `dynamodbav:"reminded,omitempty"`

	Deliveries map[string]deliveryRecord `dynamodbav:"deliveries"`
	Slack      *slackRecord              `dynamodbav:"slack,omitempty"`
}

// triageMarkRecord marks the episode whose triage report was gathered.
type triageMarkRecord struct {
	Episode int    `dynamodbav:"episode"`
	At      string `dynamodbav:"at"`
}

// Attribute names the conditional writes on incident items test.
const (
	attrVersion       = "version"
	attrGeneration    = "generation"
	attrEpisode       = "episode"
	attrPages         = "pages"
	attrOpening       = "opening"
	attrAnnouncements = "announcements"
	attrNotes         = "notes"
)

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
		Signals:        inc.Signals,
		Pages:          toPageRecords(inc.Pages),
		Version:        inc.Version,
	}
	r.Description, r.AcknowledgedBy, r.ResolvedBy, r.RootCause, r.Resolution = inc.Description, inc.AcknowledgedBy, inc.ResolvedBy, inc.RootCause, inc.Resolution
	r.PublicTitle = inc.PublicTitle
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
	r.Generation, r.PlannedGeneration, r.PlannedHandover = inc.Generation, inc.PlannedGeneration, inc.PlannedHandover
	r.Notes = inc.Notes
	r.Announcements, r.PostMortemCompleted, r.Reminded = inc.Announcements, inc.PostMortemCompleted, inc.Reminded
	r.Deliveries, r.Slack = toDeliveryRecords(inc.Deliveries), toSlackRecord(inc.Slack)
	if inc.Triage != nil {
		r.Triage = &triageMarkRecord{Episode: inc.Triage.Episode, At: formatTime(inc.Triage.At)}
	}
	if len(inc.Remediations) > 0 {
		// The remediations are kept as one JSON document: nothing
		// queries inside them, and their shape grows with the runbook.
		b, _ := json.Marshal(inc.Remediations)
		r.Remediations = string(b)
	}
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
		Signals:     r.Signals,
		Version:     r.Version,
	}
	times := []struct {
		dst *time.Time
		src string
	}{
		{&inc.OpenedAt, r.OpenedAt},
		{&inc.AcknowledgedAt, r.AcknowledgedAt},
		{&inc.ResolvedAt, r.ResolvedAt},
		{&inc.SignalAt, r.SignalAt},
		{&inc.EpisodeStart, r.EpisodeStart},
		{&inc.FlappingAt, r.FlappingAt},
	}
	var err error
	for _, t := range times {
		if *t.dst, err = parseTime(t.src); err != nil {
			return incident.Incident{}, err
		}
	}
	if inc.Pages, err = pagesOf(r.Pages); err != nil {
		return incident.Incident{}, err
	}
	inc.Description, inc.AcknowledgedBy, inc.ResolvedBy, inc.RootCause, inc.Resolution = r.Description, r.AcknowledgedBy, r.ResolvedBy, r.RootCause, r.Resolution
	inc.PublicTitle = r.PublicTitle
	inc.Episode = r.Episode
	for _, s := range r.Flaps {
		t, err := parseTime(s)
		if err != nil {
			return incident.Incident{}, err
		}
		inc.Flaps = append(inc.Flaps, t)
	}
	inc.Flapping, inc.FlappingEpisode = r.Flapping, r.FlappingEpisode
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
	inc.Generation, inc.PlannedGeneration, inc.PlannedHandover = r.Generation, r.PlannedGeneration, r.PlannedHandover
	inc.Notes = r.Notes
	inc.Announcements, inc.PostMortemCompleted, inc.Reminded = r.Announcements, r.PostMortemCompleted, r.Reminded
	if inc.Deliveries, err = deliveriesOf(r.Deliveries); err != nil {
		return incident.Incident{}, err
	}
	inc.Slack = r.Slack.thread()
	if r.Triage != nil {
		at, err := parseTime(r.Triage.At)
		if err != nil {
			return incident.Incident{}, err
		}
		inc.Triage = &incident.TriageMark{Episode: r.Triage.Episode, At: at}
	}
	if r.Remediations != "" {
		if err := json.Unmarshal([]byte(r.Remediations), &inc.Remediations); err != nil {
			return incident.Incident{}, fmt.Errorf("remediations: %w", err)
		}
	}
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
// says, together with its opening timeline entry (the alarm that opened
// it, the report that described it), which Timeline returns first: one
// write opens an incident. An incident with the same ID already there is
// an EConflict.
func (s *Store) CreateIncident(ctx context.Context, inc incident.Incident, opening incident.Entry) error {
	if err := validateIncident(inc); err != nil {
		return err
	}
	if opening.ID == "" {
		return incident.Errorf(incident.EInvalid, "the opening entry of incident %s has no ID", inc.ID)
	}
	inc.Version = 1
	item, err := attributevalue.MarshalMap(toIncidentRecord(inc))
	if err != nil {
		return fmt.Errorf("create incident %s: %w", inc.ID, err)
	}
	if item[attrOpening], err = attributevalue.Marshal(toEntryRecord(inc.ID, opening)); err != nil {
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
	item, err := s.readIncidentItem(ctx, id)
	if err != nil {
		return incident.Incident{}, err
	}
	inc, err := decodeIncident(item)
	if err != nil {
		return incident.Incident{}, fmt.Errorf("get incident %s: decode: %w", id, err)
	}
	return inc, nil
}

func notFound(id string) error {
	return incident.Errorf(incident.ENotFound, "incident %s not found", id)
}

// readIncidentItem reads an incident's item with a strongly consistent
// read. A missing incident is an ENotFound.
func (s *Store) readIncidentItem(ctx context.Context, id string) (map[string]types.AttributeValue, error) {
	if id == "" {
		return nil, incident.Errorf(incident.EInvalid, "incident ID is empty")
	}
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.table),
		Key:            key(incidentPK(id), metaSK),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, fmt.Errorf("get incident %s: %w", id, err)
	}
	if out.Item == nil {
		return nil, notFound(id)
	}
	return out.Item, nil
}

// UpdateIncident writes every field of the incident on condition that its
// stored version is still inc.Version, writes Version+1 and returns the
// incident as stored. A changed version is an EConflict (re-read and try
// again); a missing incident is an ENotFound. The opening entry stored
// with the incident is kept.
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
	in := wholeItemUpdate(item, incidentAttributes())
	in.TableName = aws.String(s.table)
	in.Key = key(incidentPK(inc.ID), metaSK)
	in.ConditionExpression = aws.String("#c_version = :c_expected")
	in.ExpressionAttributeNames["#c_version"] = attrVersion
	in.ExpressionAttributeValues[":c_expected"] = number(expected)
	_, err = s.client.UpdateItem(ctx, in)
	if isConditionFailed(err) {
		return incident.Incident{}, s.conflictOrMissing(ctx, inc.ID, fmt.Sprintf("version %d is stale", expected))
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

// conflictOrMissing tells a missing incident from one that changed after
// a conditional write failed on it; only the losing side of a race pays
// for the read.
func (s *Store) conflictOrMissing(ctx context.Context, id, what string) error {
	current, err := s.GetIncident(ctx, id)
	if incident.ErrorCode(err) == incident.ENotFound {
		return err
	}
	if err != nil {
		return fmt.Errorf("update incident %s: %w", id, err)
	}
	return incident.Errorf(incident.EConflict, "incident %s was changed concurrently: %s (stored version %d)", id, what, current.Version)
}

// wholeItemUpdate builds an UpdateItem that sets every attribute of item
// but the key and removes every other attribute of attrs, so it writes a
// whole record like PutItem while leaving attributes outside the record
// (an incident's opening entry) as they are.
func wholeItemUpdate(item map[string]types.AttributeValue, attrs []string) *dynamodb.UpdateItemInput {
	in := &dynamodb.UpdateItemInput{
		ExpressionAttributeNames:  map[string]string{},
		ExpressionAttributeValues: map[string]types.AttributeValue{},
	}
	var set, remove []string
	for i, a := range attrs {
		if a == AttrPK || a == AttrSK {
			continue
		}
		n := "#a" + strconv.Itoa(i)
		in.ExpressionAttributeNames[n] = a
		if v, ok := item[a]; ok {
			in.ExpressionAttributeValues[":a"+strconv.Itoa(i)] = v
			set = append(set, n+" = :a"+strconv.Itoa(i))
		} else {
			remove = append(remove, n)
		}
	}
	expr := "SET " + strings.Join(set, ", ")
	if len(remove) > 0 {
		expr += " REMOVE " + strings.Join(remove, ", ")
	}
	in.UpdateExpression = aws.String(expr)
	return in
}

// incidentAttributes lists the attribute names of incidentRecord.
var incidentAttributes = sync.OnceValue(func() []string {
	t := reflect.TypeFor[incidentRecord]()
	var out []string
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("dynamodbav"), ",")
		out = append(out, name)
	}
	slices.Sort(out)
	return out
})

// JoinFiring adds a firing signal to the open incident id in one
// conditional write, when the incident is open, its signal is firing and
// sig is newer than its latest one: the signal's time becomes the
// incident's latest and its count of joined signals grows. It reports
// false, changing nothing, when any of that does not hold (the incident
// is resolved or missing, its alarm had recovered, the event is a
// redelivery or older): the caller then reads the incident and decides
// with incident.RouteSignal.
func (s *Store) JoinFiring(ctx context.Context, id string, sig incident.Signal) (bool, error) {
	_, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                aws.String(s.table),
		Key:                      key(incidentPK(id), metaSK),
		UpdateExpression:         aws.String("SET #signalAt = :at ADD #signals :one, #version :one"),
		ConditionExpression:      aws.String("attribute_exists(#pk) AND #status <> :resolved AND #signalState = :firing AND #signalAt < :at"),
		ExpressionAttributeNames: names(AttrPK, AttrStatus, "signalState", "signalAt", "signals", attrVersion),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":at":       str(formatTime(sig.Time)),
			":one":      number(1),
			":resolved": str(string(incident.Resolved)),
			":firing":   str(string(incident.Firing)),
		},
	})
	if isConditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("join signal %s to incident %s: %w", sig.EventID, id, err)
	}
	return true, nil
}

// key builds a primary key.
func key(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		AttrPK: &types.AttributeValueMemberS{Value: pk},
		AttrSK: &types.AttributeValueMemberS{Value: sk},
	}
}

func str(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }

func number[N int | int64](n N) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(int64(n), 10)}
}
