package pagerdutylocal

import (
	"net"

	"github.com/dashboarduz/incident-response/shared/local/localhttp"
)

// Server serves a Recorder on 127.0.0.1 on a free port.
type Server struct {
	*Recorder
	// URL is the base address, e.g. "http://127.0.0.1:54321", to give to
	// pagerduty.NewEventsClient.
	URL string

	srv *localhttp.Server
}

// Start serves rec on 127.0.0.1 on a free port until Close.
func Start(rec *Recorder) (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	return &Server{Recorder: rec, URL: "http://" + ln.Addr().String(), srv: localhttp.Serve(ln, rec)}, nil
}

// Close stops the server: it releases requests held by a Hang failure,
// waits up to five seconds for requests in flight, then closes every
// connection. It is safe to call more than once.
func (s *Server) Close() error {
	s.release()
	return s.srv.Close()
}
