package main

import (
	"context"
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/dashboarduz/incident-response/shared/comms"
	"github.com/dashboarduz/incident-response/shared/drill"
	"github.com/dashboarduz/incident-response/shared/escalation"
	"github.com/dashboarduz/incident-response/shared/health"
	"github.com/dashboarduz/incident-response/shared/heartbeat"
	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/ingest"
	"github.com/dashboarduz/incident-response/shared/remediation"
	"github.com/dashboarduz/incident-response/shared/response"
	"github.com/dashboarduz/incident-response/shared/statuspage"
	"github.com/dashboarduz/incident-response/shared/triage"
)

// TestTableGrantsMatchStoreCode checks tableActions against the code: the
// store interfaces each function's handler takes name the methods it may
// call, and the source of the table adapters implementing them
// (shared/dynamo's Store; the drill's and the heartbeat's own Table) says
// which DynamoDB operations each of those methods calls, directly or
// through another method. A new operation in the code without a grant
// would fail in AWS only, with AccessDenied; a grant the code no longer
// needs is privilege to drop.
func TestTableGrantsMatchStoreCode(t *testing.T) {
	store := clientOperations(t, "dynamo", "Store", "client")
	if !store["queryAll"]["Query"] {
		t.Fatalf("queryAll's paginator was not read as a Query: %v", store["queryAll"])
	}
	drills := clientOperations(t, "drill", "Table", "API")
	beats := clientOperations(t, "heartbeat", "Table", "API")
	type uses struct {
		iface reflect.Type
		ops   map[string]map[string]bool // method -> operations of its implementation
	}
	for _, c := range []struct {
		fn   string
		uses []uses
	}{
		{AlarmIngestFunction, []uses{{reflect.TypeFor[ingest.Store](), store}}},
		{EscalationPlanFunction, []uses{{reflect.TypeFor[escalation.PlanStore](), store}}},
		{EscalationPageFunction, []uses{{reflect.TypeFor[escalation.PageStore](), store}}},
		{APIFunction, []uses{{reflect.TypeFor[response.Store](), store}, {reflect.TypeFor[response.PostMortemStore](), store},
			{reflect.TypeFor[response.SummaryStore](), store}, {reflect.TypeFor[statuspage.Store](), store},
			// Sentry webhooks' signals are ingested in-process.
			{reflect.TypeFor[ingest.Store](), store}}},
		{HeartbeatFunction, []uses{{reflect.TypeFor[heartbeat.Store](), beats}, {reflect.TypeFor[heartbeat.Drills](), drills}}},
		{FireDrillFunction, []uses{{reflect.TypeFor[drill.Incidents](), store}, {reflect.TypeFor[resolveStore](), store}, {reflect.TypeFor[drill.Log](), drills}}},
		{TriageFunction, []uses{{reflect.TypeFor[triage.Store](), store}}},
		{RemediateFunction, []uses{{reflect.TypeFor[remediation.Store](), store}}},
		{NotifyFunction, []uses{{reflect.TypeFor[comms.Store](), store}}},
		{HealthCheckFunction, []uses{{reflect.TypeFor[health.StateStore](), store}, {reflect.TypeFor[ingest.Store](), store}}},
	} {
		want := map[string]bool{}
		for _, u := range c.uses {
			for i := range u.iface.NumMethod() {
				m := u.iface.Method(i).Name
				called, ok := u.ops[m]
				if !ok {
					t.Errorf("%s: %s.%s is not a method of its table adapter", c.fn, u.iface, m)
				}
				for op := range called {
					want["dynamodb:"+op] = true
				}
			}
		}
		got := slices.Sorted(slices.Values(tableActions[c.fn]))
		if w := slices.Sorted(maps.Keys(want)); !slices.Equal(got, w) {
			t.Errorf("%s is granted %v on the table; its store's methods call %v", c.fn, got, w)
		}
	}
	if len(tableActions) != len(FunctionNames) {
		t.Errorf("tableActions covers %d functions, want all %d", len(tableActions), len(FunctionNames))
	}
}

// resolveStore is what the fire drill's resolver, shared/response's
// Service.Resolve, calls on its store: the incident (incident.Update) and
// the timeline entry.
type resolveStore interface {
	incident.Updater
	AppendTimeline(ctx context.Context, incidentID string, e incident.Entry) (bool, error)
}

// clientOperations returns, for each method of shared/<pkg>'s *<typ>, the
// operations it calls on its DynamoDB client (the field named field:
// x.client.Operation(...), or dynamodb.NewOperationPaginator(x.client, ...)),
// including those of the methods of *<typ> it calls, read from the
// package's source.
func clientOperations(t *testing.T, pkg, typ, field string) map[string]map[string]bool {
	t.Helper()
	root, err := FindRepoRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "shared", pkg)
	fset := token.NewFileSet()
	direct := map[string]map[string]bool{}  // method -> client operations
	callees := map[string]map[string]bool{} // method -> Store methods
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, e.Name()), nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Recv == nil || fd.Body == nil || len(fd.Recv.List[0].Names) == 0 {
				continue
			}
			star, ok := fd.Recv.List[0].Type.(*ast.StarExpr)
			if !ok {
				continue
			}
			if id, ok := star.X.(*ast.Ident); !ok || id.Name != typ {
				continue
			}
			recv, m := fd.Recv.List[0].Names[0].Name, fd.Name.Name
			direct[m], callees[m] = map[string]bool{}, map[string]bool{}
			ast.Inspect(fd.Body, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok {
					return true
				}
				sel, ok := call.Fun.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				switch x := sel.X.(type) {
				case *ast.Ident: // s.method(...), or dynamodb.NewXPaginator(s.client, ...)
					if x.Name == recv {
						callees[m][sel.Sel.Name] = true
					}
					if op, ok := strings.CutSuffix(strings.TrimPrefix(sel.Sel.Name, "New"), "Paginator"); ok && x.Name == "dynamodb" && len(call.Args) > 0 && isClient(call.Args[0], recv, field) {
						direct[m][op] = true
					}
				case *ast.SelectorExpr: // s.client.Operation(...)
					if id, ok := x.X.(*ast.Ident); ok && id.Name == recv && x.Sel.Name == field {
						direct[m][sel.Sel.Name] = true
					}
				}
				return true
			})
		}
	}
	if len(direct) == 0 {
		t.Fatalf("no methods of *%s found in %s", typ, dir)
	}
	all := map[string]map[string]bool{}
	for m := range direct {
		ops, seen := map[string]bool{}, map[string]bool{}
		var walk func(string)
		walk = func(m string) {
			if seen[m] {
				return
			}
			seen[m] = true
			maps.Copy(ops, direct[m])
			for c := range callees[m] {
				walk(c)
			}
		}
		walk(m)
		all[m] = ops
	}
	return all
}

// isClient reports whether e is recv.<field>.
func isClient(e ast.Expr, recv, field string) bool {
	sel, ok := e.(*ast.SelectorExpr)
	if !ok || sel.Sel.Name != field {
		return false
	}
	id, ok := sel.X.(*ast.Ident)
	return ok && id.Name == recv
}
