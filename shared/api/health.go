package api

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/dashboarduz/incident-response/shared/incident"
)

// Dependency is something the API cannot serve without, which GET /health
// checks on every call: a health checker that hears "ok" from a function
// that cannot reach its table would report a working system that is not.
type Dependency struct {
	// Name is how the health answer names it, e.g. "table".
	Name string
	// Check returns nil when the dependency answers; it must give up when
	// ctx is done.
	Check func(ctx context.Context) error
}

// DefaultHealthTimeout bounds each dependency check of GET /health, well
// under the health checker's own timeout.
const DefaultHealthTimeout = 2 * time.Second

// healthBody is GET /health's answer: the overall status and each
// dependency's, by name. It holds no detail of a failure, since the route
// is open to anyone; the log has it.
type healthBody struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks"`
}

// health answers 200 when every dependency answers, else 503 naming the
// ones that did not.
func (h *Handler) health(w http.ResponseWriter, r *http.Request, _ string) error {
	body := healthBody{Status: "ok", Checks: map[string]string{}}
	status := http.StatusOK
	for _, d := range h.deps {
		ctx, cancel := context.WithTimeout(r.Context(), h.healthTimeout)
		err := d.Check(ctx)
		cancel()
		if err != nil {
			slog.ErrorContext(r.Context(), "health check failed", "dependency", d.Name, "err", err)
			body.Checks[d.Name], body.Status, status = "unavailable", "unavailable", http.StatusServiceUnavailable
			continue
		}
		body.Checks[d.Name] = "ok"
	}
	writeJSON(w, status, body)
	return nil
}

// IncidentGetter reads an incident; the storage adapter implements it.
type IncidentGetter interface {
	GetIncident(ctx context.Context, id string) (incident.Incident, error)
}

// healthProbeID is an incident ID no incident has: reading it costs one
// small GetItem and proves the table is reachable with the function's
// rights.
const healthProbeID = "inc-health-probe"

// TableDependency is the table as a dependency, checked with a read of an
// incident that does not exist: not found is the healthy answer.
func TableDependency(store IncidentGetter) Dependency {
	return Dependency{Name: "table", Check: func(ctx context.Context) error {
		_, err := store.GetIncident(ctx, healthProbeID)
		if incident.ErrorCode(err) == incident.ENotFound {
			return nil
		}
		return err
	}}
}
