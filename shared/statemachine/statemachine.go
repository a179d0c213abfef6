// Package statemachine holds the escalation state machine's definition, the
// one file that both the CDK app deploys and the local executor runs.
package statemachine

import (
	_ "embed" // for go:embed
	"fmt"
	"regexp"
)

// Definition is the Amazon States Language definition of the escalation
// state machine, with ${Name} placeholders for the function ARNs.
//
//go:embed escalation.asl.json
var Definition string

// Placeholder names in Definition.
const (
	PlanFunctionArn      = "PlanFunctionArn"
	PageFunctionArn      = "PageFunctionArn"
	TriageFunctionArn    = "TriageFunctionArn"
	RemediateFunctionArn = "RemediateFunctionArn"
	NotifyFunctionArn    = "NotifyFunctionArn"
)

var placeholder = regexp.MustCompile(`\$\{([A-Za-z0-9_]+)\}`)

// Placeholders lists the placeholder names Definition uses.
func Placeholders() []string {
	var names []string
	seen := map[string]bool{}
	for _, m := range placeholder.FindAllStringSubmatch(Definition, -1) {
		if !seen[m[1]] {
			seen[m[1]] = true
			names = append(names, m[1])
		}
	}
	return names
}

// Substitute returns def with every ${Name} replaced from values, as Step
// Functions' definition substitutions do; a placeholder without a value is
// an error.
func Substitute(def string, values map[string]string) (string, error) {
	var missing []string
	out := placeholder.ReplaceAllStringFunc(def, func(m string) string {
		name := placeholder.FindStringSubmatch(m)[1]
		v, ok := values[name]
		if !ok {
			missing = append(missing, name)
			return m
		}
		return v
	})
	if len(missing) > 0 {
		return "", fmt.Errorf("state machine definition: no value for %v", missing)
	}
	return out, nil
}
