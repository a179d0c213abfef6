package ssm_test

import (
	"context"
	"testing"
	"time"

	awsssm "github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/dashboarduz/incident-response/shared/awserr"
	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/local/awslocal"
	"github.com/dashboarduz/incident-response/shared/ssm"
)

var t0 = time.Date(2026, 3, 1, 3, 0, 0, 0, time.UTC)

const name = "/dashboarduz/maintenance-mode"

func start(t *testing.T, params ...awslocal.Parameter) (*awslocal.Server, *awsssm.Client) {
	t.Helper()
	srv, err := awslocal.Start(awslocal.Options{World: awslocal.World{Parameters: params}, Clock: incident.ClockFunc(func() time.Time { return t0 }), Hold: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return srv, awsssm.NewFromConfig(srv.AWSConfig())
}

func TestSwitch(t *testing.T) {
	srv, api := start(t, awslocal.Parameter{Name: name, Value: "off", Version: 3})
	sw := ssm.NewSwitch(api, name)
	ctx := context.Background()
	res, err := sw.Set(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	if *res != (ssm.SwitchResult{Previous: false, Current: true, Changed: true, Version: 4}) {
		t.Errorf("switch on = %+v", res)
	}
	again, err := sw.Set(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	if *again != (ssm.SwitchResult{Previous: true, Current: true, Version: 4}) {
		t.Errorf("switch on again = %+v, want unchanged", again)
	}
	if n := len(srv.CallsTo("ssm", "PutParameter")); n != 1 {
		t.Errorf("%d PutParameter calls, want 1", n)
	}
	st, err := sw.State(ctx)
	if err != nil || !st.On || st.Version != 4 || !st.LastModified.Equal(t0) {
		t.Errorf("state = %+v, %v", st, err)
	}
	off, err := sw.Set(ctx, false)
	if err != nil || !off.Previous || off.Current || srv.World().Parameters[0].Value != "off" {
		t.Errorf("switch off = %+v, %v; world %+v", off, err, srv.World().Parameters)
	}
}

func TestSwitchCreatesMissingParameter(t *testing.T) {
	srv, api := start(t)
	sw := ssm.NewSwitch(api, name)
	if _, err := sw.State(context.Background()); incident.ErrorCode(err) != incident.ENotFound {
		t.Errorf("state of a missing parameter: %v, want not_found", err)
	}
	res, err := sw.Set(context.Background(), true)
	if err != nil {
		t.Fatal(err)
	}
	if res.Previous || !res.Changed || res.Version != 1 || srv.World().Parameters[0].Value != "on" {
		t.Errorf("result = %+v, world %+v", res, srv.World().Parameters)
	}
}

func TestSwitchReadsOtherSpellings(t *testing.T) {
	tests := map[string]bool{"true": true, "Enabled": true, "1": true, "FALSE": false, "disabled": false, "0": false}
	for value, want := range tests {
		_, api := start(t, awslocal.Parameter{Name: name, Value: value})
		st, err := ssm.NewSwitch(api, name).State(context.Background())
		if err != nil || st.On != want {
			t.Errorf("%q: %+v, %v; want on=%v", value, st, err, want)
		}
	}
	_, api := start(t, awslocal.Parameter{Name: name, Value: "maybe"})
	if _, err := ssm.NewSwitch(api, name).Set(context.Background(), true); incident.ErrorCode(err) != incident.EInvalid {
		t.Errorf("a value neither on nor off: %v, want invalid", err)
	}
}

func TestSwitchFaults(t *testing.T) {
	tests := []struct {
		kind      awslocal.FaultKind
		op        string
		retryable bool
		code      string
	}{
		{awslocal.Throttle, "PutParameter", true, incident.EInternal},
		{awslocal.Timeout, "GetParameter", true, incident.EInternal},
		{awslocal.AccessDenied, "PutParameter", false, incident.EUnauthorized},
	}
	for _, tt := range tests {
		t.Run(string(tt.kind), func(t *testing.T) {
			srv, api := start(t, awslocal.Parameter{Name: name, Value: "off"})
			if err := srv.AddFault(awslocal.Fault{Service: "ssm", Operation: tt.op, Kind: tt.kind}); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			_, err := ssm.NewSwitch(api, name).Set(ctx, true)
			if awserr.Retryable(err) != tt.retryable || incident.ErrorCode(err) != tt.code {
				t.Errorf("error = %v: retryable %v code %s, want %v %s", err, awserr.Retryable(err), incident.ErrorCode(err), tt.retryable, tt.code)
			}
			if v := srv.World().Parameters[0].Value; v != "off" {
				t.Errorf("parameter = %s, want off", v)
			}
		})
	}
}
