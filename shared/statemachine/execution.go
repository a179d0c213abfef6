package statemachine

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/dashboarduz/incident-response/shared/incident"
)

// ExecutionInput returns the JSON input of an execution: the escalation
// state it starts from. Every start of one generation with the same state
// sends the same bytes, which is what makes a repeated StartExecution for
// a running execution succeed without starting a second one. It lives
// here, with the definition and free of the AWS SDK, because the Step
// Functions adapter and the local executor must agree on it byte for
// byte, and the local stack then does not compile the Step Functions
// client.
func ExecutionInput(st incident.EscalationState) []byte {
	b, _ := json.Marshal(st)
	return b
}

// ExecutionName names the execution of an incident's generation: the
// incident ID for the first, "<id>-g<n>" after. Execution names are unique
// per state machine, so each generation starts at most once.
func ExecutionName(incidentID string, generation int) string {
	if generation == 0 {
		return incidentID
	}
	return fmt.Sprintf("%s-g%d", incidentID, generation)
}

// ExecutionNameOf names the execution that runs from st: its generation's
// (ExecutionName), with "-h<k>" for the k-th execution that took over from
// one grown too long, so each hand-over starts at most once too.
func ExecutionNameOf(st incident.EscalationState) string {
	name := ExecutionName(st.IncidentID, st.Generation)
	if st.Handover > 0 {
		name += fmt.Sprintf("-h%d", st.Handover)
	}
	return name
}

// Superseded is the error an execution is stopped with when a newer
// generation of its incident's escalation has taken over. The rule that
// turns stopped executions into incidents leaves these out.
const Superseded = "Superseded"

// ExecutionARN is the ARN of the execution named name of the state
// machine stateMachineARN (arn:PARTITION:states:REGION:ACCOUNT:stateMachine:NAME).
func ExecutionARN(stateMachineARN, name string) (string, error) {
	prefix, machine, ok := strings.Cut(stateMachineARN, ":stateMachine:")
	if !ok || machine == "" || strings.Contains(machine, ":") || !strings.HasPrefix(prefix, "arn:") {
		return "", fmt.Errorf("%q is not a state machine ARN (arn:PARTITION:states:REGION:ACCOUNT:stateMachine:NAME)", stateMachineARN)
	}
	return prefix + ":execution:" + machine + ":" + name, nil
}
