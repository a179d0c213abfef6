package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/smithy-go/middleware"

	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/local/dynamofault"
)

// TestDynamoDBFaultsNeitherLoseNorDoublePages plays the night-time P0
// with a third of all DynamoDB calls failing, half of them throttled
// before they reach the table and half applied with their answer lost, as
// a timed-out call leaves it. Ingest is retried as Lambda retries an
// asynchronous invocation; the state machine retries its tasks. One
// incident opens, every level is paged, none twice, and each page is on
// the timeline once.
func TestDynamoDBFaultsNeitherLoseNorDoublePages(t *testing.T) {
	for seed := range uint64(8) {
		seed := seed + 1
		t.Run("seed "+string(rune('0'+seed)), func(t *testing.T) {
			ctx := context.Background()
			faults := dynamofault.New(seed, 0.35, "GetItem", "PutItem", "UpdateItem", "BatchGetItem", "Query")
			s, err := NewStack(ctx, Options{DynamoEndpoint: endpoint, Start: time.Date(2026, 3, 1, 3, 0, 0, 0, time.UTC),
				DynamoAPIOptions: []func(*middleware.Stack) error{faults.Middleware}})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			start := s.Clock.Now()
			event := AtTime(readFixture(t, "cloudwatch/api-5xx-alarm.json"), start)
			delivered := false
			for range 10 { // Lambda retries twice; more, to get past the faults
				if _, err := s.Deliver(ctx, event); err == nil {
					delivered = true
					break
				}
			}
			if !delivered {
				t.Fatal("the alarm was never ingested")
			}
			if err := s.Exec.RunUntil(ctx, start.Add(40*time.Minute)); err != nil {
				t.Fatal(err)
			}
			faults.Stop()
			if err := s.Exec.RunUntil(ctx, start.Add(50*time.Minute)); err != nil {
				t.Fatal(err)
			}
			t.Logf("injected %d throttles and %d lost answers", faults.Injected(dynamofault.Throttle), faults.Injected(dynamofault.Lost))
			incs, err := s.Incidents(ctx)
			if err != nil || len(incs) != 1 {
				t.Fatalf("incidents %v, %v; want one", len(incs), err)
			}
			alerts := map[string]int{}
			for _, a := range s.Recorder.AllAlerts() {
				alerts[a.DedupKey]++
			}
			for level := 1; level <= 4; level++ {
				if key := incident.PageDedupKey(incs[0].ID, 0, level); alerts[key] != 1 {
					t.Errorf("level %d: %d PagerDuty alerts, want 1 (all: %v)", level, alerts[key], alerts)
				}
			}
			if len(alerts) != 4 {
				t.Errorf("%d alerts, want the four levels", len(alerts))
			}
			entries, err := s.Store.Timeline(ctx, incs[0].ID)
			if err != nil {
				t.Fatal(err)
			}
			paged := map[string]int{}
			for _, e := range entries {
				if e.Kind == incident.EntryPaged {
					paged[e.Data["level"]]++
				}
				if strings.Contains(e.Text, "injected") && e.Kind != incident.EntryPageFailed {
					t.Errorf("an injected fault reached the timeline outside a failure entry: %+v", e)
				}
			}
			for _, l := range []string{"1", "2", "3", "4"} {
				if paged[l] != 1 {
					t.Errorf("level %s is on the timeline as paged %d times, want once", l, paged[l])
				}
			}
			for _, x := range s.Exec.Executions() {
				if x.Status == "FAILED" {
					t.Errorf("execution %s failed: %s %s", x.Name, x.Error, x.Cause)
				}
			}
		})
	}
}
