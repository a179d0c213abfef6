package eventbridge

import (
	"encoding/json"
	"fmt"
	"strings"
)

// MatchPattern reports whether the event raw matches an EventBridge event
// pattern, by EventBridge's rules for the part of the syntax the ingest
// rules use: an object field holds either a nested pattern or a list of
// values and filters, of which one must match (for an array in the event,
// one of its elements); "$or" holds patterns of which one must match; a
// field the event lacks matches only {"exists": false}. The filters are
// exact values, prefix, suffix, wildcard (only "*"), equals-ignore-case,
// anything-but (of values) and exists; any other is an error, so a rule
// the local stack cannot route as AWS would does not pass unnoticed. An
// event that is not a JSON object matches nothing.
func MatchPattern(pattern map[string]any, raw []byte) (bool, error) {
	var event map[string]any
	if err := json.Unmarshal(raw, &event); err != nil {
		if err := checkPattern(pattern); err != nil {
			return false, err
		}
		return false, nil
	}
	return matchAll(pattern, event)
}

// checkPattern validates a pattern against an empty event, which visits
// every part that could fail.
func checkPattern(pattern map[string]any) error {
	_, err := matchAll(pattern, map[string]any{})
	return err
}

// matchAll matches every field of the pattern against the event object,
// visiting all of them even after one failed, so that an unsupported
// filter is reported whatever the event.
func matchAll(pattern map[string]any, event map[string]any) (bool, error) {
	all := true
	for key, want := range pattern {
		ok, err := matchField(key, want, event)
		if err != nil {
			return false, err
		}
		all = all && ok
	}
	return all, nil
}

// matchField matches one field of a pattern.
func matchField(key string, want any, event map[string]any) (bool, error) {
	if key == "$or" {
		return matchOr(want, event)
	}
	got, present := event[key]
	switch w := want.(type) {
	case map[string]any:
		obj, isObject := got.(map[string]any)
		if !present || !isObject {
			obj = map[string]any{}
		}
		ok, err := matchAll(w, obj)
		return ok && present && isObject, err
	case []any:
		return matchValues(key, w, got, present)
	}
	return false, fmt.Errorf("pattern field %s is %T, want an object or a list", key, want)
}

// matchOr matches when one of the alternatives does.
func matchOr(want any, event map[string]any) (bool, error) {
	alts, ok := want.([]any)
	if !ok || len(alts) < 2 {
		return false, fmt.Errorf("pattern $or holds %T, want a list of two or more patterns", want)
	}
	matched := false
	for _, a := range alts {
		p, ok := a.(map[string]any)
		if !ok {
			return false, fmt.Errorf("pattern $or holds %T, want patterns", a)
		}
		m, err := matchAll(p, event)
		if err != nil {
			return false, err
		}
		matched = matched || m
	}
	return matched, nil
}

// matchValues matches a field's value (or, for an array, any element)
// against a list of values and filters.
func matchValues(key string, matchers []any, got any, present bool) (bool, error) {
	values := []any{got}
	if arr, ok := got.([]any); ok {
		values = arr
	}
	matched := false
	for _, m := range matchers {
		filter, isFilter := m.(map[string]any)
		if !isFilter {
			matched = matched || (present && containsValue(values, m))
			continue
		}
		ok, err := matchFilter(key, filter, values, present)
		if err != nil {
			return false, err
		}
		matched = matched || ok
	}
	return matched, nil
}

// containsValue reports whether one of values equals want (strings,
// numbers, booleans and null, as JSON decodes them).
func containsValue(values []any, want any) bool {
	for _, v := range values {
		if v == want {
			return true
		}
	}
	return false
}

// matchFilter applies one filter object, e.g. {"prefix": "x"}.
func matchFilter(key string, filter map[string]any, values []any, present bool) (bool, error) {
	if len(filter) != 1 {
		return false, fmt.Errorf("pattern field %s: a filter has exactly one key, got %v", key, filter)
	}
	for name, arg := range filter {
		if name == "exists" {
			want, ok := arg.(bool)
			if !ok {
				return false, fmt.Errorf("pattern field %s: exists takes true or false", key)
			}
			return present == want, nil
		}
		test, err := stringFilter(key, name, arg)
		if err != nil {
			return false, err
		}
		if !present {
			return false, nil
		}
		for _, v := range values {
			if s, ok := v.(string); ok && test(s) {
				return true, nil
			}
		}
	}
	return false, nil
}

// stringFilter returns the test of a filter on string values.
func stringFilter(key, name string, arg any) (func(string) bool, error) {
	if name == "anything-but" {
		excluded, err := stringList(arg)
		if err != nil {
			return nil, fmt.Errorf("pattern field %s: anything-but: %w", key, err)
		}
		return func(s string) bool {
			for _, e := range excluded {
				if s == e {
					return false
				}
			}
			return true
		}, nil
	}
	s, ok := arg.(string)
	if !ok {
		return nil, fmt.Errorf("pattern field %s: %s takes a string, got %T", key, name, arg)
	}
	switch name {
	case "prefix":
		return func(v string) bool { return strings.HasPrefix(v, s) }, nil
	case "suffix":
		return func(v string) bool { return strings.HasSuffix(v, s) }, nil
	case "equals-ignore-case":
		return func(v string) bool { return strings.EqualFold(v, s) }, nil
	case "wildcard":
		return func(v string) bool { return wildcard(s, v) }, nil
	}
	return nil, fmt.Errorf("pattern field %s: filter %q is not one this matcher knows", key, name)
}

// stringList reads anything-but's argument: a string or a list of them.
func stringList(arg any) ([]string, error) {
	switch a := arg.(type) {
	case string:
		return []string{a}, nil
	case []any:
		out := make([]string, len(a))
		for i, e := range a {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("takes strings, got %T", e)
			}
			out[i] = s
		}
		return out, nil
	}
	return nil, fmt.Errorf("takes a string or a list of strings, got %T", arg)
}

// wildcard matches s against a pattern in which "*" stands for any run of
// characters, as EventBridge's wildcard filter does.
func wildcard(pattern, s string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return s == pattern
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	last := parts[len(parts)-1]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(s, p)
		if i < 0 {
			return false
		}
		s = s[i+len(p):]
	}
	return strings.HasSuffix(s, last)
}
