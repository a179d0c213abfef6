package dynamo

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dashboarduz/incident-response/shared/incident"
)

// Maintenance keys: a service's active windows, one window by ID, and the
// registry of services with windows.
const (
	maintPrefix    = "MAINT#"
	activeSK       = "ACTIVE"
	windowPrefix   = "MWIN#"
	windowSK       = "WINDOW"
	maintServices  = "MAINT"
	maintRounds    = 32
	windowKeptFor  = 90 * 24 * time.Hour
	attrWindowsVer = "windowsVersion"
)

// MaxActiveWindows bounds the windows of one service that have not ended,
// so reading them is one small item whatever the history.
const MaxActiveWindows = 20

// maintenanceRecord is a maintenance window as stored: its own item
// (MWIN#<id>), and an element of its service's active list while it has
// not ended. Its service attribute is windowService, not service, and it
// has no openedAt, so it stays out of every index.
type maintenanceRecord struct {
	ID        string `dynamodbav:"id"`
	Service   string `dynamodbav:"windowService"`
	Start     string `dynamodbav:"start"`
	End       string `dynamodbav:"end"`
	Reason    string `dynamodbav:"reason,omitempty"`
	CreatedBy string `dynamodbav:"createdBy,omitempty"`
	CreatedAt string `dynamodbav:"createdAt,omitempty"`
	EndedBy   string `dynamodbav:"endedBy,omitempty"`
}

// windowItem is the item of one window, kept for windowKeptFor after its
// end (TTL), so that it can be read and ended by ID.
type windowItem struct {
	PK string `dynamodbav:"pk"`
	SK string `dynamodbav:"sk"`
	maintenanceRecord
	ExpiresAt int64 `dynamodbav:"expiresAt"`
}

// activeItem is a service's windows that had not ended when it was last
// written, with a version every write is conditional on.
type activeItem struct {
	PK      string              `dynamodbav:"pk"`
	SK      string              `dynamodbav:"sk"`
	Windows []maintenanceRecord `dynamodbav:"windows"`
	Version int64               `dynamodbav:"windowsVersion"`
}

func activeWindowsKey(service string) map[string]types.AttributeValue {
	return key(maintPrefix+service, activeSK)
}

func windowKey(id string) map[string]types.AttributeValue { return key(windowPrefix+id, windowSK) }

func toMaintenanceRecord(w incident.MaintenanceWindow) maintenanceRecord {
	return maintenanceRecord{
		ID: w.ID, Service: w.Service, Start: formatTime(w.Start), End: formatTime(w.End),
		Reason: w.Reason, CreatedBy: w.CreatedBy, CreatedAt: formatTime(w.CreatedAt), EndedBy: w.EndedBy,
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

// decodeActiveWindows reads a service's active item (nil: no windows).
func decodeActiveWindows(item map[string]types.AttributeValue) ([]incident.MaintenanceWindow, error) {
	a, err := decodeActive(item)
	if err != nil {
		return nil, err
	}
	return windowsOf(a.Windows)
}

func decodeActive(item map[string]types.AttributeValue) (activeItem, error) {
	var a activeItem
	if item == nil {
		return a, nil
	}
	if err := attributevalue.UnmarshalMap(item, &a); err != nil {
		return activeItem{}, fmt.Errorf("decode: %w", err)
	}
	return a, nil
}

func windowsOf(rs []maintenanceRecord) ([]incident.MaintenanceWindow, error) {
	out := make([]incident.MaintenanceWindow, 0, len(rs))
	for _, r := range rs {
		w, err := r.window()
		if err != nil {
			return nil, fmt.Errorf("window %s: %w", r.ID, err)
		}
		out = append(out, w)
	}
	return out, nil
}

// CreateMaintenanceWindow stores a new maintenance window. The service's
// windows that have ended by now are dropped from its active list, and
// allow, when not nil, is asked whether w may join the others (the
// domain's limits); its error is returned as it is. A window that fails
// w.Validate, or has no ID, is EInvalid; an ID already stored is
// EConflict; more than MaxActiveWindows active windows is EConflict.
func (s *Store) CreateMaintenanceWindow(ctx context.Context, w incident.MaintenanceWindow, now time.Time, allow func(active []incident.MaintenanceWindow) error) error {
	if err := w.Validate(); err != nil {
		return err
	}
	if w.ID == "" {
		return incident.FieldErrorf("id", "maintenance window has no ID")
	}
	active, err := s.activeWindows(ctx, w.Service)
	if err != nil {
		return fmt.Errorf("create maintenance window %s: %w", w.ID, err)
	}
	if err := checkNewWindow(active, w, now, allow); err != nil {
		return err
	}
	// The window's own item first: a window in the active list can always
	// be read and ended by ID.
	if err := s.putWindowItem(ctx, w); err != nil {
		return err
	}
	if err := s.registerMaintenanceService(ctx, w.Service); err != nil {
		return err
	}
	return s.changeActive(ctx, w.Service, func(a *activeItem) error {
		cur, err := windowsOf(a.Windows)
		if err != nil {
			return err
		}
		if err := checkNewWindow(cur, w, now, allow); err != nil {
			return err
		}
		a.Windows = append(liveRecords(a.Windows, now), toMaintenanceRecord(w))
		return nil
	})
}

// checkNewWindow applies the store's bound and the caller's limits to a
// new window beside the active ones.
func checkNewWindow(active []incident.MaintenanceWindow, w incident.MaintenanceWindow, now time.Time, allow func([]incident.MaintenanceWindow) error) error {
	var live []incident.MaintenanceWindow
	for _, a := range active {
		if a.ID == w.ID {
			return incident.Errorf(incident.EConflict, "maintenance window %s already exists", w.ID)
		}
		if a.End.After(now) {
			live = append(live, a)
		}
	}
	if len(live) >= MaxActiveWindows {
		return incident.Errorf(incident.EConflict, "service %s already has %d maintenance windows that have not ended, the most it may have", w.Service, len(live))
	}
	if allow != nil {
		return allow(live)
	}
	return nil
}

// endedKeptFor is how long a window stays in its service's active list
// after it ended, so that the escalation of an incident it held still
// sees it end and says so on the timeline.
const endedKeptFor = 24 * time.Hour

// liveRecords keeps the windows that have not ended, or ended less than
// endedKeptFor before now.
func liveRecords(rs []maintenanceRecord, now time.Time) []maintenanceRecord {
	cut := formatTime(now.Add(-endedKeptFor))
	return slices.DeleteFunc(slices.Clone(rs), func(r maintenanceRecord) bool { return r.End <= cut })
}

func (s *Store) putWindowItem(ctx context.Context, w incident.MaintenanceWindow) error {
	item, err := attributevalue.MarshalMap(windowItem{
		PK: windowPrefix + w.ID, SK: windowSK, maintenanceRecord: toMaintenanceRecord(w),
		ExpiresAt: w.End.Add(windowKeptFor).Unix(),
	})
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

// registerMaintenanceService notes that service has windows, so that a
// listing of every service's windows finds it. Writing it again changes
// nothing.
func (s *Store) registerMaintenanceService(ctx context.Context, service string) error {
	_, err := s.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(s.table),
		Item:      map[string]types.AttributeValue{AttrPK: str(maintServices), AttrSK: str(service)},
	})
	if err != nil {
		return fmt.Errorf("register maintenance of %s: %w", service, err)
	}
	return nil
}

// activeWindows reads a service's active list with a consistent read.
func (s *Store) activeWindows(ctx context.Context, service string) ([]incident.MaintenanceWindow, error) {
	a, err := s.readActive(ctx, service)
	if err != nil {
		return nil, err
	}
	return windowsOf(a.Windows)
}

func (s *Store) readActive(ctx context.Context, service string) (activeItem, error) {
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.table), Key: activeWindowsKey(service), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return activeItem{}, fmt.Errorf("read maintenance of %s: %w", service, err)
	}
	a, err := decodeActive(out.Item)
	if err != nil {
		return activeItem{}, fmt.Errorf("read maintenance of %s: %w", service, err)
	}
	return a, nil
}

// changeActive applies change to a service's active list and writes it on
// condition of its version, reading again after losing a race.
func (s *Store) changeActive(ctx context.Context, service string, change func(*activeItem) error) error {
	for round := range maintRounds {
		if round > 0 {
			// Spread the writers of a hot service apart.
			if err := incident.Sleep(ctx, time.Duration(rand.Int64N(int64(time.Duration(min(round, 8))*5*time.Millisecond)))); err != nil {
				return err
			}
		}
		a, err := s.readActive(ctx, service)
		if err != nil {
			return err
		}
		expected := a.Version
		if err := change(&a); err != nil {
			return err
		}
		a.PK, a.SK, a.Version = maintPrefix+service, activeSK, expected+1
		if a.Windows == nil {
			a.Windows = []maintenanceRecord{}
		}
		item, err := attributevalue.MarshalMap(a)
		if err != nil {
			return fmt.Errorf("write maintenance of %s: %w", service, err)
		}
		err = s.putIfVersion(ctx, item, attrWindowsVer, expected)
		if err == nil {
			return nil
		}
		if !isConditionFailed(err) {
			return fmt.Errorf("write maintenance of %s: %w", service, err)
		}
	}
	return fmt.Errorf("write maintenance of %s: still contended after %d attempts", service, maintRounds)
}

// MaintenanceWindows returns the windows of a service that had not ended
// when its list was last written, or those of every service when service
// is empty, ordered by start (then service and ID), with strongly
// consistent reads. Windows that ended since may be included: the caller
// decides which ones matter at its time.
func (s *Store) MaintenanceWindows(ctx context.Context, service string) ([]incident.MaintenanceWindow, error) {
	services := []string{service}
	if service == "" {
		var err error
		if services, err = s.maintenanceServices(ctx); err != nil {
			return nil, err
		}
	}
	windows := []incident.MaintenanceWindow{}
	for chunk := range slices.Chunk(services, 100) {
		keys := make([]map[string]types.AttributeValue, len(chunk))
		for i, svc := range chunk {
			keys[i] = activeWindowsKey(svc)
		}
		items, err := s.batchGet(ctx, keys...)
		if err != nil {
			return nil, fmt.Errorf("list maintenance windows: %w", err)
		}
		for _, item := range items {
			ws, err := decodeActiveWindows(item)
			if err != nil {
				return nil, fmt.Errorf("list maintenance windows: %w", err)
			}
			windows = append(windows, ws...)
		}
	}
	slices.SortFunc(windows, func(a, b incident.MaintenanceWindow) int {
		return cmp.Or(a.Start.Compare(b.Start), cmp.Compare(a.Service, b.Service), cmp.Compare(a.ID, b.ID))
	})
	return windows, nil
}

// maintenanceServices lists the services that have had windows.
func (s *Store) maintenanceServices(ctx context.Context) ([]string, error) {
	var out []string
	err := s.queryAll(ctx, &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		KeyConditionExpression:    aws.String("#pk = :pk"),
		ExpressionAttributeNames:  names(AttrPK),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(maintServices)},
		ConsistentRead:            aws.Bool(true),
	}, func(item map[string]types.AttributeValue) error {
		if sk, ok := item[AttrSK].(*types.AttributeValueMemberS); ok {
			out = append(out, sk.Value)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list services with maintenance windows: %w", err)
	}
	return out, nil
}

// IncidentAndWindows reads an incident and its service's active
// maintenance windows in one strongly consistent batch read: what the
// escalation's Plan needs. A missing incident is an ENotFound.
func (s *Store) IncidentAndWindows(ctx context.Context, id, service string) (incident.Incident, []incident.MaintenanceWindow, error) {
	if service == "" {
		// An execution started without the service: two reads.
		inc, err := s.GetIncident(ctx, id)
		if err != nil {
			return incident.Incident{}, nil, err
		}
		ws, err := s.activeWindows(ctx, inc.Service)
		return inc, ws, err
	}
	if id == "" {
		return incident.Incident{}, nil, incident.Errorf(incident.EInvalid, "incident ID is empty")
	}
	items, err := s.batchGet(ctx, key(incidentPK(id), metaSK), activeWindowsKey(service))
	if err != nil {
		return incident.Incident{}, nil, fmt.Errorf("get incident %s: %w", id, err)
	}
	if items[0] == nil {
		return incident.Incident{}, nil, notFound(id)
	}
	inc, err := decodeIncident(items[0])
	if err != nil {
		return incident.Incident{}, nil, fmt.Errorf("get incident %s: decode: %w", id, err)
	}
	if inc.Service != service {
		// The caller guessed the service wrong: read the right one's.
		ws, err := s.activeWindows(ctx, inc.Service)
		return inc, ws, err
	}
	ws, err := decodeActiveWindows(items[1])
	if err != nil {
		return incident.Incident{}, nil, fmt.Errorf("read maintenance of %s: %w", service, err)
	}
	return inc, ws, nil
}

// MaintenanceWindow returns the window with the given ID, with a strongly
// consistent read. A missing window is ENotFound.
func (s *Store) MaintenanceWindow(ctx context.Context, id string) (incident.MaintenanceWindow, error) {
	if id == "" {
		return incident.MaintenanceWindow{}, incident.FieldErrorf("id", "maintenance window ID is empty")
	}
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table), Key: windowKey(id), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return incident.MaintenanceWindow{}, fmt.Errorf("get maintenance window %s: %w", id, err)
	}
	if out.Item == nil {
		return incident.MaintenanceWindow{}, incident.Errorf(incident.ENotFound, "maintenance window %s not found", id)
	}
	var r windowItem
	if err := attributevalue.UnmarshalMap(out.Item, &r); err != nil {
		return incident.MaintenanceWindow{}, fmt.Errorf("get maintenance window %s: decode: %w", id, err)
	}
	return r.window()
}

// EndMaintenanceWindow ends a window at at and returns it as stored. A
// window that has not started by then ends at its start, so it never holds
// a page. A window that has already ended by then (or was ended before its
// start) is EConflict; a missing window is ENotFound. The end only ever
// moves earlier: ending a window never extends it. The service's active
// list changes first, so a call cut short after it already releases the
// service, and calling again completes the window's own item.
func (s *Store) EndMaintenanceWindow(ctx context.Context, id, by string, at time.Time) (incident.MaintenanceWindow, error) {
	if at.IsZero() {
		return incident.MaintenanceWindow{}, incident.Errorf(incident.EInvalid, "ending maintenance window %s needs a time", id)
	}
	at = at.UTC()
	w, err := s.MaintenanceWindow(ctx, id)
	if err != nil {
		return incident.MaintenanceWindow{}, err
	}
	end := at
	if w.Start.After(at) {
		end = w.Start
	}
	if err := s.changeActive(ctx, w.Service, func(a *activeItem) error {
		for i := range a.Windows {
			if a.Windows[i].ID == id && a.Windows[i].End > formatTime(end) {
				a.Windows[i].End, a.Windows[i].EndedBy = formatTime(end), by
			}
		}
		a.Windows = liveRecords(a.Windows, at)
		return nil
	}); err != nil {
		return incident.MaintenanceWindow{}, err
	}
	if err := endedError(w, at); err != nil {
		return incident.MaintenanceWindow{}, err
	}
	return s.endWindowItem(ctx, w, by, end, at)
}

// endWindowItem moves a window item's end to end, unless a concurrent
// call ended it first.
func (s *Store) endWindowItem(ctx context.Context, w incident.MaintenanceWindow, by string, end, at time.Time) (incident.MaintenanceWindow, error) {
	_, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table),
		Key:       windowKey(w.ID),
		// end > start tells a cancelled window (ended at its start) from a
		// live one; end > :at keeps a concurrent, earlier end.
		UpdateExpression:         aws.String("SET #end = :end, #endedBy = :by, #expiresAt = :expires"),
		ConditionExpression:      aws.String("attribute_exists(#pk) AND #end > :at AND #end > #start"),
		ExpressionAttributeNames: names(AttrPK, "end", "start", "endedBy", AttrTTL),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":end":     str(formatTime(end)),
			":at":      str(formatTime(at)),
			":by":      str(by),
			":expires": number(end.Add(windowKeptFor).Unix()),
		},
	})
	if isConditionFailed(err) {
		current, gerr := s.MaintenanceWindow(ctx, w.ID)
		if gerr != nil {
			return incident.MaintenanceWindow{}, gerr
		}
		if eerr := endedError(current, at); eerr != nil {
			return incident.MaintenanceWindow{}, eerr
		}
		return incident.MaintenanceWindow{}, incident.Errorf(incident.EConflict, "maintenance window %s was changed concurrently; try again", w.ID)
	}
	if err != nil {
		return incident.MaintenanceWindow{}, fmt.Errorf("end maintenance window %s: %w", w.ID, err)
	}
	w.End, w.EndedBy = end, by
	return w, nil
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
