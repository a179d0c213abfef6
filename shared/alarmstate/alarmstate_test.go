package alarmstate

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
)

type fakeCloudWatch struct {
	got *cloudwatch.SetAlarmStateInput
	err error
}

func (f *fakeCloudWatch) SetAlarmState(_ context.Context, in *cloudwatch.SetAlarmStateInput, _ ...func(*cloudwatch.Options)) (*cloudwatch.SetAlarmStateOutput, error) {
	f.got = in
	return &cloudwatch.SetAlarmStateOutput{}, f.err
}

func TestRaise(t *testing.T) {
	f := &fakeCloudWatch{}
	a := &Alarm{API: f, Name: "Stack-fire-drill"}
	if err := a.Raise(context.Background(), strings.Repeat("r", 2000)); err != nil {
		t.Fatal(err)
	}
	if aws.ToString(f.got.AlarmName) != "Stack-fire-drill" || f.got.StateValue != types.StateValueAlarm {
		t.Errorf("request = %q %q, want Stack-fire-drill ALARM", aws.ToString(f.got.AlarmName), f.got.StateValue)
	}
	if n := len(aws.ToString(f.got.StateReason)); n != maxReason {
		t.Errorf("reason of %d characters, want it cut to CloudWatch's %d", n, maxReason)
	}

	f.err = errors.New("ResourceNotFound")
	if err := a.Raise(context.Background(), "why"); err == nil || !strings.Contains(err.Error(), "Stack-fire-drill") {
		t.Errorf("err = %v, want one naming the alarm", err)
	}
}
