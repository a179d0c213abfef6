package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/lambdaenv"
	"github.com/dashboarduz/incident-response/shared/remediation"
	"github.com/dashboarduz/incident-response/shared/triage/evidence"
)

// Context keys of triage and remediation.
const (
	// ContextTriageSourcesFile, when set, names a JSON triage sources
	// document (see shared/triage/sources.json) that replaces the
	// runbook's names; it is validated at synthesis, and its services,
	// log groups and DB instances are what the triage function may read.
	ContextTriageSourcesFile = "triageSourcesFile"
	// ContextRemediationPolicyFile, when set, names a JSON remediation
	// policy (see shared/incident/remediation.json) that replaces the
	// runbook's defaults; its services and parameter are what the
	// remediate function may change.
	ContextRemediationPolicyFile = "remediationPolicyFile"
	// ContextRemediationDryRun, true, makes every remediation a dry run.
	ContextRemediationDryRun = "remediationDryRun"
	// ContextRemediationKillSwitch, "on", stops all automatic remediation
	// until an admin turns the kill switch off through the API.
	ContextRemediationKillSwitch = "remediationKillSwitch"
	// ContextRemediationPassRoles lists the ARNs of the IAM roles the
	// services' task definitions use (task and execution roles): ECS
	// UpdateService with another task definition, a rollback, needs
	// iam:PassRole on them. Without them a rollback is refused by AWS and
	// recorded as failed.
	ContextRemediationPassRoles = "remediationPassRoles"
)

// RunbookConfig is what triage and remediation take from CDK context.
type RunbookConfig struct {
	// Sources and Policy are the triage sources and the remediation
	// policy, the embedded defaults unless a file replaces them;
	// SourcesDoc and PolicyDoc are the replacing documents, compact, to
	// pass to the functions ("" for the defaults).
	Sources    evidence.Config
	SourcesDoc string
	Policy     incident.RemediationPolicy
	PolicyDoc  string
	// DryRun makes every remediation a dry run (remediationDryRun).
	DryRun bool
	// KillSwitch is the kill switch's default while the table holds no
	// setting (remediationKillSwitch).
	KillSwitch bool
	// PassRoles are the task roles a rollback may pass to ECS
	// (remediationPassRoles).
	PassRoles []string
}

// RunbookConfigFromContext reads the triage and remediation settings.
func RunbookConfigFromContext(scope constructs.Construct) (RunbookConfig, error) {
	get := func(key string) any { return scope.Node().TryGetContext(jsii.String(key)) }
	cfg := RunbookConfig{Sources: evidence.DefaultConfig(), Policy: incident.DefaultRemediationPolicy()}
	var err error
	if cfg.SourcesDoc, err = contextFile(get(ContextTriageSourcesFile), func(b []byte) error {
		c, err := evidence.ParseConfig(b)
		cfg.Sources = c
		return err
	}); err != nil {
		return RunbookConfig{}, fmt.Errorf("context %s: %w", ContextTriageSourcesFile, err)
	}
	if cfg.PolicyDoc, err = contextFile(get(ContextRemediationPolicyFile), func(b []byte) error {
		p, err := incident.ParseRemediationPolicy(b)
		cfg.Policy = p
		return err
	}); err != nil {
		return RunbookConfig{}, fmt.Errorf("context %s: %w", ContextRemediationPolicyFile, err)
	}
	if cfg.DryRun, err = contextFlag(get(ContextRemediationDryRun), "true", "false"); err != nil {
		return RunbookConfig{}, fmt.Errorf("context %s: %w", ContextRemediationDryRun, err)
	}
	if cfg.KillSwitch, err = contextFlag(get(ContextRemediationKillSwitch), "on", "off"); err != nil {
		return RunbookConfig{}, fmt.Errorf("context %s: %w", ContextRemediationKillSwitch, err)
	}
	if cfg.PassRoles, err = contextStrings(get(ContextRemediationPassRoles)); err != nil {
		return RunbookConfig{}, fmt.Errorf("context %s: %w", ContextRemediationPassRoles, err)
	}
	for _, r := range cfg.PassRoles {
		if !strings.HasPrefix(r, "arn:") || !strings.Contains(r, ":role/") || strings.Contains(r, "*") {
			return RunbookConfig{}, fmt.Errorf("context %s: %q is not an IAM role ARN without wildcards", ContextRemediationPassRoles, r)
		}
	}
	return cfg, nil
}

// contextFile reads the JSON file a context value names (relative to
// the folder of cdk.json), checks it with parse and returns it compact;
// no value is "".
func contextFile(v any, parse func([]byte) error) (string, error) {
	path, err := contextString(v)
	if err != nil || path == "" {
		return "", err
	}
	if !filepath.IsAbs(path) {
		root, err := FindRepoRoot(".")
		if err != nil {
			return "", err
		}
		path = filepath.Join(root, path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	if err := parse(b); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	var out bytes.Buffer
	if err := json.Compact(&out, b); err != nil {
		return "", err
	}
	return out.String(), nil
}

// contextFlag reads a two-valued setting given as a JSON boolean or as
// one of its words; no value is false.
func contextFlag(v any, yes, no string) (bool, error) {
	switch v := v.(type) {
	case nil:
		return false, nil
	case bool:
		return v, nil
	case string:
		return lambdaenv.ParseFlag("the value", v, yes, no)
	}
	return false, fmt.Errorf("%v (%T) is neither %s nor %s", v, v, yes, no)
}

// RunbookProps configures NewRunbook.
type RunbookProps struct {
	// Config is the triage and remediation settings from CDK context.
	Config RunbookConfig
	// Triage and Remediate are the functions configured and granted;
	// API learns the kill switch's default.
	Triage    awslambda.Function
	Remediate awslambda.Function
	API       awslambda.Function
}

// Runbook is the triage and remediation functions' configuration and
// their permissions on the configured resources.
type Runbook struct {
	constructs.Construct
	// TriagePolicy and RemediatePolicy hold the functions' AWS
	// permissions beyond the table.
	TriagePolicy    awsiam.Policy
	RemediatePolicy awsiam.Policy
}

// NewRunbook gives the triage and remediate functions their settings and
// exactly the AWS actions they need on the configured resources: triage
// reads the configured ECS services (and their tasks), metrics, log
// groups and DB instances; remediate describes and updates the allowed
// ECS services, reads and switches the maintenance-mode parameter, and
// passes the task roles a rollback needs. The api function learns the
// kill switch's default.
func NewRunbook(scope constructs.Construct, id string, props *RunbookProps) *Runbook {
	c := constructs.NewConstruct(scope, jsii.String(id))
	cfg := props.Config
	env := func(fn awslambda.Function, key, value string) {
		if value != "" {
			fn.AddEnvironment(jsii.String(key), jsii.String(value), nil)
		}
	}
	env(props.Triage, evidence.EnvSources, cfg.SourcesDoc)
	env(props.Remediate, evidence.EnvSources, cfg.SourcesDoc)
	env(props.Remediate, remediation.EnvPolicy, cfg.PolicyDoc)
	env(props.Remediate, remediation.EnvDryRun, map[bool]string{true: "true"}[cfg.DryRun])
	for _, fn := range []awslambda.Function{props.Remediate, props.API} {
		env(fn, lambdaenv.EnvRemediationKillSwitch, map[bool]string{true: "on"}[cfg.KillSwitch])
	}
	stack := awscdk.Stack_Of(scope)
	r := &Runbook{Construct: c}
	r.TriagePolicy = awsiam.NewPolicy(c, jsii.String("TriagePolicy"), &awsiam.PolicyProps{Statements: triageStatements(stack, cfg.Sources)})
	r.TriagePolicy.AttachToRole(props.Triage.Role())
	r.RemediatePolicy = awsiam.NewPolicy(c, jsii.String("RemediatePolicy"), &awsiam.PolicyProps{Statements: remediateStatements(stack, cfg.Policy, cfg.PassRoles)})
	r.RemediatePolicy.AttachToRole(props.Remediate.Role())
	suppressRunbookFindings(r, cfg.Sources)
	return r
}

// arn formats an ARN of the stack's partition, region and account.
func arn(stack awscdk.Stack, service, resource, name string, sep awscdk.ArnFormat) string {
	return *stack.FormatArn(&awscdk.ArnComponents{Service: jsii.String(service), Resource: jsii.String(resource), ResourceName: jsii.String(name), ArnFormat: sep})
}

func statement(actions []string, resources []string, conditions map[string]any) awsiam.PolicyStatement {
	p := &awsiam.PolicyStatementProps{Actions: jsii.Strings(actions...), Resources: jsii.Strings(resources...)}
	if conditions != nil {
		p.Conditions = &conditions
	}
	return awsiam.NewPolicyStatement(p)
}

// triageStatements: what the configured sources read, and nothing else.
func triageStatements(stack awscdk.Stack, src evidence.Config) *[]awsiam.PolicyStatement {
	var services, clusters, tasks, groups, dbs []string
	for _, n := range slices.Sorted(maps.Keys(src.Services)) {
		s := src.Services[n]
		if s.ECSService != "" {
			services = appendNew(services, arn(stack, "ecs", "service", s.Cluster+"/"+s.ECSService, awscdk.ArnFormat_SLASH_RESOURCE_NAME))
			clusters = appendNew(clusters, arn(stack, "ecs", "cluster", s.Cluster, awscdk.ArnFormat_SLASH_RESOURCE_NAME))
			tasks = appendNew(tasks, arn(stack, "ecs", "task", s.Cluster+"/*", awscdk.ArnFormat_SLASH_RESOURCE_NAME))
		}
		if s.LogGroup != "" {
			groups = appendNew(groups, arn(stack, "logs", "log-group", s.LogGroup, awscdk.ArnFormat_COLON_RESOURCE_NAME))
		}
		if s.DBInstance != "" {
			dbs = appendNew(dbs, arn(stack, "rds", "db", s.DBInstance, awscdk.ArnFormat_COLON_RESOURCE_NAME))
		}
	}
	var out []awsiam.PolicyStatement
	if len(services) > 0 {
		out = append(out,
			statement([]string{"ecs:DescribeServices"}, services, nil),
			// Task IDs are made by ECS; the cluster is the narrowest.
			statement([]string{"ecs:DescribeTasks"}, tasks, map[string]any{"ArnEquals": map[string]any{"ecs:cluster": clusters}}),
			// ListTasks has no resource of its own to name; the cluster
			// condition is what ECS offers to narrow it.
			statement([]string{"ecs:ListTasks"}, []string{"*"}, map[string]any{"ArnEquals": map[string]any{"ecs:cluster": clusters}}),
			// GetMetricData supports no resource-level permissions.
			statement([]string{"cloudwatch:GetMetricData"}, []string{"*"}, nil),
		)
	}
	if len(groups) > 0 {
		out = append(out, statement([]string{"logs:FilterLogEvents"}, groups, nil))
	}
	if len(dbs) > 0 {
		out = append(out, statement([]string{"rds:DescribeDBInstances"}, dbs, nil))
		if len(services) == 0 {
			out = append(out, statement([]string{"cloudwatch:GetMetricData"}, []string{"*"}, nil))
		}
	}
	return &out
}

// remediateStatements: the allowed services' ECS actions, the
// maintenance-mode parameter, and the task roles a rollback passes.
func remediateStatements(stack awscdk.Stack, p incident.RemediationPolicy, passRoles []string) *[]awsiam.PolicyStatement {
	var services []string
	rollback := false
	for _, t := range p.Services {
		ecsActions := slices.ContainsFunc(t.Actions, func(a incident.RemediationAction) bool { return a != incident.ActionMaintenance })
		if !slices.Contains(p.Clusters, t.Cluster) || !ecsActions {
			continue
		}
		services = appendNew(services, arn(stack, "ecs", "service", t.Cluster+"/"+t.Service, awscdk.ArnFormat_SLASH_RESOURCE_NAME))
		rollback = rollback || slices.Contains(t.Actions, incident.ActionRollback)
	}
	var out []awsiam.PolicyStatement
	if len(services) > 0 {
		out = append(out, statement([]string{"ecs:DescribeServices", "ecs:UpdateService"}, services, nil))
	}
	if rollback {
		// Planning a rollback lists the family's revisions; the action
		// supports no resource-level permissions.
		out = append(out, statement([]string{"ecs:ListTaskDefinitions"}, []string{"*"}, nil))
		if len(passRoles) > 0 {
			out = append(out, statement([]string{"iam:PassRole"}, passRoles, map[string]any{"StringEquals": map[string]any{"iam:PassedToService": "ecs-tasks.amazonaws.com"}}))
		}
	}
	if param := p.Rules.MaintenanceMode.Parameter; param != "" && len(p.Rules.MaintenanceMode.Categories) > 0 {
		out = append(out, statement([]string{"ssm:GetParameter", "ssm:PutParameter"},
			[]string{arn(stack, "ssm", "parameter", strings.TrimPrefix(param, "/"), awscdk.ArnFormat_SLASH_RESOURCE_NAME)}, nil))
	}
	if len(out) == 0 {
		// A policy must hold a statement: one that allows nothing real.
		out = append(out, statement([]string{"ecs:DescribeServices"}, []string{arn(stack, "ecs", "service", "none/none", awscdk.ArnFormat_SLASH_RESOURCE_NAME)}, nil))
	}
	return &out
}

func appendNew(list []string, v string) []string {
	if slices.Contains(list, v) {
		return list
	}
	return append(list, v)
}

// suppressRunbookFindings keeps the AwsSolutions-IAM5 findings AWS leaves
// no narrower grant for, each with its reason.
func suppressRunbookFindings(r *Runbook, src evidence.Config) {
	suppress(r.TriagePolicy,
		suppression("AwsSolutions-IAM5",
			"cloudwatch:GetMetricData supports no resource-level permissions (AWS documents it on Resource \"*\"); ecs:ListTasks has no resource to name either and is narrowed by its ecs:cluster condition to the configured clusters; ecs:DescribeTasks is on the configured clusters' tasks, whose IDs ECS makes.",
			"Resource::*"),
		suppression("AwsSolutions-IAM5",
			"ecs:DescribeTasks: task IDs are made by ECS as tasks start, so the grant names each configured cluster's tasks (task/<cluster>/*), the narrowest the ARN allows, under an ecs:cluster condition.",
			taskWildcards(src)...),
	)
	suppress(r.RemediatePolicy,
		suppression("AwsSolutions-IAM5",
			"ecs:ListTaskDefinitions supports no resource-level permissions (AWS documents it on Resource \"*\"); it only lists revisions, to find the one a rollback returns to.",
			"Resource::*"),
	)
}

// taskWildcards are the cdk-nag finding names of the task ARNs granted,
// as cdk-nag spells resources with their tokens.
func taskWildcards(src evidence.Config) []string {
	var out []string
	for _, s := range src.Services {
		if s.Cluster != "" {
			out = appendNew(out, "Resource::arn:<AWS::Partition>:ecs:<AWS::Region>:<AWS::AccountId>:task/"+s.Cluster+"/*")
		}
	}
	slices.Sort(out)
	return out
}
