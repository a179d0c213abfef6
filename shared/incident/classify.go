package incident

import (
	_ "embed" // for the embedded default rules
	"fmt"
	"path"
	"slices"
	"strings"
)

//go:embed classify.json
var defaultClassificationRules []byte

// DefaultRuleName is the Classification.Rule of an alarm that no rule
// matched.
const DefaultRuleName = "default"

// AlarmFacts is what is known about an alarm when it is classified. The
// metric fields are empty for composite alarms; Tags is nil when the caller
// does not have the alarm's tags.
type AlarmFacts struct {
	Name       string
	Namespace  string
	MetricName string
	Dimensions map[string]string
	Tags       map[string]string
}

// Classification is what an alarm means to the response: the affected
// service, the kind of incident and how severe it is.
type Classification struct {
	Service  string
	Category Category
	Severity Severity
	// Rule names the rule that matched (DefaultRuleName when none did), so
	// the timeline can say why an alarm got its severity.
	Rule string
	// Ignore says the rule marks the alarm as no incident at all.
	Ignore bool
}

// AlarmMatch is the condition of a classification rule. Every field that is
// set must hold; within a list, any entry may match.
//
// Alarm name patterns use path.Match syntax and compare case-insensitively,
// because alarm names are typed by people ("*" does not cross a "/").
// Dimension and tag values are path.Match patterns too, compared exactly: a
// value without *, ? or [ must be equal, and "app/dashboarduz-production/*"
// matches every load balancer ID of that name. Namespaces and metric names
// are compared exactly.
type AlarmMatch struct {
	AlarmNames  []string          `json:"alarmNames,omitempty"`
	Namespaces  []string          `json:"namespaces,omitempty"`
	MetricNames []string          `json:"metricNames,omitempty"`
	Dimensions  map[string]string `json:"dimensions,omitempty"`
	Tags        map[string]string `json:"tags,omitempty"`
}

// ClassificationRule maps the alarms its Match selects to a service,
// category and severity.
type ClassificationRule struct {
	// Name identifies the rule on the timeline; it is unique.
	Name        string     `json:"name"`
	Description string     `json:"description,omitempty"`
	Match       AlarmMatch `json:"match"`
	// ServiceFromDimension names the dimension whose value is the service,
	// e.g. "ServiceName". When the alarm lacks it, Service is used.
	ServiceFromDimension string `json:"serviceFromDimension,omitempty"`
	// Service is the affected service. When both it and the dimension are
	// empty, the service is found as for an unmatched alarm.
	Service  string   `json:"service,omitempty"`
	Category Category `json:"category,omitempty"`
	Severity Severity `json:"severity,omitempty"`
	// Ignore marks alarms that are not incidents, such as the alarms
	// autoscaling creates for target tracking: their signals are noted in
	// the logs and open nothing. Category and severity may then be left out.
	Ignore bool `json:"ignore,omitempty"`
}

// DefaultClassification is what an alarm that no rule matches becomes.
type DefaultClassification struct {
	// ServiceFromDimensions are tried in order; the first dimension the
	// alarm has names the service, else the alarm's name does.
	ServiceFromDimensions []string `json:"serviceFromDimensions,omitempty"`
	Category              Category `json:"category"`
	Severity              Severity `json:"severity"`
}

// ClassificationRules is an ordered list of rules, the first match wins,
// with a default for alarms that none matches.
type ClassificationRules struct {
	Rules   []ClassificationRule  `json:"rules"`
	Default DefaultClassification `json:"default"`
}

// DefaultClassificationRules returns the rules for the runbook's services
// (dashboarduz-api, dashboarduz-worker, dashboarduz-production-db),
// embedded in the binary from classify.json.
func DefaultClassificationRules() ClassificationRules {
	r, err := ParseClassificationRules(defaultClassificationRules)
	if err != nil {
		panic(fmt.Sprintf("incident: embedded classification rules: %v", err))
	}
	return r
}

// ParseClassificationRules decodes and validates a rules document. Unknown
// fields are errors, so a misspelt condition cannot silently match every
// alarm. Errors are *Error with code EInvalid and name the offending rule.
func ParseClassificationRules(data []byte) (ClassificationRules, error) {
	var r ClassificationRules
	if err := DecodeStrict(data, "classification rules", &r); err != nil {
		return ClassificationRules{}, err
	}
	if err := r.Validate(); err != nil {
		return ClassificationRules{}, err
	}
	return r, nil
}

// Validate checks every rule and the default: names present and unique,
// valid categories and severities, well-formed patterns, and at least one
// condition per rule (a rule without one would shadow every rule after it).
func (r ClassificationRules) Validate() error {
	seen := map[string]bool{}
	for i, rule := range r.Rules {
		if strings.TrimSpace(rule.Name) == "" {
			return Errorf(EInvalid, "classification rules: rule %d has no name", i+1)
		}
		if seen[rule.Name] {
			return Errorf(EInvalid, "classification rules: rule %q appears twice", rule.Name)
		}
		seen[rule.Name] = true
		if err := rule.validate(); err != nil {
			return Errorf(EInvalid, "classification rules: rule %q: %s", rule.Name, ErrorMessage(err))
		}
	}
	if _, err := ParseCategory(string(r.Default.Category)); err != nil {
		return Errorf(EInvalid, "classification rules: default: %s", ErrorMessage(err))
	}
	if _, err := ParseSeverity(string(r.Default.Severity)); err != nil {
		return Errorf(EInvalid, "classification rules: default: %s", ErrorMessage(err))
	}
	for _, d := range r.Default.ServiceFromDimensions {
		if d == "" {
			return Errorf(EInvalid, "classification rules: default: serviceFromDimensions has an empty name")
		}
	}
	return nil
}

// validate checks the rule's classification and its condition.
func (rule ClassificationRule) validate() error {
	if !rule.Ignore || rule.Category != "" {
		if _, err := ParseCategory(string(rule.Category)); err != nil {
			return err
		}
	}
	if !rule.Ignore || rule.Severity != "" {
		if _, err := ParseSeverity(string(rule.Severity)); err != nil {
			return err
		}
	}
	return rule.Match.validate()
}

// validate checks that the condition has at least one field and that every
// pattern and name in it is valid.
func (m AlarmMatch) validate() error {
	if len(m.AlarmNames) == 0 && len(m.Namespaces) == 0 && len(m.MetricNames) == 0 && len(m.Dimensions) == 0 && len(m.Tags) == 0 {
		return Errorf(EInvalid, "match has no condition, so it would match every alarm")
	}
	for _, p := range m.AlarmNames {
		if err := checkPattern("alarmNames", p); err != nil {
			return err
		}
	}
	for _, list := range []struct {
		field  string
		values []string
	}{{"namespaces", m.Namespaces}, {"metricNames", m.MetricNames}} {
		for _, v := range list.values {
			if v == "" {
				return Errorf(EInvalid, "%s has an empty entry", list.field)
			}
		}
	}
	for field, pairs := range map[string]map[string]string{"dimensions": m.Dimensions, "tags": m.Tags} {
		for k, p := range pairs {
			if k == "" {
				return Errorf(EInvalid, "%s has an empty name", field)
			}
			if err := checkPattern(field+"."+k, p); err != nil {
				return err
			}
		}
	}
	return nil
}

func checkPattern(field, p string) error {
	if p == "" {
		return Errorf(EInvalid, "%s has an empty pattern", field)
	}
	if _, err := path.Match(p, ""); err != nil {
		return Errorf(EInvalid, "%s pattern %q is not a valid glob: %v", field, p, err)
	}
	return nil
}

// Classify returns the classification of the first rule that matches f, or
// the default. It always names a service: an unknown alarm must still page
// someone about something.
func (r ClassificationRules) Classify(f AlarmFacts) Classification {
	for _, rule := range r.Rules {
		if !rule.Match.matches(f) {
			continue
		}
		service := f.Dimensions[rule.ServiceFromDimension]
		if rule.ServiceFromDimension == "" || service == "" {
			service = rule.Service
		}
		if service == "" {
			service = r.Default.service(f)
		}
		c := Classification{Service: service, Category: rule.Category, Severity: rule.Severity, Rule: rule.Name, Ignore: rule.Ignore}
		if c.Category == "" {
			c.Category = Other
		}
		if c.Severity == "" {
			c.Severity = P3
		}
		return c
	}
	return Classification{
		Service:  r.Default.service(f),
		Category: r.Default.Category,
		Severity: r.Default.Severity,
		Rule:     DefaultRuleName,
	}
}

func (d DefaultClassification) service(f AlarmFacts) string {
	for _, name := range d.ServiceFromDimensions {
		if v := f.Dimensions[name]; v != "" {
			return v
		}
	}
	if f.Name != "" {
		return f.Name
	}
	return "unknown"
}

func (m AlarmMatch) matches(f AlarmFacts) bool {
	if len(m.AlarmNames) > 0 && !anyGlob(m.AlarmNames, f.Name) {
		return false
	}
	if len(m.Namespaces) > 0 && !slices.Contains(m.Namespaces, f.Namespace) {
		return false
	}
	if len(m.MetricNames) > 0 && !slices.Contains(m.MetricNames, f.MetricName) {
		return false
	}
	return allMatch(m.Dimensions, f.Dimensions) && allMatch(m.Tags, f.Tags)
}

func anyGlob(patterns []string, name string) bool {
	name = strings.ToLower(name)
	for _, p := range patterns {
		if ok, _ := path.Match(strings.ToLower(p), name); ok {
			return true
		}
	}
	return false
}

// allMatch reports whether every pattern in want matches the value of the
// same name in have; a missing name never matches.
func allMatch(want, have map[string]string) bool {
	for k, p := range want {
		v, ok := have[k]
		if !ok {
			return false
		}
		if matched, _ := path.Match(p, v); !matched {
			return false
		}
	}
	return true
}
