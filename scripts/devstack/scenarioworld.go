package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"sort"
	"strings"

	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/local/awslocal"
)

// ScenarioAWS is what a scenario does to the AWS stand-in: the world it
// starts with (laid over DefaultWorld, see MergeWorld), the faults it
// answers with, and what the world must have ended as.
type ScenarioAWS struct {
	// World is an awslocal world, inline or as the path of a JSON file.
	World  json.RawMessage   `json:"world,omitempty"`
	Faults []awslocal.Fault  `json:"faults,omitempty"`
	Expect *WorldExpectation `json:"expect,omitempty"`

	world *awslocal.World
}

// WorldExpectation is what the AWS world must have ended as.
type WorldExpectation struct {
	Services   []ServiceExpectation   `json:"services,omitempty"`
	Parameters []ParameterExpectation `json:"parameters,omitempty"`
	// Calls counts the calls AWS answered ok, by "service:Operation",
	// e.g. {"ecs:UpdateService": 1}.
	Calls map[string]int `json:"calls,omitempty"`
}

// ServiceExpectation is what an ECS service must have ended as; fields
// left out are not checked.
type ServiceExpectation struct {
	Cluster        string `json:"cluster"`
	Name           string `json:"name"`
	DesiredCount   *int32 `json:"desiredCount,omitempty"`
	RunningCount   *int32 `json:"runningCount,omitempty"`
	TaskDefinition string `json:"taskDefinition,omitempty"`
	// Deployments counts the deployments the service had, the INACTIVE
	// history included.
	Deployments *int `json:"deployments,omitempty"`
}

// ParameterExpectation is what an SSM parameter must hold.
type ParameterExpectation struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// EndpointChange sets one answer of the application's endpoints.
type EndpointChange struct {
	Path string `json:"path"`
	Endpoint
}

// WorldSummary is the AWS world as a scenario left it: each ECS
// service's counts and task definition, each parameter, and the calls
// AWS answered ok.
type WorldSummary struct {
	Services   []ServiceSummary  `json:"services"`
	Parameters map[string]string `json:"parameters"`
	Calls      map[string]int    `json:"calls"`
}

// ServiceSummary is one ECS service at the end of a scenario.
type ServiceSummary struct {
	Cluster        string `json:"cluster"`
	Name           string `json:"name"`
	DesiredCount   int32  `json:"desiredCount"`
	RunningCount   int32  `json:"runningCount"`
	TaskDefinition string `json:"taskDefinition"`
	Deployments    int    `json:"deployments"`
}

// RemediationSummary is one remediation of an incident: its action, its
// state and, once put back or left, its undo.
type RemediationSummary struct {
	Action string `json:"action"`
	State  string `json:"state"`
	Undo   string `json:"undo,omitempty"`
}

// Key is the remediation as the scenario table writes it:
// action:state[:undo].
func (r RemediationSummary) Key() string {
	k := r.Action + ":" + r.State
	if r.Undo != "" {
		k += ":" + r.Undo
	}
	return k
}

func remediationSummaries(inc incident.Incident) []RemediationSummary {
	out := []RemediationSummary{}
	for _, r := range inc.Remediations {
		out = append(out, RemediationSummary{Action: string(r.Action), State: string(r.State), Undo: string(r.UndoState)})
	}
	return out
}

// load reads the scenario's world: inline, or from the file a JSON
// string names; unknown fields are refused.
func (a *ScenarioAWS) load() error {
	raw := bytes.TrimSpace(a.World)
	if len(raw) == 0 {
		return nil
	}
	var path string
	if json.Unmarshal(raw, &path) == nil {
		b, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("aws.world: %w", err)
		}
		raw = b
	}
	w, err := decodeWorldOverlay(bytes.NewReader(raw))
	if err != nil {
		return fmt.Errorf("aws.world: %w", err)
	}
	a.world = &w
	return nil
}

// decodeWorldOverlay reads a world to lay over DefaultWorld (MergeWorld),
// refusing unknown fields so a misspelt setting fails loudly. It fills in
// no defaults, unlike awslocal.DecodeWorld: an overlay replaces only what
// it names, and the server fills in the merged world's.
func decodeWorldOverlay(r io.Reader) (awslocal.World, error) {
	var w awslocal.World
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		return awslocal.World{}, err
	}
	return w, nil
}

// setUp gives the stack the scenario's world, faults and endpoints.
func (s *Stack) setUp(sc Scenario) error {
	world := DefaultWorld(sc.Start)
	if sc.AWS != nil && sc.AWS.world != nil {
		world = MergeWorld(world, *sc.AWS.world)
	}
	if err := s.AWS.SetWorld(world); err != nil {
		return fmt.Errorf("aws.world: %w", err)
	}
	s.AWS.ClearFaults()
	if sc.AWS != nil {
		for i, f := range sc.AWS.Faults {
			if err := s.AWS.AddFault(f); err != nil {
				return fmt.Errorf("aws.faults[%d]: %w", i, err)
			}
		}
	}
	for p, e := range sc.Endpoints {
		s.App.Set(p, e)
	}
	return nil
}

// worldSummary is the AWS world as it stands.
func (s *Stack) worldSummary() *WorldSummary {
	w := s.AWS.World()
	sum := &WorldSummary{Services: []ServiceSummary{}, Parameters: map[string]string{}, Calls: map[string]int{}}
	for _, c := range w.Clusters {
		for _, svc := range c.Services {
			sum.Services = append(sum.Services, ServiceSummary{Cluster: c.Name, Name: svc.Name, DesiredCount: svc.DesiredCount,
				RunningCount: svc.RunningCount, TaskDefinition: svc.TaskDefinition, Deployments: len(svc.Deployments)})
		}
	}
	for _, p := range w.Parameters {
		sum.Parameters[p.Name] = p.Value
	}
	for _, c := range s.AWS.Calls() {
		if c.Outcome == "ok" && isChange(c.Operation) {
			sum.Calls[c.Service+":"+c.Operation]++
		}
	}
	return sum
}

// isChange reports whether an operation changes the world: the calls a
// summary counts (reads are many and uninteresting).
func isChange(op string) bool {
	return !strings.HasPrefix(op, "Describe") && !strings.HasPrefix(op, "List") && !strings.HasPrefix(op, "Get") && op != "FilterLogEvents"
}

// checkWorld compares the world's summary with what the scenario expects.
func checkWorld(want *WorldExpectation, got *WorldSummary) []string {
	if want == nil {
		return nil
	}
	if got == nil {
		return []string{"the summary has no AWS world"}
	}
	var problems []string
	for _, w := range want.Services {
		i := slices.IndexFunc(got.Services, func(s ServiceSummary) bool { return s.Cluster == w.Cluster && s.Name == w.Name })
		if i < 0 {
			problems = append(problems, fmt.Sprintf("no ECS service %s/%s", w.Cluster, w.Name))
			continue
		}
		g := got.Services[i]
		if w.DesiredCount != nil && *w.DesiredCount != g.DesiredCount {
			problems = append(problems, fmt.Sprintf("%s wants %d tasks, want %d", w.Name, g.DesiredCount, *w.DesiredCount))
		}
		if w.RunningCount != nil && *w.RunningCount != g.RunningCount {
			problems = append(problems, fmt.Sprintf("%s runs %d tasks, want %d", w.Name, g.RunningCount, *w.RunningCount))
		}
		if w.TaskDefinition != "" && w.TaskDefinition != g.TaskDefinition {
			problems = append(problems, fmt.Sprintf("%s runs %s, want %s", w.Name, g.TaskDefinition, w.TaskDefinition))
		}
		if w.Deployments != nil && *w.Deployments != g.Deployments {
			problems = append(problems, fmt.Sprintf("%s has %d deployments, want %d", w.Name, g.Deployments, *w.Deployments))
		}
	}
	for _, p := range want.Parameters {
		if v, ok := got.Parameters[p.Name]; !ok || v != p.Value {
			problems = append(problems, fmt.Sprintf("parameter %s holds %q, want %q", p.Name, v, p.Value))
		}
	}
	for k, n := range want.Calls {
		if got.Calls[k] != n {
			problems = append(problems, fmt.Sprintf("%d %s calls, want %d", got.Calls[k], k, n))
		}
	}
	return problems
}

// printWorld writes what the scenario's remediations left of the world.
func printWorld(w io.Writer, sum *WorldSummary) {
	if sum == nil {
		return
	}
	fmt.Fprintln(w, "AWS at the end:")
	for _, s := range sum.Services {
		fmt.Fprintf(w, "  ECS %s/%s: %d of %d tasks running %s (%s)\n", s.Cluster, s.Name, s.RunningCount, s.DesiredCount, s.TaskDefinition, plural(s.Deployments, "deployment"))
	}
	names := slices.Sorted(maps.Keys(sum.Parameters))
	for _, n := range names {
		fmt.Fprintf(w, "  SSM %s = %s\n", n, sum.Parameters[n])
	}
	calls := make([]string, 0, len(sum.Calls))
	for k, n := range sum.Calls {
		calls = append(calls, fmt.Sprintf("%s x%d", k, n))
	}
	sort.Strings(calls)
	if len(calls) == 0 {
		calls = []string{"none"}
	}
	fmt.Fprintf(w, "  changes made: %s\n", strings.Join(calls, ", "))
}

// remediationsMade counts the scenario's remediations whose action was
// made.
func remediationsMade(sum ScenarioSummary) int {
	n := 0
	for _, inc := range sum.Incidents {
		for _, r := range inc.Remediations {
			switch incident.RemediationState(r.State) {
			case incident.RemedyVerifying, incident.RemedySucceeded, incident.RemedyFailed, incident.RemedyUnverified, incident.RemedyApplied:
				n++
			}
		}
	}
	return n
}
