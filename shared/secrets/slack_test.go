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

func TestParseSlackApp(t *testing.T) {
	tests := []struct {
		value   string
		want    SlackApp
		wantErr string
	}{
		{`{"botToken": "xoxb-1", "signingSecret": "s1"}`, SlackApp{BotToken: "xoxb-1", SigningSecrets: []string{"s1"}}, ""},
		{`{"botToken": " xoxb-1 ", "signingSecret": ["new", "old"]}`, SlackApp{BotToken: "xoxb-1", SigningSecrets: []string{"new", "old"}}, ""},
		{`{"signingSecret": "s1"}`, SlackApp{SigningSecrets: []string{"s1"}}, ""},
		{`{"botToken": "xoxb-1"}`, SlackApp{BotToken: "xoxb-1"}, ""},
		{`{}`, SlackApp{}, "neither a bot token nor a signing secret"},
		{`{"bot_token": "xoxb-1"}`, SlackApp{}, "not a JSON object"},
		{`xoxb-1`, SlackApp{}, "not a JSON object"},
		{`{"botToken": "x", "signingSecret": 7}`, SlackApp{}, "neither a string nor an array"},
	}
	for _, tt := range tests {
		got, err := ParseSlackApp("slack", tt.value)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%s: err = %v, want %q", tt.value, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got.BotToken != tt.want.BotToken || !slices.Equal(got.SigningSecrets, tt.want.SigningSecrets) {
			t.Errorf("%s = %+v, %v; want %+v", tt.value, got, err, tt.want)
		}
	}
}

func TestSlackStoreReadsLazilyAndAtMostOncePerInterval(t *testing.T) {
	now := time.Date(2026, 3, 1, 3, 0, 0, 0, time.UTC)
	fake := &fakeSecrets{replies: []reply{
		{err: errors.New("ResourceNotFoundException")},
		{secret: ptr(`{"botToken": "xoxb-1", "signingSecret": "s1"}`)},
		{secret: ptr(`{"botToken": "xoxb-2", "signingSecret": ["s2", "s1"]}`)},
	}}
	s := &SlackStore{API: fake, SecretID: "slack", Clock: incident.ClockFunc(func() time.Time { return now })}
	if fake.callCount() != 0 {
		t.Fatal("read before anyone asked")
	}
	for range 3 {
		if _, err := s.SlackBotToken(context.Background()); err == nil {
			t.Fatal("want the read's error")
		}
	}
	if fake.callCount() != 1 {
		t.Fatalf("%d reads within a minute, want 1", fake.callCount())
	}
	now = now.Add(time.Minute)
	if tok, err := s.SlackBotToken(context.Background()); err != nil || tok != "xoxb-1" {
		t.Fatalf("token = %q, %v", tok, err)
	}
	if sec, err := s.SlackSigningSecrets(context.Background()); err != nil || !slices.Equal(sec, []string{"s1"}) {
		t.Fatalf("signing secrets = %v, %v", sec, err)
	}
	now = now.Add(time.Minute)
	if sec, err := s.SlackSigningSecrets(context.Background()); err != nil || !slices.Equal(sec, []string{"s2", "s1"}) {
		t.Fatalf("after a rotation = %v, %v", sec, err)
	}
	if fake.callCount() != 3 || fake.ids[0] != "slack" {
		t.Errorf("reads %d of %v", fake.callCount(), fake.ids)
	}
}

func TestStringStore(t *testing.T) {
	now := time.Date(2026, 3, 1, 3, 0, 0, 0, time.UTC)
	fake := &fakeSecrets{replies: []reply{{secret: ptr(" key-1\n")}, {err: errors.New("throttled")}, {secret: ptr("key-2")}}}
	s := &StringStore{API: fake, SecretID: "pd", Clock: incident.ClockFunc(func() time.Time { return now })}
	for range 2 {
		if v, err := s.Value(context.Background()); err != nil || v != "key-1" {
			t.Fatalf("value = %q, %v", v, err)
		}
	}
	now = now.Add(11 * time.Minute)
	if v, err := s.Value(context.Background()); err != nil || v != "key-1" {
		t.Fatalf("a failed re-read keeps the old value: %q, %v", v, err)
	}
	if v, err := s.Value(context.Background()); err != nil || v != "key-2" {
		t.Fatalf("value = %q, %v", v, err)
	}
	if fake.callCount() != 3 {
		t.Errorf("%d reads, want 3", fake.callCount())
	}
}
