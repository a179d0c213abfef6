package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// startDev runs the dev server on a free loopback port until the test ends
// and returns its base URL and a valid token.
func startDev(t *testing.T) (string, string) {
	t.Helper()
	t.Setenv("DEVSTACK_KEY_FILE", filepath.Join(t.TempDir(), "key.pem"))
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- Dev(ctx, DevOptions{Addr: "127.0.0.1:0", Tick: 20 * time.Millisecond, DynamoEndpoint: endpoint}, io.Discard, ready)
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("dev server: %v", err)
		}
	})
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatalf("dev server did not start: %v", err)
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
	alarm, err := os.ReadFile(filepath.Join("..", "..", "events", "cloudwatch", "api-5xx-alarm.json"))
	if err != nil {
		t.Fatal(err)
	}

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
