package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// testFunctionsDir holds a placeholder bootstrap per function; made in TestMain.
var testFunctionsDir string

func TestMain(m *testing.M) {
	// JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION cannot be set here: the
	// jsii kernel starts while the CDK packages initialise, before TestMain,
	// so the Makefile sets it in the environment of `go test`.
	// The stack must not depend on where the test runs.
	os.Unsetenv("CDK_DEFAULT_ACCOUNT")
	os.Unsetenv("CDK_DEFAULT_REGION")
	code, err := runTests(m)
	jsii.Close()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(code)
}

func runTests(m *testing.M) (int, error) {
	dir, err := os.MkdirTemp("", "infra-functions-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	for _, name := range FunctionNames {
		if err := os.MkdirAll(filepath.Join(dir, name), 0o755); err != nil {
			return 0, err
		}
		// Distinct contents give each function its own asset.
		if err := os.WriteFile(filepath.Join(dir, name, bootstrapFile), []byte("placeholder "+name), 0o755); err != nil {
			return 0, err
		}
	}
	testFunctionsDir = dir
	return m.Run(), nil
}

// synthesized is one synthesized stack and its template.
type synthesized struct {
	stack *IncidentResponseStack
	tmpl  assertions.Template
	// json is the template as decoded JSON.
	json map[string]any
}

// synth builds the stack with cdk.json's context plus extra, from the
// placeholder functions.
func synth(t *testing.T, extra map[string]any) synthesized {
	t.Helper()
	stack, err := newTestStack(t, extra, testFunctionsDir)
	if err != nil {
		t.Fatalf("NewIncidentResponseStack: %v", err)
	}
	var s synthesized
	mustNotPanic(t, "synthesize", func() {
		s.tmpl = assertions.Template_FromStack(stack.Stack, nil)
		s.json = *s.tmpl.ToJSON()
	})
	s.stack = stack
	return s
}

// newTestStack builds the stack in a fresh app like main does, writing to a
// temporary folder.
func newTestStack(t *testing.T, extra map[string]any, functionsDir string) (*IncidentResponseStack, error) {
	t.Helper()
	return buildTestStack(t, extra, &IncidentResponseStackProps{FunctionsDir: functionsDir})
}

// newBoundTestStack builds the stack bound to an account, as `cdk deploy`
// synthesizes it, with cdk.json's context plus extra.
func newBoundTestStack(t *testing.T, extra map[string]any) (*IncidentResponseStack, error) {
	t.Helper()
	return buildTestStack(t, extra, &IncidentResponseStackProps{
		StackProps:   awscdk.StackProps{Env: &awscdk.Environment{Account: jsii.String("123456789012"), Region: jsii.String("eu-west-1")}},
		FunctionsDir: testFunctionsDir,
	})
}

// buildTestStack builds the stack with props in a fresh app with cdk.json's
// context plus extra.
func buildTestStack(t *testing.T, extra map[string]any, props *IncidentResponseStackProps) (stack *IncidentResponseStack, err error) {
	t.Helper()
	root, err := FindRepoRoot(".")
	if err != nil {
		t.Fatalf("FindRepoRoot: %v", err)
	}
	app, err := NewApp(root, &awscdk.AppProps{Outdir: jsii.String(t.TempDir())})
	if err != nil {
		t.Fatalf("NewApp: %v", err)
	}
	for k, v := range extra {
		app.Node().SetContext(jsii.String(k), v)
	}
	mustNotPanic(t, "NewIncidentResponseStack", func() {
		stack, err = NewIncidentResponseStack(app, StackID, props)
	})
	return stack, err
}

// synthFails builds the stack with cdk.json's context plus extra and
// reports a failure unless building it fails with an error containing
// want.
func synthFails(t *testing.T, extra map[string]any, want string) {
	t.Helper()
	if _, err := newTestStack(t, extra, testFunctionsDir); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("context %v: err = %v, want one containing %q", extra, err, want)
	}
}

// mustNotPanic runs f and turns a panic (a failed CDK assertion or a jsii
// error) into a test failure with its message.
func mustNotPanic(t *testing.T, what string, f func()) {
	t.Helper()
	ok := false
	defer func() {
		if !ok {
			t.Fatalf("%s: %v", what, recover())
		}
	}()
	f()
	ok = true
}

// check runs a CDK assertion and reports its failure without stopping the test.
func check(t *testing.T, what string, f func()) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Errorf("%s: %v", what, r)
		}
	}()
	f()
}

// logicalID returns the logical ID of c's CloudFormation resource.
func logicalID(t *testing.T, s synthesized, c constructs.IConstruct) string {
	t.Helper()
	el, ok := c.Node().DefaultChild().(awscdk.CfnElement)
	if !ok {
		t.Fatalf("%s has no CloudFormation resource", *c.Node().Path())
	}
	return *s.stack.GetLogicalId(el)
}

// resource returns the template's resource id, failing when it is missing.
func (s synthesized) resource(t *testing.T, id string) map[string]any {
	t.Helper()
	r, ok := s.json["Resources"].(map[string]any)[id].(map[string]any)
	if !ok {
		t.Fatalf("resource %s not in template", id)
	}
	return r
}

// resourcesOfType returns the template's resources of type typ by logical ID.
func (s synthesized) resourcesOfType(typ string) map[string]map[string]any {
	out := map[string]map[string]any{}
	for id, r := range s.json["Resources"].(map[string]any) {
		r := r.(map[string]any)
		if r["Type"] == typ {
			out[id] = r
		}
	}
	return out
}

// props returns a resource's Properties.
func props(r map[string]any) map[string]any {
	p, _ := r["Properties"].(map[string]any)
	return p
}

// canon renders v as JSON with sorted keys, for comparing template fragments.
func canon(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("<%v>", err)
	}
	return string(b)
}

// list returns v as a list: IAM allows a single value or a list.
func list(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	if v == nil {
		return nil
	}
	return []any{v}
}

// getAtt and ref build the intrinsic functions the template uses.
func getAtt(id, attr string) map[string]any {
	return map[string]any{"Fn::GetAtt": []any{id, attr}}
}

func ref(id string) map[string]any { return map[string]any{"Ref": id} }

func join(parts ...any) map[string]any {
	return map[string]any{"Fn::Join": []any{"", parts}}
}

// envOf is the environment of the function with logical ID id.
func envOf(t *testing.T, s synthesized, id string) map[string]any {
	t.Helper()
	env, _ := props(s.resource(t, id))["Environment"].(map[string]any)["Variables"].(map[string]any)
	return env
}

// roleOf is the logical ID of the execution role of the function with
// logical ID fnID.
func roleOf(t *testing.T, s synthesized, fnID string) string {
	t.Helper()
	return props(s.resource(t, fnID))["Role"].(map[string]any)["Fn::GetAtt"].([]any)[0].(string)
}

// policiesOf returns the Properties of every IAM policy attached to the
// role with logical ID role.
func (s synthesized) policiesOf(role string) []map[string]any {
	var out []map[string]any
	for _, r := range s.resourcesOfType("AWS::IAM::Policy") {
		p := props(r)
		if slices.ContainsFunc(list(p["Roles"]), func(x any) bool { return canon(x) == canon(ref(role)) }) {
			out = append(out, p)
		}
	}
	return out
}
