package statemachine

import (
	"testing"

	"github.com/dashboarduz/incident-response/shared/incident"
)

func TestExecutionNameAndInputPerGeneration(t *testing.T) {
	for _, c := range []struct {
		generation int
		name, in   string
	}{
		{0, "inc-1", `{"incidentId":"inc-1","service":"api"}`},
		{3, "inc-1-g3", `{"incidentId":"inc-1","service":"api","generation":3}`},
	} {
		if got := ExecutionName("inc-1", c.generation); got != c.name {
			t.Errorf("generation %d: name %q, want %q", c.generation, got, c.name)
		}
		if got := string(ExecutionInput(incident.EscalationState{IncidentID: "inc-1", Service: "api", Generation: c.generation})); got != c.in {
			t.Errorf("generation %d: input %s, want %s", c.generation, got, c.in)
		}
	}
}
