package incident

import (
	_ "embed" // for go:embed
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

//go:embed policy.json
var defaultPolicy []byte

// Level is one step of the escalation path, e.g. the on-call engineer. Each
// level is a PagerDuty service with its own routing key, found by Name.
type Level struct {
	Name  string `json:"name"`
	Title string `json:"title"`
}

// SeverityPolicy is how one severity escalates.
type SeverityPolicy struct {
	// AcknowledgeWithin is how long a page may go unacknowledged before the
	// next level is paged: the runbook's response time, with P0's
	// "Immediate" given a short, configurable deadline. Missing it is a
	// response-target breach.
	AcknowledgeWithin Duration `json:"acknowledgeWithin"`
	// ResolveWithin is the runbook's resolution target; missing it is a
	// resolution-target breach.
	ResolveWithin Duration `json:"resolveWithin"`
	// HighestLevel is the last level a missed acknowledgement escalates
	// to; the runbook reserves the CTO for P0.
	HighestLevel string `json:"highestLevel"`
	// Unresolved are the levels paged when the incident is still not
	// resolved a while after it opened, acknowledged or not.
	Unresolved []TimedLevel `json:"unresolved,omitempty"`
}

// TimedLevel pages a level once an incident has been unresolved for After.
type TimedLevel struct {
	After Duration `json:"after"`
	Level string   `json:"level"`
	// Rule quotes the runbook line it implements, for the timeline.
	Rule string `json:"rule"`
}

// CategoryLevel pages every level up to Level as soon as an incident of
// Category opens.
type CategoryLevel struct {
	Category Category `json:"category"`
	Level    string   `json:"level"`
	Rule     string   `json:"rule"`
}

// Flapping says when an alarm flaps: it fired again after recovering more
// than Threshold times within Window.
type Flapping struct {
	Threshold int      `json:"threshold"`
	Window    Duration `json:"window"`
}

// Policy is the escalation policy: the path of levels and, per severity,
// the deadlines and how far up the path they go.
type Policy struct {
	Levels     []Level                     `json:"levels"`
	Severities map[Severity]SeverityPolicy `json:"severities"`
	// Immediate escalates some categories at once.
	Immediate []CategoryLevel `json:"immediate,omitempty"`
	// ReopenWithin is how soon after its resolution an alarm that fires
	// again re-opens its incident instead of opening a new one.
	ReopenWithin Duration `json:"reopenWithin"`
	Flapping     Flapping `json:"flapping"`
}

// DefaultPolicy returns the runbook's escalation policy, embedded in the
// binary.
func DefaultPolicy() Policy {
	p, err := ParsePolicy(defaultPolicy)
	if err != nil {
		panic(fmt.Sprintf("incident: embedded policy: %v", err))
	}
	return p
}

// DefaultPolicyJSON returns the embedded policy document, for tools that
// show or edit it.
func DefaultPolicyJSON() []byte { return slices.Clone(defaultPolicy) }

// ParsePolicy decodes and validates a policy document. Unknown fields are
// errors, so a misspelt setting is not silently ignored.
func ParsePolicy(data []byte) (Policy, error) {
	var p Policy
	if err := DecodeStrict(data, "escalation policy", &p); err != nil {
		return Policy{}, err
	}
	if err := p.Validate(); err != nil {
		return Policy{}, err
	}
	return p, nil
}

// Validate checks that every severity is covered, every level named
// exists, and every deadline can be reached: a timed level that a lower
// or earlier rule already covers would never page anyone.
func (p Policy) Validate() error {
	if err := p.validateLevels(); err != nil {
		return err
	}
	for _, s := range Severities {
		sp, ok := p.Severities[s]
		if !ok {
			return policyError("severity %s is not covered", s)
		}
		if err := p.validateSeverity(s, sp); err != nil {
			return err
		}
	}
	for s := range p.Severities {
		if _, err := ParseSeverity(string(s)); err != nil {
			return policyError("%v", err)
		}
	}
	for i, c := range p.Immediate {
		if _, err := ParseCategory(string(c.Category)); err != nil {
			return policyError("immediate rule %d: %v", i+1, err)
		}
		if p.LevelNumber(c.Level) == 0 {
			return policyError("immediate rule %d: level %q is not a level", i+1, c.Level)
		}
	}
	if p.ReopenWithin.D() < 0 {
		return policyError("reopenWithin must not be negative")
	}
	if p.Flapping.Threshold < 1 || p.Flapping.Window.D() <= 0 {
		return policyError("flapping needs a threshold of at least 1 and a positive window")
	}
	return nil
}

// policyError is an invalid policy, said with format and args.
func policyError(format string, args ...any) error {
	return Errorf(EInvalid, "escalation policy: "+format, args...)
}

// validateLevels checks that there are levels, each named once.
func (p Policy) validateLevels() error {
	if len(p.Levels) == 0 {
		return policyError("no levels")
	}
	seen := map[string]bool{}
	for i, l := range p.Levels {
		if l.Name == "" {
			return policyError("level %d has no name", i+1)
		}
		if seen[l.Name] {
			return policyError("level %q appears twice", l.Name)
		}
		seen[l.Name] = true
	}
	return nil
}

// validateSeverity checks one severity's targets and levels.
func (p Policy) validateSeverity(s Severity, sp SeverityPolicy) error {
	switch {
	case sp.AcknowledgeWithin.D() <= 0:
		return policyError("severity %s: acknowledgeWithin must be positive", s)
	case sp.ResolveWithin.D() <= 0:
		return policyError("severity %s: resolveWithin must be positive", s)
	case p.LevelNumber(sp.HighestLevel) == 0:
		return policyError("severity %s: highestLevel %q is not a level", s, sp.HighestLevel)
	}
	var prev TimedLevel
	for i, u := range sp.Unresolved {
		if err := p.validateUnresolved(s, i, u, prev); err != nil {
			return err
		}
		prev = u
	}
	return nil
}

// validateUnresolved checks the severity's unresolved rule i (0-based),
// u, against the rule before it, prev: each must page a higher level,
// later, or it would never be reached.
func (p Policy) validateUnresolved(s Severity, i int, u, prev TimedLevel) error {
	n := p.LevelNumber(u.Level)
	switch {
	case n == 0:
		return policyError("severity %s: unresolved rule %d: level %q is not a level", s, i+1, u.Level)
	case u.After.D() <= 0:
		return policyError("severity %s: unresolved rule %d: after must be positive", s, i+1)
	case n == 1:
		return policyError("severity %s: unresolved rule %d pages %s, which every incident pages first; it would never be reached", s, i+1, u.Level)
	case i > 0 && u.After.D() < prev.After.D():
		return policyError("severity %s: unresolved rules must be in order of time; rule %d comes before rule %d", s, i+1, i)
	case i > 0 && n <= p.LevelNumber(prev.Level):
		return policyError("severity %s: unresolved rule %d pages %s after rule %d already paged %s; it would never be reached", s, i+1, u.Level, i, prev.Level)
	}
	return nil
}

// CheckRoutingKeys reports levels that have no routing key in keys: a
// level without one can never be paged.
func (p Policy) CheckRoutingKeys(keys map[string]string) error {
	var missing []string
	for _, l := range p.Levels {
		if keys[l.Name] == "" {
			missing = append(missing, l.Name)
		}
	}
	if len(missing) > 0 {
		return Errorf(EInvalid, "escalation policy: no routing key for level(s) %v", missing)
	}
	return nil
}

// LevelNumber returns the 1-based position of the level named name, or 0.
func (p Policy) LevelNumber(name string) int {
	for i, l := range p.Levels {
		if l.Name == name {
			return i + 1
		}
	}
	return 0
}

// Level returns level n (1-based).
func (p Policy) Level(n int) (Level, bool) {
	if n < 1 || n > len(p.Levels) {
		return Level{}, false
	}
	return p.Levels[n-1], true
}

// For returns the policy of severity s. A severity the policy does not
// cover still pages: an unknown severity must never mean silence.
func (p Policy) For(s Severity) SeverityPolicy {
	if sp, ok := p.Severities[s]; ok {
		return sp
	}
	return SeverityPolicy{AcknowledgeWithin: Duration(5 * time.Minute), ResolveWithin: Duration(time.Hour), HighestLevel: p.Levels[len(p.Levels)-1].Name}
}

// Duration is a time.Duration written in JSON as a Go duration string
// such as "15m".
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// MarshalJSON writes d as a duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads a duration string such as "15m" or "1h30m".
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration must be a string such as \"15m\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}
