package sentry

import (
	"bytes"
	_ "embed" // the default mapping
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/dashboarduz/incident-response/shared/incident"
)

//go:embed mapping.json
var defaultMapping []byte

// Mapping says what a Sentry webhook means to the response: the service a
// project watches, the severity of an issue's level and of a metric
// alert's action, and the category of every Sentry signal.
type Mapping struct {
	// Description says why the mapping is what it is.
	Description string `json:"description,omitempty"`
	// Services maps a Sentry project slug to a service name; a slug not
	// listed is taken as the service's own name.
	Services map[string]string `json:"services"`
	// Levels maps an issue's (or an alerted event's) level to a severity.
	// A level not listed is no incident: its signal is ignored.
	Levels map[string]incident.Severity `json:"levels"`
	// MetricAlerts maps a metric alert's action, critical or warning, to a
	// severity; both must be there.
	MetricAlerts map[string]incident.Severity `json:"metricAlerts"`
	// Category is the category of every Sentry signal.
	Category incident.Category `json:"category"`
}

// sentryLevels are the levels Sentry gives issues and events.
var sentryLevels = []string{"fatal", "error", "warning", "info", "debug"}

// DefaultMapping is the embedded mapping.json: fatal P1, error P2, warning
// P3, metric alerts critical P1 and warning P2, category high-error-rate.
func DefaultMapping() Mapping {
	m, err := ParseMapping(defaultMapping)
	if err != nil {
		panic(fmt.Sprintf("sentry: embedded mapping.json: %v", err))
	}
	return m
}

// ParseMapping reads and validates a mapping document; every error is an
// EInvalid *incident.Error naming the field.
func ParseMapping(doc []byte) (Mapping, error) {
	var m Mapping
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return Mapping{}, incident.Errorf(incident.EInvalid, "sentry mapping: %v", err)
	}
	if err := m.validate(); err != nil {
		return Mapping{}, err
	}
	return m, nil
}

func (m Mapping) validate() error {
	for slug, service := range m.Services {
		if strings.TrimSpace(slug) == "" || strings.TrimSpace(service) == "" {
			return incident.FieldErrorf("services", "sentry mapping: services maps %q to %q; neither may be empty", slug, service)
		}
	}
	for level, sev := range m.Levels {
		if !slices.Contains(sentryLevels, level) {
			return incident.FieldErrorf("levels", "sentry mapping: level %q is not one of %s", level, strings.Join(sentryLevels, ", "))
		}
		if _, err := incident.ParseSeverity(string(sev)); err != nil {
			return incident.FieldErrorf("levels", "sentry mapping: level %s: %v", level, incident.ErrorMessage(err))
		}
	}
	for _, action := range []string{actionCritical, actionWarning} {
		if _, err := incident.ParseSeverity(string(m.MetricAlerts[action])); err != nil {
			return incident.FieldErrorf("metricAlerts", "sentry mapping: metricAlerts.%s: %v", action, incident.ErrorMessage(err))
		}
	}
	if len(m.MetricAlerts) != 2 {
		return incident.FieldErrorf("metricAlerts", "sentry mapping: metricAlerts takes critical and warning only")
	}
	if _, err := incident.ParseCategory(string(m.Category)); err != nil {
		return incident.FieldErrorf("category", "sentry mapping: %v", incident.ErrorMessage(err))
	}
	return nil
}

// service is the service a project slug watches.
func (m Mapping) service(slug string) string {
	if s, ok := m.Services[slug]; ok {
		return s
	}
	return slug
}

// EnvMapping names the environment variable that, when set, holds a
// mapping document whose keys replace the default's (see MappingFrom).
const EnvMapping = "SENTRY_MAPPING"

// MappingFrom returns the default mapping with the top-level keys of doc
// in place of its own, validated: {"services": {"web": "dashboarduz-api"}}
// names a project's service and keeps the default levels. A key given
// replaces the default's whole value (levels lists every level that is an
// incident). An empty doc is the default.
func MappingFrom(doc string) (Mapping, error) {
	if strings.TrimSpace(doc) == "" {
		return DefaultMapping(), nil
	}
	var base, over map[string]json.RawMessage
	if err := json.Unmarshal(defaultMapping, &base); err != nil {
		return Mapping{}, fmt.Errorf("sentry: embedded mapping.json: %w", err)
	}
	if err := json.Unmarshal([]byte(doc), &over); err != nil || over == nil {
		return Mapping{}, incident.Errorf(incident.EInvalid, "sentry mapping: not a JSON object")
	}
	for k, v := range over {
		base[k] = v
	}
	merged, err := json.Marshal(base)
	if err != nil {
		return Mapping{}, fmt.Errorf("sentry mapping: %w", err)
	}
	return ParseMapping(merged)
}
