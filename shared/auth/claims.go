package auth

import (
	"context"
	"maps"
	"net/http"

	"github.com/dashboarduz/incident-response/shared/incident"
)

// claimsKey is the context key of the verified claims; unexported so that
// only this package's WithClaims can set them.
type claimsKey struct{}

// WithClaims returns a copy of ctx carrying claims that something trusted
// has already verified: in AWS, API Gateway's JWT authorizer, whose claims
// the apigateway adapter copies from the event. Never call it with claims
// read from the request itself.
func WithClaims(ctx context.Context, claims map[string]string) context.Context {
	return context.WithValue(ctx, claimsKey{}, maps.Clone(claims))
}

// ClaimsFromContext returns the claims WithClaims put into ctx, and whether
// there were any.
func ClaimsFromContext(ctx context.Context) (map[string]string, bool) {
	claims, ok := ctx.Value(claimsKey{}).(map[string]string)
	return claims, ok && claims != nil
}

// IdentityFromClaims builds the Identity from a token's claims, as API
// Gateway hands them on (every value a string): sub; email and name when
// present; email_verified; and the role the mapping reads from them. A
// token without a subject identifies no one and is an EUnauthorized error.
func IdentityFromClaims(claims map[string]string, roles RoleMapping) (Identity, error) {
	id := Identity{
		Subject:       claims["sub"],
		Email:         claims["email"],
		EmailVerified: claims["email_verified"] == "true",
		Name:          claims["name"],
		Role:          roles.RoleOf(claims),
	}
	if id.Subject == "" {
		return Identity{}, incident.Errorf(incident.EUnauthorized, "token has no subject")
	}
	return id, nil
}

// GatewayAuthenticator is the authenticator for the API in AWS. API Gateway's
// JWT authorizer has already checked the token's signature, issuer,
// audience and lifetime (and, when roles come from scopes, the route's
// scopes) before the function runs, so it only reads the claims the
// authorizer passed on.
type GatewayAuthenticator struct {
	// Roles maps the claims to a role; the zero value is the default.
	Roles RoleMapping
}

// Authenticate returns the caller named by the verified claims in r's
// context. A request without them did not pass through the authorizer (a
// route deployed without one) and is refused, never treated as anonymous.
func (a GatewayAuthenticator) Authenticate(r *http.Request) (Identity, error) {
	claims, ok := ClaimsFromContext(r.Context())
	if !ok {
		return Identity{}, incident.Errorf(incident.EUnauthorized, "request carries no verified token claims")
	}
	return IdentityFromClaims(claims, a.Roles)
}
