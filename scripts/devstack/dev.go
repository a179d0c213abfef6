package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/smithy-go/middleware"

	"github.com/dashboarduz/incident-response/shared/auth"
	"github.com/dashboarduz/incident-response/shared/health"
	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/ingest"
)

// DefaultKeyFile is where the dev server and `devstack token` keep the
// local token-signing key, relative to the current directory; the
// DEVSTACK_KEY_FILE environment variable overrides it.
const DefaultKeyFile = ".devstack/jwt-key.pem"

// keyFile returns the local signing key's path.
func keyFile() string {
	if p := os.Getenv("DEVSTACK_KEY_FILE"); p != "" {
		return p
	}
	return DefaultKeyFile
}

// loadIssuer loads (or creates) the key the dev server and the token
// command share.
func loadIssuer(clock incident.Clock) (*auth.LocalIssuer, error) {
	path := keyFile()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	return auth.LoadOrCreateLocalIssuer(path, LocalIssuer, LocalAudience, clock)
}

// runToken prints a token the dev server accepts, for the role --role
// names (responder by default; none makes a token that grants no role).
func runToken(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	fs.SetOutput(out)
	role := fs.String("role", auth.Responder.String(), "the caller's `role`: viewer, responder, commander, admin, or none")
	email := fs.String("email", "", "the caller's verified `email`, recorded on the timeline (default <role>@dashboarduz.local)")
	name := fs.String("name", "", "the caller's `name` (default Local <Role>)")
	ttl := fs.Duration("ttl", 12*time.Hour, "how long the token is valid")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("token: unexpected arguments %q", fs.Args())
	}
	id := auth.Identity{Subject: "devstack-none", Email: "none@dashboarduz.local", EmailVerified: true, Name: "Local Nobody"}
	if *role != "none" {
		r, err := auth.ParseRole(*role)
		if err != nil {
			return fmt.Errorf("token --role: %w", err)
		}
		id = Caller(r)
	}
	if *email != "" {
		id.Email, id.Subject = *email, "devstack:"+*email
	}
	if *name != "" {
		id.Name = *name
	}
	iss, err := loadIssuer(incident.SystemClock{})
	if err != nil {
		return err
	}
	token, err := iss.Token(id, *ttl)
	if err != nil {
		return err
	}
	fmt.Fprintln(out, token)
	return nil
}

// DevOptions configures the dev server.
type DevOptions struct {
	Addr         string
	PagerDutyURL string
	Policy       *incident.Policy
	// DynamoEndpoint is an already running DynamoDB endpoint; empty starts
	// dynalite.
	DynamoEndpoint string
	// Table is the table to use there, created when missing; empty picks
	// a fresh one.
	Table string
	// DynamoAPIOptions go on the DynamoDB client's middleware stack.
	DynamoAPIOptions []func(*middleware.Stack) error
	// HealthChecks, when set, are run on the real clock every
	// HealthEvery (zero: the checks' shortest interval), their signals
	// ingested as the health-check function's are.
	HealthChecks *health.Config
	HealthEvery  time.Duration
}

// runDev serves the API and the events endpoint on the real clock until
// ctx ends.
func runDev(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("dev", flag.ContinueOnError)
	fs.SetOutput(out)
	addr := fs.String("addr", "127.0.0.1:8080", "listen `address` (loopback only)")
	pdURL := fs.String("pagerduty-url", os.Getenv("PAGERDUTY_EVENTS_URL"), "PagerDuty Events API v2 `URL` to page (default: the built-in recorder)")
	policyFile := fs.String("policy", "", "escalation policy `file` (default: the embedded runbook policy)")
	ddbEndpoint := fs.String("dynamodb-endpoint", "", "an existing DynamoDB `URL`, e.g. DynamoDB Local's (default: start dynalite)")
	table := fs.String("table", "", "the DynamoDB table `name`, created when missing (default: a fresh one)")
	checks := fs.String("health-checks", "", "run the health checks of this `file` (the HEALTH_CHECKS format) on the real clock")
	every := fs.Duration("health-every", 0, "how often to run the health checks (default: their shortest interval)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	opts := DevOptions{Addr: *addr, PagerDutyURL: *pdURL, DynamoEndpoint: *ddbEndpoint, Table: *table, HealthEvery: *every}
	if *checks != "" {
		cfg, err := loadHealthChecks(*checks)
		if err != nil {
			return fmt.Errorf("--health-checks: %w", err)
		}
		opts.HealthChecks = cfg
	}
	if *policyFile != "" {
		b, err := os.ReadFile(*policyFile)
		if err != nil {
			return err
		}
		p, err := incident.ParsePolicy(b)
		if err != nil {
			return err
		}
		opts.Policy = &p
	}
	return Dev(ctx, opts, out, nil)
}

// Dev runs the local stack on the real clock and serves it on opts.Addr:
// POST /events takes EventBridge events, GET /dev/pagerduty lists what the
// built-in recorder received, GET /dev/slack and /dev/email what was
// posted and emailed (see devCommsRoutes), and every other path is the
// incident API (Sentry webhooks signed with DefaultSentrySecret included).
// With opts.HealthChecks, the health checks run on the real clock too.
// Escalations run in real time, each in its own goroutine from the moment
// its incident opens, as Step Functions runs them: POST /events answers
// once its events are ingested, and waits for no escalation. ready, when
// not nil, receives the listening address.
func Dev(ctx context.Context, opts DevOptions, out io.Writer, ready chan<- string) error {
	host, _, err := net.SplitHostPort(opts.Addr)
	if err != nil {
		return fmt.Errorf("--addr %q: %w", opts.Addr, err)
	}
	if !loopbackHost(host) {
		return fmt.Errorf("--addr %q: the dev server listens on a loopback address only", opts.Addr)
	}
	s, err := NewStack(ctx, Options{RealTime: true, PagerDutyURL: opts.PagerDutyURL, Policy: opts.Policy,
		DynamoEndpoint: opts.DynamoEndpoint, Table: opts.Table, DynamoAPIOptions: opts.DynamoAPIOptions})
	if err != nil {
		return err
	}
	defer s.Close()
	if s.Issuer, err = loadIssuer(s.Clock); err != nil {
		return err
	}
	if err := s.rebuildAPI(); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return err
	}
	if opts.HealthChecks != nil {
		every := opts.HealthEvery
		if every <= 0 {
			every = healthEvery(*opts.HealthChecks)
		}
		// Stopped, and waited for, before the stack closes under it.
		hctx, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			runHealthChecks(hctx, s.HealthHandler(*opts.HealthChecks, nil), every, out)
		}()
		defer func() { stop(); <-done }()
		fmt.Fprintf(out, "Health checks: %d, every %s\n", len(opts.HealthChecks.Checks), every)
	}
	srv := &http.Server{Handler: s.DevHandler(), ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	pd := "the built-in recorder (GET /dev/pagerduty)"
	if opts.PagerDutyURL != "" {
		pd = opts.PagerDutyURL
	}
	ddb := "dynalite, in memory"
	if opts.DynamoEndpoint != "" {
		ddb = opts.DynamoEndpoint
	}
	fmt.Fprintf(out, "Incident API on http://%s (tokens: go run ./scripts/devstack token)\nEventBridge events: POST http://%s/events\nSentry webhooks: POST http://%s/webhooks/sentry (client secret %s)\nPagerDuty Events API: %s\nSlack: GET http://%s/dev/slack, email: GET http://%s/dev/email\nDynamoDB: %s, table %s\nPress Ctrl-C to stop.\n",
		ln.Addr(), ln.Addr(), ln.Addr(), s.sentrySecret, pd, ln.Addr(), ln.Addr(), ddb, s.Table)
	if ready != nil {
		ready <- ln.Addr().String()
	}
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if serr := srv.Shutdown(shutdown); serr != nil && err == nil {
		err = serr
	}
	if errors.Is(err, http.ErrServerClosed) || errors.Is(err, context.Canceled) {
		err = nil
	}
	return err
}

// maxEventsBody is PutEvents' limit on a request's size.
const maxEventsBody = 256 << 10

// DevHandler is the dev server's handler.
func (s *Stack) DevHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /events", s.serveEvents)
	// Waits until no escalation runs a step (its follow-ups done, each
	// waiting for a deadline or finished): make bench measures each alarm
	// of its latency run on an idle stack.
	mux.HandleFunc("POST /dev/settle", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), time.Minute)
		defer cancel()
		if err := s.Exec.RunReady(ctx); err != nil {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "the escalations did not settle within a minute"})
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /dev/pagerduty", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"events": s.Recorder.Events()})
	})
	s.devCommsRoutes(mux)
	s.devRunbookRoutes(mux)
	mux.Handle("/", s.API)
	return mux
}

// PutEventsEntry is one entry of an EventBridge PutEvents request.
type PutEventsEntry struct {
	Source       string   `json:"Source"`
	DetailType   string   `json:"DetailType"`
	Detail       string   `json:"Detail"`
	Time         string   `json:"Time,omitempty"`
	Resources    []string `json:"Resources,omitempty"`
	EventBusName string   `json:"EventBusName,omitempty"`
}

// EventResult is what happened to one event: PutEvents' EventId or
// ErrorCode and ErrorMessage, plus what the stack did with it.
type EventResult struct {
	EventID      string             `json:"EventId,omitempty"`
	ErrorCode    string             `json:"ErrorCode,omitempty"`
	ErrorMessage string             `json:"ErrorMessage,omitempty"`
	Route        incident.RouteKind `json:"Route,omitempty"`
	IncidentID   string             `json:"IncidentId,omitempty"`
	Reason       string             `json:"Reason,omitempty"`
}

// serveEvents takes one EventBridge event, or a PutEvents request
// ({"Entries": [...]}), and delivers each event as the stack's rule would.
// The answer has PutEvents' shape: FailedEntryCount and one result per
// event, in order. With ?at=now, each event's time and alarm-state
// timestamp become the current time, so a sample file acts as a state
// change happening now.
func (s *Stack) serveEvents(w http.ResponseWriter, r *http.Request) {
	restamp := false
	switch at := r.URL.Query().Get("at"); at {
	case "":
	case "now":
		restamp = true
	default:
		writeJSON(w, http.StatusBadRequest, errorBody("invalid", fmt.Sprintf("at=%q: the only value is now", at), "at"))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxEventsBody))
	if err != nil {
		writeJSON(w, http.StatusRequestEntityTooLarge, errorBody("invalid", fmt.Sprintf("the request is larger than PutEvents' limit of %d bytes", maxEventsBody), ""))
		return
	}
	events, err := eventsOf(body)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, errorBody("invalid", err.Error(), "Entries"))
		return
	}
	var resp struct {
		FailedEntryCount int           `json:"FailedEntryCount"`
		Entries          []EventResult `json:"Entries"`
	}
	for _, ev := range events {
		if ev.err != nil {
			resp.FailedEntryCount++
			resp.Entries = append(resp.Entries, EventResult{ErrorCode: "InvalidArgument", ErrorMessage: ev.err.Error()})
			continue
		}
		if restamp {
			ev.raw = AtTime(ev.raw, s.Clock.Now())
		}
		res, err := s.Deliver(r.Context(), ev.raw)
		er := EventResult{EventID: ev.id, Route: res.Route, IncidentID: res.IncidentID, Reason: res.Reason}
		var norule *NoRuleError
		var invalid *ingest.InvalidEventError
		switch {
		case errors.As(err, &norule):
			// EventBridge accepts an event no rule matches; it goes nowhere.
			er.Route, er.Reason = incident.RouteIgnore, err.Error()
		case errors.As(err, &invalid):
			// In AWS the event lands in the ingest dead-letter queue.
			resp.FailedEntryCount++
			er.ErrorCode, er.ErrorMessage = "RejectedToDeadLetterQueue", err.Error()
		case err != nil:
			resp.FailedEntryCount++
			er.ErrorCode, er.ErrorMessage = "InternalFailure", err.Error()
		}
		resp.Entries = append(resp.Entries, er)
	}
	writeJSON(w, http.StatusOK, resp)
}

type devEvent struct {
	id  string
	raw []byte
	err error
}

// eventsOf reads a request body: a PutEvents request or one event.
func eventsOf(body []byte) ([]devEvent, error) {
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(body, &probe); err != nil {
		return nil, fmt.Errorf("the body is not a JSON object: %v", err)
	}
	entriesRaw, isPut := probe["Entries"]
	if !isPut {
		var id string
		if json.Unmarshal(probe["id"], &id) != nil || id == "" {
			id = hashID(body)
		}
		return []devEvent{{id: id, raw: body}}, nil
	}
	var entries []PutEventsEntry
	dec := json.NewDecoder(bytes.NewReader(entriesRaw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&entries); err != nil {
		return nil, fmt.Errorf("field Entries: %v", err)
	}
	if len(entries) == 0 || len(entries) > 10 {
		return nil, fmt.Errorf("field Entries holds %d events; PutEvents takes 1 to 10", len(entries))
	}
	out := make([]devEvent, len(entries))
	for i, e := range entries {
		raw, err := envelope(e)
		out[i] = devEvent{raw: raw, err: err}
		if err == nil {
			out[i].id = eventID(raw)
		}
	}
	return out, nil
}

// envelope builds the event EventBridge would deliver for a PutEvents
// entry.
func envelope(e PutEventsEntry) ([]byte, error) {
	switch {
	case e.Source == "":
		return nil, errors.New("field Source is required")
	case e.DetailType == "":
		return nil, errors.New("field DetailType is required")
	case !json.Valid([]byte(e.Detail)) || !strings.HasPrefix(strings.TrimSpace(e.Detail), "{"):
		return nil, errors.New("field Detail must be a JSON object in a string")
	}
	at := time.Now().UTC()
	if e.Time != "" {
		t, err := time.Parse(time.RFC3339, e.Time)
		if err != nil {
			return nil, fmt.Errorf("field Time %q is not RFC 3339", e.Time)
		}
		at = t.UTC()
	}
	resources := e.Resources
	if resources == nil {
		resources = []string{}
	}
	return json.Marshal(map[string]any{
		"version": "0", "id": eventID([]byte(e.Source + e.DetailType + e.Detail + at.String())),
		"detail-type": e.DetailType, "source": e.Source, "account": "000000000000",
		"time": at.Format(time.RFC3339), "region": "us-east-1", "resources": resources,
		"detail": json.RawMessage(e.Detail),
	})
}

// eventID derives an event ID from its bytes, so the answer names each
// event the same way every time.
func eventID(b []byte) string {
	var ev struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(b, &ev) == nil && ev.ID != "" {
		return ev.ID
	}
	return hashID(b)
}

// hashID is the ID of an event without one: a hash of its bytes.
func hashID(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func errorBody(code, message, field string) map[string]any {
	e := map[string]string{"code": code, "message": message}
	if field != "" {
		e["field"] = field
	}
	return map[string]any{"error": e}
}
