package auth

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"unicode"
)

// Role is what a caller may do. Roles are ordered: each one may do
// everything the roles below it may, so a route names the least role it
// needs and a caller is allowed when their role is at least that.
type Role int

// The roles, least first. NoRole is a valid token that names none of the
// configured groups or scopes: it may do nothing at all.
const (
	NoRole Role = iota
	// Viewer reads incidents and their timelines.
	Viewer
	// Responder also acknowledges, posts updates, escalates, resolves and
	// reports incidents.
	Responder
	// Commander (the incident commander) also changes severities and
	// schedules and ends maintenance windows.
	Commander
	// Admin also changes the system's settings and kill switches.
	Admin
)

// Roles lists every role a caller can hold, least first.
var Roles = []Role{Viewer, Responder, Commander, Admin}

// roleNames are the roles' names in configuration, the OpenAPI document
// (x-required-role) and `devstack token --role`.
var roleNames = map[Role]string{
	NoRole:    "none",
	Viewer:    "viewer",
	Responder: "responder",
	Commander: "commander",
	Admin:     "admin",
}

// String returns the role's name, e.g. "commander".
func (r Role) String() string {
	if n, ok := roleNames[r]; ok {
		return n
	}
	return fmt.Sprintf("Role(%d)", int(r))
}

// Allows reports whether a caller holding r may use a route that needs
// least. NoRole allows nothing, not even a route that names NoRole.
func (r Role) Allows(least Role) bool { return r != NoRole && r >= least }

// ParseRole reads a role's name ("viewer", "responder", "commander",
// "admin"; "incident-commander" is accepted for "commander").
func ParseRole(s string) (Role, error) {
	if s == "incident-commander" {
		return Commander, nil
	}
	for _, r := range Roles {
		if roleNames[r] == s {
			return r, nil
		}
	}
	return NoRole, fmt.Errorf("role %q is not one of viewer, responder, commander, admin", s)
}

// MarshalText writes the role's name.
func (r Role) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalText reads a role's name with ParseRole.
func (r *Role) UnmarshalText(b []byte) error {
	v, err := ParseRole(string(b))
	if err != nil {
		return err
	}
	*r = v
	return nil
}

// Role claims the mapping knows how to read. Any claim may be configured;
// these are the common ones.
const (
	// ClaimGroups is what most identity providers (Okta, Entra ID, Auth0
	// with a rule, Keycloak) call the groups claim.
	ClaimGroups = "groups"
	// ClaimCognitoGroups is Amazon Cognito's groups claim, in both its ID
	// and access tokens.
	ClaimCognitoGroups = "cognito:groups"
	// ClaimScope is the OAuth 2.0 scope claim (a space-separated string).
	ClaimScope = "scope"
	// ClaimScp is the scope claim as Okta and Entra ID name it (a list).
	ClaimScp = "scp"
)

// DefaultRoleClaim is the claim roles are read from unless configured.
const DefaultRoleClaim = ClaimGroups

// DefaultScopePrefix is the resource server identifier the default scope
// names start with, as Amazon Cognito names a resource server's scopes
// ("<identifier>/<scope>").
const DefaultScopePrefix = "incident-response/"

// Environment variables the api function reads its role mapping from; the
// CDK app sets them from its context.
const (
	// EnvRoleClaim names the claim (default "groups").
	EnvRoleClaim = "ROLE_CLAIM"
	// EnvRoleNames is a JSON object from role name to the group or scope
	// names that grant it, e.g. {"responder": ["oncall", "sre"]}. Roles it
	// leaves out keep their default names.
	EnvRoleNames = "ROLE_NAMES"
)

// RoleMapping says which claim of a token names its holder's groups or
// scopes, and which of those names grant which role. Its zero value is the
// default: the groups claim and the default names.
type RoleMapping struct {
	// Claim is the token claim holding the names; empty means
	// DefaultRoleClaim.
	Claim string
	// Names lists, per role, the group or scope names that grant it; a
	// role it leaves out has its default names (see NamesOf).
	Names map[Role][]string
}

// UsesScopes reports whether roles are read from OAuth scopes, which API
// Gateway's JWT authorizer can then check itself (route authorization
// scopes).
func (m RoleMapping) UsesScopes() bool { return isScopeClaim(m.ClaimName()) }

// isScopeClaim reports whether claim holds OAuth scopes.
func isScopeClaim(claim string) bool { return claim == ClaimScope || claim == ClaimScp }

// ClaimName is the claim the mapping reads: Claim, or DefaultRoleClaim
// when that is empty.
func (m RoleMapping) ClaimName() string {
	if m.Claim == "" {
		return DefaultRoleClaim
	}
	return m.Claim
}

// defaultNames are the names that grant r unless configured: the group
// incident-viewers, incident-responders, incident-commanders or
// incident-admins, or, when roles come from scopes, the scope
// incident-response/viewer, .../responder, .../commander or .../admin of
// a resource server identified as incident-response. NoRole has none.
func defaultNames(claim string, r Role) []string {
	switch {
	case !slices.Contains(Roles, r):
		return nil
	case isScopeClaim(claim):
		return []string{DefaultScopePrefix + r.String()}
	}
	return []string{"incident-" + r.String() + "s"}
}

// NamesOf returns the names that grant r: the configured ones, else its
// default names.
func (m RoleMapping) NamesOf(r Role) []string {
	if names, ok := m.Names[r]; ok {
		return names
	}
	return defaultNames(m.ClaimName(), r)
}

// NamesAllowed returns the names of every role that may use a route
// needing least: least's names and those of every role above it. They are
// a route's authorization scopes when roles come from scopes.
func (m RoleMapping) NamesAllowed(least Role) []string {
	var out []string
	for _, r := range Roles {
		if r.Allows(least) {
			out = append(out, m.NamesOf(r)...)
		}
	}
	return out
}

// Validate checks that every role has at least one name, that no name
// grants two roles, and that no name holds white space (API Gateway hands
// a list claim on as one space-separated string, so such a name could not
// be told apart from two).
func (m RoleMapping) Validate() error {
	claim := m.ClaimName()
	if strings.TrimSpace(claim) != claim || strings.ContainsFunc(claim, unicode.IsSpace) {
		return fmt.Errorf("role claim %q must not contain white space", claim)
	}
	for r := range m.Names {
		if !slices.Contains(Roles, r) {
			return fmt.Errorf("role names: %s is not a role", r)
		}
	}
	seen := map[string]Role{}
	for _, r := range Roles {
		names := m.NamesOf(r)
		if len(names) == 0 {
			return fmt.Errorf("role %s has no group or scope name", r)
		}
		for _, n := range names {
			if n == "" || strings.ContainsFunc(n, unicode.IsSpace) {
				return fmt.Errorf("role %s: name %q is empty or contains white space", r, n)
			}
			if other, dup := seen[n]; dup {
				return fmt.Errorf("name %q grants both %s and %s", n, other, r)
			}
			seen[n] = r
		}
	}
	return nil
}

// RoleOf returns the highest role the claims grant, NoRole when they
// grant none (no claim, or only names the mapping does not know).
func (m RoleMapping) RoleOf(claims map[string]string) Role {
	held := map[string]bool{}
	for _, n := range claimValues(claims[m.ClaimName()]) {
		held[n] = true
	}
	best := NoRole
	for _, r := range Roles {
		for _, n := range m.NamesOf(r) {
			if held[n] {
				best = max(best, r)
			}
		}
	}
	return best
}

// claimValues splits a claim that holds several names into them. A list
// claim reaches the function from API Gateway's JWT authorizer as one
// string, "[a b c]"; the local verifier flattens it the same way. A JSON
// list ("[\"a\",\"b\"]") and a space-separated string (the OAuth scope
// claim, "a b c") are read too.
func claimValues(v string) []string {
	v = strings.TrimSpace(v)
	if strings.HasPrefix(v, "[") && strings.HasSuffix(v, "]") {
		var list []string
		if json.Unmarshal([]byte(v), &list) == nil {
			return list
		}
		v = v[1 : len(v)-1]
	}
	return strings.Fields(v)
}

// ParseRoleMapping builds a mapping from a claim name (empty for the
// default) and a JSON object of role names to a name or a list of names
// (empty for the defaults), and validates it.
func ParseRoleMapping(claim, namesJSON string) (RoleMapping, error) {
	m := RoleMapping{Claim: strings.TrimSpace(claim)}
	if strings.TrimSpace(namesJSON) != "" {
		var raw map[string]json.RawMessage
		if err := json.Unmarshal([]byte(namesJSON), &raw); err != nil {
			return RoleMapping{}, fmt.Errorf("role names must be a JSON object of role to names: %w", err)
		}
		m.Names = map[Role][]string{}
		for k, v := range raw {
			r, err := ParseRole(k)
			if err != nil {
				return RoleMapping{}, fmt.Errorf("role names: %w", err)
			}
			names, err := oneOrMany(v)
			if err != nil {
				return RoleMapping{}, fmt.Errorf("role names: %s: %w", k, err)
			}
			m.Names[r] = names
		}
	}
	if err := m.Validate(); err != nil {
		return RoleMapping{}, err
	}
	return m, nil
}

// oneOrMany reads a JSON string or list of strings.
func oneOrMany(v json.RawMessage) ([]string, error) {
	var one string
	if json.Unmarshal(v, &one) == nil {
		return []string{one}, nil
	}
	var many []string
	if err := json.Unmarshal(v, &many); err != nil {
		return nil, fmt.Errorf("want a name or a list of names, got %s", v)
	}
	return many, nil
}

// RoleMappingFromEnv reads the mapping from EnvRoleClaim and EnvRoleNames;
// unset variables mean the defaults.
func RoleMappingFromEnv() (RoleMapping, error) {
	m, err := ParseRoleMapping(os.Getenv(EnvRoleClaim), os.Getenv(EnvRoleNames))
	if err != nil {
		return RoleMapping{}, fmt.Errorf("%s/%s: %w", EnvRoleClaim, EnvRoleNames, err)
	}
	return m, nil
}

// NamesJSON is the mapping's names for every role as EnvRoleNames takes
// them, defaults included, so that what the function reads is explicit.
func (m RoleMapping) NamesJSON() string {
	out := map[string][]string{}
	for _, r := range Roles {
		out[r.String()] = m.NamesOf(r)
	}
	b, err := json.Marshal(out)
	if err != nil {
		panic(err) // a map of string lists always encodes
	}
	return string(b)
}
