// Package slack is incident response's adapter to Slack, on
// github.com/slack-go/slack.
//
// Outbound, a Notifier posts the messages package notify renders: the
// initial alert to the configured channel (#incidents by default), every
// later message as a reply in its thread, the resolution in the thread and
// the channel at once, and edits of the alert (its buttons go once the
// incident is resolved). Incidents of the configured severities (P0 by
// default) also get a channel of their own, inc-<id>, with the people
// paged invited. Slack's 429 answers are honoured up to a bound; every
// failure comes back as *SlackUnavailableError (try again later) or
// *SlackRejectedError (fix something first).
//
// Inbound, Inbound verifies Slack's request signature and timestamp and
// turns the Acknowledge and Resolve buttons, the resolve modal and the
// /incident slash command into Commands in the domain's words, with the
// Slack user mapped to a responder through a Directory. Requests that are
// not Slack's are *UnverifiedError (401); people the Directory does not
// know are answered, never acted for.
package slack
