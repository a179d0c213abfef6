package heartbeat

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/dashboarduz/incident-response/shared/drill"
	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/local/dynamotest"
)

func TestMain(m *testing.M) { dynamotest.MainQuiet(m) }

var t0 = time.Date(2026, 3, 10, 4, 5, 0, 0, time.UTC)

// fakes of the three small interfaces.
type fakeStore struct {
	first time.Time
	beats []time.Time
	err   error
}

func (f *fakeStore) Beat(_ context.Context, at time.Time) (time.Time, error) {
	if f.err != nil {
		return time.Time{}, f.err
	}
	if f.first.IsZero() {
		f.first = at
	}
	f.beats = append(f.beats, at)
	return f.first, nil
}

type fakeStateMachine struct{ err error }

func (f fakeStateMachine) CheckActive(context.Context) error { return f.err }

type fakeDrills struct {
	latest *drill.Record
	err    error
}

func (f fakeDrills) LatestDrill(context.Context) (drill.Record, bool, error) {
	if f.err != nil || f.latest == nil {
		return drill.Record{}, false, f.err
	}
	return *f.latest, true, nil
}

// emitted runs f with the logs captured and returns the metrics it
// emitted, by name.
func emitted(t *testing.T, f func()) map[string]float64 {
	t.Helper()
	var buf bytes.Buffer
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewJSONHandler(&buf, nil)))
	defer slog.SetDefault(prev)
	f()
	got := map[string]float64{}
	for _, line := range bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n")) {
		var r map[string]any
		if len(line) == 0 {
			continue
		}
		if err := json.Unmarshal(line, &r); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		aws, ok := r["_aws"].(map[string]any)
		if !ok {
			continue
		}
		m := aws["CloudWatchMetrics"].([]any)[0].(map[string]any)
		name := m["Metrics"].([]any)[0].(map[string]any)["Name"].(string)
		if r["FunctionName"] != "Stack-Heartbeat" || m["Namespace"] != "Dashboarduz/IncidentResponse" {
			t.Errorf("metric %s: function %v, namespace %v", name, r["FunctionName"], m["Namespace"])
		}
		got[name] = r[name].(float64)
	}
	return got
}

func newHeartbeat(store Store, sm StateMachine, drills Drills) *Heartbeat {
	h := &Heartbeat{
		Store: store, StateMachine: sm,
		Rules: incident.DefaultClassificationRules(), Policy: incident.DefaultPolicy(),
		Clock: incident.ClockFunc(func() time.Time { return t0 }), Function: "Stack-Heartbeat",
		DrillMaxAge: 35 * 24 * time.Hour,
	}
	if drills != nil {
		h.Drills = drills
	}
	return h
}

func TestBeat(t *testing.T) {
	passed := &drill.Record{ID: "drill-1", StartedAt: t0.Add(-9 * 24 * time.Hour), Passed: true}
	failed := &drill.Record{ID: "drill-2", StartedAt: t0.Add(-time.Hour), Hops: []drill.Hop{{Name: drill.HopAccepted, Error: "AccessDenied"}}}
	tests := []struct {
		name    string
		store   *fakeStore
		sm      fakeStateMachine
		drills  Drills
		wantErr string
		want    map[string]float64
	}{
		{name: "healthy, drill passed last week", store: &fakeStore{}, drills: fakeDrills{latest: passed},
			want: map[string]float64{"Heartbeat": 1, "FireDrillFailing": 0}},
		{name: "healthy, no drill watch", store: &fakeStore{},
			want: map[string]float64{"Heartbeat": 1}},
		{name: "the latest drill failed", store: &fakeStore{}, drills: fakeDrills{latest: failed},
			want: map[string]float64{"Heartbeat": 1, "FireDrillFailing": 1}},
		{name: "no drill since the first beat, long ago", store: &fakeStore{first: t0.Add(-40 * 24 * time.Hour)}, drills: fakeDrills{},
			want: map[string]float64{"Heartbeat": 1, "FireDrillFailing": 1}},
		{name: "no drill yet, first beat now", store: &fakeStore{}, drills: fakeDrills{},
			want: map[string]float64{"Heartbeat": 1, "FireDrillFailing": 0}},
		{name: "drill records unreadable", store: &fakeStore{}, drills: fakeDrills{err: errors.New("throttled")},
			wantErr: "read the latest fire drill: throttled", want: map[string]float64{"Heartbeat": 1}},
		{name: "the table takes no writes", store: &fakeStore{err: errors.New("ResourceNotFoundException")}, drills: fakeDrills{latest: passed},
			wantErr: "record the beat in the table: ResourceNotFoundException", want: map[string]float64{}},
		{name: "the state machine is gone", store: &fakeStore{}, sm: fakeStateMachine{err: errors.New("StateMachineDoesNotExist")}, drills: fakeDrills{latest: passed},
			wantErr: "StateMachineDoesNotExist", want: map[string]float64{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHeartbeat(tt.store, tt.sm, tt.drills)
			var err error
			got := emitted(t, func() { err = h.Beat(context.Background()) })
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("Beat = %v, want %q", err, tt.wantErr)
			}
			if len(got) != len(tt.want) {
				t.Errorf("metrics = %v, want %v", got, tt.want)
			}
			for k, v := range tt.want {
				if g, ok := got[k]; !ok || g != v {
					t.Errorf("metric %s = %v (emitted %v), want %v", k, g, ok, v)
				}
			}
		})
	}
}

func TestBeatFailsWhenNothingWouldBePaged(t *testing.T) {
	// Rules that ignore every alarm, as a bad classification file would:
	// no alarm would open an incident, so nobody would be paged.
	rules, err := incident.ParseClassificationRules([]byte(`{"rules":[{"name":"all","match":{"alarmNames":["*"]},"ignore":true}],"default":{"category":"other","severity":"P2"}}`))
	if err != nil {
		t.Fatal(err)
	}
	h := newHeartbeat(&fakeStore{}, fakeStateMachine{}, nil)
	h.Rules = rules
	got := emitted(t, func() { err = h.Beat(context.Background()) })
	if err == nil || !strings.Contains(err.Error(), "plan check") {
		t.Errorf("Beat = %v, want the plan check to fail", err)
	}
	if _, ok := got["Heartbeat"]; ok {
		t.Errorf("a failed beat emitted Heartbeat: %v", got)
	}
}

func TestProbeEventDecodes(t *testing.T) {
	raw, err := probeEvent(t0)
	if err != nil {
		t.Fatal(err)
	}
	h := newHeartbeat(&fakeStore{}, fakeStateMachine{}, nil)
	if err := h.plans(t0); err != nil {
		t.Fatalf("plans: %v\nevent %s", err, raw)
	}
}

func TestTable(t *testing.T) {
	ctx := context.Background()
	_, client, name := dynamotest.NewWithClient(t)
	table := &Table{API: client, Table: name}
	for i, at := range []time.Time{t0, t0.Add(5 * time.Minute), t0.Add(10 * time.Minute)} {
		first, err := table.Beat(ctx, at)
		if err != nil {
			t.Fatalf("beat %d: %v", i, err)
		}
		if !first.Equal(t0) {
			t.Errorf("beat %d: first beat = %v, want %v", i, first, t0)
		}
	}
}
