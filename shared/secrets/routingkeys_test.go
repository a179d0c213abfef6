package secrets

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/dashboarduz/incident-response/shared/incident"
)

const secretID = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:dashboarduz/pagerduty-routing-keys-AbCdEf"

// keys are fake routing keys, 32 characters each like PagerDuty's.
var keys = map[string]string{
	"on-call":             "R0ONCALL000000000000000000000001",
	"team-lead":           "R0TEAMLEAD0000000000000000000002",
	"engineering-manager": "R0ENGMANAGER00000000000000000003",
	"cto":                 "R0CTO000000000000000000000000004",
}

func secretJSON() string {
	return `{"on-call":"` + keys["on-call"] + `","team-lead":"` + keys["team-lead"] +
		`","engineering-manager":"` + keys["engineering-manager"] + `","cto":"` + keys["cto"] + `"}`
}

// reply is one answer of the fake.
type reply struct {
	secret *string
	err    error
}

// fakeSecrets is a hand-written Secrets Manager: it answers with replies in
// order (the last one repeats) and counts calls.
type fakeSecrets struct {
	mu      sync.Mutex
	replies []reply
	calls   int
	ids     []string
	delay   time.Duration
}

func (f *fakeSecrets) GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	f.mu.Lock()
	f.calls++
	f.ids = append(f.ids, *in.SecretId)
	r := f.replies[min(f.calls, len(f.replies))-1]
	f.mu.Unlock()
	if f.delay > 0 {
		time.Sleep(f.delay)
	}
	if r.err != nil {
		return nil, r.err
	}
	return &secretsmanager.GetSecretValueOutput{SecretString: r.secret}, nil
}

func (f *fakeSecrets) callCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

func ptr(s string) *string { return &s }

func TestRoutingKeyReadsEachLevel(t *testing.T) {
	fake := &fakeSecrets{replies: []reply{{secret: ptr(secretJSON())}}}
	r := NewRoutingKeys(fake, secretID)
	for level, want := range keys {
		t.Run(level, func(t *testing.T) {
			got, err := r.RoutingKey(context.Background(), level)
			if err != nil {
				t.Fatalf("RoutingKey(%q): %v", level, err)
			}
			if got != want {
				t.Errorf("RoutingKey(%q) = %q, want %q", level, got, want)
			}
		})
	}
	if got := fake.ids[0]; got != secretID {
		t.Errorf("SecretId = %q, want %q", got, secretID)
	}
}

func TestRoutingKeyCachesTheFirstRead(t *testing.T) {
	fake := &fakeSecrets{replies: []reply{{secret: ptr(secretJSON())}}}
	r := NewRoutingKeys(fake, secretID)
	for range 25 {
		for level := range keys {
			if _, err := r.RoutingKey(context.Background(), level); err != nil {
				t.Fatalf("RoutingKey(%q): %v", level, err)
			}
		}
	}
	if got, want := fake.callCount(), 1; got != want {
		t.Errorf("GetSecretValue calls = %d, want %d", got, want)
	}
}

func TestRoutingKeyDoesNotCacheAFailedRead(t *testing.T) {
	throttled := errors.New("ThrottlingException: Rate exceeded")
	fake := &fakeSecrets{replies: []reply{{err: throttled}, {secret: ptr(secretJSON())}}}
	r := NewRoutingKeys(fake, secretID)

	_, err := r.RoutingKey(context.Background(), "on-call")
	if !errors.Is(err, throttled) {
		t.Fatalf("first RoutingKey error = %v, want it to wrap %v", err, throttled)
	}
	if !strings.Contains(err.Error(), secretID) {
		t.Errorf("error %q does not name the secret", err)
	}

	got, err := r.RoutingKey(context.Background(), "on-call")
	if err != nil {
		t.Fatalf("second RoutingKey: %v", err)
	}
	if want := keys["on-call"]; got != want {
		t.Errorf("second RoutingKey = %q, want %q", got, want)
	}
	if _, err := r.RoutingKey(context.Background(), "cto"); err != nil {
		t.Fatalf("third RoutingKey: %v", err)
	}
	if got, want := fake.callCount(), 2; got != want {
		t.Errorf("GetSecretValue calls = %d, want %d", got, want)
	}
}

func TestRoutingKeyErrors(t *testing.T) {
	onlyOnCall := `{"on-call":"` + keys["on-call"] + `"}`
	tests := []struct {
		name    string
		secret  *string
		level   string
		wantMsg string
		// mustNotContain is secret content the error must never echo.
		mustNotContain []string
	}{
		{
			name:    "missing level",
			secret:  ptr(onlyOnCall),
			level:   "team-lead",
			wantMsg: `secret ` + secretID + ` has no routing key for level "team-lead"`,
		},
		{
			name:    "empty routing key",
			secret:  ptr(`{"on-call":"` + keys["on-call"] + `","team-lead":""}`),
			level:   "team-lead",
			wantMsg: `secret ` + secretID + ` has no routing key for level "team-lead"`,
		},
		{
			name:           "routing key of the wrong length",
			secret:         ptr(`{"on-call":"shortkey-abcdef"}`),
			level:          "on-call",
			wantMsg:        `secret ` + secretID + `: the routing key for level "on-call" has 15 characters; PagerDuty routing keys have 32`,
			mustNotContain: []string{"shortkey-abcdef"},
		},
		{
			name:           "not JSON",
			secret:         ptr("on-call=" + keys["on-call"]),
			level:          "on-call",
			wantMsg:        `secret ` + secretID + ` is not valid JSON (syntax error at byte 1); it must be a JSON object of PagerDuty routing keys per escalation level, e.g. {"on-call": "<routing key>"}`,
			mustNotContain: []string{keys["on-call"], "on-call="},
		},
		{
			name:           "a bare routing key",
			secret:         ptr(`"` + keys["cto"] + `"`),
			level:          "cto",
			wantMsg:        `secret ` + secretID + ` is not a JSON object of PagerDuty routing keys per escalation level, e.g. {"on-call": "<routing key>"}`,
			mustNotContain: []string{keys["cto"]},
		},
		{
			name:           "a level that is not a string",
			secret:         ptr(`{"on-call":{"key":"` + keys["on-call"] + `"}}`),
			level:          "on-call",
			wantMsg:        `secret ` + secretID + `: the value for level "on-call" must be a string routing key`,
			mustNotContain: []string{keys["on-call"]},
		},
		{
			name:    "JSON null",
			secret:  ptr(`null`),
			level:   "on-call",
			wantMsg: `secret ` + secretID + ` is not a JSON object of PagerDuty routing keys per escalation level, e.g. {"on-call": "<routing key>"}`,
		},
		{
			name:    "binary secret",
			secret:  nil,
			level:   "on-call",
			wantMsg: `secret ` + secretID + ` has no SecretString; it must be a JSON object of PagerDuty routing keys per escalation level`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := &fakeSecrets{replies: []reply{{secret: tt.secret}}}
			r := NewRoutingKeys(fake, secretID)
			got, err := r.RoutingKey(context.Background(), tt.level)
			if err == nil {
				t.Fatalf("RoutingKey(%q) = %q, want an error", tt.level, got)
			}
			var ie *incident.Error
			if !errors.As(err, &ie) {
				t.Fatalf("error %v (%T) is not an *incident.Error", err, err)
			}
			// A level's own key fails that level only; a secret that cannot
			// be read as routing keys fails every page.
			want := incident.EInvalid
			if strings.HasPrefix(tt.wantMsg, "secret "+secretID+" has no routing key") || strings.Contains(tt.wantMsg, "PagerDuty routing keys have") {
				want = incident.EUndeliverable
			}
			if ie.Code != want {
				t.Errorf("code = %q, want %q", ie.Code, want)
			}
			if ie.Message != tt.wantMsg {
				t.Errorf("message\n got %s\nwant %s", ie.Message, tt.wantMsg)
			}
			for _, secret := range tt.mustNotContain {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error %q echoes the secret's content %q", err, secret)
				}
			}
		})
	}
}

func TestRoutingKeyDoesNotCacheAnUnreadableSecret(t *testing.T) {
	fake := &fakeSecrets{replies: []reply{{secret: ptr("not json")}, {secret: ptr(secretJSON())}}}
	r := NewRoutingKeys(fake, secretID)
	if _, err := r.RoutingKey(context.Background(), "on-call"); err == nil {
		t.Fatal("first RoutingKey succeeded on a non-JSON secret")
	}
	got, err := r.RoutingKey(context.Background(), "on-call")
	if err != nil {
		t.Fatalf("second RoutingKey after the secret was fixed: %v", err)
	}
	if want := keys["on-call"]; got != want {
		t.Errorf("RoutingKey = %q, want %q", got, want)
	}
}

func TestRoutingKeyConcurrentLookupsShareOneRead(t *testing.T) {
	fake := &fakeSecrets{replies: []reply{{secret: ptr(secretJSON())}}, delay: 20 * time.Millisecond}
	r := NewRoutingKeys(fake, secretID)
	levels := []string{"on-call", "team-lead", "engineering-manager", "cto"}

	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 64 {
		level := levels[i%len(levels)]
		wg.Go(func() {
			got, err := r.RoutingKey(context.Background(), level)
			if err != nil {
				errs <- err
				return
			}
			if got != keys[level] {
				errs <- errors.New("wrong key for " + level)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got, want := fake.callCount(), 1; got != want {
		t.Errorf("GetSecretValue calls = %d, want %d", got, want)
	}
}

func TestStaticRoutingKeys(t *testing.T) {
	s := StaticRoutingKeys{"on-call": keys["on-call"]}
	got, err := s.RoutingKey(context.Background(), "on-call")
	if err != nil || got != keys["on-call"] {
		t.Errorf("RoutingKey(on-call) = %q, %v; want %q, nil", got, err, keys["on-call"])
	}
	_, err = s.RoutingKey(context.Background(), "cto")
	if got, want := incident.ErrorMessage(err), `the static routing keys has no routing key for level "cto"`; got != want {
		t.Errorf("missing level message = %q, want %q", got, want)
	}
	if got, want := incident.ErrorCode(err), incident.EUndeliverable; got != want {
		t.Errorf("missing level code = %q, want %q", got, want)
	}
}

func TestForgetRereadsTheSecret(t *testing.T) {
	fixed := `{"on-call": "` + strings.Repeat("b", 32) + `"}`
	fake := &fakeSecrets{replies: []reply{{secret: ptr(secretJSON())}, {secret: ptr(fixed)}}}
	r := NewRoutingKeys(fake, secretID)
	if _, err := r.RoutingKey(context.Background(), "on-call"); err != nil {
		t.Fatal(err)
	}
	r.Forget()
	got, err := r.RoutingKey(context.Background(), "on-call")
	if err != nil || got != strings.Repeat("b", 32) || fake.callCount() != 2 {
		t.Errorf("after Forget: key %q, err %v, %d reads; want the new key from a second read", got, err, fake.callCount())
	}
}

func TestCheckAgainstThePolicy(t *testing.T) {
	p := incident.DefaultPolicy()
	full := fakeSecrets{replies: []reply{{secret: ptr(`{"on-call":"` + strings.Repeat("a", 32) + `","team-lead":"` + strings.Repeat("b", 32) + `","engineering-manager":"` + strings.Repeat("c", 32) + `","cto":"` + strings.Repeat("d", 32) + `"}`)}}}
	if err := NewRoutingKeys(&full, "keys").Check(context.Background(), p); err != nil {
		t.Fatalf("complete secret: %v", err)
	}
	partial := fakeSecrets{replies: []reply{{secret: ptr(`{"on-call":"` + strings.Repeat("a", 32) + `"}`)}}}
	err := NewRoutingKeys(&partial, "keys").Check(context.Background(), p)
	if err == nil || !strings.Contains(err.Error(), "cto") || !strings.Contains(err.Error(), "secret keys") {
		t.Fatalf("partial secret: %v, want the missing levels and the secret named", err)
	}
}
