package sfnlocal

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
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

// allowedFields lists the fields each supported state type may have.
var allowedFields = map[string][]string{
	typeTask: {"Type", "Comment", "QueryLanguage", "Next", "End", "InputPath", "OutputPath", "ResultPath",
		"Parameters", "ResultSelector", "Resource", "Retry", "Catch", "TimeoutSeconds", "HeartbeatSeconds"},
	typeChoice:  {"Type", "Comment", "QueryLanguage", "InputPath", "OutputPath", "Choices", "Default"},
	typeWait:    {"Type", "Comment", "QueryLanguage", "Next", "End", "InputPath", "OutputPath", "Seconds", "SecondsPath", "Timestamp", "TimestampPath"},
	typePass:    {"Type", "Comment", "QueryLanguage", "Next", "End", "InputPath", "OutputPath", "ResultPath", "Parameters", "Result"},
	typeSucceed: {"Type", "Comment", "QueryLanguage", "InputPath", "OutputPath"},
	typeFail:    {"Type", "Comment", "QueryLanguage", "Error", "Cause"},
}

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

// parseMachine parses and validates def, resolving Task resources in tasks.
func parseMachine(def string, tasks map[string]TaskFunc) (*machine, error) {
	root, err := decodeJSON([]byte(def))
	if err != nil {
		return nil, defErr("", "", "not valid JSON: %v", err)
	}
	top, ok := root.(map[string]any)
	if !ok {
		return nil, defErr("", "", "must be a JSON object")
	}
	for _, k := range sortedKeys(top) {
		v := top[k]
		switch k {
		case "StartAt", "States", "Comment":
		case "Version":
			if v != "1.0" {
				return nil, defErr("", "Version", "only \"1.0\" is supported, got %v", v)
			}
		case "QueryLanguage":
			if v != "JSONPath" {
				return nil, defErr("", "QueryLanguage", "only JSONPath is supported, got %v", v)
			}
		default:
			return nil, defErr("", k, "not supported by the local executor")
		}
	}
	m := &machine{states: map[string]*state{}}
	if m.startAt, ok = top["StartAt"].(string); !ok || m.startAt == "" {
		return nil, defErr("", "StartAt", "must name a state")
	}
	states, ok := top["States"].(map[string]any)
	if !ok || len(states) == 0 {
		return nil, defErr("", "States", "must be a non-empty object")
	}
	names := sortedKeys(states)
	for _, n := range names {
		st, err := parseState(n, states[n], tasks)
		if err != nil {
			return nil, err
		}
		m.states[n] = st
	}
	if _, ok := m.states[m.startAt]; !ok {
		return nil, defErr("", "StartAt", "no state named %q", m.startAt)
	}
	// Every transition must lead to a state, and every state must be
	// reachable: Step Functions refuses a definition otherwise.
	for _, n := range names {
		st := m.states[n]
		tr := st.transitions()
		for _, field := range sortedKeys(tr) {
			next := tr[field]
			if _, ok := m.states[next]; !ok {
				return nil, defErr(n, field, "no state named %q", next)
			}
		}
	}
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
	for _, n := range names {
		if !reached[n] {
			return nil, defErr(n, "", "the state is not reachable from StartAt")
		}
	}
	return m, nil
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

// parseState parses one state and checks every field it has.
func parseState(name string, v any, tasks map[string]TaskFunc) (*state, error) {
	if name == "" || len([]rune(name)) > 80 {
		return nil, defErr(name, "", "a state name must have 1 to 80 characters")
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, defErr(name, "", "must be a JSON object")
	}
	typ, ok := m["Type"].(string)
	if !ok {
		return nil, defErr(name, "Type", "a state needs a Type")
	}
	allowed, ok := allowedFields[typ]
	if !ok {
		return nil, defErr(name, "Type", "state type %q is not supported by the local executor", typ)
	}
	for _, k := range sortedKeys(m) {
		if !contains(allowed, k) {
			return nil, defErr(name, k, "not supported in a %s state by the local executor", typ)
		}
	}
	if q, ok := m["QueryLanguage"]; ok && q != "JSONPath" {
		return nil, defErr(name, "QueryLanguage", "only JSONPath is supported, got %v", q)
	}
	if c, ok := m["Comment"]; ok {
		if _, ok := c.(string); !ok {
			return nil, defErr(name, "Comment", "must be a string")
		}
	}
	s := &state{name: name, typ: typ}

	// Next / End: Task, Wait and Pass need exactly one of them.
	_, hasNext := m["Next"]
	_, hasEnd := m["End"]
	if contains(allowed, "Next") {
		switch {
		case hasNext && hasEnd:
			return nil, defErr(name, "End", "a state has Next or End, not both")
		case hasNext:
			if s.next, ok = m["Next"].(string); !ok || s.next == "" {
				return nil, defErr(name, "Next", "must name a state")
			}
		case hasEnd:
			if m["End"] != true {
				return nil, defErr(name, "End", "must be true")
			}
			s.end = true
		default:
			return nil, defErr(name, "", "a %s state needs Next or End", typ)
		}
	}

	var err error
	if s.inputPath, err = parsePathField(name, m, "InputPath", false); err != nil {
		return nil, err
	}
	if s.outputPath, err = parsePathField(name, m, "OutputPath", false); err != nil {
		return nil, err
	}
	if s.resultPath, err = parsePathField(name, m, "ResultPath", true); err != nil {
		return nil, err
	}
	for _, f := range []string{"Parameters", "ResultSelector"} {
		pv, ok := m[f]
		if !ok {
			continue
		}
		t, err := parseTemplate(pv, f)
		if err != nil {
			return nil, inState(name, err)
		}
		if f == "Parameters" {
			s.parameters = t
		} else {
			s.resultSelector = t
		}
	}
	s.result, s.hasResult = m["Result"]

	switch typ {
	case typeTask:
		err = s.parseTask(m, tasks)
	case typeChoice:
		err = s.parseChoice(m)
	case typeWait:
		err = s.parseWait(m)
	case typeFail:
		for _, f := range []string{"Error", "Cause"} {
			if v, ok := m[f]; ok {
				str, ok := v.(string)
				if !ok {
					return nil, defErr(name, f, "must be a string")
				}
				if f == "Error" {
					s.errorName = str
				} else {
					s.cause = str
				}
			}
		}
	}
	if err != nil {
		return nil, err
	}
	return s, nil
}

// parsePathField reads InputPath, OutputPath or ResultPath.
func parsePathField(st string, m map[string]any, field string, isResult bool) (pathField, error) {
	v, ok := m[field]
	if !ok {
		return pathField{}, nil
	}
	if v == nil {
		return pathField{null: true}, nil
	}
	s, ok := v.(string)
	if !ok {
		return pathField{}, defErr(st, field, "must be a path string or null")
	}
	p, err := parseRefPath(s)
	if err != nil {
		return pathField{}, defErr(st, field, "%v", err)
	}
	if isResult && p.hasIndex() {
		return pathField{}, defErr(st, field, "path %q: array indexes are not supported in a ResultPath", s)
	}
	return pathField{path: p}, nil
}

func (s *state) parseTask(m map[string]any, tasks map[string]TaskFunc) error {
	var ok bool
	if s.resource, ok = m["Resource"].(string); !ok || s.resource == "" {
		return defErr(s.name, "Resource", "a Task needs a Resource")
	}
	if s.task, ok = tasks[s.resource]; !ok || s.task == nil {
		return defErr(s.name, "Resource", "no task function for %q", s.resource)
	}
	var err error
	if s.timeoutSeconds, err = intField(s.name, m, "TimeoutSeconds", 1, 99999999); err != nil {
		return err
	}
	if s.heartbeatSeconds, err = intField(s.name, m, "HeartbeatSeconds", 1, 99999999); err != nil {
		return err
	}
	if s.heartbeatSeconds > 0 && s.timeoutSeconds > 0 && s.heartbeatSeconds >= s.timeoutSeconds {
		return defErr(s.name, "HeartbeatSeconds", "must be smaller than TimeoutSeconds")
	}
	if v, ok := m["Retry"]; ok {
		list, ok := v.([]any)
		if !ok {
			return defErr(s.name, "Retry", "must be an array")
		}
		for i, rv := range list {
			r, err := parseRetrier(s.name, fmt.Sprintf("Retry[%d]", i), rv, i == len(list)-1)
			if err != nil {
				return err
			}
			s.retry = append(s.retry, r)
		}
	}
	if v, ok := m["Catch"]; ok {
		list, ok := v.([]any)
		if !ok {
			return defErr(s.name, "Catch", "must be an array")
		}
		for i, cv := range list {
			c, err := parseCatcher(s.name, fmt.Sprintf("Catch[%d]", i), cv, i == len(list)-1)
			if err != nil {
				return err
			}
			s.catch = append(s.catch, c)
		}
	}
	return nil
}

// parseErrorEquals checks an ErrorEquals list: States.ALL must be alone and
// in the last retrier or catcher.
func parseErrorEquals(st, field string, v any, last bool) ([]string, error) {
	list, ok := v.([]any)
	if !ok || len(list) == 0 {
		return nil, defErr(st, field, "must be a non-empty array of error names")
	}
	var names []string
	for _, e := range list {
		s, ok := e.(string)
		if !ok || s == "" {
			return nil, defErr(st, field, "error names must be non-empty strings")
		}
		if s == ErrAll && (len(list) > 1 || !last) {
			return nil, defErr(st, field, "States.ALL must appear alone, in the last entry")
		}
		names = append(names, s)
	}
	return names, nil
}

func parseRetrier(st, field string, v any, last bool) (retrier, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return retrier{}, defErr(st, field, "must be an object")
	}
	r := retrier{interval: 1, maxAttempts: 3, backoffRate: 2}
	for _, k := range sortedKeys(m) {
		val := m[k]
		f := field + "." + k
		switch k {
		case "Comment":
		case "ErrorEquals":
			names, err := parseErrorEquals(st, f, val, last)
			if err != nil {
				return retrier{}, err
			}
			r.errorEquals = names
		case "IntervalSeconds":
			n, err := intValue(st, f, val, 1, 99999999)
			if err != nil {
				return retrier{}, err
			}
			r.interval = float64(n)
		case "MaxAttempts":
			n, err := intValue(st, f, val, 0, 99999999)
			if err != nil {
				return retrier{}, err
			}
			r.maxAttempts = n
		case "MaxDelaySeconds":
			n, err := intValue(st, f, val, 1, 31622400)
			if err != nil {
				return retrier{}, err
			}
			r.maxDelay = float64(n)
		case "BackoffRate":
			num, ok := val.(json.Number)
			if !ok {
				return retrier{}, defErr(st, f, "must be a number")
			}
			x, err := num.Float64()
			if err != nil || x < 1 {
				return retrier{}, defErr(st, f, "must be a number of at least 1.0")
			}
			r.backoffRate = x
		case "JitterStrategy":
			switch val {
			case "NONE":
			case "FULL":
				return retrier{}, defErr(st, f, "FULL is not supported: local runs must be deterministic")
			default:
				return retrier{}, defErr(st, f, "must be NONE (FULL is not supported locally)")
			}
		default:
			return retrier{}, defErr(st, f, "not supported in a retrier")
		}
	}
	if r.errorEquals == nil {
		return retrier{}, defErr(st, field+".ErrorEquals", "a retrier needs ErrorEquals")
	}
	return r, nil
}

func parseCatcher(st, field string, v any, last bool) (catcher, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return catcher{}, defErr(st, field, "must be an object")
	}
	var c catcher
	for _, k := range sortedKeys(m) {
		val := m[k]
		f := field + "." + k
		switch k {
		case "Comment":
		case "ErrorEquals":
			names, err := parseErrorEquals(st, f, val, last)
			if err != nil {
				return catcher{}, err
			}
			c.errorEquals = names
		case "Next":
			if c.next, ok = val.(string); !ok || c.next == "" {
				return catcher{}, defErr(st, f, "must name a state")
			}
		case "ResultPath":
			pf, err := parsePathField(st, m, k, true)
			if err != nil {
				return catcher{}, defErr(st, f, "%s", err.(*DefinitionError).Reason)
			}
			c.resultPath = pf
		default:
			return catcher{}, defErr(st, f, "not supported in a catcher")
		}
	}
	if c.errorEquals == nil {
		return catcher{}, defErr(st, field+".ErrorEquals", "a catcher needs ErrorEquals")
	}
	if c.next == "" {
		return catcher{}, defErr(st, field+".Next", "a catcher needs Next")
	}
	return c, nil
}

func (s *state) parseChoice(m map[string]any) error {
	list, ok := m["Choices"].([]any)
	if !ok || len(list) == 0 {
		return defErr(s.name, "Choices", "must be a non-empty array of rules")
	}
	for i, rv := range list {
		field := fmt.Sprintf("Choices[%d]", i)
		r, err := parseChoiceRule(rv, field, true)
		if err != nil {
			return inState(s.name, err)
		}
		s.choices = append(s.choices, r)
	}
	if d, ok := m["Default"]; ok {
		if s.defaultNext, ok = d.(string); !ok || s.defaultNext == "" {
			return defErr(s.name, "Default", "must name a state")
		}
	}
	return nil
}

func (s *state) parseWait(m map[string]any) error {
	var set []string
	for _, f := range []string{"Seconds", "SecondsPath", "Timestamp", "TimestampPath"} {
		if _, ok := m[f]; ok {
			set = append(set, f)
		}
	}
	if len(set) != 1 {
		return defErr(s.name, "", "a Wait state needs exactly one of Seconds, SecondsPath, Timestamp, TimestampPath; it has %v", set)
	}
	switch f := set[0]; f {
	case "Seconds":
		n, err := intField(s.name, m, f, 0, 99999999)
		if err != nil {
			return err
		}
		s.seconds = &n
	case "Timestamp":
		str, ok := m[f].(string)
		if !ok {
			return defErr(s.name, f, "must be a timestamp string")
		}
		t, err := parseTimestamp(str)
		if err != nil {
			return defErr(s.name, f, "%v", err)
		}
		s.timestamp = &t
	default:
		str, ok := m[f].(string)
		if !ok {
			return defErr(s.name, f, "must be a path string")
		}
		p, err := parseRefPath(str)
		if err != nil {
			return defErr(s.name, f, "%v", err)
		}
		if f == "SecondsPath" {
			s.secondsPath = p
		} else {
			s.timestampPath = p
		}
	}
	return nil
}

// intField reads an optional integer field within [lo, hi]; absent gives 0.
func intField(st string, m map[string]any, field string, lo, hi int64) (int64, error) {
	v, ok := m[field]
	if !ok {
		return 0, nil
	}
	return intValue(st, field, v, lo, hi)
}

// intValue reads an integer within [lo, hi]; field is for the error.
func intValue(st, field string, v any, lo, hi int64) (int64, error) {
	num, ok := v.(json.Number)
	if !ok {
		return 0, defErr(st, field, "must be an integer")
	}
	n, err := strconv.ParseInt(num.String(), 10, 64)
	if err != nil || n < lo || n > hi {
		return 0, defErr(st, field, "must be an integer from %d to %d, got %s", lo, hi, num)
	}
	return n, nil
}

// sortedKeys returns m's keys in order, so errors come out deterministically.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
