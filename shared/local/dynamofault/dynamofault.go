// Package dynamofault injects DynamoDB failures into an aws-sdk-go-v2
// client, with an SDK middleware, so tests can show that nothing is lost
// or done twice when DynamoDB throttles, or answers too late:
//
//   - Throttle fails a call before it is sent, with the
//     ProvisionedThroughputExceededException DynamoDB returns when it
//     throttles, as if the SDK's own retries had run out;
//   - Lost sends the call, so DynamoDB applies it, then fails it with a
//     deadline as if the answer never came: the caller cannot tell whether
//     its conditional write took effect.
//
// Faults fall on a seeded pseudo-random share of the calls, so a run can
// be replayed. It lives under shared/local, never linked into a Lambda.
package dynamofault

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"
)

// Kind is a kind of fault.
type Kind int

// The faults.
const (
	// None lets the call through.
	None Kind = iota
	// Throttle fails the call before it reaches DynamoDB.
	Throttle
	// Lost lets the call reach DynamoDB and loses its answer.
	Lost
)

// Injector decides which calls fail. It is safe for concurrent use.
type Injector struct {
	mu     sync.Mutex
	rng    *rand.Rand
	share  float64
	ops    map[string]bool
	counts map[Kind]int
	off    bool
}

// New returns an injector that fails share (0 to 1) of the calls to the
// operations named (every operation when none is), half by throttling and
// half by losing the answer, with the pseudo-random sequence of seed.
func New(seed uint64, share float64, ops ...string) *Injector {
	in := &Injector{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), share: share, ops: map[string]bool{}, counts: map[Kind]int{}}
	for _, op := range ops {
		in.ops[op] = true
	}
	return in
}

// Stop lets every later call through.
func (in *Injector) Stop() {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.off = true
}

// Injected returns how many faults of kind were injected.
func (in *Injector) Injected(kind Kind) int {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.counts[kind]
}

// next decides the fault of one call to op.
func (in *Injector) next(op string) Kind {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.off || len(in.ops) > 0 && !in.ops[op] || in.rng.Float64() >= in.share {
		return None
	}
	k := Throttle
	if in.rng.IntN(2) == 1 {
		k = Lost
	}
	in.counts[k]++
	return k
}

// Middleware installs the injector on a client's middleware stack (an
// APIOptions entry of dynamodb.Options). It sits before the SDK's retries,
// so an injected fault reaches the caller as it would once they ran out.
func (in *Injector) Middleware(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("dynamofault", func(ctx context.Context, input middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
		op := middleware.GetOperationName(ctx)
		switch in.next(op) {
		case Throttle:
			return middleware.InitializeOutput{}, middleware.Metadata{}, &types.ProvisionedThroughputExceededException{
				Message: aws.String(fmt.Sprintf("injected: %s throttled", op)),
			}
		case Lost:
			out, md, err := next.HandleInitialize(ctx, input)
			if err != nil {
				return out, md, err
			}
			return middleware.InitializeOutput{}, md, fmt.Errorf("injected: the answer to %s was lost: %w", op, context.DeadlineExceeded)
		}
		return next.HandleInitialize(ctx, input)
	}), middleware.Before)
}
