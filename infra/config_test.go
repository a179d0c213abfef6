package main

import (
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/jsii-runtime-go"

	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/statemachine"
)

func TestDefinitionSubstitutions(t *testing.T) {
	plan, page := jsii.String("plan-arn"), jsii.String("page-arn")
	for _, c := range []struct {
		name    string
		names   []string
		values  map[string]*string
		want    map[string]*string
		missing []string
	}{
		{"all bound", []string{"PlanFunctionArn", "PageFunctionArn"},
			map[string]*string{"PlanFunctionArn": plan, "PageFunctionArn": page},
			map[string]*string{"PlanFunctionArn": plan, "PageFunctionArn": page}, nil},
		{"extra values are not substituted", []string{"PlanFunctionArn"},
			map[string]*string{"PlanFunctionArn": plan, "PageFunctionArn": page},
			map[string]*string{"PlanFunctionArn": plan}, nil},
		{"a placeholder without a value", []string{"PlanFunctionArn", "NotifyFunctionArn", "PageFunctionArn"},
			map[string]*string{"PlanFunctionArn": plan, "PageFunctionArn": nil},
			nil, []string{"NotifyFunctionArn", "PageFunctionArn"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := DefinitionSubstitutions(c.names, c.values)
			var me *MissingSubstitutionError
			if c.missing != nil {
				if !errors.As(err, &me) || !reflect.DeepEqual(me.Names, c.missing) {
					t.Fatalf("err = %v, want missing %v", err, c.missing)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, c.want) {
				t.Errorf("got %v, %v; want %v", got, err, c.want)
			}
		})
	}
	// The real definition's placeholders are the ones the stack binds.
	want := []string{statemachine.PageFunctionArn, statemachine.PlanFunctionArn, statemachine.TriageFunctionArn, statemachine.RemediateFunctionArn, statemachine.NotifyFunctionArn}
	if got := statemachine.Placeholders(); !reflect.DeepEqual(got, want) {
		t.Errorf("statemachine.Placeholders() = %v, want %v; bind new ones in NewEscalation", got, want)
	}
}

func TestCDKJSONContextReachesTheApp(t *testing.T) {
	root, err := FindRepoRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "infra", "main.go")); err != nil {
		t.Fatalf("FindRepoRoot(.) = %s, not the repository root: %v", root, err)
	}
	ctx, err := LoadCDKContext(filepath.Join(root, "cdk.json"))
	if err != nil {
		t.Fatal(err)
	}
	const flag = "@aws-cdk/aws-iam:minimizePolicies"
	if ctx[flag] != true {
		t.Fatalf("cdk.json context %s = %v, want true (regenerate the flags with `cdk init`)", flag, ctx[flag])
	}
	app, err := NewApp(root, &awscdk.AppProps{Outdir: jsii.String(t.TempDir())})
	if err != nil {
		t.Fatal(err)
	}
	if got := app.Node().TryGetContext(jsii.String(flag)); got != true {
		t.Errorf("app context %s = %v, want true from cdk.json", flag, got)
	}
}

func TestFindRepoRootWithoutCDKJSON(t *testing.T) {
	if _, err := FindRepoRoot(t.TempDir()); !errors.Is(err, ErrNoCDKJSON) {
		t.Errorf("err = %v, want ErrNoCDKJSON", err)
	}
}

func TestFunctionsDir(t *testing.T) {
	for _, c := range []struct{ root, env, want string }{
		{"/repo", "", "/repo/build/functions"},
		{"/repo", "out/fns", "/repo/out/fns"},
		{"/repo", "/tmp/fns/", "/tmp/fns"},
	} {
		if got := FunctionsDir(c.root, c.env); got != c.want {
			t.Errorf("FunctionsDir(%q, %q) = %q, want %q", c.root, c.env, got, c.want)
		}
	}
}

func TestEnvFromEnvironment(t *testing.T) {
	for _, c := range []struct {
		account, region string
		want            *awscdk.Environment
	}{
		{"", "", nil},
		{"123456789012", "eu-west-1", &awscdk.Environment{Account: jsii.String("123456789012"), Region: jsii.String("eu-west-1")}},
		// What the CLI sets without credentials: stay environment-agnostic.
		{"", "us-east-1", nil},
		{"123456789012", "", nil},
	} {
		t.Setenv("CDK_DEFAULT_ACCOUNT", c.account)
		t.Setenv("CDK_DEFAULT_REGION", c.region)
		if got := EnvFromEnvironment(); !reflect.DeepEqual(got, c.want) {
			t.Errorf("EnvFromEnvironment() with %q/%q = %+v, want %+v", c.account, c.region, got, c.want)
		}
	}
}

// configFrom reads the Config of a stack in an app whose context is ctx
// alone (not cdk.json's); account, when set, binds the stack to it.
func configFrom(t *testing.T, ctx map[string]any, account string) (cfg Config, err error) {
	t.Helper()
	mustNotPanic(t, "ConfigFromContext", func() {
		app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(t.TempDir()), Context: &ctx})
		var sp awscdk.StackProps
		if account != "" {
			sp.Env = &awscdk.Environment{Account: jsii.String(account), Region: jsii.String("eu-west-1")}
		}
		cfg, err = ConfigFromContext(awscdk.NewStack(app, jsii.String("Config"), &sp))
	})
	return cfg, err
}

func TestConfigFromContextAPI(t *testing.T) {
	const issuer = "https://login.example.com/"
	for _, c := range []struct {
		name    string
		ctx     map[string]any
		account string
		want    Config // compared on the API's fields only
		err     string // when not empty, the error must contain it
	}{
		{name: "defaults", ctx: map[string]any{ContextJWTIssuer: issuer, ContextJWTAudience: "aud"},
			want: Config{PagerDutyWebhookSecretName: DefaultPagerDutyWebhookSecretName, JWTIssuer: issuer, JWTAudience: []string{"aud"}}},
		{name: "webhook secret and audiences", ctx: map[string]any{
			ContextJWTIssuer: issuer, ContextJWTAudience: []any{"a", "b"}, ContextPagerDutyWebhookSecretName: "team/webhook"},
			want: Config{PagerDutyWebhookSecretName: "team/webhook", JWTIssuer: issuer, JWTAudience: []string{"a", "b"}}},
		{name: "placeholders without an account", ctx: map[string]any{ContextJWTIssuer: PlaceholderJWTIssuer, ContextJWTAudience: PlaceholderJWTAudience},
			want: Config{PagerDutyWebhookSecretName: DefaultPagerDutyWebhookSecretName, JWTIssuer: PlaceholderJWTIssuer, JWTAudience: []string{PlaceholderJWTAudience}}},
		{name: "real values with an account", ctx: map[string]any{ContextJWTIssuer: issuer, ContextJWTAudience: "aud"}, account: "123456789012",
			want: Config{PagerDutyWebhookSecretName: DefaultPagerDutyWebhookSecretName, JWTIssuer: issuer, JWTAudience: []string{"aud"}}},

		{name: "issuer missing", ctx: map[string]any{ContextJWTAudience: "aud"}, err: "context jwtIssuer: required"},
		{name: "audience missing", ctx: map[string]any{ContextJWTIssuer: issuer}, err: "context jwtAudience: required"},
		{name: "audience empty list", ctx: map[string]any{ContextJWTIssuer: issuer, ContextJWTAudience: []any{}}, err: "context jwtAudience: required"},
		{name: "audience list with a number", ctx: map[string]any{ContextJWTIssuer: issuer, ContextJWTAudience: []any{"a", 7.0}}, err: "context jwtAudience: 7 (float64) in the list"},
		{name: "audience list with an empty string", ctx: map[string]any{ContextJWTIssuer: issuer, ContextJWTAudience: []any{""}}, err: "context jwtAudience"},
		{name: "issuer not a URL", ctx: map[string]any{ContextJWTIssuer: "login.example.com", ContextJWTAudience: "aud"}, err: "is not an https URL"},
		{name: "issuer not a string", ctx: map[string]any{ContextJWTIssuer: true, ContextJWTAudience: "aud"}, err: "context jwtIssuer: true (bool) is not a string"},
		{name: "webhook secret not a string", ctx: map[string]any{ContextJWTIssuer: issuer, ContextJWTAudience: "aud", ContextPagerDutyWebhookSecretName: []any{"x"}},
			err: "context pagerDutyWebhookSecretName"},
		{name: "placeholder issuer with an account", ctx: map[string]any{ContextJWTIssuer: PlaceholderJWTIssuer, ContextJWTAudience: "aud"}, account: "123456789012",
			err: "placeholders cannot be deployed (account 123456789012)"},
		{name: "placeholder audience with an account", ctx: map[string]any{ContextJWTIssuer: issuer, ContextJWTAudience: []any{"aud", PlaceholderJWTAudience}}, account: "123456789012",
			err: "placeholders cannot be deployed"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := configFrom(t, c.ctx, c.account)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Errorf("err = %v, want one containing %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ConfigFromContext: %v", err)
			}
			got := Config{PagerDutyWebhookSecretName: cfg.PagerDutyWebhookSecretName, JWTIssuer: cfg.JWTIssuer, JWTAudience: cfg.JWTAudience}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("config = %+v, want %+v", got, c.want)
			}
			if got, want := cfg.UsesJWTPlaceholder(), c.want.JWTIssuer == PlaceholderJWTIssuer; got != want {
				t.Errorf("UsesJWTPlaceholder() = %v, want %v", got, want)
			}
		})
	}
}

// The placeholders must be recognisable as such and unusable: an issuer
// under .invalid never resolves, so API Gateway can fetch no keys for it.
func TestJWTPlaceholdersCannotWork(t *testing.T) {
	u, err := url.Parse(PlaceholderJWTIssuer)
	if err != nil || !strings.HasSuffix(u.Hostname(), ".invalid") {
		t.Errorf("PlaceholderJWTIssuer %q is not under the reserved .invalid domain", PlaceholderJWTIssuer)
	}
	if err := checkJWTIssuer(PlaceholderJWTIssuer); err != nil {
		t.Errorf("PlaceholderJWTIssuer must pass the issuer check, so `make synth` works: %v", err)
	}
}

func TestEscalationPolicyFile(t *testing.T) {
	base := map[string]any{ContextJWTIssuer: "https://login.example.com/", ContextJWTAudience: "incident-response"}
	with := func(path string) map[string]any {
		ctx := map[string]any{ContextEscalationPolicyFile: path}
		for k, v := range base {
			ctx[k] = v
		}
		return ctx
	}
	dir := t.TempDir()
	good := filepath.Join(dir, "policy.json")
	doc := strings.Replace(string(incident.DefaultPolicyJSON()), `"acknowledgeWithin": "5m"`, `"acknowledgeWithin": "2m"`, 1)
	if err := os.WriteFile(good, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"levels":[{"name":"on-call"}],"severities":{}}`), 0o600); err != nil {
		t.Fatal(err)
	}

	cfg, err := configFrom(t, base, "")
	if err != nil || cfg.EscalationPolicy != "" {
		t.Fatalf("without the key: policy %q, err %v; want the default (empty)", cfg.EscalationPolicy, err)
	}
	cfg, err = configFrom(t, with(good), "")
	if err != nil {
		t.Fatal(err)
	}
	p, err := incident.ParsePolicy([]byte(cfg.EscalationPolicy))
	if err != nil || p.Severities[incident.P0].AcknowledgeWithin.D().String() != "2m0s" || strings.Contains(cfg.EscalationPolicy, "\n") {
		t.Errorf("policy = %q, %v; want the file's, compact", cfg.EscalationPolicy, err)
	}
	for _, path := range []string{bad, filepath.Join(dir, "missing.json")} {
		if _, err := configFrom(t, with(path), ""); err == nil || !strings.Contains(err.Error(), ContextEscalationPolicyFile) {
			t.Errorf("%s: err = %v, want an error naming %s", path, err, ContextEscalationPolicyFile)
		}
	}

	// Every function gets the policy.
	s := synth(t, with(good))
	for _, fn := range []awslambda.IFunction{s.stack.Functions.AlarmIngest, s.stack.Functions.EscalationPlan, s.stack.Functions.EscalationPage, s.stack.Functions.API} {
		env := envOf(t, s, logicalID(t, s, fn))
		if env[EnvEscalationPolicy] != cfg.EscalationPolicy {
			t.Errorf("%s: %s = %v, want the policy", *fn.Node().Id(), EnvEscalationPolicy, env[EnvEscalationPolicy])
		}
	}
}
