package dynamo

// SetQueryLimit makes every Query page of s hold at most n items, so that
// tests can prove pagination with a handful of items.
func SetQueryLimit(s *Store, n int32) { s.queryLimit = n }
