// Package sfnlocal runs the escalation state machine on one machine: a
// small interpreter of the Amazon States Language (JSONPath flavour) that
// executes the very definition the CDK app deploys, on a virtual clock or
// on the wall clock, calling Go functions in place of the Lambda functions.
//
// It supports the subset the project needs and refuses everything else when
// the definition is loaded (New returns a *DefinitionError naming the state
// and the field), so a definition can never run differently here than in
// AWS without someone noticing:
//
//   - states: Task (a Lambda function ARN as Resource), Choice, Wait, Pass,
//     Succeed and Fail; Parallel and Map are refused;
//   - paths: InputPath, OutputPath, ResultPath (null discards the result),
//     Parameters and ResultSelector with "key.$" fields; paths are reference
//     paths made of $, .name, ['name'] and [n] (ResultPath: names only);
//     intrinsic functions and richer JSONPath are refused;
//   - context object paths in Parameters: $$.Execution.Id, .Name,
//     .StartTime and .Input (and paths into it), $$.State.Name,
//     .EnteredTime and .RetryCount, $$.StateMachine.Id and .Name; other
//     context fields, and $$ in any other field, are refused;
//   - Retry (ErrorEquals, IntervalSeconds, MaxAttempts, BackoffRate,
//     MaxDelaySeconds, JitterStrategy NONE) and Catch (ErrorEquals, Next,
//     ResultPath); JitterStrategy FULL is refused because runs must be
//     deterministic;
//   - Choice rules: the String, Numeric and Timestamp comparisons (Equals,
//     LessThan, GreaterThan, LessThanEquals, GreaterThanEquals and their Path
//     forms), BooleanEquals(Path), IsPresent, IsNull, IsString, IsNumeric,
//     IsBoolean, IsTimestamp, And, Or, Not; StringMatches is refused.
//
// The definition is decoded into one typed struct per state type (and one
// for a Choice rule, with a field per comparison operator), field by field,
// so every error names the state and the field.
//
// Executions run concurrently, as in Step Functions: each execution's
// steps run in order, in one goroutine at a time, and different
// executions' steps in different goroutines; no lock is held while a task
// function runs, so a slow task of one execution delays no other.
//
// New makes an executor on a virtual clock. A Wait state or a retry's
// backoff sets the execution's wake time and yields; RunReady runs every
// execution due at the clock's time, concurrently, until each has finished
// or waits, and never moves the clock; RunUntil moves the clock through
// every wake-up time in order. Task functions run in no virtual time at
// all, so the times in a history do not depend on how fast tasks are;
// executions due at the same time interleave as they would in AWS, so
// their tasks must be safe to run concurrently, as Lambda functions are.
//
// NewRealTime makes an executor on the wall clock, for a local server: a
// started execution begins at once in its own goroutine, its Waits and
// backoffs sleep. Shutdown stops it between steps, letting task calls in
// progress finish (a write cut off half way helps nobody); Close cancels
// them. Both wait for every goroutine.
//
// Errors are named as Step Functions names them for a Go Lambda function:
// the Go type name of the returned error (see ErrorType), with the Lambda
// error payload {"errorMessage", "errorType"} as the cause. A panic in a
// task function is recovered and named the same way after the panic value,
// as aws-lambda-go reports it ("string" for panic("..."), "errorString" for
// a nil dereference), without the stack trace Lambda would add. Path
// failures and other runtime problems fail the execution with
// States.Runtime, which no Retry or Catch sees, as in AWS.
//
// Task TimeoutSeconds and HeartbeatSeconds are validated but not enforced:
// a task takes no virtual time, and an in-process function cannot be
// interrupted meaningfully, so States.Timeout never happens here.
package sfnlocal
