package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/dashboarduz/incident-response/shared/cloudwatch"
)

// Queue is the part of the SQS client Redriver uses.
type Queue interface {
	ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, optFns ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error)
	DeleteMessage(ctx context.Context, in *sqs.DeleteMessageInput, optFns ...func(*sqs.Options)) (*sqs.DeleteMessageOutput, error)
	ChangeMessageVisibility(ctx context.Context, in *sqs.ChangeMessageVisibilityInput, optFns ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityOutput, error)
}

// Invoker is the part of the Lambda client Redriver uses.
type Invoker interface {
	Invoke(ctx context.Context, in *lambda.InvokeInput, optFns ...func(*lambda.Options)) (*lambda.InvokeOutput, error)
}

// Origin is how a message came to be in the dead-letter queue.
type Origin string

const (
	// FromEventBridge: the ingest rule could not deliver the event to the
	// function (permissions, throttling, retries or age spent). The
	// message carries RULE_ARN, TARGET_ARN, ERROR_CODE, ERROR_MESSAGE,
	// EXHAUSTED_RETRY_CONDITION and RETRY_ATTEMPTS.
	FromEventBridge Origin = "eventbridge"
	// FromLambda: the function was invoked asynchronously (by EventBridge
	// or an alarm action) and failed on the event after Lambda's retries.
	// The message carries RequestID, ErrorCode and ErrorMessage.
	FromLambda Origin = "lambda-async"
	// Unknown: neither set of attributes; the body is redriven all the same.
	Unknown Origin = "unknown"
)

// Message is one dead-letter message as Redriver reads it.
type Message struct {
	ID      string
	Origin  Origin
	Body    string
	Receipt string
	// Why says why it was dead-lettered, from its attributes.
	Why string
	// What says what the event is: the alarm, its state and time.
	What string
}

// Classify reads where a message came from and why from its attributes,
// and what it holds from its body. Either way the body is the original
// event, unchanged: EventBridge puts the event it could not deliver, and
// Lambda the payload it was invoked with.
func Classify(m sqstypes.Message) Message {
	attr := func(name string) string {
		if v, ok := m.MessageAttributes[name]; ok {
			return aws.ToString(v.StringValue)
		}
		return ""
	}
	out := Message{ID: aws.ToString(m.MessageId), Body: aws.ToString(m.Body), Receipt: aws.ToString(m.ReceiptHandle), Origin: Unknown}
	switch {
	case attr("RULE_ARN") != "":
		out.Origin = FromEventBridge
		out.Why = fmt.Sprintf("EventBridge could not deliver it (%s: %s; %s after %s retries)",
			attr("ERROR_CODE"), attr("ERROR_MESSAGE"), attr("EXHAUSTED_RETRY_CONDITION"), attr("RETRY_ATTEMPTS"))
	case attr("RequestID") != "" || attr("ErrorCode") != "":
		out.Origin = FromLambda
		out.Why = fmt.Sprintf("the function failed on it (request %s, %s: %s)", attr("RequestID"), attr("ErrorCode"), attr("ErrorMessage"))
	default:
		out.Why = "no dead-letter attributes"
	}
	out.What = describe(out.Body)
	return out
}

// describe names the alarm event in body: an EventBridge alarm state
// change or an alarm action's payload.
func describe(body string) string {
	var e struct {
		DetailType string                `json:"detail-type"`
		Time       string                `json:"time"`
		Detail     *cloudwatch.AlarmData `json:"detail"`
		AlarmData  *cloudwatch.AlarmData `json:"alarmData"`
	}
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		return "not JSON"
	}
	d, kind := e.Detail, "EventBridge event"
	if d == nil {
		d, kind = e.AlarmData, "alarm action payload"
	}
	if d == nil {
		if e.DetailType != "" {
			return fmt.Sprintf("%q event", e.DetailType)
		}
		return "not an alarm event"
	}
	state, at := "", e.Time
	if d.State != nil {
		state, at = d.State.Value, d.State.Timestamp
	}
	return fmt.Sprintf("%s: alarm %q %s at %s", kind, d.AlarmName, state, at)
}

// Redriver re-delivers dead-lettered events to the ingest function.
type Redriver struct {
	Queue    Queue
	Lambda   Invoker
	QueueURL string
	// Function is the ingest function's name or ARN.
	Function string
	// DryRun reports what would be redriven and changes nothing.
	DryRun bool
	// Max bounds how many messages are handled; 0 means all.
	Max int
	// Out receives one line per message and the summary.
	Out io.Writer
}

// Summary counts what a run did.
type Summary struct {
	Redriven int `json:"redriven"`
	// Failed messages could not be redriven (or deleted after) and stay in
	// the queue.
	Failed int `json:"failed"`
	// Skipped messages are not JSON, which Lambda cannot be invoked with;
	// they stay in the queue to be looked at.
	Skipped int  `json:"skipped"`
	DryRun  bool `json:"dryRun,omitempty"`
}

// visibility is how long a received message stays hidden while it is
// handled: a redrive takes well under a second per message.
const visibility = 60

// Run receives messages until the queue has none left to give or Max is
// reached, and redrives each one: an asynchronous invocation of the
// function with the original body, as EventBridge and alarm actions
// invoke it, then, only once Lambda has accepted it, the message's
// deletion. A message that cannot be redriven is made visible again at
// once, so it stays in the queue for the next run.
func (r *Redriver) Run(ctx context.Context) (Summary, error) {
	sum := Summary{DryRun: r.DryRun}
	seen := map[string]bool{}
	var held []Message // in a dry run, released at the end
	defer func() {
		for _, m := range held {
			r.release(context.WithoutCancel(ctx), m)
		}
	}()
	for r.Max == 0 || len(seen) < r.Max {
		batch := int32(10)
		if r.Max > 0 && r.Max-len(seen) < 10 {
			batch = int32(r.Max - len(seen))
		}
		out, err := r.Queue.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl:              aws.String(r.QueueURL),
			MaxNumberOfMessages:   batch,
			VisibilityTimeout:     visibility,
			WaitTimeSeconds:       1,
			MessageAttributeNames: []string{"All"},
		})
		if err != nil {
			return sum, fmt.Errorf("receive from %s: %w", r.QueueURL, err)
		}
		fresh := 0
		for _, raw := range out.Messages {
			m := Classify(raw)
			if seen[m.ID] {
				// Made visible again after a failure: it stays for the
				// next run, visible.
				r.release(ctx, m)
				continue
			}
			seen[m.ID] = true
			fresh++
			if r.DryRun {
				held = append(held, m)
			}
			r.handle(ctx, m, &sum)
		}
		// An empty receive, or one of messages already handled (a failed
		// one made visible again), means nothing new is left.
		if fresh == 0 {
			break
		}
	}
	note := ""
	if r.DryRun {
		note = " (dry run: nothing was changed)"
	}
	fmt.Fprintf(r.Out, "%d redriven, %d failed, %d skipped%s\n", sum.Redriven, sum.Failed, sum.Skipped, note)
	return sum, nil
}

// handle redrives one message and prints what happened.
func (r *Redriver) handle(ctx context.Context, m Message, sum *Summary) {
	line := func(verb, extra string) {
		fmt.Fprintf(r.Out, "%-12s %s  %s  %s; %s%s\n", verb, m.ID, m.Origin, m.What, m.Why, extra)
	}
	if !json.Valid([]byte(m.Body)) {
		sum.Skipped++
		line("skipped", ": the body is not JSON, so no function can take it; look at it and delete it by hand")
		if !r.DryRun {
			r.release(ctx, m)
		}
		return
	}
	if r.DryRun {
		sum.Redriven++
		line("would redrive", "")
		return
	}
	out, err := r.Lambda.Invoke(ctx, &lambda.InvokeInput{
		FunctionName:   aws.String(r.Function),
		InvocationType: lambdatypes.InvocationTypeEvent,
		Payload:        []byte(m.Body),
	})
	if err == nil && out.StatusCode != 202 {
		err = fmt.Errorf("the invoke was answered %d, not 202 Accepted", out.StatusCode)
	}
	if err != nil {
		sum.Failed++
		line("failed", fmt.Sprintf(": invoke %s: %v; left in the queue", r.Function, err))
		r.release(ctx, m)
		return
	}
	if _, err := r.Queue.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(r.QueueURL), ReceiptHandle: aws.String(m.Receipt)}); err != nil {
		// Redriven but still in the queue: a second redrive is harmless,
		// since ingest counts one state change once.
		sum.Failed++
		line("failed", fmt.Sprintf(": redriven, but not deleted (%v); a later redrive delivers it again, which ingest ignores", err))
		return
	}
	sum.Redriven++
	line("redriven", "")
}

// release makes a message visible again at once.
func (r *Redriver) release(ctx context.Context, m Message) {
	_, err := r.Queue.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
		QueueUrl: aws.String(r.QueueURL), ReceiptHandle: aws.String(m.Receipt), VisibilityTimeout: 0,
	})
	if err != nil {
		fmt.Fprintf(r.Out, "note: %s stays hidden for up to %d s: %v\n", m.ID, visibility, strings.TrimSpace(err.Error()))
	}
}
