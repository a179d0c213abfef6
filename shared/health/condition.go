package health

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The placeholders a condition reads, as gatus spells them.
const (
	placeholderStatus       = "[STATUS]"
	placeholderResponseTime = "[RESPONSE_TIME]"
	placeholderBody         = "[BODY]"
)

// operators, longest first so that "<=" is not read as "<".
var operators = []string{"==", "!=", "<=", ">=", "<", ">"}

// maxReportedElements bounds how many failing elements of a wildcard one
// failure names.
const maxReportedElements = 3

// Condition is one parsed condition of a check, such as "[STATUS] == 200",
// "[BODY].status == ok", "[BODY].queues.*.waiting < 1000" or
// "[RESPONSE_TIME] < 2s". Conditions are parsed once, when the
// configuration is loaded.
type Condition struct {
	// Text is the condition as written.
	Text  string
	left  string // one of the placeholders
	path  []step // for [BODY]
	op    string
	right string // the literal, unquoted
	// num is the literal as a number (status codes, body numbers) and dur
	// as a duration (response time), when it reads as one.
	num    float64
	isNum  bool
	dur    time.Duration
	quoted bool // the literal was a JSON string: compare as text only
}

// step is one step of a body path: an object key, an array index, or a
// wildcard over every key or item.
type step struct {
	key      string
	index    int
	isIndex  bool
	wildcard bool
}

// ParseCondition reads a condition: a placeholder ([STATUS],
// [RESPONSE_TIME], or [BODY] followed by a path of .key, [n], .* or [*]),
// an operator (==, !=, <, <=, >, >=) and a literal, separated by spaces.
// The literal may be quoted as a JSON string to compare as text. Errors
// say what is wrong with the condition.
func ParseCondition(text string) (Condition, error) {
	c := Condition{Text: text}
	fields := strings.Fields(text)
	opAt := -1
	for i, f := range fields {
		if isOperator(f) {
			opAt = i
			break
		}
	}
	if opAt != 1 || len(fields) < 3 {
		return Condition{}, fmt.Errorf("condition %q is not <placeholder> <operator> <value> (operators: %s, with spaces around them)", text, strings.Join(operators, " "))
	}
	c.op = fields[1]
	// The value is the rest of the text after the operator, so a string
	// with spaces is one value.
	rest := strings.TrimSpace(strings.TrimSpace(text)[len(fields[0]):])
	c.right = strings.TrimSpace(strings.TrimPrefix(rest, c.op))
	if err := c.parseLeft(fields[0]); err != nil {
		return Condition{}, fmt.Errorf("condition %q: %w", text, err)
	}
	if err := c.parseRight(); err != nil {
		return Condition{}, fmt.Errorf("condition %q: %w", text, err)
	}
	return c, nil
}

func isOperator(s string) bool {
	for _, op := range operators {
		if s == op {
			return true
		}
	}
	return false
}

// parseLeft reads the placeholder and, for the body, its path.
func (c *Condition) parseLeft(s string) error {
	switch {
	case s == placeholderStatus, s == placeholderResponseTime:
		c.left = s
		return nil
	case strings.HasPrefix(s, placeholderBody):
		c.left = placeholderBody
		path, err := parsePath(strings.TrimPrefix(s, placeholderBody))
		if err != nil {
			return err
		}
		c.path = path
		return nil
	}
	return fmt.Errorf("%q is not [STATUS], [RESPONSE_TIME] or [BODY] with a path", s)
}

// parsePath reads ".a.b[0].*[*]" into steps.
func parsePath(s string) ([]step, error) {
	var path []step
	for s != "" {
		switch s[0] {
		case '.':
			end := strings.IndexAny(s[1:], ".[")
			if end < 0 {
				end = len(s) - 1
			}
			key := s[1 : 1+end]
			if key == "" {
				return nil, fmt.Errorf("the body path has an empty key")
			}
			if strings.Contains(key, "]") {
				return nil, fmt.Errorf("the body path key %q holds a ]", key)
			}
			path = append(path, step{key: key, wildcard: key == "*"})
			s = s[1+end:]
		case '[':
			end := strings.IndexByte(s, ']')
			if end < 0 {
				return nil, fmt.Errorf("the body path has a [ without ]")
			}
			inner := s[1:end]
			if inner == "*" {
				path = append(path, step{wildcard: true})
			} else {
				n, err := strconv.Atoi(inner)
				if err != nil || n < 0 {
					return nil, fmt.Errorf("the body path index [%s] is not a number or *", inner)
				}
				path = append(path, step{index: n, isIndex: true})
			}
			s = s[end+1:]
		default:
			return nil, fmt.Errorf("the body path must go on with . or [, not %q", s)
		}
	}
	return path, nil
}

// parseRight reads the literal as the placeholder needs it.
func (c *Condition) parseRight() error {
	if strings.HasPrefix(c.right, `"`) {
		var s string
		if err := json.Unmarshal([]byte(c.right), &s); err != nil {
			return fmt.Errorf("the value %s is not a well-formed quoted string", c.right)
		}
		c.right, c.quoted = s, true
	}
	ordering := c.op != "==" && c.op != "!="
	switch c.left {
	case placeholderStatus:
		n, err := strconv.Atoi(c.right)
		if err != nil || c.quoted || n < 100 || n > 599 {
			return fmt.Errorf("[STATUS] compares with an HTTP status code, not %q", c.right)
		}
		c.num, c.isNum = float64(n), true
	case placeholderResponseTime:
		d, err := parseResponseTime(c.right)
		if err != nil || c.quoted {
			return fmt.Errorf("[RESPONSE_TIME] compares with a duration such as 2s or 500ms (or milliseconds), not %q", c.right)
		}
		c.dur = d
	default:
		if n, err := strconv.ParseFloat(c.right, 64); err == nil && !c.quoted && !math.IsInf(n, 0) && !math.IsNaN(n) {
			c.num, c.isNum = n, true
		}
		if ordering && !c.isNum {
			return fmt.Errorf("%s needs a number on its right, not %q", c.op, c.right)
		}
	}
	return nil
}

// parseResponseTime reads "2s", "500ms" or a bare number of milliseconds,
// as gatus does.
func parseResponseTime(s string) (time.Duration, error) {
	if n, err := strconv.Atoi(s); err == nil && n >= 0 {
		return time.Duration(n) * time.Millisecond, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("not a duration")
	}
	return d, nil
}

// Response is what a check got back, as conditions read it. The body is
// parsed as JSON once, on first use.
type Response struct {
	Status      int
	ContentType string
	Body        []byte
	// Truncated says the body was longer than the checker reads; it is
	// not parsed then.
	Truncated bool
	Elapsed   time.Duration

	parsed  bool
	json    any
	jsonErr string
}

// document returns the body as JSON, or why it is not.
func (r *Response) document() (any, string) {
	if !r.parsed {
		r.parsed = true
		r.json, r.jsonErr = parseBody(r)
	}
	return r.json, r.jsonErr
}

func parseBody(r *Response) (any, string) {
	if r.Truncated {
		return nil, fmt.Sprintf("the body is larger than the %d bytes a check reads", len(r.Body))
	}
	dec := json.NewDecoder(bytes.NewReader(r.Body))
	dec.UseNumber()
	var v any
	err := dec.Decode(&v)
	if err == nil && dec.More() {
		err = fmt.Errorf("more than one JSON value")
	}
	if err != nil {
		return nil, fmt.Sprintf("the body is not JSON (%s, %d bytes, starting %q)", orUnknown(r.ContentType), len(r.Body), preview(r.Body))
	}
	return v, ""
}

// Evaluate checks the condition against a response and returns why it
// fails, or nil when it holds. A wildcard holds when every element does;
// its failure names the elements that do not.
func (c Condition) Evaluate(r *Response) []string {
	switch c.left {
	case placeholderStatus:
		if compareNumbers(float64(r.Status), c.op, c.num) {
			return nil
		}
		return []string{fmt.Sprintf("[STATUS] is %d, want %s %s", r.Status, c.op, c.right)}
	case placeholderResponseTime:
		if compareNumbers(float64(r.Elapsed), c.op, float64(c.dur)) {
			return nil
		}
		return []string{fmt.Sprintf("[RESPONSE_TIME] is %s, want %s %s", r.Elapsed.Round(time.Millisecond), c.op, c.dur)}
	}
	doc, why := r.document()
	if why != "" {
		return []string{fmt.Sprintf("%s: %s", c.left+renderPath(c.path), why)}
	}
	var failures []string
	count := 0
	walk(doc, c.path, placeholderBody, func(at string, v any, missing string) {
		if missing == "" {
			missing = c.compare(v)
		}
		if missing == "" {
			return
		}
		count++
		if count <= maxReportedElements {
			failures = append(failures, at+" "+missing)
		}
	})
	if count > maxReportedElements {
		failures = append(failures, fmt.Sprintf("and %d more elements fail %s", count-maxReportedElements, c.Text))
	}
	return failures
}

// walk follows path through v, calling visit with each value the path
// reaches and its concrete path, or with a reason when it cannot go on.
func walk(v any, path []step, at string, visit func(at string, v any, problem string)) {
	if len(path) == 0 {
		visit(at, v, "")
		return
	}
	st, rest := path[0], path[1:]
	switch x := v.(type) {
	case map[string]any:
		if st.wildcard {
			keys := make([]string, 0, len(x))
			for k := range x {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				walk(x[k], rest, at+"."+k, visit)
			}
			return
		}
		if st.isIndex {
			visit(at, nil, fmt.Sprintf("is an object, not an array to take [%d] of", st.index))
			return
		}
		child, ok := x[st.key]
		if !ok {
			visit(at+"."+st.key, nil, "is missing")
			return
		}
		walk(child, rest, at+"."+st.key, visit)
	case []any:
		if st.wildcard {
			for i, item := range x {
				walk(item, rest, fmt.Sprintf("%s[%d]", at, i), visit)
			}
			return
		}
		if !st.isIndex {
			visit(at, nil, fmt.Sprintf("is an array, not an object with the key %q", st.key))
			return
		}
		if st.index >= len(x) {
			visit(fmt.Sprintf("%s[%d]", at, st.index), nil, fmt.Sprintf("is missing (the array has %d items)", len(x)))
			return
		}
		walk(x[st.index], rest, fmt.Sprintf("%s[%d]", at, st.index), visit)
	default:
		visit(at, nil, fmt.Sprintf("is %s, not an object or array", describe(v)))
	}
}

// compare checks one body value; it returns why the value fails, or "".
func (c Condition) compare(v any) string {
	want := fmt.Sprintf("want %s %s", c.op, c.right)
	switch x := v.(type) {
	case json.Number:
		n, err := x.Float64()
		if c.isNum && err == nil {
			if compareNumbers(n, c.op, c.num) {
				return ""
			}
			return fmt.Sprintf("is %s, %s", x, want)
		}
		return compareText(string(x), c.op, c.right, want)
	case string:
		if c.op != "==" && c.op != "!=" {
			n, err := strconv.ParseFloat(x, 64)
			if err != nil {
				return fmt.Sprintf("is %q, not a number: %s", clip(x), want)
			}
			if compareNumbers(n, c.op, c.num) {
				return ""
			}
			return fmt.Sprintf("is %q, %s", clip(x), want)
		}
		return compareText(x, c.op, c.right, want)
	case bool:
		return compareText(strconv.FormatBool(x), c.op, c.right, want)
	case nil:
		return compareText("null", c.op, c.right, want)
	}
	return fmt.Sprintf("is %s, not a value to compare: %s", describe(v), want)
}

// compareText compares two texts with == or != (the only operators a
// non-number takes).
func compareText(got, op, right, want string) string {
	switch op {
	case "==":
		if got == right {
			return ""
		}
	case "!=":
		if got != right {
			return ""
		}
	default:
		return fmt.Sprintf("is %s, not a number: %s", quoteText(got), want)
	}
	return fmt.Sprintf("is %s, %s", quoteText(got), want)
}

func compareNumbers(a float64, op string, b float64) bool {
	switch op {
	case "==":
		return a == b
	case "!=":
		return a != b
	case "<":
		return a < b
	case "<=":
		return a <= b
	case ">":
		return a > b
	case ">=":
		return a >= b
	}
	return false
}

// renderPath writes a path as it was written.
func renderPath(path []step) string {
	var b strings.Builder
	for _, st := range path {
		switch {
		case st.isIndex:
			fmt.Fprintf(&b, "[%d]", st.index)
		case st.wildcard && st.key == "":
			b.WriteString("[*]")
		default:
			b.WriteString("." + st.key)
		}
	}
	return b.String()
}

// describe names the JSON kind of v.
func describe(v any) string {
	switch v.(type) {
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", v)
}

func quoteText(s string) string {
	if s == "true" || s == "false" || s == "null" {
		return s
	}
	if _, err := strconv.ParseFloat(s, 64); err == nil {
		return s
	}
	return strconv.Quote(clip(s))
}

// preview is the start of a body, for a failure that says what came back.
func preview(b []byte) string {
	const max = 40
	s := strings.Join(strings.Fields(string(b)), " ")
	if len(s) > max {
		return s[:max] + "..."
	}
	return s
}

func clip(s string) string {
	const max = 64
	if len(s) > max {
		return s[:max] + "..."
	}
	return s
}

func orUnknown(s string) string {
	if s == "" {
		return "no content type"
	}
	return s
}
