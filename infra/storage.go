package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/dashboarduz/incident-response/shared/dynamo"
)

// StorageProps configures Storage; it has no settings yet.
type StorageProps struct{}

// Storage is the DynamoDB table that is the source of truth: incidents,
// their timeline, the page ledger and the dedup pointers.
type Storage struct {
	constructs.Construct
	// Table is the one table; functions get its name through TABLE_NAME.
	Table awsdynamodb.Table
}

// NewStorage creates the table with the layout shared/dynamo reads and
// writes, using that package's names. The table is retained and protected
// from deletion because it holds the incident history; point-in-time
// recovery undoes a bad write.
func NewStorage(scope constructs.Construct, id string, props *StorageProps) *Storage {
	c := constructs.NewConstruct(scope, jsii.String(id))
	str := func(name string) *awsdynamodb.Attribute {
		return &awsdynamodb.Attribute{Name: jsii.String(name), Type: awsdynamodb.AttributeType_STRING}
	}
	table := awsdynamodb.NewTable(c, jsii.String("Table"), &awsdynamodb.TableProps{
		PartitionKey: str(dynamo.AttrPK),
		SortKey:      str(dynamo.AttrSK),
		BillingMode:  awsdynamodb.BillingMode_PAY_PER_REQUEST,
		PointInTimeRecoverySpecification: &awsdynamodb.PointInTimeRecoverySpecification{
			PointInTimeRecoveryEnabled: jsii.Bool(true),
		},
		DeletionProtection:  jsii.Bool(true),
		RemovalPolicy:       awscdk.RemovalPolicy_RETAIN,
		TimeToLiveAttribute: jsii.String(dynamo.AttrTTL),
		Encryption:          awsdynamodb.TableEncryption_AWS_MANAGED,
	})
	// Both indexes sort by openedAt so "open incidents, oldest first" and
	// "this service's incidents, newest first" are single queries.
	for _, ix := range []struct{ name, partition string }{
		{dynamo.IndexByStatus, dynamo.AttrStatus},
		{dynamo.IndexByService, dynamo.AttrService},
	} {
		table.AddGlobalSecondaryIndex(&awsdynamodb.GlobalSecondaryIndexProps{
			IndexName:      jsii.String(ix.name),
			PartitionKey:   str(ix.partition),
			SortKey:        str(dynamo.AttrOpenedAt),
			ProjectionType: awsdynamodb.ProjectionType_ALL,
		})
	}
	return &Storage{Construct: c, Table: table}
}
