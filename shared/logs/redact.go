package logs

import (
	"regexp"
	"strings"
	"unicode"
)

// Redacted is what a secret-looking string is replaced with.
const Redacted = "[REDACTED]"

// redactions are applied in order: the specific shapes first, so that a
// token is named by its kind before the generic long-string rules see it.
var redactions = []struct {
	re   *regexp.Regexp
	repl string
}{
	// A PEM private key block, whole.
	{regexp.MustCompile(`-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(-----END [A-Z ]*PRIVATE KEY-----|$)`), Redacted},
	// JSON Web Tokens: three base64url parts, the first a JSON header.
	{regexp.MustCompile(`eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*`), Redacted},
	// Authorization schemes and their credentials.
	{regexp.MustCompile(`(?i)\b(bearer|basic|digest|negotiate|token)(\s+)[A-Za-z0-9._~+/=-]{8,}`), "${1}${2}" + Redacted},
	// Passwords in URLs: scheme://user:password@host.
	{regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.-]*://[^:/@\s]*):([^@/\s]+)@`), "${1}:" + Redacted + "@"},
	// key=value, key: value and "key": "value" for secret-looking keys.
	{regexp.MustCompile(`(?i)\b((?:[a-z0-9]+[_-])*(?:password|passwd|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key|client[_-]?secret|credentials?|session[_-]?id|cookie))(["']?\s*[:=]\s*["']?)([^"'\s,;&}\]]+)`), "${1}${2}" + Redacted},
	// An Authorization header without a scheme (a scheme and its
	// credentials were handled above).
	{regexp.MustCompile(`(?i)\b(authorization["']?\s*[:=]\s*["']?)([^"'\s,;&}\]]{8,})`), "${1}" + Redacted},
	// AWS access key IDs.
	{regexp.MustCompile(`\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16}\b`), Redacted},
	// Vendor tokens with a known prefix: Slack, GitHub, Stripe, Sentry.
	{regexp.MustCompile(`\b(?:xox[abposr]-[A-Za-z0-9-]{10,}|gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,}|(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}|sntrys_[A-Za-z0-9+/=_-]{20,})`), Redacted},
	// Long hex strings: keys, hashes of secrets, signatures.
	{regexp.MustCompile(`\b[0-9a-fA-F]{32,}\b`), Redacted},
}

// longBase64 finds long base64 or base64url runs; looksRandom decides.
var longBase64 = regexp.MustCompile(`[A-Za-z0-9+/_-]{32,}={0,2}`)

// Redact replaces secret-looking strings in a log line: private keys,
// JWTs, bearer and basic credentials, passwords in URLs and in
// password=/secret=/token=/api_key= pairs (also as JSON), AWS access key
// IDs, vendor tokens, hex strings of 32 or more digits and base64 runs of
// 32 or more characters that mix upper case, lower case and digits (a
// secret key, a signature). It errs on the side of hiding: a request ID
// written as 32 hex digits is hidden too.
func Redact(s string) string {
	for _, r := range redactions {
		s = r.re.ReplaceAllString(s, r.repl)
	}
	return longBase64.ReplaceAllStringFunc(s, func(m string) string {
		if looksRandom(m) {
			return Redacted
		}
		return m
	})
}

// looksRandom tells a secret from a long identifier or path: it mixes
// upper case, lower case and digits and has few slashes.
func looksRandom(s string) bool {
	var upper, lower, digit bool
	for _, c := range s {
		upper = upper || unicode.IsUpper(c)
		lower = lower || unicode.IsLower(c)
		digit = digit || unicode.IsDigit(c)
	}
	return upper && lower && digit && strings.Count(s, "/") < 3
}
