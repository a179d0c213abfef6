package sfnlocal

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// contextFields are the fields of the context object ($$) that the
// executor supplies, as Step Functions fills them for a Standard
// workflow. A path may go on into Execution.Input; the other fields are
// leaves. Task.Token, Map.*, Execution.RoleArn and the redrive fields
// have no meaning here and are refused.
var contextFields = []string{
	"Execution.Id", "Execution.Input", "Execution.Name", "Execution.StartTime",
	"State.EnteredTime", "State.Name", "State.RetryCount",
	"StateMachine.Id", "StateMachine.Name",
}

// parseContextPath parses a context object path such as
// "$$.Execution.Name": a reference path into the context object, which
// must select one of contextFields (or a node inside Execution.Input).
func parseContextPath(s string) (*refPath, error) {
	p, err := parseSegments(s, 2)
	if err != nil {
		return nil, err
	}
	if len(p.segs) < 2 || p.segs[0].isIndex || p.segs[1].isIndex {
		return nil, unsupportedContext(s)
	}
	field := p.segs[0].name + "." + p.segs[1].name
	if !slices.Contains(contextFields, field) || (len(p.segs) > 2 && field != "Execution.Input") {
		return nil, unsupportedContext(s)
	}
	return p, nil
}

func unsupportedContext(s string) error {
	return fmt.Errorf("path %q: the local executor supplies only $$.%s of the context object", s, strings.Join(contextFields, ", $$."))
}

// contextTime formats a time of the context object as Step Functions
// does: ISO 8601 in UTC with milliseconds, "2019-03-26T20:14:13.192Z".
func contextTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

// contextObject is the context object of execution x in state st. Called
// with x.mu held.
func (e *Executor) contextObject(x *execution, st *state) map[string]any {
	var retries int64
	for _, n := range x.retries {
		retries += n
	}
	return map[string]any{
		"Execution": map[string]any{
			"Id":        e.executionARN(x.name),
			"Input":     x.inputValue,
			"Name":      x.name,
			"StartTime": contextTime(x.startedAt),
		},
		"State": map[string]any{
			"EnteredTime": contextTime(x.enteredAt),
			"Name":        st.name,
			"RetryCount":  json.Number(strconv.FormatInt(retries, 10)),
		},
		"StateMachine": map[string]any{
			"Id":   e.arn,
			"Name": e.stateMachineName(),
		},
	}
}

// stateMachineName is the last part of the state machine's ARN.
func (e *Executor) stateMachineName() string {
	return e.arn[strings.LastIndex(e.arn, ":")+1:]
}

// executionARN is the ARN Step Functions gives the execution named name:
// the state machine's ARN with "execution" for "stateMachine", then the
// name.
func (e *Executor) executionARN(name string) string {
	return strings.Replace(e.arn, ":stateMachine:", ":execution:", 1) + ":" + name
}
