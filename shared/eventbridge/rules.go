package eventbridge

import (
	"encoding/json"
	"maps"
	"slices"
	"sync"
)

// Rule is one EventBridge rule of the ingest path: a route, narrowed by
// the detail fields Decode acts on, so the events surely of no interest
// (a task starting, a user stopping a task, a deployment rolling forward)
// never invoke the function. The CDK app builds its rules from IngestRules
// and the local stack routes its events with the same patterns, so the
// two cannot drift apart. The decoder stays the one place that decides: a
// rule only keeps out what it would ignore anyway, and an event that gets
// past one (or arrives another way, such as a redrive) is decoded and
// ignored with its reason.
type Rule struct {
	// Name is the rule's construct ID in the CDK app; renaming it
	// replaces the deployed rule.
	Name string
	// Description says what the rule routes, for the console.
	Description string
	Route
	// Detail is the pattern's detail part in EventBridge's event-pattern
	// syntax, or nil for every detail of the route.
	Detail map[string]any
	// EscalationOnly marks a rule about the escalation state machine's
	// executions: the CDK app narrows it to that state machine's ARN
	// (detail.stateMachineArn), so another state machine in the account,
	// or another copy of this system, never reaches this one.
	EscalationOnly bool
}

// Pattern is the rule's whole event pattern, as EventBridge takes it.
func (r Rule) Pattern() map[string]any {
	p := map[string]any{
		"source":      []any{r.Source},
		"detail-type": []any{r.DetailType},
	}
	if r.Detail != nil {
		p["detail"] = r.Detail
	}
	return p
}

// Matches reports whether the rule's pattern matches the event raw, as
// EventBridge would match it (see MatchPattern).
func (r Rule) Matches(raw []byte) bool {
	ok, err := MatchPattern(r.Pattern(), raw)
	return err == nil && ok
}

// IngestRules returns the ingest path's rules, one or more per route of
// Routes, each time a fresh copy, so a caller may change what it got.
func IngestRules() []Rule {
	return []Rule{
		{
			Name:        "AlarmStateChange",
			Description: "Every CloudWatch alarm state change goes to the alarm-ingest function.",
			Route:       Route{SourceCloudWatch, DetailTypeAlarm},
		},
		{
			Name: "EcsDeploymentFailed",
			Description: "ECS deployments that failed or that the circuit breaker rolls back go to the alarm-ingest function, " +
				"and completed ones, which recover them.",
			Route: Route{SourceECS, DetailTypeECSDeployment},
			// A rollback is an IN_PROGRESS event whose reason says so; every
			// other IN_PROGRESS event is a deployment going ahead.
			Detail: map[string]any{"$or": []any{
				map[string]any{"eventName": []any{ecsDeploymentFailed, ecsDeploymentCompleted}},
				map[string]any{
					"eventName": []any{ecsDeploymentInProgress},
					"reason":    []any{map[string]any{"wildcard": "*rolling back*"}},
				},
			}},
		},
		{
			Name: "EcsTaskStoppedWithError",
			Description: "ECS tasks that stopped, unless a user, Spot or a termination notice stopped them, go to the alarm-ingest function, " +
				"which tells an error from a scale-in.",
			Route: Route{SourceECS, DetailTypeECSTask},
			// The scheduler's stops stay in: a task replaced for failing its
			// health checks is one, and only the reason tells it from a
			// scale-in, which Decode reads without regard to case.
			Detail: map[string]any{
				"lastStatus": []any{"STOPPED"},
				"stopCode":   []any{map[string]any{"anything-but": []any{stopUser, stopSpot, stopTermination}}},
			},
		},
		{
			Name:        "EcsServiceImpaired",
			Description: "ECS service actions that say a service cannot start or place tasks go to the alarm-ingest function, and steady states, which recover them.",
			Route:       Route{SourceECS, DetailTypeECSService},
			Detail:      map[string]any{"eventName": serviceActionNames()},
		},
		{
			Name: "RdsInstanceEvent",
			Description: "Every RDS DB instance event goes to the alarm-ingest function, which acts on failovers, failures, " +
				"shutdowns, storage running out and the recoveries.",
			// Not narrowed by event ID: older events carry none, and Decode
			// reads their message.
			Route: Route{SourceRDS, DetailTypeRDSInstance},
		},
		{
			Name: "EscalationStoppedByHand",
			Description: "Stopped escalation executions go to the alarm-ingest function, which opens a P1 incident naming the incident left " +
				"unescalated, unless this system stopped the execution because a newer one took over.",
			Route:          Route{SourceStepFunctions, DetailTypeExecutionStatus},
			EscalationOnly: true,
			// Not narrowed by error: a stop by hand may carry none, which a
			// pattern can only match as null, and CloudFormation takes no
			// null in a pattern. The superseded ones the system stops itself
			// (one per acknowledgement or resolution) are decoded and
			// ignored.
			Detail: map[string]any{"status": []any{executionAborted}},
		},
	}
}

// serviceActionNames are the service actions Decode fires or recovers on,
// sorted so the pattern is the same at every synthesis.
func serviceActionNames() []any {
	names := slices.Sorted(maps.Keys(impairments))
	names = append(names, ecsSteadyState)
	slices.Sort(names)
	out := make([]any, len(names))
	for i, n := range names {
		out[i] = n
	}
	return out
}

// RuleFor returns the first of IngestRules whose pattern matches raw; ok
// is false when none does, and EventBridge would not deliver the event.
// Unlike IngestRules, it parses raw once and shares the rules it returns
// with every call: treat them as read-only.
func RuleFor(raw []byte) (rule Rule, ok bool) {
	var fields map[string]json.RawMessage
	if json.Unmarshal(raw, &fields) != nil {
		return Rule{}, false
	}
	// Only the fields a pattern names are decoded, each once.
	event := map[string]any{}
	for _, r := range ingestRules() {
		for name := range r.pattern {
			if _, done := event[name]; done {
				continue
			}
			if f, present := fields[name]; present {
				var v any
				if json.Unmarshal(f, &v) != nil {
					return Rule{}, false
				}
				event[name] = v
			}
		}
		if ok, err := matchAll(r.pattern, event); err == nil && ok {
			return r.Rule, true
		}
	}
	return Rule{}, false
}

// ingestRules are IngestRules with their patterns, made once: RuleFor
// only reads them.
var ingestRules = sync.OnceValue(func() []struct {
	Rule
	pattern map[string]any
} {
	rules := IngestRules()
	out := make([]struct {
		Rule
		pattern map[string]any
	}, len(rules))
	for i, r := range rules {
		out[i].Rule, out[i].pattern = r, r.Pattern()
	}
	return out
})
