package cloudwatch

import (
	"encoding/json"
	"testing"

	"github.com/dashboarduz/incident-response/shared/eventbridge/eventstest"
)

// TestRoundTrip decodes every CloudWatch fixture into its type, encodes it
// again and compares the two as JSON: a field the types drop or rename
// fails here.
func TestRoundTrip(t *testing.T) {
	for _, name := range eventstest.Files(t, "cloudwatch") {
		t.Run(name, func(t *testing.T) {
			raw := eventstest.Read(t, "cloudwatch", name)
			var shape map[string]json.RawMessage
			if err := json.Unmarshal(raw, &shape); err != nil {
				t.Fatal(err)
			}
			var v any = new(AlarmStateChange)
			if _, ok := shape["detail-type"]; !ok {
				v = new(AlarmActionPayload)
			}
			if err := json.Unmarshal(raw, v); err != nil {
				t.Fatalf("decode: %v", err)
			}
			encoded, err := json.Marshal(v)
			if err != nil {
				t.Fatalf("encode: %v", err)
			}
			if !eventstest.SameJSON(t, encoded, raw) {
				t.Errorf("round trip changed the event\n got %s\nwant %s", encoded, raw)
			}
		})
	}
}

// TestFixtureIDsUnique checks that no two fixtures share an event ID, so a
// demo that replays them all never dedups one against another by mistake.
func TestFixtureIDsUnique(t *testing.T) {
	seen := map[string]string{}
	for _, dir := range []string{"cloudwatch", "malformed"} {
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
