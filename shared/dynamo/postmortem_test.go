package dynamo_test

import (
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dashboarduz/incident-response/shared/dynamo"
	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/local/dynamotest"
	"github.com/dashboarduz/incident-response/shared/postmortem"
)

func resolvedWithPostMortem(t *testing.T, s *dynamo.Store) (incident.Incident, postmortem.PostMortem) {
	t.Helper()
	inc := openIncident("inc-pm", "dashboarduz-api", incident.Resolved, t0)
	inc.ResolvedAt = t0.Add(45 * time.Minute)
	mustCreate(t, s, inc)
	pm, err := postmortem.Schedule(inc)
	if err != nil {
		t.Fatal(err)
	}
	return inc, pm
}

func TestPostMortemStorage(t *testing.T) {
	s, client, table := dynamotest.NewWithClient(t)
	ctx := t.Context()
	inc, pm := resolvedWithPostMortem(t, s)

	if _, got, err := s.IncidentAndPostMortem(ctx, inc.ID); err != nil || got != nil {
		t.Fatalf("before creation: %v, %v; want no post-mortem", got, err)
	}
	if _, err := s.PostMortem(ctx, inc.ID); incident.ErrorCode(err) != incident.ENotFound {
		t.Errorf("read before creation: %v, want not found", err)
	}
	pm.Version = 7 // ignored: a new post-mortem is version 1
	created, err := s.CreatePostMortem(ctx, pm)
	if err != nil || created.Version != 1 {
		t.Fatalf("create: %+v, %v", created, err)
	}
	if _, err := s.CreatePostMortem(ctx, pm); incident.ErrorCode(err) != incident.EConflict {
		t.Errorf("second create: %v, want a conflict", err)
	}

	next, _, err := postmortem.AddActionItem(created, postmortem.NewActionItem{Title: "Alert on pool saturation", Owner: "dba"}, "oncall", incident.ClockFunc(func() time.Time { return pm.ResolvedAt.Add(time.Hour) }))
	if err != nil {
		t.Fatal(err)
	}
	updated, err := s.UpdatePostMortem(ctx, next)
	if err != nil || updated.Version != 2 {
		t.Fatalf("update: %+v, %v", updated, err)
	}
	if _, err := s.UpdatePostMortem(ctx, next); incident.ErrorCode(err) != incident.EConflict {
		t.Errorf("update with the stale version 1: %v, want a conflict", err)
	}
	missing := next
	missing.IncidentID = "inc-without"
	if _, err := s.UpdatePostMortem(ctx, missing); incident.ErrorCode(err) != incident.ENotFound {
		t.Errorf("update of one never created: %v, want not found", err)
	}

	read, err := s.PostMortem(ctx, inc.ID)
	if err != nil || !reflect.DeepEqual(read, updated) {
		t.Errorf("read back\n got %+v, %v\nwant %+v", read, err, updated)
	}
	gotInc, gotPM, err := s.IncidentAndPostMortem(ctx, inc.ID)
	if err != nil || gotPM == nil || !reflect.DeepEqual(*gotPM, updated) || gotInc.ID != inc.ID {
		t.Errorf("incident and post-mortem: %+v, %+v, %v", gotInc, gotPM, err)
	}
	if _, _, err := s.IncidentAndPostMortem(ctx, "inc-none"); incident.ErrorCode(err) != incident.ENotFound {
		t.Errorf("missing incident: %v, want not found", err)
	}

	// The review reads the partition: the incident, its timeline, and the
	// post-mortem, which the timeline never shows.
	e := incident.Entry{ID: incident.EntryID(t0.Add(time.Minute), "api/ack"), At: t0.Add(time.Minute), Kind: incident.EntryAcknowledged, Actor: "oncall", Text: "ack"}
	if _, err := s.AppendTimeline(ctx, inc.ID, e); err != nil {
		t.Fatal(err)
	}
	rInc, timeline, rPM, err := s.IncidentReview(ctx, inc.ID)
	if err != nil || rPM == nil || !reflect.DeepEqual(*rPM, updated) || rInc.ID != inc.ID || len(timeline) != 2 {
		t.Errorf("review: %+v, %d entries, %+v, %v", rInc.ID, len(timeline), rPM, err)
	}
	if _, tl, _, err := s.TimelinePage(ctx, inc.ID, "", 100); err != nil || len(tl) != 2 {
		t.Errorf("the timeline with a post-mortem beside it: %d entries, %v", len(tl), err)
	}
	if _, _, _, err := s.IncidentReview(ctx, "inc-none"); incident.ErrorCode(err) != incident.ENotFound {
		t.Errorf("review of a missing incident: %v, want not found", err)
	}

	// The item is the incident's, and in no index.
	out, err := client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), Key: map[string]types.AttributeValue{
		dynamo.AttrPK: &types.AttributeValueMemberS{Value: "INC#" + inc.ID},
		dynamo.AttrSK: &types.AttributeValueMemberS{Value: "POSTMORTEM"},
	}})
	if err != nil || out.Item == nil {
		t.Fatalf("the item at INC#%s/POSTMORTEM: %v", inc.ID, err)
	}
	for _, a := range []string{dynamo.AttrStatus, dynamo.AttrService, dynamo.AttrEntity, dynamo.AttrOpenedAt} {
		if _, ok := out.Item[a]; ok {
			t.Errorf("the post-mortem item has the index attribute %s", a)
		}
	}
	list, _, err := s.ListIncidents(ctx, incident.ListFilter{})
	if err != nil || len(list) != 1 {
		t.Errorf("listing with a post-mortem stored: %v, %v", ids(list), err)
	}
}

// TestPostMortemConcurrentUpdates: of writers racing on one version,
// exactly one wins.
func TestPostMortemConcurrentUpdates(t *testing.T) {
	s := dynamotest.New(t)
	_, pm := resolvedWithPostMortem(t, s)
	created, err := s.CreatePostMortem(t.Context(), pm)
	if err != nil {
		t.Fatal(err)
	}
	const writers = 8
	var wg sync.WaitGroup
	codes := make([]string, writers)
	for i := range writers {
		wg.Go(func() {
			next, _, err := postmortem.AddActionItem(created, postmortem.NewActionItem{Title: "item"}, "w", incident.ClockFunc(func() time.Time { return pm.ResolvedAt }))
			if err != nil {
				codes[i] = err.Error()
				return
			}
			_, err = s.UpdatePostMortem(t.Context(), next)
			codes[i] = incident.ErrorCode(err)
		})
	}
	wg.Wait()
	wins := slices.IndexFunc(codes, func(c string) bool { return c == "" })
	conflicts := 0
	for _, c := range codes {
		if c == incident.EConflict {
			conflicts++
		}
	}
	if wins < 0 || conflicts != writers-1 {
		t.Errorf("outcomes %q, want one success and %d conflicts", codes, writers-1)
	}
	got, err := s.PostMortem(t.Context(), pm.IncidentID)
	if err != nil || got.Version != 2 || len(got.ActionItems) != 1 {
		t.Errorf("stored %+v, %v: want version 2 with one item", got, err)
	}
}
