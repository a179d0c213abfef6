package sfnlocal

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
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
// whose "key.$" fields take their values from paths into the input, or
// into the context object ($$) in Parameters.
type template struct {
	fields []templateField
	// usesContext is set when a field reads the context object, which is
	// then built for each use.
	usesContext bool
}

type templateField struct {
	key         string    // output key, without ".$"
	src         string    // key as written, for error messages
	path        *refPath  // for "key.$"
	fromContext bool      // path is into the context object
	sub         *template // for a nested object
	value       any       // for anything else
}

// parseTemplate validates a payload template; field names the definition
// field it came from, for errors; allowContext says whether "key.$" paths
// may read the context object, as Step Functions allows in Parameters.
func parseTemplate(m map[string]any, field string, allowContext bool) (*template, error) {
	t := &template{}
	seen := map[string]string{}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		f, err := parseTemplateField(k, m[k], field, allowContext)
		if err != nil {
			return nil, err
		}
		if f.key == "" {
			return nil, ferr(field, "empty field name %q", k)
		}
		if prev, dup := seen[f.key]; dup {
			return nil, ferr(field, "fields %q and %q both produce %q", prev, k, f.key)
		}
		seen[f.key] = k
		t.usesContext = t.usesContext || f.fromContext || (f.sub != nil && f.sub.usesContext)
		t.fields = append(t.fields, f)
	}
	return t, nil
}

// parseTemplateField validates the template's field k with value val.
func parseTemplateField(k string, val any, field string, allowContext bool) (templateField, error) {
	f := templateField{key: k, src: k}
	at := field + "." + k
	if strings.HasSuffix(k, ".$") {
		f.key = strings.TrimSuffix(k, ".$")
		s, ok := val.(string)
		if !ok {
			return f, ferr(at, "must be a string path")
		}
		var err error
		f.path, f.fromContext, err = templatePath(s, allowContext)
		if err != nil {
			return f, ferr(at, "%v", err)
		}
		return f, nil
	}
	switch x := val.(type) {
	case map[string]any:
		sub, err := parseTemplate(x, at, allowContext)
		if err != nil {
			return f, err
		}
		f.sub = sub
	case []any:
		if where := dynamicKeyIn(x); where != "" {
			return f, ferr(at, "a \"key.$\" field inside an array (%s) is not supported", where)
		}
		f.value = x
	default:
		f.value = x
	}
	return f, nil
}

// templatePath parses the path of a "key.$" field: a reference path into
// the input, or a context object path when allowContext is set.
func templatePath(s string, allowContext bool) (p *refPath, fromContext bool, err error) {
	switch {
	case strings.HasPrefix(s, "States."):
		return nil, false, fmt.Errorf("intrinsic functions (%s) are not supported", s)
	case strings.HasPrefix(s, "$$") && allowContext:
		p, err = parseContextPath(s)
		return p, true, err
	case strings.HasPrefix(s, "$$"):
		return nil, false, fmt.Errorf("path %q: context object paths ($$) are supported in Parameters only", s)
	}
	p, err = parseRefPath(s)
	return p, false, err
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

// apply builds the template's output from input; context returns the
// context object, and is called only when the template reads it.
func (t *template) apply(input any, context func() map[string]any) (map[string]any, error) {
	var ctx any
	if t.usesContext {
		ctx = context()
	}
	return t.build(input, ctx)
}

// build is apply with the context object at hand (nil when unused).
func (t *template) build(input, ctx any) (map[string]any, error) {
	out := make(map[string]any, len(t.fields))
	for _, f := range t.fields {
		switch {
		case f.path != nil:
			src := input
			if f.fromContext {
				src = ctx
			}
			v, ok := f.path.get(src)
			if !ok {
				return nil, &pathError{path: f.path.text, field: f.src, input: src}
			}
			out[f.key] = v
		case f.sub != nil:
			v, err := f.sub.build(input, ctx)
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
