package triage

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	awscloudwatch "github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	awsecs "github.com/aws/aws-sdk-go-v2/service/ecs"
	awsrds "github.com/aws/aws-sdk-go-v2/service/rds"

	"github.com/dashboarduz/incident-response/shared/cloudwatch"
	"github.com/dashboarduz/incident-response/shared/ecs"
	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/logs"
	"github.com/dashboarduz/incident-response/shared/rds"
)

// NewClients builds the adapters the sources read through from one AWS
// configuration (the function's, or the local stand-in's), with web for
// the health endpoints; the metric and log windows end at clock's now.
func NewClients(cfg aws.Config, web Doer, clock incident.Clock) Clients {
	return Clients{
		HTTP:    web,
		ECS:     ecs.New(awsecs.NewFromConfig(cfg)),
		Metrics: cloudwatch.NewMetrics(awscloudwatch.NewFromConfig(cfg), clock),
		Logs:    logs.NewReader(cloudwatchlogs.NewFromConfig(cfg), clock),
		RDS:     rds.New(awsrds.NewFromConfig(cfg)),
	}
}
