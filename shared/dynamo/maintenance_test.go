package dynamo_test

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dashboarduz/incident-response/shared/dynamo"
	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/local/dynamotest"
)

// window is a valid maintenance window with every field set.
func window(id, service string, start, end time.Time) incident.MaintenanceWindow {
	return incident.MaintenanceWindow{
		ID: id, Service: service, Start: start, End: end,
		Reason: "database upgrade", CreatedBy: "oncall@dashboarduz.com", CreatedAt: start.Add(-time.Hour),
	}
}

func mustCreateWindow(t *testing.T, s *dynamo.Store, ws ...incident.MaintenanceWindow) {
	t.Helper()
	for _, w := range ws {
		if err := s.CreateMaintenanceWindow(t.Context(), w, w.Start.Add(-time.Hour), nil); err != nil {
			t.Fatalf("CreateMaintenanceWindow(%s): %v", w.ID, err)
		}
	}
}

func windowIDs(ws []incident.MaintenanceWindow) []string {
	out := []string{}
	for _, w := range ws {
		out = append(out, w.ID)
	}
	return out
}

func TestMaintenanceWindows(t *testing.T) {
	t.Run("create and get round trip every field in UTC", func(t *testing.T) {
		s := dynamotest.New(t)
		cet := time.FixedZone("CET", 3600)
		w := window("mw-1", "api", time.Date(2025, 3, 14, 10, 0, 0, 123456789, cet), time.Date(2025, 3, 14, 12, 0, 0, 0, cet))
		mustCreateWindow(t, s, w)
		got, err := s.MaintenanceWindow(t.Context(), "mw-1")
		if err != nil {
			t.Fatal(err)
		}
		want := w
		want.Start, want.End, want.CreatedAt = w.Start.UTC(), w.End.UTC(), w.CreatedAt.UTC()
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("MaintenanceWindow:\n got %+v\nwant %+v", got, want)
		}
	})

	t.Run("optional fields stay empty", func(t *testing.T) {
		s := dynamotest.New(t)
		w := incident.MaintenanceWindow{ID: "mw-bare", Service: "api", Start: t0, End: t0.Add(time.Hour)}
		mustCreateWindow(t, s, w)
		got, err := s.MaintenanceWindow(t.Context(), "mw-bare")
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, w) {
			t.Fatalf("MaintenanceWindow:\n got %+v\nwant %+v", got, w)
		}
	})

	t.Run("an existing ID is a conflict", func(t *testing.T) {
		s := dynamotest.New(t)
		w := window("mw-1", "api", t0, t0.Add(time.Hour))
		mustCreateWindow(t, s, w)
		wantCode(t, s.CreateMaintenanceWindow(t.Context(), w, t0, nil), incident.EConflict)
		// The same ID for another service and start is the same conflict,
		// though its key would differ.
		other := window("mw-1", "worker", t0.Add(24*time.Hour), t0.Add(25*time.Hour))
		err := s.CreateMaintenanceWindow(t.Context(), other, t0, nil)
		wantCode(t, err, incident.EConflict)
		if msg := incident.ErrorMessage(err); !strings.Contains(msg, "mw-1 already exists") {
			t.Errorf("message = %q, want it to say mw-1 already exists", msg)
		}
		all, err := s.MaintenanceWindows(t.Context(), "")
		if err != nil {
			t.Fatal(err)
		}
		if want := []incident.MaintenanceWindow{w}; !reflect.DeepEqual(all, want) {
			t.Errorf("after the conflicts: %+v, want only %+v", all, want)
		}
	})

	t.Run("invalid windows name the field at fault", func(t *testing.T) {
		s := dynamotest.New(t)
		tests := []struct {
			name   string
			mutate func(*incident.MaintenanceWindow)
			field  string
		}{
			{"no service", func(w *incident.MaintenanceWindow) { w.Service = "" }, "service"},
			{"no start", func(w *incident.MaintenanceWindow) { w.Start = time.Time{} }, "start"},
			{"no end", func(w *incident.MaintenanceWindow) { w.End = time.Time{} }, "end"},
			{"end before start", func(w *incident.MaintenanceWindow) { w.End = w.Start.Add(-time.Minute) }, "end"},
			{"end at start", func(w *incident.MaintenanceWindow) { w.End = w.Start }, "end"},
			{"too long", func(w *incident.MaintenanceWindow) { w.End = w.Start.Add(incident.MaxMaintenanceWindow + time.Second) }, "end"},
			{"no ID", func(w *incident.MaintenanceWindow) { w.ID = "" }, "id"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				w := window("mw-1", "api", t0, t0.Add(time.Hour))
				tt.mutate(&w)
				wantField(t, s.CreateMaintenanceWindow(t.Context(), w, t0, nil), tt.field)
			})
		}
		all, err := s.MaintenanceWindows(t.Context(), "")
		if err != nil || len(all) != 0 {
			t.Errorf("after invalid creates: %v, %v; want no windows", all, err)
		}
	})

	t.Run("a missing window is not found", func(t *testing.T) {
		s := dynamotest.New(t)
		mustCreateWindow(t, s, window("mw-1", "api", t0, t0.Add(time.Hour)))
		_, err := s.MaintenanceWindow(t.Context(), "mw-2")
		wantCode(t, err, incident.ENotFound)
		if got, want := incident.ErrorMessage(err), "maintenance window mw-2 not found"; got != want {
			t.Errorf("message = %q, want %q", got, want)
		}
		_, err = s.MaintenanceWindow(t.Context(), "")
		wantField(t, err, "id")
	})

	t.Run("windows stay out of the incident listings", func(t *testing.T) {
		s := dynamotest.New(t)
		mustCreateWindow(t, s, window("mw-1", "api", t0, t0.Add(time.Hour)))
		for _, f := range []incident.ListFilter{{}, {Service: "api"}, {Status: incident.Triggered}} {
			got, _, err := s.ListIncidents(t.Context(), f)
			if err != nil || len(got) != 0 {
				t.Errorf("ListIncidents(%+v) = %v, %v; want nothing", f, ids(got), err)
			}
		}
		open, err := s.ListOpen(t.Context(), "api")
		if err != nil || len(open) != 0 {
			t.Errorf("ListOpen = %v, %v; want nothing", ids(open), err)
		}
	})
}

func TestMaintenanceWindowListing(t *testing.T) {
	_, client, table := dynamotest.NewWithClient(t)
	seed := dynamo.New(client, table)
	h := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Hour) }
	// Created out of order; "api-2" and "api#beta" share a prefix with
	// "api" but are other services.
	mustCreateWindow(t, seed,
		window("w-api-late", "api", h(5), h(6)),
		window("w-worker-early", "worker", h(1), h(2)),
		window("w-api-early", "api", h(2), h(3)),
		window("w-api2", "api-2", h(3), h(4)),
		window("w-api-beta", "api#beta", h(4), h(5)),
		window("w-worker-b", "worker", h(5), h(7)),
		window("w-api-same-b", "api", h(3), h(4)),
		window("w-api-same-a", "api", h(3), h(5)),
	)
	tests := []struct {
		service string
		want    []string
	}{
		{"", []string{"w-worker-early", "w-api-early", "w-api-same-a", "w-api-same-b", "w-api2", "w-api-beta", "w-api-late", "w-worker-b"}},
		{"api", []string{"w-api-early", "w-api-same-a", "w-api-same-b", "w-api-late"}},
		{"api-2", []string{"w-api2"}},
		{"api#beta", []string{"w-api-beta"}},
		{"worker", []string{"w-worker-early", "w-worker-b"}},
		{"nope", []string{}},
	}
	// Query pages of one item prove every page is read.
	for _, queryLimit := range []int32{0, 1} {
		s := dynamo.New(client, table)
		dynamo.SetQueryLimit(s, queryLimit)
		for _, tt := range tests {
			t.Run(fmt.Sprintf("service %q/query limit %d", tt.service, queryLimit), func(t *testing.T) {
				got, err := s.MaintenanceWindows(t.Context(), tt.service)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(windowIDs(got), tt.want) {
					t.Errorf("MaintenanceWindows(%q) = %v, want %v", tt.service, windowIDs(got), tt.want)
				}
			})
		}
		t.Run(fmt.Sprintf("get the last window/query limit %d", queryLimit), func(t *testing.T) {
			// Sorted last in the partition: every page is read to find it.
			got, err := s.MaintenanceWindow(t.Context(), "w-worker-b")
			if err != nil {
				t.Fatal(err)
			}
			if want := window("w-worker-b", "worker", h(5), h(7)); !reflect.DeepEqual(got, want) {
				t.Errorf("MaintenanceWindow:\n got %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestEndMaintenanceWindow(t *testing.T) {
	start, end := t0, t0.Add(2*time.Hour)

	t.Run("a running window ends at the given time", func(t *testing.T) {
		s := dynamotest.New(t)
		w := window("mw-1", "api", start, end)
		mustCreateWindow(t, s, w)
		at := start.Add(30 * time.Minute)
		got, err := s.EndMaintenanceWindow(t.Context(), "mw-1", "oncall@dashboarduz.example", at.In(time.FixedZone("CET", 3600)))
		if err != nil {
			t.Fatal(err)
		}
		want := w
		want.End, want.EndedBy = at, "oncall@dashboarduz.example"
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("EndMaintenanceWindow:\n got %+v\nwant %+v", got, want)
		}
		reread, err := s.MaintenanceWindow(t.Context(), "mw-1")
		if err != nil || !reflect.DeepEqual(reread, want) {
			t.Fatalf("MaintenanceWindow after end = %+v, %v; want %+v", reread, err, want)
		}
		if reread.Covers("api", at) || !reread.Covers("api", at.Add(-time.Nanosecond)) {
			t.Errorf("the ended window should cover up to %v and not from it", at)
		}

		// Ending it again, later or at the same moment, is a conflict that
		// says when it ended, and changes nothing.
		for _, again := range []time.Time{at, at.Add(time.Minute)} {
			_, err = s.EndMaintenanceWindow(t.Context(), "mw-1", "oncall@dashboarduz.example", again)
			wantCode(t, err, incident.EConflict)
			if got, want := incident.ErrorMessage(err), "maintenance window mw-1 already ended at 2025-03-14T09:56:53Z"; got != want {
				t.Errorf("message = %q, want %q", got, want)
			}
		}
		// An earlier time would not extend it either way, but the window
		// was still running then: it ends earlier.
		earlier := start.Add(10 * time.Minute)
		got, err = s.EndMaintenanceWindow(t.Context(), "mw-1", "oncall@dashboarduz.example", earlier)
		if err != nil || got.End != earlier {
			t.Fatalf("end at an earlier time = %+v, %v; want end %v", got, err, earlier)
		}
	})

	t.Run("a window past its end is a conflict", func(t *testing.T) {
		s := dynamotest.New(t)
		mustCreateWindow(t, s, window("mw-1", "api", start, end))
		for _, at := range []time.Time{end, end.Add(time.Hour)} {
			_, err := s.EndMaintenanceWindow(t.Context(), "mw-1", "oncall@dashboarduz.example", at)
			wantCode(t, err, incident.EConflict)
			if got, want := incident.ErrorMessage(err), "maintenance window mw-1 already ended at 2025-03-14T11:26:53Z"; got != want {
				t.Errorf("message = %q, want %q", got, want)
			}
		}
		got, err := s.MaintenanceWindow(t.Context(), "mw-1")
		if err != nil || got.End != end {
			t.Errorf("window after the conflicts = %+v, %v; want end %v unchanged", got, err, end)
		}
	})

	t.Run("a window not started yet ends at its start", func(t *testing.T) {
		s := dynamotest.New(t)
		mustCreateWindow(t, s, window("mw-1", "api", start, end))
		got, err := s.EndMaintenanceWindow(t.Context(), "mw-1", "oncall@dashboarduz.example", start.Add(-time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if got.End != start || got.Start != start {
			t.Fatalf("window = %v to %v, want both at its start %v", got.Start, got.End, start)
		}
		for _, at := range []time.Time{start.Add(-time.Nanosecond), start, start.Add(time.Minute)} {
			if got.Covers("api", at) {
				t.Errorf("a window ended before its start covers %v", at)
			}
		}
		// Ending it again, before or after its start, is a conflict.
		for _, at := range []time.Time{start.Add(-time.Minute), start.Add(time.Minute)} {
			_, err = s.EndMaintenanceWindow(t.Context(), "mw-1", "oncall@dashboarduz.example", at)
			wantCode(t, err, incident.EConflict)
			if got, want := incident.ErrorMessage(err), "maintenance window mw-1 was already ended before its start, 2025-03-14T09:26:53Z"; got != want {
				t.Errorf("message = %q, want %q", got, want)
			}
		}
	})

	t.Run("a window ended at its start", func(t *testing.T) {
		s := dynamotest.New(t)
		mustCreateWindow(t, s, window("mw-1", "api", start, end))
		got, err := s.EndMaintenanceWindow(t.Context(), "mw-1", "oncall@dashboarduz.example", start)
		if err != nil || got.End != start {
			t.Fatalf("EndMaintenanceWindow at the start = %+v, %v; want end %v", got, err, start)
		}
	})

	t.Run("bad arguments", func(t *testing.T) {
		s := dynamotest.New(t)
		mustCreateWindow(t, s, window("mw-1", "api", start, end))
		_, err := s.EndMaintenanceWindow(t.Context(), "mw-2", "oncall@dashboarduz.example", start)
		wantCode(t, err, incident.ENotFound)
		_, err = s.EndMaintenanceWindow(t.Context(), "", "oncall@dashboarduz.example", start)
		wantField(t, err, "id")
		_, err = s.EndMaintenanceWindow(t.Context(), "mw-1", "oncall@dashboarduz.example", time.Time{})
		wantCode(t, err, incident.EInvalid)
	})

	t.Run("one of many concurrent ends wins", func(t *testing.T) {
		s := dynamotest.New(t)
		mustCreateWindow(t, s, window("mw-1", "api", start, end))
		at := start.Add(time.Minute)
		got := race(t, 20, func(int) error {
			_, err := s.EndMaintenanceWindow(t.Context(), "mw-1", "oncall@dashboarduz.example", at)
			return err
		})
		if want := map[string]int{"": 1, incident.EConflict: 19}; !reflect.DeepEqual(got, want) {
			t.Errorf("outcomes = %v, want %v", got, want)
		}
	})

	t.Run("changes between the read and the write", func(t *testing.T) {
		_, client, table := dynamotest.NewWithClient(t)
		hook := &beforeUpdateAPI{API: client}
		s := dynamo.New(hook, table)
		mustCreateWindow(t, s, window("mw-gone", "api", start, end), window("mw-ended", "api", start, end))
		at := start.Add(time.Hour)

		// Deleted after it was found: not found.
		hook.before = func(ctx context.Context, in *dynamodb.UpdateItemInput) {
			if _, err := client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(table), Key: in.Key}); err != nil {
				t.Fatal(err)
			}
		}
		_, err := s.EndMaintenanceWindow(t.Context(), "mw-gone", "oncall@dashboarduz.example", at)
		wantCode(t, err, incident.ENotFound)

		// Ended earlier by somebody else after it was read: a conflict
		// saying when, and the earlier end stays.
		earlier := start.Add(time.Minute)
		hook.before = func(ctx context.Context, in *dynamodb.UpdateItemInput) {
			hook.before = nil
			if _, err := s.EndMaintenanceWindow(ctx, "mw-ended", "oncall@dashboarduz.example", earlier); err != nil {
				t.Fatal(err)
			}
		}
		_, err = s.EndMaintenanceWindow(t.Context(), "mw-ended", "oncall@dashboarduz.example", at)
		wantCode(t, err, incident.EConflict)
		if got, want := incident.ErrorMessage(err), "maintenance window mw-ended already ended at 2025-03-14T09:27:53Z"; got != want {
			t.Errorf("message = %q, want %q", got, want)
		}
		got, err := s.MaintenanceWindow(t.Context(), "mw-ended")
		if err != nil || got.End != earlier {
			t.Errorf("window = %+v, %v; want end %v", got, err, earlier)
		}
	})
}

// beforeUpdateAPI runs before, when set, ahead of every UpdateItem, so a
// test can change the table between a read and a conditional write.
type beforeUpdateAPI struct {
	dynamo.API
	before func(context.Context, *dynamodb.UpdateItemInput)
}

func (b *beforeUpdateAPI) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	if b.before != nil {
		b.before(ctx, in)
	}
	return b.API.UpdateItem(ctx, in, optFns...)
}

func TestMaintenanceWindowLimits(t *testing.T) {
	t.Run("the domain's limits are asked with the live windows", func(t *testing.T) {
		s := dynamotest.New(t)
		mustCreateWindow(t, s, window("mw-old", "api", t0, t0.Add(time.Hour)), window("mw-live", "api", t0.Add(2*time.Hour), t0.Add(3*time.Hour)))
		now := t0.Add(90 * time.Minute)
		var seen []string
		refuse := incident.FieldErrorf("end", "too much")
		err := s.CreateMaintenanceWindow(t.Context(), window("mw-new", "api", t0.Add(4*time.Hour), t0.Add(5*time.Hour)), now, func(active []incident.MaintenanceWindow) error {
			seen = windowIDs(active)
			return refuse
		})
		if err != refuse {
			t.Fatalf("CreateMaintenanceWindow = %v, want the refusal as it is", err)
		}
		if want := []string{"mw-live"}; !reflect.DeepEqual(seen, want) {
			t.Errorf("allow saw %v, want %v", seen, want)
		}
		all, _ := s.MaintenanceWindows(t.Context(), "api")
		if got := windowIDs(all); !reflect.DeepEqual(got, []string{"mw-old", "mw-live"}) {
			t.Errorf("windows after the refusal = %v", got)
		}
	})

	t.Run("a service has at most MaxActiveWindows live windows", func(t *testing.T) {
		s := dynamotest.New(t)
		for i := range dynamo.MaxActiveWindows {
			mustCreateWindow(t, s, window(fmt.Sprintf("mw-%02d", i), "api", t0.Add(time.Duration(i)*time.Hour), t0.Add(time.Duration(i)*time.Hour+time.Minute)))
		}
		err := s.CreateMaintenanceWindow(t.Context(), window("mw-more", "api", t0.Add(48*time.Hour), t0.Add(49*time.Hour)), t0.Add(-time.Hour), nil)
		wantCode(t, err, incident.EConflict)
		// Windows that ended a day ago no longer count, and are dropped.
		later := t0.Add(72 * time.Hour)
		if err := s.CreateMaintenanceWindow(t.Context(), window("mw-later", "api", later, later.Add(time.Hour)), later, nil); err != nil {
			t.Fatal(err)
		}
		all, _ := s.MaintenanceWindows(t.Context(), "api")
		if got := windowIDs(all); !reflect.DeepEqual(got, []string{"mw-later"}) {
			t.Errorf("windows = %v, want only the new one", got)
		}
		// Every window can still be read by ID.
		if _, err := s.MaintenanceWindow(t.Context(), "mw-00"); err != nil {
			t.Errorf("an ended window by ID: %v", err)
		}
	})

	t.Run("reading a signal's context and an incident's windows", func(t *testing.T) {
		s := dynamotest.New(t)
		ctx := t.Context()
		w := window("mw-1", "api", t0, t0.Add(time.Hour))
		mustCreateWindow(t, s, w)
		mustCreate(t, s, openIncident("inc-1", "api", incident.Triggered, t0))
		if err := s.ClaimDedupKey(ctx, "alarm", "inc-1", ""); err != nil {
			t.Fatal(err)
		}
		id, found, ws, err := s.ReadSignalContext(ctx, "alarm", "api")
		if err != nil || id != "inc-1" || !found || !reflect.DeepEqual(ws, []incident.MaintenanceWindow{w}) {
			t.Fatalf("ReadSignalContext = %q, %v, %v, %v", id, found, windowIDs(ws), err)
		}
		id, found, ws, err = s.ReadSignalContext(ctx, "other", "worker")
		if err != nil || id != "" || found || len(ws) != 0 {
			t.Fatalf("ReadSignalContext of nothing = %q, %v, %v, %v", id, found, windowIDs(ws), err)
		}
		inc, ws, err := s.IncidentAndWindows(ctx, "inc-1", "api")
		if err != nil || inc.ID != "inc-1" || !reflect.DeepEqual(windowIDs(ws), []string{"mw-1"}) {
			t.Fatalf("IncidentAndWindows = %s, %v, %v", inc.ID, windowIDs(ws), err)
		}
		// A wrong or missing service still finds the incident's own.
		for _, service := range []string{"worker", ""} {
			inc, ws, err = s.IncidentAndWindows(ctx, "inc-1", service)
			if err != nil || inc.ID != "inc-1" || !reflect.DeepEqual(windowIDs(ws), []string{"mw-1"}) {
				t.Fatalf("IncidentAndWindows(service %q) = %s, %v, %v", service, inc.ID, windowIDs(ws), err)
			}
		}
		_, _, err = s.IncidentAndWindows(ctx, "missing", "api")
		wantCode(t, err, incident.ENotFound)
	})
}

// The key layout is part of the contract: CDK, operators reading the table
// and the doc comment rely on it.
func TestMaintenanceWindowItemLayout(t *testing.T) {
	_, client, table := dynamotest.NewWithClient(t)
	s := dynamo.New(client, table)
	w := window("mw-1", "api", t0, t0.Add(time.Hour))
	mustCreateWindow(t, s, w)
	get := func(pk, sk string) map[string]types.AttributeValue {
		t.Helper()
		out, err := client.GetItem(t.Context(), &dynamodb.GetItemInput{
			TableName: aws.String(table),
			Key: map[string]types.AttributeValue{
				dynamo.AttrPK: &types.AttributeValueMemberS{Value: pk},
				dynamo.AttrSK: &types.AttributeValueMemberS{Value: sk},
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		if out.Item == nil {
			t.Fatalf("no item at pk=%s sk=%s", pk, sk)
		}
		for _, attr := range []string{dynamo.AttrStatus, dynamo.AttrService, dynamo.AttrOpenedAt, dynamo.AttrEntity} {
			if _, ok := out.Item[attr]; ok {
				t.Errorf("item %s/%s carries index attribute %s", pk, sk, attr)
			}
		}
		return out.Item
	}
	item := get("MWIN#mw-1", "WINDOW")
	want := fmt.Sprint(w.End.Add(90 * 24 * time.Hour).Unix())
	if got, ok := item[dynamo.AttrTTL].(*types.AttributeValueMemberN); !ok || got.Value != want {
		t.Errorf("window item expires at %v, want %s (90 days after its end)", item[dynamo.AttrTTL], want)
	}
	get("MAINT#api", "ACTIVE")
	get("MAINT", "api")
}
