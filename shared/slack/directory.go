package slack

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/dashboarduz/incident-response/shared/incident"
)

// RoleViewer is the role that may read but not act: a Slack user mapped
// to it gets an answer, never an action.
const RoleViewer = "viewer"

// Responder is the person behind a Slack user, as the timeline names
// them.
type Responder struct {
	SlackUserID string `json:"-"`
	Email       string `json:"email,omitempty"`
	Name        string `json:"name,omitempty"`
	// Role is the responder's role (viewer, responder, ...), for the API
	// to check as it checks a token's; empty means none was configured.
	Role string `json:"role,omitempty"`
}

// Actor is how the timeline names the responder: their email, as the
// API's tokens do, or their name when the mapping has no email.
func (r Responder) Actor() string {
	if r.Email != "" {
		return r.Email
	}
	return r.Name
}

// CanAct reports whether the responder may acknowledge, resolve or report.
func (r Responder) CanAct() bool { return r.Role != RoleViewer }

// Directory maps Slack user IDs to responders. It is read from a JSON
// object such as
//
//	{"U024BE7LH": {"email": "dana@example.com", "name": "Dana Whitfield", "role": "responder"}}
//
// Only people in it can act from Slack. The zero value maps nobody.
type Directory struct {
	byID map[string]Responder
}

var (
	slackUserID = regexp.MustCompile(`^[UW][A-Z0-9]{2,20}$`)
	roleName    = regexp.MustCompile(`^[a-z][a-z-]{0,31}$`)
)

// ParseDirectory reads and checks a directory document. Unknown fields,
// malformed user IDs, entries with neither email nor name, and an email
// given to two users are errors, so a typo does not silently lock
// somebody out or let somebody act as another.
func ParseDirectory(data []byte) (Directory, error) {
	var raw map[string]Responder
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&raw); err != nil {
		return Directory{}, incident.Errorf(incident.EInvalid, "slack user directory: %v", err)
	}
	d := Directory{byID: make(map[string]Responder, len(raw))}
	emails := map[string]string{}
	for _, id := range sortedKeys(raw) {
		r := raw[id]
		r.SlackUserID = id
		r.Email, r.Name, r.Role = strings.TrimSpace(r.Email), strings.TrimSpace(r.Name), strings.TrimSpace(r.Role)
		if err := checkResponder(r); err != nil {
			return Directory{}, err
		}
		if r.Email != "" {
			key := strings.ToLower(r.Email)
			if other, ok := emails[key]; ok {
				return Directory{}, incident.Errorf(incident.EInvalid, "slack user directory: %s and %s have the same email %s", other, id, r.Email)
			}
			emails[key] = id
		}
		d.byID[id] = r
	}
	return d, nil
}

func checkResponder(r Responder) error {
	bad := func(format string, args ...any) error {
		return incident.Errorf(incident.EInvalid, "slack user directory: "+format, args...)
	}
	switch {
	case !slackUserID.MatchString(r.SlackUserID):
		return bad("%q is not a Slack user ID (U or W and capitals or digits)", r.SlackUserID)
	case r.Email == "" && r.Name == "":
		return bad("%s has neither email nor name", r.SlackUserID)
	case r.Email != "" && (!strings.Contains(r.Email, "@") || strings.ContainsAny(r.Email, " \t\r\n<>")):
		return bad("%s: %q is not an email address", r.SlackUserID, r.Email)
	case r.Role != "" && !roleName.MatchString(r.Role):
		return bad("%s: role %q is not a lower-case word", r.SlackUserID, r.Role)
	case strings.ContainsFunc(r.Name, func(c rune) bool { return c < ' ' || c == 0x7f }):
		return bad("%s: the name has control characters", r.SlackUserID)
	}
	return nil
}

// NewDirectory builds a directory from responders, checked as
// ParseDirectory checks a document.
func NewDirectory(rs ...Responder) (Directory, error) {
	m := map[string]Responder{}
	for _, r := range rs {
		if _, dup := m[r.SlackUserID]; dup {
			return Directory{}, incident.Errorf(incident.EInvalid, "slack user directory: %s appears twice", r.SlackUserID)
		}
		m[r.SlackUserID] = r
	}
	data, err := json.Marshal(m)
	if err != nil {
		return Directory{}, fmt.Errorf("slack user directory: %w", err)
	}
	return ParseDirectory(data)
}

// Lookup returns the responder behind a Slack user ID.
func (d Directory) Lookup(slackUserID string) (Responder, bool) {
	r, ok := d.byID[slackUserID]
	return r, ok
}

// SlackUserIDs returns the Slack users with the given emails (compared
// without case), to invite the people paged to an incident's channel, and
// the emails nobody in the directory has.
func (d Directory) SlackUserIDs(emails ...string) (ids, unknown []string) {
	for _, e := range emails {
		found := ""
		for _, id := range sortedKeys(d.byID) {
			if r := d.byID[id]; r.Email != "" && strings.EqualFold(r.Email, strings.TrimSpace(e)) {
				found = id
				break
			}
		}
		switch {
		case found == "":
			unknown = append(unknown, e)
		case !slices.Contains(ids, found):
			ids = append(ids, found)
		}
	}
	return ids, unknown
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
