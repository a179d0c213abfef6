package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"unicode/utf8"

	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/response"
)

// requestTypes are the request bodies the API decodes, one per route that
// takes a body; the fuzzer picks one with its second argument.
var requestTypes = []func() any{
	func() any { return &response.Report{} },
	func() any { return &response.Acknowledgement{} },
	func() any { return &response.StatusUpdate{} },
	func() any { return &response.SeverityChange{} },
	func() any { return &response.Escalation{} },
	func() any { return &response.Resolution{} },
	func() any { return &response.MaintenanceRequest{} },
	func() any { return &response.ActionItemRequest{} },
	func() any { return &response.AssignmentRequest{} },
	func() any { return &noBody{} },
}

// FuzzDecodeRequestBodies feeds any bytes to the strict request decoder
// and the text check. Neither may panic; every refusal is an invalid-input
// error for the caller (never an internal one); and a body they accept
// encodes and decodes again to the same value, all of its text allowed.
func FuzzDecodeRequestBodies(f *testing.F) {
	for i, seed := range []string{
		`{"title":"Exports time out","service":"dashboarduz-api","severity":"P2","category":"performance","description":"CSV\nexports"}`,
		`{"message":"On it"}`,
		`{"status":"mitigating","message":"Rolled back","eta":"2026-03-01T04:00:00Z"}`,
		`{"severity":"P1","reason":"half of logins fail"}`,
		`{"level":"team-lead","reason":"need the database team"}`,
		`{"rootCause":"bad deploy","summary":"rolled back"}`,
		`{"service":"dashboarduz-production-db","start":"2030-01-01T02:00:00Z","end":"2030-01-01T04:00:00+02:00","reason":"upgrade"}`,
		`{"title":"Alert on pool saturation","owner":"dba@example.com","dueAt":"2030-01-10"}`,
		`{"owner":"dba@example.com","dueAt":"2030-01-10T12:00:00Z"}`,
		`{}`,
	} {
		f.Add([]byte(seed), uint8(i))
	}
	f.Add([]byte(`{"title":"dashboarduz-api\u0000"}`), uint8(0))
	f.Add([]byte(`{"reason":"\u202egnp.exe"}`), uint8(3))
	f.Add([]byte(`{"eta":"not a time"}`), uint8(2))
	f.Add([]byte(`{"title":1} {}`), uint8(0))
	f.Add([]byte(`[`), uint8(4))
	f.Fuzz(func(t *testing.T, body []byte, kind uint8) {
		newDst := requestTypes[int(kind)%len(requestTypes)]
		dst := newDst()
		err := decodeStrict(body, dst)
		if err == nil {
			err = checkText(dst)
		}
		if err != nil {
			var e *incident.Error
			if !errors.As(err, &e) || e.Code != incident.EInvalid || e.Message == "" {
				t.Fatalf("refusal %v is not an invalid-input error with a message", err)
			}
			if !utf8.ValidString(e.Message) {
				t.Fatalf("error message is not valid UTF-8: %q", e.Message)
			}
			return
		}
		again, err := json.Marshal(dst)
		if err != nil {
			t.Fatalf("an accepted body does not encode again: %v", err)
		}
		back := newDst()
		if err := decodeStrict(again, back); err != nil {
			t.Fatalf("%s, re-encoded from an accepted body, is refused: %v", again, err)
		}
		if err := checkText(back); err != nil {
			t.Fatalf("%s, re-encoded from an accepted body, fails the text check: %v", again, err)
		}
		if twice, _ := json.Marshal(back); !bytes.Equal(twice, again) {
			t.Fatalf("round trip changed the value:\n%s\n%s", again, twice)
		}
	})
}

// FuzzDecodeWebhook feeds any bytes to the PagerDuty webhook decoder,
// seeded with the real-shaped webhooks in events/pagerduty. It may not
// panic, and refuses only with an invalid-input error.
func FuzzDecodeWebhook(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "events", "pagerduty", "*.json"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"event":{"occurred_at":"yesterday"}}`))
	f.Add([]byte(`{"event":{"agent":"x","data":[]}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		e, err := decodeWebhook(body)
		if err != nil {
			if incident.ErrorCode(err) != incident.EInvalid {
				t.Fatalf("refusal %v is not an invalid-input error", err)
			}
			return
		}
		// Whatever was decoded, reading the key cannot panic either.
		incident.ParsePageDedupKey(e.Data.IncidentKey)
	})
}
