// Package slacklocal is a local Slack Web API for tests, make demo and make
// dev. It is slack-go's own slacktest server (its mux, auth.test's
// neighbours, users.info, the RTM endpoints) with the methods incident
// response calls answered by handlers of this package: they validate
// requests as Slack does, keep channels, members and messages, and record
// every message posted (channel, thread, text, blocks, time) in order.
// slacktest's own chat.postMessage is replaced because it records nothing
// a test can read back and stamps messages with whole seconds, which
// makes two messages of one second share a ts.
//
// For failure tests it can answer the next calls of a method with 429 and
// Retry-After, a 5xx, a Slack error code such as channel_not_found, or
// hold them until the client gives up. Transcript prints a channel as a
// person reads it in Slack.
package slacklocal

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	slackgo "github.com/slack-go/slack"
	"github.com/slack-go/slack/slacktest"

	"github.com/dashboarduz/incident-response/shared/incident"
)

// Defaults of Options.
const (
	DefaultWorkspaceURL = "https://dashboarduz.slack.com/"
	DefaultChannelID    = "C0INCIDENTS"
	DefaultChannelName  = "incidents"
	TeamID              = "T0DASHBRDZ"
	BotUserID           = "U0INCIDENTBOT"
	BotID               = "B0INCIDENTBOT"
)

// Slack's limits that the stand-in enforces.
const (
	maxText        = 40000
	maxBlocks      = 50
	maxChannelName = 80
)

// Channel is a channel the stand-in knows.
type Channel struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Private  bool   `json:"private,omitempty"`
	Archived bool   `json:"archived,omitempty"`
	// BotMember says whether the bot is in the channel; posting to a
	// channel it is not in fails with not_in_channel, as without the
	// chat:write.public scope.
	BotMember bool `json:"botMember"`
	// Members are the users invited, in order.
	Members   []string  `json:"members,omitempty"`
	CreatedAt time.Time `json:"createdAt,omitzero"`
}

// Message is one message as it stands: posted, then perhaps edited.
type Message struct {
	Channel     string `json:"channel"`
	ChannelName string `json:"channelName"`
	TS          string `json:"ts"`
	// ThreadTS is the parent's ts for a thread reply, "" otherwise.
	ThreadTS string `json:"threadTs,omitempty"`
	// Broadcast is a thread reply also sent to the channel.
	Broadcast bool   `json:"broadcast,omitempty"`
	Text      string `json:"text"`
	// Blocks is the message's blocks as sent, nil when it had none.
	Blocks   json.RawMessage `json:"blocks,omitempty"`
	PostedAt time.Time       `json:"postedAt"`
	// Edits counts chat.update calls; EditedAt is the latest.
	Edits    int       `json:"edits,omitempty"`
	EditedAt time.Time `json:"editedAt,omitzero"`
}

// Response is a message posted to a response_url.
type Response struct {
	URL          string    `json:"url"`
	ResponseType string    `json:"responseType"`
	Text         string    `json:"text"`
	At           time.Time `json:"at"`
}

// Call is one Web API call that reached the stand-in, failed ones too.
type Call struct {
	Method string    `json:"method"`
	At     time.Time `json:"at"`
	// Error is the error code answered ("" for ok), or "http_<status>".
	Error string `json:"error,omitempty"`
}

// Failure is how the stand-in fails a call.
type Failure struct {
	// Status is the HTTP status, e.g. 429 or 503; zero with Error set
	// means 200 with ok false.
	Status int
	// RetryAfter is sent as Retry-After in whole seconds.
	RetryAfter time.Duration
	// Error is Slack's error code, e.g. "channel_not_found".
	Error string
	// Hang holds the call until the client gives up or the server stops.
	Hang bool
}

// Options configures the stand-in.
type Options struct {
	// Clock stamps messages and makes their ts; nil means the system
	// clock.
	Clock incident.Clock
	// Token, when set, is the only bot token accepted; other tokens get
	// invalid_auth. Empty accepts any.
	Token string
	// Channels exist from the start; nil means #incidents
	// (DefaultChannelID) with the bot in it.
	Channels []Channel
	// WorkspaceURL is what auth.test answers; empty means
	// DefaultWorkspaceURL.
	WorkspaceURL string
}

// Server is the running stand-in.
type Server struct {
	// URL is the Web API base address, ending in "/", for slack-go's
	// OptionAPIURL.
	URL string

	ts    *slacktest.Server
	clock incident.Clock
	opts  Options

	mu        sync.Mutex
	channels  []*Channel
	messages  []*Message
	responses []Response
	views     []json.RawMessage
	calls     []Call
	failures  map[string][]Failure
	lastTS    time.Time
	nextID    int
	nextResp  int
	stop      chan struct{}
	closeOnce sync.Once
}

// Start serves a stand-in on 127.0.0.1 on a free port until Close.
func Start(opts Options) (*Server, error) {
	if opts.Clock == nil {
		opts.Clock = incident.SystemClock{}
	}
	if opts.WorkspaceURL == "" {
		opts.WorkspaceURL = DefaultWorkspaceURL
	}
	if opts.Channels == nil {
		opts.Channels = []Channel{{ID: DefaultChannelID, Name: DefaultChannelName, BotMember: true}}
	}
	s := &Server{clock: opts.Clock, opts: opts, failures: map[string][]Failure{}, stop: make(chan struct{})}
	for _, c := range opts.Channels {
		c := c
		s.channels = append(s.channels, &c)
	}
	s.ts = slacktest.NewTestServer(func(c slacktest.Customize) {
		for method, h := range s.handlers() {
			c.Handle("/"+method, s.wrap(method, h))
		}
		c.Handle("/response/", s.handleResponse)
	})
	s.ts.Start()
	s.URL = s.ts.GetAPIURL()
	if !strings.HasPrefix(s.URL, "http://127.0.0.1:") {
		s.ts.Stop()
		return nil, fmt.Errorf("slacklocal: listening on %s, not 127.0.0.1", s.URL)
	}
	return s, nil
}

// Close stops the server, releasing calls held by a Hang failure. It is
// safe to call more than once.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		close(s.stop)
		s.ts.Stop()
	})
}

// ResponseURL returns a new response_url served by the stand-in, for
// interaction payloads in tests and local mode.
func (s *Server) ResponseURL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextResp++
	return fmt.Sprintf("%sresponse/%d", s.URL, s.nextResp)
}

// FailNext makes the next n calls of method ("chat.postMessage"; "" for
// any) fail as f says.
func (s *Server) FailNext(method string, n int, f Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.failures[method] = append(s.failures[method], f)
	}
}

// Messages returns every message posted, oldest first, as it stands now.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Message, len(s.messages))
	for i, m := range s.messages {
		out[i] = *m
	}
	return out
}

// Channels returns every channel, oldest first.
func (s *Server) Channels() []Channel {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Channel, len(s.channels))
	for i, c := range s.channels {
		out[i] = *c
		out[i].Members = append([]string(nil), c.Members...)
	}
	return out
}

// Responses returns every message posted to a response_url, oldest first.
func (s *Server) Responses() []Response {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Response(nil), s.responses...)
}

// Views returns every view opened with views.open, as sent.
func (s *Server) Views() []json.RawMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]json.RawMessage(nil), s.views...)
}

// Calls returns every Web API call that reached the stand-in, in order.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// CallCount returns how many calls of method reached the stand-in.
func (s *Server) CallCount(method string) int {
	n := 0
	for _, c := range s.Calls() {
		if c.Method == method {
			n++
		}
	}
	return n
}

// handler answers one Web API method: it gets the call's parameters and
// returns the answer's fields, or a Slack error code.
type handler func(p params) (map[string]any, string)

// params are a call's parameters, from a form or a JSON body.
type params struct {
	form url.Values
	json map[string]json.RawMessage
}

func (p params) get(k string) string {
	if v := p.form.Get(k); v != "" {
		return v
	}
	var s string
	if raw, ok := p.json[k]; ok && json.Unmarshal(raw, &s) == nil {
		return s
	}
	return ""
}

func (s *Server) handlers() map[string]handler {
	return map[string]handler{
		"chat.postMessage":     s.postMessage,
		"chat.update":          s.update,
		"chat.getPermalink":    s.permalink,
		"conversations.create": s.create,
		"conversations.invite": s.invite,
		"conversations.list":   s.list,
		"conversations.join":   s.join,
		"conversations.info":   s.info,
		"auth.test":            s.authTest,
		"views.open":           s.openView,
	}
}

// wrap reads a call, checks its token, applies a pending failure, runs h
// and writes Slack's JSON answer.
func (s *Server) wrap(method string, h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, token, err := readParams(r)
		if err != nil {
			s.answer(w, method, nil, "invalid_form_data")
			return
		}
		if f, ok := s.takeFailure(method); ok {
			s.fail(w, r, method, f)
			return
		}
		switch {
		case token == "":
			s.answer(w, method, nil, "not_authed")
			return
		case s.opts.Token != "" && token != s.opts.Token:
			s.answer(w, method, nil, "invalid_auth")
			return
		}
		s.mu.Lock()
		fields, code := h(p)
		s.mu.Unlock()
		s.answer(w, method, fields, code)
	}
}

func readParams(r *http.Request) (params, string, error) {
	token := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		var m map[string]json.RawMessage
		if err := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 1<<20)).Decode(&m); err != nil {
			return params{}, token, err
		}
		return params{json: m}, token, nil
	}
	r.Body = http.MaxBytesReader(nil, r.Body, 1<<20)
	if err := r.ParseForm(); err != nil {
		return params{}, token, err
	}
	if t := r.Form.Get("token"); t != "" {
		token = t
	}
	return params{form: r.Form}, token, nil
}

func (s *Server) takeFailure(method string) (Failure, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, key := range []string{method, ""} {
		if q := s.failures[key]; len(q) > 0 {
			s.failures[key] = q[1:]
			return q[0], true
		}
	}
	return Failure{}, false
}

func (s *Server) fail(w http.ResponseWriter, r *http.Request, method string, f Failure) {
	if f.Hang {
		s.record(method, "hang")
		select {
		case <-r.Context().Done():
		case <-s.stop:
		}
		return
	}
	if f.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((f.RetryAfter+time.Second-1)/time.Second)))
	}
	switch {
	case f.Status == http.StatusTooManyRequests:
		s.record(method, "http_429")
		writeJSON(w, http.StatusTooManyRequests, map[string]any{"ok": false, "error": "ratelimited"})
	case f.Status != 0 && f.Status != http.StatusOK:
		// Slack answers its 5xx with an HTML page.
		s.record(method, fmt.Sprintf("http_%d", f.Status))
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(f.Status)
		fmt.Fprintf(w, "<html><body>%d %s</body></html>", f.Status, http.StatusText(f.Status))
	default:
		s.answer(w, method, nil, f.Error)
	}
}

func (s *Server) answer(w http.ResponseWriter, method string, fields map[string]any, code string) {
	s.record(method, code)
	body := map[string]any{"ok": code == ""}
	if code != "" {
		body["error"] = code
	}
	for k, v := range fields {
		body[k] = v
	}
	writeJSON(w, http.StatusOK, body)
}

func (s *Server) record(method, code string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, Call{Method: method, At: s.clock.Now(), Error: code})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// channel finds a channel by ID or by name, with or without "#". Callers
// hold s.mu.
func (s *Server) channel(ref string) *Channel {
	name := strings.TrimPrefix(ref, "#")
	for _, c := range s.channels {
		if c.ID == ref || c.Name == name {
			return c
		}
	}
	return nil
}

// newTS makes a message ts from the clock, later than every ts before it,
// as Slack's are unique within a channel. Callers hold s.mu.
func (s *Server) newTS() string {
	t := s.clock.Now().Truncate(time.Microsecond)
	if !t.After(s.lastTS) {
		t = s.lastTS.Add(time.Microsecond)
	}
	s.lastTS = t
	return fmt.Sprintf("%d.%06d", t.Unix(), t.Nanosecond()/1000)
}

// botChannel finds the channel ref names for a call that needs the bot
// in it, or returns the error Slack answers. Callers hold s.mu.
func (s *Server) botChannel(ref string) (*Channel, string) {
	c := s.channel(ref)
	switch {
	case c == nil:
		return nil, "channel_not_found"
	case c.Archived:
		return nil, "is_archived"
	case !c.BotMember:
		return nil, "not_in_channel"
	}
	return c, ""
}

func (s *Server) postMessage(p params) (map[string]any, string) {
	c, code := s.botChannel(p.get("channel"))
	if code != "" {
		return nil, code
	}
	text, blocks, code := content(p)
	if code != "" {
		return nil, code
	}
	thread := p.get("thread_ts")
	if thread != "" && s.message(c.ID, thread) == nil {
		return nil, "thread_not_found"
	}
	m := &Message{Channel: c.ID, ChannelName: c.Name, TS: s.newTS(), ThreadTS: thread, Broadcast: thread != "" && p.get("reply_broadcast") == "true",
		Text: text, Blocks: blocks, PostedAt: s.clock.Now()}
	s.messages = append(s.messages, m)
	return map[string]any{"channel": c.ID, "ts": m.TS, "message": wireMessage(m)}, ""
}

// content reads and checks a message's text and blocks.
func content(p params) (string, json.RawMessage, string) {
	text := p.get("text")
	var blocks json.RawMessage
	if raw := p.get("blocks"); raw != "" {
		var decoded slackgo.Blocks
		if err := json.Unmarshal([]byte(raw), &decoded); err != nil || len(decoded.BlockSet) > maxBlocks {
			return "", nil, "invalid_blocks"
		}
		blocks = json.RawMessage(raw)
	}
	switch {
	case text == "" && blocks == nil:
		return "", nil, "no_text"
	case len(text) > maxText:
		return "", nil, "msg_too_long"
	}
	return text, blocks, ""
}

func wireMessage(m *Message) map[string]any {
	out := map[string]any{"type": "message", "user": BotUserID, "bot_id": BotID, "text": m.Text, "ts": m.TS}
	if m.ThreadTS != "" {
		out["thread_ts"] = m.ThreadTS
	}
	if m.Blocks != nil {
		out["blocks"] = m.Blocks
	}
	return out
}

// message finds a message. Callers hold s.mu.
func (s *Server) message(channelID, ts string) *Message {
	for _, m := range s.messages {
		if m.Channel == channelID && m.TS == ts {
			return m
		}
	}
	return nil
}

func (s *Server) update(p params) (map[string]any, string) {
	c := s.channel(p.get("channel"))
	if c == nil {
		return nil, "channel_not_found"
	}
	m := s.message(c.ID, p.get("ts"))
	if m == nil {
		return nil, "message_not_found"
	}
	text, blocks, code := content(p)
	if code != "" {
		return nil, code
	}
	m.Text, m.Blocks, m.Edits, m.EditedAt = text, blocks, m.Edits+1, s.clock.Now()
	return map[string]any{"channel": c.ID, "ts": m.TS, "text": m.Text, "message": wireMessage(m)}, ""
}

func (s *Server) permalink(p params) (map[string]any, string) {
	c := s.channel(p.get("channel"))
	if c == nil {
		return nil, "channel_not_found"
	}
	ts := p.get("message_ts")
	if s.message(c.ID, ts) == nil {
		return nil, "message_not_found"
	}
	return map[string]any{"channel": c.ID, "permalink": s.opts.WorkspaceURL + "archives/" + c.ID + "/p" + strings.ReplaceAll(ts, ".", "")}, ""
}

var validName = regexp.MustCompile(`^[a-z0-9_-]+$`)

func (s *Server) create(p params) (map[string]any, string) {
	name := p.get("name")
	switch {
	case name == "":
		return nil, "invalid_name_required"
	case len(name) > maxChannelName:
		return nil, "invalid_name_maxlength"
	case !validName.MatchString(name):
		return nil, "invalid_name_specials"
	}
	for _, c := range s.channels {
		if c.Name == name {
			return nil, "name_taken"
		}
	}
	s.nextID++
	c := &Channel{ID: fmt.Sprintf("C0LOCAL%04d", s.nextID), Name: name, Private: p.get("is_private") == "true", BotMember: true, CreatedAt: s.clock.Now()}
	s.channels = append(s.channels, c)
	return map[string]any{"channel": wireChannel(c)}, ""
}

var userID = regexp.MustCompile(`^[UW][A-Z0-9]{2,20}$`)

func (s *Server) invite(p params) (map[string]any, string) {
	c, code := s.botChannel(p.get("channel"))
	if code != "" {
		return nil, code
	}
	users := strings.Split(p.get("users"), ",")
	if len(users) == 1 && users[0] == "" {
		return nil, "no_user"
	}
	for _, u := range users {
		switch {
		case u == BotUserID:
			return nil, "cant_invite_self"
		case !userID.MatchString(u):
			return nil, "user_not_found"
		case slices.Contains(c.Members, u) && len(users) == 1:
			return nil, "already_in_channel"
		}
	}
	for _, u := range users {
		if !slices.Contains(c.Members, u) {
			c.Members = append(c.Members, u)
		}
	}
	return map[string]any{"channel": wireChannel(c)}, ""
}

func (s *Server) list(p params) (map[string]any, string) {
	types := p.get("types")
	if types == "" {
		types = "public_channel"
	}
	var matching []*Channel
	for _, c := range s.channels {
		kind := "public_channel"
		if c.Private {
			kind = "private_channel"
		}
		if strings.Contains(types, kind) && !(c.Archived && p.get("exclude_archived") == "true") && (!c.Private || c.BotMember) {
			matching = append(matching, c)
		}
	}
	start, _ := strconv.Atoi(p.get("cursor"))
	limit, _ := strconv.Atoi(p.get("limit"))
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	start = min(max(start, 0), len(matching))
	end := min(start+limit, len(matching))
	out := []map[string]any{}
	for _, c := range matching[start:end] {
		out = append(out, wireChannel(c))
	}
	next := ""
	if end < len(matching) {
		next = strconv.Itoa(end)
	}
	return map[string]any{"channels": out, "response_metadata": map[string]any{"next_cursor": next}}, ""
}

func (s *Server) join(p params) (map[string]any, string) {
	c := s.channel(p.get("channel"))
	switch {
	case c == nil:
		return nil, "channel_not_found"
	case c.Archived:
		return nil, "is_archived"
	case c.Private && !c.BotMember:
		return nil, "method_not_supported_for_channel_type"
	}
	c.BotMember = true
	return map[string]any{"channel": wireChannel(c)}, ""
}

func (s *Server) info(p params) (map[string]any, string) {
	c := s.channel(p.get("channel"))
	if c == nil {
		return nil, "channel_not_found"
	}
	return map[string]any{"channel": wireChannel(c)}, ""
}

func wireChannel(c *Channel) map[string]any {
	return map[string]any{
		"id": c.ID, "name": c.Name, "is_channel": !c.Private, "is_group": c.Private, "is_private": c.Private,
		"is_archived": c.Archived, "is_member": c.BotMember, "created": c.CreatedAt.Unix(), "num_members": len(c.Members) + 1,
	}
}

func (s *Server) authTest(params) (map[string]any, string) {
	return map[string]any{"url": s.opts.WorkspaceURL, "team": "Dashboarduz", "user": "incident-response", "team_id": TeamID,
		"user_id": BotUserID, "bot_id": BotID}, ""
}

func (s *Server) openView(p params) (map[string]any, string) {
	if p.get("trigger_id") == "" {
		return nil, "invalid_trigger_id"
	}
	raw, ok := p.json["view"]
	if !ok {
		if v := p.get("view"); v != "" {
			raw = json.RawMessage(v)
		}
	}
	var view slackgo.ModalViewRequest
	if raw == nil || json.Unmarshal(raw, &view) != nil || view.Type != slackgo.VTModal {
		return nil, "invalid_arguments"
	}
	s.views = append(s.views, append(json.RawMessage(nil), raw...))
	s.nextID++
	return map[string]any{"view": map[string]any{"id": fmt.Sprintf("V0LOCAL%04d", s.nextID), "type": "modal", "callback_id": view.CallbackID}}, ""
}

// handleResponse records a message posted to a response_url.
func (s *Server) handleResponse(w http.ResponseWriter, r *http.Request) {
	var msg slackgo.WebhookMessage
	if r.Method != http.MethodPost || json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&msg) != nil {
		http.Error(w, "invalid_payload", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.responses = append(s.responses, Response{URL: s.URL + strings.TrimPrefix(r.URL.Path, "/"), ResponseType: msg.ResponseType, Text: msg.Text, At: s.clock.Now()})
	s.mu.Unlock()
	w.Header().Set("Content-Type", "text/plain")
	_, _ = w.Write([]byte("ok"))
}
