// Package eventstest gives the decoders' tests (shared/cloudwatch,
// shared/eventbridge, shared/sentry) the real-shaped payloads under the
// repository's events/ folder, and the checks they share on what they
// decode. Only tests import it.
package eventstest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/dashboarduz/incident-response/shared/incident"
)

// Dir is the repository's events folder, found from the working
// directory (a package's folder under go test) by going up to go.mod, so
// a test reads it from any depth.
func Dir(tb testing.TB) string {
	tb.Helper()
	wd, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "events")
		}
		if filepath.Dir(dir) == dir {
			tb.Fatalf("no go.mod above %s", wd)
		}
	}
}

// Files lists the files of one folder under events/; a folder without any
// fails the test.
func Files(tb testing.TB, dir string) []string {
	tb.Helper()
	entries, err := os.ReadDir(filepath.Join(Dir(tb), dir))
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

// Read returns the fixture name of one folder under events/.
func Read(tb testing.TB, dir, name string) []byte {
	tb.Helper()
	data, err := os.ReadFile(filepath.Join(Dir(tb), dir, name))
	if err != nil {
		tb.Fatal(err)
	}
	return data
}

// SameJSON reports whether a and b hold the same JSON value, whatever
// their key order and spacing: how a round trip through the event types
// is judged. Either not being JSON fails the test.
func SameJSON(tb testing.TB, a, b []byte) bool {
	tb.Helper()
	var va, vb any
	if err := json.Unmarshal(a, &va); err != nil {
		tb.Fatal(err)
	}
	if err := json.Unmarshal(b, &vb); err != nil {
		tb.Fatal(err)
	}
	return reflect.DeepEqual(va, vb)
}

// CheckSignal fails the test unless s is a Signal ingest can store and
// route: every identity field and the summary set, a known severity,
// category and signal state, a time in UTC, and an encoding.
func CheckSignal(tb testing.TB, s incident.Signal) {
	tb.Helper()
	if s.Source == "" || s.EventID == "" || s.DedupKey == "" || s.Service == "" || s.Summary == "" {
		tb.Fatalf("Signal has an empty identity field: %+v", s)
	}
	if _, err := incident.ParseSeverity(string(s.Severity)); err != nil {
		tb.Fatalf("Signal severity: %v", err)
	}
	if _, err := incident.ParseCategory(string(s.Category)); err != nil {
		tb.Fatalf("Signal category: %v", err)
	}
	switch s.State {
	case incident.Firing, incident.Recovered, incident.Inconclusive:
	default:
		tb.Fatalf("Signal state %q is not a signal state", s.State)
	}
	if s.Time.IsZero() || s.Time.Location() != time.UTC {
		tb.Fatalf("Signal time %v is zero or not UTC", s.Time)
	}
	if _, err := json.Marshal(s); err != nil {
		tb.Fatalf("Signal does not encode: %v", err)
	}
}
