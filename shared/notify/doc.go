// Package notify words the runbook's communication: its three templates
// (Initial Alert, Status Update, Resolution) and the thread replies that
// follow an incident in Slack (a page, an escalation, a missed target, a
// remediation, an acknowledgement).
//
// A Builder turns an incident, its timeline and the facts the caller knows
// into a View in which every field is filled: a fact nobody has given yet
// is said in words ("Not known yet"), never left blank. The same View
// renders as plain text from the template files under templates/ (for
// email and the local transcript) and as Slack Block Kit blocks built with
// github.com/slack-go/slack, so the two forms cannot drift apart. The
// initial alert carries Acknowledge and Resolve buttons whose action IDs
// are ActionAcknowledge and ActionResolve and whose value is the incident
// ID.
package notify
