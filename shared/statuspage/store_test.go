package statuspage

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dashboarduz/incident-response/shared/incident"
)

// fakeStore serves incidents and their entries, records what it was asked
// and how many timeline reads ran at once.
type fakeStore struct {
	incidents []incident.Incident
	complete  bool
	entries   map[string][]incident.Entry
	err       error
	updateErr error

	mu          sync.Mutex
	since       time.Time
	limit       int
	inFlight    atomic.Int64
	maxInFlight atomic.Int64
}

func (s *fakeStore) PublishedIncidents(_ context.Context, since time.Time, limit int) ([]incident.Incident, bool, error) {
	s.mu.Lock()
	s.since, s.limit = since, limit
	s.mu.Unlock()
	return s.incidents, s.complete, s.err
}

func (s *fakeStore) PublicUpdates(_ context.Context, id string) ([]incident.Entry, error) {
	n := s.inFlight.Add(1)
	defer s.inFlight.Add(-1)
	for {
		m := s.maxInFlight.Load()
		if n <= m || s.maxInFlight.CompareAndSwap(m, n) {
			break
		}
	}
	time.Sleep(2 * time.Millisecond)
	return s.entries[id], s.updateErr
}

// statusUpdate is a status-update entry as shared/response writes it.
func statusUpdate(at time.Time, status incident.Status, message, actions string, public bool) incident.Entry {
	data := map[string]string{"status": string(status), "message": message, incident.DataActions: actions, "eta": "2026-03-01T05:00:00Z"}
	if public {
		data[incident.DataPublic] = "true"
	}
	return incident.Entry{
		ID: incident.EntryID(at, "api/update/oncall@example.com"), At: at, Kind: incident.EntryStatusUpdate, Actor: "oncall@example.com (u-1)",
		Text: "INCIDENT UPDATE: inc-1\nStatus: " + string(status) + "\nUpdate: " + message + "\nActions: " + actions,
		Data: data,
	}
}

// storedOutage is the scenario's outage as stored, resolved, with every
// internal field filled.
func storedOutage() incident.Incident {
	return incident.Incident{
		ID: "inc-20260301-030000-c0f8ae04e8", Title: "P0 dashboarduz-api - API 5xx error rate above 5%", Service: "dashboarduz-api",
		Category: incident.ServiceDown, Severity: incident.P0, Status: incident.Resolved, Source: "cloudwatch",
		DedupKey: "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:dashboarduz-api-5xx-rate",
		Summary:  "API 5xx error rate above 5% - Threshold Crossed: 1 datapoint [12.5] was greater than the threshold (5.0).",
		OpenedAt: t0, AcknowledgedAt: t0.Add(12 * time.Minute), AcknowledgedBy: "oncall@dashboarduz.example",
		ResolvedAt: t0.Add(45 * time.Minute), ResolvedBy: "oncall@dashboarduz.example",
		RootCause: "Bad deploy 4f2a9c exhausted the pool", Resolution: "Rolled back task definition dashboarduz-api:117",
		PublicTitle: " API unavailable ",
	}
}

func TestFromIncident(t *testing.T) {
	inc := storedOutage()
	entries := []incident.Entry{
		statusUpdate(t0.Add(5*time.Minute), incident.Investigating, "We are investigating errors on the API.", "checking task definition dashboarduz-api:117", true),
		statusUpdate(t0.Add(12*time.Minute), incident.Investigating, "Rolling back task definition dashboarduz-api:117", "oncall@dashboarduz.example on it", false),
		{ID: "x", At: t0.Add(13 * time.Minute), Kind: incident.EntryTriage, Text: "log lines", Data: map[string]string{incident.DataPublic: "true", "message": "ERROR pool exhausted"}},
		statusUpdate(t0.Add(20*time.Minute), incident.Mitigating, "  ", "", true),
		statusUpdate(t0.Add(30*time.Minute), incident.Monitoring, "A fix is in place.", "watching", true),
	}
	got, ok := FromIncident(inc, entries)
	if !ok {
		t.Fatal("a published incident is not public")
	}
	want := Incident{
		ID: inc.ID, Title: "API unavailable", Severity: incident.P0, Status: incident.Resolved, Service: "dashboarduz-api",
		StartedAt: t0, ResolvedAt: t0.Add(45 * time.Minute),
		Updates: []Update{
			{At: t0.Add(5 * time.Minute), Status: incident.Investigating, Message: "We are investigating errors on the API."},
			{At: t0.Add(30 * time.Minute), Status: incident.Monitoring, Message: "A fix is in place."},
			{At: t0.Add(45 * time.Minute), Status: incident.Resolved, Message: ResolvedMessage},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("public view\n got %+v\nwant %+v", got, want)
	}

	open := storedOutage()
	open.Status, open.ResolvedAt = incident.Mitigating, time.Time{}
	if got, _ := FromIncident(open, nil); len(got.Updates) != 0 || !got.ResolvedAt.IsZero() {
		t.Errorf("an open incident shows %+v", got)
	}
	private := storedOutage()
	private.PublicTitle = "  "
	if _, ok := FromIncident(private, entries); ok {
		t.Error("an incident without a public title is public")
	}
}

func TestStoreSource(t *testing.T) {
	inc := storedOutage()
	other := storedOutage()
	other.ID, other.PublicTitle, other.Service = "inc-2", "Slow background jobs", "dashboarduz-worker"
	unpublished := storedOutage()
	unpublished.ID, unpublished.PublicTitle = "inc-3", ""
	store := &fakeStore{
		incidents: []incident.Incident{inc, other, unpublished},
		complete:  true,
		entries: map[string][]incident.Entry{
			inc.ID: {statusUpdate(t0.Add(5*time.Minute), incident.Investigating, "We are investigating.", "", true)},
		},
	}
	since := time.Date(2025, 12, 2, 0, 0, 0, 0, time.UTC)
	got, err := StoreSource{Store: store}.PublicIncidents(t.Context(), since)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ID != inc.ID || got[1].ID != "inc-2" || len(got[0].Updates) != 2 || len(got[1].Updates) != 1 {
		t.Errorf("source answered %+v", got)
	}
	if !store.since.Equal(since.Add(-Lookback)) || store.limit != DefaultReadLimit {
		t.Errorf("asked since %s with limit %d, want %s and %d", store.since, store.limit, since.Add(-Lookback), DefaultReadLimit)
	}

	// Timeline reads run a bounded number at once.
	var many []incident.Incident
	for i := range 30 {
		x := storedOutage()
		x.ID = "inc-many-" + string(rune('a'+i))
		many = append(many, x)
	}
	store = &fakeStore{incidents: many, complete: false}
	got, err = StoreSource{Store: store, ReadLimit: 30, Concurrency: 3}.PublicIncidents(t.Context(), since)
	if err != nil || len(got) != 30 {
		t.Fatalf("%d incidents, %v", len(got), err)
	}
	if m := store.maxInFlight.Load(); m > 3 || m < 1 {
		t.Errorf("%d timeline reads at once, want at most 3", m)
	}
	if store.limit != 30 {
		t.Errorf("limit %d, want 30", store.limit)
	}

	store.updateErr = errors.New("throttled")
	if _, err := (StoreSource{Store: store}).PublicIncidents(t.Context(), since); err == nil || !strings.Contains(err.Error(), "throttled") {
		t.Errorf("a failed timeline read: %v", err)
	}
	store = &fakeStore{err: errors.New("index unavailable")}
	if _, err := (StoreSource{Store: store}).PublicIncidents(t.Context(), since); err == nil {
		t.Error("a failed index read is not an error")
	}
}
