package eventbridge

import (
	"encoding/json"
	"testing"

	"github.com/dashboarduz/incident-response/shared/eventbridge/eventstest"
)

// detailFor returns a new value of the detail type of a detail-type.
func detailFor(tb testing.TB, detailType string) any {
	switch detailType {
	case DetailTypeECSDeployment:
		return new(ECSDeploymentStateChange)
	case DetailTypeECSTask:
		return new(ECSTaskStateChange)
	case DetailTypeECSService:
		return new(ECSServiceAction)
	case DetailTypeRDSInstance:
		return new(RDSDBInstanceEvent)
	}
	tb.Fatalf("no detail type for %q", detailType)
	return nil
}

// TestRoundTrip decodes every ECS and RDS fixture into its types, encodes
// it again and compares the two as JSON: a field the types drop or rename
// fails here.
func TestRoundTrip(t *testing.T) {
	for _, dir := range []string{"ecs", "rds"} {
		for _, name := range eventstest.Files(t, dir) {
			t.Run(dir+"/"+name, func(t *testing.T) {
				raw := eventstest.Read(t, dir, name)
				var e Event
				if err := json.Unmarshal(raw, &e); err != nil {
					t.Fatalf("decode envelope: %v", err)
				}
				detail := detailFor(t, e.DetailType)
				if err := json.Unmarshal(e.Detail, detail); err != nil {
					t.Fatalf("decode detail: %v", err)
				}
				d, err := json.Marshal(detail)
				if err != nil {
					t.Fatal(err)
				}
				e.Detail = d
				encoded, err := json.Marshal(e)
				if err != nil {
					t.Fatal(err)
				}
				if !eventstest.SameJSON(t, encoded, raw) {
					t.Errorf("round trip changed the event\n got %s\nwant %s", encoded, raw)
				}
			})
		}
	}
}

// TestFixtureIDsUnique checks that no two fixtures share an EventBridge id,
// so a replay of them all never dedups one against another by mistake.
func TestFixtureIDsUnique(t *testing.T) {
	seen := map[string]string{}
	for _, dir := range []string{"ecs", "rds", "cloudwatch"} {
		for _, name := range eventstest.Files(t, dir) {
			var e struct {
				ID string `json:"id"`
			}
			if json.Unmarshal(eventstest.Read(t, dir, name), &e) != nil || e.ID == "" {
				continue
			}
			if other, ok := seen[e.ID]; ok {
				t.Errorf("%s/%s and %s share id %s", dir, name, other, e.ID)
			}
			seen[e.ID] = dir + "/" + name
		}
	}
}
