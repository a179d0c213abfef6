package auth

import (
	"bytes"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/dashboarduz/incident-response/shared/incident"
)

// leeway is how far the verifier's clock may disagree with the issuer's
// before exp, nbf and iat fail a token.
const leeway = 30 * time.Second

// errUnknownKey says a token names a signing key the verifier does not hold.
var errUnknownKey = errors.New("unknown signing key")

// TokenVerifier checks the bearer token of a request itself, the way API
// Gateway's JWT authorizer does in AWS: the signature (RS256 only, with a
// known key ID), the issuer, the audience, the lifetime and the subject.
// The local stack uses it where there is no API Gateway in front.
type TokenVerifier struct {
	issuer string
	keyID  string
	key    *rsa.PublicKey
	parser *jwt.Parser
	roles  RoleMapping
}

// NewTokenVerifier returns a verifier for tokens that issuer signed with
// the private half of key and addressed to audience, judging their
// lifetime by clock.
func NewTokenVerifier(issuer, audience string, key *rsa.PublicKey, clock incident.Clock) *TokenVerifier {
	return &TokenVerifier{
		issuer: issuer,
		keyID:  keyID(key),
		key:    key,
		parser: jwt.NewParser(
			// Pinning the algorithm is what stops "none" and an HS256
			// token whose HMAC secret is the (public) RSA key.
			jwt.WithValidMethods([]string{signingMethod.Alg()}),
			jwt.WithIssuer(issuer),
			jwt.WithAudience(audience),
			jwt.WithExpirationRequired(),
			jwt.WithIssuedAt(),
			jwt.WithLeeway(leeway),
			jwt.WithTimeFunc(clock.Now),
		),
	}
}

// WithRoles returns a copy of the verifier that reads roles with m.
func (v *TokenVerifier) WithRoles(m RoleMapping) *TokenVerifier {
	c := *v
	c.roles = m
	return &c
}

// Authenticate returns the caller named by the request's
// `Authorization: Bearer <jwt>` header. Every failure is an EUnauthorized
// *incident.Error whose message names the problem and never contains the
// token.
func (v *TokenVerifier) Authenticate(r *http.Request) (Identity, error) {
	raw, err := bearerToken(r.Header)
	if err != nil {
		return Identity{}, err
	}
	var claims tokenClaims
	if tok, err := v.parser.ParseWithClaims(raw, &claims, v.keyFor); err != nil {
		return Identity{}, unauthorized(v.describe(err, tok, &claims))
	}
	flat, err := flatClaims(raw)
	if err != nil {
		return Identity{}, unauthorized("token is malformed")
	}
	return IdentityFromClaims(flat, v.roles)
}

// flatClaims decodes the payload of a verified token into the form API
// Gateway's JWT authorizer hands claims on in: every value a string, a
// list as "[a b c]", so that the same code reads both.
func flatClaims(raw string) (map[string]string, error) {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return nil, errors.New("not three segments")
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = flatValue(v)
	}
	return out, nil
}

// flatValue is one claim value as API Gateway renders it.
func flatValue(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case []any:
		parts := make([]string, len(v))
		for i, e := range v {
			parts[i] = flatValue(e)
		}
		return "[" + strings.Join(parts, " ") + "]"
	case nil:
		return ""
	case map[string]any:
		b, _ := json.Marshal(v)
		return string(b)
	}
	return fmt.Sprint(v)
}

// keyFor is the jwt.Keyfunc: it is only called once the algorithm has
// passed WithValidMethods. Like API Gateway, it insists on the key ID.
func (v *TokenVerifier) keyFor(t *jwt.Token) (any, error) {
	if kid, _ := t.Header["kid"].(string); kid != v.keyID {
		return nil, errUnknownKey
	}
	return v.key, nil
}

// describe turns a parse error into a message for the caller, most
// fundamental problem first (one token can be both expired and for
// another audience).
func (v *TokenVerifier) describe(err error, tok *jwt.Token, claims *tokenClaims) string {
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		return "token is malformed"
	case errors.Is(err, errUnknownKey):
		return "token is signed by an unknown key"
	case errors.Is(err, jwt.ErrTokenUnverifiable):
		return "token signing algorithm is not supported"
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		if tok != nil && tok.Method != nil && tok.Method.Alg() != signingMethod.Alg() {
			return "token signing algorithm is not allowed, want " + signingMethod.Alg()
		}
		return "token has a bad signature"
	case errors.Is(err, jwt.ErrTokenInvalidIssuer) || (errors.Is(err, jwt.ErrTokenRequiredClaimMissing) && claims.Issuer == ""):
		return "token has the wrong issuer, want " + v.issuer
	case errors.Is(err, jwt.ErrTokenInvalidAudience) || (errors.Is(err, jwt.ErrTokenRequiredClaimMissing) && len(claims.Audience) == 0):
		return "token has the wrong audience"
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing) && claims.ExpiresAt == nil:
		return "token has no expiry"
	case errors.Is(err, jwt.ErrTokenExpired):
		return "token has expired"
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return "token is not valid yet"
	case errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return "token is issued in the future"
	}
	return "token is invalid"
}

// bearerToken returns the token of the request's Authorization header.
func bearerToken(h http.Header) (string, error) {
	values := h.Values("Authorization")
	switch {
	case len(values) == 0 || strings.TrimSpace(values[0]) == "":
		return "", unauthorized("missing Authorization header")
	case len(values) > 1:
		return "", unauthorized("more than one Authorization header")
	}
	scheme, token, ok := strings.Cut(strings.TrimSpace(values[0]), " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return "", unauthorized("Authorization header is not a bearer token")
	}
	if strings.ContainsAny(token, " \t") {
		return "", unauthorized("token is malformed")
	}
	return token, nil
}

func unauthorized(msg string) error {
	return &incident.Error{Code: incident.EUnauthorized, Message: msg}
}
