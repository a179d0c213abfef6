package awslocal_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
)

func TestLogsFilterLogEvents(t *testing.T) {
	srv := start(t)
	client := cloudwatchlogs.NewFromConfig(srv.AWSConfig())
	tests := []struct {
		name    string
		pattern string
		start   time.Duration
		want    []string
	}{
		{"all", "", 30 * time.Minute, []string{"INFO request served in 12ms", "ERROR database timeout after 5000ms", "Error: connect ECONNREFUSED", "WARN slow query", "ERROR health check failed"}},
		{"term", "ERROR", 30 * time.Minute, []string{"ERROR database timeout after 5000ms", "ERROR health check failed"}},
		{"alternatives", "?ERROR ?Error", 30 * time.Minute, []string{"ERROR database timeout after 5000ms", "Error: connect ECONNREFUSED", "ERROR health check failed"}},
		{"all terms", "ERROR health", 30 * time.Minute, []string{"ERROR health check failed"}},
		{"excluded", "ERROR -health", 30 * time.Minute, []string{"ERROR database timeout after 5000ms"}},
		{"phrase", `"slow query"`, 30 * time.Minute, []string{"WARN slow query"}},
		{"regex", `%timeout after \d+ms%`, 30 * time.Minute, []string{"ERROR database timeout after 5000ms"}},
		{"window", "?ERROR ?Error", 5 * time.Minute, []string{"ERROR health check failed"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := client.FilterLogEvents(context.Background(), &cloudwatchlogs.FilterLogEventsInput{
				LogGroupName: aws.String("/ecs/dashboarduz-api"), FilterPattern: aws.String(tt.pattern),
				StartTime: aws.Int64(t0.Add(-tt.start).UnixMilli()), EndTime: aws.Int64(t0.UnixMilli()),
			})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range out.Events {
				got = append(got, aws.ToString(e.Message))
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("event %d = %q, want %q", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestLogsPaginates(t *testing.T) {
	srv := start(t)
	client := cloudwatchlogs.NewFromConfig(srv.AWSConfig())
	var messages []string
	pages := cloudwatchlogs.NewFilterLogEventsPaginator(client, &cloudwatchlogs.FilterLogEventsInput{LogGroupIdentifier: aws.String("arn:aws:logs:us-east-1:123456789012:log-group:/ecs/dashboarduz-api:*"), Limit: aws.Int32(2)})
	n := 0
	for pages.HasMorePages() {
		out, err := pages.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		n++
		for _, e := range out.Events {
			messages = append(messages, aws.ToString(e.Message))
		}
	}
	if n != 3 || len(messages) != 5 {
		t.Errorf("got %d pages with %d events, want 3 and 5", n, len(messages))
	}
}

func TestLogsErrors(t *testing.T) {
	srv := start(t)
	client := cloudwatchlogs.NewFromConfig(srv.AWSConfig())
	tests := []struct {
		name string
		in   cloudwatchlogs.FilterLogEventsInput
		want string
	}{
		{"unknown group", cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("/ecs/nope")}, "ResourceNotFoundException"},
		{"json pattern", cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("/ecs/dashboarduz-api"), FilterPattern: aws.String(`{ $.level = "error" }`)}, "InvalidParameterException"},
		{"bad token", cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("/ecs/dashboarduz-api"), NextToken: aws.String("x")}, "InvalidParameterException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := client.FilterLogEvents(context.Background(), &tt.in)
			if got := errorCode(err); got != tt.want {
				t.Errorf("error code = %q (%v), want %s", got, err, tt.want)
			}
		})
	}
}
