package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestSummarizeTakesNearestRankPercentiles(t *testing.T) {
	var ds []time.Duration
	for i := 1; i <= 200; i++ {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	got := summarize(ds)
	want := Latency{Alarms: 200, P50Ms: 100, P90Ms: 180, P99Ms: 198, MaxMs: 200, MeanMs: 100.5}
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestPricesFileHasEveryPriceWithItsSource(t *testing.T) {
	p, err := ParsePrices(DefaultPrices)
	if err != nil {
		t.Fatal(err)
	}
	if p.Region != "us-east-1" || p.Read == "" {
		t.Errorf("region %q, read %q", p.Region, p.Read)
	}
	for _, n := range priceNames {
		if c := p.Prices[n].Confirmed; c != "official" && c != "secondary" {
			t.Errorf("%s: confirmed %q, want official or secondary", n, c)
		}
	}
	if _, err := ParsePrices([]byte(`{"read":"2026-01-01","prices":{}}`)); err == nil {
		t.Error("prices without the model's prices were accepted")
	}
}

func TestCostPricesEachDimension(t *testing.T) {
	p, err := ParsePrices(DefaultPrices)
	if err != nil {
		t.Fatal(err)
	}
	// A million of each at 1 GB for 1 s each: every line is its price
	// per million, GB-seconds its price times a million.
	u := Usage{ReadUnits: 1e6, WriteUnits: 1e6, LambdaRequests: 1e6, LambdaBilledMs: 1e9, Transitions: 1e6, APIRequests: 1e6, Events: 1e6}
	got := p.Cost(u, 1024)
	want := Cost{DynamoDB: 0.75, Lambda: 0.2 + 13.3334, StepFunctions: 25, APIGateway: 1, EventBridge: 0}
	want.Total = want.DynamoDB + want.Lambda + want.StepFunctions + want.APIGateway
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestFunctionMemoryComesFromTheCDKApp(t *testing.T) {
	mb, err := FunctionMemoryMB(filepath.Join("..", "..", "infra", "functions.go"))
	if err != nil {
		t.Fatal(err)
	}
	if mb < 128 || mb > 10240 {
		t.Errorf("%d MB is not a Lambda memory size", mb)
	}
	f := filepath.Join(t.TempDir(), "functions.go")
	if err := os.WriteFile(f, []byte("package infra\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := FunctionMemoryMB(f); err == nil {
		t.Error("a file without the constant gave a memory size")
	}
}

func TestEventsAPIRefusesAddressesOffThisMachine(t *testing.T) {
	if _, err := StartEventsAPI("0.0.0.0:0"); err == nil {
		t.Error("listening on every interface was accepted")
	}
}

// trigger posts a trigger whose summary names token.
func trigger(url, token string) error {
	body := fmt.Sprintf(`{"routing_key":"%s","event_action":"trigger","dedup_key":"%s","payload":{"summary":"P0 api - %s","source":"api","severity":"critical"}}`,
		strings.Repeat("k", 32), token, token)
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		return fmt.Errorf("trigger answered %s", resp.Status)
	}
	return nil
}

func TestEventsAPIStampsEachPageByItsAlarm(t *testing.T) {
	api, err := StartEventsAPI("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer api.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	before := time.Now()
	sent := make(chan error, 1)
	go func() { sent <- trigger(api.URL, Token("x", 1)) }()
	at, err := api.WaitFirst(ctx, Token("x", 1))
	if err != nil {
		t.Fatal(err)
	}
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	if at.Before(before) {
		t.Errorf("page stamped %s, before it was sent at %s", at, before)
	}
	if err := trigger(api.URL, Token("x", 1)); err != nil {
		t.Fatal(err)
	}
	if n := api.Pages(Token("x", 1)); n != 2 {
		t.Errorf("%d pages, want 2", n)
	}
	short, cancel2 := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel2()
	if _, err := api.WaitFirst(short, Token("x", 2)); err == nil {
		t.Error("a page that never came was waited for successfully")
	}
}

// fakeTarget pages each alarm's first event, and every event of the
// alarms in twice, as a target that lost its deduplication would.
type fakeTarget struct {
	url   string
	twice map[string]bool

	mu   sync.Mutex
	seen map[string]bool
}

func (f *fakeTarget) Name() string { return "fake" }

func (f *fakeTarget) Alarm(token string, at time.Time) ([]byte, error) {
	return json.Marshal(map[string]string{"token": token, "at": at.Format(time.RFC3339Nano)})
}

func (f *fakeTarget) Send(ctx context.Context, body []byte) (Outcome, error) {
	var a struct{ Token string }
	if err := json.Unmarshal(body, &a); err != nil {
		return Outcome{}, err
	}
	f.mu.Lock()
	first := !f.seen[a.Token]
	f.seen[a.Token] = true
	f.mu.Unlock()
	if first || f.twice[a.Token] {
		ev := fmt.Sprintf(`{"routing_key":"%s","event_action":"trigger","payload":{"summary":"%s","source":"s","severity":"critical"}}`, strings.Repeat("k", 32), a.Token)
		resp, err := http.Post(f.url, "application/json", bytes.NewReader([]byte(ev)))
		if err != nil {
			return Outcome{}, err
		}
		resp.Body.Close()
	}
	return Outcome{Incident: a.Token, Opened: first, Known: true}, nil
}

func TestStormCountsAndFailsOnAnAlarmPagedTwice(t *testing.T) {
	for _, c := range []struct {
		name  string
		twice map[string]bool
		fails bool
	}{
		{"exactly once", nil, false},
		{"one alarm twice", map[string]bool{Token("s", 2): true}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			api, err := StartEventsAPI("127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer api.Close()
			target := &fakeTarget{url: api.URL, twice: c.twice, seen: map[string]bool{}}
			st, err := RunStorm(context.Background(), target, api, StormOptions{Run: "s", Alarms: 5, Repeats: 4, Senders: 3, Grace: 20 * time.Millisecond})
			if (err != nil) != c.fails {
				t.Fatalf("err %v, want failure %v", err, c.fails)
			}
			if st.Events != 20 || st.Incidents != 5 || st.Duplicates != 15 {
				t.Errorf("events %d incidents %d duplicates %d, want 20 5 15", st.Events, st.Incidents, st.Duplicates)
			}
			if !c.fails && (st.Pages != 5 || len(st.Misses) != 0) {
				t.Errorf("pages %d misses %v, want 5 and none", st.Pages, st.Misses)
			}
			if c.fails && (st.Pages <= 5 || len(st.Misses) != 1) {
				t.Errorf("pages %d misses %v, want more than 5 and one miss", st.Pages, st.Misses)
			}
		})
	}
}

func TestDevstackAlarmIsANewStateChangeOfItsOwnAlarm(t *testing.T) {
	d, err := NewDevstack("http://127.0.0.1:1", filepath.Join("..", "..", "events", "cloudwatch", "api-5xx-alarm.json"), nil)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 1, 3, 0, 0, 123e6, time.UTC)
	a, _ := d.Alarm(Token("t", 7), at)
	b, _ := d.Alarm(Token("t", 7), at.Add(time.Millisecond))
	var ev struct {
		ID     string
		Time   string
		Detail struct {
			AlarmName     string
			State         struct{ Timestamp string }
			Configuration struct{ Description string }
		}
	}
	if err := json.Unmarshal(a, &ev); err != nil {
		t.Fatal(err)
	}
	if ev.Detail.AlarmName != "dashboarduz-api-5xx-errors-bench-t-0007" || ev.Detail.Configuration.Description != "bench-t-0007" {
		t.Errorf("alarm %q described %q", ev.Detail.AlarmName, ev.Detail.Configuration.Description)
	}
	if ev.Detail.State.Timestamp != "2026-03-01T03:00:00.123+0000" || ev.Time != "2026-03-01T03:00:00Z" {
		t.Errorf("state at %q, event at %q", ev.Detail.State.Timestamp, ev.Time)
	}
	if bytes.Equal(a, b) {
		t.Error("a later state change is the same event")
	}
	again, _ := d.Alarm(Token("t", 7), at)
	if !bytes.Equal(a, again) {
		t.Error("the same state change is not the same event, byte for byte")
	}
}
