// Package evidence says where triage finds the evidence of each service
// (its ECS service, log group, health endpoints and database) and which
// parts each category of incident gets, from a JSON document; and reads
// the queue figures of the application's /health/queues. It imports no
// AWS client, so the Remediate function, which reads only the queues,
// stays small.
package evidence

import (
	_ "embed" // the default sources
	"fmt"
	"net/url"
	"slices"
	"time"

	"github.com/dashboarduz/incident-response/shared/incident"
)

//go:embed sources.json
var defaultSources []byte

// EnvSources names the environment variable that, when set, holds the
// triage sources (JSON) replacing the embedded default.
const EnvSources = "TRIAGE_SOURCES"

// Config says where triage looks for each service, and which parts of a
// report each category of incident gets.
type Config struct {
	Description string `json:"description,omitempty"`
	// Timeout bounds a whole triage: a part still running then is
	// reported as timed out.
	Timeout incident.Duration `json:"timeout"`
	// MetricPeriod is the period of the CPU, memory and connection
	// series: one or five minutes.
	MetricPeriod incident.Duration `json:"metricPeriod"`
	// Logs bounds the error lines read from a log group.
	Logs LogLimits `json:"logs"`
	// Services maps an incident's service to where its evidence is.
	Services map[string]ServiceSources `json:"services"`
	// Categories maps a category to the parts its reports get, in
	// order; "default" is for the categories not listed.
	Categories map[string][]string `json:"categories"`
}

// LogLimits bound the error lines of one report.
type LogLimits struct {
	Lines     int               `json:"lines"`
	Bytes     int               `json:"bytes"`
	LineBytes int               `json:"lineBytes"`
	Window    incident.Duration `json:"window"`
}

// ServiceSources is where one service's evidence is. A part whose
// source a service lacks is left out of its reports.
type ServiceSources struct {
	// Cluster and ECSService name its ECS service (ecs-service and
	// metrics parts).
	Cluster    string `json:"cluster,omitempty"`
	ECSService string `json:"ecsService,omitempty"`
	// LogGroup is the log group of its error lines (logs part).
	LogGroup string `json:"logGroup,omitempty"`
	// HealthURL and QueuesURL are the runbook's /health and
	// /health/queues (health and queues parts).
	HealthURL string `json:"healthUrl,omitempty"`
	QueuesURL string `json:"queuesUrl,omitempty"`
	// DBInstance is the RDS instance it depends on (database part).
	DBInstance string `json:"dbInstance,omitempty"`
}

// defaultCategory is the key of Categories for unlisted categories.
const defaultCategory = "default"

// Parts are the part names a configuration may list.
var Parts = []string{incident.PartHealth, incident.PartECSService, incident.PartMetrics, incident.PartLogs, incident.PartDatabase, incident.PartQueues}

// DefaultConfig is the embedded sources.json: the runbook's names for
// Dashboarduz production.
func DefaultConfig() Config {
	c, err := ParseConfig(defaultSources)
	if err != nil {
		panic(fmt.Sprintf("evidence: embedded sources.json: %v", err))
	}
	return c
}

// ConfigFrom returns the configuration in doc, validated, or the
// embedded default when doc is empty: what the function does with
// EnvSources.
func ConfigFrom(doc string) (Config, error) {
	return incident.SettingsFrom(doc, EnvSources, DefaultConfig, ParseConfig)
}

// ParseConfig reads and validates a sources configuration; unknown
// fields are refused so a misspelt source fails loudly.
func ParseConfig(doc []byte) (Config, error) {
	var c Config
	if err := incident.DecodeStrict(doc, "triage sources", &c); err != nil {
		return Config{}, err
	}
	if err := c.validate(); err != nil {
		return Config{}, incident.Errorf(incident.EInvalid, "triage sources: %v", err)
	}
	return c, nil
}

func (c *Config) validate() error {
	if c.Timeout <= 0 || c.Timeout.D() > 50*time.Second {
		return fmt.Errorf("timeout must be positive and at most 50s, under the function's 60 s")
	}
	if c.MetricPeriod.D() != time.Minute && c.MetricPeriod.D() != 5*time.Minute {
		return fmt.Errorf("metricPeriod must be 1m or 5m")
	}
	if c.Logs.Lines < 0 || c.Logs.Bytes < 0 || c.Logs.LineBytes < 0 || c.Logs.Window < 0 {
		return fmt.Errorf("logs limits must not be negative")
	}
	for name, s := range c.Services {
		if err := s.validate(); err != nil {
			return fmt.Errorf("service %s: %w", name, err)
		}
	}
	for cat, parts := range c.Categories {
		if _, err := incident.ParseCategory(cat); err != nil && cat != defaultCategory {
			return fmt.Errorf("categories: %s", incident.ErrorMessage(err))
		}
		for _, p := range parts {
			if !slices.Contains(Parts, p) {
				return fmt.Errorf("categories[%s]: part %q is not one of %v", cat, p, Parts)
			}
		}
	}
	return nil
}

// validate checks one service's sources.
func (s ServiceSources) validate() error {
	for _, u := range []string{s.HealthURL, s.QueuesURL} {
		if p, err := url.Parse(u); u != "" && (err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "") {
			return fmt.Errorf("%q is not an absolute http or https URL", u)
		}
	}
	if (s.Cluster == "") != (s.ECSService == "") {
		return fmt.Errorf("cluster and ecsService go together")
	}
	return nil
}

// PartsFor returns the parts a report on an incident of this service
// and category gets: the category's parts whose source the service has.
func (c Config) PartsFor(service string, category incident.Category) []string {
	s, ok := c.Services[service]
	if !ok {
		return nil
	}
	parts, ok := c.Categories[string(category)]
	if !ok {
		parts = c.Categories[defaultCategory]
	}
	var out []string
	for _, p := range parts {
		if s.Has(p) {
			out = append(out, p)
		}
	}
	return out
}

// Has reports whether the service has the source of a part.
func (s ServiceSources) Has(part string) bool {
	switch part {
	case incident.PartHealth:
		return s.HealthURL != ""
	case incident.PartQueues:
		return s.QueuesURL != ""
	case incident.PartECSService, incident.PartMetrics:
		return s.ECSService != ""
	case incident.PartLogs:
		return s.LogGroup != ""
	case incident.PartDatabase:
		return s.DBInstance != ""
	}
	return false
}
