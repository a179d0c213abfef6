package awslocal

import (
	"bytes"
	"fmt"
	"io"
	"net/mail"
	"strings"
)

type sesContent struct {
	Data string `json:"Data"`
}

type sesSendInput struct {
	FromEmailAddress string `json:"FromEmailAddress"`
	Destination      *struct {
		ToAddresses  []string `json:"ToAddresses"`
		CcAddresses  []string `json:"CcAddresses"`
		BccAddresses []string `json:"BccAddresses"`
	} `json:"Destination"`
	Content struct {
		Simple *struct {
			Subject *sesContent `json:"Subject"`
			Body    *struct {
				Text *sesContent `json:"Text"`
				HTML *sesContent `json:"Html"`
			} `json:"Body"`
		} `json:"Simple"`
		Raw *struct {
			Data []byte `json:"Data"`
		} `json:"Raw"`
		Template any `json:"Template"`
	} `json:"Content"`
}

func sesBadRequest(format string, args ...any) *apiError {
	return badRequest("BadRequestException", format, args...)
}

func sesSendEmail(r *request) (any, error) {
	var in sesSendInput
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	e := Email{From: in.FromEmailAddress, SentAt: r.now}
	if d := in.Destination; d != nil {
		e.To, e.Cc, e.Bcc = d.ToAddresses, d.CcAddresses, d.BccAddresses
	}
	c := in.Content
	var err error
	switch {
	case c.Template != nil:
		return nil, sesBadRequest("awslocal does not render SES templates; send Simple or Raw content")
	case (c.Simple == nil) == (c.Raw == nil):
		return nil, sesBadRequest("Content must hold exactly one of Simple, Raw and Template.")
	case c.Simple != nil:
		err = simpleEmail(&e, in)
	default:
		err = rawEmail(&e, c.Raw.Data)
	}
	if err != nil {
		return nil, err
	}
	if n := len(e.To) + len(e.Cc) + len(e.Bcc); n == 0 || n > 50 {
		return nil, sesBadRequest("A message must have 1 to 50 recipients, not %d.", n)
	}
	if err := r.checkIdentity(e.From); err != nil {
		return nil, err
	}
	e.MessageID = fmt.Sprintf("0100019%09x-%08x-0000-4000-8000-%012x-000000", r.now.Unix()&0xfffffffff, r.nextID(), r.now.UnixNano()&0xffffffffffff)
	r.world.Emails = append(r.world.Emails, e)
	return map[string]any{"MessageId": e.MessageID}, nil
}

func simpleEmail(e *Email, in sesSendInput) error {
	s := in.Content.Simple
	if e.From == "" {
		return sesBadRequest("FromEmailAddress is required for Simple content.")
	}
	if s.Subject == nil || s.Body == nil || s.Body.Text == nil && s.Body.HTML == nil {
		return sesBadRequest("Simple content needs a Subject and a Text or Html Body.")
	}
	e.Subject = s.Subject.Data
	if s.Body.Text != nil {
		e.Text = s.Body.Text.Data
	}
	if s.Body.HTML != nil {
		e.HTML = s.Body.HTML.Data
	}
	return nil
}

// rawEmail reads the sender, recipients and subject of a MIME message,
// where the request does not give them.
func rawEmail(e *Email, data []byte) error {
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		return sesBadRequest("Raw content is not a MIME message: %v", err)
	}
	e.Raw = string(data)
	e.Subject = msg.Header.Get("Subject")
	if e.From == "" {
		e.From = msg.Header.Get("From")
	}
	if len(e.To)+len(e.Cc)+len(e.Bcc) == 0 {
		e.To = headerAddresses(msg.Header, "To")
		e.Cc = headerAddresses(msg.Header, "Cc")
	}
	if body, err := io.ReadAll(msg.Body); err == nil && !strings.HasPrefix(msg.Header.Get("Content-Type"), "multipart/") {
		e.Text = string(body)
	}
	if e.From == "" {
		return sesBadRequest("Raw content has no From header and the request no FromEmailAddress.")
	}
	return nil
}

func headerAddresses(h mail.Header, key string) []string {
	list, err := h.AddressList(key)
	if err != nil {
		return nil
	}
	out := make([]string, len(list))
	for i, a := range list {
		out[i] = a.Address
	}
	return out
}

// checkIdentity refuses a sender that is not verified, as the SES sandbox
// does, when the world lists verified identities.
func (r *request) checkIdentity(from string) error {
	if len(r.world.VerifiedIdentities) == 0 {
		return nil
	}
	addr := from
	if a, err := mail.ParseAddress(from); err == nil {
		addr = a.Address
	}
	_, domain, _ := strings.Cut(addr, "@")
	for _, id := range r.world.VerifiedIdentities {
		if strings.EqualFold(id, addr) || strings.EqualFold(id, domain) {
			return nil
		}
	}
	return badRequest("MessageRejected", "Email address is not verified. The following identities failed the check in region US-EAST-1: %s", addr)
}
