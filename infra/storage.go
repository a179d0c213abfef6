package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/dashboarduz/incident-response/shared/dynamo"
)

// TableIndex is one global secondary index of the incident table.
type TableIndex struct {
	// Name is the index name shared/dynamo queries.
	Name string
	// PartitionKey is the index's partition key (string); every index
	// sorts by dynamo.AttrOpenedAt.
	PartitionKey string
}

// TableIndexes are the table's global secondary indexes. All of them sort
// by openedAt, so "open incidents, oldest first", "this service's
// incidents, newest first" and "every incident, newest first" are single
// queries; the last one is partitioned by a constant entity attribute that
// only incident items carry.
var TableIndexes = []TableIndex{
	{Name: dynamo.IndexByStatus, PartitionKey: dynamo.AttrStatus},
	{Name: dynamo.IndexByService, PartitionKey: dynamo.AttrService},
	{Name: dynamo.IndexByOpenedAt, PartitionKey: dynamo.AttrEntity},
}

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
	for _, ix := range TableIndexes {
		table.AddGlobalSecondaryIndex(&awsdynamodb.GlobalSecondaryIndexProps{
			IndexName:      jsii.String(ix.Name),
			PartitionKey:   str(ix.PartitionKey),
			SortKey:        str(dynamo.AttrOpenedAt),
			ProjectionType: awsdynamodb.ProjectionType_ALL,
		})
	}
	return &Storage{Construct: c, Table: table}
}
