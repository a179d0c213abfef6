package bench

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dashboarduz/incident-response/shared/metrics"
)

// PageTimeout bounds how long the load waits for any one page.
const PageTimeout = 30 * time.Second

// Latency is the alarm-to-page latency over alarms sent one by one: from
// just before an alarm is sent to the arrival of its page at the EventsAPI.
type Latency struct {
	Alarms int     `json:"alarms"`
	P50Ms  float64 `json:"p50Ms"`
	P90Ms  float64 `json:"p90Ms"`
	P99Ms  float64 `json:"p99Ms"`
	MaxMs  float64 `json:"maxMs"`
	MeanMs float64 `json:"meanMs"`
}

// MeasureLatency sends n distinct alarms of run one by one, each after the
// previous one's page arrived.
func MeasureLatency(ctx context.Context, t Target, api *EventsAPI, run string, n int) (Latency, error) {
	ds := make([]time.Duration, 0, n)
	settler, settles := t.(Settler)
	for i := range n {
		if settles {
			if err := settler.Settle(ctx); err != nil {
				return Latency{}, err
			}
		}
		tok := Token(run, i)
		body, err := t.Alarm(tok, time.Now())
		if err != nil {
			return Latency{}, err
		}
		began := time.Now()
		if _, err := t.Send(ctx, body); err != nil {
			return Latency{}, fmt.Errorf("send %s: %w", tok, err)
		}
		wctx, cancel := context.WithTimeout(ctx, PageTimeout)
		at, err := api.WaitFirst(wctx, tok)
		cancel()
		if err != nil {
			return Latency{}, err
		}
		ds = append(ds, at.Sub(began))
	}
	return summarize(ds), nil
}

// summarize takes percentiles by nearest rank.
func summarize(ds []time.Duration) Latency {
	if len(ds) == 0 {
		return Latency{}
	}
	sorted := append([]time.Duration(nil), ds...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
	rank := func(p float64) float64 { return ms(metrics.Percentile(sorted, p*100)) }
	var sum time.Duration
	for _, d := range sorted {
		sum += d
	}
	return Latency{
		Alarms: len(sorted), P50Ms: rank(0.50), P90Ms: rank(0.90), P99Ms: rank(0.99),
		MaxMs: ms(sorted[len(sorted)-1]), MeanMs: ms(sum / time.Duration(len(sorted))),
	}
}

func ms(d time.Duration) float64 {
	return math.Round(float64(d)/float64(time.Millisecond)*100) / 100
}

// StormOptions shapes a storm.
type StormOptions struct {
	Run     string
	Alarms  int
	Repeats int
	Senders int
	// Redeliver sends each alarm's one event Repeats times, byte for byte,
	// as a redelivering event source would; otherwise each repeat is a new
	// state change of the alarm, one millisecond after the previous one.
	Redeliver bool
	// Grace is how long to wait after the last expected page for pages
	// that should not come.
	Grace time.Duration
}

// Storm is what a storm did. Incidents and Duplicates are known only when
// the target says what it did with each alarm; they are -1 otherwise.
type Storm struct {
	Alarms          int     `json:"alarms"`
	Repeats         int     `json:"repeats"`
	Senders         int     `json:"senders"`
	Redeliveries    bool    `json:"redeliveries"`
	Events          int     `json:"events"`
	WallSeconds     float64 `json:"wallSeconds"`
	AlarmsPerSecond float64 `json:"alarmsPerSecond"`
	// LastPageSeconds is when the last alarm's first page arrived, from
	// the start.
	LastPageSeconds float64 `json:"lastPageSeconds"`
	Incidents       int     `json:"incidents"`
	Pages           int     `json:"pages"`
	Duplicates      int     `json:"duplicates"`
	// DynamoDBCalls counts the target's DynamoDB calls during the storm,
	// by operation, when the target's client is counted.
	DynamoDBCalls map[string]int `json:"dynamodbCalls,omitempty"`
	// Misses lists the alarms not paged exactly once; a storm with any
	// fails the run.
	Misses []string `json:"misses,omitempty"`
}

// RunStorm sends Alarms x Repeats events, Senders at a time, repeat by
// repeat, then waits for every alarm's page and checks each alarm was paged
// exactly once. The events are built before the clock starts.
func RunStorm(ctx context.Context, t Target, api *EventsAPI, o StormOptions) (Storm, error) {
	base := time.Now().Add(-time.Second)
	bodies := make([][]byte, 0, o.Alarms*o.Repeats)
	for r := range o.Repeats {
		for a := range o.Alarms {
			at := base.Add(time.Duration(r) * time.Millisecond)
			if o.Redeliver {
				at = base
			}
			b, err := t.Alarm(Token(o.Run, a), at)
			if err != nil {
				return Storm{}, err
			}
			bodies = append(bodies, b)
		}
	}
	st := Storm{Alarms: o.Alarms, Repeats: o.Repeats, Senders: o.Senders, Redeliveries: o.Redeliver, Events: len(bodies)}
	began := time.Now()
	out, err := send(ctx, t, bodies, o.Senders)
	if err != nil {
		return st, err
	}
	responded := time.Since(began)
	last, err := waitPages(ctx, api, o.Run, o.Alarms)
	if err != nil {
		return st, err
	}
	wall := max(responded, last.Sub(began))
	st.WallSeconds = seconds(wall)
	st.AlarmsPerSecond = math.Round(float64(len(bodies))/wall.Seconds()*10) / 10
	st.LastPageSeconds = seconds(last.Sub(began))
	st.Incidents, st.Duplicates = out.incidents, out.duplicates
	// Pages that should not come come late, if at all: give them time.
	time.Sleep(o.Grace)
	for a := range o.Alarms {
		n := api.Pages(Token(o.Run, a))
		st.Pages += n
		if n != 1 {
			st.Misses = append(st.Misses, fmt.Sprintf("%s paged %d times", Token(o.Run, a), n))
		}
	}
	if len(st.Misses) > 0 {
		return st, fmt.Errorf("storm %s: not every alarm paged exactly once: %s", o.Run, strings.Join(st.Misses, "; "))
	}
	return st, nil
}

func seconds(d time.Duration) float64 { return math.Round(d.Seconds()*1000) / 1000 }

type sent struct{ incidents, duplicates int }

// send delivers every body, senders at a time, and tallies the outcomes.
func send(ctx context.Context, t Target, bodies [][]byte, senders int) (sent, error) {
	var (
		next     atomic.Int64
		mu       sync.Mutex
		ids      = map[string]bool{}
		dups     int
		known    = true
		firstErr error
		wg       sync.WaitGroup
	)
	for range max(1, senders) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(bodies) || ctx.Err() != nil {
					return
				}
				o, err := t.Send(ctx, bodies[i])
				mu.Lock()
				switch {
				case err != nil && firstErr == nil:
					firstErr = err
				case err == nil && o.Known:
					ids[o.Incident] = true
					if !o.Opened {
						dups++
					}
				case err == nil:
					known = false
				}
				mu.Unlock()
				if err != nil {
					return
				}
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return sent{}, firstErr
	}
	if !known {
		return sent{incidents: -1, duplicates: -1}, nil
	}
	return sent{incidents: len(ids), duplicates: dups}, nil
}

// waitPages waits for the first page of each of n alarms of run and
// returns when the last of them arrived.
func waitPages(ctx context.Context, api *EventsAPI, run string, n int) (time.Time, error) {
	var last time.Time
	deadline := time.Now().Add(PageTimeout)
	for a := range n {
		wctx, cancel := context.WithDeadline(ctx, deadline)
		at, err := api.WaitFirst(wctx, Token(run, a))
		cancel()
		if err != nil {
			return last, err
		}
		if at.After(last) {
			last = at
		}
	}
	return last, nil
}
