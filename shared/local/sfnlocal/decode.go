package sfnlocal

import (
	"bytes"
	"encoding/json"
	"errors"
	"maps"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"
)

// The definition is decoded into typed structs (definition.go, choice.go),
// one JSON object at a time, by decodeObject. encoding/json alone will not
// do: it matches keys case-insensitively, ignores unknown keys, treats null
// as absent and reports a type mismatch without the path of the field, and
// a definition error must name the field exactly, say Retry[1].MaxAttempts.

// reasonError is why a value does not fit its field, in the words of the
// field's type ("must be a number"); decodeObject adds the field's name.
type reasonError string

func (e reasonError) Error() string { return string(e) }

// decodeObject decodes the JSON object raw into the struct dst points to.
// Keys must match the struct's json tags exactly (embedded structs'
// included); any other key is an error with the reason unknown. Each value
// is decoded into its field on its own, so an error names the field: at
// followed by the key. Absent keys leave their fields untouched.
func decodeObject(raw json.RawMessage, at string, dst any, unknown string) error {
	fields, err := objectFields(raw)
	if err != nil {
		return ferr(at, "must be a JSON object")
	}
	return decodeFields(fields, at, dst, unknown)
}

// objectFields splits a JSON object into its raw values by key.
func objectFields(raw json.RawMessage) (map[string]json.RawMessage, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	if m == nil {
		return nil, errors.New("null is not an object")
	}
	return m, nil
}

// decodeFields is decodeObject for an object already split by key. Unknown
// keys are reported first, in key order, then the first value that does not
// fit, in key order, so errors come out deterministically.
func decodeFields(fields map[string]json.RawMessage, at string, dst any, unknown string) error {
	v := reflect.ValueOf(dst).Elem()
	index := jsonFields(v.Type())
	keys := slices.Sorted(maps.Keys(fields))
	for _, k := range keys {
		if _, ok := index[k]; !ok {
			return ferr(join(at, k), "%s", unknown)
		}
	}
	for _, k := range keys {
		if err := decodeField(fields[k], v.FieldByIndex(index[k])); err != nil {
			return ferr(join(at, k), "%s", err.Error())
		}
	}
	return nil
}

// decodeField decodes raw into the field f. A field whose type decodes
// itself (json.Unmarshaler), or points to such a type, sees every value,
// null included, and says what is wrong; for any other type null is refused, as it is not a value of
// the type, and a mismatch is described by expectation.
func decodeField(raw json.RawMessage, f reflect.Value) error {
	if f.Kind() == reflect.Pointer && reflect.PointerTo(f.Type().Elem()).Implements(unmarshalerType) {
		nv := reflect.New(f.Type().Elem())
		if err := nv.Interface().(json.Unmarshaler).UnmarshalJSON(raw); err != nil {
			return err
		}
		f.Set(nv)
		return nil
	}
	p := f.Addr().Interface()
	if u, ok := p.(json.Unmarshaler); ok {
		return u.UnmarshalJSON(raw)
	}
	if bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return reasonError(expectation(f.Type()))
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber() // numbers in Result, Parameters ... pass through exactly
	if err := d.Decode(p); err != nil {
		var re reasonError
		if errors.As(err, &re) {
			return re
		}
		return reasonError(expectation(f.Type()))
	}
	return nil
}

// expectation says what a field of type t must hold.
func expectation(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t.Kind() == reflect.String:
		return "must be a string"
	case t.Kind() == reflect.Bool:
		return "must be true or false"
	case t.Kind() == reflect.Map:
		return "must be a JSON object"
	case t.Kind() == reflect.Slice:
		return "must be an array"
	}
	return "has a value of the wrong type"
}

var unmarshalerType = reflect.TypeFor[json.Unmarshaler]()

// fieldIndexes caches jsonFields by struct type.
var fieldIndexes sync.Map // reflect.Type -> map[string][]int

// jsonFields maps each JSON key of struct type t (its json tag, or its
// name) to the field's index, embedded structs' fields included.
func jsonFields(t reflect.Type) map[string][]int {
	if m, ok := fieldIndexes.Load(t); ok {
		return m.(map[string][]int)
	}
	m := map[string][]int{}
	for _, f := range reflect.VisibleFields(t) {
		if f.Anonymous || !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" {
			name = f.Name
		}
		m[name] = f.Index
	}
	fieldIndexes.Store(t, m)
	return m
}

// join appends key to the field path at.
func join(at, key string) string {
	if at == "" {
		return key
	}
	return at + "." + key
}

// number is a JSON number as written, kept exact. Unlike json.Number it
// refuses a string that holds a number, as Step Functions does.
type number string

// UnmarshalJSON accepts a JSON number only.
func (n *number) UnmarshalJSON(b []byte) error {
	v, err := decodeJSON(b)
	num, ok := v.(json.Number)
	if err != nil || !ok {
		return reasonError("must be a number")
	}
	*n = number(num)
	return nil
}

// value is any JSON value, null included, with numbers kept exact; set
// tells a field that is present from one that is absent.
type value struct {
	set bool
	v   any
}

// UnmarshalJSON keeps the value.
func (x *value) UnmarshalJSON(b []byte) error {
	v, err := decodeJSON(b)
	if err != nil {
		return reasonError("must be a JSON value")
	}
	x.set, x.v = true, v
	return nil
}

// pathOrNull is InputPath, OutputPath or ResultPath as written: absent (the
// zero value), null, or a reference path.
type pathOrNull struct {
	set, null bool
	text      string
}

// UnmarshalJSON accepts null or a string; the path is parsed later, when
// the state's kind of path (ResultPath or not) is known.
func (p *pathOrNull) UnmarshalJSON(b []byte) error {
	if bytes.Equal(bytes.TrimSpace(b), []byte("null")) {
		*p = pathOrNull{set: true, null: true}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return reasonError("must be a path string or null")
	}
	*p = pathOrNull{set: true, text: s}
	return nil
}

// pathDef is a field that holds a reference path (Variable, SecondsPath,
// StringEqualsPath ...), parsed as it is decoded.
type pathDef struct {
	p *refPath
}

// UnmarshalJSON parses the path.
func (d *pathDef) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return reasonError("must be a path string")
	}
	p, err := parseRefPath(s)
	if err != nil {
		return reasonError(err.Error())
	}
	d.p = p
	return nil
}

// timestampDef is a field that holds a timestamp (Timestamp,
// TimestampEquals ...), parsed as it is decoded.
type timestampDef struct {
	t time.Time
}

// UnmarshalJSON parses the timestamp.
func (d *timestampDef) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return reasonError("must be a timestamp string")
	}
	t, err := parseTimestamp(s)
	if err != nil {
		return reasonError(err.Error())
	}
	d.t = t
	return nil
}

// errorNames is an ErrorEquals list as written: a non-empty array of
// non-empty error names.
type errorNames []string

// UnmarshalJSON checks the list's shape; where States.ALL may appear is
// checked by the retrier or catcher, which knows its place.
func (n *errorNames) UnmarshalJSON(b []byte) error {
	var list []json.RawMessage
	if err := json.Unmarshal(b, &list); err != nil || len(list) == 0 {
		return reasonError("must be a non-empty array of error names")
	}
	names := make(errorNames, 0, len(list))
	for _, raw := range list {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil || s == "" {
			return reasonError("error names must be non-empty strings")
		}
		names = append(names, s)
	}
	*n = names
	return nil
}
