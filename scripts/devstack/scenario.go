package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/dashboarduz/incident-response/shared/auth"
	"github.com/dashboarduz/incident-response/shared/incident"
)

// Offset is a duration from a scenario's start, written like "15m" or
// "2h30m".
type Offset time.Duration

// UnmarshalJSON reads a Go duration string.
func (o *Offset) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("offset must be a string such as \"15m\"")
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("offset %q: %w", s, err)
	}
	if d < 0 {
		return fmt.Errorf("offset %q is negative", s)
	}
	*o = Offset(d)
	return nil
}

// Scenario is a story played on the virtual clock: events delivered at
// offsets from Start, the pipeline left running until Until.
type Scenario struct {
	Name  string    `json:"name"`
	Start time.Time `json:"start"`
	Until Offset    `json:"until"`
	Steps []Step    `json:"steps"`
	// Expect, when present, is checked against the summary; a mismatch
	// makes the run fail.
	Expect []ExpectedIncident `json:"expect,omitempty"`
	// AWS sets the AWS stand-in's world and faults, and says what the
	// world must end as.
	AWS *ScenarioAWS `json:"aws,omitempty"`
	// Endpoints are the application's /health and /health/queues answers
	// at the start, by path, over the healthy defaults.
	Endpoints map[string]Endpoint `json:"endpoints,omitempty"`
}

// Step is one thing that happens in a scenario: an event delivered as
// EventBridge would, or a call to the API.
type Step struct {
	At Offset `json:"at"`
	// Event is a file path (relative to the current directory, or
	// absolute) or an inline event.
	Event json.RawMessage `json:"event,omitempty"`
	// Call is an API request line such as "POST
	// /incidents/{incident}/acknowledge"; {incident} stands for the most
	// recently opened incident. It goes through the API handler with a
	// valid token for the role As names.
	Call string `json:"call,omitempty"`
	// As is the role the call is made with (viewer, responder, commander,
	// admin); empty means responder.
	As string `json:"as,omitempty"`
	// Body is the call's JSON body.
	Body json.RawMessage `json:"body,omitempty"`
	// ExpectStatus, when set, is the HTTP status the call must get;
	// otherwise any status of 400 or more fails the scenario.
	ExpectStatus int `json:"expectStatus,omitempty"`
	// Endpoint changes an answer of the application's endpoints, e.g.
	// the queues draining.
	Endpoint *EndpointChange `json:"endpoint,omitempty"`
}

// ExpectedIncident is what a scenario expects of one incident, in the
// order the incidents opened.
type ExpectedIncident struct {
	Severity incident.Severity `json:"severity"`
	Status   incident.Status   `json:"status"`
	Pages    []PageSummary     `json:"pages"`
	// Breaches, when present, must match the incident's breaches.
	Breaches []BreachSummary `json:"breaches,omitempty"`
	// Remediations, when present, must match the incident's.
	Remediations []RemediationSummary `json:"remediations,omitempty"`
}

// ScenarioSummary is the one-line JSON result of a scenario.
type ScenarioSummary struct {
	Scenario string `json:"scenario"`
	Events   int    `json:"events"`
	Rejected int    `json:"rejected"`
	Calls    int    `json:"calls"`
	Pages    int    `json:"pages"`
	// Messages and Emails count the Slack messages posted and the
	// emails sent.
	Messages  int               `json:"messages"`
	Emails    int               `json:"emails"`
	Incidents []IncidentSummary `json:"incidents"`
	// AWS is the AWS stand-in's world at the end.
	AWS *WorldSummary `json:"aws,omitempty"`
}

// IncidentSummary is one incident in a scenario summary.
type IncidentSummary struct {
	ID       string            `json:"id"`
	Severity incident.Severity `json:"severity"`
	Service  string            `json:"service"`
	Category incident.Category `json:"category"`
	Status   incident.Status   `json:"status"`
	Episodes int               `json:"episodes"`
	Flapping bool              `json:"flapping,omitempty"`
	Pages    []PageSummary     `json:"pages"`
	Breaches []BreachSummary   `json:"breaches"`
	// Remediations are the incident's remediations, in the order they
	// were decided.
	Remediations []RemediationSummary `json:"remediations"`
}

// PageSummary is one page, at an offset from the scenario start. Failure
// is set for a page that could not be delivered.
type PageSummary struct {
	Level     int    `json:"level"`
	LevelName string `json:"levelName,omitempty"`
	At        string `json:"at"`
	Episode   int    `json:"episode,omitempty"`
	Failure   string `json:"failure,omitempty"`
}

// BreachSummary is one missed target, at an offset from the scenario
// start.
type BreachSummary struct {
	Target string `json:"target"`
	At     string `json:"at"`
}

// LoadScenario reads and checks a scenario file.
func LoadScenario(path string) (Scenario, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Scenario{}, err
	}
	var sc Scenario
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&sc); err != nil {
		return Scenario{}, fmt.Errorf("scenario %s: %w", path, err)
	}
	if sc.Start.IsZero() {
		return Scenario{}, fmt.Errorf("scenario %s: start is missing", path)
	}
	if sc.AWS != nil {
		if err := sc.AWS.load(); err != nil {
			return Scenario{}, fmt.Errorf("scenario %s: %w", path, err)
		}
	}
	for i, st := range sc.Steps {
		hasEvent := len(bytes.TrimSpace(st.Event)) > 0
		switch {
		case st.Endpoint != nil:
			if hasEvent || st.Call != "" || st.Endpoint.Path == "" {
				return Scenario{}, fmt.Errorf("scenario %s: step %d: an endpoint step needs a path and no event or call", path, i+1)
			}
		case hasEvent == (st.Call != ""):
			return Scenario{}, fmt.Errorf("scenario %s: step %d needs exactly one of event, call and endpoint", path, i+1)
		case st.Call != "":
			if _, _, err := parseCall(st.Call); err != nil {
				return Scenario{}, fmt.Errorf("scenario %s: step %d: %w", path, i+1, err)
			}
			if _, err := st.caller(); err != nil {
				return Scenario{}, fmt.Errorf("scenario %s: step %d: %w", path, i+1, err)
			}
		case len(st.Body) > 0 || st.ExpectStatus != 0 || st.As != "":
			return Scenario{}, fmt.Errorf("scenario %s: step %d: body, as and expectStatus go with a call", path, i+1)
		}
		if time.Duration(st.At) > time.Duration(sc.Until) {
			return Scenario{}, fmt.Errorf("scenario %s: step %d at %s is after until %s", path, i+1, time.Duration(st.At), time.Duration(sc.Until))
		}
	}
	if sc.Name == "" {
		sc.Name = path
	}
	return sc, nil
}

// Play runs the scenario on the stack, which must run on the virtual clock,
// and returns its summary.
func (s *Stack) Play(ctx context.Context, sc Scenario) (ScenarioSummary, error) {
	if s.Virtual == nil {
		return ScenarioSummary{}, errors.New("a scenario plays on the virtual clock; this stack runs in real time")
	}
	s.Virtual.Set(sc.Start)
	if err := s.setUp(sc); err != nil {
		return ScenarioSummary{}, err
	}
	steps := append([]Step(nil), sc.Steps...)
	sort.SliceStable(steps, func(i, j int) bool { return steps[i].At < steps[j].At })
	sum := ScenarioSummary{Scenario: sc.Name}
	for i, st := range steps {
		at := sc.Start.Add(time.Duration(st.At))
		if err := s.Exec.RunUntil(ctx, at); err != nil {
			return sum, err
		}
		if st.Endpoint != nil {
			s.App.Set(st.Endpoint.Path, st.Endpoint.Endpoint)
			continue
		}
		if st.Call != "" {
			sum.Calls++
			if err := s.call(ctx, st); err != nil {
				return sum, fmt.Errorf("step %d (%s at %s): %w", i+1, st.Call, time.Duration(st.At), err)
			}
			if err := s.Exec.RunReady(ctx); err != nil {
				return sum, err
			}
			continue
		}
		raw, err := stepEvent(st.Event)
		if err != nil {
			return sum, fmt.Errorf("step %d: %w", i+1, err)
		}
		raw = AtTime(raw, at)
		sum.Events++
		if _, err := s.Deliver(ctx, raw); err != nil {
			if !Rejected(err) {
				return sum, fmt.Errorf("step %d: %w", i+1, err)
			}
			sum.Rejected++
		}
		if err := s.Exec.RunReady(ctx); err != nil {
			return sum, err
		}
	}
	if err := s.Exec.RunUntil(ctx, sc.Start.Add(time.Duration(sc.Until))); err != nil {
		return sum, err
	}
	incs, err := s.Incidents(ctx)
	if err != nil {
		return sum, err
	}
	for _, inc := range incs {
		is := IncidentSummary{ID: inc.ID, Severity: inc.Severity, Service: inc.Service, Category: inc.Category, Status: inc.Status,
			Episodes: inc.Episode + 1, Flapping: inc.Flapping, Pages: []PageSummary{}, Breaches: []BreachSummary{}, Remediations: remediationSummaries(inc)}
		for _, p := range inc.Pages {
			is.Pages = append(is.Pages, PageSummary{Level: p.Level, LevelName: p.LevelName, At: p.At.Sub(sc.Start).String(), Episode: p.Episode, Failure: p.Failure})
		}
		for _, b := range inc.Breaches {
			is.Breaches = append(is.Breaches, BreachSummary{Target: b.Target, At: b.At.Sub(sc.Start).String()})
		}
		sum.Incidents = append(sum.Incidents, is)
	}
	sum.Pages = s.Recorder.Triggers()
	sum.Messages, sum.Emails = s.sentMessages()
	sum.AWS = s.worldSummary()
	return sum, nil
}

// stepEvent returns the event of a step: inline, or read from the file a
// JSON string names.
func stepEvent(ev json.RawMessage) ([]byte, error) {
	var path string
	if json.Unmarshal(ev, &path) != nil {
		return ev, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("event file: %w", err)
	}
	return b, nil
}

// cloudWatchTime is the timestamp layout CloudWatch uses inside alarm
// states.
const cloudWatchTime = "2006-01-02T15:04:05.000-0700"

// eventTimeFields are the detail fields ECS and RDS events are dated by.
var eventTimeFields = []string{"updatedAt", "createdAt", "stoppingAt", "stoppedAt", "executionStoppedAt", "Date"}

// AtTime returns the event as it would be if it happened at t: its time,
// its alarm state's timestamp and the times an ECS or RDS event's detail
// is dated by are set to t. An event that is not a JSON object is
// returned unchanged.
func AtTime(raw []byte, t time.Time) []byte {
	var ev map[string]any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if dec.Decode(&ev) != nil {
		return raw
	}
	t = t.UTC()
	if _, ok := ev["time"]; ok {
		if _, direct := ev["alarmData"]; direct {
			ev["time"] = t.Format(cloudWatchTime)
		} else {
			ev["time"] = t.Format(time.RFC3339)
		}
	}
	for _, key := range []string{"detail", "alarmData"} {
		if d, ok := ev[key].(map[string]any); ok {
			if st, ok := d["state"].(map[string]any); ok {
				st["timestamp"] = t.Format(cloudWatchTime)
			}
		}
	}
	if d, ok := ev["detail"].(map[string]any); ok {
		// ECS and RDS events date themselves in their details.
		for _, field := range eventTimeFields {
			if _, ok := d[field].(string); ok {
				d[field] = t.Format(time.RFC3339Nano)
			}
		}
	}
	out, err := json.Marshal(ev)
	if err != nil {
		return raw
	}
	return out
}

// CheckExpectations compares a summary with the scenario's expectations.
func CheckExpectations(sc Scenario, sum ScenarioSummary) error {
	var problems []string
	if sc.AWS != nil {
		problems = append(problems, checkWorld(sc.AWS.Expect, sum.AWS)...)
	}
	if sc.Expect == nil {
		return failed(sc, problems)
	}
	if len(sum.Incidents) != len(sc.Expect) {
		problems = append(problems, fmt.Sprintf("%d incidents, want %d", len(sum.Incidents), len(sc.Expect)))
	}
	for i := 0; i < len(sc.Expect) && i < len(sum.Incidents); i++ {
		want, got := sc.Expect[i], sum.Incidents[i]
		if want.Severity != "" && want.Severity != got.Severity {
			problems = append(problems, fmt.Sprintf("incident %d: severity %s, want %s", i+1, got.Severity, want.Severity))
		}
		if want.Status != "" && want.Status != got.Status {
			problems = append(problems, fmt.Sprintf("incident %d: status %s, want %s", i+1, got.Status, want.Status))
		}
		if fmt.Sprint(pageKeys(want.Pages)) != fmt.Sprint(pageKeys(got.Pages)) {
			problems = append(problems, fmt.Sprintf("incident %d: pages %v, want %v", i+1, pageKeys(got.Pages), pageKeys(want.Pages)))
		}
		if want.Breaches != nil && fmt.Sprint(want.Breaches) != fmt.Sprint(got.Breaches) {
			problems = append(problems, fmt.Sprintf("incident %d: breaches %v, want %v", i+1, got.Breaches, want.Breaches))
		}
		if want.Remediations != nil && fmt.Sprint(want.Remediations) != fmt.Sprint(got.Remediations) {
			problems = append(problems, fmt.Sprintf("incident %d: remediations %v, want %v", i+1, got.Remediations, want.Remediations))
		}
	}
	return failed(sc, problems)
}

// failed is the error of a scenario with problems, nil without.
func failed(sc Scenario, problems []string) error {
	if len(problems) > 0 {
		return fmt.Errorf("scenario %q did not go as expected: %s", sc.Name, strings.Join(problems, "; "))
	}
	return nil
}

func pageKeys(ps []PageSummary) []string {
	out := []string{}
	for _, p := range ps {
		k := fmt.Sprintf("level %d at %s", p.Level, p.At)
		if p.Episode > 0 {
			k += fmt.Sprintf(" (episode %d)", p.Episode)
		}
		if p.Failure != "" {
			k += " (undelivered)"
		}
		out = append(out, k)
	}
	return out
}

// parseCall splits a call line such as "POST /incidents/{incident}/resolve".
func parseCall(line string) (method, path string, err error) {
	method, path, ok := strings.Cut(strings.TrimSpace(line), " ")
	path = strings.TrimSpace(path)
	switch {
	case !ok || path == "":
		return "", "", fmt.Errorf("call %q is not \"METHOD /path\"", line)
	case method != strings.ToUpper(method):
		return "", "", fmt.Errorf("call %q: method must be upper case", line)
	case !strings.HasPrefix(path, "/"):
		return "", "", fmt.Errorf("call %q: path must start with /", line)
	}
	return method, path, nil
}

// caller is the identity a call step is made as.
func (st Step) caller() (auth.Identity, error) {
	if st.As == "" {
		return Responder, nil
	}
	r, err := auth.ParseRole(st.As)
	if err != nil {
		return auth.Identity{}, fmt.Errorf("as: %w", err)
	}
	return Caller(r), nil
}

// call makes a scenario's API call through the API handler with a valid
// token for the step's role, as a responder would.
func (s *Stack) call(ctx context.Context, st Step) error {
	method, path, err := parseCall(st.Call)
	if err != nil {
		return err
	}
	who, err := st.caller()
	if err != nil {
		return err
	}
	if strings.Contains(path, "{incident}") {
		latest, err := s.LatestIncident(ctx)
		if err != nil {
			return err
		}
		path = strings.ReplaceAll(path, "{incident}", latest)
	}
	token, err := s.Token(who, time.Hour)
	if err != nil {
		return err
	}
	var body io.Reader
	if len(st.Body) > 0 {
		body = bytes.NewReader(st.Body)
	}
	req := httptest.NewRequestWithContext(ctx, method, path, body)
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	rec := httptest.NewRecorder()
	s.API.ServeHTTP(rec, req)
	switch {
	case st.ExpectStatus != 0 && rec.Code != st.ExpectStatus:
		return fmt.Errorf("status %d, want %d: %s", rec.Code, st.ExpectStatus, strings.TrimSpace(rec.Body.String()))
	case st.ExpectStatus == 0 && rec.Code >= 400:
		return fmt.Errorf("status %d: %s", rec.Code, strings.TrimSpace(rec.Body.String()))
	}
	return nil
}

// LatestIncident returns the ID of the most recently opened incident.
func (s *Stack) LatestIncident(ctx context.Context) (string, error) {
	incs, err := s.Incidents(ctx)
	if err != nil {
		return "", err
	}
	if len(incs) == 0 {
		return "", errors.New("{incident}: no incident has opened yet")
	}
	return incs[len(incs)-1].ID, nil
}

// PrintTimeline writes every incident's timeline as a person reads it,
// with virtual timestamps and offsets from start.
func (s *Stack) PrintTimeline(ctx context.Context, w io.Writer, start time.Time) error {
	incs, err := s.Incidents(ctx)
	if err != nil {
		return err
	}
	if len(incs) == 0 {
		fmt.Fprintln(w, "No incidents.")
	}
	for _, inc := range incs {
		fmt.Fprintf(w, "\n%s  %s %s  %s  %s  status: %s\n", inc.ID, inc.Severity, inc.Severity.Name(), inc.Service, inc.Category, inc.Status)
		fmt.Fprintf(w, "  %s\n", inc.Title)
		entries, err := s.Store.Timeline(ctx, inc.ID)
		if err != nil {
			return err
		}
		for _, e := range entries {
			text := strings.ReplaceAll(e.Text, "\n", "\n"+strings.Repeat(" ", 53))
			fmt.Fprintf(w, "  %s  %-8s  %-17s  %s\n", e.At.UTC().Format("2006-01-02 15:04:05Z"), "+"+e.At.Sub(start).String(), e.Kind, text)
		}
	}
	fmt.Fprintln(w)
	return nil
}
