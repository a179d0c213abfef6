package main

import (
	"strings"
	"testing"

	"github.com/dashboarduz/incident-response/shared/incident"
)

func TestParseKeys(t *testing.T) {
	k := strings.Repeat("a", 32)
	all := []string{"on-call=" + k, "team-lead=" + k, "engineering-manager=" + k, "cto=" + k}
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"every level", all, ""},
		{"missing level", all[:3], "no routing key for level(s) [cto]"},
		{"unknown level", append(append([]string{}, all...), "ceo="+k), `"ceo" is not an escalation level`},
		{"short key", append(append([]string{}, all[:3]...), "cto=abc"), "has 3 characters"},
		{"not level=key", append(append([]string{}, all...), "cto"), "is not level=KEY"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseKeys(tt.args, incident.DefaultPolicy())
			if tt.wantErr == "" {
				if err != nil || len(got) != 4 {
					t.Fatalf("ParseKeys = %v, %v", got, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}
}
