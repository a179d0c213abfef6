package sfnlocal

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"
)

// operandKind is the type of value a comparison operator works on.
type operandKind int

const (
	kindString operandKind = iota
	kindNumber
	kindBool
	kindTimestamp
	kindTest // IsPresent, IsNull, IsString ...: a boolean expectation
)

// relation is the comparison an operator makes.
type relation int

const (
	relEq relation = iota
	relLt
	relGt
	relLe
	relGe
)

type operator struct {
	kind     operandKind
	rel      relation
	fromPath bool
}

// operators lists every comparison operator the executor supports.
var operators = func() map[string]operator {
	ops := map[string]operator{}
	rels := map[string]relation{
		"Equals": relEq, "LessThan": relLt, "GreaterThan": relGt,
		"LessThanEquals": relLe, "GreaterThanEquals": relGe,
	}
	kinds := map[string]operandKind{"String": kindString, "Numeric": kindNumber, "Timestamp": kindTimestamp}
	for kn, k := range kinds {
		for rn, r := range rels {
			ops[kn+rn] = operator{kind: k, rel: r}
			ops[kn+rn+"Path"] = operator{kind: k, rel: r, fromPath: true}
		}
	}
	ops["BooleanEquals"] = operator{kind: kindBool}
	ops["BooleanEqualsPath"] = operator{kind: kindBool, fromPath: true}
	for _, t := range []string{"IsPresent", "IsNull", "IsString", "IsNumeric", "IsBoolean", "IsTimestamp"} {
		ops[t] = operator{kind: kindTest}
	}
	return ops
}()

// choiceRule is one Choice rule: a comparison, or And/Or/Not of rules.
type choiceRule struct {
	variable *refPath
	opName   string
	op       operator
	value    any      // the literal operand (string, float64, bool, time.Time)
	path     *refPath // the operand of a ...Path operator
	and, or  []*choiceRule
	not      *choiceRule
	next     string // top-level rules only
}

// parseChoiceRule validates a rule; top says whether it is a top-level rule
// (which must have Next) or nested in And/Or/Not (which must not).
func parseChoiceRule(v any, field string, top bool) (*choiceRule, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, ferr(field, "must be an object")
	}
	r := &choiceRule{}
	if n, ok := m["Next"]; ok {
		if !top {
			return nil, ferr(field+".Next", "a nested rule must not have Next")
		}
		s, ok := n.(string)
		if !ok || s == "" {
			return nil, ferr(field+".Next", "must be a state name")
		}
		r.next = s
	} else if top {
		return nil, ferr(field, "a top-level rule needs Next")
	}
	var ops []string
	for k := range m {
		switch k {
		case "Next", "Comment", "Variable":
		case "And", "Or", "Not":
			ops = append(ops, k)
		case "StringMatches":
			return nil, ferr(field+".StringMatches", "is not supported")
		default:
			if _, ok := operators[k]; !ok {
				return nil, ferr(field+"."+k, "not a supported field")
			}
			ops = append(ops, k)
		}
	}
	sort.Strings(ops)
	if len(ops) != 1 {
		return nil, ferr(field, "must have exactly one comparison operator, And, Or or Not; it has %v", ops)
	}
	name := ops[0]
	switch name {
	case "And", "Or":
		if _, ok := m["Variable"]; ok {
			return nil, ferr(field+".Variable", "not allowed with %s", name)
		}
		list, ok := m[name].([]any)
		if !ok || len(list) == 0 {
			return nil, ferr(field+"."+name, "must be a non-empty array of rules")
		}
		for i, sub := range list {
			sr, err := parseChoiceRule(sub, fmt.Sprintf("%s.%s[%d]", field, name, i), false)
			if err != nil {
				return nil, err
			}
			if name == "And" {
				r.and = append(r.and, sr)
			} else {
				r.or = append(r.or, sr)
			}
		}
		return r, nil
	case "Not":
		if _, ok := m["Variable"]; ok {
			return nil, ferr(field+".Variable", "not allowed with Not")
		}
		sr, err := parseChoiceRule(m["Not"], field+".Not", false)
		if err != nil {
			return nil, err
		}
		r.not = sr
		return r, nil
	}
	vs, ok := m["Variable"].(string)
	if !ok {
		return nil, ferr(field+".Variable", "a comparison needs a Variable path")
	}
	vp, err := parseRefPath(vs)
	if err != nil {
		return nil, ferr(field+".Variable", "%v", err)
	}
	r.variable, r.opName, r.op = vp, name, operators[name]
	operand := m[name]
	opField := field + "." + name
	if r.op.fromPath {
		s, ok := operand.(string)
		if !ok {
			return nil, ferr(opField, "must be a path string")
		}
		if r.path, err = parseRefPath(s); err != nil {
			return nil, ferr(opField, "%v", err)
		}
		return r, nil
	}
	switch r.op.kind {
	case kindString:
		s, ok := operand.(string)
		if !ok {
			return nil, ferr(opField, "must be a string")
		}
		r.value = s
	case kindNumber:
		n, ok := operand.(json.Number)
		if !ok {
			return nil, ferr(opField, "must be a number")
		}
		f, err := n.Float64()
		if err != nil {
			return nil, ferr(opField, "%v", err)
		}
		r.value = f
	case kindBool, kindTest:
		b, ok := operand.(bool)
		if !ok {
			return nil, ferr(opField, "must be true or false")
		}
		r.value = b
	case kindTimestamp:
		s, ok := operand.(string)
		if !ok {
			return nil, ferr(opField, "must be a timestamp string")
		}
		t, err := parseTimestamp(s)
		if err != nil {
			return nil, ferr(opField, "%v", err)
		}
		r.value = t
	}
	return r, nil
}

// parseTimestamp reads a timestamp the way Step Functions requires it:
// RFC 3339 with an uppercase T and Z (or a numeric offset).
func parseTimestamp(s string) (time.Time, error) {
	if strings.ContainsAny(s, "tz") {
		return time.Time{}, fmt.Errorf("timestamp %q must use an uppercase T and Z", s)
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("timestamp %q is not RFC 3339: %v", s, err)
	}
	return t, nil
}

// choiceError is a runtime problem evaluating a rule; it fails the
// execution with States.Runtime.
type choiceError struct{ msg string }

func (e *choiceError) Error() string { return e.msg }

// eval evaluates the rule against the Choice state's effective input.
func (r *choiceRule) eval(input any) (bool, error) {
	switch {
	case r.and != nil:
		for _, s := range r.and {
			ok, err := s.eval(input)
			if err != nil || !ok {
				return false, err
			}
		}
		return true, nil
	case r.or != nil:
		for _, s := range r.or {
			ok, err := s.eval(input)
			if err != nil || ok {
				return ok, err
			}
		}
		return false, nil
	case r.not != nil:
		ok, err := r.not.eval(input)
		return !ok, err
	}
	v, present := r.variable.get(input)
	if r.opName == "IsPresent" {
		return present == r.value.(bool), nil
	}
	if !present {
		return false, &choiceError{fmt.Sprintf("Invalid path '%s': The choice state's condition path references an invalid value.", r.variable.text)}
	}
	if r.op.kind == kindTest {
		var is bool
		switch r.opName {
		case "IsNull":
			is = v == nil
		case "IsString":
			_, is = v.(string)
		case "IsNumeric":
			_, is = v.(json.Number)
		case "IsBoolean":
			_, is = v.(bool)
		case "IsTimestamp":
			s, ok := v.(string)
			if ok {
				_, err := parseTimestamp(s)
				is = err == nil
			}
		}
		return is == r.value.(bool), nil
	}
	want := r.value
	if r.op.fromPath {
		pv, ok := r.path.get(input)
		if !ok {
			return false, &choiceError{fmt.Sprintf("Invalid path '%s': The choice state's %s path references an invalid value.", r.path.text, r.opName)}
		}
		var ok2 bool
		if want, ok2 = operandOf(r.op.kind, pv); !ok2 {
			return false, nil
		}
	}
	got, ok := operandOf(r.op.kind, v)
	if !ok {
		// A value of another type never matches, as in Step Functions.
		return false, nil
	}
	return compare(r.op, got, want), nil
}

// operandOf converts a JSON value to the operator's operand type.
func operandOf(k operandKind, v any) (any, bool) {
	switch k {
	case kindString:
		s, ok := v.(string)
		return s, ok
	case kindNumber:
		n, ok := v.(json.Number)
		if !ok {
			return nil, false
		}
		f, err := n.Float64()
		return f, err == nil
	case kindBool:
		b, ok := v.(bool)
		return b, ok
	case kindTimestamp:
		s, ok := v.(string)
		if !ok {
			return nil, false
		}
		t, err := parseTimestamp(s)
		return t, err == nil
	}
	return nil, false
}

// compare applies the operator's relation to two operands of its kind.
func compare(op operator, a, b any) bool {
	var c int
	switch op.kind {
	case kindString:
		c = strings.Compare(a.(string), b.(string))
	case kindNumber:
		x, y := a.(float64), b.(float64)
		switch {
		case x < y:
			c = -1
		case x > y:
			c = 1
		}
	case kindBool:
		return a.(bool) == b.(bool)
	case kindTimestamp:
		c = a.(time.Time).Compare(b.(time.Time))
	}
	switch op.rel {
	case relLt:
		return c < 0
	case relGt:
		return c > 0
	case relLe:
		return c <= 0
	case relGe:
		return c >= 0
	}
	return c == 0
}
