package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	slackgo "github.com/slack-go/slack"

	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/notify"
)

// MaxBody bounds the body of a request from Slack; its interaction
// payloads are far smaller.
const MaxBody = 1 << 20

// MaxTitle bounds the title of an incident reported with the slash
// command.
const MaxTitle = 200

// DefaultSlashCommand is the slash command that reports an incident.
const DefaultSlashCommand = "/incident"

// CommandKind says what a request from Slack asks for.
type CommandKind string

// The kinds of command.
const (
	// CommandAcknowledge: the Acknowledge button.
	CommandAcknowledge CommandKind = "acknowledge"
	// CommandAskRootCause: the Resolve button. The API opens the resolve
	// modal (Notifier.OpenResolveModal) with the command's TriggerID.
	CommandAskRootCause CommandKind = "ask-root-cause"
	// CommandResolve: the resolve modal was submitted with a root cause.
	CommandResolve CommandKind = "resolve"
	// CommandReport: the slash command reported an incident.
	CommandReport CommandKind = "report"
	// CommandHelp: the slash command asked for help or could not be read;
	// answer with Help.
	CommandHelp CommandKind = "help"
	// CommandIgnore: nothing to do (a modal closed, another app's button).
	CommandIgnore CommandKind = "ignore"
)

// Surface is where in Slack a request came from, which decides how it is
// answered.
type Surface string

// The surfaces.
const (
	SurfaceSlash  Surface = "slash-command"
	SurfaceAction Surface = "block-action"
	SurfaceView   Surface = "view-submission"
)

// Command is a request from Slack in the domain's words.
type Command struct {
	Kind    CommandKind
	Surface Surface
	// IncidentID is the incident acted on (acknowledge, ask-root-cause,
	// resolve).
	IncidentID string
	// SlackUserID is who acted, and Responder who that is.
	SlackUserID string
	Responder   Responder
	// Report fields: the API's user report.
	Severity    incident.Severity
	Service     string
	Title       string
	Description string
	// Resolve fields.
	RootCause string
	Summary   string
	// Help is the answer to a help command.
	Help string
	// Alert is the alert message the button was on, or the modal was
	// opened from: the message to update once the incident changes.
	Alert MessageRef
	// TriggerID opens a modal; ResponseURL answers the user.
	TriggerID   string
	ResponseURL string
}

// Inbound turns Slack's requests into Commands.
type Inbound struct {
	Verifier  *Verifier
	Directory Directory
	// TeamID, when set, is the only workspace whose users may act.
	TeamID string
	// SlashCommand is the command that reports; empty means
	// DefaultSlashCommand.
	SlashCommand string
	// Services, when set, are the services a report may name.
	Services []string
}

// MalformedError means a signed request could not be read: Slack never
// sends one, so the API answers 400.
type MalformedError struct {
	Reason string
}

// Error returns the reason.
func (e *MalformedError) Error() string { return "malformed Slack request: " + e.Reason }

// UserError is a request from Slack that is answered, not acted on: the
// user is not in the directory or may not act, or the modal needs fixing.
// Reply answers it on its surface.
type UserError struct {
	Surface     Surface
	SlackUserID string
	ResponseURL string
	// Message is shown to the user who acted, and to nobody else.
	Message string
	// BlockID is the modal input the message is about.
	BlockID string
}

// Error returns the message.
func (e *UserError) Error() string {
	return fmt.Sprintf("Slack request by %s refused: %s", e.SlackUserID, e.Message)
}

// Parse verifies a request from Slack (its headers and raw body) and reads
// it: an interaction payload (a button, the resolve modal) or the slash
// command. Errors are *UnverifiedError (401), *MalformedError (400),
// *UserError (answered with ErrorReply, never acted on) or an error
// reading the signing secrets.
func (in *Inbound) Parse(ctx context.Context, h http.Header, body []byte) (Command, error) {
	if len(body) > MaxBody {
		return Command{}, &MalformedError{Reason: fmt.Sprintf("the body is larger than %d bytes", MaxBody)}
	}
	if in.Verifier == nil {
		return Command{}, errors.New("parse Slack request: no verifier configured")
	}
	if err := in.Verifier.Verify(ctx, h, body); err != nil {
		return Command{}, err
	}
	return in.ParseVerified(body)
}

// ParseVerified reads a request body whose signature was checked; the API
// calls Parse, which checks it first.
func (in *Inbound) ParseVerified(body []byte) (Command, error) {
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return Command{}, &MalformedError{Reason: "the body is not a form"}
	}
	switch {
	case form.Has("payload"):
		return in.interaction(form.Get("payload"))
	case form.Has("command"):
		return in.slash(body)
	}
	return Command{}, &MalformedError{Reason: "the form has neither payload nor command"}
}

// interaction reads a block_actions or view_submission payload.
func (in *Inbound) interaction(payload string) (Command, error) {
	var cb slackgo.InteractionCallback
	if err := json.Unmarshal([]byte(payload), &cb); err != nil {
		return Command{}, &MalformedError{Reason: "the payload is not an interaction: " + err.Error()}
	}
	switch cb.Type {
	case slackgo.InteractionTypeBlockActions:
		return in.blockAction(cb)
	case slackgo.InteractionTypeViewSubmission:
		return in.viewSubmission(cb)
	}
	return Command{Kind: CommandIgnore}, nil
}

func (in *Inbound) blockAction(cb slackgo.InteractionCallback) (Command, error) {
	cmd := Command{Surface: SurfaceAction, SlackUserID: cb.User.ID, TriggerID: cb.TriggerID, ResponseURL: cb.ResponseURL,
		Alert: MessageRef{Channel: firstNonEmpty(cb.Container.ChannelID, cb.Channel.ID), TS: firstNonEmpty(cb.Container.MessageTs, cb.Message.Timestamp)}}
	var action *slackgo.BlockAction
	for _, a := range cb.ActionCallback.BlockActions {
		if a != nil && (a.ActionID == notify.ActionAcknowledge || a.ActionID == notify.ActionResolve) {
			action = a
			break
		}
	}
	if action == nil {
		return Command{Kind: CommandIgnore}, nil
	}
	cmd.Kind = CommandAcknowledge
	if action.ActionID == notify.ActionResolve {
		cmd.Kind = CommandAskRootCause
	}
	if !ValidIncidentID(action.Value) {
		return Command{}, &MalformedError{Reason: "the button's value is not an incident ID"}
	}
	cmd.IncidentID = action.Value
	return in.withResponder(cmd, cb.Team.ID)
}

func (in *Inbound) viewSubmission(cb slackgo.InteractionCallback) (Command, error) {
	if cb.View.CallbackID != ResolveCallbackID {
		return Command{Kind: CommandIgnore}, nil
	}
	var meta resolveMetadata
	if err := json.Unmarshal([]byte(cb.View.PrivateMetadata), &meta); err != nil || !ValidIncidentID(meta.IncidentID) {
		return Command{}, &MalformedError{Reason: "the modal's private_metadata names no incident"}
	}
	cmd := Command{Kind: CommandResolve, Surface: SurfaceView, SlackUserID: cb.User.ID, IncidentID: meta.IncidentID, Alert: meta.Alert, TriggerID: cb.TriggerID}
	cmd, err := in.withResponder(cmd, cb.Team.ID)
	if err != nil {
		return Command{}, err
	}
	cmd.RootCause = cleanText(inputValue(cb.View.State, RootCauseBlockID, RootCauseActionID), true)
	cmd.Summary = cleanText(inputValue(cb.View.State, SummaryBlockID, SummaryActionID), true)
	switch {
	case cmd.RootCause == "":
		return Command{}, &UserError{Surface: SurfaceView, SlackUserID: cmd.SlackUserID, BlockID: RootCauseBlockID, Message: "Say what caused the incident: the resolution message and the post-mortem need it."}
	case utf8.RuneCountInString(cmd.RootCause) > MaxRootCause:
		return Command{}, &UserError{Surface: SurfaceView, SlackUserID: cmd.SlackUserID, BlockID: RootCauseBlockID, Message: fmt.Sprintf("Keep the root cause under %d characters.", MaxRootCause)}
	case utf8.RuneCountInString(cmd.Summary) > MaxRootCause:
		return Command{}, &UserError{Surface: SurfaceView, SlackUserID: cmd.SlackUserID, BlockID: SummaryBlockID, Message: fmt.Sprintf("Keep the summary under %d characters.", MaxRootCause)}
	}
	return cmd, nil
}

func inputValue(state *slackgo.ViewState, block, action string) string {
	if state == nil {
		return ""
	}
	return state.Values[block][action].Value
}

// withResponder maps the Slack user to a responder; a user the directory
// does not know, or who may not act, is answered and nothing is done.
func (in *Inbound) withResponder(cmd Command, teamID string) (Command, error) {
	refuse := func(msg string) (Command, error) {
		return Command{}, &UserError{Surface: cmd.Surface, SlackUserID: cmd.SlackUserID, ResponseURL: cmd.ResponseURL, Message: msg, BlockID: RootCauseBlockID}
	}
	if in.TeamID != "" && teamID != in.TeamID {
		return refuse("This Slack workspace is not the one incident response serves; nothing was changed.")
	}
	r, ok := in.Directory.Lookup(cmd.SlackUserID)
	if !ok {
		return refuse("You are not in incident response's list of responders, so nothing was changed. Ask an admin to map your Slack user to your responder identity.")
	}
	if !r.CanAct() {
		return refuse("Your role (" + r.Role + ") may read incidents but not change them; nothing was changed.")
	}
	cmd.Responder = r
	return cmd, nil
}

// slash reads the slash command with slack-go's parser.
func (in *Inbound) slash(body []byte) (Command, error) {
	req, err := http.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
	if err != nil {
		return Command{}, &MalformedError{Reason: err.Error()}
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	sc, err := slackgo.SlashCommandParse(req)
	if err != nil {
		return Command{}, &MalformedError{Reason: "the slash command cannot be read: " + err.Error()}
	}
	want := in.SlashCommand
	if want == "" {
		want = DefaultSlashCommand
	}
	if sc.Command != want {
		return Command{}, &MalformedError{Reason: fmt.Sprintf("the command is %q, not %s", sc.Command, want)}
	}
	cmd := Command{Surface: SurfaceSlash, SlackUserID: sc.UserID, ResponseURL: sc.ResponseURL, TriggerID: sc.TriggerID}
	sev, service, title, problem, ok := in.parseReport(sc.Text)
	if !ok {
		cmd.Kind, cmd.Help = CommandHelp, in.help(want, problem)
		return cmd, nil
	}
	cmd, err = in.withResponder(cmd, sc.TeamID)
	if err != nil {
		return Command{}, err
	}
	cmd.Kind, cmd.Severity, cmd.Service, cmd.Title = CommandReport, sev, service, title
	where := ""
	if name := cleanText(sc.ChannelName, false); name != "" && name != "directmessage" && name != "privategroup" {
		where = " in #" + name
	}
	cmd.Description = fmt.Sprintf("Reported in Slack by %s%s: %s", firstNonEmpty(cmd.Responder.Name, cmd.Responder.Actor()), where, title)
	return cmd, nil
}

var serviceName = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`)

// parseReport reads "<severity> <service> <title>". ok is false for an
// empty text or "help" (problem empty) and for text it cannot read
// (problem says why).
func (in *Inbound) parseReport(text string) (sev incident.Severity, service, title, problem string, ok bool) {
	fields := strings.Fields(unescapeSlack(text))
	if len(fields) == 0 || len(fields) == 1 && strings.EqualFold(fields[0], "help") {
		return "", "", "", "", false
	}
	sev = incident.Severity(strings.ToUpper(fields[0]))
	if _, err := incident.ParseSeverity(string(sev)); err != nil {
		return "", "", "", fmt.Sprintf("%q is not a severity.", clip(fields[0], 20)), false
	}
	if len(fields) < 3 {
		return "", "", "", "Give the severity, the service and what is wrong.", false
	}
	service = strings.ToLower(fields[1])
	switch {
	case !serviceName.MatchString(service):
		return "", "", "", fmt.Sprintf("%q is not a service name.", clip(fields[1], 40)), false
	case len(in.Services) > 0 && !slices.Contains(in.Services, service):
		return "", "", "", fmt.Sprintf("%q is not one of the services.", service), false
	}
	title = cleanText(strings.Join(fields[2:], " "), false)
	switch {
	case title == "":
		return "", "", "", "Say what is wrong.", false
	case utf8.RuneCountInString(title) > MaxTitle:
		return "", "", "", fmt.Sprintf("Keep what is wrong under %d characters; add detail in the incident's thread.", MaxTitle), false
	}
	return sev, service, title, "", true
}

// help is the slash command's usage, after what was wrong, if anything.
func (in *Inbound) help(command, problem string) string {
	var b strings.Builder
	if problem != "" {
		b.WriteString(problem + "\n")
	}
	fmt.Fprintf(&b, "Report an incident: `%s <severity> <service> <what is wrong>`\n", command)
	fmt.Fprintf(&b, "For example: `%s P2 dashboarduz-api Exports time out`\n", command)
	b.WriteString("Severities: P0 (critical: outage, data loss, security breach), P1 (high), P2 (medium), P3 (low).")
	if len(in.Services) > 0 {
		b.WriteString("\nServices: " + strings.Join(in.Services, ", ") + ".")
	}
	return b.String()
}

// unescapeSlack undoes the three escapes Slack applies to the text it
// sends (&amp; &lt; &gt;).
func unescapeSlack(s string) string {
	return strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&").Replace(s)
}

// cleanText removes control and bidirectional-override characters (so a
// title reads as it is stored) and trims it; multi keeps line breaks.
func cleanText(s string, multi bool) string {
	s = strings.ToValidUTF8(unescapeSlack(s), "")
	s = strings.Map(func(r rune) rune {
		switch {
		case multi && r == '\n':
			return r
		case r == '\t' || r == '\r' || r == '\n':
			return ' '
		case unicode.IsControl(r), r >= 0x202A && r <= 0x202E, r >= 0x2066 && r <= 0x2069, r == 0x200E, r == 0x200F, r == 0x061C:
			return -1
		}
		return r
	}, s)
	return strings.TrimSpace(s)
}

var incidentIDPattern = regexp.MustCompile(`^inc-[A-Za-z0-9-]{1,120}$`)

// ValidIncidentID reports whether s can be an incident ID.
func ValidIncidentID(s string) bool { return incidentIDPattern.MatchString(s) }

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}

// Reply is how to answer a request from Slack: an HTTP status and body,
// and for a block action, whose HTTP answer Slack ignores, a message to
// post to its response_url with Notifier.Respond.
type Reply struct {
	Status int
	// Body is JSON, or nil for an empty answer.
	Body        []byte
	ResponseURL string
	FollowUp    string
}

// Reply answers the command on its surface with text, seen only by the
// user who acted: the outcome of the command, or why it failed. An empty
// text closes a modal or acknowledges a button without a word.
func (c Command) Reply(text string) Reply {
	switch {
	case text == "":
		return Reply{Status: http.StatusOK}
	case c.Surface == SurfaceSlash:
		return Reply{Status: http.StatusOK, Body: Ephemeral(text)}
	case c.Surface == SurfaceView:
		return Reply{Status: http.StatusOK, Body: viewErrors(RootCauseBlockID, text)}
	}
	return Reply{Status: http.StatusOK, ResponseURL: c.ResponseURL, FollowUp: text}
}

// ErrorReply answers a request Parse refused.
func ErrorReply(err error) Reply {
	var (
		unverified *UnverifiedError
		malformed  *MalformedError
		user       *UserError
	)
	switch {
	case errors.As(err, &unverified):
		return Reply{Status: http.StatusUnauthorized, Body: errorJSON("the request is not signed by Slack")}
	case errors.As(err, &malformed):
		return Reply{Status: http.StatusBadRequest, Body: errorJSON(malformed.Reason)}
	case errors.As(err, &user):
		c := Command{Surface: user.Surface, ResponseURL: user.ResponseURL}
		if user.Surface == SurfaceView {
			return Reply{Status: http.StatusOK, Body: viewErrors(firstNonEmpty(user.BlockID, RootCauseBlockID), user.Message)}
		}
		return c.Reply(user.Message)
	}
	return Reply{Status: http.StatusInternalServerError, Body: errorJSON("internal error")}
}

// Ephemeral is the JSON body of an answer only its user sees: just the
// two fields Slack needs, since slack-go's Msg would add a null blocks.
func Ephemeral(text string) []byte {
	b, _ := json.Marshal(struct {
		ResponseType string `json:"response_type"`
		Text         string `json:"text"`
	}{slackgo.ResponseTypeEphemeral, text})
	return b
}

func viewErrors(blockID, text string) []byte {
	b, _ := json.Marshal(slackgo.NewErrorsViewSubmissionResponse(map[string]string{blockID: text}))
	return b
}

func errorJSON(msg string) []byte {
	b, _ := json.Marshal(map[string]string{"error": msg})
	return b
}
