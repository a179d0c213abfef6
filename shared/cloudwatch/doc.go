// Package cloudwatch adapts CloudWatch alarm notifications to the domain:
// it holds the two payloads CloudWatch sends when an alarm changes state
// (the EventBridge "CloudWatch Alarm State Change" event and the payload of
// an alarm action that invokes a Lambda function directly) and Decode,
// which validates either one and turns it into an incident.Signal.
//
// The types are plain structs with JSON tags and no behaviour, in the style
// of aws-lambda-go's events package, which has no type for these payloads.
// Timestamps are kept as the strings CloudWatch sent, because CloudWatch
// writes them as 2019-10-02T17:04:40.989+0000, which is not RFC 3339;
// ParseTimestamp reads both forms.
package cloudwatch
