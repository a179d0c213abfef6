package eventbridge

import (
	"fmt"
	"strings"
	"time"

	"github.com/dashboarduz/incident-response/shared/incident"
)

// rdsMeaning is what one RDS event says about its DB instance.
type rdsMeaning struct {
	state    incident.SignalState
	severity incident.Severity
	// what completes "DB instance <name> ...".
	what string
}

// Severities of RDS signals, against the runbook's levels; every RDS
// signal has the category database.
//
//   - P0, "complete service outage": the database is down and does not
//     come back by itself (storage full, a failed instance, an error
//     restarting), which takes the API down with it.
//   - P1, "major feature unavailable": the instance is shut down or about
//     to be (free storage below the shutdown threshold), or cannot start
//     with its settings.
//   - P2, "performance issues, non-critical errors": a Multi-AZ failover,
//     which RDS completes by itself in a minute or two (if it does not,
//     the API's alarms and health checks open a P0), and storage above
//     90% used, which leaves hours to act.
var rdsEvents = map[string]rdsMeaning{
	"RDS-EVENT-0221": {incident.Firing, incident.P0, "reached the storage-full threshold and was shut down"},
	"RDS-EVENT-0007": {incident.Firing, incident.P0, "has used all of its allocated storage"},
	"RDS-EVENT-0031": {incident.Firing, incident.P0, "has failed (an incompatible configuration or an underlying storage issue)"},
	"RDS-EVENT-0022": {incident.Firing, incident.P0, "failed to restart"},
	"RDS-EVENT-0004": {incident.Firing, incident.P1, "shut down"},
	"RDS-EVENT-0035": {incident.Firing, incident.P1, "has invalid parameters and cannot start"},
	"RDS-EVENT-0036": {incident.Firing, incident.P1, "is in an incompatible network"},
	"RDS-EVENT-0026": {incident.Firing, incident.P1, "is unavailable for offline maintenance"},
	"RDS-EVENT-0222": {incident.Firing, incident.P1, "is low on free storage and will be shut down below the threshold"},
	"RDS-EVENT-0227": {incident.Firing, incident.P1, "is running low on Aurora storage"},
	"RDS-EVENT-0013": {incident.Firing, incident.P2, "started a Multi-AZ failover"},
	"RDS-EVENT-0089": {incident.Firing, incident.P2, "has used more than 90% of its allocated storage"},
	"RDS-EVENT-0223": {incident.Firing, incident.P2, "cannot autoscale its storage"},
	"RDS-EVENT-0224": {incident.Firing, incident.P2, "would reach its maximum storage threshold by autoscaling"},

	"RDS-EVENT-0006": {incident.Recovered, incident.P1, "restarted"},
	"RDS-EVENT-0088": {incident.Recovered, incident.P1, "started"},
	"RDS-EVENT-0015": {incident.Recovered, incident.P2, "completed a Multi-AZ failover"},
	"RDS-EVENT-0049": {incident.Recovered, incident.P2, "completed a Multi-AZ failover"},
	"RDS-EVENT-0051": {incident.Recovered, incident.P2, "completed a Multi-AZ activation and is accessible"},
	"RDS-EVENT-0065": {incident.Recovered, incident.P2, "recovered from a partial failover"},
	"RDS-EVENT-0027": {incident.Recovered, incident.P1, "finished offline maintenance and is available"},
	"RDS-EVENT-0017": {incident.Recovered, incident.P2, "has new storage settings"},
	"RDS-EVENT-0218": {incident.Recovered, incident.P2, "finished autoscaling its storage"},
}

// rdsMessages map messages to meanings for events without an EventID (the
// older form) or with one this table does not know. The first pattern
// whose words all occur in the message wins, so the specific ones come
// first.
var rdsMessages = []struct {
	words   []string
	meaning rdsMeaning
}{
	{[]string{"failover", "complete"}, rdsEvents["RDS-EVENT-0049"]},
	{[]string{"failover", "start"}, rdsEvents["RDS-EVENT-0013"]},
	{[]string{"storage-full"}, rdsEvents["RDS-EVENT-0221"]},
	{[]string{"storage full"}, rdsEvents["RDS-EVENT-0221"]},
	{[]string{"storage", "low"}, rdsEvents["RDS-EVENT-0089"]},
	{[]string{"not available"}, rdsMeaning{incident.Firing, incident.P1, "is not available"}},
	{[]string{"unavailable"}, rdsMeaning{incident.Firing, incident.P1, "is not available"}},
	{[]string{"shutdown"}, rdsEvents["RDS-EVENT-0004"]},
	{[]string{"shut down"}, rdsEvents["RDS-EVENT-0004"]},
	{[]string{"restarted"}, rdsEvents["RDS-EVENT-0006"]},
}

// rdsMeaningOf maps an event by its ID, and by its message when the ID is
// missing or unknown; ok is false for an event that is no incident.
func rdsMeaningOf(eventID, message string) (rdsMeaning, bool) {
	if m, ok := rdsEvents[eventID]; ok {
		return m, true
	}
	msg := strings.ToLower(message)
	for _, p := range rdsMessages {
		all := true
		for _, w := range p.words {
			all = all && strings.Contains(msg, w)
		}
		if all {
			return p.meaning, true
		}
	}
	return rdsMeaning{}, false
}

// rdsInstance reads an "RDS DB Instance Event": failovers, the instance
// becoming unavailable and storage running out fire; a restart, a
// completed failover or maintenance is the recovery; backups,
// configuration changes and notifications are no incident.
func (d *Decoder) rdsInstance(e Event, det RDSDBInstanceEvent) (incident.Signal, *InvalidEventError) {
	arn, name, ierr := rdsInstanceOf(e, det)
	if ierr != nil {
		return incident.Signal{}, ierr
	}
	at, ierr := when("detail.Date", det.Date, "time", e.Time)
	if ierr != nil {
		return incident.Signal{}, ierr
	}
	eventID := det.EventID
	if eventID == "" {
		eventID = "no-event-id/" + e.ID
	}
	s := incident.Signal{
		Source:   signalSourceRDS,
		EventID:  arn + "/" + eventID + "@" + at.Format(time.RFC3339Nano),
		DedupKey: arn,
		Service:  name,
		Category: incident.Database,
		Reason:   det.Message,
		Time:     at,
		Details:  map[string]string{"dbInstance": name, "dbInstanceArn": arn, "eventBridgeId": e.ID},
	}
	putIf(s.Details, "rdsEventId", det.EventID)
	putIf(s.Details, "eventCategories", strings.Join(det.EventCategories, ","))
	putIf(s.Details, "region", e.Region)
	putIf(s.Details, "account", e.Account)
	m, ok := rdsMeaningOf(det.EventID, det.Message)
	if !ok {
		s.State, s.Severity = incident.Inconclusive, incident.P3
		s.Summary = fmt.Sprintf("DB instance %s: %s", name, orNone(det.Message))
		s.Ignored = fmt.Sprintf("RDS event %s (%s) is not one this system acts on", orNone(det.EventID), strings.Join(det.EventCategories, ", "))
		return s, nil
	}
	s.State, s.Severity = m.state, m.severity
	s.Summary = fmt.Sprintf("DB instance %s %s", name, m.what)
	if why := d.Allow.why("", name); why != "" {
		s.Ignored = "RDS event for a resource this system does not respond for: " + why
	}
	return s, nil
}

// rdsInstanceOf finds the DB instance's ARN, from SourceArn or the event's
// resources, and its identifier, from the ARN: SourceIdentifier is not
// used, because older events prefix it with "rds:".
func rdsInstanceOf(e Event, det RDSDBInstanceEvent) (arn, name string, ierr *InvalidEventError) {
	for _, candidate := range append([]string{det.SourceArn}, e.Resources...) {
		_, svc, _, _, resource, ok := arnParts(candidate)
		if ok && svc == "rds" && strings.HasPrefix(resource, "db:") && len(resource) > len("db:") {
			return candidate, strings.TrimPrefix(resource, "db:"), nil
		}
	}
	return "", "", invalidf("neither detail.SourceArn %q nor resources hold a DB instance ARN (want arn:aws:rds:<region>:<account>:db:<name>)", clip(det.SourceArn))
}
