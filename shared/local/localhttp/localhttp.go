// Package localhttp serves a local stand-in's handler and stops it
// gracefully: what the stand-ins' Start and Close had in common. It lives
// under shared/local, never linked into a Lambda.
package localhttp

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"
)

// Server is a handler served on a listener until Close.
type Server struct {
	srv  *http.Server
	done chan struct{}
}

// Serve serves h on ln until Close.
func Serve(ln net.Listener, h http.Handler) *Server {
	s := &Server{srv: &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		_ = s.srv.Serve(ln)
	}()
	return s
}

// Close stops the server: it waits up to five seconds for requests in
// flight, then closes every connection, and returns once the server has
// stopped serving. It is safe to call more than once.
func (s *Server) Close() error {
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
