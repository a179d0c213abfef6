package bench

import (
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strings"
)

// Step is what one step of the pipeline costs, per alarm (or per
// incident): DynamoDB calls by operation and the request units they
// consumed, Step Functions state transitions, function invocations and
// their billed milliseconds by function, and pages sent.
type Step struct {
	Name            string             `json:"name"`
	DynamoDBCalls   float64            `json:"dynamodbCalls"`
	ByOperation     map[string]float64 `json:"dynamodbByOperation,omitempty"`
	ReadUnits       float64            `json:"dynamodbReadUnits"`
	WriteUnits      float64            `json:"dynamodbWriteUnits"`
	IndexWriteUnits float64            `json:"dynamodbIndexWriteUnits"`
	Transitions     float64            `json:"stepFunctionsTransitions"`
	Invocations     map[string]float64 `json:"lambdaInvocations,omitempty"`
	BilledMs        map[string]float64 `json:"lambdaBilledMs,omitempty"`
	Pages           float64            `json:"pages"`
}

// Add sums two steps.
func (s Step) Add(o Step) Step {
	sum := func(a, b map[string]float64) map[string]float64 {
		out := maps.Clone(a)
		if out == nil {
			out = map[string]float64{}
		}
		for k, v := range b {
			out[k] += v
			if math.Abs(out[k]) < 1e-9 {
				delete(out, k)
			}
		}
		return out
	}
	return Step{
		Name: s.Name, DynamoDBCalls: s.DynamoDBCalls + o.DynamoDBCalls, ByOperation: sum(s.ByOperation, o.ByOperation),
		ReadUnits: s.ReadUnits + o.ReadUnits, WriteUnits: s.WriteUnits + o.WriteUnits, IndexWriteUnits: s.IndexWriteUnits + o.IndexWriteUnits,
		Transitions: s.Transitions + o.Transitions, Invocations: sum(s.Invocations, o.Invocations), BilledMs: sum(s.BilledMs, o.BilledMs),
		Pages: s.Pages + o.Pages,
	}
}

// Scale multiplies every figure of the step by k: per alarm from a sum,
// or, with -1, to take one step from another.
func (s Step) Scale(k float64) Step {
	scale := func(m map[string]float64) map[string]float64 {
		out := make(map[string]float64, len(m))
		for key, v := range m {
			if v*k != 0 {
				out[key] = v * k
			}
		}
		return out
	}
	return Step{
		Name: s.Name, DynamoDBCalls: s.DynamoDBCalls * k, ByOperation: scale(s.ByOperation),
		ReadUnits: s.ReadUnits * k, WriteUnits: s.WriteUnits * k, IndexWriteUnits: s.IndexWriteUnits * k,
		Transitions: s.Transitions * k, Invocations: scale(s.Invocations), BilledMs: scale(s.BilledMs), Pages: s.Pages * k,
	}
}

// Usage is the step's use of each billed dimension; apiRequests and
// events are what the step receives through API Gateway and EventBridge.
func (s Step) Usage(apiRequests, events float64) Usage {
	u := Usage{ReadUnits: s.ReadUnits, WriteUnits: s.WriteUnits + s.IndexWriteUnits, Transitions: s.Transitions, APIRequests: apiRequests, Events: events}
	for _, v := range s.Invocations {
		u.LambdaRequests += v
	}
	for _, v := range s.BilledMs {
		u.LambdaBilledMs += v
	}
	return u
}

// Allocations is the Go heap allocated for one alarm through the whole
// local pipeline.
type Allocations struct {
	Alarms         int     `json:"alarms"`
	BytesPerAlarm  float64 `json:"bytesPerAlarm"`
	AllocsPerAlarm float64 `json:"allocsPerAlarm"`
}

// Priced is a unit of work, what it uses and what that costs.
type Priced struct {
	What  string `json:"what"`
	Usage Usage  `json:"usage"`
	Cost  Cost   `json:"cost"`
}

// Report is everything `make bench` measured, as build/bench.json holds it.
type Report struct {
	Date    string `json:"date"`
	Target  string `json:"target"`
	Machine string `json:"machine"`

	Latency         *Latency `json:"latency,omitempty"`
	Storm           *Storm   `json:"storm,omitempty"`
	RedeliveryStorm *Storm   `json:"redeliveryStorm,omitempty"`

	// Steps are per alarm or per incident, measured in process on the
	// virtual clock; Lifecycle sums an incident's steps.
	PipelineAlarms int          `json:"pipelineAlarms,omitempty"`
	Steps          []Step       `json:"steps,omitempty"`
	Lifecycle      *Step        `json:"lifecycle,omitempty"`
	Allocations    *Allocations `json:"allocations,omitempty"`

	FunctionMemoryMB int      `json:"functionMemoryMB,omitempty"`
	Costs            []Priced `json:"costs,omitempty"`
	Assumptions      []string `json:"assumptions,omitempty"`
	Prices           *Prices  `json:"prices,omitempty"`
}

// Step returns the step named name.
func (r Report) Step(name string) (Step, bool) {
	for _, s := range r.Steps {
		if s.Name == name {
			return s, true
		}
	}
	return Step{}, false
}

// Markdown writes the report as the tables the README shows.
func (r Report) Markdown(w io.Writer) {
	fmt.Fprintf(w, "Measured %s on %s, target %s.\n\n", r.Date, r.Machine, r.Target)
	fmt.Fprintln(w, "| measure | result |")
	fmt.Fprintln(w, "|---|---|")
	if l := r.Latency; l != nil {
		fmt.Fprintf(w, "| alarm to page, %d alarms one by one: p50 / p90 / p99 | %s / %s / %s ms |\n", l.Alarms, num(l.P50Ms), num(l.P90Ms), num(l.P99Ms))
	}
	for _, st := range []*Storm{r.Storm, r.RedeliveryStorm} {
		if st == nil {
			continue
		}
		fmt.Fprintf(w, "| %s | %s s, %s alarms/s, last page at %s s; %s, %d pages, %s%s |\n",
			stormName(st), num(st.WallSeconds), num(st.AlarmsPerSecond), num(st.LastPageSeconds), countOrNA(st.Incidents, "incidents"), st.Pages, countOrNA(st.Duplicates, "duplicates"), stormCalls(st))
	}
	for _, s := range r.Steps {
		fmt.Fprintf(w, "| %s: DynamoDB calls (RRU / WRU) | %s (%s / %s) |\n", s.Name, ops(s), num(s.ReadUnits), num(s.WriteUnits+s.IndexWriteUnits))
	}
	if l := r.Lifecycle; l != nil {
		fmt.Fprintf(w, "| incident lifecycle (open, page, acknowledge, resolve): DynamoDB calls | %s |\n", ops(*l))
		fmt.Fprintf(w, "| incident lifecycle: Step Functions state transitions | %s (%s) |\n", num(l.Transitions), r.transitionsByStep())
		fmt.Fprintf(w, "| incident lifecycle: Lambda invocations | %s |\n", byName(l.Invocations))
	}
	if a := r.Allocations; a != nil {
		fmt.Fprintf(w, "| allocations per alarm, ingest to page | %s KB in %s allocations |\n", num(a.BytesPerAlarm/1024), num(a.AllocsPerAlarm))
	}
	if len(r.Costs) == 0 {
		return
	}
	fmt.Fprintf(w, "\n| AWS cost, %s list prices read %s | DynamoDB | Lambda | Step Functions | API Gateway | EventBridge | total |\n", r.Prices.Region, r.Prices.Read)
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|")
	for _, c := range r.Costs {
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | **%s** |\n", c.What, usd(c.Cost.DynamoDB), usd(c.Cost.Lambda), usd(c.Cost.StepFunctions), usd(c.Cost.APIGateway), usd(c.Cost.EventBridge), usd(c.Cost.Total))
	}
	for _, a := range r.Assumptions {
		fmt.Fprintf(w, "\n- %s", a)
	}
	fmt.Fprintln(w)
}

func (r Report) transitionsByStep() string {
	var parts []string
	for _, s := range r.Steps {
		if s.Transitions > 0 && s.Name != "duplicate alarm" && s.Name != "redelivered alarm" {
			parts = append(parts, fmt.Sprintf("%s %s", s.Name, num(s.Transitions)))
		}
	}
	return strings.Join(parts, ", ")
}

func stormName(st *Storm) string {
	kind := "state changes"
	if st.Redeliveries {
		kind = "exact redeliveries"
	}
	return fmt.Sprintf("storm: %d alarms x %d %s, %d senders", st.Alarms, st.Repeats, kind, st.Senders)
}

// stormCalls writes the storm's DynamoDB calls per event, when counted.
func stormCalls(st *Storm) string {
	total := 0
	for _, n := range st.DynamoDBCalls {
		total += n
	}
	if total == 0 || st.Events == 0 {
		return ""
	}
	return fmt.Sprintf("; %s DynamoDB calls per event", num(math.Round(float64(total)/float64(st.Events)*100)/100))
}

func countOrNA(n int, what string) string {
	if n < 0 {
		return what + " n/a"
	}
	return fmt.Sprintf("%d %s", n, what)
}

// ops writes "13 (4 GetItem, 6 PutItem, ...)".
func ops(s Step) string {
	if s.DynamoDBCalls == 0 {
		return "0"
	}
	return fmt.Sprintf("%s (%s)", num(s.DynamoDBCalls), byName(s.ByOperation))
}

func byName(m map[string]float64) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if m[k] != 0 {
			parts = append(parts, fmt.Sprintf("%s %s", num(m[k]), k))
		}
	}
	return strings.Join(parts, ", ")
}

// num prints a count without trailing zeros, to two decimals at most.
func num(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return fmt.Sprintf("%.0f", v)
	}
	return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.2f", v), "0"), ".")
}

func usd(v float64) string {
	if v == 0 {
		return "$0"
	}
	if v < 0.01 {
		return fmt.Sprintf("$%.4f", v)
	}
	return fmt.Sprintf("$%.2f", v)
}
