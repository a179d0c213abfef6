package incident

import "strings"

// The fire drill's incidents: the system raises an alarm of its own test
// service once a month and follows it through the whole pipeline. Their
// pages go to a test PagerDuty service, never to the real on-call.
const (
	// DrillService is the service of the drill's incidents.
	DrillService = "fire-drill"
	// DrillAlarmSuffix ends the name of the drill's CloudWatch alarm.
	DrillAlarmSuffix = "-fire-drill"
	// DrillRoutingKey is the entry of the routing-keys secret every page of
	// a drill incident goes to, whatever its level.
	DrillRoutingKey = "fire-drill"
)

// IsDrill reports whether inc is a fire-drill incident: one of
// DrillService opened by a CloudWatch alarm whose name ends in
// DrillAlarmSuffix. Both must hold, so a user report that names the test
// service is not taken for a drill: its pages go to the real on-call.
func (inc *Incident) IsDrill() bool {
	parts := strings.SplitN(inc.DedupKey, ":", 7)
	return inc.Service == DrillService && len(parts) == 7 && parts[0] == "arn" && parts[2] == "cloudwatch" && parts[5] == "alarm" &&
		strings.HasSuffix(parts[6], DrillAlarmSuffix) && len(parts[6]) > len(DrillAlarmSuffix)
}

// RoutingKeyName returns the entry of the routing-keys secret a page of
// inc to the escalation level named level goes to: DrillRoutingKey for a
// drill incident, the level's own name otherwise.
func (inc *Incident) RoutingKeyName(level string) string {
	if inc.IsDrill() {
		return DrillRoutingKey
	}
	return level
}
