package incident

import (
	"regexp"
	"testing"
	"time"
)

func TestStatusTransitions(t *testing.T) {
	tests := []struct {
		from, to Status
		ok       bool
	}{
		{Triggered, Acknowledged, true},
		{Triggered, Resolved, true},
		{Acknowledged, Mitigating, true},
		{Mitigating, Resolved, true},
		{Acknowledged, Triggered, false},
		{Resolved, Acknowledged, false},
		{Resolved, Resolved, false},
	}
	for _, tt := range tests {
		err := tt.from.Transition(tt.to)
		if (err == nil) != tt.ok {
			t.Errorf("%s -> %s: err = %v, want ok %v", tt.from, tt.to, err, tt.ok)
		}
		if err != nil && ErrorCode(err) != EConflict {
			t.Errorf("%s -> %s: code %q, want conflict", tt.from, tt.to, ErrorCode(err))
		}
	}
}

func TestRouteSignal(t *testing.T) {
	open := &Incident{ID: "inc-1", Status: Acknowledged}
	now := time.Date(2026, 3, 1, 3, 0, 0, 0, time.UTC)
	closed := &Incident{ID: "inc-0", Status: Resolved, SignalAt: now.Add(-2 * time.Hour), ResolvedAt: now.Add(-time.Hour)}
	tests := []struct {
		state   SignalState
		current *Incident
		want    RouteKind
	}{
		{Firing, nil, RouteOpen},
		{Firing, closed, RouteOpen},
		{Firing, open, RouteJoin},
		{Recovered, open, RouteRecover},
		{Recovered, nil, RouteIgnore},
		{Inconclusive, open, RouteNote},
		{Inconclusive, nil, RouteIgnore},
		{"bogus", open, RouteIgnore},
	}
	for _, tt := range tests {
		got := RouteSignal(Signal{State: tt.state, Time: now}, tt.current, 30*time.Minute)
		if got.Kind != tt.want || got.Reason == "" {
			t.Errorf("RouteSignal(%s, %v) = %+v, want %s with a reason", tt.state, tt.current, got, tt.want)
		}
	}
}

func TestNewIDIsStableAndAValidExecutionName(t *testing.T) {
	s := Signal{DedupKey: "arn:aws:cloudwatch:us-east-1:123456789012:alarm:x", EventID: "e1", Time: time.Date(2026, 3, 1, 3, 0, 0, 0, time.UTC)}
	a, b := NewID(s), NewID(s)
	if a != b {
		t.Fatalf("NewID differs for one signal: %s, %s", a, b)
	}
	s.EventID = "e2"
	if NewID(s) == a {
		t.Errorf("NewID is the same for different events")
	}
	if !regexp.MustCompile(`^inc-20260301-030000-[0-9a-f]{10}$`).MatchString(a) {
		t.Errorf("NewID = %q", a)
	}
}

func TestRecordPageKeepsOrderAndIsIdempotent(t *testing.T) {
	var inc Incident
	for _, l := range []int{2, 1, 3, 2} {
		inc.RecordPage(Page{Level: l, State: PageSent})
	}
	if len(inc.Pages) != 3 || inc.Pages[0].Level != 1 || inc.Pages[1].Level != 2 || inc.Pages[2].Level != 3 {
		t.Errorf("pages = %+v", inc.Pages)
	}
	if inc.RecordPage(Page{Level: 1, State: PageSent}) {
		t.Errorf("recording a level twice reported a change")
	}
}

func TestEntryIDSortsByTime(t *testing.T) {
	a := EntryID(time.Date(2026, 3, 1, 3, 0, 0, 5, time.UTC), "z")
	b := EntryID(time.Date(2026, 3, 1, 3, 0, 1, 0, time.UTC), "a")
	if !(a < b) {
		t.Errorf("%s should sort before %s", a, b)
	}
}

func TestParseHelpers(t *testing.T) {
	if _, err := ParseSeverity("P4"); ErrorCode(err) != EInvalid {
		t.Errorf("ParseSeverity(P4) err = %v", err)
	}
	if _, err := ParseCategory("outage"); ErrorCode(err) != EInvalid {
		t.Errorf("ParseCategory(outage) err = %v", err)
	}
	if c, err := ParseCategory("data-loss"); err != nil || c != DataLoss {
		t.Errorf("ParseCategory(data-loss) = %v, %v", c, err)
	}
	if _, err := ParseStatus("closed"); ErrorCode(err) != EInvalid {
		t.Errorf("ParseStatus(closed) err = %v", err)
	}
}

func TestRouteSignalIgnoresLateEventsAndReopens(t *testing.T) {
	// The alarm went OK at 03:20 and the incident was resolved at 03:26.
	ok := time.Date(2026, 3, 1, 3, 20, 0, 0, time.UTC)
	window := 30 * time.Minute
	resolved := &Incident{ID: "inc-1", Status: Resolved, SignalState: Recovered, SignalAt: ok, ResolvedAt: ok.Add(6 * time.Minute)}
	tests := []struct {
		name string
		sig  Signal
		want RouteKind
	}{
		{"a late event from before the OK", Signal{State: Firing, Time: ok.Add(-time.Minute)}, RouteIgnore},
		// A firing at 03:25, delivered after the resolution, is the same
		// outage coming back: CloudWatch will send no other event for it.
		{"a firing after the OK but before the resolution", Signal{State: Firing, Time: ok.Add(5 * time.Minute)}, RouteReopen},
		{"a firing 30 minutes after the resolution", Signal{State: Firing, Time: ok.Add(36 * time.Minute)}, RouteReopen},
		{"a firing 31 minutes after the resolution", Signal{State: Firing, Time: ok.Add(37 * time.Minute)}, RouteOpen},
		{"a firing an hour later", Signal{State: Firing, Time: ok.Add(time.Hour)}, RouteOpen},
	}
	for _, tt := range tests {
		if got := RouteSignal(tt.sig, resolved, window); got.Kind != tt.want {
			t.Errorf("%s: %+v, want %s", tt.name, got, tt.want)
		}
	}
	if got := RouteSignal(Signal{State: Firing, Time: ok.Add(5 * time.Minute)}, resolved, 0); got.Kind != RouteOpen {
		t.Errorf("with no re-open window: %+v, want open", got)
	}
	if got := RouteSignal(Signal{State: Firing, Ignored: "autoscaling"}, nil, window); got.Kind != RouteIgnore || got.Reason != "autoscaling" {
		t.Errorf("an ignored signal: %+v", got)
	}
}

func TestNoteSignalKeepsTheLatest(t *testing.T) {
	t1 := time.Date(2026, 3, 1, 3, 0, 0, 0, time.UTC)
	inc := Incident{SignalState: Firing, SignalAt: t1}
	if !inc.NoteSignal(Recovered, t1.Add(time.Minute)) || inc.SignalState != Recovered {
		t.Fatalf("a later OK was not recorded: %+v", inc)
	}
	if inc.NoteSignal(Firing, t1.Add(30*time.Second)) || inc.SignalState != Recovered {
		t.Errorf("an earlier ALARM arriving late overwrote the later OK: %+v", inc)
	}
	if inc.NoteSignal(Recovered, t1.Add(time.Minute)) {
		t.Errorf("the same state again reported a change")
	}
}

func TestParsePageDedupKey(t *testing.T) {
	for _, c := range []struct{ episode, level int }{{0, 1}, {0, 4}, {2, 3}, {12, 1}} {
		key := PageDedupKey("inc-20260301-030000-0123456789", c.episode, c.level)
		id, ep, l, ok := ParsePageDedupKey(key)
		if !ok || id != "inc-20260301-030000-0123456789" || ep != c.episode || l != c.level {
			t.Errorf("ParsePageDedupKey(%q) = %q, %d, %d, %v", key, id, ep, l, ok)
		}
	}
	for _, key := range []string{"", "inc-1", "foo/level-1", "inc-1/level-0", "inc-1/level-x", "inc-1/reopen-0/level-1", "inc-1/reopen-1/level-1/x", "inc-1/level-01"} {
		if _, _, _, ok := ParsePageDedupKey(key); ok {
			t.Errorf("ParsePageDedupKey(%q) accepted", key)
		}
	}
}
