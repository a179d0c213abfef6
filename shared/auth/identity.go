// Package auth says who is calling the API and what they may do: from the
// claims of a JWT that API Gateway's JWT authorizer has checked (in AWS),
// or from a token the local stack checks itself with a key it generates
// (make dev). Roles come from a configurable claim (RoleMapping).
package auth

// Identity is the caller, from the token's claims.
type Identity struct {
	Subject string `json:"sub"`
	Email   string `json:"email,omitempty"`
	// EmailVerified is the token's email_verified claim: only a verified
	// email names the caller on the timeline, since anyone who can edit
	// their own profile at the identity provider can set an unverified one.
	EmailVerified bool   `json:"email_verified,omitempty"`
	Name          string `json:"name,omitempty"`
	// Role is the highest role the token's groups or scopes grant.
	Role Role `json:"role"`
}

// Actor is how the caller appears on the timeline: the verified email,
// else the name, followed by the subject in parentheses, which the
// identity provider fixes and the caller cannot change; the subject alone
// when there is neither.
func (id Identity) Actor() string {
	if id.Subject == "" {
		return ""
	}
	label := id.Name
	if id.Email != "" && id.EmailVerified {
		label = id.Email
	}
	if label == "" || label == id.Subject {
		return id.Subject
	}
	return label + " (" + id.Subject + ")"
}
