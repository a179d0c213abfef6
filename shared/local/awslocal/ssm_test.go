package awslocal_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

func TestSSMParameters(t *testing.T) {
	srv := start(t)
	client := ssm.NewFromConfig(srv.AWSConfig())
	ctx := context.Background()
	name := aws.String("/dashboarduz/maintenance-mode")
	got, err := client.GetParameter(ctx, &ssm.GetParameterInput{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(got.Parameter.Value) != "off" || got.Parameter.Version != 4 || !aws.ToTime(got.Parameter.LastModifiedDate).Equal(t0.Add(-24*60*60*1e9)) {
		t.Errorf("parameter = %s v%d at %v", aws.ToString(got.Parameter.Value), got.Parameter.Version, aws.ToTime(got.Parameter.LastModifiedDate))
	}
	_, err = client.PutParameter(ctx, &ssm.PutParameterInput{Name: name, Value: aws.String("on")})
	if code := errorCode(err); code != "ParameterAlreadyExists" {
		t.Errorf("put without overwrite: error code %q, want ParameterAlreadyExists", code)
	}
	put, err := client.PutParameter(ctx, &ssm.PutParameterInput{Name: name, Value: aws.String("on"), Overwrite: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	if put.Version != 5 {
		t.Errorf("version after overwrite = %d, want 5", put.Version)
	}
	if w := srv.World(); w.Parameters[0].Value != "on" || !w.Parameters[0].LastModified.Equal(t0) {
		t.Errorf("world parameter = %+v", w.Parameters[0])
	}
	created, err := client.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String("/new"), Value: aws.String("x"), Type: types.ParameterTypeString})
	if err != nil || created.Version != 1 {
		t.Errorf("create: version %v, %v", created, err)
	}
	_, err = client.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/nope")})
	if code := errorCode(err); code != "ParameterNotFound" {
		t.Errorf("unknown parameter: error code %q, want ParameterNotFound", code)
	}
}
