// Package awslocal is a local stand-in for the AWS services that triage,
// remediation and stakeholder email call: ECS, CloudWatch (GetMetricData),
// CloudWatch Logs, RDS, SSM Parameter Store and SES v2. One HTTP server on
// 127.0.0.1 answers them all, speaking each service's wire protocol as the real aws-sdk-go-v2 clients send it when
// their BaseEndpoint points at it: JSON 1.1 with X-Amz-Target (ECS, Logs,
// SSM), RPC v2 CBOR (CloudWatch, as its SDK sends it since it left
// awsQuery), the query protocol with XML answers (RDS) and REST-JSON
// (SES v2). Requests are told apart by the service name in the
// SigV4 credential scope of their Authorization header, as AWS's own
// front end does for a shared endpoint.
//
// The server keeps a small World (clusters and services with their
// deployments and stopped tasks, task definition revisions, metric
// datapoints, log lines, DB instances, parameters, sent emails)
// that tests and scenarios set, in Go or as JSON, and that actions change:
// forcing a new deployment, scaling and switching the task definition
// behave as a simple, healthy ECS would. Faults (throttling, access
// denied, a 5xx, a response held past the caller's deadline) can be set
// per service and operation, for a number of calls or for good. Every
// call is recorded with its decoded input and outcome, so tests and
// scenarios assert on what was asked and on what the world ended as.
//
// Anything the stand-in does not implement is answered with the
// service's own error for an unknown operation, never with a silent
// success. It is never linked into a Lambda.
package awslocal
