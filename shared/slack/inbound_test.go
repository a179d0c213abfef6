package slack

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	slackgo "github.com/slack-go/slack"

	"github.com/dashboarduz/incident-response/shared/incident"
)

const secret = "8f742231b10e8888abcd99yyyzzz85a5"

// now is when the fixtures' requests arrive.
var now = time.Date(2026, 3, 1, 3, 4, 5, 0, time.UTC)

func testDirectory(t testing.TB) Directory {
	t.Helper()
	raw, err := os.ReadFile("testdata/directory.json")
	if err != nil {
		t.Fatal(err)
	}
	d, err := ParseDirectory(raw)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func inbound(t testing.TB) *Inbound {
	return &Inbound{
		Verifier:  &Verifier{Secrets: StaticSecrets{secret}, Clock: at(now)},
		Directory: testDirectory(t),
		TeamID:    "T0DASHBRDZ",
	}
}

// interactionBody is the form Slack posts an interaction payload in.
func interactionBody(payload []byte) []byte {
	return []byte(url.Values{"payload": {string(payload)}}.Encode())
}

// signed signs body as Slack would, at now.
func signed(body []byte) http.Header {
	h := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	SignRequest(h, secret, now, body)
	return h
}

func parse(t *testing.T, in *Inbound, body []byte) (Command, error) {
	t.Helper()
	return in.Parse(context.Background(), signed(body), body)
}

func TestAcknowledgeButton(t *testing.T) {
	cmd, err := parse(t, inbound(t), interactionBody(readEvent(t, "block-actions-acknowledge.json")))
	if err != nil {
		t.Fatal(err)
	}
	want := Command{
		Kind: CommandAcknowledge, Surface: SurfaceAction, IncidentID: "inc-20260301-030000-c0f8ae04e8",
		SlackUserID: "U024BE7LH", Responder: Responder{SlackUserID: "U024BE7LH", Email: "dana@dashboarduz.example", Name: "Dana Whitfield", Role: "responder"},
		Alert:       MessageRef{Channel: "C0INCIDENTS", TS: "1772334000.000100"},
		TriggerID:   "1772334245.412345678901.5d2c7b9f0e1a4c3b8d6e2f1a0b9c8d7e",
		ResponseURL: "https://hooks.slack.com/actions/T0DASHBRDZ/1772334245123/4bkZ8Qe2cXr7Tn0Lm5Wd1Ys9",
	}
	if cmd != want {
		t.Errorf("command\n%+v\nwant\n%+v", cmd, want)
	}
	if cmd.Responder.Actor() != "dana@dashboarduz.example" {
		t.Errorf("actor %q", cmd.Responder.Actor())
	}
	r := cmd.Reply("Acknowledged inc-20260301-030000-c0f8ae04e8.")
	if r.Status != 200 || r.Body != nil || r.ResponseURL != want.ResponseURL || r.FollowUp == "" {
		t.Errorf("reply %+v, want an empty 200 and a follow-up to the response_url", r)
	}
}

func TestResolveButtonAsksForRootCause(t *testing.T) {
	cmd, err := parse(t, inbound(t), interactionBody(readEvent(t, "block-actions-resolve.json")))
	if err != nil {
		t.Fatal(err)
	}
	if cmd.Kind != CommandAskRootCause || cmd.IncidentID != "inc-20260301-030000-c0f8ae04e8" || cmd.TriggerID == "" || cmd.Alert.TS != "1772334000.000100" {
		t.Errorf("command %+v", cmd)
	}
	// The modal the API opens names the same incident and alert the
	// submission brings back.
	modal := ResolveModal(cmd.IncidentID, cmd.Alert)
	var meta resolveMetadata
	if err := json.Unmarshal([]byte(modal.PrivateMetadata), &meta); err != nil || meta.IncidentID != cmd.IncidentID || meta.Alert != cmd.Alert {
		t.Errorf("modal metadata %q", modal.PrivateMetadata)
	}
	if modal.CallbackID != ResolveCallbackID || !slackgo.ValidateUniqueBlockID(modal) {
		t.Errorf("modal %+v", modal)
	}
}

func TestResolveSubmission(t *testing.T) {
	cmd, err := parse(t, inbound(t), interactionBody(readEvent(t, "view-submission-resolve.json")))
	if err != nil {
		t.Fatal(err)
	}
	if cmd.Kind != CommandResolve || cmd.Surface != SurfaceView || cmd.IncidentID != "inc-20260301-030000-c0f8ae04e8" ||
		cmd.RootCause != "The 02:40 deploy shipped a connection-pool size of 1" || cmd.Summary != "Rolled back to task definition 41" ||
		cmd.Alert != (MessageRef{Channel: "C0INCIDENTS", TS: "1772334000.000100"}) || cmd.Responder.Name != "Dana Whitfield" {
		t.Errorf("command %+v", cmd)
	}
	if r := cmd.Reply(""); r.Status != 200 || r.Body != nil {
		t.Errorf("success reply %+v, want an empty 200 that closes the modal", r)
	}
	r := cmd.Reply("incident is already resolved")
	if !strings.Contains(string(r.Body), `"response_action":"errors"`) || !strings.Contains(string(r.Body), `"root_cause":"incident is already resolved"`) {
		t.Errorf("failure reply %s, want the error on the root-cause input", r.Body)
	}
}

func TestResolveSubmissionWithoutRootCause(t *testing.T) {
	var payload map[string]any
	if err := json.Unmarshal(readEvent(t, "view-submission-resolve.json"), &payload); err != nil {
		t.Fatal(err)
	}
	values := payload["view"].(map[string]any)["state"].(map[string]any)["values"].(map[string]any)
	values["root_cause"].(map[string]any)["root_cause_input"].(map[string]any)["value"] = " \u202e\n "
	raw, _ := json.Marshal(payload)
	_, err := parse(t, inbound(t), interactionBody(raw))
	var ue *UserError
	if !errors.As(err, &ue) || ue.BlockID != RootCauseBlockID {
		t.Fatalf("Parse: %v, want a UserError on the root cause", err)
	}
	if r := ErrorReply(err); r.Status != 200 || !strings.Contains(string(r.Body), `"root_cause":"Say what caused`) {
		t.Errorf("reply %d %s", r.Status, r.Body)
	}
}

func TestIgnored(t *testing.T) {
	other := strings.ReplaceAll(string(readEvent(t, "block-actions-acknowledge.json")), `"incident_acknowledge"`, `"someone_elses_button"`)
	for name, payload := range map[string][]byte{
		"view closed":     readEvent(t, "view-closed.json"),
		"another button":  []byte(other),
		"another modal":   []byte(strings.ReplaceAll(string(readEvent(t, "view-submission-resolve.json")), `"callback_id": "incident_resolve"`, `"callback_id": "feedback"`)),
		"a shortcut type": []byte(`{"type":"shortcut","callback_id":"x","user":{"id":"U024BE7LH"}}`),
	} {
		cmd, err := parse(t, inbound(t), interactionBody(payload))
		if err != nil || cmd.Kind != CommandIgnore {
			t.Errorf("%s: %+v, %v; want ignored", name, cmd, err)
		}
	}
}

func TestSlashCommandReport(t *testing.T) {
	in := inbound(t)
	in.Services = []string{"dashboarduz-api", "dashboarduz-worker"}
	cmd, err := parse(t, in, readEvent(t, "slash-command-report.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if cmd.Kind != CommandReport || cmd.Surface != SurfaceSlash || cmd.Severity != incident.P2 || cmd.Service != "dashboarduz-api" ||
		cmd.Title != "Exports time out" || cmd.Description != "Reported in Slack by Dana Whitfield in #general: Exports time out" ||
		cmd.Responder.Email != "dana@dashboarduz.example" {
		t.Errorf("command %+v", cmd)
	}
	r := cmd.Reply("Reported inc-20260301-091500-5d1e2f3a4b.")
	var msg map[string]any
	if err := json.Unmarshal(r.Body, &msg); err != nil || msg["response_type"] != "ephemeral" || msg["text"] != "Reported inc-20260301-091500-5d1e2f3a4b." {
		t.Errorf("reply %s", r.Body)
	}
}

// slashBody is the report fixture with another text and user.
func slashBody(t testing.TB, text, user string) []byte {
	t.Helper()
	form, err := url.ParseQuery(string(readEvent(t, "slash-command-report.txt")))
	if err != nil {
		t.Fatal(err)
	}
	form.Set("text", text)
	form.Set("user_id", user)
	return []byte(form.Encode())
}

func TestSlashCommandHelp(t *testing.T) {
	in := inbound(t)
	in.Services = []string{"dashboarduz-api"}
	tests := []struct{ text, problem string }{
		{"", ""},
		{"help", ""},
		{"HELP", ""},
		{"P5 dashboarduz-api Down", `"P5" is not a severity.`},
		{"P1 dashboarduz-api", "Give the severity, the service and what is wrong."},
		{"P1 Dashboarduz/API Down", `"Dashboarduz/API" is not a service name.`},
		{"P1 billing Down", `"billing" is not one of the services.`},
		{"P1 dashboarduz-api " + strings.Repeat("slow ", 50), "Keep what is wrong under 200 characters"},
		{"P1 dashboarduz-api \u202e\x00", "Say what is wrong."},
	}
	for _, tt := range tests {
		cmd, err := parse(t, in, slashBody(t, tt.text, "U024BE7LH"))
		if err != nil {
			t.Fatalf("%q: %v", tt.text, err)
		}
		if cmd.Kind != CommandHelp || !strings.Contains(cmd.Help, "/incident <severity> <service> <what is wrong>") || !strings.HasPrefix(cmd.Help, tt.problem) {
			t.Errorf("%q: %+v, want help beginning %q", tt.text, cmd, tt.problem)
		}
	}
	if cmd, err := parse(t, in, readEvent(t, "slash-command-help.txt")); err != nil || cmd.Kind != CommandHelp || !strings.Contains(cmd.Help, "Services: dashboarduz-api.") {
		t.Errorf("help fixture: %+v, %v", cmd, err)
	}
	// Help needs no mapping: anyone may ask how the command works.
	if cmd, err := parse(t, in, slashBody(t, "help", "U0STRANGER")); err != nil || cmd.Kind != CommandHelp {
		t.Errorf("help from an unmapped user: %+v, %v", cmd, err)
	}
}

func TestSlashCommandUnescapesAndCleans(t *testing.T) {
	cmd, err := parse(t, inbound(t), slashBody(t, "p1 DASHBOARDUZ-API Exports &lt;&amp;&gt;\u202e time   out", "U024BE7LH"))
	if err != nil {
		t.Fatal(err)
	}
	if cmd.Kind != CommandReport || cmd.Severity != incident.P1 || cmd.Service != "dashboarduz-api" || cmd.Title != "Exports <&> time out" {
		t.Errorf("command %+v", cmd)
	}
}

func TestUnknownOrViewerUserIsAnsweredNotActedFor(t *testing.T) {
	ack := strings.ReplaceAll(string(readEvent(t, "block-actions-acknowledge.json")), "U024BE7LH", "U0STRANGER")
	viewerAck := strings.ReplaceAll(string(readEvent(t, "block-actions-acknowledge.json")), "U024BE7LH", "U0VIEWER1")
	resolve := strings.ReplaceAll(string(readEvent(t, "view-submission-resolve.json")), "U024BE7LH", "U0STRANGER")
	otherTeam := strings.ReplaceAll(string(readEvent(t, "block-actions-acknowledge.json")), `"id": "T0DASHBRDZ"`, `"id": "T0ELSEWHERE"`)
	tests := []struct {
		name    string
		body    []byte
		surface Surface
		says    string
	}{
		{"unmapped button", interactionBody([]byte(ack)), SurfaceAction, "not in incident response's list"},
		{"viewer button", interactionBody([]byte(viewerAck)), SurfaceAction, "may read incidents but not change them"},
		{"unmapped modal", interactionBody([]byte(resolve)), SurfaceView, "not in incident response's list"},
		{"unmapped slash", slashBody(t, "P2 dashboarduz-api Down", "U0STRANGER"), SurfaceSlash, "not in incident response's list"},
		{"other workspace", interactionBody([]byte(otherTeam)), SurfaceAction, "not the one incident response serves"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd, err := parse(t, inbound(t), tt.body)
			var ue *UserError
			if !errors.As(err, &ue) || ue.Surface != tt.surface || !strings.Contains(ue.Message, tt.says) {
				t.Fatalf("Parse: %+v, %v; want a UserError on %s saying %q", cmd, err, tt.surface, tt.says)
			}
			if cmd.Kind != "" {
				t.Errorf("a refused request gave a command %+v", cmd)
			}
			r := ErrorReply(err)
			if r.Status != http.StatusOK {
				t.Errorf("reply status %d, want 200 so Slack shows the answer", r.Status)
			}
			switch tt.surface {
			case SurfaceAction:
				if r.FollowUp != ue.Message || r.ResponseURL == "" {
					t.Errorf("button reply %+v, want the message for the response_url", r)
				}
			default:
				if !strings.Contains(string(r.Body), tt.says) {
					t.Errorf("reply body %s", r.Body)
				}
			}
		})
	}
}

func TestUnsignedStaleAndMalformed(t *testing.T) {
	in := inbound(t)
	body := interactionBody(readEvent(t, "block-actions-acknowledge.json"))
	stale := http.Header{}
	SignRequest(stale, secret, now.Add(-6*time.Minute), body)
	for name, h := range map[string]http.Header{"unsigned": {}, "stale": stale} {
		_, err := in.Parse(context.Background(), h, body)
		var u *UnverifiedError
		if !errors.As(err, &u) || ErrorReply(err).Status != http.StatusUnauthorized {
			t.Errorf("%s: %v, want *UnverifiedError and 401", name, err)
		}
	}
	for name, b := range map[string][]byte{
		"not a form":         []byte("%zz"),
		"no payload":         []byte("foo=bar"),
		"payload not JSON":   interactionBody([]byte("{")),
		"bad incident ID":    interactionBody([]byte(strings.ReplaceAll(string(readEvent(t, "block-actions-acknowledge.json")), `"value": "inc-20260301-030000-c0f8ae04e8"`, `"value": "../../etc"`))),
		"another command":    []byte(strings.ReplaceAll(string(readEvent(t, "slash-command-report.txt")), "%2Fincident", "%2Fweather")),
		"bad modal metadata": interactionBody([]byte(strings.ReplaceAll(string(readEvent(t, "view-submission-resolve.json")), `"private_metadata": "{`, `"private_metadata": "x{`))),
	} {
		_, err := parse(t, in, b)
		var m *MalformedError
		if !errors.As(err, &m) || ErrorReply(err).Status != http.StatusBadRequest {
			t.Errorf("%s: %v, want *MalformedError and 400", name, err)
		}
	}
	big := make([]byte, MaxBody+1)
	if _, err := in.Parse(context.Background(), signed(big), big); !errors.As(err, new(*MalformedError)) {
		t.Errorf("oversized body: %v", err)
	}
	if r := ErrorReply(errors.New("dynamo down")); r.Status != http.StatusInternalServerError || strings.Contains(string(r.Body), "dynamo") {
		t.Errorf("internal error reply %d %s", r.Status, r.Body)
	}
}

func TestParseDirectory(t *testing.T) {
	d := testDirectory(t)
	if len(d.byID) != 3 {
		t.Fatalf("%d users", len(d.byID))
	}
	if r, ok := d.Lookup("U0VIEWER1"); !ok || r.CanAct() {
		t.Errorf("viewer %+v can act", r)
	}
	bad := map[string]string{
		"not JSON":         `[`,
		"unknown field":    `{"U024BE7LH": {"email": "a@b.c", "team": "x"}}`,
		"bad user ID":      `{"dana": {"email": "a@b.c"}}`,
		"nobody":           `{"U024BE7LH": {}}`,
		"bad email":        `{"U024BE7LH": {"email": "dana"}}`,
		"same email twice": `{"U024BE7LH": {"email": "a@b.c"}, "U0G9QF9C6": {"email": "A@B.C"}}`,
		"bad role":         `{"U024BE7LH": {"name": "Dana", "role": "Root!"}}`,
		"control in name":  `{"U024BE7LH": {"name": "Dana\u0007"}}`,
	}
	for name, doc := range bad {
		if _, err := ParseDirectory([]byte(doc)); incident.ErrorCode(err) != incident.EInvalid {
			t.Errorf("%s: %v, want invalid", name, err)
		}
	}
	nd, err := NewDirectory(Responder{SlackUserID: "W0ENTERPRISE", Name: "Sam Roe"})
	if err != nil {
		t.Fatal(err)
	}
	if r, ok := nd.Lookup("W0ENTERPRISE"); !ok || r.Actor() != "Sam Roe" || !r.CanAct() {
		t.Errorf("name-only responder %+v", r)
	}
	if _, err := NewDirectory(Responder{SlackUserID: "U0A", Name: "a"}, Responder{SlackUserID: "U0A", Name: "b"}); err == nil {
		t.Error("NewDirectory accepted a user twice")
	}
}
