// Package scheduler adapts EventBridge Scheduler to the system's delayed
// work: it creates a one-time schedule that invokes a Lambda function with
// a JSON input at a given time (for example, scaling a service back down
// after an incident is resolved), and deletes it.
//
// A schedule's name and client token are derived from a key the caller
// chooses (the incident and action), so creating it again, from a retried
// Lambda or a redelivered event, finds the schedule already there
// (ConflictException, reported as AlreadyExisted) instead of making a
// second one. Schedules delete themselves after they run
// (ActionAfterCompletion DELETE); deleting one that is gone is no error.
package scheduler

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"regexp"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsscheduler "github.com/aws/aws-sdk-go-v2/service/scheduler"
	"github.com/aws/aws-sdk-go-v2/service/scheduler/types"

	"github.com/dashboarduz/incident-response/shared/awserr"
	"github.com/dashboarduz/incident-response/shared/incident"
)

// API is the part of the Scheduler client the adapter uses;
// *scheduler.Client satisfies it.
type API interface {
	CreateSchedule(ctx context.Context, params *awsscheduler.CreateScheduleInput, optFns ...func(*awsscheduler.Options)) (*awsscheduler.CreateScheduleOutput, error)
	DeleteSchedule(ctx context.Context, params *awsscheduler.DeleteScheduleInput, optFns ...func(*awsscheduler.Options)) (*awsscheduler.DeleteScheduleOutput, error)
}

// Scheduler creates and deletes one-time schedules in the default
// schedule group.
type Scheduler struct {
	api     API
	roleARN string
}

// New returns a Scheduler whose schedules assume roleARN, the role
// EventBridge Scheduler uses to invoke the target.
func New(api API, roleARN string) *Scheduler { return &Scheduler{api: api, roleARN: roleARN} }

// OneTime is a schedule that fires once.
type OneTime struct {
	// Key identifies the schedule; the same key names the same schedule.
	Key string
	// At is when it fires, to the second.
	At time.Time
	// TargetARN is the Lambda function to invoke.
	TargetARN string
	// Input is the JSON the function receives.
	Input json.RawMessage
	// Description says what the schedule is for.
	Description string
}

// Created is what CreateOnce did.
type Created struct {
	Name string `json:"name"`
	// ARN is the schedule's ARN; empty when it already existed.
	ARN string `json:"arn,omitempty"`
	// AlreadyExisted reports that a schedule of that key was there.
	AlreadyExisted bool `json:"alreadyExisted,omitempty"`
}

// unsafeName matches what a schedule name may not hold.
var unsafeName = regexp.MustCompile(`[^0-9A-Za-z_.-]+`)

// Name is the schedule name of a key: the key made safe and cut to 47
// characters, then a hash of the whole key, so two keys never share a
// name and a name stays within Scheduler's 64 characters.
func Name(key string) string {
	safe := unsafeName.ReplaceAllString(key, "-")
	if len(safe) > 47 {
		safe = safe[:47]
	}
	return safe + "-" + hash(key)[:16]
}

func hash(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// CreateOnce creates the one-time schedule o.
func (s *Scheduler) CreateOnce(ctx context.Context, o OneTime) (*Created, error) {
	switch {
	case o.Key == "":
		return nil, incident.FieldErrorf("key", "a schedule needs a key")
	case o.At.IsZero():
		return nil, incident.FieldErrorf("at", "a one-time schedule needs a time")
	case o.TargetARN == "":
		return nil, incident.FieldErrorf("target", "a schedule needs a target")
	case !json.Valid(o.Input):
		return nil, incident.FieldErrorf("input", "the input of schedule %s is not JSON", o.Key)
	}
	name := Name(o.Key)
	in := &awsscheduler.CreateScheduleInput{
		Name:                       &name,
		ScheduleExpression:         aws.String("at(" + o.At.UTC().Format("2006-01-02T15:04:05") + ")"),
		ScheduleExpressionTimezone: aws.String("UTC"),
		FlexibleTimeWindow:         &types.FlexibleTimeWindow{Mode: types.FlexibleTimeWindowModeOff},
		ActionAfterCompletion:      types.ActionAfterCompletionDelete,
		State:                      types.ScheduleStateEnabled,
		Target:                     &types.Target{Arn: &o.TargetARN, RoleArn: &s.roleARN, Input: aws.String(string(o.Input))},
		ClientToken:                aws.String(hash(o.Key)),
	}
	if o.Description != "" {
		in.Description = &o.Description
	}
	out, err := s.api.CreateSchedule(ctx, in)
	var conflict *types.ConflictException
	if errors.As(err, &conflict) {
		return &Created{Name: name, AlreadyExisted: true}, nil
	}
	if err != nil {
		return nil, awserr.Classify("EventBridge Scheduler", "CreateSchedule", "schedule "+name, err)
	}
	return &Created{Name: name, ARN: aws.ToString(out.ScheduleArn)}, nil
}

// Delete deletes the schedule of key. It reports false when there was
// none: it ran and deleted itself, or was deleted before.
func (s *Scheduler) Delete(ctx context.Context, key string) (bool, error) {
	name := Name(key)
	_, err := s.api.DeleteSchedule(ctx, &awsscheduler.DeleteScheduleInput{Name: &name})
	var missing *types.ResourceNotFoundException
	if errors.As(err, &missing) {
		return false, nil
	}
	if err != nil {
		return false, awserr.Classify("EventBridge Scheduler", "DeleteSchedule", "schedule "+name, err)
	}
	return true, nil
}
