// Command devstack runs the incident-response pipeline on one machine:
// dynalite for DynamoDB, the state-machine definition the CDK app deploys
// on a local executor with a virtual clock, the Lambda handlers unchanged,
// and a recorder in place of PagerDuty's Events API.
//
//	devstack demo [SCENARIO]
//	devstack scenario SCENARIO
//	devstack replay [--repeat N] [--concurrency C] [--seed S] FILE...
//	devstack dev [--addr 127.0.0.1:8080] [--pagerduty-url URL] [--policy FILE]
//	             [--dynamodb-endpoint URL] [--table NAME]
//	             [--health-checks FILE] [--health-every D]
//	devstack token [--role R] [--email E] [--name N] [--ttl D]
//	devstack bench [--target devstack|alertmanager=URL] [--out FILE]
//
// Set DEVSTACK_LOG=debug|info|warn to see the handlers' logs on stderr.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"time"
)

// DemoScenario is the scenario `make demo` plays.
const DemoScenario = "events/scenarios/p0-api-outage-at-night.json"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	setupLogging()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "devstack:", err)
		os.Exit(1)
	}
}

func setupLogging() {
	var level slog.Level
	if err := level.UnmarshalText([]byte(os.Getenv("DEVSTACK_LOG"))); err != nil || os.Getenv("DEVSTACK_LOG") == "" {
		slog.SetDefault(slog.New(slog.DiscardHandler))
		return
	}
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})))
}

const usage = `usage:
  devstack demo [SCENARIO]      play the demo scenario (default ` + DemoScenario + `)
  devstack scenario SCENARIO    play a scenario file on the virtual clock
  devstack replay [--repeat N] [--concurrency C] [--seed S] FILE...
                                deliver events as EventBridge would and summarise
  devstack dev [--addr A] [--pagerduty-url URL] [--policy FILE]
               [--dynamodb-endpoint URL] [--table NAME]
               [--health-checks FILE] [--health-every D]
                                serve the API and POST /events on the real clock,
                                and run the health checks of FILE
  devstack token [--role R] [--email E] [--name N] [--ttl D]
                                print a token the dev server accepts for role R:
                                viewer, responder (default), commander, admin, none
  devstack bench [--target devstack|alertmanager=URL] [--out FILE]
                                measure latency, a storm, DynamoDB calls and cost`

func run(ctx context.Context, args []string, out io.Writer) error {
	if len(args) == 0 {
		return errors.New(usage)
	}
	switch args[0] {
	case "demo":
		path := DemoScenario
		if len(args) > 1 {
			path = args[1]
		}
		return runScenario(ctx, path, out)
	case "scenario":
		if len(args) != 2 {
			return errors.New("scenario needs exactly one file\n" + usage)
		}
		return runScenario(ctx, args[1], out)
	case "replay":
		return runReplay(ctx, args[1:], out)
	case "dev":
		return runDev(ctx, args[1:], out)
	case "token":
		return runToken(args[1:], out)
	case "bench":
		return runBench(ctx, args[1:], out)
	case "-h", "--help", "help":
		fmt.Fprintln(out, usage)
		return nil
	}
	return fmt.Errorf("unknown command %q\n%s", args[0], usage)
}

func runScenario(ctx context.Context, path string, out io.Writer) error {
	sc, err := LoadScenario(path)
	if err != nil {
		return err
	}
	s, err := NewStack(ctx, Options{Start: sc.Start})
	if err != nil {
		return err
	}
	defer s.Close()
	fmt.Fprintf(out, "Scenario: %s\nStarts %s, runs for %s on the virtual clock.\n", sc.Name, sc.Start.UTC().Format(time.RFC3339), time.Duration(sc.Until))
	sum, err := s.Play(ctx, sc)
	if err != nil {
		return err
	}
	if err := s.PrintTimeline(ctx, out, sc.Start); err != nil {
		return err
	}
	if err := s.PrintMessages(out); err != nil {
		return err
	}
	made := remediationsMade(sum)
	if sc.AWS != nil || made > 0 {
		printWorld(out, sum.AWS)
	}
	fmt.Fprintf(out, "%s delivered (%d rejected), %s, %s sent to PagerDuty, %s made, %s posted to Slack, %s.\n", plural(sum.Events, "event"), sum.Rejected,
		plural(len(sum.Incidents), "incident"), plural(sum.Pages, "page"), plural(made, "remediation"), plural(sum.Messages, "message"), plural(sum.Emails, "email"))
	line, err := json.Marshal(sum)
	if err != nil {
		return err
	}
	fmt.Fprintln(out, string(line))
	return CheckExpectations(sc, sum)
}

func runReplay(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	fs.SetOutput(out)
	repeat := fs.Int("repeat", 1, "deliver every event `N` times")
	concurrency := fs.Int("concurrency", 1, "deliver `C` events at a time")
	seed := fs.Uint64("seed", uint64(time.Now().UnixNano()), "shuffle seed")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return errors.New("replay needs at least one event file\n" + usage)
	}
	if *repeat < 1 || *concurrency < 1 {
		return errors.New("--repeat and --concurrency must be at least 1")
	}
	var events [][]byte
	for _, path := range fs.Args() {
		evs, err := ReadEvents(path)
		if err != nil {
			return err
		}
		events = append(events, evs...)
	}
	// The events are delivered as EventBridge would have delivered them:
	// when they happened, so the clock starts at the latest of them.
	s, err := NewStack(ctx, Options{Start: LatestEventTime(events)})
	if err != nil {
		return err
	}
	defer s.Close()
	began := time.Now()
	sum, err := s.Replay(ctx, events, ReplayOptions{Repeat: *repeat, Concurrency: *concurrency, Seed: *seed})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "Replayed %s from %s (%d distinct, x%d, %d at a time, seed %d) in %s.\n",
		plural(sum.Events, "event"), plural(fs.NArg(), "file"), len(events), *repeat, *concurrency, *seed, time.Since(began).Round(time.Millisecond))
	fmt.Fprintf(out, "Accepted %d, rejected %d, failed %d: %s, %s, %s sent to PagerDuty.\n",
		sum.Accepted, sum.Rejected, sum.Failed, plural(sum.Incidents, "incident"), plural(sum.Executions, "escalation"), plural(sum.Pages, "page"))
	for reason, n := range sum.Reasons {
		fmt.Fprintf(out, "  rejected x%d: %s\n", n, reason)
	}
	for _, f := range sum.Failures {
		fmt.Fprintf(out, "  failed: %s\n", f)
	}
	line, err := json.Marshal(sum)
	if err != nil {
		return err
	}
	fmt.Fprintln(out, string(line))
	return nil
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
