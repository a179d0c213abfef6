// Package drill is the runbook's monthly disaster-recovery drill, run by
// the system on itself: a fire drill. On a schedule it raises a real
// CloudWatch alarm of a test service, follows the signal through the real
// pipeline (CloudWatch, the EventBridge rule, the ingest function, the
// table, the escalation state machine, the Page task, PagerDuty), checks
// and times each hop, resolves the incident it caused, and records the
// result: one item in the table and metrics in Embedded Metric Format. The
// heartbeat reads the latest record and keeps an alarm raised while the
// last drill failed or none has run for too long.
//
// The drill's incidents belong to the test service Service and page the
// routing key RoutingKeyName of the routing-keys secret, a test PagerDuty
// service, never the real on-call: the Page task asks
// incident.Incident.RoutingKeyName which entry of the secret a page of an
// incident goes to.
//
// The package holds the logic and the small interfaces it needs; the
// fire-drill function wires them to AWS.
package drill

import (
	"github.com/dashboarduz/incident-response/shared/incident"
)

// Service is the service of the drill's incidents. The classification
// rules give it to the drill's alarm (named <stack>AlarmSuffix).
const Service = incident.DrillService

// AlarmSuffix ends the name of the drill's alarm; the classification rule
// fire-drill matches it.
const AlarmSuffix = incident.DrillAlarmSuffix

// RoutingKeyName is the entry of the routing-keys secret that every page of
// a drill incident goes to, whatever its level: the integration key of a
// test PagerDuty service.
const RoutingKeyName = incident.DrillRoutingKey

// Actor is who the drill is on the timeline when it resolves its incident.
const Actor = "fire-drill"
