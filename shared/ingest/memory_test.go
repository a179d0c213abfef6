package ingest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/ingest"
)

// countingStore counts the calls the handler makes to its store.
type countingStore struct {
	ingest.Store
	mu    sync.Mutex
	calls []string
}

func (c *countingStore) note(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls = append(c.calls, name)
}

// take returns the calls made since the last take.
func (c *countingStore) take() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := strings.Join(c.calls, ",")
	c.calls = nil
	return s
}

func (c *countingStore) ReadSignalContext(ctx context.Context, dedupKey, service string) (string, bool, []incident.MaintenanceWindow, error) {
	c.note("ReadSignalContext")
	return c.Store.ReadSignalContext(ctx, dedupKey, service)
}

func (c *countingStore) JoinFiring(ctx context.Context, id string, sig incident.Signal) (bool, error) {
	c.note("JoinFiring")
	return c.Store.JoinFiring(ctx, id, sig)
}

func (c *countingStore) GetIncident(ctx context.Context, id string) (incident.Incident, error) {
	c.note("GetIncident")
	return c.Store.GetIncident(ctx, id)
}

func (c *countingStore) AppendTimeline(ctx context.Context, id string, e incident.Entry) (bool, error) {
	c.note("AppendTimeline")
	return c.Store.AppendTimeline(ctx, id, e)
}

// TestMemory: a warm handler joins a repeat of a firing alarm in one
// write, answers a redelivery without a call, and notices a remembered
// incident that was resolved and superseded.
func TestMemory(t *testing.T) {
	ctx := context.Background()
	h, store, _ := newHandler(t)
	counted := &countingStore{Store: store}
	h.Store = counted
	alarm := fixture(t, "cloudwatch/api-5xx-alarm.json")
	first, err := h.Handle(ctx, alarm)
	if err != nil {
		t.Fatal(err)
	}
	counted.take()

	repeat := withTime(t, alarm, "0d9f8a77-0000-4000-8000-0000000000a1", "2026-03-01T03:01:00.000+0000")
	res, err := h.Handle(ctx, repeat)
	if err != nil || res.Route != incident.RouteJoin || res.IncidentID != first.IncidentID {
		t.Fatalf("repeat: %+v, %v; want a join of %s", res, err, first.IncidentID)
	}
	if got := counted.take(); got != "JoinFiring" {
		t.Errorf("a remembered repeat called %s, want JoinFiring alone", got)
	}

	for _, ev := range [][]byte{alarm, repeat} {
		res, err := h.Handle(ctx, ev)
		if err != nil || res.Route != incident.RouteJoin || res.IncidentID != first.IncidentID || res.Reason != "the event was already ingested" {
			t.Errorf("redelivery: %+v, %v; want it answered as ingested into %s", res, err, first.IncidentID)
		}
	}
	if got := counted.take(); got != "" {
		t.Errorf("redeliveries called %s, want nothing", got)
	}

	// A function instance that has not seen the alarm reads the pointer.
	cold := *h
	cold.Memory = ingest.NewMemory(0)
	res, err = cold.Handle(ctx, withTime(t, alarm, "0d9f8a77-0000-4000-8000-0000000000a2", "2026-03-01T03:02:00.000+0000"))
	if err != nil || res.Route != incident.RouteJoin {
		t.Fatalf("cold repeat: %+v, %v", res, err)
	}
	if got := counted.take(); got != "ReadSignalContext,JoinFiring" {
		t.Errorf("a cold repeat called %s, want ReadSignalContext,JoinFiring", got)
	}

	// Resolved, and the alarm fires again past the re-open window: the
	// remembered incident refuses the join, the pointer is read, and a
	// new incident opens, which the next repeat joins in one write.
	inc, err := store.GetIncident(ctx, first.IncidentID)
	if err != nil {
		t.Fatal(err)
	}
	inc.Status, inc.ResolvedAt = incident.Resolved, time.Date(2026, 3, 1, 3, 30, 0, 0, time.UTC)
	if _, err := store.UpdateIncident(ctx, inc); err != nil {
		t.Fatal(err)
	}
	next, err := h.Handle(ctx, withTime(t, alarm, "0d9f8a77-0000-4000-8000-0000000000a3", "2026-03-01T04:01:00.000+0000"))
	if err != nil || next.Route != incident.RouteOpen || next.IncidentID == first.IncidentID {
		t.Fatalf("after the resolution: %+v, %v; want a new incident", next, err)
	}
	if got := counted.take(); !strings.HasPrefix(got, "JoinFiring,ReadSignalContext,GetIncident") {
		t.Errorf("after the resolution the handler called %s, want the refused join, then the reads", got)
	}
	res, err = h.Handle(ctx, withTime(t, alarm, "0d9f8a77-0000-4000-8000-0000000000a4", "2026-03-01T04:02:00.000+0000"))
	if err != nil || res.Route != incident.RouteJoin || res.IncidentID != next.IncidentID {
		t.Fatalf("repeat of the new incident: %+v, %v; want a join of %s", res, err, next.IncidentID)
	}
	if got := counted.take(); got != "JoinFiring" {
		t.Errorf("a repeat of the new incident called %s, want JoinFiring alone", got)
	}
}

// TestMemoryIsBounded: the oldest dedup keys are forgotten, and a
// forgotten key is read again.
func TestMemoryIsBounded(t *testing.T) {
	ctx := context.Background()
	h, store, _ := newHandler(t)
	counted := &countingStore{Store: store}
	h.Store, h.Memory = counted, ingest.NewMemory(2)
	alarm := fixture(t, "cloudwatch/api-5xx-alarm.json")
	ids := make([]string, 3)
	for i := range ids {
		ev := withAlarmName(t, alarm, fmt.Sprintf("bounded-%d", i))
		res, err := h.Handle(ctx, ev)
		if err != nil || res.Route != incident.RouteOpen {
			t.Fatalf("alarm %d: %+v, %v", i, res, err)
		}
		ids[i] = res.IncidentID
	}
	counted.take()
	for i, want := range []string{"ReadSignalContext,JoinFiring", "JoinFiring"} {
		ev := withTime(t, withAlarmName(t, alarm, fmt.Sprintf("bounded-%d", i*2)), fmt.Sprintf("0d9f8a77-0000-4000-8000-0000000000b%d", i), "2026-03-01T03:01:00.000+0000")
		res, err := h.Handle(ctx, ev)
		if err != nil || res.Route != incident.RouteJoin || res.IncidentID != ids[i*2] {
			t.Fatalf("repeat of alarm %d: %+v, %v", i*2, res, err)
		}
		if got := counted.take(); got != want {
			t.Errorf("repeat of alarm %d called %s, want %s", i*2, got, want)
		}
	}
}

// withAlarmName returns the alarm event for another alarm, with an event
// ID of its own.
func withAlarmName(t *testing.T, ev json.RawMessage, name string) json.RawMessage {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(ev, &m); err != nil {
		t.Fatal(err)
	}
	m["id"] = "event-" + name
	m["detail"].(map[string]any)["alarmName"] = name
	m["resources"] = []string{"arn:aws:cloudwatch:us-east-1:123456789012:alarm:" + name}
	raw, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}
