package sfnlocal

import (
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
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

// comparisons are the comparison operators of a Choice rule as written,
// one field each, typed by its operand, so decoding checks the operand;
// the operators table gives each its meaning.
type comparisons struct {
	StringEquals, StringLessThan, StringGreaterThan, StringLessThanEquals, StringGreaterThanEquals *string

	NumericEquals, NumericLessThan, NumericGreaterThan, NumericLessThanEquals, NumericGreaterThanEquals *number

	TimestampEquals, TimestampLessThan, TimestampGreaterThan, TimestampLessThanEquals, TimestampGreaterThanEquals *timestampDef

	BooleanEquals *bool

	StringEqualsPath, StringLessThanPath, StringGreaterThanPath, StringLessThanEqualsPath, StringGreaterThanEqualsPath                *pathDef
	NumericEqualsPath, NumericLessThanPath, NumericGreaterThanPath, NumericLessThanEqualsPath, NumericGreaterThanEqualsPath           *pathDef
	TimestampEqualsPath, TimestampLessThanPath, TimestampGreaterThanPath, TimestampLessThanEqualsPath, TimestampGreaterThanEqualsPath *pathDef
	BooleanEqualsPath                                                                                                                 *pathDef

	IsPresent, IsNull, IsString, IsNumeric, IsBoolean, IsTimestamp *bool
}

// choiceRuleDef is a Choice rule as written.
type choiceRuleDef struct {
	Comment  *string           `json:"Comment"`
	Next     *string           `json:"Next"`
	Variable *pathDef          `json:"Variable"`
	And      []json.RawMessage `json:"And"`
	Or       []json.RawMessage `json:"Or"`
	Not      json.RawMessage   `json:"Not"`
	// StringMatches is refused: its wildcard rules are not implemented.
	StringMatches json.RawMessage `json:"StringMatches"`
	comparisons
}

// parseChoiceRule validates a rule; top says whether it is a top-level rule
// (which must have Next) or nested in And/Or/Not (which must not).
func parseChoiceRule(raw json.RawMessage, field string, top bool) (*choiceRule, error) {
	fields, err := objectFields(raw)
	if err != nil {
		return nil, ferr(field, "must be a JSON object")
	}
	var d choiceRuleDef
	if err := decodeFields(fields, field, &d, "not a supported field"); err != nil {
		return nil, err
	}
	if d.StringMatches != nil {
		return nil, ferr(field+".StringMatches", "is not supported")
	}
	r := &choiceRule{}
	if err := d.applyNext(r, field, top); err != nil {
		return nil, err
	}
	var ops []string
	for _, k := range slices.Sorted(maps.Keys(fields)) {
		if _, isOp := operators[k]; isOp || k == "And" || k == "Or" || k == "Not" {
			ops = append(ops, k)
		}
	}
	if len(ops) != 1 {
		return nil, ferr(field, "must have exactly one comparison operator, And, Or or Not; it has %v", ops)
	}
	switch name := ops[0]; name {
	case "And", "Or", "Not":
		return r, d.applyCompound(r, field, name)
	default:
		return r, d.applyComparison(r, field, name)
	}
}

// applyNext checks the rule's Next, which top-level rules need and nested
// ones must not have.
func (d *choiceRuleDef) applyNext(r *choiceRule, field string, top bool) error {
	switch {
	case d.Next != nil && !top:
		return ferr(field+".Next", "a nested rule must not have Next")
	case d.Next != nil && *d.Next == "":
		return ferr(field+".Next", "must be a state name")
	case d.Next != nil:
		r.next = *d.Next
	case top:
		return ferr(field, "a top-level rule needs Next")
	}
	return nil
}

// applyCompound parses the rules of And, Or or Not (name).
func (d *choiceRuleDef) applyCompound(r *choiceRule, field, name string) error {
	if d.Variable != nil {
		return ferr(field+".Variable", "not allowed with %s", name)
	}
	if name == "Not" {
		sub, err := parseChoiceRule(d.Not, field+".Not", false)
		r.not = sub
		return err
	}
	list := d.And
	if name == "Or" {
		list = d.Or
	}
	if len(list) == 0 {
		return ferr(field+"."+name, "must be a non-empty array of rules")
	}
	for i, raw := range list {
		sub, err := parseChoiceRule(raw, fmt.Sprintf("%s.%s[%d]", field, name, i), false)
		if err != nil {
			return err
		}
		if name == "And" {
			r.and = append(r.and, sub)
		} else {
			r.or = append(r.or, sub)
		}
	}
	return nil
}

// applyComparison sets the comparison operator name and its operand,
// decoded into its field of comparisons.
func (d *choiceRuleDef) applyComparison(r *choiceRule, field, name string) error {
	if d.Variable == nil {
		return ferr(field+".Variable", "a comparison needs a Variable path")
	}
	r.variable, r.opName, r.op = d.Variable.p, name, operators[name]
	switch x := reflect.ValueOf(d.comparisons).FieldByName(name).Interface().(type) {
	case *string:
		r.value = *x
	case *bool:
		r.value = *x
	case *timestampDef:
		r.value = x.t
	case *pathDef:
		r.path = x.p
	case *number:
		f, err := json.Number(*x).Float64()
		if err != nil {
			return ferr(field+"."+name, "%v", err)
		}
		r.value = f
	}
	return nil
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
	return r.evalComparison(input)
}

// evalComparison evaluates a comparison or type test.
func (r *choiceRule) evalComparison(input any) (bool, error) {
	v, present := r.variable.get(input)
	if r.opName == "IsPresent" {
		return present == r.value.(bool), nil
	}
	if !present {
		return false, &choiceError{fmt.Sprintf("Invalid path '%s': The choice state's condition path references an invalid value.", r.variable.text)}
	}
	if r.op.kind == kindTest {
		return isKind(r.opName, v) == r.value.(bool), nil
	}
	want := r.value
	if r.op.fromPath {
		pv, ok := r.path.get(input)
		if !ok {
			return false, &choiceError{fmt.Sprintf("Invalid path '%s': The choice state's %s path references an invalid value.", r.path.text, r.opName)}
		}
		if want, ok = operandOf(r.op.kind, pv); !ok {
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

// isKind answers a type test (IsNull, IsString ...) about v.
func isKind(test string, v any) bool {
	switch test {
	case "IsNull":
		return v == nil
	case "IsString":
		_, is := v.(string)
		return is
	case "IsNumeric":
		_, is := v.(json.Number)
		return is
	case "IsBoolean":
		_, is := v.(bool)
		return is
	case "IsTimestamp":
		s, ok := v.(string)
		if !ok {
			return false
		}
		_, err := parseTimestamp(s)
		return err == nil
	}
	return false
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
