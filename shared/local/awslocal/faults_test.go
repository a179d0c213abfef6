package awslocal_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	sestypes "github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/dashboarduz/incident-response/shared/local/awslocal"
)

// serviceCall makes one representative call to a service, to its
// operation op, and one to an operation the stand-in does not implement.
type serviceCall struct {
	service, op string
	call        func(ctx context.Context, cfg aws.Config) error
	unknown     func(ctx context.Context, cfg aws.Config) error
	codes       map[awslocal.FaultKind]string
	unknownCode string
}

var serviceCalls = []serviceCall{
	{
		service: "ecs", op: "DescribeServices",
		call: func(ctx context.Context, cfg aws.Config) error {
			_, err := ecs.NewFromConfig(cfg).DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String("dashboarduz"), Services: []string{"dashboarduz-api"}})
			return err
		},
		unknown: func(ctx context.Context, cfg aws.Config) error {
			_, err := ecs.NewFromConfig(cfg).ListClusters(ctx, &ecs.ListClustersInput{})
			return err
		},
		codes:       map[awslocal.FaultKind]string{awslocal.Throttle: "ThrottlingException", awslocal.AccessDenied: "AccessDeniedException", awslocal.ServerError: "ServerException"},
		unknownCode: "UnknownOperationException",
	},
	{
		service: "cloudwatch", op: "GetMetricData",
		call: func(ctx context.Context, cfg aws.Config) error {
			_, err := cloudwatch.NewFromConfig(cfg).GetMetricData(ctx, &cloudwatch.GetMetricDataInput{
				StartTime: aws.Time(t0.Add(-time.Hour)), EndTime: aws.Time(t0),
				MetricDataQueries: []cwtypes.MetricDataQuery{metricQuery("m", "AWS/RDS", "DatabaseConnections", "Maximum", 60, "DBInstanceIdentifier", "dashboarduz-db")},
			})
			return err
		},
		unknown: func(ctx context.Context, cfg aws.Config) error {
			_, err := cloudwatch.NewFromConfig(cfg).ListMetrics(ctx, &cloudwatch.ListMetricsInput{})
			return err
		},
		codes:       map[awslocal.FaultKind]string{awslocal.Throttle: "Throttling", awslocal.AccessDenied: "AccessDenied", awslocal.ServerError: "InternalServiceFault"},
		unknownCode: "UnknownOperationException",
	},
	{
		service: "logs", op: "FilterLogEvents",
		call: func(ctx context.Context, cfg aws.Config) error {
			_, err := cloudwatchlogs.NewFromConfig(cfg).FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("/ecs/dashboarduz-api")})
			return err
		},
		unknown: func(ctx context.Context, cfg aws.Config) error {
			_, err := cloudwatchlogs.NewFromConfig(cfg).DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{})
			return err
		},
		codes:       map[awslocal.FaultKind]string{awslocal.Throttle: "ThrottlingException", awslocal.AccessDenied: "AccessDeniedException", awslocal.ServerError: "ServiceUnavailableException"},
		unknownCode: "UnknownOperationException",
	},
	{
		service: "rds", op: "DescribeDBInstances",
		call: func(ctx context.Context, cfg aws.Config) error {
			_, err := rds.NewFromConfig(cfg).DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String("dashboarduz-db")})
			return err
		},
		unknown: func(ctx context.Context, cfg aws.Config) error {
			_, err := rds.NewFromConfig(cfg).DescribeDBClusters(ctx, &rds.DescribeDBClustersInput{})
			return err
		},
		codes:       map[awslocal.FaultKind]string{awslocal.Throttle: "Throttling", awslocal.AccessDenied: "AccessDenied", awslocal.ServerError: "InternalFailure"},
		unknownCode: "InvalidAction",
	},
	{
		service: "ssm", op: "GetParameter",
		call: func(ctx context.Context, cfg aws.Config) error {
			_, err := ssm.NewFromConfig(cfg).GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/dashboarduz/maintenance-mode")})
			return err
		},
		unknown: func(ctx context.Context, cfg aws.Config) error {
			_, err := ssm.NewFromConfig(cfg).DeleteParameter(ctx, &ssm.DeleteParameterInput{Name: aws.String("/x")})
			return err
		},
		codes:       map[awslocal.FaultKind]string{awslocal.Throttle: "ThrottlingException", awslocal.AccessDenied: "AccessDeniedException", awslocal.ServerError: "InternalServerError"},
		unknownCode: "UnknownOperationException",
	},
	{
		service: "ses", op: "SendEmail",
		call: func(ctx context.Context, cfg aws.Config) error {
			_, err := sesv2.NewFromConfig(cfg).SendEmail(ctx, &sesv2.SendEmailInput{
				FromEmailAddress: aws.String("a@b.example"), Destination: &sestypes.Destination{ToAddresses: []string{"c@d.example"}},
				Content: &sestypes.EmailContent{Simple: &sestypes.Message{Subject: &sestypes.Content{Data: aws.String("s")}, Body: &sestypes.Body{Text: &sestypes.Content{Data: aws.String("b")}}}},
			})
			return err
		},
		unknown: func(ctx context.Context, cfg aws.Config) error {
			_, err := sesv2.NewFromConfig(cfg).GetAccount(ctx, &sesv2.GetAccountInput{})
			return err
		},
		codes:       map[awslocal.FaultKind]string{awslocal.Throttle: "TooManyRequestsException", awslocal.AccessDenied: "AccessDeniedException", awslocal.ServerError: "InternalFailure"},
		unknownCode: "UnknownOperationException",
	},
}

func TestFaultsInEachServicesShape(t *testing.T) {
	// The SDK makes three attempts at a throttled or 5xx call and one at
	// an access-denied call.
	attempts := map[awslocal.FaultKind]int{awslocal.Throttle: 3, awslocal.AccessDenied: 1, awslocal.ServerError: 3}
	for _, sc := range serviceCalls {
		for _, kind := range []awslocal.FaultKind{awslocal.Throttle, awslocal.AccessDenied, awslocal.ServerError} {
			t.Run(sc.service+"/"+string(kind), func(t *testing.T) {
				srv := start(t)
				if err := srv.AddFault(awslocal.Fault{Service: sc.service, Kind: kind}); err != nil {
					t.Fatal(err)
				}
				err := sc.call(context.Background(), srv.AWSConfig())
				if got := errorCode(err); got != sc.codes[kind] {
					t.Errorf("error code = %q (%v), want %s", got, err, sc.codes[kind])
				}
				if n := len(srv.Calls()); n != attempts[kind] {
					t.Errorf("%d calls recorded, want %d", n, attempts[kind])
				}
				if c := lastCall(t, srv); c.Service != sc.service || c.Operation != sc.op || c.Outcome != sc.codes[kind] {
					t.Errorf("call = %s %s %s", c.Service, c.Operation, c.Outcome)
				}
			})
		}
	}
}

func TestUnknownOperations(t *testing.T) {
	for _, sc := range serviceCalls {
		t.Run(sc.service, func(t *testing.T) {
			srv := start(t)
			err := sc.unknown(context.Background(), srv.AWSConfig())
			if got := errorCode(err); got != sc.unknownCode {
				t.Errorf("error code = %q (%v), want %s", got, err, sc.unknownCode)
			}
		})
	}
}

func TestFaultForSomeCalls(t *testing.T) {
	srv := start(t)
	if err := srv.AddFault(awslocal.Fault{Service: "ecs", Operation: "DescribeServices", Kind: awslocal.Throttle, Count: 1}); err != nil {
		t.Fatal(err)
	}
	if err := serviceCalls[0].call(context.Background(), srv.AWSConfig()); err != nil {
		t.Fatalf("throttled once: %v, want the SDK's retry to succeed", err)
	}
	calls := srv.CallsTo("ecs", "DescribeServices")
	if len(calls) != 2 || calls[0].Outcome != "ThrottlingException" || calls[0].Status != http.StatusBadRequest || calls[1].Outcome != "ok" {
		t.Errorf("calls = %+v, want one throttled then one ok", calls)
	}
}

func TestTimeoutFaults(t *testing.T) {
	tests := []struct {
		kind        awslocal.FaultKind
		wantDesired int32
	}{
		{awslocal.Timeout, 3},
		{awslocal.TimeoutApplied, 6},
	}
	for _, tt := range tests {
		t.Run(string(tt.kind), func(t *testing.T) {
			srv := start(t)
			if err := srv.AddFault(awslocal.Fault{Service: "ecs", Operation: "UpdateService", Kind: tt.kind, Count: 1}); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			began := time.Now()
			_, err := ecs.NewFromConfig(srv.AWSConfig()).UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("dashboarduz"), Service: aws.String("dashboarduz-api"), DesiredCount: aws.Int32(6)})
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("error = %v, want the deadline exceeded", err)
			}
			if d := time.Since(began); d > 2*time.Second {
				t.Errorf("took %v", d)
			}
			waitFor(t, func() bool { c := srv.Calls(); return len(c) == 1 && c[0].Outcome == "timeout" })
			if got := srv.World().Clusters[0].Services[0].DesiredCount; got != tt.wantDesired {
				t.Errorf("desired count = %d, want %d", got, tt.wantDesired)
			}
		})
	}
}

// waitFor polls cond for up to two seconds: a held request is recorded
// once the server sees the caller go.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatal("condition not met in 2s")
}

func TestCloseReleasesHeldRequests(t *testing.T) {
	srv, err := awslocal.Start(awslocal.Options{World: testWorld()})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.AddFault(awslocal.Fault{Service: "ssm", Kind: awslocal.Timeout}); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- serviceCalls[4].call(context.Background(), srv.AWSConfig()) }()
	time.Sleep(50 * time.Millisecond)
	began := time.Now()
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(began); d > 3*time.Second {
		t.Errorf("close took %v", d)
	}
	if err := <-done; err == nil {
		t.Error("a held call succeeded")
	}
}

func TestAddFaultRefusesNonsense(t *testing.T) {
	srv := start(t)
	for _, f := range []awslocal.Fault{{Service: "s3", Kind: awslocal.Throttle}, {Service: "ecs", Kind: "boom"}, {Service: "ecs", Kind: awslocal.Throttle, Count: -1}} {
		if err := srv.AddFault(f); err == nil {
			t.Errorf("AddFault(%+v) accepted", f)
		}
	}
}

func TestUnsignedAndUnknownServices(t *testing.T) {
	srv := start(t)
	tests := []struct {
		auth       string
		wantStatus int
		wantCode   string
	}{
		{"", http.StatusForbidden, "MissingAuthenticationTokenException"},
		{"AWS4-HMAC-SHA256 Credential=AKID/20260301/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=x", http.StatusBadRequest, "UnrecognizedClientException"},
	}
	for _, tt := range tests {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/", strings.NewReader("{}"))
		if tt.auth != "" {
			req.Header.Set("Authorization", tt.auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.wantStatus || resp.Header.Get("X-Amzn-Errortype") != tt.wantCode {
			t.Errorf("auth %q: %d %s, want %d %s", tt.auth, resp.StatusCode, resp.Header.Get("X-Amzn-Errortype"), tt.wantStatus, tt.wantCode)
		}
	}
	if n := len(srv.Calls()); n != 2 {
		t.Errorf("%d calls recorded, want 2", n)
	}
}
