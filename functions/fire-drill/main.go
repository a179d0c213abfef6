// Command fire-drill runs the runbook's monthly disaster-recovery drill on
// a schedule: it raises the drill's CloudWatch alarm, follows the incident
// through the real pipeline to a page delivered to the test routing key,
// resolves it, and records each hop's time and the result.
package main

import (
	"context"
	"log/slog"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/dashboarduz/incident-response/shared/alarmstate"
	"github.com/dashboarduz/incident-response/shared/drill"
	"github.com/dashboarduz/incident-response/shared/dynamo"
	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/lambdaenv"
	"github.com/dashboarduz/incident-response/shared/response"
	"github.com/dashboarduz/incident-response/shared/stepfunctions"
)

func main() {
	slog.SetDefault(lambdacontext.NewLogger())
	env, cfg := lambdaenv.MustStart("TABLE_NAME", "STATE_MACHINE_ARN", "FIRE_DRILL_ALARM_NAME", "FIRE_DRILL_ALARM_ARN", "AWS_LAMBDA_FUNCTION_NAME")
	table, stateMachine, alarmName, alarmARN, function := env[0], env[1], env[2], env[3], env[4]
	db := dynamodb.NewFromConfig(cfg)
	states := sfn.NewFromConfig(cfg)
	store := dynamo.New(db, table)
	// The drill resolves its incident the way a responder does, so the
	// escalation passes the resolution on to PagerDuty.
	responder := &response.Service{
		Store:   store,
		Starter: stepfunctions.NewStarter(states, stateMachine),
		Policy:  lambdaenv.MustPolicy(),
		Clock:   incident.SystemClock{},
	}
	d := &drill.Drill{
		Alarm:       &alarmstate.Alarm{API: cloudwatch.NewFromConfig(cfg), Name: alarmName},
		Incidents:   store,
		Escalations: &stepfunctions.Executions{API: states, StateMachineARN: stateMachine},
		Resolver: drill.ResolverFunc(func(ctx context.Context, id, rootCause string) error {
			_, err := responder.Resolve(ctx, drill.Actor, id, response.Resolution{RootCause: rootCause})
			return err
		}),
		Log:      &drill.Table{API: db, Table: table},
		Clock:    incident.SystemClock{},
		Sleep:    drill.Sleep,
		AlarmARN: alarmARN,
		Function: function,
	}
	lambda.Start(d.Run)
}
