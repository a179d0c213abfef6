package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/dashboarduz/incident-response/shared/health"
)

// HealthHandler is the health-check function's handler on the stack: the
// checks of cfg, called through client (nil: a plain http.Client, each
// request bounded by its check's timeout), their states kept in the
// stack's table and their signals handed to the stack's ingest, as the
// function wires them in AWS.
func (s *Stack) HealthHandler(cfg health.Config, client health.Doer) *health.Handler {
	if client == nil {
		client = &http.Client{}
	}
	return &health.Handler{
		Config:   cfg,
		Checker:  &health.Checker{Client: client, Clock: s.Clock},
		Store:    s.Store,
		Ingester: s.Ingest,
	}
}

// loadHealthChecks reads a health-check configuration file, in the format
// of the HEALTH_CHECKS document (shared/health/checks.json).
func loadHealthChecks(path string) (*health.Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	cfg, err := health.ParseConfig(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &cfg, nil
}

// healthEvery is how often the dev server runs the checks: the shortest
// interval among them, as one schedule runs them all.
func healthEvery(cfg health.Config) time.Duration {
	every := health.DefaultInterval
	for i, ch := range cfg.Checks {
		if d := ch.Interval.D(); i == 0 || d < every {
			every = d
		}
	}
	return every
}

// runHealthChecks runs h now and then every interval until ctx ends, as
// the schedule runs the function, and writes a line per check and run to
// out: its verdict, why it failed, and what its signals did.
func runHealthChecks(ctx context.Context, h *health.Handler, every time.Duration, out io.Writer) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		rep, err := h.Handle(ctx)
		if ctx.Err() != nil {
			return
		}
		for _, cr := range rep.Checks {
			fmt.Fprintln(out, healthLine(cr))
		}
		if err != nil {
			fmt.Fprintf(out, "health checks: %v (the next run tries again)\n", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// healthLine is one check's line in the dev server's output.
func healthLine(cr health.CheckReport) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s health check %s: ", time.Now().UTC().Format(time.TimeOnly), cr.Check)
	if cr.OK {
		b.WriteString("passes")
	} else {
		b.WriteString("fails: " + strings.Join(cr.Reasons, "; "))
	}
	switch {
	case cr.Flapping:
		b.WriteString(" [flapping]")
	case cr.Firing:
		b.WriteString(" [firing]")
	}
	for _, sig := range cr.Signals {
		fmt.Fprintf(&b, " -> %s signal: %s %s", sig.State, sig.Route, sig.IncidentID)
	}
	if cr.Problem != "" {
		b.WriteString(" (not kept: " + cr.Problem + ")")
	}
	return b.String()
}
