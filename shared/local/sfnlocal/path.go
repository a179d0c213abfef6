package sfnlocal

import (
	"fmt"
	"maps"
	"strconv"
	"strings"
	"unicode"
)

// segment is one step of a reference path: a field name or an array index.
type segment struct {
	name    string
	index   int
	isIndex bool
}

// refPath is a reference path: $ followed by .name, ['name'] and [n] steps.
// It selects at most one node, which is all this executor supports.
type refPath struct {
	text string
	segs []segment
}

// parseRefPath parses the reference-path subset; anything richer (wildcards,
// filters, slices, recursive descent, context paths) is an error.
func parseRefPath(s string) (*refPath, error) {
	if s == "" || s[0] != '$' {
		return nil, fmt.Errorf("path %q must begin with $", s)
	}
	if strings.HasPrefix(s, "$$") {
		return nil, fmt.Errorf("path %q: context object paths ($$) are not supported here", s)
	}
	return parseSegments(s, 1)
}

// parseSegments parses the steps of path s from rune from on: .name,
// ['name'] and [n].
func parseSegments(s string, from int) (*refPath, error) {
	p := &refPath{text: s}
	rs := []rune(s)
	for i := from; i < len(rs); {
		var seg segment
		var err error
		switch rs[i] {
		case '.':
			seg, i, err = dotName(s, rs, i)
		case '[':
			seg, i, err = bracket(s, rs, i)
		default:
			err = fmt.Errorf("path %q: unexpected %q (only reference paths: $, $.a.b, $['a'], $.a[0])", s, rs[i])
		}
		if err != nil {
			return nil, err
		}
		p.segs = append(p.segs, seg)
	}
	return p, nil
}

// dotName reads the .name step at rs[i] and returns where the next begins.
func dotName(s string, rs []rune, i int) (segment, int, error) {
	j := i + 1
	for j < len(rs) && rs[j] != '.' && rs[j] != '[' {
		if !nameRune(rs[j]) {
			return segment{}, 0, fmt.Errorf("path %q: %q is not supported in a field name (only reference paths: $, $.a.b, $['a'], $.a[0])", s, rs[j])
		}
		j++
	}
	if j == i+1 {
		return segment{}, 0, fmt.Errorf("path %q: empty field name or recursive descent (..) is not supported", s)
	}
	return segment{name: string(rs[i+1 : j])}, j, nil
}

// bracket reads the ['name'] or [n] step at rs[i] and returns where the
// next begins.
func bracket(s string, rs []rune, i int) (segment, int, error) {
	if i+1 < len(rs) && (rs[i+1] == '\'' || rs[i+1] == '"') {
		return quotedName(s, rs, i)
	}
	j := i + 1
	for j < len(rs) && rs[j] >= '0' && rs[j] <= '9' {
		j++
	}
	if j == i+1 || j >= len(rs) || rs[j] != ']' {
		return segment{}, 0, fmt.Errorf("path %q: only ['name'] and [n] are supported in brackets (no wildcards, filters or slices)", s)
	}
	n, err := strconv.Atoi(string(rs[i+1 : j]))
	if err != nil {
		return segment{}, 0, fmt.Errorf("path %q: bad index: %v", s, err)
	}
	return segment{index: n, isIndex: true}, j + 1, nil
}

// quotedName reads the ['name'] (or ["name"]) step at rs[i].
func quotedName(s string, rs []rune, i int) (segment, int, error) {
	q := rs[i+1]
	j := i + 2
	for j < len(rs) && rs[j] != q {
		if rs[j] == '\\' {
			return segment{}, 0, fmt.Errorf("path %q: escapes in bracketed names are not supported", s)
		}
		j++
	}
	if j+1 >= len(rs) || rs[j+1] != ']' {
		return segment{}, 0, fmt.Errorf("path %q: unterminated bracketed name", s)
	}
	return segment{name: string(rs[i+2 : j])}, j + 2, nil
}

// nameRune reports whether r may appear in a dot-notation field name.
func nameRune(r rune) bool {
	if unicode.IsSpace(r) || unicode.IsControl(r) {
		return false
	}
	return !strings.ContainsRune(`*?@()[],:'"\$`, r)
}

// hasIndex reports whether the path has an array index step.
func (p *refPath) hasIndex() bool {
	for _, s := range p.segs {
		if s.isIndex {
			return true
		}
	}
	return false
}

// get returns the node p selects in v.
func (p *refPath) get(v any) (any, bool) {
	for _, s := range p.segs {
		if s.isIndex {
			a, ok := v.([]any)
			if !ok || s.index >= len(a) {
				return nil, false
			}
			v = a[s.index]
			continue
		}
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[s.name]; !ok {
			return nil, false
		}
	}
	return v, true
}

// set returns a copy of v with the node p selects replaced by val, creating
// missing objects on the way, as ResultPath does. v itself is not modified.
func (p *refPath) set(v, val any) (any, error) {
	return setIn(v, true, p.segs, val, "$")
}

func setIn(v any, present bool, segs []segment, val any, at string) (any, error) {
	if len(segs) == 0 {
		return val, nil
	}
	var m map[string]any
	switch {
	case !present:
		m = map[string]any{}
	default:
		mm, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s is not an object", at)
		}
		m = maps.Clone(mm)
	}
	s := segs[0]
	child, ok := m[s.name]
	nv, err := setIn(child, ok, segs[1:], val, at+"."+s.name)
	if err != nil {
		return nil, err
	}
	m[s.name] = nv
	return m, nil
}

// pathField is an InputPath, OutputPath or ResultPath: absent means $,
// null has the field's null meaning, otherwise a reference path.
type pathField struct {
	null bool
	path *refPath // nil with null false means $
}
