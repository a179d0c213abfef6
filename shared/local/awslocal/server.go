package awslocal

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"sync"
	"time"

	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/local/localhttp"
)

// maxBody bounds a request body; the stand-in's operations take small ones.
const maxBody = 4 << 20

// Options configures Start.
type Options struct {
	// World is the world the server starts with.
	World World
	// Clock gives the time of calls, new deployments, sent emails and
	// parameter changes; nil is the wall clock. Local mode passes the
	// virtual clock the handlers read.
	Clock incident.Clock
	// Hold bounds how long a timeout fault holds a response when the
	// caller sets no deadline; zero is 30 seconds. Close releases held
	// responses at once.
	Hold time.Duration
}

// Server is the stand-in, serving on 127.0.0.1 on a free port until Close.
type Server struct {
	// URL is the base address, e.g. "http://127.0.0.1:54321": the
	// BaseEndpoint of every SDK client.
	URL string

	clock incident.Clock
	hold  time.Duration

	mu     sync.Mutex
	world  World
	faults []Fault
	calls  []Call
	seq    uint64

	srv     *localhttp.Server
	closing chan struct{}
	once    sync.Once
}

// Start serves a stand-in with opts' world on 127.0.0.1 on a free port.
func Start(opts Options) (*Server, error) {
	clock := opts.Clock
	if clock == nil {
		clock = incident.SystemClock{}
	}
	w := opts.World.clone()
	if err := w.normalize(clock.Now()); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("awslocal: listen: %w", err)
	}
	s := &Server{
		URL:     "http://" + ln.Addr().String(),
		clock:   clock,
		hold:    opts.Hold,
		world:   w,
		closing: make(chan struct{}),
	}
	if s.hold <= 0 {
		s.hold = 30 * time.Second
	}
	s.srv = localhttp.Serve(ln, s)
	return s, nil
}

// Close stops the server: it releases responses held by timeout faults,
// waits up to five seconds for requests in flight, then closes every
// connection. It is safe to call more than once.
func (s *Server) Close() error {
	s.once.Do(func() { close(s.closing) })
	return s.srv.Close()
}

// World returns a copy of the current world.
func (s *Server) World() World {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.world.clone()
}

// SetWorld replaces the world.
func (s *Server) SetWorld(w World) error {
	c := w.clone()
	if err := c.normalize(s.clock.Now()); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.world = c
	return nil
}

// Update changes the world in place under the server's lock, e.g. to add
// log lines or move a metric between two steps of a scenario.
func (s *Server) Update(fn func(w *World)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.world.clone()
	fn(&c)
	if err := c.normalize(s.clock.Now()); err != nil {
		return err
	}
	s.world = c
	return nil
}

// Call is one request the server answered.
type Call struct {
	// Service is the stand-in's name for the service: ecs, cloudwatch,
	// logs, rds, ssm or ses; empty when the request named none.
	Service   string `json:"service"`
	Operation string `json:"operation"`
	// Input is the decoded input as JSON: the JSON body, the CBOR body
	// as JSON, the query parameters as an object, or a REST body with its
	// path labels and query parameters merged in.
	Input json.RawMessage `json:"input,omitempty"`
	Time  time.Time       `json:"time"`
	// Outcome is "ok", the error code answered, or "timeout" when a
	// fault held the answer until the caller gave up.
	Outcome string `json:"outcome"`
	// Status is the HTTP status answered, 0 for a timeout.
	Status int `json:"status"`
}

// Calls returns every call so far, in order.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// CallsTo returns the calls to one service's operation, in order.
func (s *Server) CallsTo(service, operation string) []Call {
	var out []Call
	for _, c := range s.Calls() {
		if c.Service == service && c.Operation == operation {
			out = append(out, c)
		}
	}
	return out
}

// ResetCalls forgets the calls recorded so far.
func (s *Server) ResetCalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = nil
}

func (s *Server) record(c Call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, c)
}

// scopeRE reads the service of a SigV4 credential scope:
// Credential=AKID/20260301/us-east-1/ecs/aws4_request.
var scopeRE = regexp.MustCompile(`Credential=[^/,\s]+/\d{8}/[^/,\s]+/([^/,\s]+)/aws4_request`)

// ServeHTTP answers one AWS request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	call := Call{Time: s.clock.Now()}
	m := scopeRE.FindStringSubmatch(r.Header.Get("Authorization"))
	if m == nil {
		call.Outcome, call.Status = "MissingAuthenticationTokenException", http.StatusForbidden
		s.record(call)
		writeJSONError(w, jsonContentType, &apiError{Code: call.Outcome, Status: call.Status, Message: "Missing Authentication Token: the request is not signed with SigV4"})
		return
	}
	svc := servicesBySigningName[m[1]]
	if svc == nil {
		call.Outcome, call.Status = "UnrecognizedClientException", http.StatusBadRequest
		s.record(call)
		writeJSONError(w, jsonContentType, &apiError{Code: call.Outcome, Status: call.Status, Message: fmt.Sprintf("awslocal does not stand in for the service signed as %q", m[1])})
		return
	}
	call.Service = svc.name
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		return
	}
	in, aerr := svc.proto.parse(r, body)
	if in != nil {
		call.Operation, call.Input = in.op, in.body
		in.invalid = svc.invalid
	}
	if aerr == nil && svc.ops[in.op] == nil {
		aerr = svc.proto.unknownOperation(in.op)
	}
	if aerr != nil {
		s.answer(w, svc, in, &call, nil, aerr)
		return
	}
	s.serve(w, r, svc, in, &call)
}

// serve applies the faults set for the call, runs the operation and
// answers.
func (s *Server) serve(w http.ResponseWriter, r *http.Request, svc *service, in *request, call *Call) {
	kind := s.takeFault(svc.name, in.op)
	switch kind {
	case Throttle, AccessDenied, ServerError:
		s.answer(w, svc, in, call, nil, svc.faultError(kind, in.op))
		return
	case Timeout:
		s.timeOut(w, r, svc, in, call)
		return
	}
	out, err := s.run(svc, in)
	if kind == TimeoutApplied {
		s.timeOut(w, r, svc, in, call)
		return
	}
	s.answer(w, svc, in, call, out, err)
}

// timeOut holds the answer until the caller gives up, then records the
// call as timed out; a caller still there when the hold ends, or the
// server closes, gets the service's internal error.
func (s *Server) timeOut(w http.ResponseWriter, r *http.Request, svc *service, in *request, call *Call) {
	if !s.holdUntilGone(r) {
		s.answer(w, svc, in, call, nil, svc.faultError(ServerError, in.op))
		return
	}
	call.Outcome = "timeout"
	s.record(*call)
}

// run calls the operation under the world lock, so every action is
// atomic.
func (s *Server) run(svc *service, in *request) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	in.world = &s.world
	in.now = s.clock.Now()
	in.seq = &s.seq
	return svc.ops[in.op](in)
}

// holdUntilGone waits until the caller gives up (true), the server
// closes or the hold ends (false).
func (s *Server) holdUntilGone(r *http.Request) bool {
	t := time.NewTimer(s.hold)
	defer t.Stop()
	select {
	case <-r.Context().Done():
		return true
	case <-s.closing:
		return false
	case <-t.C:
		return false
	}
}

// answer writes the output or the error in the service's protocol and
// records the call.
func (s *Server) answer(w http.ResponseWriter, svc *service, in *request, call *Call, out any, err error) {
	op := ""
	if in != nil {
		op = in.op
	}
	if err != nil {
		var aerr *apiError
		if !errors.As(err, &aerr) {
			aerr = &apiError{Code: svc.codes.internal, Status: http.StatusInternalServerError, Message: err.Error()}
		}
		call.Outcome, call.Status = aerr.Code, aerr.Status
		s.record(*call)
		svc.proto.writeError(w, op, aerr)
		return
	}
	call.Outcome, call.Status = "ok", http.StatusOK
	s.record(*call)
	svc.proto.writeResult(w, op, out)
}

// request is one decoded request and, while its operation runs, the world
// it acts on.
type request struct {
	op string
	// body is the input as JSON (see Call.Input).
	body json.RawMessage
	// form holds the parameters of a query-protocol request.
	form url.Values
	// invalid is the service's code for an input it cannot read.
	invalid string

	world *World
	now   time.Time
	seq   *uint64
}

// decode reads the JSON form of the input into v.
func (r *request) decode(v any) error {
	if len(r.body) == 0 {
		return nil
	}
	if err := json.Unmarshal(r.body, v); err != nil {
		return &apiError{Code: r.invalid, Status: http.StatusBadRequest, Message: fmt.Sprintf("cannot read the %s input: %v", r.op, err)}
	}
	return nil
}

// nextID returns a number no other ID of this server has used.
func (r *request) nextID() uint64 {
	*r.seq++
	return *r.seq
}

// apiError is an error answered in the service's own shape.
type apiError struct {
	Code    string
	Message string
	Status  int
	// QueryCode is the awsQuery code a query-compatible JSON or CBOR
	// service also sends, in the X-Amzn-Query-Error header.
	QueryCode string
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

// badRequest returns a sender-side error with status 400.
func badRequest(code, format string, args ...any) *apiError {
	return &apiError{Code: code, Status: http.StatusBadRequest, Message: fmt.Sprintf(format, args...)}
}
