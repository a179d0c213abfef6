// Package incident is the domain of the incident-response system: incidents,
// their severities, categories and statuses, the append-only timeline, the
// signals that open them, the rules that classify alarms, and the escalation
// policy with its pure step function Next.
//
// It imports no AWS package; the adapters under shared/ depend on it, never
// the other way round.
package incident
