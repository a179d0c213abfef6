package main

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

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
	if got, want := statemachine.Placeholders(), []string{statemachine.PlanFunctionArn, statemachine.PageFunctionArn}; !reflect.DeepEqual(got, want) {
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
