package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/dashboarduz/incident-response/shared/local/awslocal"
)

func TestMergeWorldReplacesByName(t *testing.T) {
	start := time.Date(2026, 3, 1, 3, 0, 0, 0, time.UTC)
	base := DefaultWorld(start)
	got := MergeWorld(base, awslocal.World{
		Clusters:    []awslocal.Cluster{{Name: ProductionCluster, Services: []awslocal.Service{{Name: APIService, DesiredCount: 4, RunningCount: 1, TaskDefinition: "dashboarduz-api:42"}, {Name: "dashboarduz-billing", TaskDefinition: "billing:1"}}}},
		Parameters:  []awslocal.Parameter{{Name: MaintenanceParameter, Value: "on"}},
		DBInstances: []awslocal.DBInstance{{Identifier: "reporting-db"}},
	})
	svcs := got.Clusters[0].Services
	if len(svcs) != 3 || svcs[0].Name != APIService || svcs[0].RunningCount != 1 || svcs[1].Name != WorkerService || svcs[2].Name != "dashboarduz-billing" {
		t.Errorf("services = %+v", svcs)
	}
	if len(got.Parameters) != 1 || got.Parameters[0].Value != "on" || len(got.DBInstances) != 2 {
		t.Errorf("parameters %+v, DB instances %+v", got.Parameters, got.DBInstances)
	}
	if base.Clusters[0].Services[0].RunningCount != 4 {
		t.Error("MergeWorld changed its base")
	}
}

func TestDefaultWorldIsHealthyProduction(t *testing.T) {
	start := time.Date(2026, 3, 1, 3, 0, 0, 0, time.UTC)
	srv, err := awslocal.Start(awslocal.Options{World: DefaultWorld(start)})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	w := srv.World()
	for _, s := range w.Clusters[0].Services {
		if s.RunningCount != s.DesiredCount || s.Deployments[0].CreatedAt.After(start.Add(-time.Hour)) {
			t.Errorf("%s is not healthy and long deployed: %+v", s.Name, s)
		}
	}
	if w.DBInstances[0].Identifier != ProductionDB || w.Parameters[0].Name != MaintenanceParameter || w.Parameters[0].Value != "off" {
		t.Errorf("world = %+v", w)
	}
}

func TestDevRunbookRoutes(t *testing.T) {
	ctx := context.Background()
	s, err := NewStack(ctx, Options{DynamoEndpoint: endpoint})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	srv := httptest.NewServer(s.DevHandler())
	t.Cleanup(srv.Close)
	put := func(path, body string) int {
		req, _ := http.NewRequest(http.MethodPut, srv.URL+path, strings.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := put("/dev/aws/world", `{"clusters":[{"name":"dashboarduz-production","services":[{"name":"dashboarduz-api","desiredCount":4,"runningCount":1,"taskDefinition":"dashboarduz-api:42"}]}]}`); code != 200 {
		t.Fatalf("PUT /dev/aws/world = %d", code)
	}
	if code := put("/dev/aws/world", `{"cluster":[]}`); code != 400 {
		t.Errorf("a misspelt world = %d, want 400", code)
	}
	resp, err := http.Get(srv.URL + "/dev/aws")
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		World awslocal.World `json:"world"`
	}
	err = json.NewDecoder(resp.Body).Decode(&got)
	resp.Body.Close()
	if err != nil || got.World.Clusters[0].Services[0].RunningCount != 1 || len(got.World.Clusters[0].Services) != 2 {
		t.Errorf("GET /dev/aws = %+v, %v", got.World.Clusters, err)
	}
	if code := put("/dev/app/health/queues", `{"status":200,"body":{"queues":{"email":{"waiting":1500}}}}`); code != 200 {
		t.Fatalf("PUT /dev/app = %d", code)
	}
	// Any host reaches the app stand-in, as the triage sources' URLs do.
	r, err := s.App.Client().Get("https://api.yourdomain.com/health/queues")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(r.Body)
	r.Body.Close()
	if !bytes.Contains(body, []byte(`"waiting":1500`)) {
		t.Errorf("the app answers %s", body)
	}
}
