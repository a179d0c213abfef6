package auth

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/dashboarduz/incident-response/shared/incident"
)

// keyBits is the size of the RSA keys LocalIssuer generates; API Gateway's
// JWT authorizer accepts only RSA signatures, and 2048 bits is the least
// it and current guidance accept.
const keyBits = 2048

// signingMethod is the one algorithm tokens are signed and verified with.
var signingMethod = jwt.SigningMethodRS256

// tokenClaims is the payload of the tokens LocalIssuer signs and
// TokenVerifier reads.
type tokenClaims struct {
	jwt.RegisteredClaims
	Email         string `json:"email,omitempty"`
	EmailVerified bool   `json:"email_verified,omitempty"`
	Name          string `json:"name,omitempty"`
}

// LocalIssuer signs tokens for the local stack (make dev) in place of the
// identity provider that issues them in AWS. Its tokens have the shape API
// Gateway's JWT authorizer expects: RS256 with a key ID, iss, aud, sub,
// iat, nbf and exp.
type LocalIssuer struct {
	issuer   string
	audience string
	clock    incident.Clock
	key      *rsa.PrivateKey
	keyID    string
	roles    RoleMapping
}

// NewLocalIssuer returns an issuer with a freshly generated RSA key that
// names itself issuer in its tokens and addresses them to audience.
func NewLocalIssuer(issuer, audience string, clock incident.Clock) (*LocalIssuer, error) {
	key, err := rsa.GenerateKey(rand.Reader, keyBits)
	if err != nil {
		return nil, fmt.Errorf("generate token signing key: %w", err)
	}
	return newLocalIssuer(issuer, audience, clock, key)
}

func newLocalIssuer(issuer, audience string, clock incident.Clock, key *rsa.PrivateKey) (*LocalIssuer, error) {
	if issuer == "" || audience == "" {
		return nil, errors.New("token issuer and audience must not be empty")
	}
	if clock == nil {
		return nil, errors.New("token issuer needs a clock")
	}
	return &LocalIssuer{issuer: issuer, audience: audience, clock: clock, key: key, keyID: keyID(&key.PublicKey)}, nil
}

// LoadOrCreateLocalIssuer returns an issuer whose key is kept in the PEM
// file at path, generating the key and creating the file (mode 0600) when
// it does not exist yet. The long-running dev server and a separate
// `devstack token` process share one key this way. When two processes
// create the file at once, the first to finish wins and the other uses
// its key.
func LoadOrCreateLocalIssuer(path, issuer, audience string, clock incident.Clock) (*LocalIssuer, error) {
	li, err := loadLocalIssuer(path, issuer, audience, clock)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return li, err
	}
	li, err = NewLocalIssuer(issuer, audience, clock)
	if err != nil {
		return nil, err
	}
	err = writeKeyFile(path, li.keyPEM())
	if errors.Is(err, fs.ErrExist) {
		return loadLocalIssuer(path, issuer, audience, clock)
	}
	if err != nil {
		return nil, err
	}
	return li, nil
}

func loadLocalIssuer(path, issuer, audience string, clock incident.Clock) (*LocalIssuer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read token signing key: %w", err)
	}
	key, err := parseKeyPEM(data)
	if err != nil {
		return nil, fmt.Errorf("token signing key %s: %w", path, err)
	}
	return newLocalIssuer(issuer, audience, clock, key)
}

// WithRoles returns a copy of the issuer that writes roles into its
// tokens, and reads them from the tokens its Verifier checks, with m.
func (li *LocalIssuer) WithRoles(m RoleMapping) *LocalIssuer {
	c := *li
	c.roles = m
	return &c
}

// Token signs a token for id that is valid from now for ttl. id.Role is
// written as the mapping's first name for it, in the mapping's claim: a
// list, or a space-separated string for the scope claim, as identity
// providers send them.
func (li *LocalIssuer) Token(id Identity, ttl time.Duration) (string, error) {
	if id.Subject == "" {
		return "", errors.New("sign token: identity has no subject")
	}
	if ttl <= 0 {
		return "", fmt.Errorf("sign token: lifetime %s is not positive", ttl)
	}
	now := li.clock.Now()
	claims := tokenClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    li.issuer,
			Audience:  jwt.ClaimStrings{li.audience},
			Subject:   id.Subject,
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
		},
		Email:         id.Email,
		EmailVerified: id.EmailVerified,
		Name:          id.Name,
	}
	var payload jwt.Claims = claims
	if id.Role != NoRole {
		names := li.roles.NamesOf(id.Role)
		if len(names) == 0 {
			return "", fmt.Errorf("sign token: role %s has no name", id.Role)
		}
		var value any = names[:1]
		if li.roles.ClaimName() == ClaimScope {
			value = names[0]
		}
		payload = withClaim{claims, li.roles.ClaimName(), value}
	}
	tok := jwt.NewWithClaims(signingMethod, payload)
	tok.Header["kid"] = li.keyID
	s, err := tok.SignedString(li.key)
	if err != nil {
		return "", fmt.Errorf("sign token for %s: %w", id.Subject, err)
	}
	return s, nil
}

// withClaim is a token payload with one claim more than tokenClaims: the
// role claim, whose name is configured.
type withClaim struct {
	tokenClaims
	name  string
	value any
}

// MarshalJSON writes the registered claims and the extra one.
func (c withClaim) MarshalJSON() ([]byte, error) {
	b, err := json.Marshal(c.tokenClaims)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	m[c.name] = c.value
	return json.Marshal(m)
}

// Verifier returns a TokenVerifier that accepts this issuer's tokens,
// reading the time from the issuer's clock.
func (li *LocalIssuer) Verifier() *TokenVerifier {
	return NewTokenVerifier(li.issuer, li.audience, &li.key.PublicKey, li.clock).WithRoles(li.roles)
}

// PublicKey is the key that verifies the issuer's tokens.
func (li *LocalIssuer) PublicKey() *rsa.PublicKey { return &li.key.PublicKey }

// KeyID is the "kid" header of the issuer's tokens: the RFC 7638 thumbprint
// of its public key.
func (li *LocalIssuer) KeyID() string { return li.keyID }

func (li *LocalIssuer) keyPEM() []byte {
	der, err := x509.MarshalPKCS8PrivateKey(li.key)
	if err != nil {
		// An RSA key generated or parsed here always marshals.
		panic(fmt.Sprintf("marshal RSA key: %v", err))
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// parseKeyPEM reads an RSA private key from PKCS #8 or PKCS #1 PEM.
func parseKeyPEM(data []byte) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("no PEM block")
	}
	var key any
	var err error
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("PEM block is %q, want PRIVATE KEY", block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("parse private key: %w", err)
	}
	rsaKey, ok := key.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("private key is %T, want RSA", key)
	}
	if rsaKey.N.BitLen() < keyBits {
		return nil, fmt.Errorf("RSA key has %d bits, want at least %d", rsaKey.N.BitLen(), keyBits)
	}
	return rsaKey, nil
}

// writeKeyFile writes data to path with mode 0600. The file is written
// under a temporary name first so that no reader ever sees half a key. It
// fails with fs.ErrExist when path exists.
func writeKeyFile(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create key directory: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".tmp-"+filepath.Base(path)+"-*") // CreateTemp uses mode 0600.
	if err != nil {
		return fmt.Errorf("write token signing key: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write token signing key: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write token signing key: %w", err)
	}
	// A hard link, unlike a rename, fails when path exists, so two
	// processes creating the key at once cannot replace each other's.
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return err
		}
		return fmt.Errorf("write token signing key: %w", err)
	}
	return nil
}

// keyID is the RFC 7638 JWK thumbprint of an RSA public key.
func keyID(pub *rsa.PublicKey) string {
	e := big.NewInt(int64(pub.E)).Bytes()
	// RFC 7638 fixes the member order (lexicographic) and forbids spaces,
	// which is what encoding/json produces for a struct in this order.
	jwk, _ := json.Marshal(struct {
		E   string `json:"e"`
		Kty string `json:"kty"`
		N   string `json:"n"`
	}{
		E:   base64.RawURLEncoding.EncodeToString(e),
		Kty: "RSA",
		N:   base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
	})
	sum := sha256.Sum256(jwk)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}
