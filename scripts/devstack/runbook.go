package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"

	awsecs "github.com/aws/aws-sdk-go-v2/service/ecs"
	awsssm "github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/dashboarduz/incident-response/shared/ecs"
	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/local/awslocal"
	"github.com/dashboarduz/incident-response/shared/remediation"
	"github.com/dashboarduz/incident-response/shared/triage"
	"github.com/dashboarduz/incident-response/shared/triage/evidence"
)

// The runbook's production, as the local AWS stand-in holds it.
const (
	ProductionCluster = "dashboarduz-production"
	APIService        = "dashboarduz-api"
	WorkerService     = "dashboarduz-worker"
	ProductionDB      = "dashboarduz-production-db"
	// MaintenanceParameter is the parameter maintenance mode switches,
	// as the default remediation policy names it.
	MaintenanceParameter = "/dashboarduz/production/maintenance-mode"
)

func float(v float64) *float64 { return &v }

// DefaultWorld is the runbook's production at start, healthy: the API
// (4 tasks of dashboarduz-api:42, deployed three days before; revision
// 41 before it), the workers (2 tasks of dashboarduz-worker:7), CPU and
// memory well below their limits, a few error lines in each log group,
// the database available with 40 connections, maintenance mode off. A
// scenario changes what its story needs (MergeWorld).
func DefaultWorld(start time.Time) awslocal.World {
	start = start.UTC()
	deployed := start.Add(-72 * time.Hour)
	svc := func(name, td string, n int32, cpu, mem float64) awslocal.Service {
		return awslocal.Service{Name: name, DesiredCount: n, RunningCount: n, CPUUtilization: float(cpu), MemoryUtilization: float(mem),
			Deployments: []awslocal.Deployment{{ID: "ecs-svc/" + name, Status: "PRIMARY", TaskDefinition: td, DesiredCount: n, RunningCount: n,
				RolloutState: "COMPLETED", RolloutStateReason: "ECS deployment completed.", CreatedAt: deployed, UpdatedAt: deployed.Add(4 * time.Minute)}}}
	}
	line := func(ago time.Duration, stream, msg string) awslocal.LogEvent {
		return awslocal.LogEvent{Time: start.Add(-ago), Stream: stream, Message: msg}
	}
	return awslocal.World{
		Clusters: []awslocal.Cluster{{Name: ProductionCluster, Services: []awslocal.Service{
			svc(APIService, "dashboarduz-api:42", 4, 35, 52),
			svc(WorkerService, "dashboarduz-worker:7", 2, 28, 44),
		}}},
		TaskDefinitions: []awslocal.TaskDefinition{
			{Family: "dashboarduz-api", Revision: 41, Image: "dashboarduz/api:2026.02.24"},
			{Family: "dashboarduz-api", Revision: 42, Image: "dashboarduz/api:2026.02.26"},
			{Family: "dashboarduz-worker", Revision: 6, Image: "dashboarduz/worker:2026.02.20"},
			{Family: "dashboarduz-worker", Revision: 7, Image: "dashboarduz/worker:2026.02.26"},
		},
		LogGroups: []awslocal.LogGroup{
			{Name: "/ecs/" + APIService, Events: []awslocal.LogEvent{
				line(25*time.Minute, "api/7f3c", "INFO GET /health 200 3ms"),
				line(12*time.Minute, "api/7f3c", "WARN slow query: 1840ms SELECT ... FROM exports"),
			}},
			{Name: "/ecs/" + WorkerService, Events: []awslocal.LogEvent{
				line(18*time.Minute, "worker/2b91", "INFO job email.send done in 120ms"),
			}},
		},
		DBInstances: []awslocal.DBInstance{{Identifier: ProductionDB, Class: "db.r6g.large", Engine: "postgres", EngineVersion: "15.5",
			MultiAZ: true, AllocatedStorage: 200, Connections: float(40), CPUUtilization: float(22)}},
		Parameters: []awslocal.Parameter{{Name: MaintenanceParameter, Value: "off", LastModified: start.Add(-30 * 24 * time.Hour)}},
	}
}

// MergeWorld lays over on base: a cluster's services, task definitions,
// metrics, log groups, DB instances and parameters replace those of
// base with the same name (a service of the same cluster, a revision of
// the same family), and are added otherwise; schedules, identities and
// emails are added.
func MergeWorld(base, over awslocal.World) awslocal.World {
	// The result shares no cluster's services with base.
	base.Clusters = slices.Clone(base.Clusters)
	for i := range base.Clusters {
		base.Clusters[i].Services = slices.Clone(base.Clusters[i].Services)
	}
	for _, c := range over.Clusters {
		i := slices.IndexFunc(base.Clusters, func(b awslocal.Cluster) bool { return b.Name == c.Name })
		if i < 0 {
			base.Clusters = append(base.Clusters, c)
			continue
		}
		for _, s := range c.Services {
			base.Clusters[i].Services = upsert(base.Clusters[i].Services, s, func(a, b awslocal.Service) bool { return a.Name == b.Name })
		}
	}
	for _, td := range over.TaskDefinitions {
		base.TaskDefinitions = upsert(base.TaskDefinitions, td, func(a, b awslocal.TaskDefinition) bool { return a.Family == b.Family && a.Revision == b.Revision })
	}
	for _, m := range over.Metrics {
		base.Metrics = upsert(base.Metrics, m, func(a, b awslocal.Metric) bool {
			return a.Namespace == b.Namespace && a.Name == b.Name && fmt.Sprint(a.Dimensions) == fmt.Sprint(b.Dimensions)
		})
	}
	for _, g := range over.LogGroups {
		base.LogGroups = upsert(base.LogGroups, g, func(a, b awslocal.LogGroup) bool { return a.Name == b.Name })
	}
	for _, db := range over.DBInstances {
		base.DBInstances = upsert(base.DBInstances, db, func(a, b awslocal.DBInstance) bool { return a.Identifier == b.Identifier })
	}
	for _, p := range over.Parameters {
		base.Parameters = upsert(base.Parameters, p, func(a, b awslocal.Parameter) bool { return a.Name == b.Name })
	}
	base.VerifiedIdentities = append(slices.Clone(base.VerifiedIdentities), over.VerifiedIdentities...)
	base.Emails = append(slices.Clone(base.Emails), over.Emails...)
	return base
}

// upsert returns a copy of list with the element same says is v's
// replaced by v, or v added.
func upsert[T any](list []T, v T, same func(a, b T) bool) []T {
	list = slices.Clone(list)
	if i := slices.IndexFunc(list, func(x T) bool { return same(x, v) }); i >= 0 {
		list[i] = v
		return list
	}
	return append(list, v)
}

// Endpoint is one answer of the application's own endpoints.
type Endpoint struct {
	Status int             `json:"status"`
	Body   json.RawMessage `json:"body"`
	// ContentType defaults to application/json.
	ContentType string `json:"contentType,omitempty"`
}

// DefaultEndpoints are a healthy application's /health and
// /health/queues.
func DefaultEndpoints() map[string]Endpoint {
	return map[string]Endpoint{
		"/health":        {Status: http.StatusOK, Body: json.RawMessage(`{"status":"ok","database":"ok","redis":"ok"}`)},
		"/health/queues": {Status: http.StatusOK, Body: json.RawMessage(`{"queues":{"email":{"waiting":12,"active":2,"failed":0},"exports":{"waiting":3,"active":1,"failed":0},"webhooks":{"waiting":0,"active":0,"failed":0}}}`)},
	}
}

// App stands in for the application's own endpoints, the runbook's
// `curl https://api.yourdomain.com/health` and /health/queues: it
// answers what a scenario sets, on 127.0.0.1, and Client sends every
// request to it whatever host the configured URL names, so the triage
// sources' configuration is used unchanged.
type App struct {
	mu      sync.Mutex
	answers map[string]Endpoint
	srv     *http.Server
	addr    string
}

// StartApp serves the endpoints on 127.0.0.1 on a free port.
func StartApp(endpoints map[string]Endpoint) (*App, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("app endpoints: listen: %w", err)
	}
	a := &App{answers: map[string]Endpoint{}, addr: ln.Addr().String()}
	for p, e := range endpoints {
		a.Set(p, e)
	}
	a.srv = &http.Server{Handler: http.HandlerFunc(a.serve), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = a.srv.Serve(ln) }()
	return a, nil
}

// Set changes the answer of one path.
func (a *App) Set(path string, e Endpoint) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if e.Status == 0 {
		e.Status = http.StatusOK
	}
	a.answers[path] = e
}

func (a *App) serve(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	e, ok := a.answers[r.URL.Path]
	a.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	ct := e.ContentType
	if ct == "" {
		ct = "application/json"
	}
	w.Header().Set("Content-Type", ct)
	w.WriteHeader(e.Status)
	body := []byte(e.Body)
	var s string
	if json.Unmarshal(e.Body, &s) == nil {
		body = []byte(s) // a string body is sent as it is, e.g. an HTML error page
	}
	_, _ = w.Write(body)
}

// Client is an HTTP client whose every connection goes to the app.
func (a *App) Client() *http.Client {
	tr := &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, a.addr)
	}}
	return &http.Client{Transport: rewriteScheme{tr}}
}

// rewriteScheme sends https requests as http, to the app's plain
// listener.
type rewriteScheme struct{ next http.RoundTripper }

func (t rewriteScheme) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.URL.Scheme = "http"
	return t.next.RoundTrip(r)
}

// Close stops the app.
func (a *App) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return a.srv.Shutdown(ctx)
}

// startRunbook starts the stand-ins triage and remediation act on: the
// AWS stand-in with the default world at start (a scenario sets its
// own when it plays) and the application's endpoints.
func (s *Stack) startRunbook(start time.Time) error {
	srv, err := awslocal.Start(awslocal.Options{World: DefaultWorld(start), Clock: s.Clock})
	if err != nil {
		return err
	}
	s.closers = append(s.closers, srv.Close)
	app, err := StartApp(DefaultEndpoints())
	if err != nil {
		return err
	}
	s.closers = append(s.closers, app.Close)
	s.AWS, s.App = srv, app
	s.Sources = evidence.DefaultConfig()
	s.Remediation = incident.DefaultRemediationPolicy()
	return nil
}

// triageHandler is the Triage task on the stand-ins.
func (s *Stack) triageHandler() *triage.Handler {
	return &triage.Handler{
		Store:   s.Store,
		Sources: triage.Configured{Config: s.Sources, Clients: triage.NewClients(s.AWS.AWSConfig(), s.App.Client(), s.Clock)},
		Clock:   s.Clock,
		Timeout: s.Sources.Timeout.D(),
	}
}

// remediationHandler is the Remediate task on the stand-ins: it acts,
// since nothing it changes is real.
func (s *Stack) remediationHandler() *remediation.Handler {
	cfg := s.AWS.AWSConfig()
	return &remediation.Handler{
		Store: s.Store, Clock: s.Clock, Policy: &s.Remediation, Escalation: s.Policy,
		ECS:        ecs.New(awsecs.NewFromConfig(cfg)),
		Parameters: remediation.SSMParameters{API: awsssm.NewFromConfig(cfg)},
		Queues:     evidence.QueueReader{Config: s.Sources, HTTP: s.App.Client()},
	}
}

// devRunbookRoutes lets a developer look at and change the stand-ins of
// the dev server: GET /dev/aws is the AWS world and the calls made to
// it, PUT /dev/aws/world replaces the world (an awslocal World, laid
// over the default as a scenario's is), PUT /dev/app/{path...} sets an
// answer of the application's endpoints (an Endpoint).
func (s *Stack) devRunbookRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /dev/aws", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"world": s.AWS.World(), "calls": s.AWS.Calls()})
	})
	mux.HandleFunc("PUT /dev/aws/world", func(w http.ResponseWriter, r *http.Request) {
		over, err := decodeWorldOverlay(http.MaxBytesReader(w, r.Body, maxEventsBody))
		if err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		if err := s.AWS.SetWorld(MergeWorld(DefaultWorld(s.Clock.Now()), over)); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"world": s.AWS.World()})
	})
	mux.HandleFunc("PUT /dev/app/{path...}", func(w http.ResponseWriter, r *http.Request) {
		var e Endpoint
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxEventsBody)).Decode(&e); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		s.App.Set("/"+r.PathValue("path"), e)
		writeJSON(w, http.StatusOK, map[string]any{"path": "/" + r.PathValue("path"), "endpoint": e})
	})
}
