package dynamo

import (
	"context"
	"crypto/rand"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// The item that keeps the table's cursor key. It has none of the index
// attributes, so no listing sees it, and no route reads it.
const (
	configPK     = "CONFIG"
	cursorKeySK  = "CURSOR_KEY"
	attrKey      = "key"
	cursorKeyLen = 32
)

// cursorKeys holds the key that signs listing cursors: the table's own,
// read (and made, the first time any instance needs it) on first use and
// kept. Every instance on one table so shares it, and a cursor made by
// one is honoured by any other.
type cursorKeys struct {
	mu  sync.Mutex
	key []byte
}

// cursorKey returns the key, reading or making the table's on first use.
// A failed read is an error now and tried again next time.
func (s *Store) cursorKey(ctx context.Context) ([]byte, error) {
	s.keys.mu.Lock()
	defer s.keys.mu.Unlock()
	if len(s.keys.key) > 0 {
		return s.keys.key, nil
	}
	key, err := s.tableCursorKey(ctx)
	if err != nil {
		return nil, fmt.Errorf("read the table's cursor key: %w", err)
	}
	s.keys.key = key
	return key, nil
}

// tableCursorKey reads the table's cursor key, storing a fresh random one
// when there is none; of two instances making it at once, the first write
// wins and the other reads it.
func (s *Store) tableCursorKey(ctx context.Context) ([]byte, error) {
	for range 2 {
		out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
			TableName: aws.String(s.table), Key: key(configPK, cursorKeySK), ConsistentRead: aws.Bool(true),
		})
		if err != nil {
			return nil, err
		}
		if b, ok := out.Item[attrKey].(*types.AttributeValueMemberB); ok && len(b.Value) >= cursorKeyLen {
			return b.Value, nil
		}
		fresh := make([]byte, cursorKeyLen)
		if _, err := rand.Read(fresh); err != nil {
			return nil, err
		}
		item := key(configPK, cursorKeySK)
		item[attrKey] = &types.AttributeValueMemberB{Value: fresh}
		err = s.putNew(ctx, item)
		if err == nil {
			return fresh, nil
		}
		if !isConditionFailed(err) {
			return nil, err
		}
	}
	return nil, fmt.Errorf("the cursor key item is malformed")
}
