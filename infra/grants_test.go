package main

import (
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

	"github.com/dashboarduz/incident-response/shared/escalation"
	"github.com/dashboarduz/incident-response/shared/ingest"
	"github.com/dashboarduz/incident-response/shared/response"
)

// TestTableGrantsMatchStoreCode checks tableActions against the code: the
// store interface each function's handler takes names the Store methods it
// may call, and shared/dynamo's source says which DynamoDB operations each
// of those methods calls, directly or through another Store method. A new
// operation in the code without a grant would fail in AWS only, with
// AccessDenied; a grant the code no longer needs is privilege to drop.
func TestTableGrantsMatchStoreCode(t *testing.T) {
	ops := storeOperations(t)
	for _, c := range []struct {
		fn    string
		store reflect.Type
	}{
		{AlarmIngestFunction, reflect.TypeFor[ingest.Store]()},
		{EscalationPlanFunction, reflect.TypeFor[escalation.PlanStore]()},
		{EscalationPageFunction, reflect.TypeFor[escalation.PageStore]()},
		{APIFunction, reflect.TypeFor[response.Store]()},
	} {
		want := map[string]bool{}
		for i := range c.store.NumMethod() {
			m := c.store.Method(i).Name
			called, ok := ops[m]
			if !ok {
				t.Errorf("%s: %s.%s is not a method of shared/dynamo's Store", c.fn, c.store, m)
			}
			for op := range called {
				want["dynamodb:"+op] = true
			}
		}
		got := slices.Sorted(slices.Values(tableActions[c.fn]))
		if w := slices.Sorted(maps.Keys(want)); !slices.Equal(got, w) {
			t.Errorf("%s is granted %v on the table; its store's methods call %v", c.fn, got, w)
		}
	}
}

// storeOperations returns, for each method of shared/dynamo's *Store, the
// operations it calls on its DynamoDB client (s.client.X), including those
// of the Store methods it calls (s.m()), read from the package's source.
func storeOperations(t *testing.T) map[string]map[string]bool {
	t.Helper()
	root, err := FindRepoRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "shared", "dynamo")
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
			if id, ok := star.X.(*ast.Ident); !ok || id.Name != "Store" {
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
					if op, ok := strings.CutSuffix(strings.TrimPrefix(sel.Sel.Name, "New"), "Paginator"); ok && x.Name == "dynamodb" && len(call.Args) > 0 && isClient(call.Args[0], recv) {
						direct[m][op] = true
					}
				case *ast.SelectorExpr: // s.client.Operation(...)
					if id, ok := x.X.(*ast.Ident); ok && id.Name == recv && x.Sel.Name == "client" {
						direct[m][sel.Sel.Name] = true
					}
				}
				return true
			})
		}
	}
	if len(direct) == 0 {
		t.Fatalf("no methods of *Store found in %s", dir)
	}
	if !direct["queryAll"]["Query"] {
		t.Fatalf("queryAll's paginator was not read as a Query: %v", direct["queryAll"])
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

// isClient reports whether e is recv.client.
func isClient(e ast.Expr, recv string) bool {
	sel, ok := e.(*ast.SelectorExpr)
	if !ok || sel.Sel.Name != "client" {
		return false
	}
	id, ok := sel.X.(*ast.Ident)
	return ok && id.Name == recv
}
