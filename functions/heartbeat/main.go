// Command heartbeat is the system's dead man's switch, run on a schedule:
// each beat checks that an alarm event still plans a page, that the table
// takes writes and that the escalation state machine is active, then emits
// the Heartbeat metric; the alarm on its absence notifies the operator.
// With FIRE_DRILL_MAX_AGE_DAYS set it also watches the fire drill.
package main

import (
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/dashboarduz/incident-response/shared/drill"
	"github.com/dashboarduz/incident-response/shared/heartbeat"
	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/lambdaenv"
	"github.com/dashboarduz/incident-response/shared/stepfunctions"
)

func main() {
	slog.SetDefault(lambdacontext.NewLogger())
	env, cfg := lambdaenv.MustStart("TABLE_NAME", "STATE_MACHINE_ARN", "AWS_LAMBDA_FUNCTION_NAME")
	table, stateMachine, function := env[0], env[1], env[2]
	db := dynamodb.NewFromConfig(cfg)
	h := &heartbeat.Heartbeat{
		Store:        &heartbeat.Table{API: db, Table: table},
		StateMachine: &stepfunctions.StateMachine{API: sfn.NewFromConfig(cfg), ARN: stateMachine},
		Rules:        incident.DefaultClassificationRules(),
		Policy:       lambdaenv.MustPolicy(),
		Clock:        incident.SystemClock{},
		Function:     function,
	}
	// Without a fire drill (fireDrillSchedule=off) there is nothing to watch.
	if s := os.Getenv("FIRE_DRILL_MAX_AGE_DAYS"); s != "" {
		days, err := strconv.Atoi(s)
		if err != nil || days < 1 {
			lambdaenv.Must(fmt.Errorf("FIRE_DRILL_MAX_AGE_DAYS is %q, not a positive number of days", s))
		}
		h.Drills = &drill.Table{API: db, Table: table}
		h.DrillMaxAge = time.Duration(days) * 24 * time.Hour
	}
	lambda.Start(h.Beat)
}
