package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/local/pagerdutylocal"
	"github.com/dashboarduz/incident-response/shared/local/sfnlocal"
	"github.com/dashboarduz/incident-response/shared/statemachine"
)

// callAPI makes a scenario call at the stack's current time and runs what
// it started.
func callAPI(t *testing.T, s *Stack, line, body string) {
	t.Helper()
	st := Step{Call: line}
	if body != "" {
		st.Body = json.RawMessage(body)
	}
	if err := s.call(context.Background(), st); err != nil {
		t.Fatalf("%s: %v", line, err)
	}
	if err := s.Exec.RunReady(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func onlyIncident(t *testing.T, s *Stack) incident.Incident {
	t.Helper()
	incs, err := s.Incidents(context.Background())
	if err != nil || len(incs) != 1 {
		t.Fatalf("incidents = %v, %v; want one", incs, err)
	}
	return incs[0]
}

func kindsOf(t *testing.T, s *Stack, id string, kinds ...incident.EntryKind) []string {
	t.Helper()
	es, err := s.Store.Timeline(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		for _, k := range kinds {
			if e.Kind == k {
				out = append(out, string(e.Kind)+"@"+e.At.Sub(time.Date(2026, 3, 1, 3, 0, 0, 0, time.UTC)).String())
			}
		}
	}
	return out
}

// TestAcknowledgeAndResolveReachPagerDuty: acknowledging here acknowledges
// the pages sent before; resolving resolves every page, retried through a
// PagerDuty outage, each failure on the timeline, and nobody is paged
// twice.
func TestAcknowledgeAndResolveReachPagerDuty(t *testing.T) {
	ctx := context.Background()
	s := newStack(t)
	start := s.Clock.Now()
	if _, err := s.Deliver(ctx, AtTime(readFixture(t, "cloudwatch/api-5xx-alarm.json"), start)); err != nil {
		t.Fatal(err)
	}
	if err := s.Exec.RunUntil(ctx, start.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	callAPI(t, s, "POST /incidents/{incident}/acknowledge", "{}")
	inc := onlyIncident(t, s)
	first := incident.PageDedupKey(inc.ID, 0, 1)
	if a, _ := s.Recorder.Alert(first); a.State != pagerdutylocal.Acknowledged {
		t.Fatalf("on-call's alert after the acknowledgement: %+v, want acknowledged", a)
	}
	// Unresolved at 30 minutes: the team lead is paged, and that alert
	// stays triggered for the team lead to acknowledge in PagerDuty.
	if err := s.Exec.RunUntil(ctx, start.Add(31*time.Minute)); err != nil {
		t.Fatal(err)
	}
	second := incident.PageDedupKey(inc.ID, 0, 2)
	if a, _ := s.Recorder.Alert(second); a.State != pagerdutylocal.Triggered {
		t.Fatalf("team lead's alert: %+v, want triggered", a)
	}
	s.Recorder.FailNext(2, pagerdutylocal.Failure{Status: 503})
	callAPI(t, s, "POST /incidents/{incident}/resolve", `{"rootCause":"bad deploy"}`)
	if err := s.Exec.RunUntil(ctx, start.Add(3*time.Hour)); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{first, second} {
		if a, _ := s.Recorder.Alert(k); a.State != pagerdutylocal.Resolved {
			t.Errorf("alert %s: %+v, want resolved", k, a)
		}
	}
	if got := s.Recorder.Triggers(); got != 2 {
		t.Errorf("%d pages, want 2 (on-call, then the team lead at 30 minutes)", got)
	}
	failed := kindsOf(t, s, inc.ID, incident.EntrySyncFailed)
	if len(failed) != 2 {
		t.Errorf("failed syncs on the timeline: %v, want the two failed attempts", failed)
	}
	synced := kindsOf(t, s, inc.ID, incident.EntryPagerDutySynced)
	if len(synced) != 3 {
		t.Errorf("syncs on the timeline: %v, want one acknowledgement and two resolutions", synced)
	}
	if execs := s.Exec.Executions(); len(execs) < 3 {
		t.Errorf("%d executions, want one per generation (open, acknowledge, resolve)", len(execs))
	}
	// The resolution's generation stays to remind of the post-mortem;
	// each older one was stopped by the first plan of the next, at once.
	wantStopped := func(x sfnlocal.Execution) bool { return x.Name != statemachine.ExecutionName(inc.ID, 2) }
	for _, x := range s.Exec.Executions() {
		if !wantStopped(x) {
			continue
		}
		if x.Status != sfnlocal.Aborted || x.Error != statemachine.Superseded {
			t.Errorf("execution %s: %s %s, want stopped as %s", x.Name, x.Status, x.Error, statemachine.Superseded)
		}
	}
	if err := s.Exec.RunUntil(ctx, start.Add(3*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	for _, x := range s.Exec.Executions() {
		if want := sfnlocal.Succeeded; !wantStopped(x) && x.Status != want {
			t.Errorf("execution %s after the post-mortem reminders: %s, want %s", x.Name, x.Status, want)
		}
	}
}

// webhookBody is the PagerDuty fixture of eventType for the page with key.
func webhookBody(t *testing.T, eventType, key string) []byte {
	t.Helper()
	name := map[string]string{"incident.acknowledged": "incident-acknowledged.json", "incident.resolved": "incident-resolved.json"}[eventType]
	b := readFixture(t, "pagerduty/"+name)
	return []byte(strings.ReplaceAll(string(b), "inc-20260301-030000-0123456789/level-1", key))
}

func postWebhook(t *testing.T, s *Stack, body []byte, secret string) int {
	t.Helper()
	req := httptest.NewRequest("POST", "/webhooks/pagerduty", strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	req.Header.Set("X-PagerDuty-Signature", "v1="+hex.EncodeToString(mac.Sum(nil)))
	rec := httptest.NewRecorder()
	s.API.ServeHTTP(rec, req)
	if err := s.Exec.RunReady(context.Background()); err != nil {
		t.Fatal(err)
	}
	return rec.Code
}

func TestPagerDutyWebhookAcknowledgesAndResolvesHere(t *testing.T) {
	ctx := context.Background()
	s := newStack(t)
	start := s.Clock.Now()
	if _, err := s.Deliver(ctx, AtTime(readFixture(t, "cloudwatch/api-5xx-alarm.json"), start)); err != nil {
		t.Fatal(err)
	}
	if err := s.Exec.RunUntil(ctx, start.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	key := incident.PageDedupKey(onlyIncident(t, s).ID, 0, 1)

	if code := postWebhook(t, s, webhookBody(t, "incident.acknowledged", key), "forged"); code != http.StatusUnauthorized {
		t.Fatalf("forged webhook: %d, want 401", code)
	}
	if inc := onlyIncident(t, s); inc.Status != incident.Triggered {
		t.Fatalf("after a forged webhook the incident is %s, want triggered", inc.Status)
	}
	// Signed, but naming a level never paged: 404, nothing changes.
	for _, bogus := range []string{onlyIncident(t, s).ID + "/level-42", incident.PageDedupKey(onlyIncident(t, s).ID, 0, 3)} {
		if code := postWebhook(t, s, webhookBody(t, "incident.resolved", bogus), DefaultWebhookSecret); code != http.StatusNotFound {
			t.Fatalf("webhook for %s: %d, want 404", bogus, code)
		}
	}
	if inc := onlyIncident(t, s); inc.Status != incident.Triggered {
		t.Fatalf("after webhooks for pages never sent the incident is %s, want triggered", inc.Status)
	}
	for range 2 { // a redelivery changes nothing
		if code := postWebhook(t, s, webhookBody(t, "incident.acknowledged", key), DefaultWebhookSecret); code != http.StatusOK {
			t.Fatalf("webhook: %d, want 200", code)
		}
	}
	inc := onlyIncident(t, s)
	if inc.Status != incident.Acknowledged || inc.AcknowledgedBy != "pagerduty:On-Call Engineer" {
		t.Fatalf("incident = %s by %q, want acknowledged by pagerduty:On-Call Engineer", inc.Status, inc.AcknowledgedBy)
	}
	// Five minutes on: acknowledged, so the team lead is not paged.
	if err := s.Exec.RunUntil(ctx, start.Add(10*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if got := s.Recorder.Triggers(); got != 1 {
		t.Errorf("%d pages after the acknowledgement in PagerDuty, want 1", got)
	}
	if code := postWebhook(t, s, webhookBody(t, "incident.resolved", key), DefaultWebhookSecret); code != http.StatusOK {
		t.Fatalf("resolve webhook: %d", code)
	}
	if inc := onlyIncident(t, s); inc.Status != incident.Resolved || inc.ResolvedBy != "pagerduty:On-Call Engineer" {
		t.Errorf("incident = %s by %q, want resolved by PagerDuty", inc.Status, inc.ResolvedBy)
	}
}

// crashAfterWork makes a task function crash once per input after doing
// its work, as a Lambda killed before it could return does; the state
// machine's Retry runs it again with the same input.
func crashAfterWork(target string) func(arn string, f sfnlocal.TaskFunc) sfnlocal.TaskFunc {
	var mu sync.Mutex
	crashed := map[string]bool{}
	return func(arn string, f sfnlocal.TaskFunc) sfnlocal.TaskFunc {
		if arn != target {
			return f
		}
		return func(ctx context.Context, in json.RawMessage) (json.RawMessage, error) {
			out, err := f(ctx, in)
			mu.Lock()
			defer mu.Unlock()
			if err == nil && !crashed[string(in)] {
				crashed[string(in)] = true
				return nil, errors.New("RequestId: 1 Error: Runtime exited with error: signal: killed")
			}
			return out, err
		}
	}
}

// TestCrashBetweenStepsNeverDoublesOrLosesAPage kills the Page or the Plan
// function after it has done its work, before the state machine hears
// back, at every step of a P0 escalation; the retries page each level once.
func TestCrashBetweenStepsNeverDoublesOrLosesAPage(t *testing.T) {
	for _, c := range []struct {
		target, name string
		// A crash costs the Retry's first interval, 2 s, once per step.
		want string
	}{
		// The page is sent and recorded; the retry finds it recorded, and
		// the deadlines run from when it was sent.
		{PageARN, "page", "0s,5m0s,10m0s,15m0s"},
		// The plan is lost; the retry plans the same page again. The first
		// page needs no plan: ingest planned it with the incident.
		{PlanARN, "plan", "0s,5m2s,10m4s,15m6s"},
	} {
		target := c.target
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			s, err := NewStack(ctx, Options{DynamoEndpoint: endpoint, Start: time.Date(2026, 3, 1, 3, 0, 0, 0, time.UTC), WrapTask: crashAfterWork(target)})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			start := s.Clock.Now()
			if _, err := s.Deliver(ctx, AtTime(readFixture(t, "cloudwatch/api-5xx-alarm.json"), start)); err != nil {
				t.Fatal(err)
			}
			if err := s.Exec.RunUntil(ctx, start.Add(20*time.Minute)); err != nil {
				t.Fatal(err)
			}
			var levels []string
			for _, a := range s.Recorder.AllAlerts() {
				levels = append(levels, a.DedupKey[strings.LastIndex(a.DedupKey, "/")+1:])
			}
			if got := strings.Join(levels, ","); got != "level-1,level-2,level-3,level-4" || s.Recorder.Triggers() != 4 {
				t.Errorf("alerts %s from %d triggers, want each of the four levels once", got, s.Recorder.Triggers())
			}
			inc := onlyIncident(t, s)
			var at []string
			for _, p := range inc.Pages {
				at = append(at, p.At.Sub(start).String())
			}
			if got := strings.Join(at, ","); got != c.want {
				t.Errorf("pages at %s, want %s", got, c.want)
			}
		})
	}
}

// BenchmarkAPI measures a responder's round trip through the API handler,
// the responders' operations and dynalite: report an incident (which
// starts its escalation and pages on-call), acknowledge it, read it with
// its timeline.
func BenchmarkAPI(b *testing.B) {
	ctx := context.Background()
	s, err := NewStack(ctx, Options{DynamoEndpoint: endpoint, Start: time.Date(2026, 3, 1, 3, 0, 0, 0, time.UTC)})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	token, err := s.Token(Responder, time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	serve := func(method, path, body string, want int) string {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		rec := httptest.NewRecorder()
		s.API.ServeHTTP(rec, req)
		if rec.Code != want {
			b.Fatalf("%s %s: %d %s", method, path, rec.Code, rec.Body)
		}
		return rec.Body.String()
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		s.Virtual.Set(s.Clock.Now().Add(time.Second))
		out := serve("POST", "/incidents", fmt.Sprintf(`{"title":"Exports time out %d","service":"dashboarduz-api","severity":"P2","category":"performance","description":"CSV exports time out"}`, i), http.StatusCreated)
		var inc struct{ ID string }
		if err := json.Unmarshal([]byte(out), &inc); err != nil || inc.ID == "" {
			b.Fatalf("report answered %s", out)
		}
		if err := s.Exec.RunReady(ctx); err != nil {
			b.Fatal(err)
		}
		serve("POST", "/incidents/"+inc.ID+"/acknowledge", "", http.StatusOK)
		serve("GET", "/incidents/"+inc.ID, "", http.StatusOK)
	}
}

// TestEveryKindOfPagerDutyOutageIsRetried: PagerDuty answering 429, a 5xx,
// or nothing at all fails the first two attempts; the state machine's
// Retry on PagerDutyUnavailableError sends the page again, each failure is
// on the timeline, and PagerDuty gets the page exactly once.
func TestEveryKindOfPagerDutyOutageIsRetried(t *testing.T) {
	for _, c := range []struct {
		name    string
		failure pagerdutylocal.Failure
	}{
		{"429", pagerdutylocal.Failure{Status: 429}},
		{"502", pagerdutylocal.Failure{Status: 502}},
		{"no answer", pagerdutylocal.Failure{Drop: true}},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			s := newStack(t)
			start := s.Clock.Now()
			s.Recorder.FailNext(2, c.failure)
			if _, err := s.Deliver(ctx, AtTime(readFixture(t, "cloudwatch/api-5xx-alarm.json"), start)); err != nil {
				t.Fatal(err)
			}
			if err := s.Exec.RunUntil(ctx, start.Add(4*time.Minute)); err != nil {
				t.Fatal(err)
			}
			failed, paged := pageTimes(t, s, start)
			if got := strings.Join(failed, ","); got != "0s,10s" {
				t.Errorf("failed attempts at %s, want 0s,10s", got)
			}
			// FirstPage at 0 s, Page 10 s later, its retry 10 s after that.
			if got := strings.Join(paged, ","); got != "20s" {
				t.Errorf("delivered at %s, want 20s", got)
			}
			if n := s.Recorder.Triggers(); n != 1 {
				t.Errorf("%d triggers reached PagerDuty, want 1", n)
			}
		})
	}
}
