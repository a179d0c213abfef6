package sfnlocal

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
)

// maxPayload is Step Functions' limit on a state's input or output and on
// an execution's input: 256 KiB as a UTF-8 string.
const maxPayload = 256 * 1024

// decodeJSON parses b keeping numbers exact (json.Number), as Step Functions
// passes numbers through untouched.
func decodeJSON(b []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, fmt.Errorf("unexpected data after the JSON value")
	}
	return v, nil
}

// encodeJSON writes v compactly without escaping <, > and &.
func encodeJSON(v any) []byte {
	var buf bytes.Buffer
	e := json.NewEncoder(&buf)
	e.SetEscapeHTML(false)
	if err := e.Encode(v); err != nil {
		// Only values decoded from JSON get here, so this cannot happen.
		panic(fmt.Sprintf("local executor: encode JSON: %v", err))
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// template is a Parameters or ResultSelector payload template: an object
// whose "key.$" fields take their values from paths into the input.
type template struct {
	fields []templateField
}

type templateField struct {
	key   string    // output key, without ".$"
	src   string    // key as written, for error messages
	path  *refPath  // for "key.$"
	sub   *template // for a nested object
	value any       // for anything else
}

// parseTemplate validates a payload template; field names the definition
// field it came from, for errors.
func parseTemplate(v any, field string) (*template, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, ferr(field, "must be a JSON object")
	}
	t := &template{}
	seen := map[string]string{}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		val := m[k]
		f := templateField{key: k, src: k}
		switch {
		case strings.HasSuffix(k, ".$"):
			f.key = strings.TrimSuffix(k, ".$")
			s, ok := val.(string)
			if !ok {
				return nil, ferr(field+"."+k, "must be a string path")
			}
			if strings.HasPrefix(s, "States.") {
				return nil, ferr(field+"."+k, "intrinsic functions (%s) are not supported", s)
			}
			p, err := parseRefPath(s)
			if err != nil {
				return nil, ferr(field+"."+k, "%v", err)
			}
			f.path = p
		default:
			switch x := val.(type) {
			case map[string]any:
				sub, err := parseTemplate(x, field+"."+k)
				if err != nil {
					return nil, err
				}
				f.sub = sub
			case []any:
				if where := dynamicKeyIn(x); where != "" {
					return nil, ferr(field+"."+k, "a \"key.$\" field inside an array (%s) is not supported", where)
				}
				f.value = x
			default:
				f.value = x
			}
		}
		if f.key == "" {
			return nil, ferr(field, "empty field name %q", k)
		}
		if prev, dup := seen[f.key]; dup {
			return nil, ferr(field, "fields %q and %q both produce %q", prev, k, f.key)
		}
		seen[f.key] = k
		t.fields = append(t.fields, f)
	}
	return t, nil
}

// dynamicKeyIn returns a "key.$" found anywhere inside v, or "".
func dynamicKeyIn(v any) string {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			if strings.HasSuffix(k, ".$") {
				return k
			}
			if w := dynamicKeyIn(val); w != "" {
				return w
			}
		}
	case []any:
		for _, val := range x {
			if w := dynamicKeyIn(val); w != "" {
				return w
			}
		}
	}
	return ""
}

// pathError is a path that selects nothing in a state's input.
type pathError struct {
	path, field string
	input       any
}

func (e *pathError) Error() string {
	return fmt.Sprintf("The JSONPath '%s' specified for the field '%s' could not be found in the input '%s'", e.path, e.field, encodeJSON(e.input))
}

// apply builds the template's output from input.
func (t *template) apply(input any) (map[string]any, error) {
	out := make(map[string]any, len(t.fields))
	for _, f := range t.fields {
		switch {
		case f.path != nil:
			v, ok := f.path.get(input)
			if !ok {
				return nil, &pathError{path: f.path.text, field: f.src, input: input}
			}
			out[f.key] = v
		case f.sub != nil:
			v, err := f.sub.apply(input)
			if err != nil {
				return nil, err
			}
			out[f.key] = v
		default:
			out[f.key] = f.value
		}
	}
	return out, nil
}
