package cloudwatch

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// eventsDir is the repository's events folder: the fixtures the tests, the
// local stack and the demo share.
const eventsDir = "../../events"

// fixtureFiles lists the files of one folder under events/.
func fixtureFiles(tb testing.TB, dir string) []string {
	tb.Helper()
	entries, err := os.ReadDir(filepath.Join(eventsDir, dir))
	if err != nil {
		tb.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() {
			names = append(names, e.Name())
		}
	}
	if len(names) == 0 {
		tb.Fatalf("no fixtures in %s", dir)
	}
	return names
}

func readFixture(tb testing.TB, dir, name string) []byte {
	tb.Helper()
	data, err := os.ReadFile(filepath.Join(eventsDir, dir, name))
	if err != nil {
		tb.Fatal(err)
	}
	return data
}

// TestRoundTrip decodes every CloudWatch fixture into its type, encodes it
// again and compares the two as JSON: a field the types drop or rename
// fails here.
func TestRoundTrip(t *testing.T) {
	for _, name := range fixtureFiles(t, "cloudwatch") {
		t.Run(name, func(t *testing.T) {
			raw := readFixture(t, "cloudwatch", name)
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
			var want, got any
			if err := json.Unmarshal(raw, &want); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(encoded, &got); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
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
		for _, name := range fixtureFiles(t, dir) {
			var e struct {
				ID string `json:"id"`
			}
			if json.Unmarshal(readFixture(t, dir, name), &e) != nil || e.ID == "" {
				continue
			}
			if other, ok := seen[e.ID]; ok {
				t.Errorf("%s/%s and %s share id %s", dir, name, other, e.ID)
			}
			seen[e.ID] = dir + "/" + name
		}
	}
}
