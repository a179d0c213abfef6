package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
	"github.com/getkin/kin-openapi/openapi3"

	"github.com/dashboarduz/incident-response/shared/api"
	"github.com/dashboarduz/incident-response/shared/auth"
)

// Real-looking JWT settings, so the API tests do not depend on cdk.json's
// placeholders.
const (
	testJWTIssuer = "https://login.example.com/"
	testAudience1 = "incident-response"
	testAudience2 = "incident-response-cli"
)

var testJWTContext = map[string]any{
	ContextJWTIssuer:   testJWTIssuer,
	ContextJWTAudience: []any{testAudience1, testAudience2},
	// A real operator contact too, so that no placeholder is left.
	ContextOperatorEmail: "oncall@example.com",
}

// wantRoutes is the API's contract (see the architecture notes): route key
// and whether it is open. APIRoutes must list exactly these.
var wantRoutes = map[string]bool{
	"GET /health":                                                true,
	"POST /webhooks/pagerduty":                                   true,
	"POST /webhooks/sentry":                                      true,
	"POST /webhooks/slack":                                       true,
	"POST /incidents":                                            false,
	"GET /incidents":                                             false,
	"GET /incidents/{id}":                                        false,
	"GET /incidents/{id}/timeline":                               false,
	"POST /incidents/{id}/acknowledge":                           false,
	"POST /incidents/{id}/updates":                               false,
	"POST /incidents/{id}/severity":                              false,
	"POST /incidents/{id}/escalate":                              false,
	"POST /incidents/{id}/resolve":                               false,
	"GET /maintenance-windows":                                   false,
	"POST /maintenance-windows":                                  false,
	"DELETE /maintenance-windows/{id}":                           false,
	"GET /status":                                                true,
	"GET /status.json":                                           true,
	"GET /status.atom":                                           true,
	"GET /incidents/{id}/postmortem":                             false,
	"POST /incidents/{id}/postmortem/action-items":               false,
	"POST /incidents/{id}/postmortem/action-items/{item}/assign": false,
	"POST /incidents/{id}/postmortem/action-items/{item}/close":  false,
	"POST /incidents/{id}/postmortem/complete":                   false,
	"GET /metrics/summary":                                       false,
	"GET /incidents/{id}/triage":                                 false,
	"POST /incidents/{id}/actions/{action}/approve":              false,
	"POST /incidents/{id}/actions/{action}/reject":               false,
	"GET /remediation/kill-switch":                               false,
	"PUT /remediation/kill-switch":                               false,
}

func TestAPIRoutesVariable(t *testing.T) {
	got := map[string]bool{}
	for _, r := range APIRoutes {
		if _, dup := got[r.Key()]; dup {
			t.Errorf("APIRoutes lists %s twice", r.Key())
		}
		got[r.Key()] = r.Open
	}
	if !maps.Equal(got, wantRoutes) {
		t.Errorf("APIRoutes = %v\nwant %v", got, wantRoutes)
	}
}

func TestAPI(t *testing.T) {
	s := synth(t, testJWTContext)
	a := s.stack.API
	apiID := logicalID(t, s, a.HTTPAPI)
	fnID := logicalID(t, s, s.stack.Functions.API)
	authorizerID := ""
	for id := range s.resourcesOfType("AWS::ApiGatewayV2::Authorizer") {
		authorizerID = id
	}

	check(t, "HTTP API", func() {
		s.tmpl.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Api"), map[string]any{
			"ProtocolType": "HTTP",
			"Name":         join(ref("AWS::StackName"), "-api"),
		})
	})
	check(t, "JWT authorizer", func() {
		s.tmpl.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Authorizer"), assertions.Match_ObjectEquals(&map[string]any{
			"ApiId":          ref(apiID),
			"AuthorizerType": "JWT",
			"Name":           APIAuthorizerName,
			"IdentitySource": []any{"$request.header.Authorization"},
			"JwtConfiguration": map[string]any{
				"Issuer":   testJWTIssuer,
				"Audience": []any{testAudience1, testAudience2},
			},
		}))
	})

	// One Lambda proxy integration, payload format 2.0, to the api function.
	integrations := s.resourcesOfType("AWS::ApiGatewayV2::Integration")
	if len(integrations) != 1 {
		t.Fatalf("%d integrations, want 1", len(integrations))
	}
	var integrationID string
	for id, r := range integrations {
		integrationID = id
		p := props(r)
		for field, want := range map[string]any{
			"ApiId":                ref(apiID),
			"IntegrationType":      "AWS_PROXY",
			"IntegrationUri":       getAtt(fnID, "Arn"),
			"PayloadFormatVersion": "2.0",
		} {
			if got := canon(p[field]); got != canon(want) {
				t.Errorf("integration %s = %s, want %s", field, got, canon(want))
			}
		}
	}

	routes := map[string]map[string]any{}
	for id, r := range s.resourcesOfType("AWS::ApiGatewayV2::Route") {
		p := props(r)
		key, _ := p["RouteKey"].(string)
		if routes[key] != nil {
			t.Errorf("route %s defined twice", key)
		}
		routes[key] = p
		if open, known := wantRoutes[key]; !known {
			t.Errorf("route %s (%s) is not in the API's contract", key, id)
		} else if !open && authorizerID == "" {
			t.Errorf("route %s: no authorizer in the template", key)
		}
	}
	for key, open := range wantRoutes {
		p := routes[key]
		if p == nil {
			t.Errorf("route %s missing", key)
			continue
		}
		if got, want := canon(p["ApiId"]), canon(ref(apiID)); got != want {
			t.Errorf("route %s: ApiId = %s, want %s", key, got, want)
		}
		if got, want := canon(p["Target"]), canon(join("integrations/", ref(integrationID))); got != want {
			t.Errorf("route %s: Target = %s, want %s", key, got, want)
		}
		wantType, wantAuthorizer := "JWT", any(ref(authorizerID))
		if open {
			wantType, wantAuthorizer = "NONE", nil
		}
		if p["AuthorizationType"] != wantType || canon(p["AuthorizerId"]) != canon(wantAuthorizer) {
			t.Errorf("route %s: AuthorizationType %v, AuthorizerId %s; want %s, %s",
				key, p["AuthorizationType"], canon(p["AuthorizerId"]), wantType, canon(wantAuthorizer))
		}
	}

	// API Gateway may invoke the function on the API's routes only.
	perms := 0
	for id, r := range s.resourcesOfType("AWS::Lambda::Permission") {
		p := props(r)
		if p["Principal"] != "apigateway.amazonaws.com" {
			continue
		}
		perms++
		if canon(p["FunctionName"]) != canon(getAtt(fnID, "Arn")) {
			t.Errorf("permission %s lets API Gateway invoke %s, want only the api function", id, canon(p["FunctionName"]))
		}
		if src := canon(p["SourceArn"]); !strings.Contains(src, canon(ref(apiID))) {
			t.Errorf("permission %s: SourceArn %s is not this API's", id, src)
		}
	}
	if perms != len(wantRoutes) {
		t.Errorf("%d API Gateway invoke permissions, want one per route (%d)", perms, len(wantRoutes))
	}
}

func TestAPIStage(t *testing.T) {
	s := synth(t, testJWTContext)
	stages := s.resourcesOfType("AWS::ApiGatewayV2::Stage")
	if len(stages) != 1 {
		t.Fatalf("%d stages, want 1", len(stages))
	}
	logs := logicalID(t, s, s.stack.API.AccessLogs)
	for _, r := range stages {
		p := props(r)
		for field, want := range map[string]any{
			"ApiId":      ref(logicalID(t, s, s.stack.API.HTTPAPI)),
			"StageName":  "$default",
			"AutoDeploy": true,
			"DefaultRouteSettings": map[string]any{
				"ThrottlingBurstLimit": float64(APIThrottleBurstLimit),
				"ThrottlingRateLimit":  float64(APIThrottleRateLimit),
			},
		} {
			if got := canon(p[field]); got != canon(want) {
				t.Errorf("stage %s = %s, want %s", field, got, canon(want))
			}
		}
		als, _ := p["AccessLogSettings"].(map[string]any)
		if got, want := canon(als["DestinationArn"]), canon(getAtt(logs, "Arn")); got != want {
			t.Errorf("access logs go to %s, want %s", got, want)
		}
		format, _ := als["Format"].(string)
		var record map[string]string
		if err := json.Unmarshal([]byte(format), &record); err != nil {
			t.Fatalf("access log format %q is not a JSON object: %v", format, err)
		}
		for field, want := range map[string]string{
			"requestId": "$context.requestId",
			"routeKey":  "$context.routeKey",
			"status":    "$context.status",
			"sub":       "$context.authorizer.claims.sub",
		} {
			if record[field] != want {
				t.Errorf("access log field %s = %q, want %q", field, record[field], want)
			}
		}
		if strings.Contains(strings.ToLower(format), "authorization") {
			t.Errorf("access log format %s logs the Authorization header", format)
		}
	}
	if got := props(s.resource(t, logs))["RetentionInDays"]; got != 30.0 {
		t.Errorf("access log retention = %v, want 30 (logRetentionDays)", got)
	}
}

func TestAPIContextSettings(t *testing.T) {
	const secretName = "team/other-webhook-secret"
	ctx := maps.Clone(testJWTContext)
	ctx[ContextPagerDutyWebhookSecretName] = secretName
	ctx[ContextJWTAudience] = "only-audience" // as -c jwtAudience=only-audience passes it
	s := synth(t, ctx)

	check(t, "one audience", func() {
		s.tmpl.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Authorizer"), map[string]any{
			"JwtConfiguration": map[string]any{"Issuer": testJWTIssuer, "Audience": []any{"only-audience"}},
		})
	})
	apiID := logicalID(t, s, s.stack.Functions.API)
	env := envOf(t, s, apiID)
	if got := canon(env[EnvPagerDutyWebhookSecretArn]); !strings.HasSuffix(got, `":secret:`+secretName+`"]]}`) {
		t.Errorf("%s = %s, want the ARN of %s", EnvPagerDutyWebhookSecretArn, got, secretName)
	}
	granted := false
	for _, p := range s.policiesOf(roleOf(t, s, apiID)) {
		granted = granted || strings.Contains(canon(p["PolicyDocument"]), ":secret:"+secretName+`-??????"`)
	}
	if !granted {
		t.Errorf("the api function's policy does not grant the secret %s", secretName)
	}
}

func TestJWTPlaceholders(t *testing.T) {
	// cdk.json's placeholders: synthesis works, with a warning.
	s := synth(t, nil)
	check(t, "placeholder warning", func() {
		assertions.Annotations_FromStack(s.stack.Stack).HasWarning(jsii.String("/"+StackID),
			assertions.Match_StringLikeRegexp(jsii.String("jwtIssuer/jwtAudience are cdk.json's placeholders")))
	})
	check(t, "placeholder issuer", func() {
		s.tmpl.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Authorizer"), map[string]any{
			"JwtConfiguration": map[string]any{"Issuer": PlaceholderJWTIssuer, "Audience": []any{PlaceholderJWTAudience}},
		})
	})

	// Real values: no warning.
	s = synth(t, testJWTContext)
	check(t, "no placeholder warning", func() {
		assertions.Annotations_FromStack(s.stack.Stack).HasNoWarning(jsii.String("*"), assertions.Match_AnyValue())
	})

	// A stack bound to an account is what `cdk deploy` synthesizes: the
	// placeholders must not get that far.
	root, err := FindRepoRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		ctx  map[string]any
	}{
		{"placeholder issuer", map[string]any{ContextJWTAudience: testAudience1}},
		{"placeholder audience", map[string]any{ContextJWTIssuer: testJWTIssuer}},
	} {
		t.Run(c.name, func(t *testing.T) {
			app, err := NewApp(root, &awscdk.AppProps{Outdir: jsii.String(t.TempDir())})
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range c.ctx {
				app.Node().SetContext(jsii.String(k), v)
			}
			mustNotPanic(t, "NewIncidentResponseStack", func() {
				_, err = NewIncidentResponseStack(app, StackID, &IncidentResponseStackProps{
					StackProps: awscdk.StackProps{Env: &awscdk.Environment{
						Account: jsii.String("123456789012"), Region: jsii.String("eu-west-1"),
					}},
					FunctionsDir: testFunctionsDir,
				})
			})
			if err == nil || !strings.Contains(err.Error(), "placeholders cannot be deployed") || !strings.Contains(err.Error(), ContextJWTIssuer) {
				t.Errorf("err = %v, want one saying the placeholders cannot be deployed and naming %s", err, ContextJWTIssuer)
			}
		})
	}
}

// TestAPIRoutesMatchTheHandler keeps API Gateway's routes, the api
// function's handler and openapi.yaml in step: a route served but not
// deployed would be unreachable, one deployed but not served would answer
// 404, an open route must be open on both sides, and each route needs the
// same role in all three (the handler enforces it, API Gateway checks its
// scopes, the document tells clients).
func TestAPIRoutesMatchTheHandler(t *testing.T) {
	type access struct {
		open bool
		role auth.Role
	}
	deployed := map[string]access{}
	for _, r := range APIRoutes {
		deployed[r.Key()] = access{r.Open, r.Role}
	}
	served := map[string]access{}
	for _, r := range api.Routes() {
		served[r.Method+" "+r.Path] = access{r.Open, r.Role}
	}
	if !maps.Equal(deployed, served) {
		t.Errorf("API Gateway routes (route: open, role) %v\ndiffer from the handler's %v", deployed, served)
	}
	doc, err := openapi3.NewLoader().LoadFromData(api.OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range APIRoutes {
		op := doc.Paths.Value(r.Path).GetOperation(r.Method)
		if op == nil {
			t.Errorf("%s is not in openapi.yaml", r.Key())
			continue
		}
		documented, _ := op.Extensions["x-required-role"].(string)
		if want := r.Role.String(); !r.Open && documented != want {
			t.Errorf("%s: openapi.yaml x-required-role %q, API Gateway route %q", r.Key(), documented, want)
		}
	}
}

// TestAPIRouteRoles: every protected route names a role; the open ones
// none.
func TestAPIRouteRoles(t *testing.T) {
	for _, r := range APIRoutes {
		if r.Open != (r.Role == auth.NoRole) {
			t.Errorf("%s: open %v with role %s", r.Key(), r.Open, r.Role)
		}
	}
}

// routeScopes returns each route's AuthorizationScopes in the template.
func routeScopes(t *testing.T, s synthesized) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, r := range s.resourcesOfType("AWS::ApiGatewayV2::Route") {
		p := props(r)
		var scopes []string
		for _, v := range list(p["AuthorizationScopes"]) {
			scopes = append(scopes, v.(string))
		}
		out[p["RouteKey"].(string)] = scopes
	}
	return out
}

// TestAPIRolesFromGroups: by default roles come from the groups claim,
// which API Gateway cannot check, so no route has authorization scopes and
// the function is told the claim and every role's names.
func TestRouteRolesFromGroups(t *testing.T) {
	s := synth(t, testJWTContext)
	for key, scopes := range routeScopes(t, s) {
		if len(scopes) != 0 {
			t.Errorf("route %s has authorization scopes %q with roles from groups", key, scopes)
		}
	}
	env := envOf(t, s, logicalID(t, s, s.stack.Functions.API))
	if env[auth.EnvRoleClaim] != "groups" {
		t.Errorf("%s = %v, want groups", auth.EnvRoleClaim, env[auth.EnvRoleClaim])
	}
	m, err := auth.ParseRoleMapping(fmt.Sprint(env[auth.EnvRoleClaim]), fmt.Sprint(env[auth.EnvRoleNames]))
	if err != nil {
		t.Fatalf("the function could not read its role settings: %v", err)
	}
	if got := m.NamesOf(auth.Commander); !slices.Equal(got, []string{"incident-commanders"}) {
		t.Errorf("commander names %q, want the default", got)
	}
}

// TestAPIRolesFromScopes: with roles from OAuth scopes, API Gateway's
// authorizer checks them too: each protected route lists the scopes of
// every role allowed on it (a token needs one of them), the open routes
// none, and the function reads the same mapping.
func TestRouteRolesFromScopes(t *testing.T) {
	ctx := maps.Clone(testJWTContext)
	ctx[ContextRoleClaim] = "scope"
	ctx[ContextRoleNames] = map[string]any{"responder": []any{"incident-response/responder", "incident-response/oncall"}}
	s := synth(t, ctx)
	m, err := auth.ParseRoleMapping("scope", `{"responder": ["incident-response/responder", "incident-response/oncall"]}`)
	if err != nil {
		t.Fatal(err)
	}
	got := routeScopes(t, s)
	for _, r := range APIRoutes {
		var want []string
		if !r.Open {
			want = m.NamesAllowed(r.Role)
		}
		if !slices.Equal(got[r.Key()], want) {
			t.Errorf("route %s: authorization scopes %q, want %q", r.Key(), got[r.Key()], want)
		}
	}
	if scopes := got["POST /incidents/{id}/severity"]; slices.Contains(scopes, "incident-response/oncall") || !slices.Contains(scopes, "incident-response/commander") {
		t.Errorf("severity route scopes %q: a responder's scope must not pass, a commander's must", scopes)
	}
	env := envOf(t, s, logicalID(t, s, s.stack.Functions.API))
	fm, err := auth.ParseRoleMapping(fmt.Sprint(env[auth.EnvRoleClaim]), fmt.Sprint(env[auth.EnvRoleNames]))
	if err != nil || fm.ClaimName() != "scope" || !slices.Equal(fm.NamesOf(auth.Responder), m.NamesOf(auth.Responder)) {
		t.Errorf("function role settings %v, %v: %+v", env[auth.EnvRoleClaim], env[auth.EnvRoleNames], fm)
	}

	// -c roleNames='{...}' arrives as a string.
	ctx[ContextRoleNames] = `{"admin": "incident-response/root"}`
	s = synth(t, ctx)
	if got := routeScopes(t, s)["GET /incidents"]; !slices.Contains(got, "incident-response/root") {
		t.Errorf("GET /incidents scopes %q, want the admin scope from the command line", got)
	}
}

func TestRouteRoleSettingsRefused(t *testing.T) {
	for name, extra := range map[string]map[string]any{
		"a name for two roles": {ContextRoleNames: map[string]any{"viewer": "x", "admin": "x"}},
		"an unknown role":      {ContextRoleNames: map[string]any{"root": "x"}},
		"not JSON":             {ContextRoleNames: "{viewer"},
		"claim not a string":   {ContextRoleClaim: 3.0},
	} {
		t.Run(name, func(t *testing.T) {
			ctx := maps.Clone(testJWTContext)
			maps.Copy(ctx, extra)
			synthFails(t, ctx, "role")
		})
	}
}

// TestAPIRouteThrottles: the open routes have throttles of their own, so a
// flood of unauthenticated requests is refused on those routes and cannot
// use up what the responders' routes get (finding L14); the authenticated
// routes keep the stage default. The stage waits for the routes, since
// API Gateway refuses settings for a route key it does not have yet.
func TestAPIRouteThrottles(t *testing.T) {
	s := synth(t, testJWTContext)
	var stage map[string]any
	var stageRes map[string]any
	for _, r := range s.resourcesOfType("AWS::ApiGatewayV2::Stage") {
		stage, stageRes = props(r), r
	}
	settings, _ := stage["RouteSettings"].(map[string]any)
	want := map[string]any{}
	for _, r := range APIRoutes {
		if r.Open {
			th := OpenRouteThrottles[r.Key()]
			if th.Rate <= 0 || th.Burst <= 0 || th.Rate >= APIThrottleRateLimit {
				t.Errorf("open route %s: throttle %+v, want one of its own below the stage's %d rps", r.Key(), th, APIThrottleRateLimit)
			}
			want[r.Key()] = map[string]any{"ThrottlingBurstLimit": float64(th.Burst), "ThrottlingRateLimit": float64(th.Rate)}
		}
	}
	if canon(settings) != canon(want) {
		t.Errorf("stage RouteSettings %s, want %s", canon(settings), canon(want))
	}
	deps := map[string]bool{}
	for _, d := range list(stageRes["DependsOn"]) {
		deps[d.(string)] = true
	}
	for id, r := range s.resourcesOfType("AWS::ApiGatewayV2::Route") {
		key := props(r)["RouteKey"].(string)
		if _, throttled := want[key]; throttled && !deps[id] {
			t.Errorf("the stage does not depend on route %s (%s), whose settings it holds", key, id)
		}
	}
}

// TestStatusPageURL: the api function is told the status page's public
// address, <ApiUrl>status (the $default stage's URL is the API's
// endpoint), which the feed's IDs are made from.
func TestStatusPageURL(t *testing.T) {
	s := synth(t, testJWTContext)
	got := canon(envOf(t, s, logicalID(t, s, s.stack.Functions.API))[EnvStatusPageURL])
	want := canon(join("https://", ref(logicalID(t, s, s.stack.API.HTTPAPI)), ".execute-api.", ref("AWS::Region"), ".", ref("AWS::URLSuffix"), "/status"))
	if got != want {
		t.Errorf("%s = %s, want %s", EnvStatusPageURL, got, want)
	}
}
