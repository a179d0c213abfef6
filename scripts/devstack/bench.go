package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/aws/smithy-go/middleware"

	"github.com/dashboarduz/incident-response/scripts/bench"
	"github.com/dashboarduz/incident-response/shared/local/dynalite"
	"github.com/dashboarduz/incident-response/shared/local/dynamocount"
)

// benchOptions are `devstack bench`'s flags.
type benchOptions struct {
	target         string
	out            string
	eventsAPI      string
	alarmFile      string
	functionsGo    string
	pricesFile     string
	alarms         int
	stormAlarms    int
	stormRepeats   int
	senders        int
	redeliveries   bool
	pipelineAlarms int
	cpuProfile     string
}

func parseBenchFlags(args []string, out io.Writer) (benchOptions, error) {
	var o benchOptions
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&o.target, "target", "devstack", "what to measure: `devstack` (started here), or alertmanager=URL (latency and storms only)")
	fs.StringVar(&o.out, "out", "", "write the report as JSON to `file` (default build/bench.json, build/bench-alertmanager.json)")
	fs.StringVar(&o.eventsAPI, "events-api", "127.0.0.1:0", "listen `address` of the local PagerDuty Events API that timestamps pages")
	fs.StringVar(&o.alarmFile, "alarm", "events/cloudwatch/api-5xx-alarm.json", "the alarm event `file` each bench alarm is made from")
	fs.StringVar(&o.functionsGo, "functions", "infra/functions.go", "the CDK `file` that sets the functions' memory")
	fs.StringVar(&o.pricesFile, "prices", "", "prices `file` (default: scripts/bench/prices.json, built in)")
	fs.IntVar(&o.alarms, "alarms", 200, "distinct alarms for the latency, sent one by one")
	fs.IntVar(&o.stormAlarms, "storm-alarms", 100, "alarms in the storm")
	fs.IntVar(&o.stormRepeats, "storm-repeats", 100, "state changes of each alarm in the storm")
	fs.IntVar(&o.senders, "senders", 16, "concurrent senders in the storm")
	fs.BoolVar(&o.redeliveries, "redeliveries", true, "also storm exact redeliveries")
	fs.IntVar(&o.pipelineAlarms, "pipeline-alarms", 50, "incidents played in process for the counts, durations and allocations")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the whole run (this process: ingest, the executor, the functions; not dynalite) to `file`, for go tool pprof")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	for _, n := range []int{o.alarms, o.stormAlarms, o.stormRepeats, o.senders, o.pipelineAlarms} {
		if n < 1 || n > 100000 {
			return o, errors.New("counts must be between 1 and 100000")
		}
	}
	if o.out == "" {
		o.out = "build/bench.json"
		if o.target != "devstack" {
			o.out = "build/bench-alertmanager.json"
		}
	}
	return o, nil
}

// runBench measures the local stack (or Alertmanager), prints the report's
// tables and writes it as JSON. A storm that does not page every alarm
// exactly once fails the run, after the report is written.
func runBench(ctx context.Context, args []string, out io.Writer) error {
	o, err := parseBenchFlags(args, out)
	if err != nil {
		return err
	}
	if o.cpuProfile != "" {
		stop, err := startCPUProfile(o.cpuProfile)
		if err != nil {
			return err
		}
		defer stop()
	}
	api, err := bench.StartEventsAPI(o.eventsAPI)
	if err != nil {
		return err
	}
	defer api.Close()
	fmt.Fprintf(out, "PagerDuty Events API (timestamps pages): %s\n", api.URL)
	r := bench.Report{
		Date:    time.Now().UTC().Format("2006-01-02"),
		Machine: fmt.Sprintf("%s/%s, %d CPUs, %s", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version()),
	}
	var runErr error
	if url, ok := strings.CutPrefix(o.target, "alertmanager="); ok {
		r.Target = "alertmanager " + url
		runErr = loadBench(ctx, &bench.Alertmanager{URL: url, Client: bench.NewHTTPClient(o.senders)}, api, o, &r, out, nil)
	} else if o.target == "devstack" {
		r.Target = "devstack"
		runErr = benchDevstack(ctx, api, o, &r, out)
	} else {
		return fmt.Errorf("--target %q: devstack or alertmanager=URL", o.target)
	}
	fmt.Fprintln(out)
	r.Markdown(out)
	if err := writeReport(o.out, r); err != nil {
		return errors.Join(runErr, err)
	}
	fmt.Fprintf(out, "\nWrote %s.\n", o.out)
	return runErr
}

// startCPUProfile profiles this process's CPU into path until stop.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("--cpuprofile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

func writeReport(path string, r bench.Report) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// benchDevstack measures the stack in process (counts, transitions,
// durations, allocations), then through the dev server on the real clock
// (latency and storms), and prices what it counted.
func benchDevstack(ctx context.Context, api *bench.EventsAPI, o benchOptions, r *bench.Report, out io.Writer) error {
	prices, err := bench.LoadPrices(o.pricesFile)
	if err != nil {
		return err
	}
	memory, err := bench.FunctionMemoryMB(o.functionsGo)
	if err != nil {
		return err
	}
	srv, err := dynalite.Start(ctx)
	if err != nil {
		return err
	}
	defer srv.Stop()
	fmt.Fprintf(out, "Playing %d incidents in process (counts, durations, allocations)...\n", o.pipelineAlarms)
	if err := benchPipeline(ctx, srv.Endpoint, o, r); err != nil {
		return err
	}
	r.FunctionMemoryMB, r.Prices = memory, &prices
	r.Costs, r.Assumptions = priceIt(*r, prices, memory)
	return benchDevServer(ctx, srv.Endpoint, api, o, r, out)
}

// benchPipeline runs the pipeline twice, counted and not.
func benchPipeline(ctx context.Context, endpoint string, o benchOptions, r *bench.Report) error {
	tmpl, err := bench.NewDevstack("", o.alarmFile, nil)
	if err != nil {
		return err
	}
	var runs [2]pipelineRun
	for i, counted := range []bool{false, true} {
		p, err := newProbe(ctx, endpoint, counted)
		if err != nil {
			return err
		}
		runs[i], err = p.runPipeline(ctx, tmpl.Alarm, o.pipelineAlarms)
		p.stack.Close()
		if err != nil {
			return fmt.Errorf("in-process pipeline: %w", err)
		}
	}
	r.PipelineAlarms = o.pipelineAlarms
	r.Steps = mergeRuns(runs[1].steps, runs[0].steps)
	r.Allocations = &runs[0].allocations
	life := bench.Step{Name: "incident lifecycle"}
	for _, name := range lifecycleSteps {
		s, _ := r.Step(name)
		life = life.Add(s)
	}
	r.Lifecycle = &life
	return nil
}

// benchDevServer serves the stack on a free port, paging the EventsAPI,
// and sends it the latency alarms and the storms.
func benchDevServer(ctx context.Context, endpoint string, api *bench.EventsAPI, o benchOptions, r *bench.Report, out io.Writer) error {
	counter := dynamocount.New()
	devCtx, stop := context.WithCancel(ctx)
	ready, done := make(chan string, 1), make(chan error, 1)
	go func() {
		done <- Dev(devCtx, DevOptions{
			Addr: "127.0.0.1:0", PagerDutyURL: api.URL,
			DynamoEndpoint: endpoint, DynamoAPIOptions: []func(*middleware.Stack) error{counter.Middleware},
		}, io.Discard, ready)
	}()
	defer func() {
		stop()
		<-done
	}()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		done <- err
		return fmt.Errorf("dev server: %w", err)
	case <-time.After(time.Minute):
		return errors.New("dev server: not ready within a minute")
	}
	t, err := bench.NewDevstack("http://"+addr, o.alarmFile, bench.NewHTTPClient(o.senders))
	if err != nil {
		return err
	}
	return loadBench(ctx, t, api, o, r, out, counter)
}

// loadBench measures latency and the storms against t. With a counter on
// the target's DynamoDB client, the state-change storm's calls are
// counted too.
func loadBench(ctx context.Context, t bench.Target, api *bench.EventsAPI, o benchOptions, r *bench.Report, out io.Writer, counter *dynamocount.Counter) error {
	fmt.Fprintf(out, "Latency: %d alarms one by one to %s...\n", o.alarms, t.Name())
	// A few alarms first, so connections and caches are warm.
	if _, err := bench.MeasureLatency(ctx, t, api, "warm", 5); err != nil {
		return err
	}
	l, err := bench.MeasureLatency(ctx, t, api, "lat", o.alarms)
	if err != nil {
		return err
	}
	r.Latency = &l
	storms := []bench.StormOptions{{Run: "storm", Alarms: o.stormAlarms, Repeats: o.stormRepeats, Senders: o.senders, Grace: time.Second}}
	if o.redeliveries {
		storms = append(storms, bench.StormOptions{Run: "redeliver", Alarms: o.stormAlarms, Repeats: o.stormRepeats, Senders: o.senders, Redeliver: true, Grace: time.Second})
	}
	for _, so := range storms {
		fmt.Fprintf(out, "Storm %s: %d alarms x %d, %d senders...\n", so.Run, so.Alarms, so.Repeats, so.Senders)
		var before dynamocount.Snapshot
		if counter != nil {
			before = counter.Snapshot()
		}
		st, err := bench.RunStorm(ctx, t, api, so)
		if counter != nil {
			st.DynamoDBCalls = counter.Snapshot().Sub(before).Calls()
		}
		if so.Redeliver {
			r.RedeliveryStorm = &st
		} else {
			r.Storm = &st
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// priceIt prices an incident's lifecycle and a million alarm events that
// join open incidents, and says what the figures assume.
func priceIt(r bench.Report, prices bench.Prices, memoryMB int) ([]bench.Priced, []string) {
	dup, _ := r.Step(stepDuplicate)
	cold, _ := r.Step(stepColdDuplicate)
	perIncident := r.Lifecycle.Usage(2, 1).Scale(1000)
	perEvent := dup.Usage(0, 1).Scale(1e6)
	perColdEvent := cold.Usage(0, 1).Scale(1e6)
	costs := []bench.Priced{
		{What: "per 1,000 incidents (open, page, acknowledge, resolve)", Usage: perIncident, Cost: prices.Cost(perIncident, memoryMB)},
		{What: "per million alarm events joining an open incident", Usage: perEvent, Cost: prices.Cost(perEvent, memoryMB)},
		{What: "the same, each on a function instance that has not seen the alarm", Usage: perColdEvent, Cost: prices.Cost(perColdEvent, memoryMB)},
	}
	notes := []string{
		"An incident here is a P0 opened by one CloudWatch alarm event, paged once, acknowledged through the API at 2 minutes and resolved at 20 (2 API Gateway requests), with every escalation execution it started run to its end.",
		fmt.Sprintf("Lambda: every invocation the pipeline made, each billed at its measured duration rounded up to the millisecond, at %d MB (infra/functions.go). The durations are measured here against dynalite on loopback; in AWS each DynamoDB call is a network round trip of a few milliseconds, so durations (not requests, units or transitions) will be longer.", memoryMB),
		"DynamoDB: on-demand request units worked out from item sizes by shared/local/dynamocount, writes to the global secondary indexes included.",
		"EventBridge: CloudWatch alarm state changes are AWS service events on the default event bus, free, and so is their delivery to the function.",
		"Not included: free tiers, CloudWatch Logs ingestion, Secrets Manager calls (the functions cache the keys), DynamoDB storage, data transfer.",
	}
	return costs, notes
}
