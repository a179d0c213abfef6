package response

import (
	"context"
	"time"

	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/metrics"
)

// SummaryStore reads the incidents a summary covers; shared/dynamo's
// Store implements it.
type SummaryStore interface {
	// IncidentsOpenedBetween returns at most limit incidents opened in
	// [from, to); complete is false when the range holds more.
	IncidentsOpenedBetween(ctx context.Context, from, to time.Time, limit int) (incidents []incident.Incident, complete bool, err error)
}

// MaxSummaryIncidents bounds the incidents one summary reads: a year of
// 13 incidents a day. A range holding more is refused with a 400 that
// asks for a shorter one, rather than answered from part of it.
const MaxSummaryIncidents = 5000

// Summaries answers GET /metrics/summary: MTTA, MTTR and target attainment
// per severity over the incidents opened in a range.
type Summaries struct {
	Store  SummaryStore
	Policy incident.Policy
	Clock  incident.Clock
}

// Summary reads the range from the from and to parameters (see
// metrics.ParseSummaryRange) and summarizes the incidents opened in it,
// as of now, against the policy's targets.
func (s *Summaries) Summary(ctx context.Context, fromParam, toParam string) (metrics.Summary, error) {
	now := s.Clock.Now()
	from, to, err := metrics.ParseSummaryRange(fromParam, toParam, now)
	if err != nil {
		return metrics.Summary{}, err
	}
	incs, complete, err := s.Store.IncidentsOpenedBetween(ctx, from, to, MaxSummaryIncidents)
	if err != nil {
		return metrics.Summary{}, err
	}
	if !complete {
		return metrics.Summary{}, incident.FieldErrorf("from", "more than %d incidents were opened from %s to %s, more than one summary reads; ask for a shorter range",
			MaxSummaryIncidents, from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	return metrics.Summarize(incs, s.Policy, from, to, now), nil
}
