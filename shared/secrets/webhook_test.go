package secrets

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dashboarduz/incident-response/shared/incident"
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

func TestWebhookSecretStoreRereadsAtMostOncePerInterval(t *testing.T) {
	now := time.Date(2026, 3, 1, 3, 0, 0, 0, time.UTC)
	fake := &fakeSecrets{replies: []reply{{err: errors.New("ResourceNotFoundException")}, {secret: ptr("whsec-1")}, {secret: ptr("whsec-2")}}}
	s := &WebhookSecretStore{API: fake, SecretID: "hook", Clock: incident.ClockFunc(func() time.Time { return now })}
	// Not stored yet: an error, and no second read within the minute.
	for range 3 {
		if _, err := s.WebhookSecrets(context.Background()); err == nil {
			t.Fatal("want the read's error")
		}
	}
	if fake.callCount() != 1 {
		t.Fatalf("%d reads within a minute, want 1", fake.callCount())
	}
	now = now.Add(time.Minute)
	got, err := s.WebhookSecrets(context.Background())
	if err != nil || !slices.Equal(got, []string{"whsec-1"}) {
		t.Fatalf("after a minute = %v, %v; want the stored secret", got, err)
	}
	now = now.Add(30 * time.Second)
	if got, _ := s.WebhookSecrets(context.Background()); !slices.Equal(got, []string{"whsec-1"}) || fake.callCount() != 2 {
		t.Errorf("within the minute = %v after %d reads, want the kept secret and no read", got, fake.callCount())
	}
	now = now.Add(time.Minute)
	if got, _ := s.WebhookSecrets(context.Background()); !slices.Equal(got, []string{"whsec-2"}) {
		t.Errorf("after a rotation = %v, want the new secret", got)
	}
}
