package pagerdutylocal

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"
)

// Server serves a Recorder on 127.0.0.1 on a free port.
type Server struct {
	*Recorder
	// URL is the base address, e.g. "http://127.0.0.1:54321", to give to
	// pagerduty.NewEventsClient.
	URL string

	srv  *http.Server
	done chan struct{}
}

// Start serves rec on 127.0.0.1 on a free port until Close.
func Start(rec *Recorder) (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Server{
		Recorder: rec,
		URL:      "http://" + ln.Addr().String(),
		srv:      &http.Server{Handler: rec, ReadHeaderTimeout: 10 * time.Second},
		done:     make(chan struct{}),
	}
	go func() {
		defer close(s.done)
		_ = s.srv.Serve(ln)
	}()
	return s, nil
}

// Close stops the server: it releases requests held by a Hang failure,
// waits up to five seconds for requests in flight, then closes every
// connection. It is safe to call more than once.
func (s *Server) Close() error {
	s.release()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		err = s.srv.Close()
	}
	<-s.done
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}
