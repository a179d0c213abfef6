// Package auth says who is calling the API: from the claims of a JWT that
// API Gateway's JWT authorizer has checked (in AWS), or from a token the
// local stack checks itself with a key it generates (make dev).
package auth

// Identity is the caller, from the token's claims.
type Identity struct {
	Subject string `json:"sub"`
	Email   string `json:"email,omitempty"`
	Name    string `json:"name,omitempty"`
}

// Actor is how the caller appears on the timeline: the email when the
// token has one, else the name, else the subject.
func (id Identity) Actor() string {
	switch {
	case id.Email != "":
		return id.Email
	case id.Name != "":
		return id.Name
	}
	return id.Subject
}
