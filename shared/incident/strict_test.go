package incident

import (
	"strings"
	"testing"
)

// TestSettingsDocumentsAreReadStrictly: every settings document refuses
// data after it and unknown fields, with an EInvalid naming the document.
func TestSettingsDocumentsAreReadStrictly(t *testing.T) {
	parsers := []struct {
		what  string
		doc   []byte
		parse func([]byte) error
	}{
		{"escalation policy", defaultPolicy, func(b []byte) error { _, err := ParsePolicy(b); return err }},
		{"remediation policy", defaultRemediationPolicy, func(b []byte) error { _, err := ParseRemediationPolicy(b); return err }},
		{"classification rules", defaultClassificationRules, func(b []byte) error { _, err := ParseClassificationRules(b); return err }},
	}
	for _, p := range parsers {
		if err := p.parse(append(p.doc, "\n\t "...)); err != nil {
			t.Errorf("%s with trailing space: %v", p.what, err)
		}
		for name, doc := range map[string]string{
			"trailing data": string(p.doc) + "\n{}",
			"unknown field": "{" + `"mispelt": 1,` + strings.TrimPrefix(strings.TrimSpace(string(p.doc)), "{"),
		} {
			err := p.parse([]byte(doc))
			if ErrorCode(err) != EInvalid || !strings.HasPrefix(ErrorMessage(err), p.what+": ") {
				t.Errorf("%s with %s: %v, want an EInvalid naming it", p.what, name, err)
			}
		}
	}
}
