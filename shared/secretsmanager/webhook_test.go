package secretsmanager

import (
	"slices"
	"strings"
	"testing"
)

func TestParseWebhookSecrets(t *testing.T) {
	tests := []struct {
		value   string
		want    []string
		wantErr string
	}{
		{"whsec-1", []string{"whsec-1"}, ""},
		{"  whsec-1\n", []string{"whsec-1"}, ""},
		{`["new", "old"]`, []string{"new", "old"}, ""},
		{`["new", ""]`, []string{"new"}, ""},
		{"", nil, "holds no signing secret"},
		{`[]`, nil, "holds no signing secret"},
		{`[1]`, nil, "not a JSON array of strings"},
	}
	for _, tt := range tests {
		got, err := ParseWebhookSecrets("s", tt.value)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%q: err = %v, want %q", tt.value, err, tt.wantErr)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("%q = %v, %v; want %v", tt.value, got, err, tt.want)
		}
	}
}
