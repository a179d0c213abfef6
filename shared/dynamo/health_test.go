package dynamo_test

import (
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dashboarduz/incident-response/shared/dynamo"
	"github.com/dashboarduz/incident-response/shared/health"
	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/local/dynamotest"
)

// healthState sets every field, so a round trip that drops one fails.
func healthState(check string) health.State {
	at := time.Date(2026, 3, 1, 3, 2, 0, 123456789, time.UTC)
	sig := incident.Signal{Source: "health-check", EventID: "health-check:" + check + "/firing@2026-03-01T03:02:00.123456789Z",
		DedupKey: "health-check:" + check, Service: "dashboarduz-api", Category: incident.ServiceDown, Severity: incident.P0,
		Summary: "Health check is failing", Reason: "3 failures in a row", Details: map[string]string{"status": "503"}, Time: at, State: incident.Firing}
	return health.State{
		Check: check, Failing: true, Firing: true, ConsecutiveFailures: 3, ConsecutiveSuccesses: 0,
		Transitions: []time.Time{at.Add(-20 * time.Minute), at}, Flapping: true, FlappingSince: at,
		LastResults: []health.Result{{Check: check, At: at, OK: false, Status: 503, ResponseTimeMS: 41, Failures: []string{"[STATUS] is 503, want == 200"}},
			{Check: check, At: at.Add(time.Minute), Error: "no answer within the 5s timeout"}},
		Pending: &sig,
	}
}

func TestHealthState(t *testing.T) {
	t.Run("a check never stored is not found", func(t *testing.T) {
		s := dynamotest.New(t)
		_, err := s.HealthState(t.Context(), "dashboarduz-api-health")
		wantCode(t, err, incident.ENotFound)
	})

	t.Run("put and get round trip every field, versions count up", func(t *testing.T) {
		s := dynamotest.New(t)
		st := healthState("dashboarduz-api-health")
		saved, err := s.PutHealthState(t.Context(), st)
		if err != nil {
			t.Fatal(err)
		}
		if saved.Version != 1 {
			t.Errorf("first version %d, want 1", saved.Version)
		}
		got, err := s.HealthState(t.Context(), st.Check)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, saved) {
			t.Errorf("HealthState:\n got %+v\nwant %+v", got, saved)
		}
		got.Pending, got.Firing = nil, false
		again, err := s.PutHealthState(t.Context(), got)
		if err != nil {
			t.Fatal(err)
		}
		if again.Version != 2 {
			t.Errorf("second version %d, want 2", again.Version)
		}
		if back, _ := s.HealthState(t.Context(), st.Check); back.Pending != nil || back.Firing || back.Version != 2 {
			t.Errorf("after the second put: %+v", back)
		}
	})

	t.Run("a stale version or a second creation conflicts", func(t *testing.T) {
		s := dynamotest.New(t)
		st := healthState("q")
		if _, err := s.PutHealthState(t.Context(), st); err != nil {
			t.Fatal(err)
		}
		_, err := s.PutHealthState(t.Context(), st) // version 0 again
		wantCode(t, err, incident.EConflict)
		st.Version = 7
		_, err = s.PutHealthState(t.Context(), st)
		wantCode(t, err, incident.EConflict)
	})

	t.Run("of concurrent writers of one version exactly one wins", func(t *testing.T) {
		s := dynamotest.New(t)
		first, err := s.PutHealthState(t.Context(), healthState("c"))
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		wins, conflicts := 0, 0
		for range 10 {
			wg.Go(func() {
				_, err := s.PutHealthState(t.Context(), first)
				mu.Lock()
				defer mu.Unlock()
				switch incident.ErrorCode(err) {
				case "":
					wins++
				case incident.EConflict:
					conflicts++
				default:
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if wins != 1 || conflicts != 9 {
			t.Errorf("%d wins and %d conflicts, want 1 and 9", wins, conflicts)
		}
	})

	t.Run("the item stays out of the incident indexes", func(t *testing.T) {
		s, client, table := dynamotest.NewWithClient(t)
		if _, err := s.PutHealthState(t.Context(), healthState("dashboarduz-worker-queues")); err != nil {
			t.Fatal(err)
		}
		out, err := client.GetItem(t.Context(), &dynamodb.GetItemInput{TableName: aws.String(table), Key: map[string]types.AttributeValue{
			dynamo.AttrPK: &types.AttributeValueMemberS{Value: "HEALTH#dashboarduz-worker-queues"},
			dynamo.AttrSK: &types.AttributeValueMemberS{Value: "STATE"},
		}})
		if err != nil || out.Item == nil {
			t.Fatalf("the item is not at HEALTH#<check>/STATE: %v", err)
		}
		for _, attr := range []string{dynamo.AttrStatus, dynamo.AttrService, dynamo.AttrOpenedAt, dynamo.AttrEntity} {
			if _, ok := out.Item[attr]; ok {
				t.Errorf("the item has %s, so it would appear in an index", attr)
			}
		}
	})
}

// The store satisfies the interface the health handler needs.
var _ health.StateStore = (*dynamo.Store)(nil)
