package awslocal

import (
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// AWSConfig returns an aws.Config that points every service client at
// the server: static credentials, region us-east-1 and the server's URL
// as BaseEndpoint, which every client built from it uses (requests are
// told apart by their signature, so one endpoint serves all). Build a
// client in one line: ecs.NewFromConfig(srv.AWSConfig()).
//
// The retryer is the SDK's standard one (three attempts, retrying
// throttling and 5xx answers) with its backoff capped at 10 ms, so that
// fault tests exercise the SDK's retries without waiting seconds.
func (s *Server) AWSConfig() aws.Config {
	return aws.Config{
		Region:       Region,
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDAWSLOCAL", "awslocal-secret", ""),
		BaseEndpoint: aws.String(s.URL),
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) { o.MaxBackoff = 10 * time.Millisecond })
		},
	}
}
