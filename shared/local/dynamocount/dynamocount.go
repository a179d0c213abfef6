// Package dynamocount counts the DynamoDB requests an aws-sdk-go-v2 client
// makes, by operation, with an SDK middleware: what `make bench` reports as
// DynamoDB calls per alarm, and what the cost model prices.
//
// Counting calls needs nothing but the middleware:
//
//	c := dynamocount.New()
//	client := dynamodb.New(opts, func(o *dynamodb.Options) {
//		o.APIOptions = append(o.APIOptions, c.Middleware)
//	})
//
// With Units (a description of the table and a second, uncounted client)
// the counter also works out the request units each call consumes as
// on-demand DynamoDB bills them, item sizes and global secondary indexes
// included: see Units.
//
// It lives under shared/local because it is a measuring instrument for the
// local stack and the benchmarks, never linked into a Lambda.
package dynamocount

import (
	"context"
	"errors"
	"maps"
	"slices"
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"
)

// Op is what one operation (GetItem, PutItem, ...) cost: how often it was
// called, how many of those calls failed (a failed condition included), and
// the request units they consumed when the counter works them out.
type Op struct {
	Calls int `json:"calls"`
	// Failed counts calls answered with an error; ConditionFailed those
	// refused by their condition expression, which DynamoDB still bills.
	Failed          int `json:"failed,omitempty"`
	ConditionFailed int `json:"conditionFailed,omitempty"`
	// ReadUnits are read request units; WriteUnits write request units on
	// the table, IndexWriteUnits those on its global secondary indexes.
	ReadUnits       float64 `json:"readUnits,omitempty"`
	WriteUnits      float64 `json:"writeUnits,omitempty"`
	IndexWriteUnits float64 `json:"indexWriteUnits,omitempty"`
}

func (o Op) add(p Op, sign int) Op {
	f := float64(sign)
	return Op{
		Calls:           o.Calls + sign*p.Calls,
		Failed:          o.Failed + sign*p.Failed,
		ConditionFailed: o.ConditionFailed + sign*p.ConditionFailed,
		ReadUnits:       o.ReadUnits + f*p.ReadUnits,
		WriteUnits:      o.WriteUnits + f*p.WriteUnits,
		IndexWriteUnits: o.IndexWriteUnits + f*p.IndexWriteUnits,
	}
}

// Snapshot is the count at one moment, by operation name.
type Snapshot map[string]Op

// Sub returns what happened between prev and s.
func (s Snapshot) Sub(prev Snapshot) Snapshot {
	out := Snapshot{}
	for name, op := range s {
		if d := op.add(prev[name], -1); d != (Op{}) {
			out[name] = d
		}
	}
	return out
}

// Total sums every operation.
func (s Snapshot) Total() Op {
	var t Op
	for _, op := range s {
		t = t.add(op, 1)
	}
	return t
}

// Calls returns the number of calls per operation.
func (s Snapshot) Calls() map[string]int {
	out := map[string]int{}
	for name, op := range s {
		out[name] = op.Calls
	}
	return out
}

// Names returns the operation names, sorted.
func (s Snapshot) Names() []string {
	return slices.Sorted(maps.Keys(s))
}

// Counter counts the calls of every client it is installed on. It is safe
// for concurrent use.
type Counter struct {
	units *Units

	mu  sync.Mutex
	ops Snapshot
}

// New returns a counter of calls only.
func New() *Counter {
	return &Counter{ops: Snapshot{}}
}

// NewWithUnits returns a counter that also works out request units, as u
// says.
func NewWithUnits(u *Units) *Counter {
	c := New()
	c.units = u
	return c
}

// Snapshot returns the counts so far.
func (c *Counter) Snapshot() Snapshot {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.ops)
}

// Middleware installs the counter on a client's middleware stack: append it
// to dynamodb.Options.APIOptions. It runs after the SDK's own initialize
// steps and once per operation, whatever the retries below it.
func (c *Counter) Middleware(st *middleware.Stack) error {
	return st.Initialize.Add(middleware.InitializeMiddlewareFunc("dynamocount", c.handle), middleware.After)
}

func (c *Counter) handle(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
	name := operationName(in.Parameters)
	if c.units != nil {
		in.Parameters = askForCapacity(in.Parameters)
	}
	out, md, err := next.HandleInitialize(ctx, in)
	op := Op{Calls: 1}
	var failed *types.ConditionalCheckFailedException
	switch {
	case errors.As(err, &failed):
		op.Failed, op.ConditionFailed = 1, 1
	case err != nil:
		op.Failed = 1
	}
	if c.units != nil && (err == nil || op.ConditionFailed == 1) {
		units := c.units.measure(ctx, in.Parameters, out.Result, op.ConditionFailed == 1)
		op.ReadUnits, op.WriteUnits, op.IndexWriteUnits = units.ReadUnits, units.WriteUnits, units.IndexWriteUnits
	}
	c.mu.Lock()
	c.ops[name] = c.ops[name].add(op, 1)
	c.mu.Unlock()
	return out, md, err
}

// operationName names the operation of an input.
func operationName(params any) string {
	switch params.(type) {
	case *dynamodb.GetItemInput:
		return "GetItem"
	case *dynamodb.PutItemInput:
		return "PutItem"
	case *dynamodb.UpdateItemInput:
		return "UpdateItem"
	case *dynamodb.DeleteItemInput:
		return "DeleteItem"
	case *dynamodb.QueryInput:
		return "Query"
	case *dynamodb.ScanInput:
		return "Scan"
	case *dynamodb.BatchGetItemInput:
		return "BatchGetItem"
	case *dynamodb.BatchWriteItemInput:
		return "BatchWriteItem"
	case *dynamodb.TransactGetItemsInput:
		return "TransactGetItems"
	case *dynamodb.TransactWriteItemsInput:
		return "TransactWriteItems"
	case *dynamodb.DescribeTableInput:
		return "DescribeTable"
	case *dynamodb.CreateTableInput:
		return "CreateTable"
	case *dynamodb.DeleteTableInput:
		return "DeleteTable"
	}
	return "Other"
}

// askForCapacity returns a copy of a read's input that asks DynamoDB to
// report the capacity it consumed, so the caller's own input is left as it
// was. Writes are worked out from item sizes instead (see Units).
func askForCapacity(params any) any {
	total := types.ReturnConsumedCapacityTotal
	switch in := params.(type) {
	case *dynamodb.GetItemInput:
		cp := *in
		cp.ReturnConsumedCapacity = total
		return &cp
	case *dynamodb.QueryInput:
		cp := *in
		cp.ReturnConsumedCapacity = total
		return &cp
	case *dynamodb.ScanInput:
		cp := *in
		cp.ReturnConsumedCapacity = total
		return &cp
	case *dynamodb.BatchGetItemInput:
		cp := *in
		cp.ReturnConsumedCapacity = total
		return &cp
	}
	return params
}
