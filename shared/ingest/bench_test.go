package ingest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/dashboarduz/incident-response/shared/incident"
	"github.com/dashboarduz/incident-response/shared/ingest"
	"github.com/dashboarduz/incident-response/shared/local/dynamotest"
)

// BenchmarkIngest measures one alarm event through decoding, routing and
// the DynamoDB writes against dynalite: "open" opens a new incident per
// event, "redelivery" delivers one already-ingested event again.
func BenchmarkIngest(b *testing.B) {
	base, err := os.ReadFile(filepath.Join("..", "..", "events", "cloudwatch", "api-5xx-alarm.json"))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.Run("open", func(b *testing.B) {
		h := &ingest.Handler{Store: dynamotest.New(b), Starter: &starts{}, Rules: incident.DefaultClassificationRules(), Policy: incident.DefaultPolicy()}
		var ev map[string]any
		if err := json.Unmarshal(base, &ev); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			name := fmt.Sprintf("bench-alarm-%d", i)
			ev["id"] = fmt.Sprintf("bench-%d", i)
			ev["resources"] = []string{"arn:aws:cloudwatch:us-east-1:123456789012:alarm:" + name}
			ev["detail"].(map[string]any)["alarmName"] = name
			raw, _ := json.Marshal(ev)
			if _, err := h.Handle(ctx, raw); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("redelivery", func(b *testing.B) {
		h := &ingest.Handler{Store: dynamotest.New(b), Starter: &starts{}, Rules: incident.DefaultClassificationRules(), Policy: incident.DefaultPolicy()}
		if _, err := h.Handle(ctx, base); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := h.Handle(ctx, base); err != nil {
				b.Fatal(err)
			}
		}
	})
}
