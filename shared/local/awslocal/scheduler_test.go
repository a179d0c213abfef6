package awslocal_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	"github.com/aws/aws-sdk-go-v2/service/scheduler/types"
)

func createInput(name, token string) *scheduler.CreateScheduleInput {
	return &scheduler.CreateScheduleInput{
		Name: aws.String(name), ScheduleExpression: aws.String("at(2026-03-01T03:30:00)"), ScheduleExpressionTimezone: aws.String("UTC"),
		FlexibleTimeWindow:    &types.FlexibleTimeWindow{Mode: types.FlexibleTimeWindowModeOff},
		ActionAfterCompletion: types.ActionAfterCompletionDelete,
		Target:                &types.Target{Arn: aws.String("arn:aws:lambda:us-east-1:123456789012:function:remediate"), RoleArn: aws.String("arn:aws:iam::123456789012:role/scheduler"), Input: aws.String(`{"action":"scale-down"}`)},
		ClientToken:           aws.String(token),
	}
}

func TestSchedulerOneTimeSchedule(t *testing.T) {
	srv := start(t)
	client := scheduler.NewFromConfig(srv.AWSConfig())
	ctx := context.Background()
	created, err := client.CreateSchedule(ctx, createInput("scale-down-inc-1", "tok-1"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := aws.ToString(created.ScheduleArn), "arn:aws:scheduler:us-east-1:123456789012:schedule/default/scale-down-inc-1"; got != want {
		t.Errorf("arn = %s, want %s", got, want)
	}
	if _, err := client.CreateSchedule(ctx, createInput("scale-down-inc-1", "tok-1")); err != nil {
		t.Errorf("same client token again: %v, want the same answer", err)
	}
	_, err = client.CreateSchedule(ctx, createInput("scale-down-inc-1", "tok-2"))
	if code := errorCode(err); code != "ConflictException" {
		t.Errorf("another token: error code %q, want ConflictException", code)
	}
	got, err := client.GetSchedule(ctx, &scheduler.GetScheduleInput{Name: aws.String("scale-down-inc-1")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(got.Target.Input) != `{"action":"scale-down"}` || got.ActionAfterCompletion != types.ActionAfterCompletionDelete || !aws.ToTime(got.CreationDate).Equal(t0) {
		t.Errorf("schedule = %+v", got)
	}
	if w := srv.World(); len(w.Schedules) != 1 || !w.Schedules[0].At.Equal(t0.Add(30*time.Minute)) {
		t.Errorf("world schedules = %+v, want one at %v", w.Schedules, t0.Add(30*time.Minute))
	}
	if _, err := client.DeleteSchedule(ctx, &scheduler.DeleteScheduleInput{Name: aws.String("scale-down-inc-1")}); err != nil {
		t.Fatal(err)
	}
	_, err = client.DeleteSchedule(ctx, &scheduler.DeleteScheduleInput{Name: aws.String("scale-down-inc-1")})
	if code := errorCode(err); code != "ResourceNotFoundException" {
		t.Errorf("second delete: error code %q, want ResourceNotFoundException", code)
	}
}

func TestSchedulerValidation(t *testing.T) {
	srv := start(t)
	client := scheduler.NewFromConfig(srv.AWSConfig())
	bad := createInput("x", "t")
	bad.ScheduleExpression = aws.String("at(tomorrow)")
	badName := createInput("no spaces allowed", "t")
	for name, in := range map[string]*scheduler.CreateScheduleInput{"expression": bad, "name": badName} {
		_, err := client.CreateSchedule(context.Background(), in)
		if code := errorCode(err); code != "ValidationException" {
			t.Errorf("%s: error code %q (%v), want ValidationException", name, code, err)
		}
	}
}
