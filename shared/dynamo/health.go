package dynamo

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/dashboarduz/incident-response/shared/health"
	"github.com/dashboarduz/incident-response/shared/incident"
)

// Health check states live in one item per check:
//
//	health check state  pk=HEALTH#<check name>  sk=STATE
//
// The state is kept as one JSON document (attribute "doc") beside its
// version, so the state can grow without a schema change. The item has
// none of the attributes status, service, openedAt or entity, so it never
// appears in the incident indexes.
const (
	healthPrefix = "HEALTH#"
	healthSK     = "STATE"
)

// healthRecord is the stored form of a health.State.
type healthRecord struct {
	PK        string `dynamodbav:"pk"`
	SK        string `dynamodbav:"sk"`
	Check     string `dynamodbav:"check"`
	Version   int64  `dynamodbav:"version"`
	Doc       string `dynamodbav:"doc"`
	UpdatedAt string `dynamodbav:"updatedAt,omitempty"`
}

// HealthState returns the stored state of a health check, read strongly
// consistent; a check never stored is an ENotFound *incident.Error.
func (s *Store) HealthState(ctx context.Context, check string) (health.State, error) {
	if check == "" {
		return health.State{}, incident.Errorf(incident.EInvalid, "health check name is empty")
	}
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.table),
		Key:            key(healthPrefix+check, healthSK),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return health.State{}, fmt.Errorf("get health state %s: %w", check, err)
	}
	if out.Item == nil {
		return health.State{}, incident.Errorf(incident.ENotFound, "health check %s has no stored state", check)
	}
	var r healthRecord
	if err := attributevalue.UnmarshalMap(out.Item, &r); err != nil {
		return health.State{}, fmt.Errorf("get health state %s: decode: %w", check, err)
	}
	var st health.State
	if err := json.Unmarshal([]byte(r.Doc), &st); err != nil {
		return health.State{}, fmt.Errorf("get health state %s: decode the document: %w", check, err)
	}
	st.Check, st.Version = r.Check, r.Version
	return st, nil
}

// PutHealthState stores a health check's state with one conditional
// write: on condition that none is stored when st.Version is zero, else
// that the stored version is still st.Version. It returns st with its new
// version; losing to another writer is an EConflict *incident.Error.
func (s *Store) PutHealthState(ctx context.Context, st health.State) (health.State, error) {
	if st.Check == "" {
		return health.State{}, incident.Errorf(incident.EInvalid, "health check name is empty")
	}
	expected := st.Version
	st.Version = expected + 1
	doc, err := json.Marshal(st)
	if err != nil {
		return health.State{}, fmt.Errorf("put health state %s: encode: %w", st.Check, err)
	}
	updated := ""
	if n := len(st.LastResults); n > 0 {
		updated = formatTime(st.LastResults[n-1].At)
	}
	item, err := attributevalue.MarshalMap(healthRecord{
		PK: healthPrefix + st.Check, SK: healthSK, Check: st.Check, Version: st.Version, Doc: string(doc), UpdatedAt: updated,
	})
	if err != nil {
		return health.State{}, fmt.Errorf("put health state %s: %w", st.Check, err)
	}
	err = s.putIfVersion(ctx, item, attrVersion, expected)
	if isConditionFailed(err) {
		return health.State{}, incident.Errorf(incident.EConflict, "health state %s was changed concurrently: version %d is stale", st.Check, expected)
	}
	if err != nil {
		return health.State{}, fmt.Errorf("put health state %s: %w", st.Check, err)
	}
	return st, nil
}
