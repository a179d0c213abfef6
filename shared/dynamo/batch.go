package dynamo

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dashboarduz/incident-response/shared/incident"
)

// batchRounds bounds how often batchGet asks again for keys DynamoDB left
// unprocessed (it may, under throttling, process only part of a batch).
const batchRounds = 5

// batchGet reads the items of keys (at most 100) with one strongly
// consistent BatchGetItem, asking again for any DynamoDB left unprocessed.
// The result is in the order of keys, nil for an item that does not exist.
func (s *Store) batchGet(ctx context.Context, keys ...map[string]types.AttributeValue) ([]map[string]types.AttributeValue, error) {
	out := make([]map[string]types.AttributeValue, len(keys))
	index := make(map[string]int, len(keys))
	for i, k := range keys {
		index[keyString(k)] = i
	}
	pending := keys
	for round := range batchRounds {
		res, err := s.client.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{
			RequestItems: map[string]types.KeysAndAttributes{s.table: {Keys: pending, ConsistentRead: aws.Bool(true)}},
		})
		if err != nil {
			return nil, err
		}
		for _, item := range res.Responses[s.table] {
			if i, ok := index[keyString(item)]; ok {
				out[i] = item
			}
		}
		pending = res.UnprocessedKeys[s.table].Keys
		if len(pending) == 0 {
			return out, nil
		}
		if err := incident.Sleep(ctx, time.Duration(10<<round)*time.Millisecond); err != nil {
			return nil, err
		}
	}
	return nil, fmt.Errorf("batch read: %d keys still unprocessed after %d rounds", len(pending), batchRounds)
}

// keyString identifies an item by its primary key.
func keyString(item map[string]types.AttributeValue) string {
	pk, _ := item[AttrPK].(*types.AttributeValueMemberS)
	sk, _ := item[AttrSK].(*types.AttributeValueMemberS)
	if pk == nil || sk == nil {
		return ""
	}
	return pk.Value + "\x00" + sk.Value
}
