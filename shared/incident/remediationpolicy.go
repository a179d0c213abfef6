package incident

import (
	_ "embed" // for go:embed
	"fmt"
	"slices"
	"time"
)

//go:embed remediation.json
var defaultRemediationPolicy []byte

// RemediationPolicy is the runbook's remediations as a team configures
// them: the allow-list (clusters, services, the actions allowed on each
// and their bounds), each action's guard rails (approval, dry run,
// budget), the rules that decide which action an incident calls for,
// and the verification window.
type RemediationPolicy struct {
	Description string `json:"description,omitempty"`
	// DryRun records what every action would do and makes none.
	DryRun bool `json:"dryRun"`
	// VerifyWithin is the window after an action in which the
	// incident's signal must recover.
	VerifyWithin Duration `json:"verifyWithin"`
	// ApprovalExpiresAfter is how long a risky action waits for
	// approval before it is left undone.
	ApprovalExpiresAfter Duration `json:"approvalExpiresAfter"`
	// MaxAttempts bounds the attempts at making one action when AWS is
	// unavailable; RetryAfter is the wait between them, and the lease of
	// a claim.
	MaxAttempts int      `json:"maxAttempts"`
	RetryAfter  Duration `json:"retryAfter"`
	// Clusters and Services are the allow-list: an action on anything
	// else is refused.
	Clusters []string            `json:"clusters"`
	Services []RemediationTarget `json:"services"`
	// Actions are the guard rails of each action; an action not listed
	// is not allowed.
	Actions map[RemediationAction]ActionPolicy `json:"actions"`
	Rules   RemediationRules                   `json:"rules"`
}

// RemediationTarget is an ECS service remediation may act on, the
// actions allowed on it and the bounds of its desired count.
type RemediationTarget struct {
	Service  string              `json:"service"`
	Cluster  string              `json:"cluster"`
	Actions  []RemediationAction `json:"actions"`
	MinCount int32               `json:"minCount"`
	MaxCount int32               `json:"maxCount"`
}

// ActionPolicy is one action's guard rails.
type ActionPolicy struct {
	// DryRun records what this action would do and makes none.
	DryRun bool `json:"dryRun,omitempty"`
	// Approval makes the action wait for a commander's approval.
	Approval bool `json:"approval"`
	// Budget bounds how often the action is made on one service,
	// across incidents.
	Budget Budget `json:"budget"`
}

// Budget allows Count actions per Window on one service.
type Budget struct {
	Count  int      `json:"count"`
	Window Duration `json:"window"`
}

// RemediationRules say which action an incident calls for, per the
// runbook's Common Incidents.
type RemediationRules struct {
	ServiceDown     ServiceDownRule `json:"serviceDown"`
	QueueBacklog    ScaleRule       `json:"queueBacklog"`
	Performance     ScaleRule       `json:"performance"`
	MaintenanceMode MaintenanceRule `json:"maintenanceMode"`
}

// ServiceDownRule decides service-down and high-error-rate incidents: a
// deployment at most DeployedWithin before the incident began is rolled
// back; otherwise a service-down incident with unhealthy tasks is
// restarted.
type ServiceDownRule struct {
	DeployedWithin Duration `json:"deployedWithin"`
}

// ScaleRule scales an ECS service: to To, or Step more than it runs,
// within its target's bounds; only when CPU or memory is above
// UtilizationAbove, when set. After the resolution it is scaled back
// ScaleDownAfter later (zero: never), once fewer than DrainedBelow jobs
// wait in the queues (when set), giving up GiveUpAfter after the
// resolution.
type ScaleRule struct {
	Service          string   `json:"service,omitempty"`
	To               int32    `json:"to,omitempty"`
	Step             int32    `json:"step,omitempty"`
	UtilizationAbove float64  `json:"utilizationAbove,omitempty"`
	ScaleDownAfter   Duration `json:"scaleDownAfter,omitempty"`
	DrainedBelow     int      `json:"drainedBelow,omitempty"`
	GiveUpAfter      Duration `json:"giveUpAfter,omitempty"`
}

// MaintenanceRule proposes maintenance mode for incidents of these
// categories and severities, when WhenNoTaskRuns only if the service
// runs no task at all; Parameter is the SSM parameter that holds it.
type MaintenanceRule struct {
	Parameter      string     `json:"parameter"`
	Categories     []Category `json:"categories,omitempty"`
	Severities     []Severity `json:"severities,omitempty"`
	WhenNoTaskRuns bool       `json:"whenNoTaskRuns,omitempty"`
}

// DefaultRemediationPolicy is the embedded remediation.json: the
// runbook's remediations for Dashboarduz production.
func DefaultRemediationPolicy() RemediationPolicy {
	p, err := ParseRemediationPolicy(defaultRemediationPolicy)
	if err != nil {
		panic(fmt.Sprintf("incident: embedded remediation.json: %v", err))
	}
	return p
}

// ParseRemediationPolicy reads and validates a remediation policy;
// unknown fields are refused so a misspelt guard rail fails loudly.
func ParseRemediationPolicy(doc []byte) (RemediationPolicy, error) {
	var p RemediationPolicy
	if err := DecodeStrict(doc, "remediation policy", &p); err != nil {
		return RemediationPolicy{}, err
	}
	if err := p.Validate(); err != nil {
		return RemediationPolicy{}, err
	}
	return p, nil
}

// Validate checks the policy: every guard rail present and sensible,
// every target in an allowed cluster, maintenance mode never without
// approval.
func (p RemediationPolicy) Validate() error {
	for _, check := range []func() error{p.validateTimes, p.validateTargets, p.validateActions, p.validateRules} {
		if err := check(); err != nil {
			msg := err.Error()
			if ErrorCode(err) != EInternal {
				msg = ErrorMessage(err)
			}
			return Errorf(EInvalid, "remediation policy: %s", msg)
		}
	}
	return nil
}

func (p RemediationPolicy) validateTimes() error {
	switch {
	case p.VerifyWithin <= 0:
		return fmt.Errorf("verifyWithin must be positive")
	case p.ApprovalExpiresAfter <= 0:
		return fmt.Errorf("approvalExpiresAfter must be positive")
	case p.MaxAttempts < 1 || p.MaxAttempts > 10:
		return fmt.Errorf("maxAttempts must be from 1 to 10")
	case p.RetryAfter < Duration(time.Minute):
		return fmt.Errorf("retryAfter must be at least 1m, longer than a Remediate call may take")
	}
	return nil
}

func (p RemediationPolicy) validateTargets() error {
	seen := map[string]bool{}
	for i, t := range p.Services {
		switch {
		case t.Service == "" || t.Cluster == "":
			return fmt.Errorf("services[%d] needs service and cluster", i)
		case seen[t.Service]:
			return fmt.Errorf("service %s is listed twice", t.Service)
		case !slices.Contains(p.Clusters, t.Cluster):
			return fmt.Errorf("service %s is in cluster %s, which clusters does not allow", t.Service, t.Cluster)
		case t.MinCount < 0 || t.MaxCount < t.MinCount || t.MaxCount < 1:
			return fmt.Errorf("service %s needs 0 <= minCount <= maxCount and maxCount >= 1", t.Service)
		}
		seen[t.Service] = true
		for _, a := range t.Actions {
			if _, err := ParseRemediationAction(string(a)); err != nil {
				return fmt.Errorf("service %s: %s", t.Service, ErrorMessage(err))
			}
		}
	}
	return nil
}

func (p RemediationPolicy) validateActions() error {
	for a, ap := range p.Actions {
		if _, err := ParseRemediationAction(string(a)); err != nil {
			return err
		}
		if ap.Budget.Count < 1 || ap.Budget.Window <= 0 {
			return fmt.Errorf("action %s needs a budget with a count of at least 1 and a positive window", a)
		}
	}
	if m, ok := p.Actions[ActionMaintenance]; ok && !m.Approval {
		return fmt.Errorf("maintenance-mode always waits for approval: set its approval to true")
	}
	return nil
}

func (p RemediationPolicy) validateRules() error {
	if p.Rules.ServiceDown.DeployedWithin < 0 {
		return fmt.Errorf("rules.serviceDown.deployedWithin is negative")
	}
	for name, r := range map[string]ScaleRule{"queueBacklog": p.Rules.QueueBacklog, "performance": p.Rules.Performance} {
		if r == (ScaleRule{}) {
			continue
		}
		switch {
		case (r.To > 0) == (r.Step > 0):
			return fmt.Errorf("rules.%s needs exactly one of to and step", name)
		case r.To < 0 || r.Step < 0 || r.ScaleDownAfter < 0 || r.DrainedBelow < 0 || r.GiveUpAfter < 0 || r.UtilizationAbove < 0:
			return fmt.Errorf("rules.%s has a negative setting", name)
		case r.Service != "" && !slices.ContainsFunc(p.Services, func(t RemediationTarget) bool { return t.Service == r.Service }):
			return fmt.Errorf("rules.%s scales %s, which services does not list", name, r.Service)
		}
	}
	m := p.Rules.MaintenanceMode
	if len(m.Categories) > 0 && m.Parameter == "" {
		return fmt.Errorf("rules.maintenanceMode needs the parameter it switches")
	}
	return nil
}

// Target returns the allow-listed target of a service.
func (p RemediationPolicy) Target(service string) (RemediationTarget, bool) {
	for _, t := range p.Services {
		if t.Service == service {
			return t, true
		}
	}
	return RemediationTarget{}, false
}

// allowed says why an action on a service is refused by the allow-list,
// "" when it is allowed.
func (p RemediationPolicy) allowed(action RemediationAction, service string) string {
	t, ok := p.Target(service)
	switch {
	case !ok:
		return fmt.Sprintf("%s is not in the remediation allow-list", service)
	case !slices.Contains(p.Clusters, t.Cluster):
		return fmt.Sprintf("cluster %s is not in the remediation allow-list", t.Cluster)
	case !slices.Contains(t.Actions, action):
		return fmt.Sprintf("%s is not allowed on %s (allowed: %v)", action, service, t.Actions)
	}
	if _, ok := p.Actions[action]; !ok {
		return fmt.Sprintf("%s is not an allowed action", action)
	}
	return ""
}

// dryRun reports whether an action only records what it would do.
func (p RemediationPolicy) dryRun(action RemediationAction) bool {
	return p.DryRun || p.Actions[action].DryRun
}
