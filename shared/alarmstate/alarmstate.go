// Package alarmstate sets the state of a CloudWatch alarm through the
// CloudWatch API, as the fire drill does to raise its alarm. It is apart
// from shared/cloudwatch, the alarm-event decoder, so that the functions
// that only decode alarm events do not carry the CloudWatch client.
package alarmstate

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
)

// SetAlarmStateAPI is the part of the CloudWatch client Alarm uses;
// *cloudwatch.Client implements it.
type SetAlarmStateAPI interface {
	SetAlarmState(ctx context.Context, in *cloudwatch.SetAlarmStateInput, optFns ...func(*cloudwatch.Options)) (*cloudwatch.SetAlarmStateOutput, error)
}

// maxReason is the longest StateReason CloudWatch accepts.
const maxReason = 1023

// Alarm is one CloudWatch alarm, by name.
type Alarm struct {
	API  SetAlarmStateAPI
	Name string
}

// Raise sets the alarm to ALARM with reason. CloudWatch emits the state
// change to EventBridge like any other, and the alarm goes back to the
// state its metric says at its next evaluation.
func (a *Alarm) Raise(ctx context.Context, reason string) error {
	if len(reason) > maxReason {
		reason = reason[:maxReason]
	}
	_, err := a.API.SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{
		AlarmName:   aws.String(a.Name),
		StateValue:  types.StateValueAlarm,
		StateReason: aws.String(reason),
	})
	if err != nil {
		return fmt.Errorf("set alarm %s to ALARM: %w", a.Name, err)
	}
	return nil
}
