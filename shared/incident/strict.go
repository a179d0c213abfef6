package incident

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// SettingsFrom is how a function reads a settings document from its
// environment variable env: doc parsed by parse, or def's document when doc
// is empty. Its errors begin with env.
func SettingsFrom[T any](doc, env string, def func() T, parse func([]byte) (T, error)) (T, error) {
	if doc == "" {
		return def(), nil
	}
	v, err := parse([]byte(doc))
	if err != nil {
		var zero T
		return zero, fmt.Errorf("%s: %w", env, err)
	}
	return v, nil
}

// DecodeStrict decodes the JSON document doc into dst as every settings
// document (policies, rules, sources, checks) is read: an unknown field is
// an error, so a misspelt setting is never silently ignored, and so is
// anything after the document. Its errors are EInvalid and begin with
// what, the document's name.
func DecodeStrict(doc []byte, what string, dst any) error {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return Errorf(EInvalid, "%s: %v", what, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Errorf(EInvalid, "%s: unexpected data after the document", what)
	}
	return nil
}
