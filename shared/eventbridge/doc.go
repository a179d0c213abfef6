// Package eventbridge decodes every EventBridge event the ingest rule
// routes into an incident.Signal: CloudWatch alarm state changes (through
// shared/cloudwatch, unchanged), ECS deployment state changes, ECS task
// state changes and ECS service actions, and RDS DB instance events.
//
// Decoder.Decode is the one entry point. It reads the envelope, picks the
// decoder by source and detail-type, and returns either a Signal or an
// *InvalidEventError naming the source, the detail-type and the problem.
// An event that is well formed but means nothing to the response (a task
// scaled in, a backup finished, a service outside the allow-list) is a
// Signal whose Ignored says why, so ingest records it and pages nobody:
// nothing is dropped without a word.
//
// The event types are plain structs with JSON tags and no behaviour, in the
// style of aws-lambda-go's events package, which has no types for these
// details. Timestamps are kept as the strings AWS sent; they are read with
// cloudwatch.ParseTimestamp.
//
// Routing: IngestRules are the EventBridge rules that deliver these events
// to ingest, each a route narrowed to the details Decode acts on; the CDK
// app deploys them and the local stack routes with them (MatchPattern), so
// what reaches ingest locally is what would reach it in AWS.
//
// Identity: the DedupKey of every ECS signal is the service's ARN, so a
// failed deployment, its crashing tasks and the scheduler's impairment
// events for one service are one incident; the DedupKey of an RDS signal
// is the DB instance's ARN. EventIDs are built from what the event is about
// (a task ARN and its detail version, a deployment ID and event name, an
// RDS event ID and date), not from EventBridge's id alone, because ECS may
// send one change twice under two EventBridge ids.
package eventbridge
