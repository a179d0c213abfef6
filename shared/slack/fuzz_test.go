package slack

import (
	"context"
	"crypto/hmac"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/dashboarduz/incident-response/shared/incident"
)

// fuzzFixtures are the request bodies of events/slack: interaction forms
// and slash commands.
func fuzzFixtures(t testing.TB) [][]byte {
	var out [][]byte
	for _, name := range []string{"block-actions-acknowledge.json", "block-actions-resolve.json", "view-submission-resolve.json", "view-closed.json"} {
		out = append(out, interactionBody(readEvent(t, name)))
	}
	for _, name := range []string{"slash-command-report.txt", "slash-command-help.txt"} {
		out = append(out, readEvent(t, name))
	}
	return out
}

// FuzzVerify feeds the Verifier headers and bodies: it must never panic,
// must refuse with *UnverifiedError, and may accept only a body signed
// with the secret at a timestamp within five minutes of its clock.
func FuzzVerify(f *testing.F) {
	ex, h, sent := loadSigningExample(f)
	f.Add(h.Get(HeaderTimestamp), h.Get(HeaderSignature), []byte(ex.Body))
	for _, body := range fuzzFixtures(f) {
		sh := http.Header{}
		SignRequest(sh, ex.SigningSecret, sent, body)
		f.Add(sh.Get(HeaderTimestamp), sh.Get(HeaderSignature), body)
	}
	v := &Verifier{Secrets: StaticSecrets{"other-secret", ex.SigningSecret}, Clock: at(sent)}
	f.Fuzz(func(t *testing.T, ts, sig string, body []byte) {
		hh := http.Header{}
		hh.Set(HeaderTimestamp, ts)
		hh.Set(HeaderSignature, sig)
		err := v.Verify(context.Background(), hh, body)
		if err != nil {
			var u *UnverifiedError
			if !errors.As(err, &u) {
				t.Fatalf("Verify: %v (%T), want *UnverifiedError", err, err)
			}
			return
		}
		want := hex.EncodeToString(Sign(ex.SigningSecret, hh.Get(HeaderTimestamp), body))
		got := strings.TrimPrefix(hh.Get(HeaderSignature), "v0=")
		if !hmac.Equal([]byte(strings.ToLower(got)), []byte(want)) {
			t.Fatalf("accepted signature %q, the secret gives %q", got, want)
		}
		if err := v.fresh(hh.Get(HeaderTimestamp)); err != nil {
			t.Fatalf("accepted a stale timestamp %q", ts)
		}
	})
}

// FuzzParseVerified feeds the interaction and slash-command parsers signed
// bodies: they must never panic, must fail only with *MalformedError or
// *UserError (never an internal error), and a command they return must be
// one the API can act on safely.
func FuzzParseVerified(f *testing.F) {
	for _, body := range fuzzFixtures(f) {
		f.Add(body)
	}
	in := inbound(f)
	in.Services = []string{"dashboarduz-api", "dashboarduz-worker"}
	f.Fuzz(func(t *testing.T, body []byte) {
		cmd, err := in.ParseVerified(body)
		if err != nil {
			checkRefusal(t, err)
			return
		}
		checkCommand(t, in, cmd)
	})
}

// FuzzReportText feeds the slash command's text: whatever a user types, the
// answer is a report that passes the API's checks or help.
func FuzzReportText(f *testing.F) {
	for _, s := range []string{"P2 dashboarduz-api Exports time out", "", "help", "p0 DASHBOARDUZ-API &lt;!channel&gt; down", "P1 dashboarduz-api \u202e\x00", "P9 x y", "P1 dashboarduz-worker " + strings.Repeat("é", 199)} {
		f.Add(s)
	}
	in := inbound(f)
	dana, _ := in.Directory.Lookup("U024BE7LH")
	f.Fuzz(func(t *testing.T, text string) {
		sev, service, title, problem, ok := in.parseReport(text)
		if !ok {
			if help := in.help(DefaultSlashCommand, problem); !strings.Contains(help, "/incident <severity>") || !utf8.ValidString(problem) {
				t.Fatalf("help %q for %q", help, text)
			}
			return
		}
		checkCommand(t, in, Command{Kind: CommandReport, Severity: sev, Service: service, Title: title, Description: title,
			Responder: dana})
	})
}

func checkRefusal(t *testing.T, err error) {
	t.Helper()
	var (
		m *MalformedError
		u *UserError
	)
	switch {
	case errors.As(err, &m):
		if r := ErrorReply(err); r.Status != http.StatusBadRequest {
			t.Fatalf("malformed answered %d", r.Status)
		}
	case errors.As(err, &u):
		if r := ErrorReply(err); r.Status != http.StatusOK || (r.Body == nil && r.FollowUp == "") {
			t.Fatalf("refusal answered %+v", r)
		}
	default:
		t.Fatalf("ParseVerified: %v (%T), want *MalformedError or *UserError", err, err)
	}
}

func checkCommand(t *testing.T, in *Inbound, cmd Command) {
	t.Helper()
	switch cmd.Kind {
	case CommandIgnore:
		return
	case CommandHelp:
		if !strings.Contains(cmd.Help, "/incident <severity>") {
			t.Fatalf("help %q", cmd.Help)
		}
		return
	case CommandAcknowledge, CommandAskRootCause, CommandResolve:
		if !ValidIncidentID(cmd.IncidentID) {
			t.Fatalf("%s of %q, not an incident ID", cmd.Kind, cmd.IncidentID)
		}
	case CommandReport:
		if _, err := incident.ParseSeverity(string(cmd.Severity)); err != nil || !serviceName.MatchString(cmd.Service) {
			t.Fatalf("report of %q %q", cmd.Severity, cmd.Service)
		}
		if cmd.Title == "" || utf8.RuneCountInString(cmd.Title) > MaxTitle || !clean(cmd.Title) || cmd.Description == "" {
			t.Fatalf("report titled %q described %q", cmd.Title, cmd.Description)
		}
	default:
		t.Fatalf("unknown command kind %q", cmd.Kind)
	}
	if cmd.Kind == CommandResolve && (strings.TrimSpace(cmd.RootCause) == "" || !clean(strings.ReplaceAll(cmd.RootCause, "\n", " "))) {
		t.Fatalf("resolve with root cause %q", cmd.RootCause)
	}
	r, ok := in.Directory.Lookup(cmd.Responder.SlackUserID)
	if !ok || r != cmd.Responder || !r.CanAct() || cmd.Responder.Actor() == "" {
		t.Fatalf("%s by %+v, not a responder who may act", cmd.Kind, cmd.Responder)
	}
}

// clean reports text free of control and bidirectional-override
// characters.
func clean(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsFunc(s, func(r rune) bool {
		return unicode.IsControl(r) || r >= 0x202A && r <= 0x202E || r >= 0x2066 && r <= 0x2069
	})
}
