package api_test

import (
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/dashboarduz/incident-response/shared/api"
	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/metrics"
	"github.com/dashboarduz/incident-response/shared/postmortem"
	"github.com/dashboarduz/incident-response/shared/response"
	"github.com/dashboarduz/incident-response/shared/statuspage"
)

// TestOpenAPIDocument checks that openapi.yaml is a valid OpenAPI 3.0
// document whose security matches the handler's: a bearer JWT on every
// route but the open ones.
func TestOpenAPIDocument(t *testing.T) {
	doc, _ := openAPI(t)
	if !strings.HasPrefix(doc.OpenAPI, "3.0") {
		t.Errorf("openapi %q, want 3.0.x", doc.OpenAPI)
	}
	scheme := doc.Components.SecuritySchemes["bearerAuth"]
	if scheme == nil || scheme.Value.Type != "http" || scheme.Value.Scheme != "bearer" || scheme.Value.BearerFormat != "JWT" {
		t.Fatalf("security scheme bearerAuth is not a bearer JWT: %+v", scheme)
	}
	if len(doc.Security) != 1 || doc.Security[0]["bearerAuth"] == nil {
		t.Errorf("the document's default security is %v, want bearerAuth", doc.Security)
	}
	for _, rt := range api.Routes() {
		op := doc.Paths.Value(rt.Path).GetOperation(rt.Method)
		if op == nil {
			continue // TestOpenAPIRoutes reports it
		}
		if op.OperationID == "" {
			t.Errorf("%s %s has no operationId", rt.Method, rt.Path)
		}
		open := op.Security != nil && len(*op.Security) == 0
		if open != rt.Open {
			t.Errorf("%s %s: open in the document %v, in the handler %v", rt.Method, rt.Path, open, rt.Open)
		}
		checkDocumentedRole(t, op, rt)
	}
	if s := doc.Components.SecuritySchemes["roles"]; s == nil || s.Value.Type != "openIdConnect" {
		t.Errorf("security scheme roles is not an openIdConnect scheme: %+v", s)
	}
}

// checkDocumentedRole holds the document to the handler's route table: a
// protected operation says the least role it needs as x-required-role and
// as the one scope of the roles scheme, beside the bearer token, and has a
// 403 answer; an open one names no role.
func checkDocumentedRole(t *testing.T, op *openapi3.Operation, rt api.Route) {
	t.Helper()
	role, hasRole := op.Extensions["x-required-role"]
	if rt.Open {
		if hasRole {
			t.Errorf("%s %s is open but documents x-required-role %v", rt.Method, rt.Path, role)
		}
		return
	}
	if role != rt.Role.String() {
		t.Errorf("%s %s: x-required-role %v, the handler needs %s", rt.Method, rt.Path, role, rt.Role)
	}
	want := openapi3.SecurityRequirements{{"bearerAuth": []string{}, "roles": []string{rt.Role.String()}}}
	if op.Security == nil || !reflect.DeepEqual(*op.Security, want) {
		t.Errorf("%s %s: security %v, want %v", rt.Method, rt.Path, op.Security, want)
	}
	if op.Responses.Value("403") == nil {
		t.Errorf("%s %s documents no 403", rt.Method, rt.Path)
	}
}

// TestOpenAPIRoutes checks that the document and the handler's route table
// list the same routes, and that the handler really serves each of them
// and nothing else on those paths.
func TestOpenAPIRoutes(t *testing.T) {
	doc, _ := openAPI(t)
	var documented, served []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented = append(documented, method+" "+path)
		}
	}
	for _, rt := range api.Routes() {
		served = append(served, rt.Method+" "+rt.Path)
	}
	sort.Strings(documented)
	sort.Strings(served)
	if !slices.Equal(documented, served) {
		t.Errorf("routes differ\ndocumented %q\n    served %q", documented, served)
	}

	h := newHandler(t, &fakeService{})
	for _, rt := range api.Routes() {
		path := strings.NewReplacer("{id}", incidentID, "{item}", "AI-1").Replace(rt.Path)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(rt.Method, path, nil))
		switch {
		case rt.Open && (rec.Code == http.StatusNotFound || rec.Code == http.StatusMethodNotAllowed):
			t.Errorf("%s %s is not served: %d", rt.Method, path, rec.Code)
		case !rt.Open && rec.Code != http.StatusUnauthorized:
			t.Errorf("%s %s without a token answered %d, want 401", rt.Method, path, rec.Code)
		}
	}
	methods := []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}
	for path, item := range doc.Paths.Map() {
		for _, m := range methods {
			if item.GetOperation(m) != nil || (m == http.MethodHead && item.Get != nil) {
				continue
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(m, strings.NewReplacer("{id}", incidentID, "{item}", "AI-1").Replace(path), nil))
			if rec.Code != http.StatusMethodNotAllowed {
				t.Errorf("%s %s is not documented but answered %d, want 405", m, path, rec.Code)
			}
		}
	}
}

// TestOpenAPISchemasMatchTypes checks that each schema in openapi.yaml has
// exactly the JSON fields of the Go type it describes, so a field added to
// a type cannot go undocumented. For answers, the fields the type always
// writes (no omitempty or omitzero) must be required; request bodies must
// refuse other fields, as the handler does.
func TestOpenAPISchemasMatchTypes(t *testing.T) {
	doc, _ := openAPI(t)
	for _, c := range []struct {
		schema  string
		typ     reflect.Type
		request bool
	}{
		{"Incident", reflect.TypeFor[incident.Incident](), false},
		{"Page", reflect.TypeFor[incident.Page](), false},
		{"EscalationRequest", reflect.TypeFor[incident.EscalationRequest](), false},
		{"Breach", reflect.TypeFor[incident.Breach](), false},
		{"Entry", reflect.TypeFor[incident.Entry](), false},
		{"MaintenanceWindow", reflect.TypeFor[incident.MaintenanceWindow](), false},
		{"IncidentList", reflect.TypeFor[response.IncidentList](), false},
		{"Report", reflect.TypeFor[response.Report](), true},
		{"Acknowledgement", reflect.TypeFor[response.Acknowledgement](), true},
		{"StatusUpdate", reflect.TypeFor[response.StatusUpdate](), true},
		{"SeverityChange", reflect.TypeFor[response.SeverityChange](), true},
		{"Escalation", reflect.TypeFor[response.Escalation](), true},
		{"Resolution", reflect.TypeFor[response.Resolution](), true},
		{"MaintenanceRequest", reflect.TypeFor[response.MaintenanceRequest](), true},
		{"PostMortem", reflect.TypeFor[response.PostMortemDocument](), false},
		{"ActionItem", reflect.TypeFor[postmortem.ActionItem](), false},
		{"ActionItemRequest", reflect.TypeFor[response.ActionItemRequest](), true},
		{"AssignmentRequest", reflect.TypeFor[response.AssignmentRequest](), true},
		{"MetricsSummary", reflect.TypeFor[metrics.Summary](), false},
		{"Stats", reflect.TypeFor[metrics.Stats](), false},
		{"Distribution", reflect.TypeFor[metrics.Distribution](), false},
		{"Attainment", reflect.TypeFor[metrics.Attainment](), false},
		{"StatusDocument", reflect.TypeFor[statuspage.Document](), false},
		{"StatusIncident", reflect.TypeFor[statuspage.DocumentIncident](), false},
		{"SentryWebhookResult", reflect.TypeFor[api.SentryWebhookResult](), false},
		{"Remediation", reflect.TypeFor[incident.Remediation](), false},
		{"TriageReport", reflect.TypeFor[incident.TriageReport](), false},
		{"TriagePart", reflect.TypeFor[incident.TriagePart](), false},
		{"KillSwitch", reflect.TypeFor[incident.KillSwitch](), false},
		{"ActionDecision", reflect.TypeFor[response.ActionDecision](), true},
		{"KillSwitchChange", reflect.TypeFor[response.KillSwitchChange](), true},
	} {
		t.Run(c.schema, func(t *testing.T) {
			ref := doc.Components.Schemas[c.schema]
			if ref == nil {
				t.Fatalf("openapi.yaml has no schema %s", c.schema)
			}
			s := ref.Value
			var props, fields, required, always []string
			for name := range s.Properties {
				props = append(props, name)
			}
			required = append(required, s.Required...)
			for i := range c.typ.NumField() {
				f := c.typ.Field(i)
				tag := f.Tag.Get("json")
				name, opts, _ := strings.Cut(tag, ",")
				if !f.IsExported() || name == "-" || name == "" {
					continue
				}
				fields = append(fields, name)
				if !strings.Contains(opts, "omitempty") && !strings.Contains(opts, "omitzero") {
					always = append(always, name)
				}
			}
			for _, l := range [][]string{props, fields, required, always} {
				sort.Strings(l)
			}
			if !slices.Equal(props, fields) {
				t.Errorf("properties %q, the type's JSON fields %q", props, fields)
			}
			switch {
			case c.request && (s.AdditionalProperties.Has == nil || *s.AdditionalProperties.Has):
				t.Errorf("a request body must say additionalProperties: false")
			case !c.request && !slices.Equal(required, always):
				t.Errorf("required %q, the fields always written %q", required, always)
			}
		})
	}
}
