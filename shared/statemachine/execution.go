package statemachine

import (
	"encoding/json"
	"fmt"
)

// Input is the escalation execution's input.
type Input struct {
	IncidentID string `json:"incidentId"`
	Generation int    `json:"generation,omitempty"`
}

// ExecutionInput returns the JSON input of the execution for an incident's
// generation. Every start of one generation sends the same bytes, which is
// what makes a repeated StartExecution for a running execution succeed
// without starting a second one. It lives here, with the definition and
// free of the AWS SDK, because the Step Functions adapter and the local
// executor must agree on it byte for byte, and the local stack then does
// not compile the Step Functions client.
func ExecutionInput(incidentID string, generation int) []byte {
	b, _ := json.Marshal(Input{IncidentID: incidentID, Generation: generation})
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
