package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/sentry"
)

// sendSentry delivers a Sentry webhook to the stack's API, signed with
// secret (unsigned when it is empty) and stamped sentAt, as Sentry sends
// it.
func sendSentry(t *testing.T, s *Stack, resource string, body []byte, secret string, sentAt time.Time) (int, map[string]any) {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/webhooks/sentry", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(sentry.HeaderResource, resource)
	req.Header.Set(sentry.HeaderTimestamp, strconv.FormatInt(sentAt.Unix(), 10))
	req.Header.Set(sentry.HeaderRequestID, "b6c9e3f0-1a2b-4c3d-8e9f-0a1b2c3d4e5f")
	if secret != "" {
		req.Header.Set(sentry.HeaderSignature, sentry.Sign(secret, body))
	}
	rec := httptest.NewRecorder()
	s.API.ServeHTTP(rec, req)
	var v map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		t.Fatalf("answer %d is not JSON: %s", rec.Code, rec.Body)
	}
	return rec.Code, v
}

// TestSentryWebhookOpensAndRecoversAnIncident runs Sentry's webhooks
// through the real API handler, ingest, the state machine and dynalite: a
// signed issue webhook opens a high-error-rate incident for the project's
// service and on-call is paged; forged, unsigned, stale, altered and
// unknown deliveries are refused and change nothing; the issue resolved
// in Sentry is noted as the recovery, and the incident stays open for a
// responder to resolve.
func TestSentryWebhookOpensAndRecoversAnIncident(t *testing.T) {
	ctx := context.Background()
	s := newStack(t)
	now := s.Clock.Now()
	created := readFixture(t, "sentry/issue-created.json")

	code, v := sendSentry(t, s, "issue", created, DefaultSentrySecret, now)
	id, _ := v["incidentId"].(string)
	if code != http.StatusOK || v["route"] != "open" || id == "" {
		t.Fatalf("issue created = %d %v, want an opened incident", code, v)
	}
	if err := s.Exec.RunReady(ctx); err != nil {
		t.Fatal(err)
	}
	inc := onlyIncident(t, s)
	if inc.ID != id || inc.Service != "dashboarduz-api" || inc.Category != incident.HighErrorRate || inc.Severity != incident.P2 || inc.Source != sentry.SignalSource {
		t.Errorf("incident = %s %s %s %s from %s", inc.ID, inc.Service, inc.Category, inc.Severity, inc.Source)
	}
	if n := s.Recorder.Triggers(); n != 1 {
		t.Fatalf("%d pages, want on-call paged once", n)
	}
	entries := func() int {
		es, err := s.Store.Timeline(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return len(es)
	}
	before := entries()

	unknown := []byte(`{"action":"deployed","data":{"deploy":{"id":"1"}},"installation":{"uuid":"x"}}`)
	for _, c := range []struct {
		name     string
		resource string
		body     []byte
		secret   string
		sentAt   time.Time
		want     int
		says     string
	}{
		{"forged", "issue", created, "a guessed secret", now, 401, "Sentry-Hook-Signature does not match"},
		{"unsigned", "issue", created, "", now, 401, "missing Sentry-Hook-Signature"},
		{"stale", "issue", created, DefaultSentrySecret, now.Add(-10 * time.Minute), 401, "too old or in the future"},
		{"body changed after signing", "issue", nil, DefaultSentrySecret, now, 401, "does not match"},
		{"unknown resource", "deploy", unknown, DefaultSentrySecret, now, 400, "is not a Sentry resource"},
	} {
		t.Run(c.name, func(t *testing.T) {
			body := c.body
			signed := body
			if body == nil {
				// Signed as created, then changed to page harder.
				signed = created
				body = bytes.Replace(created, []byte(`"level": "error"`), []byte(`"level": "fatal"`), 1)
			}
			req := httptest.NewRequest(http.MethodPost, "/webhooks/sentry", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set(sentry.HeaderResource, c.resource)
			req.Header.Set(sentry.HeaderTimestamp, strconv.FormatInt(c.sentAt.Unix(), 10))
			if c.secret != "" {
				req.Header.Set(sentry.HeaderSignature, sentry.Sign(c.secret, signed))
			}
			rec := httptest.NewRecorder()
			s.API.ServeHTTP(rec, req)
			if rec.Code != c.want || !strings.Contains(rec.Body.String(), c.says) {
				t.Errorf("%d %s, want %d saying %q", rec.Code, rec.Body, c.want, c.says)
			}
		})
	}
	if err := s.Exec.RunReady(ctx); err != nil {
		t.Fatal(err)
	}
	if incs, _ := s.Incidents(ctx); len(incs) != 1 || s.Recorder.Triggers() != 1 || entries() != before {
		t.Errorf("refused deliveries changed something: %d incidents, %d pages, %d timeline entries (was %d)", len(incs), s.Recorder.Triggers(), entries(), before)
	}

	// The issue is resolved in Sentry three minutes later.
	s.Virtual.Set(now.Add(3 * time.Minute))
	code, v = sendSentry(t, s, "issue", readFixture(t, "sentry/issue-resolved.json"), DefaultSentrySecret, s.Clock.Now())
	if code != http.StatusOK || v["route"] != "recover" || v["incidentId"] != id {
		t.Fatalf("issue resolved = %d %v, want the recovery of %s", code, v, id)
	}
	if got := kindsOf(t, s, id, incident.EntryRecovered); len(got) != 1 || got[0] != "recovered@3m0s" {
		t.Errorf("recoveries = %v, want one at 3m0s", got)
	}
	if inc := onlyIncident(t, s); inc.Status != incident.Triggered || inc.SignalState != incident.Recovered {
		t.Errorf("incident %s, signal %s; want it still triggered with its signal recovered", inc.Status, inc.SignalState)
	}

	// An assignment in Sentry is answered 200 with why it changes nothing.
	code, v = sendSentry(t, s, "issue", readFixture(t, "sentry/issue-assigned.json"), DefaultSentrySecret, s.Clock.Now())
	if code != http.StatusOK || v["route"] != "ignore" || !strings.Contains(v["ignored"].(string), "assignment") {
		t.Errorf("issue assigned = %d %v, want ignored with the reason", code, v)
	}
}
