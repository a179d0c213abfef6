package drill

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dashboarduz/incident-response/shared/dynamo"
	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/local/dynamotest"
)

func TestTable(t *testing.T) {
	ctx := context.Background()
	store, client, name := dynamotest.NewWithClient(t)
	table := &Table{API: client, Table: name}

	if _, found, err := table.LatestDrill(ctx); err != nil || found {
		t.Fatalf("LatestDrill on an empty table = found %v, %v; want none", found, err)
	}

	march := Record{ID: "drill-20260301-100000", StartedAt: t0, FinishedAt: t0.Add(9 * time.Second), Passed: true, IncidentID: "inc-1",
		Hops: []Hop{{Name: HopAccepted, OK: true}, {Name: HopStored, OK: true, Seconds: 4.5}}}
	april := Record{ID: "drill-20260401-100000", StartedAt: t0.AddDate(0, 1, 0), FinishedAt: t0.AddDate(0, 1, 0).Add(2 * time.Minute), Cleared: "inc-1",
		Hops: []Hop{{Name: HopAccepted, OK: true}, {Name: HopStored, Seconds: 120, Error: "not seen within 2m0s"}}}
	// Out of order, and March twice: the latest is by start time, and a
	// repeated record replaces the first.
	for _, r := range []Record{april, march, march} {
		if err := table.RecordDrill(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	got, found, err := table.LatestDrill(ctx)
	if err != nil || !found {
		t.Fatalf("LatestDrill = found %v, %v", found, err)
	}
	if !reflect.DeepEqual(got, april) {
		t.Errorf("LatestDrill =\n%+v\nwant\n%+v", got, april)
	}

	out, err := client.Query(ctx, &dynamodb.QueryInput{
		TableName:                 aws.String(name),
		KeyConditionExpression:    aws.String("pk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: recordPK}},
	})
	if err != nil || len(out.Items) != 2 {
		t.Fatalf("drill partition holds %d items (%v), want 2", len(out.Items), err)
	}
	for _, it := range out.Items {
		// The indexes are keyed on these: a drill record must never show
		// up in an incident list.
		for _, a := range []string{dynamo.AttrStatus, dynamo.AttrService, dynamo.AttrEntity, dynamo.AttrOpenedAt} {
			if _, ok := it[a]; ok {
				t.Errorf("drill item has the index attribute %s", a)
			}
		}
		if _, ok := it[dynamo.AttrTTL]; !ok {
			t.Errorf("drill item has no %s: it would be kept forever", dynamo.AttrTTL)
		}
	}
	list, _, err := store.ListIncidents(ctx, incident.ListFilter{})
	if err != nil || len(list) != 0 {
		t.Errorf("incident list = %v, %v; want no incidents", list, err)
	}
}
