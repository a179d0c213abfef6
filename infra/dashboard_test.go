package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/metrics"
)

// dashboardWidget is the part of a widget of a dashboard body the tests
// read.
type dashboardWidget struct {
	Type       string `json:"type"`
	Width      int    `json:"width"`
	Properties struct {
		Title       string  `json:"title"`
		Markdown    string  `json:"markdown"`
		Metrics     [][]any `json:"metrics"`
		Alarms      []string
		Annotations struct {
			Horizontal []struct {
				Value float64 `json:"value"`
				Label string  `json:"label"`
			} `json:"horizontal"`
		} `json:"annotations"`
	} `json:"properties"`
}

// dashboardBody returns the synthesized dashboard's widgets by title. The
// body is a Fn::Join of text and references; a reference becomes @ID (Ref)
// or @ID.Attr (Fn::GetAtt), so the tests can see what it points at.
func dashboardBody(t *testing.T, s synthesized) (map[string]dashboardWidget, map[string]any) {
	t.Helper()
	dashboards := s.resourcesOfType("AWS::CloudWatch::Dashboard")
	if len(dashboards) != 1 {
		t.Fatalf("%d dashboards, want 1", len(dashboards))
	}
	var props map[string]any
	for _, d := range dashboards {
		props = d["Properties"].(map[string]any)
	}
	var body strings.Builder
	join, ok := props["DashboardBody"].(map[string]any)["Fn::Join"].([]any)
	if !ok {
		t.Fatalf("DashboardBody is not a Fn::Join: %v", props["DashboardBody"])
	}
	for _, part := range join[1].([]any) {
		switch p := part.(type) {
		case string:
			body.WriteString(p)
		case map[string]any:
			if r, ok := p["Ref"]; ok {
				fmt.Fprintf(&body, "@%v", r)
			} else if g, ok := p["Fn::GetAtt"].([]any); ok {
				fmt.Fprintf(&body, "@%v.%v", g[0], g[1])
			} else {
				t.Fatalf("unexpected part %v", p)
			}
		}
	}
	var doc struct {
		Widgets []dashboardWidget `json:"widgets"`
	}
	if err := json.Unmarshal([]byte(body.String()), &doc); err != nil {
		t.Fatalf("dashboard body is not JSON: %v\n%s", err, body.String())
	}
	widgets := map[string]dashboardWidget{}
	for _, w := range doc.Widgets {
		widgets[w.Properties.Title] = w
	}
	return widgets, props
}

// expressions returns a widget's metric math expressions.
func expressions(w dashboardWidget) []string {
	var out []string
	for _, m := range w.Properties.Metrics {
		for _, v := range m {
			if o, ok := v.(map[string]any); ok {
				if e, ok := o["expression"].(string); ok {
					out = append(out, e)
				}
			}
		}
	}
	return out
}

// metricNames returns a widget's plain metrics as "namespace name
// dimension=value".
func metricNames(w dashboardWidget) []string {
	var out []string
	for _, m := range w.Properties.Metrics {
		if len(m) >= 4 {
			out = append(out, fmt.Sprintf("%v %v %v=%v", m[0], m[1], m[2], m[3]))
		}
	}
	return out
}

func TestDashboard(t *testing.T) {
	s := synth(t, nil)
	widgets, props := dashboardBody(t, s)
	if canon(props["DashboardName"]) != canon(ref("AWS::StackName")) {
		t.Errorf("dashboard name %v, want the stack's name", props["DashboardName"])
	}

	p := incident.DefaultPolicy()
	for _, sev := range incident.Severities {
		sp := p.For(sev)
		for _, c := range []struct {
			what, metric string
			target       float64
		}{
			{"time to acknowledge", metrics.TimeToAcknowledge, sp.AcknowledgeWithin.D().Seconds()},
			{"time to resolve", metrics.TimeToResolve, sp.ResolveWithin.D().Seconds()},
		} {
			title := fmt.Sprintf("%s %s (seconds)", sev, c.what)
			w, ok := widgets[title]
			if !ok {
				t.Errorf("no widget %q", title)
				continue
			}
			want := fmt.Sprintf(`SEARCH('{%s,Service,Severity} MetricName="%s" Severity="%s"', 'Maximum', 3600)`, metrics.Namespace, c.metric, sev)
			if got := expressions(w); len(got) != 1 || got[0] != want {
				t.Errorf("%s: expressions %q, want %q", title, got, want)
			}
			if h := w.Properties.Annotations.Horizontal; len(h) != 1 || h[0].Value != c.target {
				t.Errorf("%s: target line %+v, want at %v s", title, h, c.target)
			}
		}
	}
	for _, c := range []struct{ title, metric string }{
		{"Missed response targets by severity and service", metrics.ResponseTargetMissed},
		{"Missed resolution targets by severity and service", metrics.ResolutionTargetMissed},
	} {
		want := fmt.Sprintf(`SEARCH('{%s,Service,Severity} MetricName="%s"', 'Sum', 3600)`, metrics.Namespace, c.metric)
		if got := expressions(widgets[c.title]); len(got) != 1 || got[0] != want {
			t.Errorf("%s: %q, want %q", c.title, got, want)
		}
	}
	if got := expressions(widgets["Missed targets in the time range"]); len(got) != 4 || !strings.Contains(got[0], `Severity="P0"`) || !strings.HasPrefix(got[0], "SUM(SEARCH(") {
		t.Errorf("missed totals %q", got)
	}

	// The system's own health, each metric bound to the stack's resources.
	fns := s.stack.Functions
	var wantErrors, wantThrottles []string
	byName := fns.ByName()
	for _, n := range slices.Sorted(maps.Keys(byName)) {
		fn := logicalID(t, s, byName[n])
		wantErrors = append(wantErrors, "AWS/Lambda Errors FunctionName=@"+fn)
		wantThrottles = append(wantThrottles, "AWS/Lambda Throttles FunctionName=@"+fn)
	}
	if got := metricNames(widgets["Function errors"]); canon(got) != canon(wantErrors) {
		t.Errorf("function errors %v, want %v", got, wantErrors)
	}
	if got := metricNames(widgets["Function throttles"]); canon(got) != canon(wantThrottles) {
		t.Errorf("function throttles %v, want %v", got, wantThrottles)
	}
	sm := "@" + logicalID(t, s, s.stack.Escalation.StateMachine)
	wantSM := []string{"AWS/States ExecutionsFailed StateMachineArn=" + sm, "AWS/States ExecutionsTimedOut StateMachineArn=" + sm}
	if got := metricNames(widgets["Escalation executions failed and timed out"]); canon(got) != canon(wantSM) {
		t.Errorf("executions %v, want %v", got, wantSM)
	}
	alarms := widgets["The system's own alarms"].Properties.Alarms
	want := []string{
		"@" + logicalID(t, s, s.stack.Escalation.Failures) + ".Arn",
		"@" + logicalID(t, s, s.stack.Escalation.TimedOut) + ".Arn",
		"@" + logicalID(t, s, fns.PagesRejected) + ".Arn",
		"@" + logicalID(t, s, s.stack.DeadLetters.NotEmpty) + ".Arn",
		"@" + logicalID(t, s, s.stack.Heartbeat.Missing) + ".Arn",
	}
	if s.stack.FireDrill.Failing != nil {
		want = append(want, "@"+logicalID(t, s, s.stack.FireDrill.Failing)+".Arn")
	}
	if canon(alarms) != canon(want) {
		t.Errorf("alarm widget %v, want %v", alarms, want)
	}
}

func TestDashboardFollowsPolicy(t *testing.T) {
	path := filepath.Join(t.TempDir(), "policy.json")
	doc := strings.Replace(string(incident.DefaultPolicyJSON()), `"acknowledgeWithin": "15m"`, `"acknowledgeWithin": "10m"`, 1)
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	s := synth(t, map[string]any{ContextEscalationPolicyFile: path})
	widgets, _ := dashboardBody(t, s)
	h := widgets["P1 time to acknowledge (seconds)"].Properties.Annotations.Horizontal
	if len(h) != 1 || h[0].Value != 600 || h[0].Label != "P1 target 10m" {
		t.Errorf("P1 target line %+v, want the policy file's 10m", h)
	}
}

func TestDashboardRejectsBadPolicy(t *testing.T) {
	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(t.TempDir())})
	stack := awscdk.NewStack(app, jsii.String("Bad"), nil)
	_, err := NewDashboard(stack, "Dashboard", &DashboardProps{Namespace: metrics.Namespace, Policy: `{"levels":[]}`})
	if incident.ErrorCode(err) != incident.EInvalid {
		t.Errorf("bad policy: %v, want invalid", err)
	}
}

func TestShortDuration(t *testing.T) {
	for _, sev := range incident.Severities {
		sp := incident.DefaultPolicy().For(sev)
		t.Logf("%s: %s, %s", sev, shortDuration(sp.AcknowledgeWithin.D()), shortDuration(sp.ResolveWithin.D()))
	}
	p := incident.DefaultPolicy()
	for _, c := range []struct {
		got, want string
	}{
		{shortDuration(p.For(incident.P0).AcknowledgeWithin.D()), "5m"},
		{shortDuration(p.For(incident.P1).ResolveWithin.D()), "4h"},
		{shortDuration(p.For(incident.P3).ResolveWithin.D()), "168h"},
		{shortDuration(90 * 60 * 1e9), "1h30m"},
	} {
		if c.got != c.want {
			t.Errorf("shortDuration = %q, want %q", c.got, c.want)
		}
	}
}
