package logs_test

import (
	"testing"

	"github.com/dashboarduz/incident-response/shared/logs"
)

func TestRedact(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain error", "ERROR database timeout after 5000ms on db.internal:5432", "ERROR database timeout after 5000ms on db.internal:5432"},
		{"aws access key", "using key AKIAIOSFODNN7EXAMPLE for s3", "using key [REDACTED] for s3"},
		{"aws session key", "ASIAY34FZKBOKMUTVV7A expired", "[REDACTED] expired"},
		{"aws secret key", "aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "aws_secret_access_key=[REDACTED]"},
		{"bare secret key", "secret wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY leaked", "secret [REDACTED] leaked"},
		{"bearer", "Authorization: Bearer abc.def-ghi_jkl123456", "Authorization: Bearer [REDACTED]"},
		{"basic", "header authorization: Basic dXNlcjpodW50ZXIy", "header authorization: Basic [REDACTED]"},
		{"authorization without scheme", `{"authorization":"abcdef123456"}`, `{"authorization":"[REDACTED]"}`},
		{"basic alone", "sent Basic dXNlcjpodW50ZXIy to proxy", "sent Basic [REDACTED] to proxy"},
		{"url password", "connect postgres://app:s3cr3t@db.internal:5432/app failed", "connect postgres://app:[REDACTED]@db.internal:5432/app failed"},
		{"url password redis", "redis://:hunter2@cache:6379", "redis://:[REDACTED]@cache:6379"},
		{"password pair", "login failed password=hunter2 user=bob", "login failed password=[REDACTED] user=bob"},
		{"db password env", "DB_PASSWORD=hunter2", "DB_PASSWORD=[REDACTED]"},
		{"json password", `{"user":"bob","password":"hunter2"}`, `{"user":"bob","password":"[REDACTED]"}`},
		{"api key", "calling with api_key: 12345abcde", "calling with api_key: [REDACTED]"},
		{"client secret", "client_secret=abc&grant_type=x", "client_secret=[REDACTED]&grant_type=x"},
		{"jwt", "token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U rejected", "token [REDACTED] rejected"},
		{"jwt in cookie-less text", "got eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abc", "got [REDACTED]"},
		{"long hex", "signature 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 invalid", "signature [REDACTED] invalid"},
		{"short hex kept", "commit abc123def retried", "commit abc123def retried"},
		{"slack token", "slack xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx failed", "slack [REDACTED] failed"},
		{"github token", "ghp_1234567890abcdefghijABCDEFGHIJ123456", "[REDACTED]"},
		{"private key", "key -----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY----- loaded", "key [REDACTED] loaded"},
		{"path kept", "at /usr/local/lib/node_modules/express/lib/router/index.js:284", "at /usr/local/lib/node_modules/express/lib/router/index.js:284"},
		{"identifier kept", "queue dashboarduz-worker-email-notifications-high-priority backlog", "queue dashboarduz-worker-email-notifications-high-priority backlog"},
		{"tokens count kept", "tokens=5 used", "tokens=5 used"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := logs.Redact(tt.in); got != tt.want {
				t.Errorf("Redact(%q)\n got %q\nwant %q", tt.in, got, tt.want)
			}
		})
	}
}
