package drill

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/local/dynamotest"
)

func TestMain(m *testing.M) { dynamotest.MainQuiet(m) }

const drillARN = "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:Stack-fire-drill"

var t0 = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

// never is a delay after which nothing happens.
const never = -1

// world is a hand-written fake of everything the drill talks to: the
// alarm, the table, the state machine, the resolver and the log, on a
// virtual clock that Sleep advances. What the pipeline does after the
// alarm is raised is scripted by the delays.
type world struct {
	now time.Time

	raiseErr  error
	recordErr error
	// Each delay runs from the previous step; never stops the pipeline there.
	storeAfter, escalateAfter, pageAfter, syncAfter time.Duration
	pageFailure                                     string
	// getErrors is how many GetIncident calls fail before one succeeds.
	getErrors int

	raisedAt, storedAt, escalatedAt, pagedAt time.Time
	raises                                   int
	pointer                                  string
	incidents                                map[string]incident.Incident
	executions                               map[string]bool
	resolved                                 []string
	records                                  []Record
	// cancel, when set, is called by the sleep that reaches cancelAt.
	cancel   func()
	cancelAt time.Time
}

func newWorld() *world {
	return &world{now: t0, storeAfter: 3 * time.Second, escalateAfter: time.Second, pageAfter: 2 * time.Second, syncAfter: 2 * time.Second,
		incidents: map[string]incident.Incident{}, executions: map[string]bool{}}
}

func (w *world) Now() time.Time { return w.now }

func (w *world) sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	w.now = w.now.Add(d)
	if w.cancel != nil && !w.now.Before(w.cancelAt) {
		w.cancel()
		return context.Canceled
	}
	w.tick()
	return nil
}

// due reports whether the step after prev, delay later, happens now.
func (w *world) due(prev time.Time, delay time.Duration) bool {
	return !prev.IsZero() && delay != never && !w.now.Before(prev.Add(delay))
}

// tick plays the pipeline up to now.
func (w *world) tick() {
	if w.storedAt.IsZero() && w.due(w.raisedAt, w.storeAfter) {
		w.storedAt = w.now
		id := fmt.Sprintf("inc-drill-%d", w.raises)
		w.incidents[id] = incident.Incident{ID: id, Service: Service, DedupKey: drillARN, Source: "cloudwatch", Status: incident.Triggered, OpenedAt: w.raisedAt}
		w.pointer = id
	}
	if w.escalatedAt.IsZero() && w.due(w.storedAt, w.escalateAfter) {
		w.escalatedAt = w.now
		w.executions[w.pointer] = true
	}
	if w.pagedAt.IsZero() && w.due(w.escalatedAt, w.pageAfter) {
		w.pagedAt = w.now
		inc := w.incidents[w.pointer]
		state := incident.PageSent
		if w.pageFailure != "" {
			state = incident.PageRejected
		}
		inc.RecordPage(incident.Page{Level: 1, LevelName: "on-call", At: w.now, DedupKey: w.pointer + "/level-1", State: state, Failure: w.pageFailure})
		w.incidents[w.pointer] = inc
	}
	for id, inc := range w.incidents {
		if inc.Status == incident.Resolved && w.due(inc.ResolvedAt, w.syncAfter) {
			for i := range inc.Pages {
				if inc.Pages[i].Delivered() {
					inc.Pages[i].Synced = incident.Resolved
				}
			}
			w.incidents[id] = inc
		}
	}
}

func (w *world) Raise(_ context.Context, reason string) error {
	if w.raiseErr != nil {
		return w.raiseErr
	}
	if !strings.Contains(reason, "Fire drill") {
		return fmt.Errorf("reason %q does not say it is a drill", reason)
	}
	w.raises++
	w.raisedAt, w.storedAt, w.escalatedAt, w.pagedAt = w.now, time.Time{}, time.Time{}, time.Time{}
	w.tick()
	return nil
}

func (w *world) OpenIncidentID(_ context.Context, key string) (string, bool, error) {
	if key != drillARN {
		return "", false, fmt.Errorf("dedup key %q, want the drill alarm's ARN", key)
	}
	return w.pointer, w.pointer != "", nil
}

func (w *world) GetIncident(_ context.Context, id string) (incident.Incident, error) {
	if w.getErrors > 0 {
		w.getErrors--
		return incident.Incident{}, errors.New("ProvisionedThroughputExceededException")
	}
	inc, ok := w.incidents[id]
	if !ok {
		return incident.Incident{}, incident.Errorf(incident.ENotFound, "incident %s not found", id)
	}
	return inc, nil
}

func (w *world) EscalationStarted(_ context.Context, id string, generation int) (bool, error) {
	return w.executions[id] && generation == w.incidents[id].Generation, nil
}

func (w *world) Resolve(_ context.Context, id, cause string) error {
	inc, ok := w.incidents[id]
	if !ok {
		return incident.Errorf(incident.ENotFound, "incident %s not found", id)
	}
	if !strings.HasPrefix(cause, "Fire drill") {
		return fmt.Errorf("root cause %q does not say it was a drill", cause)
	}
	inc.Status, inc.ResolvedAt = incident.Resolved, w.now
	w.incidents[id] = inc
	w.resolved = append(w.resolved, id)
	w.tick()
	return nil
}

func (w *world) RecordDrill(_ context.Context, r Record) error {
	if w.recordErr != nil {
		return w.recordErr
	}
	w.records = append(w.records, r)
	return nil
}

func (w *world) drill() *Drill {
	return &Drill{Alarm: w, Incidents: w, Escalations: w, Resolver: ResolverFunc(w.Resolve), Log: w, Clock: w, Sleep: w.sleep,
		AlarmARN: drillARN, Function: "Stack-FireDrill"}
}

// hopsOf summarises hops as name=ok@seconds.
func hopsOf(r Record) string {
	var parts []string
	for _, h := range r.Hops {
		parts = append(parts, fmt.Sprintf("%s=%v@%g", h.Name, h.OK, h.Seconds))
	}
	return strings.Join(parts, " ")
}

func TestDrillPasses(t *testing.T) {
	w := newWorld()
	logs := captureLogs(t)
	rec, err := w.drill().Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// Polled every 2 s: stored at 3 s is seen at 4 s, and so on.
	want := "event-accepted=true@0 incident-stored=true@4 escalation-started=true@6 page-delivered=true@8 resolved=true@10"
	if got := hopsOf(rec); got != want {
		t.Errorf("hops = %s\nwant %s", got, want)
	}
	if !rec.Passed || rec.IncidentID != "inc-drill-1" || rec.ID != "drill-20260301-100000" || !rec.StartedAt.Equal(t0) || !rec.FinishedAt.Equal(t0.Add(10*time.Second)) {
		t.Errorf("record = %+v", rec)
	}
	if len(w.records) != 1 || w.records[0].ID != rec.ID {
		t.Errorf("recorded %+v, want the drill once", w.records)
	}
	if len(w.resolved) != 1 || w.incidents["inc-drill-1"].Status != incident.Resolved {
		t.Errorf("resolved %v, want the drill's incident resolved once", w.resolved)
	}

	// One EMF record per hop's time and outcome, and the verdict.
	got := map[string]float64{}
	for _, r := range logs.records(t) {
		aws, ok := r["_aws"].(map[string]any)
		if !ok {
			continue
		}
		m := aws["CloudWatchMetrics"].([]any)[0].(map[string]any)
		name := m["Metrics"].([]any)[0].(map[string]any)["Name"].(string)
		if m["Namespace"] != "Dashboarduz/IncidentResponse" || r["FunctionName"] != "Stack-FireDrill" {
			t.Errorf("metric %s: namespace %v, function %v", name, m["Namespace"], r["FunctionName"])
		}
		key := name
		if hop, ok := r["Hop"].(string); ok {
			key += "/" + hop
		}
		got[key] = r[name].(float64)
	}
	for k, v := range map[string]float64{
		"FireDrillHopSeconds/incident-stored": 4, "FireDrillHopSeconds/resolved": 10,
		"FireDrillHopFailed/page-delivered": 0, "FireDrillPassed": 1,
	} {
		if got[k] != v {
			t.Errorf("metric %s = %v, want %v (all: %v)", k, got[k], v, got)
		}
	}
	if len(got) != 2*len(Hops)+1 {
		t.Errorf("%d metrics, want %d: %v", len(got), 2*len(Hops)+1, got)
	}
}

func TestDrillFails(t *testing.T) {
	tests := []struct {
		name  string
		setup func(w *world)
		// hops as hopsOf renders them; failed is the hop whose error must
		// contain reason.
		hops, failed, reason string
		resolved             int
	}{
		{
			name:   "the alarm cannot be raised",
			setup:  func(w *world) { w.raiseErr = errors.New("AccessDenied") },
			hops:   "event-accepted=false@0",
			failed: HopAccepted, reason: "raise the drill alarm: AccessDenied",
		},
		{
			name:   "no incident is stored (the rule or ingest is broken)",
			setup:  func(w *world) { w.storeAfter = never },
			hops:   "event-accepted=true@0 incident-stored=false@120",
			failed: HopStored, reason: "not seen within 2m0s: not yet: no incident for the drill alarm",
		},
		{
			name:   "no escalation starts",
			setup:  func(w *world) { w.escalateAfter = never },
			hops:   "event-accepted=true@0 incident-stored=true@4 escalation-started=false@64 resolved=true@64",
			failed: HopEscalated, reason: "no escalation execution for inc-drill-1 generation 0", resolved: 1,
		},
		{
			name:   "nobody is paged",
			setup:  func(w *world) { w.pageAfter = never },
			hops:   "event-accepted=true@0 incident-stored=true@4 escalation-started=true@6 page-delivered=false@186 resolved=true@186",
			failed: HopPaged, reason: "not seen within 3m0s: not yet: no page recorded for level 1", resolved: 1,
		},
		{
			name:   "the page is undeliverable: failed at once",
			setup:  func(w *world) { w.pageFailure = "PagerDuty refused the routing key" },
			hops:   "event-accepted=true@0 incident-stored=true@4 escalation-started=true@6 page-delivered=false@8 resolved=true@8",
			failed: HopPaged, reason: "the page to level 1 (on-call) was not delivered: PagerDuty refused the routing key", resolved: 1,
		},
		{
			name:   "PagerDuty is never told of the resolution",
			setup:  func(w *world) { w.syncAfter = never },
			hops:   "event-accepted=true@0 incident-stored=true@4 escalation-started=true@6 page-delivered=true@8 resolved=false@188",
			failed: HopResolved, reason: "PagerDuty not yet told that the page to level 1 is resolved", resolved: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld()
			tt.setup(w)
			rec, err := w.drill().Run(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if got := hopsOf(rec); got != tt.hops {
				t.Errorf("hops = %s\nwant %s", got, tt.hops)
			}
			hop, why := rec.Failure()
			if rec.Passed || hop != tt.failed || !strings.Contains(why, tt.reason) {
				t.Errorf("passed %v, failure %s: %q; want %s failing with %q", rec.Passed, hop, why, tt.failed, tt.reason)
			}
			if len(w.records) != 1 || w.records[0].Passed {
				t.Errorf("records = %+v, want the failed drill recorded", w.records)
			}
			if len(w.resolved) != tt.resolved {
				t.Errorf("resolved %v, want %d incident(s) resolved", w.resolved, tt.resolved)
			}
		})
	}
}

func TestDrillRetriesTransientReads(t *testing.T) {
	w := newWorld()
	w.getErrors = 3
	rec, err := w.drill().Run(context.Background())
	if err != nil || !rec.Passed {
		t.Fatalf("drill = %s, %v; want it to pass after the throttled reads", hopsOf(rec), err)
	}
}

func TestDrillClearsAnEarlierDrillsIncident(t *testing.T) {
	w := newWorld()
	w.incidents["inc-old"] = incident.Incident{ID: "inc-old", Service: Service, DedupKey: drillARN, Status: incident.Triggered, OpenedAt: t0.Add(-30 * 24 * time.Hour)}
	w.pointer = "inc-old"
	rec, err := w.drill().Run(context.Background())
	if err != nil || !rec.Passed {
		t.Fatalf("drill = %s, %v; want it to pass", hopsOf(rec), err)
	}
	if rec.Cleared != "inc-old" || rec.IncidentID != "inc-drill-1" {
		t.Errorf("cleared %q, incident %q; want inc-old cleared and a new incident", rec.Cleared, rec.IncidentID)
	}
	if strings.Join(w.resolved, ",") != "inc-old,inc-drill-1" {
		t.Errorf("resolved %v, want the old incident first, then the drill's", w.resolved)
	}
}

func TestDrillWaitsPastAResolvedEarlierIncident(t *testing.T) {
	w := newWorld()
	// The pointer still names last month's resolved incident until the
	// new alarm's incident replaces it.
	w.incidents["inc-old"] = incident.Incident{ID: "inc-old", Service: Service, DedupKey: drillARN, Status: incident.Resolved, OpenedAt: t0.Add(-30 * 24 * time.Hour)}
	w.pointer = "inc-old"
	rec, err := w.drill().Run(context.Background())
	if err != nil || !rec.Passed || rec.IncidentID != "inc-drill-1" || rec.Cleared != "" {
		t.Fatalf("drill = %+v, %v; want it to pass with the new incident", rec, err)
	}
}

func TestDrillCutShortStillResolvesAndRecords(t *testing.T) {
	w := newWorld()
	w.pageAfter = never
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w.cancel, w.cancelAt = cancel, t0.Add(30*time.Second)
	rec, err := w.drill().Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	hop, why := rec.Failure()
	if hop != HopPaged || !strings.Contains(why, "cut short") {
		t.Errorf("failure %s: %q, want the page hop cut short", hop, why)
	}
	if len(w.resolved) != 1 || len(w.records) != 1 {
		t.Errorf("resolved %v, records %d: want the incident resolved and the drill recorded", w.resolved, len(w.records))
	}
}

func TestDrillRecordFailureIsAnError(t *testing.T) {
	w := newWorld()
	w.recordErr = errors.New("table gone")
	if _, err := w.drill().Run(context.Background()); err == nil || !strings.Contains(err.Error(), "record fire drill drill-20260301-100000: table gone") {
		t.Errorf("err = %v, want the record failure", err)
	}
}

func TestFailing(t *testing.T) {
	maxAge := 35 * 24 * time.Hour
	passed := &Record{ID: "drill-a", StartedAt: t0, Passed: true}
	failed := &Record{ID: "drill-b", StartedAt: t0, Hops: []Hop{{Name: HopAccepted, OK: true}, {Name: HopStored, Error: "not seen"}}}
	tests := []struct {
		name   string
		latest *Record
		since  time.Time
		now    time.Time
		want   bool
		reason string
	}{
		{"passed recently", passed, time.Time{}, t0.Add(24 * time.Hour), false, "drill-a, passed"},
		{"passed too long ago", passed, time.Time{}, t0.Add(maxAge + time.Hour), true, "ran 841h0m0s ago"},
		{"failed", failed, time.Time{}, t0.Add(time.Minute), true, "drill-b, failed at incident-stored: not seen"},
		{"none yet, watch is young", nil, t0, t0.Add(10 * 24 * time.Hour), false, "first is due within 600h0m0s"},
		{"none since the watch began", nil, t0, t0.Add(maxAge + time.Hour), true, "no fire drill has run in the 841h0m0s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, reason := Failing(tt.latest, tt.since, tt.now, maxAge)
			if got != tt.want || !strings.Contains(reason, tt.reason) {
				t.Errorf("Failing = %v, %q; want %v, %q", got, reason, tt.want, tt.reason)
			}
		})
	}
}

func TestIsDrillAndRoutingKey(t *testing.T) {
	tests := []struct {
		name string
		inc  incident.Incident
		want bool
	}{
		{"the drill alarm's incident", incident.Incident{Service: Service, DedupKey: drillARN}, true},
		{"in another partition", incident.Incident{Service: Service, DedupKey: "arn:aws-cn:cloudwatch:cn-north-1:123456789012:alarm:X-fire-drill"}, true},
		{"a user report naming the test service", incident.Incident{Service: Service, DedupKey: "report/abc"}, false},
		{"another service's alarm", incident.Incident{Service: "dashboarduz-api", DedupKey: drillARN}, false},
		{"an alarm not named for the drill", incident.Incident{Service: Service, DedupKey: "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:api-5xx"}, false},
		{"an alarm named only the suffix", incident.Incident{Service: Service, DedupKey: "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:-fire-drill"}, false},
		{"not a CloudWatch ARN", incident.Incident{Service: Service, DedupKey: "arn:aws:sns:eu-west-1:123456789012:alarm:x-fire-drill"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.inc.IsDrill(); got != tt.want {
				t.Errorf("IsDrill = %v, want %v", got, tt.want)
			}
			want := "team-lead"
			if tt.want {
				want = RoutingKeyName
			}
			if got := tt.inc.RoutingKeyName("team-lead"); got != want {
				t.Errorf("RoutingKeyName = %q, want %q", got, want)
			}
		})
	}
}

// logCapture collects the JSON log records written while a test runs.
type logCapture struct{ buf bytes.Buffer }

func captureLogs(t *testing.T) *logCapture {
	t.Helper()
	c := &logCapture{}
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewJSONHandler(&c.buf, nil)))
	t.Cleanup(func() { slog.SetDefault(prev) })
	return c
}

func (c *logCapture) records(t *testing.T) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range bytes.Split(bytes.TrimSpace(c.buf.Bytes()), []byte("\n")) {
		var r map[string]any
		if err := json.Unmarshal(line, &r); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		out = append(out, r)
	}
	return out
}
