package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/dashboarduz/incident-response/shared/dynamo"
)

// newDynamoClient returns the DynamoDB client the stack uses for endpoint,
// with apiOptions (such as a request counter) on its middleware stack.
//
// A loopback endpoint (dynalite, DynamoDB Local) gets the static local
// credentials and us-east-1. Any other endpoint (DynamoDB Local on another
// host, or DynamoDB itself, e.g. https://dynamodb.eu-west-1.amazonaws.com)
// gets the credentials in AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
// AWS_SESSION_TOKEN when they are set, and the region in AWS_REGION (or
// AWS_DEFAULT_REGION). Reading the environment rather than the whole AWS
// configuration chain keeps the SSO and STS clients out of the local
// stack's build: `aws configure export-credentials --format env` puts any
// profile's credentials there.
func newDynamoClient(endpoint string, apiOptions []func(*middleware.Stack) error) (*dynamodb.Client, error) {
	u, err := url.Parse(endpoint)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("DynamoDB endpoint %q: want a URL such as http://127.0.0.1:8000", endpoint)
	}
	opts := dynamo.LocalClient(endpoint).Options()
	if !loopbackHost(u.Hostname()) {
		if id, secret := os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY"); id != "" && secret != "" {
			opts.Credentials = credentials.NewStaticCredentialsProvider(id, secret, os.Getenv("AWS_SESSION_TOKEN"))
		}
		for _, env := range []string{"AWS_REGION", "AWS_DEFAULT_REGION"} {
			if r := os.Getenv(env); r != "" {
				opts.Region = r
				break
			}
		}
	}
	opts.APIOptions = append(opts.APIOptions, apiOptions...)
	return dynamodb.New(opts), nil
}

// loopbackHost reports whether host names this machine.
func loopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// ensureTable makes sure table exists and is ACTIVE: an existing table is
// used as it is (so a role that may not create tables can still run the
// stack against one), a missing one is created as the stack defines it.
func ensureTable(ctx context.Context, client *dynamodb.Client, table string) error {
	out, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)})
	var missing *types.ResourceNotFoundException
	switch {
	case err == nil && out.Table != nil && out.Table.TableStatus == types.TableStatusActive:
		return nil
	case err != nil && !errors.As(err, &missing):
		return fmt.Errorf("describe table %s: %w", table, err)
	}
	// Missing, or still being created: CreateTable accepts an existing
	// table and waits until it is ACTIVE.
	return dynamo.CreateTable(ctx, client, table)
}
