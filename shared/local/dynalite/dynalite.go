// Package dynalite runs dynalite, the npm package that speaks DynamoDB's
// wire protocol from memory, for tests and the local stack.
//
// The server is a node child process listening on 127.0.0.1 and a free
// port. Stop kills it; on Linux it is also killed when the process that
// started it dies, so a crashed test binary leaves nothing behind.
package dynalite

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// StartTimeout bounds how long Start waits for dynalite to listen.
const StartTimeout = 15 * time.Second

// EnvCLI names the environment variable that overrides where the dynalite
// CLI (cli.js) is.
const EnvCLI = "DYNALITE_CLI"

// Server is a running dynalite.
type Server struct {
	// Endpoint is the server's URL, e.g. "http://127.0.0.1:43117".
	Endpoint string

	cmd      *exec.Cmd
	stderr   *tail
	done     chan struct{} // closed when the process has exited
	waitErr  error         // cmd.Wait's result, valid after done
	stopOnce sync.Once
	stopErr  error
}

// Start runs dynalite in memory on 127.0.0.1 and a free port and waits
// until it listens. ctx bounds only the start: the server runs until Stop.
// It needs Node.js on PATH and the npm tools installed by `make tools`.
func Start(ctx context.Context) (*Server, error) {
	node, err := exec.LookPath("node")
	if err != nil {
		//lint:ignore ST1005 the message starts with the name Node.js.
		return nil, errors.New("Node.js is required to run dynalite (the local DynamoDB): install Node.js 20+ and run `make tools`")
	}
	cli, err := findCLI()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, StartTimeout)
	defer cancel()
	// The free port is found by binding and releasing it, so another
	// process may take it first; dynalite then exits and we try another.
	var lastErr error
	for range 3 {
		s, err := start(ctx, node, cli)
		if err == nil {
			return s, nil
		}
		lastErr = err
		if ctx.Err() != nil {
			break
		}
	}
	return nil, lastErr
}

func start(ctx context.Context, node, cli string) (*Server, error) {
	port, err := freePort()
	if err != nil {
		return nil, fmt.Errorf("start dynalite: find a free port: %w", err)
	}
	cmd := exec.Command(node, cli,
		"--host", "127.0.0.1", "--port", strconv.Itoa(port),
		"--createTableMs", "0", "--deleteTableMs", "0", "--updateTableMs", "0")
	cmd.SysProcAttr = sysProcAttr()
	ready := &readyWriter{marker: []byte("listening at"), ready: make(chan struct{})}
	s := &Server{
		Endpoint: "http://127.0.0.1:" + strconv.Itoa(port),
		cmd:      cmd,
		stderr:   &tail{max: 8 << 10},
		done:     make(chan struct{}),
	}
	cmd.Stdout = ready
	cmd.Stderr = s.stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start dynalite: %w", err)
	}
	go func() {
		s.waitErr = cmd.Wait()
		close(s.done)
	}()
	select {
	case <-ready.ready:
		return s, nil
	case <-s.done:
		return nil, fmt.Errorf("dynalite exited before listening on port %d (%v): %s", port, s.waitErr, s.stderr.String())
	case <-ctx.Done():
		_ = s.Stop()
		return nil, fmt.Errorf("dynalite did not listen on port %d within %s: %w; stderr: %s", port, StartTimeout, ctx.Err(), s.stderr.String())
	}
}

// Stop kills the server and waits for it to exit. It returns an error only
// if the server had already died on its own. Calling it again does
// nothing.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() {
		select {
		case <-s.done:
			s.stopErr = fmt.Errorf("dynalite at %s had exited before Stop (%v): %s", s.Endpoint, s.waitErr, s.stderr.String())
			return
		default:
		}
		_ = s.cmd.Process.Kill()
		<-s.done
	})
	return s.stopErr
}

// findCLI returns the path of dynalite's cli.js: from EnvCLI if set, else
// scripts/node_modules/dynalite/cli.js in the repository, found by walking
// up from the working directory to the folder holding scripts/package.json.
func findCLI() (string, error) {
	if p := os.Getenv(EnvCLI); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("%s=%s: dynalite is not there (%v); unset it or run `make tools`", EnvCLI, p, err)
		}
		return p, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find dynalite: %w", err)
	}
	for dir := wd; ; {
		if _, err := os.Stat(filepath.Join(dir, "scripts", "package.json")); err == nil {
			cli := filepath.Join(dir, "scripts", "node_modules", "dynalite", "cli.js")
			if _, err := os.Stat(cli); err != nil {
				return "", fmt.Errorf("dynalite (the local DynamoDB) is not installed in %s: run `make tools`", filepath.Join(dir, "scripts", "node_modules"))
			}
			return cli, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	return "", fmt.Errorf("cannot find dynalite: no scripts/package.json in %s or above it; run inside the repository after `make tools`, or set %s to dynalite's cli.js", wd, EnvCLI)
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// readyWriter watches dynalite's standard output for the line it prints
// once it listens.
type readyWriter struct {
	mu     sync.Mutex
	marker []byte
	seen   []byte
	ready  chan struct{}
	closed bool
}

func (w *readyWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.closed {
		w.seen = append(w.seen, p...)
		if bytes.Contains(w.seen, w.marker) {
			w.closed = true
			w.seen = nil
			close(w.ready)
		} else if len(w.seen) > 64<<10 {
			w.seen = w.seen[len(w.seen)-len(w.marker):]
		}
	}
	return len(p), nil
}

// tail keeps the last max bytes written to it, for error messages.
type tail struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		t.buf = t.buf[len(t.buf)-t.max:]
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(bytes.TrimSpace(t.buf))
}
