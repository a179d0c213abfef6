package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

const queueURL = "https://sqs.eu-west-1.amazonaws.com/123456789012/Stack-DeadLettersQueue"

// fakeMessage is a message in fakeQueue.
type fakeMessage struct {
	id, body string
	attrs    map[string]string
	hidden   bool
	deleted  bool
	receipt  string
}

// fakeQueue is a hand-written SQS queue: received messages are hidden
// until deleted or made visible again.
type fakeQueue struct {
	msgs       []*fakeMessage
	receives   int
	receiveErr error
	deleteErr  map[string]error // by message ID
	urls       []string
}

func (q *fakeQueue) add(id, body string, attrs map[string]string) {
	q.msgs = append(q.msgs, &fakeMessage{id: id, body: body, attrs: attrs})
}

func (q *fakeQueue) ReceiveMessage(_ context.Context, in *sqs.ReceiveMessageInput, _ ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error) {
	q.urls = append(q.urls, aws.ToString(in.QueueUrl))
	if q.receiveErr != nil {
		return nil, q.receiveErr
	}
	if in.MaxNumberOfMessages < 1 || in.MaxNumberOfMessages > 10 || !slices.Contains(in.MessageAttributeNames, "All") {
		return nil, fmt.Errorf("bad request: %d messages, attributes %v", in.MaxNumberOfMessages, in.MessageAttributeNames)
	}
	q.receives++
	out := &sqs.ReceiveMessageOutput{}
	for _, m := range q.msgs {
		if m.hidden || m.deleted || len(out.Messages) == int(in.MaxNumberOfMessages) {
			continue
		}
		m.hidden = true
		m.receipt = fmt.Sprintf("%s-receipt-%d", m.id, q.receives)
		attrs := map[string]sqstypes.MessageAttributeValue{}
		for k, v := range m.attrs {
			attrs[k] = sqstypes.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
		}
		out.Messages = append(out.Messages, sqstypes.Message{MessageId: aws.String(m.id), Body: aws.String(m.body), ReceiptHandle: aws.String(m.receipt), MessageAttributes: attrs})
	}
	return out, nil
}

func (q *fakeQueue) find(receipt string) *fakeMessage {
	for _, m := range q.msgs {
		if m.receipt == receipt && !m.deleted {
			return m
		}
	}
	return nil
}

func (q *fakeQueue) DeleteMessage(_ context.Context, in *sqs.DeleteMessageInput, _ ...func(*sqs.Options)) (*sqs.DeleteMessageOutput, error) {
	m := q.find(aws.ToString(in.ReceiptHandle))
	if m == nil {
		return nil, errors.New("ReceiptHandleIsInvalid")
	}
	if err := q.deleteErr[m.id]; err != nil {
		return nil, err
	}
	m.deleted = true
	return &sqs.DeleteMessageOutput{}, nil
}

func (q *fakeQueue) ChangeMessageVisibility(_ context.Context, in *sqs.ChangeMessageVisibilityInput, _ ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityOutput, error) {
	m := q.find(aws.ToString(in.ReceiptHandle))
	if m == nil {
		return nil, errors.New("ReceiptHandleIsInvalid")
	}
	m.hidden = in.VisibilityTimeout > 0
	return &sqs.ChangeMessageVisibilityOutput{}, nil
}

// left returns the IDs of the messages still in the queue, and whether
// each is visible.
func (q *fakeQueue) left() map[string]bool {
	out := map[string]bool{}
	for _, m := range q.msgs {
		if !m.deleted {
			out[m.id] = !m.hidden
		}
	}
	return out
}

// fakeLambda records asynchronous invocations; fail names bodies it
// refuses.
type fakeLambda struct {
	invoked []string
	fail    func(body string) error
}

func (f *fakeLambda) Invoke(_ context.Context, in *lambda.InvokeInput, _ ...func(*lambda.Options)) (*lambda.InvokeOutput, error) {
	if aws.ToString(in.FunctionName) != "Stack-AlarmIngest" || in.InvocationType != lambdatypes.InvocationTypeEvent {
		return nil, fmt.Errorf("invoked %q as %q, want Stack-AlarmIngest asynchronously", aws.ToString(in.FunctionName), in.InvocationType)
	}
	if f.fail != nil {
		if err := f.fail(string(in.Payload)); err != nil {
			return nil, err
		}
	}
	f.invoked = append(f.invoked, string(in.Payload))
	return &lambda.InvokeOutput{StatusCode: 202}, nil
}

func event(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "events", "cloudwatch", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// eventBridgeAttrs and lambdaAttrs are the attributes each service puts
// on the messages it dead-letters.
var (
	eventBridgeAttrs = map[string]string{
		"RULE_ARN": "arn:aws:events:eu-west-1:123456789012:rule/Stack-IngestAlarmStateChange", "TARGET_ARN": "arn:aws:lambda:eu-west-1:123456789012:function:Stack-AlarmIngest",
		"ERROR_CODE": "NO_PERMISSIONS", "ERROR_MESSAGE": "Lambda denied the invocation", "EXHAUSTED_RETRY_CONDITION": "MaximumEventAgeInSeconds", "RETRY_ATTEMPTS": "0",
	}
	lambdaAttrs = map[string]string{"RequestID": "0b1c2d3e-aaaa-bbbb-cccc-0123456789ab", "ErrorCode": "200", "ErrorMessage": "InvalidEventError: detail.state is missing"}
)

func redriver(q *fakeQueue, l *fakeLambda, out *bytes.Buffer) *Redriver {
	return &Redriver{Queue: q, Lambda: l, QueueURL: queueURL, Function: "Stack-AlarmIngest", Out: out}
}

func TestRedrive(t *testing.T) {
	q := &fakeQueue{}
	fromRule, fromLambda := event(t, "api-5xx-alarm.json"), event(t, "database-direct-invocation.json")
	q.add("m-rule", fromRule, eventBridgeAttrs)
	q.add("m-lambda", fromLambda, lambdaAttrs)
	q.add("m-garbage", "not json {", lambdaAttrs)
	l := &fakeLambda{}
	var out bytes.Buffer
	sum, err := redriver(q, l, &out).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if sum != (Summary{Redriven: 2, Skipped: 1}) {
		t.Errorf("summary = %+v, want 2 redriven, 1 skipped", sum)
	}
	// Re-delivered byte for byte as they first arrived.
	if !slices.Equal(l.invoked, []string{fromRule, fromLambda}) {
		t.Errorf("invoked with %d payloads, want the two original bodies unchanged", len(l.invoked))
	}
	if left := q.left(); len(left) != 1 || !left["m-garbage"] {
		t.Errorf("left in the queue: %v, want only the visible m-garbage", left)
	}
	for _, want := range []string{
		`redriven     m-rule  eventbridge  EventBridge event: alarm "dashboarduz-api-5xx-errors" ALARM at 2026-03-01T03:00:00.000+0000; EventBridge could not deliver it (NO_PERMISSIONS: Lambda denied the invocation; MaximumEventAgeInSeconds after 0 retries)`,
		`redriven     m-lambda  lambda-async  alarm action payload: alarm "dashboarduz-production-db-connections"`,
		`the function failed on it (request 0b1c2d3e-aaaa-bbbb-cccc-0123456789ab, 200: InvalidEventError: detail.state is missing)`,
		`skipped      m-garbage  lambda-async  not JSON`,
		"2 redriven, 0 failed, 1 skipped\n",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	for _, u := range q.urls {
		if u != queueURL {
			t.Errorf("received from %q", u)
		}
	}
}

func TestRedriveKeepsWhatFails(t *testing.T) {
	q := &fakeQueue{deleteErr: map[string]error{"m-3": errors.New("AccessDenied")}}
	for i := 1; i <= 3; i++ {
		q.add(fmt.Sprintf("m-%d", i), fmt.Sprintf(`{"n": %d}`, i), eventBridgeAttrs)
	}
	l := &fakeLambda{fail: func(body string) error {
		if body == `{"n": 2}` {
			return errors.New("TooManyRequestsException")
		}
		return nil
	}}
	var out bytes.Buffer
	sum, err := redriver(q, l, &out).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if sum != (Summary{Redriven: 1, Failed: 2}) {
		t.Errorf("summary = %+v, want 1 redriven, 2 failed", sum)
	}
	left := q.left()
	// The refused one is visible again for the next run; the one redriven
	// but not deleted waits out its visibility, then comes again (ingest
	// ignores a repeat).
	if len(left) != 2 || !left["m-2"] || left["m-3"] {
		t.Errorf("left = %v, want m-2 visible and m-3 still hidden", left)
	}
	if !strings.Contains(out.String(), "failed       m-2  eventbridge") || !strings.Contains(out.String(), "TooManyRequestsException; left in the queue") {
		t.Errorf("output:\n%s", out.String())
	}
	if q.receives > 3 {
		t.Errorf("%d receives: the released message was received over and over", q.receives)
	}
}

func TestRedriveDryRun(t *testing.T) {
	q := &fakeQueue{}
	for i := range 12 {
		q.add(fmt.Sprintf("m-%02d", i), `{"detail-type": "CloudWatch Alarm State Change"}`, eventBridgeAttrs)
	}
	l := &fakeLambda{}
	var out bytes.Buffer
	r := redriver(q, l, &out)
	r.DryRun = true
	sum, err := r.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if sum.Redriven != 12 || !sum.DryRun || len(l.invoked) != 0 {
		t.Errorf("summary %+v, %d invocations; want 12 that would be redriven and none invoked", sum, len(l.invoked))
	}
	left := q.left()
	for id, visible := range left {
		if !visible {
			t.Errorf("%s is still hidden after a dry run", id)
		}
	}
	if len(left) != 12 || !strings.Contains(out.String(), "would redrive") || !strings.Contains(out.String(), "(dry run: nothing was changed)") {
		t.Errorf("left %d; output:\n%s", len(left), out.String())
	}
}

func TestRedriveMax(t *testing.T) {
	q := &fakeQueue{}
	for i := range 25 {
		q.add(fmt.Sprintf("m-%02d", i), `{}`, nil)
	}
	l := &fakeLambda{}
	var out bytes.Buffer
	r := redriver(q, l, &out)
	r.Max = 13
	sum, err := r.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if sum.Redriven != 13 || len(q.left()) != 12 {
		t.Errorf("redriven %d, left %d; want 13 and 12", sum.Redriven, len(q.left()))
	}
	if !strings.Contains(out.String(), "m-00  unknown  not an alarm event; no dead-letter attributes") {
		t.Errorf("output:\n%s", out.String())
	}

	// Without a bound, the whole queue, in batches of ten.
	r.Max = 0
	if sum, err = r.Run(context.Background()); err != nil || sum.Redriven != 12 || len(q.left()) != 0 {
		t.Errorf("second run: %+v, %v, left %d; want the 12 others", sum, err, len(q.left()))
	}
}

func TestRedriveReceiveError(t *testing.T) {
	q := &fakeQueue{receiveErr: errors.New("AWS.SimpleQueueService.NonExistentQueue")}
	var out bytes.Buffer
	if _, err := redriver(q, &fakeLambda{}, &out).Run(context.Background()); err == nil || !strings.Contains(err.Error(), "NonExistentQueue") {
		t.Errorf("err = %v, want the receive error", err)
	}
}

func TestParse(t *testing.T) {
	o, err := parse([]string{"--queue", queueURL, "--dry-run", "--max", "5"})
	if err != nil || o.queue != queueURL || !o.dryRun || o.max != 5 || o.stack != DefaultStack {
		t.Errorf("parse = %+v, %v", o, err)
	}
	for _, args := range [][]string{{"--max", "-1"}, {"extra"}, {"--nope"}} {
		if _, err := parse(args); err == nil {
			t.Errorf("parse(%v) accepted", args)
		}
	}
}

type fakeStacks struct{ outputs map[string]string }

func (f fakeStacks) DescribeStacks(_ context.Context, in *cloudformation.DescribeStacksInput, _ ...func(*cloudformation.Options)) (*cloudformation.DescribeStacksOutput, error) {
	if aws.ToString(in.StackName) != DefaultStack {
		return nil, errors.New("Stack with id " + aws.ToString(in.StackName) + " does not exist")
	}
	var st cftypes.Stack
	for k, v := range f.outputs {
		st.Outputs = append(st.Outputs, cftypes.Output{OutputKey: aws.String(k), OutputValue: aws.String(v)})
	}
	return &cloudformation.DescribeStacksOutput{Stacks: []cftypes.Stack{st}}, nil
}

func TestStackOutputs(t *testing.T) {
	api := fakeStacks{outputs: map[string]string{OutputQueueURL: queueURL, OutputFunction: "Stack-AlarmIngest"}}
	got, err := stackOutputs(context.Background(), api, DefaultStack)
	if err != nil || got[OutputQueueURL] != queueURL || got[OutputFunction] != "Stack-AlarmIngest" {
		t.Errorf("outputs = %v, %v", got, err)
	}
	if _, err := stackOutputs(context.Background(), api, "Other"); err == nil || !strings.Contains(err.Error(), "stack Other") {
		t.Errorf("err = %v, want one naming the stack", err)
	}
}
