package eventbridge_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/dashboarduz/incident-response/shared/eventbridge"
	"github.com/dashboarduz/incident-response/shared/incident"
)

// executionEvent is a Step Functions execution status change as
// EventBridge delivers it; errJSON is the detail's error, as JSON.
func executionEvent(status, errJSON string) []byte {
	return fmt.Appendf(nil, `{
  "version": "0", "id": "315c1398-40ff-a850-213b-158f73e60175",
  "detail-type": "Step Functions Execution Status Change", "source": "aws.states",
  "account": "123456789012", "time": "2026-03-01T04:12:09Z", "region": "eu-west-1",
  "resources": ["arn:aws:states:eu-west-1:123456789012:execution:prod-escalation:inc-20260301-030000-c0f8ae04e8-g1"],
  "detail": {
    "executionArn": "arn:aws:states:eu-west-1:123456789012:execution:prod-escalation:inc-20260301-030000-c0f8ae04e8-g1",
    "stateMachineArn": "arn:aws:states:eu-west-1:123456789012:stateMachine:prod-escalation",
    "name": "inc-20260301-030000-c0f8ae04e8-g1", "status": %q,
    "startDate": 1772334000000, "stopDate": 1772338329000,
    "input": "{\"incidentId\":\"inc-20260301-030000-c0f8ae04e8\",\"service\":\"dashboarduz-api\",\"generation\":1}",
    "output": null, "error": %s, "cause": null
  }
}`, status, errJSON)
}

func TestEscalationStoppedByHandOpensAP1(t *testing.T) {
	rule := stoppedRule(t)
	d := eventbridge.Decoder{}
	for _, c := range []struct {
		name, status, errJSON string
		routed, fires         bool
	}{
		{"stopped in the console", "ABORTED", "null", true, true},
		{"stopped with a reason", "ABORTED", `"Maintenance"`, true, true},
		{"superseded by a newer generation", "ABORTED", `"Superseded"`, true, false},
		{"succeeded", "SUCCEEDED", "null", false, false},
		{"failed, which has its own alarm", "FAILED", `"States.TaskFailed"`, false, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			raw := executionEvent(c.status, c.errJSON)
			if got := rule.Matches(raw); got != c.routed {
				t.Errorf("rule matches = %v, want %v", got, c.routed)
			}
			s, err := d.Decode(raw)
			if err != nil {
				t.Fatal(err)
			}
			if fires := s.State == incident.Firing && s.Ignored == ""; fires != c.fires {
				t.Fatalf("signal %+v: fires = %v, want %v", s, fires, c.fires)
			}
			if !c.fires {
				return
			}
			if s.Service != incident.SelfService || s.Severity != incident.P1 || !strings.Contains(s.Summary, "inc-20260301-030000-c0f8ae04e8") ||
				s.Time.Format("15:04:05") != "04:12:09" {
				t.Errorf("signal = %+v; want a P1 of %s naming the incident, at the stop", s, incident.SelfService)
			}
		})
	}
	if _, err := d.Decode([]byte(`{"id":"x","source":"aws.states","detail-type":"Step Functions Execution Status Change","time":"2026-03-01T04:12:09Z","detail":{"status":"ABORTED"}}`)); err == nil ||
		!strings.Contains(err.Error(), "executionArn") {
		t.Errorf("an event without its execution: %v, want an error naming detail.executionArn", err)
	}
}

func stoppedRule(t *testing.T) eventbridge.Rule {
	t.Helper()
	for _, r := range eventbridge.IngestRules() {
		if r.Name == "EscalationStoppedByHand" {
			if !r.EscalationOnly {
				t.Fatal("the rule must be narrowed to the escalation state machine")
			}
			return r
		}
	}
	t.Fatal("no EscalationStoppedByHand rule")
	return eventbridge.Rule{}
}
