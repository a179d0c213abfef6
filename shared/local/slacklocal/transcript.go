package slacklocal

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	slackgo "github.com/slack-go/slack"
)

// Transcript writes the messages of a channel (an ID or a name such as
// "#incidents"; "" for every channel) as a person reads them in Slack:
// in the order they were posted, each with its time, thread replies
// indented under a "↳", its blocks as their text (a header, "Label: value"
// fields, context, [buttons]), and edits marked. Times are written in loc,
// UTC when nil; a message posted on a later day than the one before it is
// preceded by its date.
func (s *Server) Transcript(w io.Writer, channel string, loc *time.Location) error {
	if loc == nil {
		loc = time.UTC
	}
	s.mu.Lock()
	var id string
	if channel != "" {
		c := s.channel(channel)
		if c == nil {
			s.mu.Unlock()
			return fmt.Errorf("slacklocal: no channel %s", channel)
		}
		id = c.ID
	}
	s.mu.Unlock()
	last, day := "", ""
	for _, m := range s.Messages() {
		if id != "" && m.Channel != id {
			continue
		}
		if m.Channel != last {
			if _, err := fmt.Fprintf(w, "#%s\n", m.ChannelName); err != nil {
				return err
			}
			last = m.Channel
		}
		// Times are written without their date: a message on another
		// day than the one before it is preceded by its date.
		if d := m.PostedAt.In(loc).Format("Mon 2 Jan 2006"); d != day {
			if day != "" {
				if _, err := fmt.Fprintf(w, "-- %s --\n\n", d); err != nil {
					return err
				}
			}
			day = d
		}
		if _, err := io.WriteString(w, formatMessage(m, loc)); err != nil {
			return err
		}
	}
	return nil
}

// formatMessage writes one message: its first line after the time (and
// the thread marker), the rest indented under it.
func formatMessage(m Message, loc *time.Location) string {
	head := m.PostedAt.In(loc).Format("15:04:05") + "  "
	if m.ThreadTS != "" {
		head = "    ↳ " + head
	}
	lines := MessageLines(m)
	var b strings.Builder
	pad := strings.Repeat(" ", utf8.RuneCountInString(head))
	for i, l := range lines {
		if i == 0 {
			b.WriteString(head + l)
		} else {
			b.WriteString(pad + l)
		}
		b.WriteByte('\n')
	}
	var notes []string
	if m.Broadcast {
		notes = append(notes, "also sent to the channel")
	}
	if m.Edits > 0 {
		notes = append(notes, "edited "+m.EditedAt.In(loc).Format("15:04:05"))
	}
	if len(notes) > 0 {
		b.WriteString(pad + "(" + strings.Join(notes, "; ") + ")\n")
	}
	b.WriteByte('\n')
	return b.String()
}

// MessageLines renders a message as lines of text: its blocks when it has
// them (as Slack shows them instead of the text), its text otherwise.
func MessageLines(m Message) []string {
	var blocks slackgo.Blocks
	if m.Blocks == nil || json.Unmarshal(m.Blocks, &blocks) != nil || len(blocks.BlockSet) == 0 {
		return strings.Split(unescape(m.Text), "\n")
	}
	var lines []string
	for _, b := range blocks.BlockSet {
		lines = append(lines, blockLines(b)...)
	}
	return lines
}

func blockLines(b slackgo.Block) []string {
	switch b := b.(type) {
	case *slackgo.HeaderBlock:
		return []string{textOf(b.Text)}
	case *slackgo.SectionBlock:
		var out []string
		if b.Text != nil {
			out = append(out, strings.Split(textOf(b.Text), "\n")...)
		}
		for _, f := range b.Fields {
			label, value, ok := strings.Cut(textOf(f), "\n")
			if ok {
				out = append(out, strings.Trim(label, "*")+": "+strings.ReplaceAll(value, "\n", " "))
			} else {
				out = append(out, label)
			}
		}
		return out
	case *slackgo.ContextBlock:
		var out []string
		for _, e := range b.ContextElements.Elements {
			if t, ok := e.(*slackgo.TextBlockObject); ok {
				out = append(out, strings.Split(textOf(t), "\n")...)
			}
		}
		return out
	case *slackgo.ActionBlock:
		var buttons []string
		for _, e := range b.Elements.ElementSet {
			if btn, ok := e.(*slackgo.ButtonBlockElement); ok {
				buttons = append(buttons, "["+textOf(btn.Text)+"]")
			}
		}
		return []string{strings.Join(buttons, " ")}
	case *slackgo.DividerBlock:
		return []string{"---"}
	}
	return []string{"(" + string(b.BlockType()) + " block)"}
}

// textOf returns a text object's text as a reader sees it: mrkdwn links
// shown by their address, Slack's escapes undone.
func textOf(t *slackgo.TextBlockObject) string {
	if t == nil {
		return ""
	}
	s := t.Text
	if t.Type == slackgo.MarkdownType {
		s = unlink(s)
	}
	return unescape(s)
}

// unlink turns <url> and <url|text> into url.
func unlink(s string) string {
	var b strings.Builder
	for {
		i := strings.Index(s, "<")
		if i < 0 {
			break
		}
		j := strings.Index(s[i:], ">")
		if j < 0 {
			break
		}
		b.WriteString(s[:i])
		target, _, _ := strings.Cut(s[i+1:i+j], "|")
		b.WriteString(target)
		s = s[i+j+1:]
	}
	b.WriteString(s)
	return b.String()
}

func unescape(s string) string {
	return strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&").Replace(s)
}
