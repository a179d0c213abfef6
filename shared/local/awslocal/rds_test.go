package awslocal_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
)

func TestRDSDescribeDBInstances(t *testing.T) {
	srv := start(t)
	client := rds.NewFromConfig(srv.AWSConfig())
	out, err := client.DescribeDBInstances(context.Background(), &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String("dashboarduz-db")})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.DBInstances) != 1 {
		t.Fatalf("got %d instances, want 1", len(out.DBInstances))
	}
	db := out.DBInstances[0]
	if aws.ToString(db.DBInstanceStatus) != "available" || aws.ToString(db.DBInstanceClass) != "db.r6g.large" || !aws.ToBool(db.MultiAZ) || aws.ToInt32(db.Endpoint.Port) != 5432 {
		t.Errorf("instance = %s %s multiAZ %v port %d", aws.ToString(db.DBInstanceStatus), aws.ToString(db.DBInstanceClass), aws.ToBool(db.MultiAZ), aws.ToInt32(db.Endpoint.Port))
	}
	c := lastCall(t, srv)
	if c.Service != "rds" || c.Operation != "DescribeDBInstances" || c.Outcome != "ok" {
		t.Errorf("call = %+v", c)
	}
	_, err = client.DescribeDBInstances(context.Background(), &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String("nope")})
	if got := errorCode(err); got != "DBInstanceNotFound" {
		t.Errorf("unknown instance: error code %q (%v), want DBInstanceNotFound", got, err)
	}
}
