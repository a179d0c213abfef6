// Package rds adapts Amazon RDS to triage: it reads the status and class
// of a DB instance. The runbook allows no automatic action on a database,
// so the adapter only reads. The instance's connections come from
// CloudWatch (cloudwatch.Metrics.DatabaseConnections), not from RDS.
package rds

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsrds "github.com/aws/aws-sdk-go-v2/service/rds"

	"github.com/dashboarduz/incident-response/shared/awserr"
	"github.com/dashboarduz/incident-response/shared/incident"
)

// API is the part of the RDS client the adapter uses; *rds.Client
// satisfies it.
type API interface {
	DescribeDBInstances(ctx context.Context, params *awsrds.DescribeDBInstancesInput, optFns ...func(*awsrds.Options)) (*awsrds.DescribeDBInstancesOutput, error)
}

// Client reads RDS DB instances.
type Client struct {
	api API
}

// New returns a Client that calls api.
func New(api API) *Client { return &Client{api: api} }

// Instance is what triage reports of a DB instance.
type Instance struct {
	Identifier    string `json:"identifier"`
	Status        string `json:"status"`
	Class         string `json:"class"`
	Engine        string `json:"engine"`
	EngineVersion string `json:"engineVersion,omitempty"`
	MultiAZ       bool   `json:"multiAZ"`
	// AvailabilityZone is where the primary runs; after a failover it
	// changes.
	AvailabilityZone string `json:"availabilityZone,omitempty"`
	Endpoint         string `json:"endpoint,omitempty"`
	Port             int32  `json:"port,omitempty"`
	// AllocatedStorageGiB is the storage allocated, in GiB.
	AllocatedStorageGiB int32 `json:"allocatedStorageGiB"`
	// Source says where the figures came from.
	Source string `json:"source"`
}

// Instance reads the DB instance id. An unknown instance is an error with
// code not_found.
func (c *Client) Instance(ctx context.Context, id string) (*Instance, error) {
	out, err := c.api.DescribeDBInstances(ctx, &awsrds.DescribeDBInstancesInput{DBInstanceIdentifier: &id})
	if err != nil {
		return nil, awserr.Classify("RDS", "DescribeDBInstances", "DB instance "+id, err)
	}
	if len(out.DBInstances) == 0 {
		return nil, incident.Errorf(incident.ENotFound, "RDS DB instance %s not found", id)
	}
	db := out.DBInstances[0]
	in := &Instance{
		Identifier: aws.ToString(db.DBInstanceIdentifier), Status: aws.ToString(db.DBInstanceStatus),
		Class: aws.ToString(db.DBInstanceClass), Engine: aws.ToString(db.Engine), EngineVersion: aws.ToString(db.EngineVersion),
		MultiAZ: aws.ToBool(db.MultiAZ), AvailabilityZone: aws.ToString(db.AvailabilityZone),
		AllocatedStorageGiB: aws.ToInt32(db.AllocatedStorage),
		Source:              fmt.Sprintf("RDS DescribeDBInstances for %s", id),
	}
	if db.Endpoint != nil {
		in.Endpoint, in.Port = aws.ToString(db.Endpoint.Address), aws.ToInt32(db.Endpoint.Port)
	}
	return in, nil
}
