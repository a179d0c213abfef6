package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"reflect"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/dashboarduz/incident-response/shared/incident"
)

// MaxBodyBytes bounds a request body; a longer one is answered 413.
const MaxBodyBytes = 64 << 10

// statusError is an error whose HTTP status its code alone does not tell
// (413, 415, 405): a problem with the request as HTTP, not with its content.
type statusError struct {
	status int
	err    *incident.Error
}

func (e *statusError) Error() string { return e.err.Error() }
func (e *statusError) Unwrap() error { return e.err }

// httpStatus maps an error code to its HTTP status: the one place the API
// decides it. Codes it does not know are internal errors.
func httpStatus(code string) int {
	switch code {
	case incident.EInvalid:
		return http.StatusBadRequest
	case incident.EUnauthorized:
		return http.StatusUnauthorized
	case incident.EForbidden:
		return http.StatusForbidden
	case incident.ENotFound:
		return http.StatusNotFound
	case incident.EConflict:
		return http.StatusConflict
	}
	return http.StatusInternalServerError
}

// errorBody is the JSON body of every error answer.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

// fail writes err as the answer to r. An error without a code the caller
// can act on is logged with its detail and answered with a generic 500.
func fail(w http.ResponseWriter, r *http.Request, rt Route, err error) {
	status := httpStatus(incident.ErrorCode(err))
	var se *statusError
	if errors.As(err, &se) {
		status = se.status
	}
	if status == http.StatusInternalServerError {
		attrs := []any{"method", r.Method, "route", rt.Path, "err", err}
		if id := r.PathValue("id"); id != "" && strings.HasPrefix(rt.Path, "/incidents/") {
			attrs = append(attrs, "incidentId", id)
		}
		slog.ErrorContext(r.Context(), "request failed", attrs...)
		writeError(w, status, incident.Errorf(incident.EInternal, "internal error"))
		return
	}
	if status == http.StatusUnauthorized && !rt.Open {
		w.Header().Set("WWW-Authenticate", "Bearer")
	}
	var e *incident.Error
	errors.As(err, &e)
	writeError(w, status, e)
}

// writeError writes e as the JSON error body.
func writeError(w http.ResponseWriter, status int, e *incident.Error) {
	writeJSON(w, status, errorBody{Error: errorDetail{Code: e.Code, Message: e.Message, Field: e.Field}})
}

// writeJSON writes v as the JSON body of the answer.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// Only a type that cannot be encoded gets here: a programming error.
		slog.Error("encode response", "type", fmt.Sprintf("%T", v), "err", err)
		status = http.StatusInternalServerError
		b = []byte(`{"error":{"code":"internal","message":"internal error"}}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// readBody reads the whole request body, up to MaxBodyBytes.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	return readBodyUpTo(w, r, MaxBodyBytes)
}

// readBodyUpTo reads the whole request body, up to limit bytes.
func readBodyUpTo(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return nil, &statusError{http.StatusRequestEntityTooLarge,
			incident.Errorf(incident.EInvalid, "request body is larger than the limit of %d KiB (%d bytes)", limit>>10, limit)}
	}
	if err != nil {
		return nil, incident.Errorf(incident.EInvalid, "the request body could not be read")
	}
	return b, nil
}

// checkJSONContentType answers 415 unless the request says its body is
// JSON.
func checkJSONContentType(r *http.Request) error {
	ct := r.Header.Get("Content-Type")
	if mt, _, err := mime.ParseMediaType(ct); err == nil && mt == "application/json" {
		return nil
	}
	if ct == "" {
		ct = "none"
	} else {
		ct = fmt.Sprintf("%q", ct)
	}
	return &statusError{http.StatusUnsupportedMediaType,
		incident.Errorf(incident.EInvalid, "Content-Type must be application/json, not %s", ct)}
}

// decodeBody decodes the JSON request body into dst, strictly: unknown
// fields, wrong types and trailing data are errors that say which field or
// where. An empty body leaves dst alone when optional, else it is an error.
func decodeBody(w http.ResponseWriter, r *http.Request, dst any, optional bool) error {
	b, err := readBody(w, r)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(b)) == 0 {
		if optional {
			return nil
		}
		return incident.Errorf(incident.EInvalid, "request body is required: a JSON object")
	}
	if err := checkJSONContentType(r); err != nil {
		return err
	}
	if err := decodeStrict(b, dst); err != nil {
		return err
	}
	return checkText(dst)
}

// multiLineFields are the request fields that hold prose, which may run
// over several lines and hold tabs. Every other text field (title,
// service, level, reason, ...) is one line.
var multiLineFields = map[string]bool{"description": true, "message": true, "rootCause": true, "summary": true, "actions": true}

// checkText checks every string field of the struct dst points to with
// checkTextField: the one place request text is checked before anything
// stores it.
func checkText(dst any) error {
	v := reflect.ValueOf(dst).Elem()
	if v.Kind() != reflect.Struct {
		return nil
	}
	t := v.Type()
	for i := range t.NumField() {
		name := jsonName(t.Field(i))
		if name == "" || v.Field(i).Kind() != reflect.String {
			continue
		}
		if err := checkTextField(name, v.Field(i).String(), multiLineFields[name]); err != nil {
			return err
		}
	}
	return nil
}

// Longest request text, in characters: prose (a message, a description,
// a root cause) and one-line fields (a title, a service, a reason). They
// keep an incident's item and a page of its timeline far below
// DynamoDB's 400 KB item and Lambda's 6 MB response.
const (
	MaxProseLength = 4000
	MaxLineLength  = 200
)

// checkTextField refuses text that shows differently from what it holds
// or that forges lines in logs and timelines: NUL and every other C0 or C1
// control character (TAB and LF are allowed in multi-line fields only; CR
// nowhere), and the bidirectional overrides and isolates U+202A-U+202E and
// U+2066-U+2069. "dashboarduz-api\x00" is thus refused rather than stored
// as a service of its own. It also refuses text longer than
// MaxProseLength (multi-line fields) or MaxLineLength characters.
func checkTextField(field, s string, multiLine bool) error {
	limit := MaxLineLength
	if multiLine {
		limit = MaxProseLength
	}
	if n := utf8.RuneCountInString(s); n > limit {
		return incident.FieldErrorf(field, "%s is %d characters long; at most %d", field, n, limit)
	}
	for i, r := range s {
		switch {
		case r == '\n' || r == '\t':
			if !multiLine {
				return incident.FieldErrorf(field, "%s must be one line: it holds %s at byte %d", field, runeName(r), i)
			}
		case unicode.IsControl(r):
			return incident.FieldErrorf(field, "%s holds the control character %s at byte %d; remove it", field, runeName(r), i)
		case isBidiControl(r):
			return incident.FieldErrorf(field, "%s holds the bidirectional control %s at byte %d, which makes text display other than it reads; remove it", field, runeName(r), i)
		}
	}
	return nil
}

// isBidiControl reports whether r is a bidirectional embedding, override
// or isolate.
func isBidiControl(r rune) bool {
	return r >= '\u202a' && r <= '\u202e' || r >= '\u2066' && r <= '\u2069'
}

// runeName names a character as U+XXXX, with its usual name for the
// common ones.
func runeName(r rune) string {
	switch r {
	case '\n':
		return "a line break (U+000A)"
	case '\t':
		return "a tab (U+0009)"
	}
	return fmt.Sprintf("U+%04X", r)
}

// decodeStrict decodes one JSON object from b into dst (a pointer to a
// struct), refusing fields dst does not have.
func decodeStrict(b []byte, dst any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return jsonError(b, dst, err)
	}
	end := dec.InputOffset()
	if _, err := dec.Token(); err != io.EOF {
		rest := b[end:]
		line, col := position(b, end+int64(len(rest)-len(bytes.TrimLeft(rest, " \t\r\n"))))
		return incident.Errorf(incident.EInvalid, "request body must be one JSON object; more data follows at line %d, column %d", line, col)
	}
	return nil
}

// unknownField matches encoding/json's error for a field the target lacks.
var unknownField = regexp.MustCompile(`^json: unknown field "(.*)"$`)

// jsonError turns a decoding error into an invalid-request error that names
// the field, or the place in the body, it is about.
func jsonError(b []byte, dst any, err error) error {
	var (
		syntax   *json.SyntaxError
		typeErr  *json.UnmarshalTypeError
		fieldsOf = strings.Join(jsonFields(dst), ", ")
	)
	switch {
	case errors.As(err, &syntax):
		line, col := position(b, max(syntax.Offset-1, 0))
		return incident.Errorf(incident.EInvalid, "request body is not valid JSON: %s at line %d, column %d", syntax, line, col)
	case errors.Is(err, io.ErrUnexpectedEOF):
		line, col := position(b, int64(len(bytes.TrimRight(b, " \t\r\n"))-1))
		return incident.Errorf(incident.EInvalid, "request body is not valid JSON: it ends at line %d, column %d before the value is complete", line, col)
	case errors.As(err, &typeErr) && typeErr.Field == "":
		return incident.Errorf(incident.EInvalid, "request body must be a JSON object, not %s", article(typeErr.Value))
	case errors.As(err, &typeErr):
		return incident.FieldErrorf(typeErr.Field, "%s must be %s, not %s", typeErr.Field, kindOf(typeErr.Type), article(typeErr.Value))
	}
	if m := unknownField.FindStringSubmatch(err.Error()); m != nil {
		return incident.FieldErrorf(m[1], "unknown field %q; the fields are %s", m[1], fieldsOf)
	}
	// A type's own UnmarshalJSON failed (time.Time does for a bad date):
	// decode field by field to find which.
	if name, t := failingField(b, dst); name != "" {
		return incident.FieldErrorf(name, "%s must be %s", name, kindOf(t))
	}
	return incident.Errorf(incident.EInvalid, "request body does not fit: %v", err)
}

// failingField returns the name and type of the first field of the struct
// dst points to whose value in the JSON object b does not decode.
func failingField(b []byte, dst any) (string, reflect.Type) {
	var raw map[string]json.RawMessage
	if json.Unmarshal(b, &raw) != nil {
		return "", nil
	}
	t := reflect.TypeOf(dst).Elem()
	for i := range t.NumField() {
		f := t.Field(i)
		name := jsonName(f)
		v, ok := raw[name]
		if !ok || name == "" {
			continue
		}
		if json.Unmarshal(v, reflect.New(f.Type).Interface()) != nil {
			return name, f.Type
		}
	}
	return "", nil
}

// jsonFields lists the JSON names of the fields of the struct dst points to.
func jsonFields(dst any) []string {
	t := reflect.TypeOf(dst).Elem()
	if t.Kind() != reflect.Struct {
		return nil
	}
	var names []string
	for i := range t.NumField() {
		if name := jsonName(t.Field(i)); name != "" {
			names = append(names, name)
		}
	}
	return names
}

// jsonName is the name encoding/json gives struct field f; empty when it
// skips the field.
func jsonName(f reflect.StructField) string {
	if !f.IsExported() {
		return ""
	}
	tag := f.Tag.Get("json")
	if tag == "-" {
		return ""
	}
	if name, _, _ := strings.Cut(tag, ","); name != "" {
		return name
	}
	return f.Name
}

var timeType = reflect.TypeFor[time.Time]()

// kindOf describes a Go type as the JSON a caller must send.
func kindOf(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == timeType {
		return "an RFC 3339 date-time string such as \"2026-03-01T03:00:00Z\""
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	}
	return "an object"
}

// article puts "a" or "an" before encoding/json's name for a JSON value
// ("string", "number", "object", "array", "bool").
func article(v string) string {
	switch v {
	case "array", "object":
		return "an " + v
	case "bool":
		return "a boolean"
	}
	return "a " + v
}

// position gives the 1-based line and column of the byte at offset in b.
func position(b []byte, offset int64) (line, col int) {
	offset = min(max(offset, 0), int64(len(b)))
	before := b[:offset]
	line = bytes.Count(before, []byte("\n")) + 1
	col = len(before) - bytes.LastIndexByte(before, '\n')
	return line, col
}
