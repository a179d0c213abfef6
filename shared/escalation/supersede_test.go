package escalation_test

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/dashboarduz/incident-response/shared/escalation"
	"github.com/dashboarduz/incident-response/shared/incident"
)

// stopRecorder records the executions the planner stops.
type stopRecorder struct {
	stopped []incident.EscalationState
	err     error
}

func (r *stopRecorder) StopEscalation(_ context.Context, st incident.EscalationState, cause string) error {
	if cause == "" {
		return errors.New("a stop needs its cause")
	}
	r.stopped = append(r.stopped, st)
	return r.err
}

func TestNewGenerationStopsTheExecutionItSupersedes(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, incident.P2)
	stops := &stopRecorder{}
	f.planner.Stopper = stops
	at := func(generation, handover int) escalation.State {
		return escalation.State{IncidentID: f.inc.ID, Service: f.inc.Service, Generation: generation, Handover: handover}
	}
	steps := []struct {
		plan escalation.State
		want []incident.EscalationState // stopped so far
	}{
		// The first generation supersedes nothing; nor does its hand-over,
		// which the execution it follows started and then ended.
		{at(0, 0), nil},
		{at(0, 1), nil},
		// Generation 2 (1 never planned) stops the latest execution of 0.
		{at(2, 0), []incident.EscalationState{{IncidentID: f.inc.ID, Service: f.inc.Service, Generation: 0, Handover: 1}}},
		// A late first plan of generation 1 stands down and stops nothing.
		{at(1, 0), []incident.EscalationState{{IncidentID: f.inc.ID, Service: f.inc.Service, Generation: 0, Handover: 1}}},
	}
	for i, s := range steps {
		if _, err := f.planner.Handle(ctx, s.plan); err != nil {
			t.Fatalf("plan %d: %v", i, err)
		}
		if !reflect.DeepEqual(stops.stopped, s.want) {
			t.Fatalf("after plan %d (generation %d, hand-over %d): stopped %+v, want %+v", i, s.plan.Generation, s.plan.Handover, stops.stopped, s.want)
		}
	}
	if inc := f.get(t); inc.PlannedGeneration != 2 || inc.PlannedHandover != 0 {
		t.Errorf("planned generation %d, hand-over %d; want 2, 0", inc.PlannedGeneration, inc.PlannedHandover)
	}
	// A stop that fails is only tidying left undone: the plan goes on.
	stops.err = errors.New("ThrottlingException")
	if st, err := f.planner.Handle(ctx, at(3, 0)); err != nil || st.Action == incident.ActDone {
		t.Errorf("plan of generation 3 with a failing stop = %+v, %v; want a step and no error", st, err)
	}
	if n := len(stops.stopped); n != 2 || stops.stopped[1].Generation != 2 {
		t.Errorf("stopped %+v, want generation 2 stopped second", stops.stopped)
	}
}
