// Package ssm adapts SSM Parameter Store to remediation: it reads and
// switches an on/off parameter, such as the application's maintenance
// mode, reporting the value before the switch.
//
// The parameter holds "on" or "off"; reading also accepts true/false,
// enabled/disabled and 1/0 in any case, so an existing parameter need not
// be rewritten first. PutParameter takes no client token and no version
// precondition: switching is idempotent by value (a switch to the value
// the parameter holds writes nothing), and exactly-once across retries
// rests on the caller's ledger.
package ssm

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsssm "github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/dashboarduz/incident-response/shared/awserr"
	"github.com/dashboarduz/incident-response/shared/incident"
)

// The values the switch writes.
const (
	On  = "on"
	Off = "off"
)

// API is the part of the SSM client the adapter uses; *ssm.Client
// satisfies it.
type API interface {
	GetParameter(ctx context.Context, params *awsssm.GetParameterInput, optFns ...func(*awsssm.Options)) (*awsssm.GetParameterOutput, error)
	PutParameter(ctx context.Context, params *awsssm.PutParameterInput, optFns ...func(*awsssm.Options)) (*awsssm.PutParameterOutput, error)
}

// Switch is an on/off parameter.
type Switch struct {
	api  API
	name string
}

// NewSwitch returns the switch held by the parameter name.
func NewSwitch(api API, name string) *Switch { return &Switch{api: api, name: name} }

// State is what the parameter holds.
type State struct {
	On           bool      `json:"on"`
	Version      int64     `json:"version"`
	LastModified time.Time `json:"lastModified"`
}

// State reads the switch. A missing parameter is not_found; a value that
// is neither on nor off is invalid.
func (s *Switch) State(ctx context.Context) (*State, error) {
	out, err := s.api.GetParameter(ctx, &awsssm.GetParameterInput{Name: &s.name})
	if err != nil {
		return nil, awserr.Classify("SSM", "GetParameter", "parameter "+s.name, err)
	}
	if out.Parameter == nil {
		return nil, incident.Errorf(incident.ENotFound, "SSM parameter %s not found", s.name)
	}
	on, ok := parse(aws.ToString(out.Parameter.Value))
	if !ok {
		return nil, incident.Errorf(incident.EInvalid, "SSM parameter %s holds %q, which is neither %s nor %s", s.name, aws.ToString(out.Parameter.Value), On, Off)
	}
	return &State{On: on, Version: out.Parameter.Version, LastModified: aws.ToTime(out.Parameter.LastModifiedDate).UTC()}, nil
}

// SwitchResult is what Set did.
type SwitchResult struct {
	Previous bool `json:"previous"`
	Current  bool `json:"current"`
	// Changed is false when the parameter already held the value.
	Changed bool `json:"changed"`
	// Version is the parameter's version after the call.
	Version int64 `json:"version"`
}

// Set switches the parameter on or off and reports what it was. A missing
// parameter counts as off and is created.
func (s *Switch) Set(ctx context.Context, on bool) (*SwitchResult, error) {
	st, err := s.State(ctx)
	var rejected *awserr.AWSRejectedError
	exists := true
	switch {
	case errors.As(err, &rejected) && incident.ErrorCode(err) == incident.ENotFound:
		st, exists = &State{}, false
	case err != nil:
		return nil, err
	}
	res := &SwitchResult{Previous: st.On, Current: on, Version: st.Version}
	if exists && st.On == on {
		return res, nil
	}
	value := Off
	if on {
		value = On
	}
	out, err := s.api.PutParameter(ctx, &awsssm.PutParameterInput{Name: &s.name, Value: &value, Type: types.ParameterTypeString, Overwrite: aws.Bool(exists)})
	if err != nil {
		return nil, awserr.Classify("SSM", "PutParameter", "parameter "+s.name, err)
	}
	res.Changed, res.Version = true, out.Version
	return res, nil
}

// parse reads an on/off value.
func parse(v string) (on, ok bool) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "on", "true", "enabled", "1":
		return true, true
	case "off", "false", "disabled", "0":
		return false, true
	}
	return false, false
}
