package dynalite_test

import (
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/dashboarduz/incident-response/shared/dynamo"
	"github.com/dashboarduz/incident-response/shared/local/dynalite"
)

func TestStartServesDynamoDBAndStopEndsIt(t *testing.T) {
	s, err := dynalite.Start(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	if !strings.HasPrefix(s.Endpoint, "http://127.0.0.1:") {
		t.Errorf("Endpoint = %q, want http://127.0.0.1:<port>", s.Endpoint)
	}
	if _, err := dynamo.LocalClient(s.Endpoint).ListTables(t.Context(), &dynamodb.ListTablesInput{}); err != nil {
		t.Fatalf("ListTables: %v", err)
	}
	if err := s.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if err := s.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
	if listening(s.Endpoint) {
		t.Errorf("%s still answers after Stop", s.Endpoint)
	}
}

func TestStartExplainsWhatIsMissing(t *testing.T) {
	t.Run("no Node.js on PATH", func(t *testing.T) {
		t.Setenv("PATH", t.TempDir())
		_, err := dynalite.Start(t.Context())
		want := "Node.js is required to run dynalite (the local DynamoDB): install Node.js 20+ and run `make tools`"
		if err == nil || err.Error() != want {
			t.Fatalf("Start error = %v, want %q", err, want)
		}
	})

	t.Run("DYNALITE_CLI points nowhere", func(t *testing.T) {
		t.Setenv(dynalite.EnvCLI, filepath.Join(t.TempDir(), "cli.js"))
		_, err := dynalite.Start(t.Context())
		if err == nil || !strings.Contains(err.Error(), "make tools") {
			t.Fatalf("Start error = %v, want one saying to run make tools", err)
		}
	})

	t.Run("tools not installed", func(t *testing.T) {
		repo := t.TempDir()
		if err := os.MkdirAll(filepath.Join(repo, "scripts"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(repo, "scripts", "package.json"), []byte("{}"), 0o644); err != nil {
			t.Fatal(err)
		}
		sub := filepath.Join(repo, "shared", "x")
		if err := os.MkdirAll(sub, 0o755); err != nil {
			t.Fatal(err)
		}
		t.Setenv(dynalite.EnvCLI, "")
		t.Chdir(sub)
		_, err := dynalite.Start(t.Context())
		if err == nil || !strings.Contains(err.Error(), "is not installed") || !strings.Contains(err.Error(), "make tools") {
			t.Fatalf("Start error = %v, want one saying dynalite is not installed and to run make tools", err)
		}
	})

	t.Run("outside the repository", func(t *testing.T) {
		t.Setenv(dynalite.EnvCLI, "")
		t.Chdir(t.TempDir())
		_, err := dynalite.Start(t.Context())
		if err == nil || !strings.Contains(err.Error(), "scripts/package.json") || !strings.Contains(err.Error(), dynalite.EnvCLI) {
			t.Fatalf("Start error = %v, want one naming scripts/package.json and %s", err, dynalite.EnvCLI)
		}
	})
}

// TestDiesWithParent starts dynalite from a child process that exits
// without stopping it, and checks that the server goes too.
func TestDiesWithParent(t *testing.T) {
	if os.Getenv("DYNALITE_TEST_ORPHAN") == "1" {
		s, err := dynalite.Start(t.Context())
		if err != nil {
			os.Stdout.WriteString("error " + err.Error() + "\n")
			os.Exit(2)
		}
		os.Stdout.WriteString(s.Endpoint + "\n")
		os.Exit(0) // no Stop: the kernel must end dynalite
	}
	if runtime.GOOS != "linux" {
		t.Skip("the parent-death signal is Linux only; elsewhere Stop or dynamotest.Main ends dynalite")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestDiesWithParent$")
	cmd.Env = append(os.Environ(), "DYNALITE_TEST_ORPHAN=1")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("child: %v: %s", err, out)
	}
	endpoint, _, _ := strings.Cut(string(out), "\n")
	if !strings.HasPrefix(endpoint, "http://") {
		t.Fatalf("child printed %q, want an endpoint", out)
	}
	deadline := time.Now().Add(5 * time.Second)
	for listening(endpoint) {
		if time.Now().After(deadline) {
			t.Fatalf("dynalite at %s outlived the process that started it", endpoint)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// listening reports whether something accepts connections at endpoint.
func listening(endpoint string) bool {
	u, err := url.Parse(endpoint)
	if err != nil {
		return false
	}
	c, err := net.DialTimeout("tcp", u.Host, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}
