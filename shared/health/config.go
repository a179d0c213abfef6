package health

import (
	_ "embed" // the default checks
	"fmt"
	"net/url"
	"regexp"
	"time"

	"github.com/dashboarduz/incident-response/shared/incident"
)

//go:embed checks.json
var defaultChecks []byte

// EnvChecks names the environment variable that, when set, holds the check
// configuration (JSON) replacing the embedded default.
const EnvChecks = "HEALTH_CHECKS"

// Defaults of a check's settings, used when the configuration leaves them
// out.
const (
	DefaultMethod           = "GET"
	DefaultTimeout          = 5 * time.Second
	DefaultInterval         = time.Minute
	DefaultFailureThreshold = 3
	DefaultSuccessThreshold = 1
	DefaultFlapWindow       = 30 * time.Minute
	DefaultFlapThreshold    = 4

	// MaxTimeout bounds a check's timeout: every check of a run must end
	// well within the function's own timeout.
	MaxTimeout = 30 * time.Second
	// maxThreshold bounds the thresholds, so a typo cannot silence a
	// check for days.
	maxThreshold = 100
)

// Config is the set of checks and how flapping is judged.
type Config struct {
	// Description says what the checks are for.
	Description string     `json:"description,omitempty"`
	Flapping    FlapPolicy `json:"flapping"`
	Checks      []Check    `json:"checks"`
}

// FlapPolicy says when an endpoint is flapping: Threshold changes between
// failing and passing within Window. A flapping endpoint is reported as
// one ongoing signal until it has not changed for a whole Window.
type FlapPolicy struct {
	Window    incident.Duration `json:"window"`
	Threshold int               `json:"threshold"`
}

// Check is one endpoint to call and the conditions its answer must meet.
type Check struct {
	// Name identifies the check in its signals' DedupKey and in storage:
	// letters, digits, ".", "_" and "-".
	Name   string `json:"name"`
	URL    string `json:"url"`
	Method string `json:"method,omitempty"`
	// Headers are sent with the request, e.g. an Accept header.
	Headers map[string]string `json:"headers,omitempty"`
	// Timeout bounds the whole request, body included.
	Timeout incident.Duration `json:"timeout,omitempty"`
	// Interval is how often the check is meant to run. The schedule runs
	// every check at once; the interval says what the thresholds count in.
	Interval incident.Duration `json:"interval,omitempty"`
	Service  string            `json:"service"`
	Category incident.Category `json:"category"`
	Severity incident.Severity `json:"severity"`
	// FailureThreshold failures in a row fire; SuccessThreshold passes in
	// a row recover.
	FailureThreshold int      `json:"failureThreshold,omitempty"`
	SuccessThreshold int      `json:"successThreshold,omitempty"`
	Conditions       []string `json:"conditions"`

	parsed []Condition
}

// Parsed returns the check's conditions, parsed when the configuration was
// loaded.
func (c Check) Parsed() []Condition { return c.parsed }

var checkName = regexp.MustCompile(`^[A-Za-z0-9._-]{1,100}$`)

// DefaultConfig is the embedded checks.json: the runbook's /health and
// /health/queues.
func DefaultConfig() Config {
	c, err := ParseConfig(defaultChecks)
	if err != nil {
		panic(fmt.Sprintf("health: embedded checks.json: %v", err))
	}
	return c
}

// ConfigFrom returns the configuration in doc, validated, or the embedded
// default when doc is empty: what the function does with EnvChecks.
func ConfigFrom(doc string) (Config, error) {
	return incident.SettingsFrom(doc, EnvChecks, DefaultConfig, ParseConfig)
}

// ParseConfig reads and validates a check configuration, fills in the
// defaults and parses every condition. Errors are EInvalid *incident.Error
// naming the check and the setting.
func ParseConfig(doc []byte) (Config, error) {
	var c Config
	if err := incident.DecodeStrict(doc, "health checks", &c); err != nil {
		return Config{}, err
	}
	if err := c.complete(); err != nil {
		return Config{}, err
	}
	return c, nil
}

func (c *Config) complete() error {
	if c.Flapping.Window == 0 {
		c.Flapping.Window = incident.Duration(DefaultFlapWindow)
	}
	if c.Flapping.Threshold == 0 {
		c.Flapping.Threshold = DefaultFlapThreshold
	}
	if c.Flapping.Window < 0 || c.Flapping.Threshold < 2 || c.Flapping.Threshold > maxThreshold {
		return incident.FieldErrorf("flapping", "health checks: flapping needs a positive window and a threshold from 2 to %d", maxThreshold)
	}
	if len(c.Checks) == 0 {
		return incident.FieldErrorf("checks", "health checks: there are no checks")
	}
	seen := map[string]bool{}
	for i := range c.Checks {
		ch := &c.Checks[i]
		if err := ch.complete(); err != nil {
			return incident.FieldErrorf("checks", "health checks: checks[%d] (%s): %s", i, ch.Name, err)
		}
		if seen[ch.Name] {
			return incident.FieldErrorf("checks", "health checks: checks[%d]: the name %s is used twice", i, ch.Name)
		}
		seen[ch.Name] = true
	}
	return nil
}

// complete validates one check and fills in its defaults.
func (c *Check) complete() error {
	c.defaults()
	for _, check := range []func() error{c.checkTarget, c.checkTimes, c.checkIncident, c.checkThresholds, c.parseConditions} {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

// defaults fills in what a check may leave out.
func (c *Check) defaults() {
	if c.Method == "" {
		c.Method = DefaultMethod
	}
	if c.Timeout == 0 {
		c.Timeout = incident.Duration(DefaultTimeout)
	}
	if c.Interval == 0 {
		c.Interval = incident.Duration(DefaultInterval)
	}
	if c.FailureThreshold == 0 {
		c.FailureThreshold = DefaultFailureThreshold
	}
	if c.SuccessThreshold == 0 {
		c.SuccessThreshold = DefaultSuccessThreshold
	}
}

// checkTarget checks the check's name, URL and method.
func (c *Check) checkTarget() error {
	if !checkName.MatchString(c.Name) {
		return fmt.Errorf("name %q must be 1 to 100 letters, digits, '.', '_' or '-'", c.Name)
	}
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("url %q is not an absolute http or https URL", c.URL)
	}
	if c.Method != "GET" && c.Method != "HEAD" && c.Method != "POST" {
		return fmt.Errorf("method %q is not GET, HEAD or POST", c.Method)
	}
	return nil
}

// checkTimes checks the timeout and the interval.
func (c *Check) checkTimes() error {
	if c.Timeout < 0 || c.Timeout.D() > MaxTimeout {
		return fmt.Errorf("timeout %s is not between 0 and %s", c.Timeout.D(), MaxTimeout)
	}
	if c.Interval < 0 {
		return fmt.Errorf("interval %s is negative", c.Interval.D())
	}
	return nil
}

// checkIncident checks what an incident of the check is about.
func (c *Check) checkIncident() error {
	if c.Service == "" {
		return fmt.Errorf("service is missing")
	}
	if _, err := incident.ParseCategory(string(c.Category)); err != nil {
		return fmt.Errorf("%s", incident.ErrorMessage(err))
	}
	if _, err := incident.ParseSeverity(string(c.Severity)); err != nil {
		return fmt.Errorf("%s", incident.ErrorMessage(err))
	}
	return nil
}

// checkThresholds checks the failure and success thresholds.
func (c *Check) checkThresholds() error {
	if c.FailureThreshold < 1 || c.FailureThreshold > maxThreshold || c.SuccessThreshold < 1 || c.SuccessThreshold > maxThreshold {
		return fmt.Errorf("failureThreshold and successThreshold must be from 1 to %d", maxThreshold)
	}
	return nil
}

// parseConditions parses the check's conditions once.
func (c *Check) parseConditions() error {
	if len(c.Conditions) == 0 {
		return fmt.Errorf("there are no conditions")
	}
	c.parsed = make([]Condition, len(c.Conditions))
	for i, text := range c.Conditions {
		cond, err := ParseCondition(text)
		if err != nil {
			return fmt.Errorf("conditions[%d]: %v", i, err)
		}
		c.parsed[i] = cond
	}
	return nil
}
