package rds_test

import (
	"context"
	"testing"
	"time"

	awsrds "github.com/aws/aws-sdk-go-v2/service/rds"

	"github.com/dashboarduz/incident-response/shared/awserr"
	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/local/awslocal"
	"github.com/dashboarduz/incident-response/shared/rds"
)

func start(t *testing.T) (*awslocal.Server, *rds.Client) {
	t.Helper()
	srv, err := awslocal.Start(awslocal.Options{World: awslocal.World{DBInstances: []awslocal.DBInstance{
		{Identifier: "dashboarduz-db", Status: "storage-full", Class: "db.r6g.large", Engine: "postgres", EngineVersion: "16.3", MultiAZ: true, AllocatedStorage: 100},
	}}, Hold: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return srv, rds.New(awsrds.NewFromConfig(srv.AWSConfig()))
}

func TestInstance(t *testing.T) {
	_, client := start(t)
	db, err := client.Instance(context.Background(), "dashboarduz-db")
	if err != nil {
		t.Fatal(err)
	}
	if db.Status != "storage-full" || db.Class != "db.r6g.large" || db.Engine != "postgres" || !db.MultiAZ || db.AllocatedStorageGiB != 100 || db.Port != 5432 || db.Source == "" {
		t.Errorf("instance = %+v", db)
	}
	if _, err := client.Instance(context.Background(), "nope"); incident.ErrorCode(err) != incident.ENotFound {
		t.Errorf("unknown instance: %v, want not_found", err)
	}
}

func TestInstanceFaults(t *testing.T) {
	tests := []struct {
		kind      awslocal.FaultKind
		retryable bool
		code      string
	}{
		{awslocal.Throttle, true, incident.EInternal},
		{awslocal.Timeout, true, incident.EInternal},
		{awslocal.AccessDenied, false, incident.EUnauthorized},
	}
	for _, tt := range tests {
		t.Run(string(tt.kind), func(t *testing.T) {
			srv, client := start(t)
			if err := srv.AddFault(awslocal.Fault{Service: "rds", Kind: tt.kind}); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			_, err := client.Instance(ctx, "dashboarduz-db")
			if awserr.Retryable(err) != tt.retryable || incident.ErrorCode(err) != tt.code {
				t.Errorf("error = %v: retryable %v code %s, want %v %s", err, awserr.Retryable(err), incident.ErrorCode(err), tt.retryable, tt.code)
			}
		})
	}
}
