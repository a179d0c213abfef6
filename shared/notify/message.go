package notify

import (
	"bytes"
	"context"
	"embed"
	"fmt"
	"strings"
	"text/template"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/dashboarduz/incident-response/shared/incident"
)

// The action IDs of the alert's buttons; each button's value is the
// incident ID. Slack sends them back in block_actions payloads.
const (
	ActionAcknowledge = "incident_acknowledge"
	ActionResolve     = "incident_resolve"
	// ActionsBlockID is the block_id of the actions block that holds them.
	ActionsBlockID = "incident_actions"
)

// Slack's limits on the blocks used here.
const (
	maxHeader        = 150
	maxSectionFields = 10
	maxContextText   = 3000
)

//go:embed templates/*.tmpl
var templateFiles embed.FS

// templates holds one template per kind, named "<kind>.tmpl".
var templates = template.Must(template.New("").Option("missingkey=error").ParseFS(templateFiles, "templates/*.tmpl"))

// Message is one rendered message.
type Message struct {
	Kind       Kind
	IncidentID string
	// Summary is the message's first line: Slack's notification text and
	// an email's subject.
	Summary string
	// Text is the whole message as plain text, for email and the local
	// transcript.
	Text string
	// Blocks is the message as Slack Block Kit blocks.
	Blocks []slack.Block
}

// Message builds the view of inc and renders a message of kind from it.
func (b *Builder) Message(ctx context.Context, kind Kind, inc incident.Incident, timeline []incident.Entry, f Facts) (Message, error) {
	return Render(kind, b.View(ctx, kind, inc, timeline, f))
}

// Render renders a message of kind from v: the text from the kind's
// template file, and blocks from that text, so Slack shows what an email
// says.
func Render(kind Kind, v View) (Message, error) {
	t := templates.Lookup(string(kind) + ".tmpl")
	if t == nil {
		return Message{}, incident.Errorf(incident.EInvalid, "no template for message kind %q", kind)
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, v); err != nil {
		return Message{}, fmt.Errorf("render %s message for %s: %w", kind, v.IncidentID, err)
	}
	text := strings.TrimRight(buf.String(), "\n")
	summary, _, _ := strings.Cut(text, "\n")
	return Message{
		Kind:       kind,
		IncidentID: v.IncidentID,
		Summary:    summary,
		Text:       text,
		Blocks:     blocks(kind, v, text),
	}, nil
}

// blocks lays a rendered text out as Block Kit: the first line as the
// header, each "Label: value" line as a section field, other lines as
// context, and on an open incident's alert the Acknowledge and Resolve
// buttons.
func blocks(kind Kind, v View, text string) []slack.Block {
	lines := strings.Split(text, "\n")
	out := []slack.Block{slack.NewHeaderBlock(plain(truncate(lines[0], maxHeader)))}
	var fields []*slack.TextBlockObject
	var notes []string
	for _, l := range lines[1:] {
		if l = strings.TrimSpace(l); l == "" {
			continue
		}
		if label, value, ok := field(l); ok {
			fields = append(fields, mrkdwn("*"+Escape(label)+"*\n"+mrkdwnValue(value)))
		} else {
			notes = append(notes, Escape(l))
		}
	}
	for len(fields) > 0 {
		n := min(len(fields), maxSectionFields)
		out = append(out, slack.NewSectionBlock(nil, fields[:n], nil))
		fields = fields[n:]
	}
	if len(notes) > 0 {
		out = append(out, slack.NewContextBlock("", mrkdwn(truncate(strings.Join(notes, "\n"), maxContextText))))
	}
	if kind == KindAlert && !v.IsResolved {
		out = append(out, buttons(v))
	}
	return out
}

// buttons is the alert's actions block: Acknowledge while nobody has, and
// Resolve, each valued with the incident ID.
func buttons(v View) slack.Block {
	var elems []slack.BlockElement
	if !v.IsAcknowledged {
		ack := slack.NewButtonBlockElement(ActionAcknowledge, v.IncidentID, plain("Acknowledge"))
		ack.Style = slack.StylePrimary
		elems = append(elems, ack)
	}
	elems = append(elems, slack.NewButtonBlockElement(ActionResolve, v.IncidentID, plain("Resolve")))
	return slack.NewActionBlock(ActionsBlockID, elems...)
}

// field splits a "Label: value" line. A label is one to three capitalised
// words, as the templates write them.
func field(line string) (label, value string, ok bool) {
	label, value, ok = strings.Cut(line, ": ")
	if !ok || label == "" || len(strings.Fields(label)) > 3 || label[0] < 'A' || label[0] > 'Z' {
		return "", "", false
	}
	for _, r := range label {
		if !(r == ' ' || r == '-' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z') {
			return "", "", false
		}
	}
	return label, value, true
}

// mrkdwnValue escapes a field's value; an address becomes a link.
func mrkdwnValue(v string) string {
	if (strings.HasPrefix(v, "https://") || strings.HasPrefix(v, "http://")) && !strings.ContainsAny(v, " <>|") {
		return "<" + Escape(v) + ">"
	}
	return Escape(v)
}

// Escape escapes the three characters Slack's mrkdwn gives a meaning to,
// so text written by anyone (a title, a root cause) can neither mention
// @channel nor forge a link.
func Escape(s string) string { return mrkdwnEscaper.Replace(s) }

// mrkdwnEscaper is built once: Escape runs for every field of every
// message.
var mrkdwnEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

func plain(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.PlainTextType, s, true, false)
}

func mrkdwn(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, s, false, false)
}

// truncate cuts s to at most n runes, ending with an ellipsis when cut.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
