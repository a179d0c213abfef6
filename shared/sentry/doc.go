// Package sentry adapts Sentry's integration-platform webhooks to the
// domain: Verify authenticates a delivery (the Sentry-Hook-Signature HMAC,
// the Sentry-Hook-Timestamp's age, the Sentry-Hook-Resource header) and
// Decode turns an issue, metric alert or issue alert webhook into an
// incident.Signal through a configurable Mapping.
//
// Errors are *WebhookError, whose Kind tells the API what to answer: 401
// for an unsigned, badly signed or stale delivery, 400 for a malformed
// one or a resource or action this package does not read. Only a delivery
// that passed Verify is ever parsed.
//
// Identity: the DedupKey is one per Sentry issue (sentry:issue:<id>, shared
// by the issue's own webhooks and by issue alerts on it) and one per metric
// alert rule (sentry:metric-alert:<rule id>). The EventID comes from the
// payload (the issue ID, action and last-seen time; the metric alert's
// incident ID and action; the alerted event's ID), never from the
// Request-ID header alone: Sentry mints a new Request-ID for every retry of
// the same webhook, so a retry keeps its payload's EventID and ingest sees
// it once.
//
// The samples under events/sentry are named <resource>-<action>.json: the
// part before the first "-" is the Sentry-Hook-Resource they are sent
// with.
package sentry
