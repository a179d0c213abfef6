// Command redrive re-delivers the alarm events waiting in the stack's
// dead-letter queue to the ingest function, once the cause that put them
// there is fixed. It uses the AWS credentials and region of the
// environment, as the AWS CLI does.
//
//	go run ./scripts/redrive [--queue URL] [--function NAME] [--stack NAME] [--dry-run] [--max N]
//
// Each message's body is the original event, whichever way it got there:
// EventBridge could not deliver it to the function, or the function
// failed on it after Lambda's retries. redrive invokes the function
// asynchronously with that body, as EventBridge and alarm actions do, and
// deletes the message only once Lambda has accepted it; it prints one line
// per message (where it came from, why, which alarm) and a summary. An
// event ingested already changes nothing when it comes again, so a redrive
// is safe to repeat. Without --queue and --function it reads the stack's
// outputs DeadLetterQueueUrl and IngestFunctionName.
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// DefaultStack is the stack's name (infra's StackID).
const DefaultStack = "DashboarduzIncidentResponse"

// The stack outputs redrive reads when not told.
const (
	OutputQueueURL = "DeadLetterQueueUrl"
	OutputFunction = "IngestFunctionName"
)

func main() {
	if err := run(context.Background(), os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "redrive:", err)
		os.Exit(1)
	}
}

// options are the command line's.
type options struct {
	queue, function, stack string
	dryRun                 bool
	max                    int
}

func parse(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("redrive", flag.ContinueOnError)
	fs.StringVar(&o.queue, "queue", "", "the dead-letter queue's `URL` (default: the stack's "+OutputQueueURL+" output)")
	fs.StringVar(&o.function, "function", "", "the ingest function's `name` or ARN (default: the stack's "+OutputFunction+" output)")
	fs.StringVar(&o.stack, "stack", DefaultStack, "the stack `name` whose outputs give the defaults")
	fs.BoolVar(&o.dryRun, "dry-run", false, "print what would be redriven; invoke nothing, delete nothing")
	fs.IntVar(&o.max, "max", 0, "handle at most `N` messages (default: until the queue is empty)")
	if err := fs.Parse(args); err != nil {
		return options{}, err
	}
	if fs.NArg() > 0 {
		return options{}, fmt.Errorf("unexpected arguments %v", fs.Args())
	}
	if o.max < 0 {
		return options{}, errors.New("--max must be 0 (all) or more")
	}
	return o, nil
}

func run(ctx context.Context, args []string) error {
	o, err := parse(args)
	if err != nil {
		return err
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return fmt.Errorf("load AWS config: %w", err)
	}
	if o.queue == "" || o.function == "" {
		outputs, err := stackOutputs(ctx, cloudformation.NewFromConfig(cfg), o.stack)
		if err != nil {
			return fmt.Errorf("%w (or give --queue and --function)", err)
		}
		o.queue = cmp.Or(o.queue, outputs[OutputQueueURL])
		o.function = cmp.Or(o.function, outputs[OutputFunction])
		if o.queue == "" || o.function == "" {
			return fmt.Errorf("stack %s has no %s or %s output; give --queue and --function", o.stack, OutputQueueURL, OutputFunction)
		}
	}
	r := &Redriver{
		Queue: sqs.NewFromConfig(cfg), Lambda: lambda.NewFromConfig(cfg),
		QueueURL: o.queue, Function: o.function, DryRun: o.dryRun, Max: o.max, Out: os.Stdout,
	}
	sum, err := r.Run(ctx)
	if err != nil {
		return err
	}
	if sum.Failed > 0 {
		return fmt.Errorf("%d message(s) could not be redriven and stay in the queue", sum.Failed)
	}
	return nil
}

// DescribeStacksAPI is the part of the CloudFormation client stackOutputs
// uses.
type DescribeStacksAPI interface {
	DescribeStacks(ctx context.Context, in *cloudformation.DescribeStacksInput, optFns ...func(*cloudformation.Options)) (*cloudformation.DescribeStacksOutput, error)
}

// stackOutputs returns the named stack's outputs by key.
func stackOutputs(ctx context.Context, api DescribeStacksAPI, stack string) (map[string]string, error) {
	out, err := api.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(stack)})
	if err != nil {
		return nil, fmt.Errorf("read the outputs of stack %s: %w", stack, err)
	}
	if len(out.Stacks) == 0 {
		return nil, fmt.Errorf("stack %s not found", stack)
	}
	m := map[string]string{}
	for _, o := range out.Stacks[0].Outputs {
		m[aws.ToString(o.OutputKey)] = aws.ToString(o.OutputValue)
	}
	return m, nil
}
