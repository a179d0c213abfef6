package dynamo

// SetQueryLimit makes every Query page of s hold at most n items, so that
// tests can prove pagination with a handful of items.
func SetQueryLimit(s *Store, n int32) { s.queryLimit = n }

// SetCursorKey makes s sign its listing cursors with key instead of the
// table's own, as a store of another deployment would.
func SetCursorKey(s *Store, key []byte) { s.keys.key = key }
