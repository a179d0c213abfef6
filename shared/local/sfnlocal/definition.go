package sfnlocal

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"time"
)

// State types.
const (
	typeTask    = "Task"
	typeChoice  = "Choice"
	typeWait    = "Wait"
	typePass    = "Pass"
	typeSucceed = "Succeed"
	typeFail    = "Fail"
)

// machine is a parsed, validated definition.
type machine struct {
	startAt string
	states  map[string]*state
}

// state is one parsed state; which fields matter depends on typ.
type state struct {
	name string
	typ  string
	next string
	end  bool

	inputPath, outputPath, resultPath pathField
	parameters, resultSelector        *template
	result                            any
	hasResult                         bool

	// Task.
	resource string
	task     TaskFunc
	// TimeoutSeconds and HeartbeatSeconds are validated and kept, but not
	// enforced: an in-process Go function cannot be interrupted meaningfully,
	// and task time does not exist on the virtual clock.
	timeoutSeconds, heartbeatSeconds int64
	retry                            []retrier
	catch                            []catcher

	// Choice.
	choices     []*choiceRule
	defaultNext string

	// Wait: exactly one is set.
	seconds       *int64
	secondsPath   *refPath
	timestamp     *time.Time
	timestampPath *refPath

	// Fail.
	errorName, cause string
}

// retrier is one Retry entry.
type retrier struct {
	errorEquals []string
	interval    float64 // seconds
	maxAttempts int64
	backoffRate float64
	maxDelay    float64 // seconds; 0 means no cap
}

// delay is the wait before retry number n (1-based):
// IntervalSeconds * BackoffRate^(n-1), capped at MaxDelaySeconds.
func (r retrier) delay(n int64) time.Duration {
	secs := r.interval * math.Pow(r.backoffRate, float64(n-1))
	if r.maxDelay > 0 && secs > r.maxDelay {
		secs = r.maxDelay
	}
	const ceiling = 100 * 365 * 24 * 3600 // keeps the Duration from overflowing
	if secs > ceiling || math.IsInf(secs, 0) || math.IsNaN(secs) {
		secs = ceiling
	}
	return time.Duration(math.Round(secs * float64(time.Second)))
}

// catcher is one Catch entry.
type catcher struct {
	errorEquals []string
	next        string
	resultPath  pathField
}

// matches reports whether an ErrorEquals list matches a task's error name.
// Runtime failures (States.Runtime, States.DataLimitExceeded) never get
// here: they fail the execution directly, whatever Retry and Catch say.
func matches(errorEquals []string, name string) bool {
	for _, e := range errorEquals {
		switch {
		case e == ErrAll:
			return true
		case e == ErrTaskFailed && name != ErrTimeout:
			return true
		case e == name:
			return true
		}
	}
	return false
}

// defErr builds a *DefinitionError.
func defErr(st, field, format string, args ...any) error {
	return &DefinitionError{State: st, Field: field, Reason: fmt.Sprintf(format, args...)}
}

// machineDef is the top level of a definition as written.
type machineDef struct {
	Comment       *string                    `json:"Comment"`
	Version       *string                    `json:"Version"`
	QueryLanguage *string                    `json:"QueryLanguage"`
	StartAt       *string                    `json:"StartAt"`
	States        map[string]json.RawMessage `json:"States"`
}

// parseMachine parses and validates def, resolving Task resources in tasks.
func parseMachine(def string, tasks map[string]TaskFunc) (*machine, error) {
	if _, err := decodeJSON([]byte(def)); err != nil {
		return nil, defErr("", "", "not valid JSON: %v", err)
	}
	var d machineDef
	if err := decodeObject(json.RawMessage(def), "", &d, "not supported by the local executor"); err != nil {
		return nil, inState("", err)
	}
	if err := d.check(); err != nil {
		return nil, inState("", err)
	}
	m := &machine{startAt: *d.StartAt, states: map[string]*state{}}
	for _, n := range slices.Sorted(maps.Keys(d.States)) {
		st, err := parseState(n, d.States[n], tasks)
		if err != nil {
			return nil, err
		}
		m.states[n] = st
	}
	if _, ok := m.states[m.startAt]; !ok {
		return nil, defErr("", "StartAt", "no state named %q", m.startAt)
	}
	if err := m.checkTransitions(); err != nil {
		return nil, err
	}
	return m, m.checkReachable()
}

// check validates the top-level fields.
func (d *machineDef) check() error {
	switch {
	case d.Version != nil && *d.Version != "1.0":
		return ferr("Version", "only \"1.0\" is supported, got %v", *d.Version)
	case d.QueryLanguage != nil && *d.QueryLanguage != "JSONPath":
		return ferr("QueryLanguage", "only JSONPath is supported, got %v", *d.QueryLanguage)
	case d.StartAt == nil || *d.StartAt == "":
		return ferr("StartAt", "must name a state")
	case len(d.States) == 0:
		return ferr("States", "must be a non-empty object")
	}
	return nil
}

// checkTransitions checks that every transition leads to a state, as Step
// Functions does.
func (m *machine) checkTransitions() error {
	for _, n := range slices.Sorted(maps.Keys(m.states)) {
		tr := m.states[n].transitions()
		for _, field := range slices.Sorted(maps.Keys(tr)) {
			if _, ok := m.states[tr[field]]; !ok {
				return defErr(n, field, "no state named %q", tr[field])
			}
		}
	}
	return nil
}

// checkReachable checks that every state is reachable from StartAt, as Step
// Functions does.
func (m *machine) checkReachable() error {
	reached := map[string]bool{}
	var walk func(string)
	walk = func(n string) {
		if reached[n] {
			return
		}
		reached[n] = true
		for _, next := range m.states[n].transitions() {
			walk(next)
		}
	}
	walk(m.startAt)
	for _, n := range slices.Sorted(maps.Keys(m.states)) {
		if !reached[n] {
			return defErr(n, "", "the state is not reachable from StartAt")
		}
	}
	return nil
}

// transitions maps each field that names a next state to that state.
func (s *state) transitions() map[string]string {
	t := map[string]string{}
	if s.next != "" {
		t["Next"] = s.next
	}
	for i, c := range s.catch {
		t[fmt.Sprintf("Catch[%d].Next", i)] = c.next
	}
	for i, r := range s.choices {
		t[fmt.Sprintf("Choices[%d].Next", i)] = r.next
	}
	if s.defaultNext != "" {
		t["Default"] = s.defaultNext
	}
	return t
}

// stateDef is a state as written, one struct per state type; apply
// validates its fields and sets them on the parsed state.
type stateDef interface {
	apply(s *state, tasks map[string]TaskFunc) error
}

// stateDefs makes an empty stateDef for each supported state type; a type
// missing here (Parallel, Map) is refused.
var stateDefs = map[string]func() stateDef{
	typeTask:    func() stateDef { return &taskStateDef{} },
	typeChoice:  func() stateDef { return &choiceStateDef{} },
	typeWait:    func() stateDef { return &waitStateDef{} },
	typePass:    func() stateDef { return &passStateDef{} },
	typeSucceed: func() stateDef { return &succeedStateDef{} },
	typeFail:    func() stateDef { return &failStateDef{} },
}

// parseState parses one state and checks every field it has.
func parseState(name string, raw json.RawMessage, tasks map[string]TaskFunc) (*state, error) {
	if name == "" || len([]rune(name)) > 80 {
		return nil, defErr(name, "", "a state name must have 1 to 80 characters")
	}
	fields, err := objectFields(raw)
	if err != nil {
		return nil, defErr(name, "", "must be a JSON object")
	}
	var typ string
	if err := json.Unmarshal(fields["Type"], &typ); err != nil || typ == "" {
		return nil, defErr(name, "Type", "a state needs a Type")
	}
	newDef, ok := stateDefs[typ]
	if !ok {
		return nil, defErr(name, "Type", "state type %q is not supported by the local executor", typ)
	}
	d := newDef()
	if err := decodeFields(fields, "", d, "not supported in a "+typ+" state by the local executor"); err != nil {
		return nil, inState(name, err)
	}
	s := &state{name: name, typ: typ}
	if err := d.apply(s, tasks); err != nil {
		return nil, inState(name, err)
	}
	return s, nil
}

// baseDef holds the fields every state may have.
type baseDef struct {
	Type          string  `json:"Type"`
	Comment       *string `json:"Comment"`
	QueryLanguage *string `json:"QueryLanguage"`
}

func (d *baseDef) apply(*state) error {
	if d.QueryLanguage != nil && *d.QueryLanguage != "JSONPath" {
		return ferr("QueryLanguage", "only JSONPath is supported, got %v", *d.QueryLanguage)
	}
	return nil
}

// ioDef holds InputPath and OutputPath, which every state but Fail may have.
type ioDef struct {
	InputPath  pathOrNull `json:"InputPath"`
	OutputPath pathOrNull `json:"OutputPath"`
}

func (d *ioDef) apply(s *state) (err error) {
	if s.inputPath, err = d.InputPath.parse("InputPath", false); err != nil {
		return err
	}
	s.outputPath, err = d.OutputPath.parse("OutputPath", false)
	return err
}

// flowDef holds Next and End, of which Task, Wait and Pass need exactly one.
type flowDef struct {
	Next *string `json:"Next"`
	End  *bool   `json:"End"`
}

func (d *flowDef) apply(s *state) error {
	switch {
	case d.Next != nil && d.End != nil:
		return ferr("End", "a state has Next or End, not both")
	case d.Next != nil && *d.Next == "":
		return ferr("Next", "must name a state")
	case d.Next != nil:
		s.next = *d.Next
	case d.End != nil && !*d.End:
		return ferr("End", "must be true")
	case d.End != nil:
		s.end = true
	default:
		return ferr("", "a %s state needs Next or End", s.typ)
	}
	return nil
}

// resultDef holds ResultPath and Parameters, which Task and Pass may have.
type resultDef struct {
	ResultPath pathOrNull     `json:"ResultPath"`
	Parameters map[string]any `json:"Parameters"`
}

func (d *resultDef) apply(s *state) (err error) {
	if s.resultPath, err = d.ResultPath.parse("ResultPath", true); err != nil {
		return err
	}
	if d.Parameters != nil {
		s.parameters, err = parseTemplate(d.Parameters, "Parameters", true)
	}
	return err
}

// applyAll runs the appliers in order and stops at the first error.
func applyAll(s *state, appliers ...func(*state) error) error {
	for _, a := range appliers {
		if err := a(s); err != nil {
			return err
		}
	}
	return nil
}

// parse validates a path field; isResult says it is a ResultPath, which
// takes names only.
func (p pathOrNull) parse(field string, isResult bool) (pathField, error) {
	switch {
	case !p.set:
		return pathField{}, nil
	case p.null:
		return pathField{null: true}, nil
	}
	rp, err := parseRefPath(p.text)
	if err != nil {
		return pathField{}, ferr(field, "%v", err)
	}
	if isResult && rp.hasIndex() {
		return pathField{}, ferr(field, "path %q: array indexes are not supported in a ResultPath", p.text)
	}
	return pathField{path: rp}, nil
}

// taskStateDef is a Task state as written.
type taskStateDef struct {
	baseDef
	ioDef
	flowDef
	resultDef
	ResultSelector   map[string]any    `json:"ResultSelector"`
	Resource         *string           `json:"Resource"`
	Retry            []json.RawMessage `json:"Retry"`
	Catch            []json.RawMessage `json:"Catch"`
	TimeoutSeconds   *number           `json:"TimeoutSeconds"`
	HeartbeatSeconds *number           `json:"HeartbeatSeconds"`
}

func (d *taskStateDef) apply(s *state, tasks map[string]TaskFunc) (err error) {
	if err := applyAll(s, d.baseDef.apply, d.ioDef.apply, d.flowDef.apply, d.resultDef.apply); err != nil {
		return err
	}
	if d.ResultSelector != nil {
		if s.resultSelector, err = parseTemplate(d.ResultSelector, "ResultSelector", false); err != nil {
			return err
		}
	}
	if d.Resource == nil || *d.Resource == "" {
		return ferr("Resource", "a Task needs a Resource")
	}
	s.resource = *d.Resource
	if s.task = tasks[s.resource]; s.task == nil {
		return ferr("Resource", "no task function for %q", s.resource)
	}
	if err := d.applyTimeouts(s); err != nil {
		return err
	}
	if s.retry, err = parseRetriers(d.Retry); err != nil {
		return err
	}
	s.catch, err = parseCatchers(d.Catch)
	return err
}

// applyTimeouts checks TimeoutSeconds and HeartbeatSeconds.
func (d *taskStateDef) applyTimeouts(s *state) (err error) {
	if s.timeoutSeconds, err = intIn(d.TimeoutSeconds, "TimeoutSeconds", 1, 99999999); err != nil {
		return err
	}
	if s.heartbeatSeconds, err = intIn(d.HeartbeatSeconds, "HeartbeatSeconds", 1, 99999999); err != nil {
		return err
	}
	if s.heartbeatSeconds > 0 && s.timeoutSeconds > 0 && s.heartbeatSeconds >= s.timeoutSeconds {
		return ferr("HeartbeatSeconds", "must be smaller than TimeoutSeconds")
	}
	return nil
}

// passStateDef is a Pass state as written.
type passStateDef struct {
	baseDef
	ioDef
	flowDef
	resultDef
	Result value `json:"Result"`
}

func (d *passStateDef) apply(s *state, _ map[string]TaskFunc) error {
	s.result, s.hasResult = d.Result.v, d.Result.set
	return applyAll(s, d.baseDef.apply, d.ioDef.apply, d.flowDef.apply, d.resultDef.apply)
}

// waitStateDef is a Wait state as written: exactly one of its four times.
type waitStateDef struct {
	baseDef
	ioDef
	flowDef
	Seconds       *number       `json:"Seconds"`
	SecondsPath   *pathDef      `json:"SecondsPath"`
	Timestamp     *timestampDef `json:"Timestamp"`
	TimestampPath *pathDef      `json:"TimestampPath"`
}

func (d *waitStateDef) apply(s *state, _ map[string]TaskFunc) error {
	if err := applyAll(s, d.baseDef.apply, d.ioDef.apply, d.flowDef.apply); err != nil {
		return err
	}
	var set []string
	for _, f := range []struct {
		name string
		set  bool
	}{{"Seconds", d.Seconds != nil}, {"SecondsPath", d.SecondsPath != nil}, {"Timestamp", d.Timestamp != nil}, {"TimestampPath", d.TimestampPath != nil}} {
		if f.set {
			set = append(set, f.name)
		}
	}
	if len(set) != 1 {
		return ferr("", "a Wait state needs exactly one of Seconds, SecondsPath, Timestamp, TimestampPath; it has %v", set)
	}
	switch {
	case d.Seconds != nil:
		n, err := intIn(d.Seconds, "Seconds", 0, 99999999)
		if err != nil {
			return err
		}
		s.seconds = &n
	case d.Timestamp != nil:
		s.timestamp = &d.Timestamp.t
	case d.SecondsPath != nil:
		s.secondsPath = d.SecondsPath.p
	default:
		s.timestampPath = d.TimestampPath.p
	}
	return nil
}

// succeedStateDef is a Succeed state as written.
type succeedStateDef struct {
	baseDef
	ioDef
}

func (d *succeedStateDef) apply(s *state, _ map[string]TaskFunc) error {
	return applyAll(s, d.baseDef.apply, d.ioDef.apply)
}

// failStateDef is a Fail state as written.
type failStateDef struct {
	baseDef
	Error *string `json:"Error"`
	Cause *string `json:"Cause"`
}

func (d *failStateDef) apply(s *state, _ map[string]TaskFunc) error {
	if d.Error != nil {
		s.errorName = *d.Error
	}
	if d.Cause != nil {
		s.cause = *d.Cause
	}
	return d.baseDef.apply(s)
}

// choiceStateDef is a Choice state as written.
type choiceStateDef struct {
	baseDef
	ioDef
	Choices []json.RawMessage `json:"Choices"`
	Default *string           `json:"Default"`
}

func (d *choiceStateDef) apply(s *state, _ map[string]TaskFunc) error {
	if err := applyAll(s, d.baseDef.apply, d.ioDef.apply); err != nil {
		return err
	}
	if len(d.Choices) == 0 {
		return ferr("Choices", "must be a non-empty array of rules")
	}
	for i, raw := range d.Choices {
		r, err := parseChoiceRule(raw, fmt.Sprintf("Choices[%d]", i), true)
		if err != nil {
			return err
		}
		s.choices = append(s.choices, r)
	}
	if d.Default != nil {
		if *d.Default == "" {
			return ferr("Default", "must name a state")
		}
		s.defaultNext = *d.Default
	}
	return nil
}

// retrierDef is one Retry entry as written.
type retrierDef struct {
	Comment         *string    `json:"Comment"`
	ErrorEquals     errorNames `json:"ErrorEquals"`
	IntervalSeconds *number    `json:"IntervalSeconds"`
	MaxAttempts     *number    `json:"MaxAttempts"`
	MaxDelaySeconds *number    `json:"MaxDelaySeconds"`
	BackoffRate     *number    `json:"BackoffRate"`
	JitterStrategy  *string    `json:"JitterStrategy"`
}

// parseRetriers parses a Task's Retry list.
func parseRetriers(list []json.RawMessage) ([]retrier, error) {
	var out []retrier
	for i, raw := range list {
		r, err := parseRetrier(raw, fmt.Sprintf("Retry[%d]", i), i == len(list)-1)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// parseRetrier parses one retrier; last says it is the last in its list.
func parseRetrier(raw json.RawMessage, at string, last bool) (retrier, error) {
	var d retrierDef
	if err := decodeObject(raw, at, &d, "not supported in a retrier"); err != nil {
		return retrier{}, err
	}
	if err := checkErrorEquals(d.ErrorEquals, at, "a retrier", last); err != nil {
		return retrier{}, err
	}
	r := retrier{errorEquals: d.ErrorEquals, interval: 1, maxAttempts: 3, backoffRate: 2}
	if err := d.applyNumbers(&r, at); err != nil {
		return retrier{}, err
	}
	if d.JitterStrategy != nil {
		switch *d.JitterStrategy {
		case "NONE":
		case "FULL":
			return retrier{}, ferr(at+".JitterStrategy", "FULL is not supported: local runs must be deterministic")
		default:
			return retrier{}, ferr(at+".JitterStrategy", "must be NONE (FULL is not supported locally)")
		}
	}
	return r, nil
}

// applyNumbers checks the retrier's numbers and sets those present on r.
func (d *retrierDef) applyNumbers(r *retrier, at string) error {
	ints := []struct {
		n      *number
		field  string
		lo, hi int64
		set    func(int64)
	}{
		{d.IntervalSeconds, "IntervalSeconds", 1, 99999999, func(n int64) { r.interval = float64(n) }},
		{d.MaxAttempts, "MaxAttempts", 0, 99999999, func(n int64) { r.maxAttempts = n }},
		{d.MaxDelaySeconds, "MaxDelaySeconds", 1, 31622400, func(n int64) { r.maxDelay = float64(n) }},
	}
	for _, f := range ints {
		if f.n == nil {
			continue
		}
		n, err := intIn(f.n, at+"."+f.field, f.lo, f.hi)
		if err != nil {
			return err
		}
		f.set(n)
	}
	if d.BackoffRate != nil {
		x, err := json.Number(*d.BackoffRate).Float64()
		if err != nil || x < 1 {
			return ferr(at+".BackoffRate", "must be a number of at least 1.0")
		}
		r.backoffRate = x
	}
	return nil
}

// catcherDef is one Catch entry as written.
type catcherDef struct {
	Comment     *string    `json:"Comment"`
	ErrorEquals errorNames `json:"ErrorEquals"`
	Next        *string    `json:"Next"`
	ResultPath  pathOrNull `json:"ResultPath"`
}

// parseCatchers parses a Task's Catch list.
func parseCatchers(list []json.RawMessage) ([]catcher, error) {
	var out []catcher
	for i, raw := range list {
		c, err := parseCatcher(raw, fmt.Sprintf("Catch[%d]", i), i == len(list)-1)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// parseCatcher parses one catcher; last says it is the last in its list.
func parseCatcher(raw json.RawMessage, at string, last bool) (catcher, error) {
	var d catcherDef
	if err := decodeObject(raw, at, &d, "not supported in a catcher"); err != nil {
		return catcher{}, err
	}
	if err := checkErrorEquals(d.ErrorEquals, at, "a catcher", last); err != nil {
		return catcher{}, err
	}
	switch {
	case d.Next == nil:
		return catcher{}, ferr(at+".Next", "a catcher needs Next")
	case *d.Next == "":
		return catcher{}, ferr(at+".Next", "must name a state")
	}
	rp, err := d.ResultPath.parse(at+".ResultPath", true)
	if err != nil {
		return catcher{}, err
	}
	return catcher{errorEquals: d.ErrorEquals, next: *d.Next, resultPath: rp}, nil
}

// checkErrorEquals checks a retrier's or catcher's ErrorEquals: present,
// and States.ALL alone and in the last entry.
func checkErrorEquals(names errorNames, at, what string, last bool) error {
	if names == nil {
		return ferr(at+".ErrorEquals", "%s needs ErrorEquals", what)
	}
	for _, n := range names {
		if n == ErrAll && (len(names) > 1 || !last) {
			return ferr(at+".ErrorEquals", "States.ALL must appear alone, in the last entry")
		}
	}
	return nil
}

// intIn reads an optional integer within [lo, hi]; absent gives 0.
func intIn(n *number, field string, lo, hi int64) (int64, error) {
	if n == nil {
		return 0, nil
	}
	v, err := strconv.ParseInt(string(*n), 10, 64)
	if err != nil || v < lo || v > hi {
		return 0, ferr(field, "must be an integer from %d to %d, got %s", lo, hi, *n)
	}
	return v, nil
}
