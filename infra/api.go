package main

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigateway"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2authorizers"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2integrations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/dashboarduz/incident-response/shared/auth"
)

// APIRoute is one route of the HTTP API.
type APIRoute struct {
	// Method is the HTTP method, e.g. GET.
	Method string
	// Path is the route's path, with {name} for a path parameter.
	Path string
	// Open routes take no token: the health check, the PagerDuty, Sentry
	// and Slack webhooks, whose signatures the handler verifies instead,
	// and the public status page.
	Open bool
	// Role is the least role a caller needs; NoRole on open routes. When
	// roles come from scopes, the route's authorization scopes are those
	// of this role and every role above it.
	Role auth.Role
}

// Key is the route key API Gateway matches, e.g. "GET /incidents/{id}".
func (r APIRoute) Key() string { return r.Method + " " + r.Path }

// APIRoutes is every route of the HTTP API, all served by the api function;
// every route that is not Open needs a valid JWT. The handler's own route
// table must list the same routes.
var APIRoutes = []APIRoute{
	{Method: "GET", Path: "/health", Open: true},
	{Method: "POST", Path: "/webhooks/pagerduty", Open: true},
	{Method: "POST", Path: "/webhooks/sentry", Open: true},
	{Method: "POST", Path: "/webhooks/slack", Open: true},
	{Method: "POST", Path: "/incidents", Role: auth.Responder},
	{Method: "GET", Path: "/incidents", Role: auth.Viewer},
	{Method: "GET", Path: "/incidents/{id}", Role: auth.Viewer},
	{Method: "GET", Path: "/incidents/{id}/timeline", Role: auth.Viewer},
	{Method: "POST", Path: "/incidents/{id}/acknowledge", Role: auth.Responder},
	{Method: "POST", Path: "/incidents/{id}/updates", Role: auth.Responder},
	{Method: "POST", Path: "/incidents/{id}/severity", Role: auth.Commander},
	{Method: "POST", Path: "/incidents/{id}/escalate", Role: auth.Responder},
	{Method: "POST", Path: "/incidents/{id}/resolve", Role: auth.Responder},
	{Method: "GET", Path: "/maintenance-windows", Role: auth.Commander},
	{Method: "POST", Path: "/maintenance-windows", Role: auth.Commander},
	{Method: "DELETE", Path: "/maintenance-windows/{id}", Role: auth.Commander},
	{Method: "GET", Path: "/status", Open: true},
	{Method: "GET", Path: "/status.json", Open: true},
	{Method: "GET", Path: "/status.atom", Open: true},
	{Method: "GET", Path: "/incidents/{id}/postmortem", Role: auth.Viewer},
	{Method: "POST", Path: "/incidents/{id}/postmortem/action-items", Role: auth.Responder},
	{Method: "POST", Path: "/incidents/{id}/postmortem/action-items/{item}/assign", Role: auth.Responder},
	{Method: "POST", Path: "/incidents/{id}/postmortem/action-items/{item}/close", Role: auth.Responder},
	{Method: "POST", Path: "/incidents/{id}/postmortem/complete", Role: auth.Commander},
	{Method: "GET", Path: "/metrics/summary", Role: auth.Viewer},
	{Method: "GET", Path: "/incidents/{id}/triage", Role: auth.Viewer},
	{Method: "POST", Path: "/incidents/{id}/actions/{action}/approve", Role: auth.Commander},
	{Method: "POST", Path: "/incidents/{id}/actions/{action}/reject", Role: auth.Commander},
	{Method: "GET", Path: "/remediation/kill-switch", Role: auth.Viewer},
	{Method: "PUT", Path: "/remediation/kill-switch", Role: auth.Admin},
}

// Stage throttling: enough for a team's dashboards, scripts and webhook
// bursts during a large outage, low enough that a runaway client cannot
// run up the function's concurrency.
const (
	APIThrottleBurstLimit = 100
	APIThrottleRateLimit  = 50
)

// RouteThrottle is a route's own rate (requests per second) and burst.
type RouteThrottle struct {
	// Rate is the steady requests per second; Burst how many may come
	// at once.
	Rate  float64
	Burst float64
}

// OpenRouteThrottles are the open routes' own throttles, well below the
// stage's: anyone on the internet can send to them, and a flood must be
// refused there (429 on that route) without using up the rate the
// responders' routes get. The webhook's allows PagerDuty's bursts during a
// large outage; PagerDuty redelivers a webhook refused with 429.
//
// The status page's routes get more: an outage sends customers to the
// page all at once. Each answer is cacheable for 30 seconds (a CDN in
// front absorbs the rest) and each function instance reads the table at
// most once every 10 seconds for it, however many ask.
var OpenRouteThrottles = map[string]RouteThrottle{
	"GET /health":              {Rate: 5, Burst: 10},
	"POST /webhooks/pagerduty": {Rate: 20, Burst: 40},
	"GET /status":              {Rate: 25, Burst: 50},
	"GET /status.json":         {Rate: 10, Burst: 20},
	"GET /status.atom":         {Rate: 5, Burst: 10},
	// Sentry sends a webhook per new issue and alert: an error storm's
	// first minutes, which its own alert rules already group.
	"POST /webhooks/sentry": {Rate: 20, Burst: 40},
	// People pressing buttons and typing /incident: a few a second even in
	// a large outage; Slack shows the user an error on a 429.
	"POST /webhooks/slack": {Rate: 10, Burst: 20},
}

// EnvStatusPageURL is the public address of the status page, which its
// feed's IDs and links are made from: <ApiUrl>status.
const EnvStatusPageURL = "STATUS_PAGE_URL"

// APIAuthorizerName is the JWT authorizer's name.
const APIAuthorizerName = "jwt"

// apiAccessLogFormat is one JSON record per request. It names the caller
// by the token's subject, never by the token itself.
var apiAccessLogFormat = func() string {
	b, err := json.Marshal(map[string]string{
		"requestId":         "$context.requestId",
		"requestTime":       "$context.requestTime",
		"sourceIp":          "$context.identity.sourceIp",
		"userAgent":         "$context.identity.userAgent",
		"routeKey":          "$context.routeKey",
		"path":              "$context.path",
		"status":            "$context.status",
		"protocol":          "$context.protocol",
		"responseLength":    "$context.responseLength",
		"responseLatency":   "$context.responseLatency",
		"integrationStatus": "$context.integrationStatus",
		"integrationError":  "$context.integrationErrorMessage",
		"authorizerError":   "$context.authorizer.error",
		"sub":               "$context.authorizer.claims.sub",
		"error":             "$context.error.message",
	})
	if err != nil {
		panic(err) // a constant map of strings always encodes
	}
	return string(b)
}()

// APIProps configures API.
type APIProps struct {
	// Function is the api function behind every route.
	Function awslambda.Function
	// StateMachine is the escalation the function starts when an incident
	// is reported, re-planned or escalated.
	StateMachine awsstepfunctions.IStateMachine
	// JWTIssuer is the issuer of the tokens the API accepts (https URL).
	JWTIssuer string
	// JWTAudience lists the audiences a token may carry (at least one).
	JWTAudience []string
	// LogRetention is how long the access logs are kept.
	LogRetention awslogs.RetentionDays
	// Roles says where the callers' roles come from; the function reads it
	// from its environment, and when roles are scopes each route's
	// authorization scopes follow it too.
	Roles auth.RoleMapping
}

// API is the HTTP API in front of the api function: its routes, the JWT
// authorizer, the $default stage with its access logs and throttling, and
// the function's right to start escalations.
type API struct {
	constructs.Construct
	// HTTPAPI is the API Gateway HTTP API.
	HTTPAPI awsapigatewayv2.HttpApi
	// Stage is the auto-deployed $default stage.
	Stage awsapigatewayv2.HttpStage
	// Authorizer checks the JWT on every route that is not open.
	Authorizer awsapigatewayv2authorizers.HttpJwtAuthorizer
	// AccessLogs receives one JSON record per request.
	AccessLogs awslogs.LogGroup
	// Routes are the routes of APIRoutes, in that order.
	Routes []awsapigatewayv2.HttpRoute
}

// NewAPI creates the HTTP API with APIRoutes, all proxied (payload format
// 2.0) to props.Function, and gives the function the state machine's ARN
// and the right to start it. It fails when the JWT settings are missing.
func NewAPI(scope constructs.Construct, id string, props *APIProps) (*API, error) {
	if props.JWTIssuer == "" {
		return nil, errors.New("api: no JWT issuer")
	}
	if len(props.JWTAudience) == 0 {
		return nil, errors.New("api: no JWT audience")
	}
	c := constructs.NewConstruct(scope, jsii.String(id))

	logs := awslogs.NewLogGroup(c, jsii.String("AccessLogs"), &awslogs.LogGroupProps{
		Retention:     props.LogRetention,
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	api := awsapigatewayv2.NewHttpApi(c, jsii.String("HttpApi"), &awsapigatewayv2.HttpApiProps{
		ApiName:     stackScopedName("-api"),
		Description: jsii.String("Dashboarduz incident response: report, acknowledge, escalate and resolve incidents; post-mortems and metrics; PagerDuty and Sentry webhooks; the public status page."),
		// The stage below replaces the default one: HttpApiProps cannot
		// set a stage's access logs or throttling.
		CreateDefaultStage: jsii.Bool(false),
	})
	stage := api.AddStage(jsii.String("DefaultStage"), &awsapigatewayv2.HttpStageOptions{
		StageName:  jsii.String("$default"),
		AutoDeploy: jsii.Bool(true),
		Throttle: &awsapigatewayv2.ThrottleSettings{
			BurstLimit: jsii.Number(APIThrottleBurstLimit),
			RateLimit:  jsii.Number(APIThrottleRateLimit),
		},
		AccessLogSettings: &accessLogSettings{
			destination: awsapigatewayv2.NewLogGroupLogDestination(logs),
			format:      awsapigateway.AccessLogFormat_Custom(jsii.String(apiAccessLogFormat)),
		},
	})

	authorizer := awsapigatewayv2authorizers.NewHttpJwtAuthorizer(jsii.String("JwtAuthorizer"), jsii.String(props.JWTIssuer),
		&awsapigatewayv2authorizers.HttpJwtAuthorizerProps{
			AuthorizerName: jsii.String(APIAuthorizerName),
			JwtAudience:    jsii.Strings(props.JWTAudience...),
			IdentitySource: jsii.Strings("$request.header.Authorization"),
		})
	// One integration for every route; each route gets its own invoke
	// permission, scoped to its path.
	integration := awsapigatewayv2integrations.NewHttpLambdaIntegration(jsii.String("Function"), props.Function,
		&awsapigatewayv2integrations.HttpLambdaIntegrationProps{
			PayloadFormatVersion: awsapigatewayv2.PayloadFormatVersion_VERSION_2_0(),
		})
	// Open routes name the none authorizer rather than leaving it out, so
	// a default authorizer added to the API later cannot lock out
	// PagerDuty or the health check.
	none := awsapigatewayv2.NewHttpNoneAuthorizer()

	routes := make([]awsapigatewayv2.HttpRoute, 0, len(APIRoutes))
	routeSettings := map[string]any{}
	cfnStage := stage.Node().DefaultChild().(awsapigatewayv2.CfnStage)
	for _, r := range APIRoutes {
		opts := &awsapigatewayv2.AddRoutesOptions{
			Path:        jsii.String(r.Path),
			Methods:     &[]awsapigatewayv2.HttpMethod{awsapigatewayv2.HttpMethod(r.Method)},
			Integration: integration,
			Authorizer:  authorizer,
		}
		if r.Open {
			opts.Authorizer = none
		} else if props.Roles.UsesScopes() {
			// API Gateway lets a token through when it carries any one of
			// the route's scopes: those of every role allowed here.
			opts.AuthorizationScopes = jsii.Strings(props.Roles.NamesAllowed(r.Role)...)
		}
		added := api.AddRoutes(opts)
		if added == nil || len(*added) != 1 {
			return nil, fmt.Errorf("api: route %s: want one route, got %v", r.Key(), added)
		}
		route := (*added)[0]
		routes = append(routes, route)
		if th, ok := OpenRouteThrottles[r.Key()]; ok {
			routeSettings[r.Key()] = map[string]any{"ThrottlingBurstLimit": th.Burst, "ThrottlingRateLimit": th.Rate}
			// API Gateway refuses settings for a route it does not have yet.
			cfnStage.AddDependency(route.Node().DefaultChild().(awscdk.CfnResource))
		}
	}
	cfnStage.AddPropertyOverride(jsii.String("RouteSettings"), routeSettings)

	props.Function.AddEnvironment(jsii.String(auth.EnvRoleClaim), jsii.String(props.Roles.ClaimName()), nil)
	props.Function.AddEnvironment(jsii.String(auth.EnvRoleNames), jsii.String(props.Roles.NamesJSON()), nil)
	props.Function.AddEnvironment(jsii.String(EnvStateMachineArn), props.StateMachine.StateMachineArn(), nil)
	props.Function.AddEnvironment(jsii.String(EnvStatusPageURL), awscdk.Fn_Join(jsii.String(""), &[]*string{stage.Url(), jsii.String("status")}), nil)
	props.StateMachine.GrantStartExecution(props.Function)

	return &API{Construct: c, HTTPAPI: api, Stage: stage, Authorizer: authorizer, AccessLogs: logs, Routes: routes}, nil
}

// accessLogSettings implements awsapigatewayv2.IAccessLogSettings, which
// the Go bindings declare as an interface rather than a struct.
type accessLogSettings struct {
	destination awsapigatewayv2.IAccessLogDestination
	format      awsapigateway.AccessLogFormat
}

// Destination is where the stage writes its access logs.
func (s *accessLogSettings) Destination() awsapigatewayv2.IAccessLogDestination {
	return s.destination
}

// Format is the access log record's format.
func (s *accessLogSettings) Format() awsapigateway.AccessLogFormat { return s.format }
