package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/local/pagerdutylocal"
)

// startDev runs the dev server on a free loopback port until the test ends
// and returns its base URL and a valid token.
func startDev(t *testing.T) (string, string) {
	t.Helper()
	return startDevWith(t, DevOptions{})
}

// startDevWith is startDev with options; Addr and DynamoEndpoint are set
// here.
func startDevWith(t *testing.T, opts DevOptions) (string, string) {
	t.Helper()
	return startDevOut(t, opts, io.Discard)
}

// startDevOut is startDevWith writing the server's output to out.
func startDevOut(t *testing.T, opts DevOptions, output io.Writer) (string, string) {
	t.Helper()
	opts.Addr, opts.DynamoEndpoint = "127.0.0.1:0", endpoint
	t.Setenv("DEVSTACK_KEY_FILE", filepath.Join(t.TempDir(), "key.pem"))
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	stopped := make(chan struct{})
	var devErr error
	go func() {
		defer close(stopped)
		devErr = Dev(ctx, opts, output, ready)
	}()
	t.Cleanup(func() {
		cancel()
		<-stopped
		if devErr != nil {
			t.Errorf("dev server: %v", devErr)
		}
	})
	var addr string
	select {
	case addr = <-ready:
	case <-stopped:
		t.Fatalf("dev server did not start: %v", devErr)
	case <-time.After(30 * time.Second):
		t.Fatal("dev server did not start within 30 s")
	}
	var out bytes.Buffer
	if err := runToken([]string{"--email", "oncall@dashboarduz.example"}, &out); err != nil {
		t.Fatal(err)
	}
	return "http://" + addr, strings.TrimSpace(out.String())
}

// roleToken is what `devstack token --role role` prints.
func roleToken(t *testing.T, role string) string {
	t.Helper()
	var out bytes.Buffer
	if err := runToken([]string{"--role", role}, &out); err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(out.String())
}

func do(t *testing.T, method, url, token string, body []byte) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		t.Fatalf("%s %s: body is not JSON: %v", method, url, err)
	}
	return resp.StatusCode, v
}

func TestDevServer(t *testing.T) {
	base, token := startDev(t)
	alarm := readFixture(t, "cloudwatch/api-5xx-alarm.json")

	if code, v := do(t, "GET", base+"/health", "", nil); code != 200 || v["status"] != "ok" || fmt.Sprint(v["checks"]) != "map[table:ok]" {
		t.Fatalf("health = %d %v", code, v)
	}
	if code, v := do(t, "GET", base+"/incidents", "", nil); code != 401 {
		t.Fatalf("incidents without a token = %d %v, want 401", code, v)
	}

	// One event, stamped now: it opens an incident and pages on-call.
	code, v := do(t, "POST", base+"/events?at=now", "", alarm)
	entries, _ := v["Entries"].([]any)
	if code != 200 || v["FailedEntryCount"] != 0.0 || len(entries) != 1 {
		t.Fatalf("POST /events = %d %v", code, v)
	}
	first := entries[0].(map[string]any)
	id, _ := first["IncidentId"].(string)
	if first["Route"] != "open" || id == "" {
		t.Fatalf("entry = %v, want an opened incident", first)
	}

	// A PutEvents batch: the same alarm again (joins), a malformed entry
	// and an event no rule matches.
	var ev map[string]any
	if err := json.Unmarshal(alarm, &ev); err != nil {
		t.Fatal(err)
	}
	detail, _ := json.Marshal(ev["detail"])
	batch, _ := json.Marshal(map[string]any{"Entries": []map[string]any{
		{"Source": "aws.cloudwatch", "DetailType": "CloudWatch Alarm State Change", "Detail": string(detail), "Resources": ev["resources"]},
		{"Source": "aws.cloudwatch", "DetailType": "CloudWatch Alarm State Change", "Detail": "not json"},
		{"Source": "aws.ecs", "DetailType": "ECS Task State Change", "Detail": "{}"},
	}})
	code, v = do(t, "POST", base+"/events?at=now", "", batch)
	entries, _ = v["Entries"].([]any)
	if code != 200 || v["FailedEntryCount"] != 1.0 || len(entries) != 3 {
		t.Fatalf("PutEvents batch = %d %v", code, v)
	}
	if e := entries[0].(map[string]any); e["Route"] != "join" || e["IncidentId"] != id {
		t.Errorf("entry 1 = %v, want a join of %s", e, id)
	}
	if e := entries[1].(map[string]any); e["ErrorCode"] != "InvalidArgument" || !strings.Contains(fmt.Sprint(e["ErrorMessage"]), "Detail") {
		t.Errorf("entry 2 = %v, want InvalidArgument naming Detail", e)
	}
	if e := entries[2].(map[string]any); e["Route"] != "ignore" {
		t.Errorf("entry 3 = %v, want ignored (no rule)", e)
	}
	if code, v := do(t, "POST", base+"/events?at=later", "", alarm); code != 400 {
		t.Errorf("at=later = %d %v, want 400", code, v)
	}

	// The escalation runs on the real clock: on-call is paged at once.
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, v = do(t, "GET", base+"/dev/pagerduty", "", nil)
		if evs, _ := v["events"].([]any); len(evs) >= 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no page within 10 s: %v", v)
		}
		time.Sleep(50 * time.Millisecond)
	}

	// A viewer reads but may not acknowledge; a token without a role
	// reads nothing.
	viewer, nobody := roleToken(t, "viewer"), roleToken(t, "none")
	if code, v := do(t, "GET", base+"/incidents/"+id, viewer, nil); code != 200 {
		t.Errorf("get as viewer = %d %v", code, v)
	}
	if code, v := do(t, "POST", base+"/incidents/"+id+"/acknowledge", viewer, []byte(`{}`)); code != 403 {
		t.Errorf("acknowledge as viewer = %d %v, want 403", code, v)
	}
	if code, v := do(t, "GET", base+"/incidents", nobody, nil); code != 403 {
		t.Errorf("list without a role = %d %v, want 403", code, v)
	}

	code, v = do(t, "POST", base+"/incidents/"+id+"/acknowledge", token, []byte(`{}`))
	if code != 200 || v["status"] != "acknowledged" || v["acknowledgedBy"] != "oncall@dashboarduz.example (devstack:oncall@dashboarduz.example)" {
		t.Fatalf("acknowledge = %d %v", code, v)
	}
	code, v = do(t, "GET", base+"/incidents/"+id, token, nil)
	if code != 200 {
		t.Fatalf("get = %d %v", code, v)
	}
	var actors []string
	for _, e := range v["timeline"].([]any) {
		actors = append(actors, fmt.Sprint(e.(map[string]any)["actor"]))
	}
	if !strings.Contains(strings.Join(actors, ","), "oncall@dashboarduz.example") {
		t.Errorf("timeline actors = %v, want the caller's identity", actors)
	}
}

func TestDevServerListensOnLoopbackOnly(t *testing.T) {
	err := Dev(context.Background(), DevOptions{Addr: "0.0.0.0:8080", DynamoEndpoint: endpoint}, io.Discard, nil)
	if err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Fatalf("err = %v, want a refusal naming loopback", err)
	}
}

// TestDevEventsDoNotWaitForEscalations holds the first page at PagerDuty
// and checks that POST /events still answers, for another alarm too: the
// escalations run on their own, as Step Functions runs them.
func TestDevEventsDoNotWaitForEscalations(t *testing.T) {
	rec := pagerdutylocal.New(incident.SystemClock{})
	arrived := make(chan struct{}, 100)
	release := make(chan struct{})
	pd := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		rec.ServeHTTP(w, r)
	}))
	t.Cleanup(pd.Close)
	var once sync.Once
	t.Cleanup(func() { once.Do(func() { close(release) }) })
	base, _ := startDevWith(t, DevOptions{PagerDutyURL: pd.URL})

	alarm := readFixture(t, "cloudwatch/api-5xx-alarm.json")
	client := &http.Client{Timeout: 10 * time.Second}
	post := func(name string) {
		t.Helper()
		var ev map[string]any
		if err := json.Unmarshal(alarm, &ev); err != nil {
			t.Fatal(err)
		}
		ev["detail"].(map[string]any)["alarmName"] = name
		ev["resources"] = []string{"arn:aws:cloudwatch:us-east-1:123456789012:alarm:" + name}
		body, _ := json.Marshal(ev)
		resp, err := client.Post(base+"/events?at=now", "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatalf("POST /events for %s while a page is held: %v", name, err)
		}
		defer resp.Body.Close()
		var v struct{ Entries []EventResult }
		if err := json.NewDecoder(resp.Body).Decode(&v); err != nil || resp.StatusCode != 200 || len(v.Entries) != 1 || v.Entries[0].Route != incident.RouteOpen {
			t.Fatalf("POST /events for %s = %d %+v (%v), want one opened incident", name, resp.StatusCode, v, err)
		}
	}
	post("first-alarm")
	select {
	case <-arrived:
	case <-time.After(10 * time.Second):
		t.Fatal("the first alarm's page did not reach PagerDuty within 10 s")
	}
	post("second-alarm") // answered while the first page is held
	once.Do(func() { close(release) })
	deadline := time.Now().Add(10 * time.Second)
	for rec.Triggers() < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("%d pages within 10 s, want 2", rec.Triggers())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestDevServerSlackAndEmail: an alarm's messages can be read at GET
// /dev/slack and /dev/email, and the alert's Acknowledge button pressed
// through the signed Slack webhook acknowledges as the mapped user.
func TestDevServerSlackAndEmail(t *testing.T) {
	base, token := startDev(t)
	alarm := readFixture(t, "cloudwatch/api-5xx-alarm.json")
	_, v := do(t, "POST", base+"/events?at=now", "", alarm)
	id, _ := v["Entries"].([]any)[0].(map[string]any)["IncidentId"].(string)
	transcript := ""
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(transcript, "📟 PAGED: "+id); {
		if time.Now().After(deadline) {
			t.Fatalf("no alert and page in Slack within 10 s:\n%s", transcript)
		}
		time.Sleep(50 * time.Millisecond)
		resp, err := http.Get(base + "/dev/slack")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		transcript = string(b)
	}
	for _, want := range []string{"#incidents", "🚨 INCIDENT: P0 Critical dashboarduz-api", "[Acknowledge] [Resolve]", "On-Call: Dana Whitfield (On-Call Engineer)"} {
		if !strings.Contains(transcript, want) {
			t.Errorf("GET /dev/slack lacks %q:\n%s", want, transcript)
		}
	}
	// Email goes out in the same Notify round as Slack, after it.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		_, v := do(t, "GET", base+"/dev/email", "", nil)
		es, _ := v["emails"].([]any) // null until the first
		if n := len(es); n == 1 {
			break
		} else if n > 1 || time.Now().After(deadline) {
			t.Fatalf("GET /dev/email = %v, want the P0's alert", v)
		}
	}

	code, v := do(t, "POST", base+"/dev/slack/press", "", []byte(`{"incident": "`+id+`", "action": "acknowledge", "user": "U0OMAR001"}`))
	if code != 200 || !strings.Contains(fmt.Sprint(v["toUser"]), "You acknowledged "+id) {
		t.Fatalf("press Acknowledge = %d %v", code, v)
	}
	if _, v := do(t, "GET", base+"/incidents/"+id, token, nil); v["acknowledgedBy"] != "omar@dashboarduz.local (slack:U0OMAR001)" {
		t.Errorf("acknowledged by %v, want the Slack user's responder", v["acknowledgedBy"])
	}
	code, v = do(t, "POST", base+"/dev/slack/press", "", []byte(`{"incident": "`+id+`", "action": "acknowledge", "user": "U0NOBODY1"}`))
	if code != 200 || !strings.Contains(fmt.Sprint(v["toUser"]), "not in incident response's list") {
		t.Errorf("press by an unmapped user = %d %v", code, v)
	}
	code, v = do(t, "POST", base+"/dev/slack/press", "", []byte(`{"incident": "`+id+`", "action": "resolve", "rootCause": "a bad deploy"}`))
	if code != 200 || !strings.Contains(fmt.Sprint(v["answers"]), `response_action`) {
		t.Fatalf("press Resolve = %d %v", code, v)
	}
	if _, v := do(t, "GET", base+"/incidents/"+id, token, nil); v["status"] != "resolved" || v["rootCause"] != "a bad deploy" {
		t.Errorf("after the modal: %v %v", v["status"], v["rootCause"])
	}
}
