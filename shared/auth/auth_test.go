package auth

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/dashboarduz/incident-response/shared/incident"
)

const (
	testIssuer   = "https://auth.dev.local"
	testAudience = "incident-response-api"
)

// fakeClock is a clock a test sets by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

var start = time.Date(2026, 3, 14, 2, 17, 0, 0, time.UTC)

// issuers are generated once: RSA key generation is the slow part.
var (
	issuerOnce     sync.Once
	sharedIssuer   *LocalIssuer
	strangerIssuer *LocalIssuer
)

func issuers(t *testing.T) (*LocalIssuer, *LocalIssuer) {
	t.Helper()
	issuerOnce.Do(func() {
		var err error
		if sharedIssuer, err = NewLocalIssuer(testIssuer, testAudience, incident.ClockFunc(func() time.Time { return start })); err != nil {
			panic(err)
		}
		if strangerIssuer, err = NewLocalIssuer(testIssuer, testAudience, incident.ClockFunc(func() time.Time { return start })); err != nil {
			panic(err)
		}
	})
	return sharedIssuer, strangerIssuer
}

func request(authorization ...string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/incidents", nil)
	for _, a := range authorization {
		r.Header.Add("Authorization", a)
	}
	return r
}

// validClaims are the claims of a good token issued at start for an hour.
func validClaims() tokenClaims {
	return tokenClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    testIssuer,
			Audience:  jwt.ClaimStrings{testAudience},
			Subject:   "user-42",
			IssuedAt:  jwt.NewNumericDate(start),
			NotBefore: jwt.NewNumericDate(start),
			ExpiresAt: jwt.NewNumericDate(start.Add(time.Hour)),
		},
		Email: "oncall@dashboarduz.example",
	}
}

// forge signs claims with any method and key, with a kid header when kid
// is not empty: the tokens an attacker or a misconfigured issuer sends.
func forge(t *testing.T, method jwt.SigningMethod, key any, kid string, claims jwt.Claims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestTokenVerifierAcceptsIssuedToken(t *testing.T) {
	li, _ := issuers(t)
	tok, err := li.Token(Identity{Subject: "user-42", Email: "oncall@dashboarduz.example", Name: "Ada"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	clock := &fakeClock{now: start.Add(59 * time.Minute)}
	v := NewTokenVerifier(testIssuer, testAudience, li.PublicKey(), clock)
	got, err := v.Authenticate(request("Bearer " + tok))
	if err != nil {
		t.Fatalf("Authenticate: %v", err)
	}
	want := Identity{Subject: "user-42", Email: "oncall@dashboarduz.example", Name: "Ada"}
	if got != want {
		t.Errorf("identity = %+v, want %+v", got, want)
	}

	// The scheme is case-insensitive (RFC 7235).
	if _, err := v.Authenticate(request("bearer " + tok)); err != nil {
		t.Errorf("lower-case scheme: %v", err)
	}
	// A few seconds of clock skew past exp are forgiven.
	clock.Set(start.Add(time.Hour + 10*time.Second))
	if _, err := v.Authenticate(request("Bearer " + tok)); err != nil {
		t.Errorf("within leeway: %v", err)
	}
}

func TestTokenCarriesRegisteredClaims(t *testing.T) {
	li, _ := issuers(t)
	tok, err := li.Token(Identity{Subject: "user-7"}, 15*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	var claims jwt.MapClaims
	parsed, _, err := jwt.NewParser().ParseUnverified(tok, &claims)
	if err != nil {
		t.Fatal(err)
	}
	if got := parsed.Header["alg"]; got != "RS256" {
		t.Errorf("alg = %v, want RS256", got)
	}
	if got := parsed.Header["kid"]; got != li.KeyID() || li.KeyID() == "" {
		t.Errorf("kid = %v, want %q", got, li.KeyID())
	}
	for name, want := range map[string]any{
		"iss": testIssuer,
		"sub": "user-7",
		"iat": float64(start.Unix()),
		"nbf": float64(start.Unix()),
		"exp": float64(start.Add(15 * time.Minute).Unix()),
	} {
		if claims[name] != want {
			t.Errorf("%s = %v, want %v", name, claims[name], want)
		}
	}
	if aud, _ := claims.GetAudience(); len(aud) != 1 || aud[0] != testAudience {
		t.Errorf("aud = %v, want [%s]", aud, testAudience)
	}
	for _, absent := range []string{"email", "name"} {
		if _, ok := claims[absent]; ok {
			t.Errorf("claim %s present for an identity without one", absent)
		}
	}
}

func TestTokenRefusesBadInput(t *testing.T) {
	li, _ := issuers(t)
	if _, err := li.Token(Identity{Email: "a@b.example"}, time.Hour); err == nil {
		t.Error("token without subject: no error")
	}
	if _, err := li.Token(Identity{Subject: "x"}, 0); err == nil {
		t.Error("token with zero lifetime: no error")
	}
}

func TestTokenVerifierRejects(t *testing.T) {
	li, stranger := issuers(t)
	issued, err := li.Token(Identity{Subject: "user-42"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	publicPEM := func() []byte {
		der, err := x509.MarshalPKIXPublicKey(li.PublicKey())
		if err != nil {
			t.Fatal(err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	}()
	with := func(change func(*tokenClaims)) tokenClaims {
		c := validClaims()
		change(&c)
		return c
	}
	ours := func(c tokenClaims) string { return forge(t, jwt.SigningMethodRS256, li.key, li.KeyID(), c) }
	tamper := func(tok string) string {
		parts := strings.Split(tok, ".")
		var c tokenClaims
		if _, _, err := jwt.NewParser().ParseUnverified(tok, &c); err != nil {
			t.Fatal(err)
		}
		c.Subject = "admin"
		forged := forge(t, jwt.SigningMethodRS256, stranger.key, "", c)
		return parts[0] + "." + strings.Split(forged, ".")[1] + "." + parts[2]
	}

	tests := []struct {
		name   string
		at     time.Time
		header []string
		want   string
	}{
		{"missing header", start, nil, "missing Authorization header"},
		{"empty header", start, []string{""}, "missing Authorization header"},
		{"two headers", start, []string{"Bearer " + issued, "Bearer " + issued}, "more than one Authorization header"},
		{"basic scheme", start, []string{"Basic dXNlcjpwYXNz"}, "not a bearer token"},
		{"bare token", start, []string{issued}, "not a bearer token"},
		{"scheme only", start, []string{"Bearer"}, "not a bearer token"},
		{"token with space", start, []string{"Bearer " + issued + " extra"}, "malformed"},
		{"not a jwt", start, []string{"Bearer not-a-jwt"}, "malformed"},
		{"expired", start.Add(2 * time.Hour), []string{"Bearer " + issued}, "expired"},
		{"not yet valid", start.Add(-10 * time.Minute), []string{"Bearer " + issued}, "not valid yet"},
		{"issued in the future", start, []string{"Bearer " + ours(with(func(c *tokenClaims) {
			c.IssuedAt = jwt.NewNumericDate(start.Add(10 * time.Minute))
		}))}, "issued in the future"},
		{"wrong audience", start, []string{"Bearer " + ours(with(func(c *tokenClaims) {
			c.Audience = jwt.ClaimStrings{"someone-else"}
		}))}, "wrong audience"},
		{"no audience", start, []string{"Bearer " + ours(with(func(c *tokenClaims) { c.Audience = nil }))}, "wrong audience"},
		{"wrong issuer", start, []string{"Bearer " + ours(with(func(c *tokenClaims) {
			c.Issuer = "https://evil.example"
		}))}, "wrong issuer"},
		{"no issuer", start, []string{"Bearer " + ours(with(func(c *tokenClaims) { c.Issuer = "" }))}, "wrong issuer"},
		{"no expiry", start, []string{"Bearer " + ours(with(func(c *tokenClaims) { c.ExpiresAt = nil }))}, "no expiry"},
		{"no subject", start, []string{"Bearer " + ours(with(func(c *tokenClaims) { c.Subject = "" }))}, "no subject"},
		{"signed by another key", start, []string{"Bearer " + forge(t, jwt.SigningMethodRS256, stranger.key, stranger.KeyID(), validClaims())}, "unknown key"},
		{"another key claiming our kid", start, []string{"Bearer " + forge(t, jwt.SigningMethodRS256, stranger.key, li.KeyID(), validClaims())}, "bad signature"},
		{"no kid", start, []string{"Bearer " + forge(t, jwt.SigningMethodRS256, li.key, "", validClaims())}, "unknown key"},
		{"tampered payload", start, []string{"Bearer " + tamper(issued)}, "bad signature"},
		{"alg none", start, []string{"Bearer " + forge(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, li.KeyID(), validClaims())}, "algorithm is not allowed"},
		{"HS256 with the public key as secret", start, []string{"Bearer " + forge(t, jwt.SigningMethodHS256, publicPEM, li.KeyID(), validClaims())}, "algorithm is not allowed"},
		{"HS256 with the public key DER as secret", start, []string{"Bearer " + forge(t, jwt.SigningMethodHS256, x509.MarshalPKCS1PublicKey(li.PublicKey()), li.KeyID(), validClaims())}, "algorithm is not allowed"},
		{"RS512", start, []string{"Bearer " + forge(t, jwt.SigningMethodRS512, li.key, li.KeyID(), validClaims())}, "algorithm is not allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := NewTokenVerifier(testIssuer, testAudience, li.PublicKey(), &fakeClock{now: tt.at})
			id, err := v.Authenticate(request(tt.header...))
			if err == nil {
				t.Fatalf("Authenticate succeeded with %+v, want an error", id)
			}
			if got := incident.ErrorCode(err); got != incident.EUnauthorized {
				t.Errorf("code = %q, want %q (err %v)", got, incident.EUnauthorized, err)
			}
			msg := incident.ErrorMessage(err)
			if !strings.Contains(msg, tt.want) {
				t.Errorf("message = %q, want it to mention %q", msg, tt.want)
			}
			for _, h := range tt.header {
				_, tok, _ := strings.Cut(h, " ")
				for _, part := range strings.Split(tok, ".") {
					if len(part) > 8 && strings.Contains(err.Error(), part) {
						t.Errorf("error %q echoes the token", err)
					}
				}
			}
		})
	}
}

func TestLoadOrCreateLocalIssuerSharesKey(t *testing.T) {
	clock := incident.ClockFunc(func() time.Time { return start })
	path := filepath.Join(t.TempDir(), "devstack", "token-key.pem")

	first, err := LoadOrCreateLocalIssuer(path, testIssuer, testAudience, clock)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if mode := info.Mode().Perm(); mode != 0o600 {
		t.Errorf("key file mode = %v, want 0600", mode)
	}
	if data, _ := os.ReadFile(path); !strings.HasPrefix(string(data), "-----BEGIN PRIVATE KEY-----") {
		t.Errorf("key file is not PKCS #8 PEM: %.40q", data)
	}

	// A second process (the token command) loads the same key: what one
	// signs the other verifies.
	second, err := LoadOrCreateLocalIssuer(path, testIssuer, testAudience, clock)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if second.KeyID() != first.KeyID() || !second.PublicKey().Equal(first.PublicKey()) {
		t.Fatalf("loaded key %s differs from created key %s", second.KeyID(), first.KeyID())
	}
	tok, err := second.Token(Identity{Subject: "user-1"}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := first.Verifier().Authenticate(request("Bearer " + tok)); err != nil {
		t.Errorf("token from loaded key rejected by creator: %v", err)
	}

	if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
		t.Errorf("key directory holds %d entries, want only the key (temporary files left behind?)", len(entries))
	}
}

func TestLoadOrCreateLocalIssuerConcurrentCreate(t *testing.T) {
	clock := incident.ClockFunc(func() time.Time { return start })
	path := filepath.Join(t.TempDir(), "token-key.pem")
	const n = 4
	ids := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			li, err := LoadOrCreateLocalIssuer(path, testIssuer, testAudience, clock)
			if err != nil {
				t.Error(err)
				return
			}
			ids[i] = li.KeyID()
		})
	}
	wg.Wait()
	for i := 1; i < n; i++ {
		if ids[i] != ids[0] {
			t.Fatalf("processes ended with different keys: %v", ids)
		}
	}
}

func TestLoadOrCreateLocalIssuerRejectsBadFile(t *testing.T) {
	clock := incident.ClockFunc(func() time.Time { return start })
	path := filepath.Join(t.TempDir(), "token-key.pem")
	if err := os.WriteFile(path, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateLocalIssuer(path, testIssuer, testAudience, clock); err == nil {
		t.Fatal("loaded a file that holds no key")
	}
	if data, _ := os.ReadFile(path); string(data) != "not a key" {
		t.Error("a bad key file was overwritten")
	}
}

func TestGatewayAuthenticator(t *testing.T) {
	tests := []struct {
		name    string
		claims  map[string]string
		want    Identity
		wantErr bool
	}{
		{"no claims", nil, Identity{}, true},
		{"no subject", map[string]string{"email": "a@b.example"}, Identity{}, true},
		{"subject only", map[string]string{"sub": "u1", "iss": testIssuer}, Identity{Subject: "u1"}, false},
		{"all", map[string]string{"sub": "u1", "email": "a@b.example", "name": "Ada"}, Identity{Subject: "u1", Email: "a@b.example", Name: "Ada"}, false},
		{"verified email and a role", map[string]string{"sub": "u1", "email": "a@b.example", "email_verified": "true", "groups": "[everyone incident-responders]"},
			Identity{Subject: "u1", Email: "a@b.example", EmailVerified: true, Role: Responder}, false},
		{"unknown group: no role", map[string]string{"sub": "u1", "groups": "[incident-superusers]"}, Identity{Subject: "u1"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := request()
			if tt.claims != nil {
				r = r.WithContext(WithClaims(r.Context(), tt.claims))
			}
			got, err := GatewayAuthenticator{}.Authenticate(r)
			if tt.wantErr {
				if incident.ErrorCode(err) != incident.EUnauthorized {
					t.Fatalf("err = %v, want %s", err, incident.EUnauthorized)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("identity = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestGatewayAuthenticatorIgnoresTokenHeader(t *testing.T) {
	// In AWS the header was checked by API Gateway; a request that reached
	// the function without claims must not be let in on a header alone.
	li, _ := issuers(t)
	tok, err := li.Token(Identity{Subject: "user-42"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := (GatewayAuthenticator{}).Authenticate(request("Bearer " + tok)); incident.ErrorCode(err) != incident.EUnauthorized {
		t.Errorf("err = %v, want %s", err, incident.EUnauthorized)
	}
}

func TestWithClaimsCopies(t *testing.T) {
	claims := map[string]string{"sub": "u1"}
	ctx := WithClaims(context.Background(), claims)
	claims["sub"] = "admin"
	got, ok := ClaimsFromContext(ctx)
	if !ok || got["sub"] != "u1" {
		t.Errorf("ClaimsFromContext = %v, %v; want sub u1", got, ok)
	}
	if _, ok := ClaimsFromContext(context.Background()); ok {
		t.Error("ClaimsFromContext found claims in an empty context")
	}
}
