package incident

import (
	"bytes"
	_ "embed" // for go:embed
	"encoding/json"
	"fmt"
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
	// "Immediate" given a short, configurable deadline.
	AcknowledgeWithin Duration `json:"acknowledgeWithin"`
	// HighestLevel is the last level this severity escalates to; the
	// runbook reserves the CTO for P0.
	HighestLevel string `json:"highestLevel"`
}

// Policy is the escalation policy: the path of levels and, per severity,
// the acknowledgement deadline and how far up the path it may go.
type Policy struct {
	Levels     []Level                     `json:"levels"`
	Severities map[Severity]SeverityPolicy `json:"severities"`
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

// ParsePolicy decodes and validates a policy document. Unknown fields are
// errors, so a misspelt setting is not silently ignored.
func ParsePolicy(data []byte) (Policy, error) {
	var p Policy
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return Policy{}, Errorf(EInvalid, "escalation policy: %v", err)
	}
	if err := p.Validate(); err != nil {
		return Policy{}, err
	}
	return p, nil
}

// Validate checks that every severity is covered, every deadline is
// reached, and every level named exists.
func (p Policy) Validate() error {
	if len(p.Levels) == 0 {
		return Errorf(EInvalid, "escalation policy: no levels")
	}
	seen := map[string]bool{}
	for i, l := range p.Levels {
		if l.Name == "" {
			return Errorf(EInvalid, "escalation policy: level %d has no name", i+1)
		}
		if seen[l.Name] {
			return Errorf(EInvalid, "escalation policy: level %q appears twice", l.Name)
		}
		seen[l.Name] = true
	}
	for _, s := range Severities {
		sp, ok := p.Severities[s]
		if !ok {
			return Errorf(EInvalid, "escalation policy: severity %s is not covered", s)
		}
		if sp.AcknowledgeWithin.D() <= 0 {
			return Errorf(EInvalid, "escalation policy: severity %s: acknowledgeWithin must be positive", s)
		}
		if p.LevelNumber(sp.HighestLevel) == 0 {
			return Errorf(EInvalid, "escalation policy: severity %s: highestLevel %q is not a level", s, sp.HighestLevel)
		}
	}
	for s := range p.Severities {
		if _, err := ParseSeverity(string(s)); err != nil {
			return Errorf(EInvalid, "escalation policy: %v", err)
		}
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

// Action is what the escalation state machine does next.
type Action string

// The actions Next can return.
const (
	// ActPage pages a level.
	ActPage Action = "page"
	// ActWait sleeps until a time, then plans again.
	ActWait Action = "wait"
	// ActDone ends the escalation.
	ActDone Action = "done"
	// ActNobodyReached ends the escalation as a failure: no level of the
	// path could be paged at all.
	ActNobodyReached Action = "nobody-reached"
)

// Step is the escalation's next step.
type Step struct {
	Action    Action    `json:"action"`
	Level     int       `json:"level,omitempty"`
	LevelName string    `json:"levelName,omitempty"`
	Until     time.Time `json:"until,omitzero"`
	Reason    string    `json:"reason"`
}

// Next is the escalation policy as a pure function: given the incident as
// stored, the policy and the time, it returns the next step. It pages level
// 1 at once, and the next level whenever the latest page has gone
// unacknowledged past the severity's deadline, or could not be delivered at
// all, up to the severity's highest level.
func Next(inc Incident, p Policy, now time.Time) Step {
	if inc.Status == Resolved {
		return Step{Action: ActDone, Reason: "the incident is resolved"}
	}
	if !inc.AwaitsAcknowledgement() {
		return Step{Action: ActDone, Reason: "the incident is " + string(inc.Status) + "; nobody more is paged"}
	}
	sp, ok := p.Severities[inc.Severity]
	if !ok {
		// A severity the policy does not cover still pages the first level:
		// an unknown severity must never mean silence.
		sp = SeverityPolicy{AcknowledgeWithin: Duration(5 * time.Minute), HighestLevel: p.Levels[len(p.Levels)-1].Name}
	}
	if len(inc.Pages) == 0 {
		return pageStep(p, 1, "a new incident pages the first level at once")
	}
	last := inc.Pages[len(inc.Pages)-1]
	highest := p.LevelNumber(sp.HighestLevel)
	if !last.Delivered() {
		// Nobody at that level was reached: go on at once.
		if last.Level >= highest {
			for _, pg := range inc.Pages {
				if pg.Delivered() {
					return Step{Action: ActDone, Reason: fmt.Sprintf("the page to %s could not be delivered and it is the highest level for %s", last.LevelName, inc.Severity)}
				}
			}
			return Step{Action: ActNobodyReached, Reason: fmt.Sprintf("no level up to %s could be paged", last.LevelName)}
		}
		return pageStep(p, last.Level+1, fmt.Sprintf("the page to %s could not be delivered", last.LevelName))
	}
	deadline := last.At.Add(sp.AcknowledgeWithin.D())
	if now.Before(deadline) {
		return Step{Action: ActWait, Until: deadline, Reason: fmt.Sprintf("waiting for %s to acknowledge (deadline %s)", last.LevelName, deadline.UTC().Format(time.RFC3339))}
	}
	if last.Level >= highest {
		return Step{Action: ActDone, Reason: fmt.Sprintf("%s is the highest level for %s; the escalation path is exhausted", last.LevelName, inc.Severity)}
	}
	return pageStep(p, last.Level+1, fmt.Sprintf("%s did not acknowledge within %s", last.LevelName, sp.AcknowledgeWithin.D()))
}

func pageStep(p Policy, level int, reason string) Step {
	l, _ := p.Level(level)
	return Step{Action: ActPage, Level: level, LevelName: l.Name, Reason: reason}
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
