package auth

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseRole(t *testing.T) {
	for _, r := range Roles {
		got, err := ParseRole(r.String())
		if err != nil || got != r {
			t.Errorf("ParseRole(%q) = %v, %v", r.String(), got, err)
		}
	}
	if got, err := ParseRole("incident-commander"); err != nil || got != Commander {
		t.Errorf("ParseRole(incident-commander) = %v, %v", got, err)
	}
	for _, bad := range []string{"", "none", "root", "Responder"} {
		if _, err := ParseRole(bad); err == nil {
			t.Errorf("ParseRole(%q) accepted", bad)
		}
	}
}

func TestRoleAllows(t *testing.T) {
	for _, held := range append([]Role{NoRole}, Roles...) {
		for _, least := range append([]Role{NoRole}, Roles...) {
			want := held != NoRole && held >= least
			if got := held.Allows(least); got != want {
				t.Errorf("%s.Allows(%s) = %v, want %v", held, least, got, want)
			}
		}
	}
}

func TestRoleOf(t *testing.T) {
	cognito := RoleMapping{Claim: ClaimCognitoGroups}
	scope := RoleMapping{Claim: ClaimScope}
	scp := RoleMapping{Claim: ClaimScp}
	custom := RoleMapping{Claim: "roles", Names: map[Role][]string{Responder: {"sre", "oncall"}}}
	tests := []struct {
		name   string
		m      RoleMapping
		claims map[string]string
		want   Role
	}{
		{"no claim", RoleMapping{}, map[string]string{"sub": "u"}, NoRole},
		{"empty list", RoleMapping{}, map[string]string{"groups": "[]"}, NoRole},
		{"unknown group", RoleMapping{}, map[string]string{"groups": "[superusers everyone]"}, NoRole},
		{"a role's name without the list brackets", RoleMapping{}, map[string]string{"groups": "incident-viewers"}, Viewer},
		{"viewer", RoleMapping{}, map[string]string{"groups": "[incident-viewers]"}, Viewer},
		{"responder among others", RoleMapping{}, map[string]string{"groups": "[everyone incident-responders]"}, Responder},
		{"the highest of several", RoleMapping{}, map[string]string{"groups": "[incident-viewers incident-commanders incident-responders]"}, Commander},
		{"admin", RoleMapping{}, map[string]string{"groups": "[incident-admins]"}, Admin},
		{"JSON list", RoleMapping{}, map[string]string{"groups": `["incident-responders","x"]`}, Responder},
		{"a prefix is not the name", RoleMapping{}, map[string]string{"groups": "[incident-responders-old]"}, NoRole},
		{"case matters", RoleMapping{}, map[string]string{"groups": "[Incident-Admins]"}, NoRole},
		{"groups ignored when configured for cognito", cognito, map[string]string{"groups": "[incident-admins]"}, NoRole},
		{"cognito:groups", cognito, map[string]string{"cognito:groups": "[incident-commanders]"}, Commander},
		{"scope string", scope, map[string]string{"scope": "openid incident-response/responder"}, Responder},
		{"a group name is not a scope", scope, map[string]string{"scope": "incident-responders"}, NoRole},
		{"scp list", scp, map[string]string{"scp": "[incident-response/viewer incident-response/admin]"}, Admin},
		{"custom names replace the role's defaults", custom, map[string]string{"roles": "[oncall]"}, Responder},
		{"custom claim keeps other roles' defaults", custom, map[string]string{"roles": "[incident-commanders]"}, Commander},
		{"replaced default no longer grants", custom, map[string]string{"roles": "[incident-responders]"}, NoRole},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.m.RoleOf(tt.claims); got != tt.want {
				t.Errorf("RoleOf(%v) = %s, want %s", tt.claims, got, tt.want)
			}
		})
	}
}

func TestRoleMappingNames(t *testing.T) {
	var m RoleMapping
	if m.UsesScopes() || m.ClaimName() != "groups" {
		t.Errorf("default mapping: claim %q, scopes %v; want groups, no scopes", m.ClaimName(), m.UsesScopes())
	}
	if got, want := m.NamesAllowed(Responder), []string{"incident-responders", "incident-commanders", "incident-admins"}; !slices.Equal(got, want) {
		t.Errorf("NamesAllowed(responder) = %q, want %q", got, want)
	}
	s := RoleMapping{Claim: ClaimScope}
	if !s.UsesScopes() {
		t.Error("scope mapping does not use scopes")
	}
	if got, want := s.NamesAllowed(Commander), []string{"incident-response/commander", "incident-response/admin"}; !slices.Equal(got, want) {
		t.Errorf("NamesAllowed(commander) = %q, want %q", got, want)
	}
	if got := s.NamesAllowed(Viewer); len(got) != 4 {
		t.Errorf("NamesAllowed(viewer) = %q, want the four roles' scopes", got)
	}
}

func TestParseRoleMapping(t *testing.T) {
	m, err := ParseRoleMapping("cognito:groups", `{"responder": "oncall", "commander": ["ic", "sre-leads"]}`)
	if err != nil {
		t.Fatal(err)
	}
	if m.ClaimName() != "cognito:groups" || !slices.Equal(m.NamesOf(Responder), []string{"oncall"}) ||
		!slices.Equal(m.NamesOf(Commander), []string{"ic", "sre-leads"}) || !slices.Equal(m.NamesOf(Viewer), []string{"incident-viewers"}) {
		t.Errorf("mapping = %+v", m)
	}
	if m, err := ParseRoleMapping("", ""); err != nil || m.ClaimName() != "groups" {
		t.Errorf("empty settings = %+v, %v; want the defaults", m, err)
	}
	for _, c := range []struct{ claim, names, want string }{
		{"", `{"root": "x"}`, "not one of"},
		{"", `{"viewer": "a", "admin": "a"}`, "grants both"},
		{"", `{"viewer": "Incident Viewers"}`, "white space"},
		{"", `{"viewer": []}`, "no group or scope name"},
		{"", `{"viewer": [""]}`, "empty"},
		{"", `{"viewer": 3}`, "a name or a list"},
		{"", `["viewer"]`, "JSON object"},
		{"my groups", "", "white space"},
	} {
		if _, err := ParseRoleMapping(c.claim, c.names); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseRoleMapping(%q, %q) err = %v, want it to say %q", c.claim, c.names, err, c.want)
		}
	}
}

func TestRoleMappingFromEnv(t *testing.T) {
	t.Setenv(EnvRoleClaim, "scp")
	t.Setenv(EnvRoleNames, `{"admin": "api://incident-response/admin"}`)
	m, err := RoleMappingFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	if !m.UsesScopes() || m.RoleOf(map[string]string{"scp": "[api://incident-response/admin]"}) != Admin {
		t.Errorf("mapping from the environment = %+v", m)
	}
	// What NamesJSON writes, the function reads back unchanged.
	back, err := ParseRoleMapping(m.ClaimName(), m.NamesJSON())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range Roles {
		if !slices.Equal(back.NamesOf(r), m.NamesOf(r)) {
			t.Errorf("%s: %q after a round trip, want %q", r, back.NamesOf(r), m.NamesOf(r))
		}
	}
	t.Setenv(EnvRoleNames, `{"viewer": "a", "admin": "a"}`)
	if _, err := RoleMappingFromEnv(); err == nil || !strings.Contains(err.Error(), EnvRoleNames) {
		t.Errorf("bad names: err = %v, want it to name %s", err, EnvRoleNames)
	}
}

// TestActorNeedsVerifiedEmail: an email the token does not say is verified
// never names the caller, and the subject is always recorded (finding M8:
// a token with email=cto@... was recorded as the CTO).
func TestActorNeedsVerifiedEmail(t *testing.T) {
	tests := []struct {
		id   Identity
		want string
	}{
		{Identity{Subject: "u1", Email: "cto@dashboarduz.example", Name: "Mallory"}, "Mallory (u1)"},
		{Identity{Subject: "u1", Email: "cto@dashboarduz.example"}, "u1"},
		{Identity{Subject: "u1", Email: "oncall@dashboarduz.example", EmailVerified: true, Name: "Ada"}, "oncall@dashboarduz.example (u1)"},
		{Identity{Subject: "u1", Name: "Ada"}, "Ada (u1)"},
		{Identity{Subject: "u1", Name: "u1"}, "u1"},
		{Identity{Subject: "u1"}, "u1"},
		{Identity{Email: "a@b.example", EmailVerified: true}, ""},
	}
	for _, tt := range tests {
		if got := tt.id.Actor(); got != tt.want {
			t.Errorf("%+v.Actor() = %q, want %q", tt.id, got, tt.want)
		}
	}
}

func TestIdentityFromClaimsEmailVerified(t *testing.T) {
	for v, want := range map[string]bool{"true": true, "false": false, "": false, "yes": false, "True": false} {
		id, err := IdentityFromClaims(map[string]string{"sub": "u", "email": "a@b.example", "email_verified": v}, RoleMapping{})
		if err != nil || id.EmailVerified != want {
			t.Errorf("email_verified %q: %+v, %v; want verified %v", v, id, err, want)
		}
	}
}

// TestLocalTokensCarryRoles: the local issuer writes each role into the
// configured claim as an identity provider would, and its verifier reads
// it back through the same flattening API Gateway applies.
func TestLocalTokensCarryRoles(t *testing.T) {
	li, _ := issuers(t)
	for _, m := range []RoleMapping{{}, {Claim: ClaimCognitoGroups}, {Claim: ClaimScope}, {Claim: ClaimScp}} {
		li := li.WithRoles(m)
		v := li.Verifier()
		for _, r := range append([]Role{NoRole}, Roles...) {
			id := Identity{Subject: "user-9", Email: "ic@dashboarduz.example", EmailVerified: true, Name: "Ic", Role: r}
			tok, err := li.Token(id, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			got, err := v.Authenticate(request("Bearer " + tok))
			if err != nil {
				t.Fatalf("%s %s: %v", m.ClaimName(), r, err)
			}
			if got != id {
				t.Errorf("claim %s: identity %+v, want %+v", m.ClaimName(), got, id)
			}
		}
	}
	// A token made for one mapping grants nothing under another.
	tok, err := li.WithRoles(RoleMapping{Claim: ClaimCognitoGroups}).Token(Identity{Subject: "u", Role: Admin}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := li.Verifier().Authenticate(request("Bearer " + tok)); err != nil || got.Role != NoRole {
		t.Errorf("cognito:groups token read for groups: %+v, %v; want no role", got, err)
	}
}

func TestFlatValue(t *testing.T) {
	for _, c := range []struct {
		v    any
		want string
	}{
		{"a", "a"},
		{true, "true"},
		{[]any{"a", "b"}, "[a b]"},
		{[]any{}, "[]"},
		{nil, ""},
		{map[string]any{"k": "v"}, `{"k":"v"}`},
	} {
		if got := flatValue(c.v); got != c.want {
			t.Errorf("flatValue(%v) = %q, want %q", c.v, got, c.want)
		}
	}
}
