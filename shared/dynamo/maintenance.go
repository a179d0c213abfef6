package dynamo

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dashboarduz/incident-response/shared/incident"
)

// maintPK is the one partition holding every maintenance window. Windows
// are few (people create them by hand), so one partition lets a single
// query read them all.
const maintPK = "MAINT"

// maintenanceRecord is a maintenance window as stored, in the MAINT
// partition under sk=<service>#<start>#<id>, so the partition sorts by
// service, then start. Its service attribute is windowService, not service,
// and it has no openedAt, so it stays out of every index.
type maintenanceRecord struct {
	PK        string `dynamodbav:"pk"`
	SK        string `dynamodbav:"sk"`
	ID        string `dynamodbav:"id"`
	Service   string `dynamodbav:"windowService"`
	Start     string `dynamodbav:"start"`
	End       string `dynamodbav:"end"`
	Reason    string `dynamodbav:"reason,omitempty"`
	CreatedBy string `dynamodbav:"createdBy,omitempty"`
	CreatedAt string `dynamodbav:"createdAt,omitempty"`
	EndedBy   string `dynamodbav:"endedBy,omitempty"`
}

// maintSK is a window's sort key. The ID comes last so that two windows of
// a service starting at the same moment still have distinct keys.
func maintSK(service string, start time.Time, id string) string {
	return service + "#" + formatTime(start) + "#" + id
}

func toMaintenanceRecord(w incident.MaintenanceWindow) maintenanceRecord {
	return maintenanceRecord{
		PK:        maintPK,
		SK:        maintSK(w.Service, w.Start, w.ID),
		ID:        w.ID,
		Service:   w.Service,
		Start:     formatTime(w.Start),
		End:       formatTime(w.End),
		Reason:    w.Reason,
		CreatedBy: w.CreatedBy,
		CreatedAt: formatTime(w.CreatedAt),
		EndedBy:   w.EndedBy,
	}
}

func (r maintenanceRecord) window() (incident.MaintenanceWindow, error) {
	w := incident.MaintenanceWindow{ID: r.ID, Service: r.Service, Reason: r.Reason, CreatedBy: r.CreatedBy, EndedBy: r.EndedBy}
	var err error
	if w.Start, err = parseTime(r.Start); err != nil {
		return incident.MaintenanceWindow{}, err
	}
	if w.End, err = parseTime(r.End); err != nil {
		return incident.MaintenanceWindow{}, err
	}
	if w.CreatedAt, err = parseTime(r.CreatedAt); err != nil {
		return incident.MaintenanceWindow{}, err
	}
	return w, nil
}

// decodeMaintenanceWindow reads a maintenance window item.
func decodeMaintenanceWindow(item map[string]types.AttributeValue) (incident.MaintenanceWindow, error) {
	var r maintenanceRecord
	if err := attributevalue.UnmarshalMap(item, &r); err != nil {
		return incident.MaintenanceWindow{}, err
	}
	return r.window()
}

// CreateMaintenanceWindow stores a new maintenance window. A window that
// fails w.Validate, or has no ID, is EInvalid; a window with the ID of one
// already stored is EConflict.
func (s *Store) CreateMaintenanceWindow(ctx context.Context, w incident.MaintenanceWindow) error {
	if err := w.Validate(); err != nil {
		return err
	}
	if w.ID == "" {
		return incident.FieldErrorf("id", "maintenance window has no ID")
	}
	// The key holds the service and the start as well as the ID, so the
	// put's condition alone only catches the same window stored twice:
	// look the ID up first. Only two creates racing past this check with
	// one ID but different windows could both succeed, and IDs from
	// incident.NewMaintenanceWindowID embed the start and a hash of the
	// service, so different windows do not share one.
	existing, found, err := s.findMaintenanceWindow(ctx, w.ID)
	if err != nil {
		return fmt.Errorf("create maintenance window %s: %w", w.ID, err)
	}
	if found {
		return incident.Errorf(incident.EConflict, "maintenance window %s already exists (service %s, from %s)", w.ID, existing.Service, existing.Start.Format(time.RFC3339))
	}
	item, err := attributevalue.MarshalMap(toMaintenanceRecord(w))
	if err != nil {
		return fmt.Errorf("create maintenance window %s: %w", w.ID, err)
	}
	err = s.putNew(ctx, item)
	if isConditionFailed(err) {
		return incident.Errorf(incident.EConflict, "maintenance window %s already exists", w.ID)
	}
	if err != nil {
		return fmt.Errorf("create maintenance window %s: %w", w.ID, err)
	}
	return nil
}

// MaintenanceWindows returns the maintenance windows of a service, or of
// every service when service is empty, ordered by start (then service and
// ID), with a strongly consistent read of every page. Windows that have
// ended are included: the caller decides which ones matter.
func (s *Store) MaintenanceWindows(ctx context.Context, service string) ([]incident.MaintenanceWindow, error) {
	in := s.maintQuery()
	if service != "" {
		// begins_with alone would also match a service named "<service>#…";
		// the filter keeps exactly this service.
		in.KeyConditionExpression = aws.String("#pk = :pk AND begins_with(#sk, :prefix)")
		in.FilterExpression = aws.String("#windowService = :service")
		in.ExpressionAttributeNames["#sk"] = AttrSK
		in.ExpressionAttributeNames["#windowService"] = "windowService"
		in.ExpressionAttributeValues[":prefix"] = &types.AttributeValueMemberS{Value: service + "#"}
		in.ExpressionAttributeValues[":service"] = &types.AttributeValueMemberS{Value: service}
	}
	windows := []incident.MaintenanceWindow{}
	err := s.queryAll(ctx, in, func(item map[string]types.AttributeValue) error {
		w, err := decodeMaintenanceWindow(item)
		if err != nil {
			return err
		}
		windows = append(windows, w)
		return nil
	})
	if err != nil {
		if service == "" {
			return nil, fmt.Errorf("list maintenance windows: %w", err)
		}
		return nil, fmt.Errorf("list maintenance windows of service %s: %w", service, err)
	}
	// The partition sorts by service first; across services, sort by start.
	slices.SortStableFunc(windows, func(a, b incident.MaintenanceWindow) int {
		if c := a.Start.Compare(b.Start); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Service, b.Service); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return windows, nil
}

// MaintenanceWindow returns the window with the given ID, with a strongly
// consistent read. A missing window is ENotFound.
func (s *Store) MaintenanceWindow(ctx context.Context, id string) (incident.MaintenanceWindow, error) {
	if id == "" {
		return incident.MaintenanceWindow{}, incident.FieldErrorf("id", "maintenance window ID is empty")
	}
	w, found, err := s.findMaintenanceWindow(ctx, id)
	if err != nil {
		return incident.MaintenanceWindow{}, fmt.Errorf("get maintenance window %s: %w", id, err)
	}
	if !found {
		return incident.MaintenanceWindow{}, incident.Errorf(incident.ENotFound, "maintenance window %s not found", id)
	}
	return w, nil
}

// EndMaintenanceWindow ends a window at at and returns it as stored. A
// window that has not started by then ends at its start, so it never holds
// a page. A window that has already ended by then (or was ended before its
// start) is EConflict; a missing window is ENotFound. The end only ever
// moves earlier: ending a window never extends it.
func (s *Store) EndMaintenanceWindow(ctx context.Context, id, by string, at time.Time) (incident.MaintenanceWindow, error) {
	if id == "" {
		return incident.MaintenanceWindow{}, incident.FieldErrorf("id", "maintenance window ID is empty")
	}
	if at.IsZero() {
		return incident.MaintenanceWindow{}, incident.Errorf(incident.EInvalid, "ending maintenance window %s needs a time", id)
	}
	w, err := s.MaintenanceWindow(ctx, id)
	if err != nil {
		return incident.MaintenanceWindow{}, err
	}
	if err := endedError(w, at); err != nil {
		return incident.MaintenanceWindow{}, err
	}
	end := at
	if w.Start.After(at) {
		end = w.Start
	}
	out, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table),
		Key:       key(maintPK, maintSK(w.Service, w.Start, w.ID)),
		// end > start tells a cancelled window (ended at its start) from a
		// live one; end > :at keeps a concurrent, earlier end.
		UpdateExpression:         aws.String("SET #end = :end, #endedBy = :by"),
		ConditionExpression:      aws.String("attribute_exists(#pk) AND #end > :at AND #end > #start"),
		ExpressionAttributeNames: names(AttrPK, "end", "start", "endedBy"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":end": &types.AttributeValueMemberS{Value: formatTime(end)},
			":at":  &types.AttributeValueMemberS{Value: formatTime(at)},
			":by":  &types.AttributeValueMemberS{Value: by},
		},
		ReturnValues: types.ReturnValueAllNew,
	})
	if isConditionFailed(err) {
		// Somebody changed or removed the window since it was read: report
		// what is there now.
		current, found, ferr := s.findMaintenanceWindow(ctx, id)
		switch {
		case ferr != nil:
			return incident.MaintenanceWindow{}, fmt.Errorf("end maintenance window %s: %w", id, ferr)
		case !found:
			return incident.MaintenanceWindow{}, incident.Errorf(incident.ENotFound, "maintenance window %s not found", id)
		}
		if err := endedError(current, at); err != nil {
			return incident.MaintenanceWindow{}, err
		}
		return incident.MaintenanceWindow{}, incident.Errorf(incident.EConflict, "maintenance window %s was changed concurrently; try again", id)
	}
	if err != nil {
		return incident.MaintenanceWindow{}, fmt.Errorf("end maintenance window %s: %w", id, err)
	}
	stored, err := decodeMaintenanceWindow(out.Attributes)
	if err != nil {
		return incident.MaintenanceWindow{}, fmt.Errorf("end maintenance window %s: decode: %w", id, err)
	}
	return stored, nil
}

// endedError is the EConflict for a window that can no longer be ended at
// at, or nil.
func endedError(w incident.MaintenanceWindow, at time.Time) error {
	switch {
	case !w.End.After(w.Start):
		return incident.Errorf(incident.EConflict, "maintenance window %s was already ended before its start, %s", w.ID, w.Start.Format(time.RFC3339))
	case !w.End.After(at):
		return incident.Errorf(incident.EConflict, "maintenance window %s already ended at %s", w.ID, w.End.Format(time.RFC3339))
	}
	return nil
}

// findMaintenanceWindow looks a window up by ID: its key holds the service
// and start too, so this reads the MAINT partition with a filter.
func (s *Store) findMaintenanceWindow(ctx context.Context, id string) (incident.MaintenanceWindow, bool, error) {
	in := s.maintQuery()
	in.FilterExpression = aws.String("#id = :id")
	in.ExpressionAttributeNames["#id"] = "id"
	in.ExpressionAttributeValues[":id"] = &types.AttributeValueMemberS{Value: id}
	var matches []incident.MaintenanceWindow
	err := s.queryAll(ctx, in, func(item map[string]types.AttributeValue) error {
		w, err := decodeMaintenanceWindow(item)
		if err != nil {
			return err
		}
		matches = append(matches, w)
		return nil
	})
	if err != nil || len(matches) == 0 {
		return incident.MaintenanceWindow{}, false, err
	}
	return matches[0], true, nil
}

// maintQuery is a strongly consistent query of the whole MAINT partition.
func (s *Store) maintQuery() *dynamodb.QueryInput {
	return &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		KeyConditionExpression:    aws.String("#pk = :pk"),
		ExpressionAttributeNames:  names(AttrPK),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: maintPK}},
		ConsistentRead:            aws.Bool(true),
	}
}
