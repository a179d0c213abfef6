// Package dynamotest gives tests a fresh DynamoDB table on dynalite, the
// local DynamoDB, so storage code is tested against the real wire protocol.
//
// Each test gets its own table; the tests of one binary share one dynalite,
// started on first use. Use Main in TestMain so the server is stopped when
// the tests end:
//
//	func TestMain(m *testing.M) { dynamotest.Main(m) }
//
// (On Linux the server also dies with the test binary, so a forgotten Main
// or a crash leaks nothing; elsewhere Main is what stops it.)
//
// Set DYNAMODB_ENDPOINT to use a DynamoDB-compatible server that is already
// running instead, e.g. the local stack's dynalite. Without Node.js or
// dynalite the tests fail with a message saying what to install; they are
// never skipped.
package dynamotest

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/dashboarduz/incident-response/shared/dynamo"
	"github.com/dashboarduz/incident-response/shared/local/dynalite"
)

// EnvEndpoint names the environment variable holding the endpoint of a
// running DynamoDB-compatible server to use instead of starting dynalite.
const EnvEndpoint = "DYNAMODB_ENDPOINT"

var (
	once     sync.Once
	server   *dynalite.Server
	endpoint string
	startErr error
	tables   atomic.Int64
)

// Main runs the tests and then stops the shared dynalite, if one was
// started, before exiting with the tests' status. Call it from TestMain.
func Main(m *testing.M) {
	code := m.Run()
	stop(code)
}

// MainQuiet is Main for packages whose handlers log: their logs are
// discarded unless the tests run with -v.
func MainQuiet(m *testing.M) {
	flag.Parse()
	if !testing.Verbose() {
		slog.SetDefault(slog.New(slog.DiscardHandler))
	}
	stop(m.Run())
}

// stop stops the shared dynalite, if one was started, and exits with the
// tests' status.
func stop(code int) {
	if server != nil {
		if err := server.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "dynamotest:", err)
			if code == 0 {
				code = 1
			}
		}
	}
	os.Exit(code)
}

// sharedEndpoint returns EnvEndpoint or starts the binary's one dynalite.
func sharedEndpoint() (string, error) {
	once.Do(func() {
		if ep := os.Getenv(EnvEndpoint); ep != "" {
			endpoint = ep
			return
		}
		server, startErr = dynalite.Start(context.Background())
		if startErr == nil {
			endpoint = server.Endpoint
		}
	})
	return endpoint, startErr
}

// New returns a Store on a new, empty table of its own, deleted when the
// test ends.
func New(t testing.TB) *dynamo.Store {
	t.Helper()
	s, _, _ := NewWithClient(t)
	return s
}

// NewWithClient is New that also returns the client and the table's name,
// for tests that look at the table directly or wrap the client.
func NewWithClient(t testing.TB) (*dynamo.Store, *dynamodb.Client, string) {
	t.Helper()
	ep, err := sharedEndpoint()
	if err != nil {
		t.Fatalf("dynamotest: %v", err)
	}
	client := dynamo.LocalClient(ep)
	table := tableName(t.Name())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := dynamo.CreateTable(ctx, client, table); err != nil {
		t.Fatalf("dynamotest: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := client.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(table)}); err != nil {
			t.Errorf("dynamotest: delete table %s: %v", table, err)
		}
	})
	return dynamo.New(client, table), client, table
}

var unsafe = regexp.MustCompile(`[^a-zA-Z0-9_.-]+`)

// tableName makes a valid table name that no other test, in this binary or
// another one sharing the endpoint, uses.
func tableName(test string) string {
	name := unsafe.ReplaceAllString(test, "-")
	if len(name) > 180 {
		name = name[:180]
	}
	return fmt.Sprintf("%s-%d-%d", name, os.Getpid(), tables.Add(1))
}
