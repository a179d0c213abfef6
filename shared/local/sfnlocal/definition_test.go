package sfnlocal

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestNewRejects(t *testing.T) {
	task := `"Type":"Task","Resource":"` + fnARN + `"`
	tests := []struct {
		name      string
		def       string
		wantState string
		wantField string
		wantIn    string // in the reason
	}{
		{"not JSON", `{`, "", "", "not valid JSON"},
		{"top-level TimeoutSeconds", `{"StartAt":"S","TimeoutSeconds":60,"States":{"S":{"Type":"Succeed"}}}`, "", "TimeoutSeconds", "not supported"},
		{"JSONata", `{"QueryLanguage":"JSONata","StartAt":"S","States":{"S":{"Type":"Succeed"}}}`, "", "QueryLanguage", "JSONPath"},
		{"StartAt missing state", `{"StartAt":"X","States":{"S":{"Type":"Succeed"}}}`, "", "StartAt", `"X"`},
		{"Parallel", `{"StartAt":"S","States":{"S":{"Type":"Parallel","Branches":[],"End":true}}}`, "S", "Type", `"Parallel" is not supported`},
		{"Map", `{"StartAt":"S","States":{"S":{"Type":"Map","End":true}}}`, "S", "Type", `"Map" is not supported`},
		{"unknown field", `{"StartAt":"S","States":{"S":{"Type":"Pass","Foo":1,"End":true}}}`, "S", "Foo", "not supported"},
		{"no Type", `{"StartAt":"S","States":{"S":{"End":true}}}`, "S", "Type", "needs a Type"},
		{"ResultSelector in a Pass", `{"StartAt":"S","States":{"S":{"Type":"Pass","ResultSelector":{},"End":true}}}`, "S", "ResultSelector", "not supported"},
		{"Credentials", `{"StartAt":"S","States":{"S":{` + task + `,"Credentials":{},"End":true}}}`, "S", "Credentials", "not supported"},
		{"Arguments", `{"StartAt":"S","States":{"S":{` + task + `,"Arguments":{},"End":true}}}`, "S", "Arguments", "not supported"},
		{"Assign", `{"StartAt":"S","States":{"S":{"Type":"Pass","Assign":{},"End":true}}}`, "S", "Assign", "not supported"},
		{"TimeoutSecondsPath", `{"StartAt":"S","States":{"S":{` + task + `,"TimeoutSecondsPath":"$.t","End":true}}}`, "S", "TimeoutSecondsPath", "not supported"},
		{"HeartbeatSeconds not below TimeoutSeconds", `{"StartAt":"S","States":{"S":{` + task + `,"TimeoutSeconds":10,"HeartbeatSeconds":10,"End":true}}}`, "S", "HeartbeatSeconds", "smaller"},
		{"Fail ErrorPath", `{"StartAt":"S","States":{"S":{"Type":"Fail","ErrorPath":"$.e"}}}`, "S", "ErrorPath", "not supported"},
		{"missing task function", `{"StartAt":"S","States":{"S":{"Type":"Task","Resource":"arn:other","End":true}}}`, "S", "Resource", `"arn:other"`},
		{"JitterStrategy FULL", `{"StartAt":"S","States":{"S":{` + task + `,"Retry":[{"ErrorEquals":["States.ALL"],"JitterStrategy":"FULL"}],"End":true}}}`, "S", "Retry[0].JitterStrategy", "deterministic"},
		{"unknown retrier field", `{"StartAt":"S","States":{"S":{` + task + `,"Retry":[{"ErrorEquals":["X"],"Backoff":2}],"End":true}}}`, "S", "Retry[0].Backoff", "not supported"},
		{"BackoffRate below 1", `{"StartAt":"S","States":{"S":{` + task + `,"Retry":[{"ErrorEquals":["X"],"BackoffRate":0.5}],"End":true}}}`, "S", "Retry[0].BackoffRate", "1.0"},
		{"IntervalSeconds zero", `{"StartAt":"S","States":{"S":{` + task + `,"Retry":[{"ErrorEquals":["X"],"IntervalSeconds":0}],"End":true}}}`, "S", "Retry[0].IntervalSeconds", "from 1"},
		{"MaxAttempts fraction", `{"StartAt":"S","States":{"S":{` + task + `,"Retry":[{"ErrorEquals":["X"],"MaxAttempts":1.5}],"End":true}}}`, "S", "Retry[0].MaxAttempts", "integer"},
		{"States.ALL not last", `{"StartAt":"S","States":{"S":{` + task + `,"Retry":[{"ErrorEquals":["States.ALL"]},{"ErrorEquals":["X"]}],"End":true}}}`, "S", "Retry[0].ErrorEquals", "last"},
		{"States.ALL not alone", `{"StartAt":"S","States":{"S":{` + task + `,"Retry":[{"ErrorEquals":["X","States.ALL"]}],"End":true}}}`, "S", "Retry[0].ErrorEquals", "alone"},
		{"catcher without Next", `{"StartAt":"S","States":{"S":{` + task + `,"Catch":[{"ErrorEquals":["X"]}],"End":true}}}`, "S", "Catch[0].Next", "needs Next"},
		{"catcher to nowhere", `{"StartAt":"S","States":{"S":{` + task + `,"Catch":[{"ErrorEquals":["X"],"Next":"Nope"}],"End":true}}}`, "S", "Catch[0].Next", `"Nope"`},
		{"wildcard path", `{"StartAt":"S","States":{"S":{"Type":"Pass","InputPath":"$.a[*]","End":true}}}`, "S", "InputPath", "wildcards"},
		{"filter path", `{"StartAt":"S","States":{"S":{"Type":"Pass","OutputPath":"$.a[?(@.b)]","End":true}}}`, "S", "OutputPath", "filters"},
		{"recursive descent", `{"StartAt":"S","States":{"S":{"Type":"Pass","InputPath":"$..a","End":true}}}`, "S", "InputPath", "recursive"},
		{"ResultPath index", `{"StartAt":"S","States":{"S":{"Type":"Pass","ResultPath":"$.a[0]","End":true}}}`, "S", "ResultPath", "indexes"},
		{"path without $", `{"StartAt":"S","States":{"S":{"Type":"Pass","InputPath":"a.b","End":true}}}`, "S", "InputPath", "begin with $"},
		{"context object field not supplied", `{"StartAt":"S","States":{"S":{"Type":"Pass","Parameters":{"n.$":"$$.Task.Token"},"End":true}}}`, "S", "Parameters.n.$", "supplies only"},
		{"context object path below a leaf", `{"StartAt":"S","States":{"S":{"Type":"Pass","Parameters":{"n.$":"$$.Execution.Name.x"},"End":true}}}`, "S", "Parameters.n.$", "supplies only"},
		{"whole context object", `{"StartAt":"S","States":{"S":{"Type":"Pass","Parameters":{"n.$":"$$"},"End":true}}}`, "S", "Parameters.n.$", "supplies only"},
		{"context object path in InputPath", `{"StartAt":"S","States":{"S":{"Type":"Pass","InputPath":"$$.Execution.Input","End":true}}}`, "S", "InputPath", "context object"},
		{"context object path in ResultSelector", `{"StartAt":"S","States":{"S":{` + task + `,"ResultSelector":{"n.$":"$$.Execution.Name"},"End":true}}}`, "S", "ResultSelector.n.$", "Parameters only"},
		{"context object path in a Choice", `{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[{"Variable":"$$.Execution.Name","IsPresent":true,"Next":"S"}]},"S":{"Type":"Succeed"}}}`, "C", "Choices[0].Variable", "context object"},
		{"keys are case-sensitive", `{"StartAt":"S","States":{"S":{"Type":"Pass","end":true}}}`, "S", "end", "not supported"},
		{"null is not a value of Next", `{"StartAt":"S","States":{"S":{"Type":"Pass","Next":null,"End":true}}}`, "S", "Next", "must be a string"},
		{"MaxAttempts as a string", `{"StartAt":"S","States":{"S":{` + task + `,"Retry":[{"ErrorEquals":["X"],"MaxAttempts":"3"}],"End":true}}}`, "S", "Retry[0].MaxAttempts", "number"},
		{"retrier not an object", `{"StartAt":"S","States":{"S":{` + task + `,"Retry":[{"ErrorEquals":["X"]},3],"End":true}}}`, "S", "Retry[1]", "object"},
		{"retrier without ErrorEquals", `{"StartAt":"S","States":{"S":{` + task + `,"Retry":[{"MaxAttempts":1}],"End":true}}}`, "S", "Retry[0].ErrorEquals", "needs ErrorEquals"},
		{"empty ErrorEquals", `{"StartAt":"S","States":{"S":{` + task + `,"Catch":[{"ErrorEquals":[],"Next":"S"}],"End":true}}}`, "S", "Catch[0].ErrorEquals", "non-empty"},
		{"catcher ResultPath index", `{"StartAt":"S","States":{"S":{` + task + `,"Catch":[{"ErrorEquals":["X"],"ResultPath":"$.e[0]","Next":"S"}],"End":true}}}`, "S", "Catch[0].ResultPath", "indexes"},
		{"Wait SecondsPath not a path", `{"StartAt":"S","States":{"S":{"Type":"Wait","SecondsPath":5,"End":true}}}`, "S", "SecondsPath", "path string"},
		{"Wait Seconds null", `{"StartAt":"S","States":{"S":{"Type":"Wait","Seconds":null,"End":true}}}`, "S", "Seconds", "number"},
		{"Choice timestamp operand", `{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[{"Variable":"$.t","TimestampEquals":"2025-01-01 00:00:00Z","Next":"S"}]},"S":{"Type":"Succeed"}}}`, "C", "Choices[0].TimestampEquals", "RFC 3339"},
		{"Choice And empty", `{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[{"And":[],"Next":"S"}]},"S":{"Type":"Succeed"}}}`, "C", "Choices[0].And", "non-empty"},
		{"Choice And with Variable", `{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[{"Variable":"$.a","And":[{"Variable":"$.a","IsNull":true}],"Next":"S"}]},"S":{"Type":"Succeed"}}}`, "C", "Choices[0].Variable", "not allowed"},
		{"Choice nested rule error", `{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[{"Or":[{"Variable":"$.a","IsNull":true},{"Variable":"$.a","BooleanEquals":"yes"}],"Next":"S"}]},"S":{"Type":"Succeed"}}}`, "C", "Choices[0].Or[1].BooleanEquals", "true or false"},
		{"Choice comparison without Variable", `{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[{"IsNull":true,"Next":"S"}]},"S":{"Type":"Succeed"}}}`, "C", "Choices[0].Variable", "needs a Variable"},
		{"Choices empty", `{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[]}}}`, "C", "Choices", "non-empty"},
		{"Version", `{"Version":"2.0","StartAt":"S","States":{"S":{"Type":"Succeed"}}}`, "", "Version", "1.0"},
		{"States empty", `{"StartAt":"S","States":{}}`, "", "States", "non-empty"},
		{"state not an object", `{"StartAt":"S","States":{"S":[]}}`, "S", "", "object"},
		{"Fail Cause not a string", `{"StartAt":"S","States":{"S":{"Type":"Fail","Cause":1}}}`, "S", "Cause", "string"},
		{"state QueryLanguage", `{"StartAt":"S","States":{"S":{"Type":"Succeed","QueryLanguage":"JSONata"}}}`, "S", "QueryLanguage", "JSONPath"},
		{"intrinsic function", `{"StartAt":"S","States":{"S":{"Type":"Pass","Parameters":{"n.$":"States.Format('x{}', $.a)"},"End":true}}}`, "S", "Parameters.n.$", "intrinsic"},
		{"dynamic key in an array", `{"StartAt":"S","States":{"S":{"Type":"Pass","Parameters":{"l":[{"n.$":"$.a"}]},"End":true}}}`, "S", "Parameters.l", "inside an array"},
		{"nested template error", `{"StartAt":"S","States":{"S":{` + task + `,"ResultSelector":{"o":{"n.$":"$.a[1:2]"}},"End":true}}}`, "S", "ResultSelector.o.n.$", "slices"},
		{"Parameters not an object", `{"StartAt":"S","States":{"S":{"Type":"Pass","Parameters":[1],"End":true}}}`, "S", "Parameters", "object"},
		{"Next and End", `{"StartAt":"S","States":{"S":{"Type":"Pass","Next":"S","End":true}}}`, "S", "End", "not both"},
		{"End false", `{"StartAt":"S","States":{"S":{"Type":"Pass","End":false}}}`, "S", "End", "true"},
		{"neither Next nor End", `{"StartAt":"S","States":{"S":{"Type":"Pass"}}}`, "S", "", "Next or End"},
		{"Next to nowhere", `{"StartAt":"S","States":{"S":{"Type":"Pass","Next":"Nope"}}}`, "S", "Next", `"Nope"`},
		{"unreachable state", `{"StartAt":"S","States":{"S":{"Type":"Succeed"},"Lost":{"Type":"Succeed"}}}`, "Lost", "", "not reachable"},
		{"Wait with two times", `{"StartAt":"S","States":{"S":{"Type":"Wait","Seconds":1,"Timestamp":"2025-01-01T00:00:00Z","End":true}}}`, "S", "", "exactly one"},
		{"Wait negative Seconds", `{"StartAt":"S","States":{"S":{"Type":"Wait","Seconds":-1,"End":true}}}`, "S", "Seconds", "from 0"},
		{"Wait lowercase timestamp", `{"StartAt":"S","States":{"S":{"Type":"Wait","Timestamp":"2025-01-01t00:00:00z","End":true}}}`, "S", "Timestamp", "uppercase"},
		{"Choice StringMatches", `{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[{"Variable":"$.a","StringMatches":"x*","Next":"S"}]},"S":{"Type":"Succeed"}}}`, "C", "Choices[0].StringMatches", "not supported"},
		{"Choice unknown operator", `{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[{"Variable":"$.a","StringContains":"x","Next":"S"}]},"S":{"Type":"Succeed"}}}`, "C", "Choices[0].StringContains", "not a supported"},
		{"Choice two operators", `{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[{"Variable":"$.a","StringEquals":"x","IsPresent":true,"Next":"S"}]},"S":{"Type":"Succeed"}}}`, "C", "Choices[0]", "exactly one"},
		{"Choice rule without Next", `{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[{"Variable":"$.a","StringEquals":"x"}],"Default":"S"},"S":{"Type":"Succeed"}}}`, "C", "Choices[0]", "needs Next"},
		{"nested rule with Next", `{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[{"Not":{"Variable":"$.a","StringEquals":"x","Next":"S"},"Next":"S"}]},"S":{"Type":"Succeed"}}}`, "C", "Choices[0].Not.Next", "nested"},
		{"operand of the wrong type", `{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[{"Variable":"$.a","NumericEquals":"1","Next":"S"}]},"S":{"Type":"Succeed"}}}`, "C", "Choices[0].NumericEquals", "number"},
		{"Choice with Next", `{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[{"Variable":"$.a","IsNull":true,"Next":"S"}],"Next":"S"},"S":{"Type":"Succeed"}}}`, "C", "Next", "not supported"},
		{"Default to nowhere", `{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[{"Variable":"$.a","IsNull":true,"Next":"S"}],"Default":"Nope"},"S":{"Type":"Succeed"}}}`, "C", "Default", `"Nope"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.def, map[string]TaskFunc{fnARN: failWith(nil)}, NewVirtualClock(t0))
			var de *DefinitionError
			if !errors.As(err, &de) {
				t.Fatalf("New = %v, want a *DefinitionError", err)
			}
			if de.State != tt.wantState || de.Field != tt.wantField || !strings.Contains(de.Reason, tt.wantIn) {
				t.Errorf("got state %q field %q reason %q, want state %q field %q reason containing %q", de.State, de.Field, de.Reason, tt.wantState, tt.wantField, tt.wantIn)
			}
		})
	}
}

func TestNewAccepts(t *testing.T) {
	def := `{"Comment":"c","Version":"1.0","QueryLanguage":"JSONPath","StartAt":"T","States":{
		"T":{"Comment":"c","QueryLanguage":"JSONPath","Type":"Task","Resource":"` + fnARN + `","TimeoutSeconds":60,"HeartbeatSeconds":30,
			"Retry":[{"Comment":"c","ErrorEquals":["X"],"IntervalSeconds":1,"MaxAttempts":0,"BackoffRate":1,"MaxDelaySeconds":5,"JitterStrategy":"NONE"}],
			"Catch":[{"Comment":"c","ErrorEquals":["States.ALL"],"ResultPath":null,"Next":"F"}],"Next":"C"},
		"C":{"Type":"Choice","Comment":"c","Choices":[{"Comment":"c","Variable":"$['a']","IsPresent":true,"Next":"W"}],"Default":"S"},
		"W":{"Type":"Wait","Comment":"c","Seconds":0,"Next":"P"},
		"P":{"Type":"Pass","Comment":"c","End":true},
		"S":{"Type":"Succeed","Comment":"c"},
		"F":{"Type":"Fail","Comment":"c","Error":"E","Cause":"C"}}}`
	if _, err := New(def, map[string]TaskFunc{fnARN: failWith(nil)}, NewVirtualClock(t0)); err != nil {
		t.Fatalf("New: %v", err)
	}
}

func TestErrorMessages(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{&DefinitionError{State: "Plan", Field: "Retry[0].JitterStrategy", Reason: "FULL is not supported"},
			`state machine definition: state "Plan": field Retry[0].JitterStrategy: FULL is not supported`},
		{&DefinitionError{Field: "StartAt", Reason: "must name a state"}, `state machine definition: field StartAt: must name a state`},
		{&ExecutionAlreadyExistsError{Name: "inc-1"}, `execution already exists: "inc-1" is running with a different input`},
		{&ExecutionAlreadyExistsError{Name: "inc-1", Closed: true}, `execution already exists: "inc-1" has finished, and a finished execution's name cannot be started again`},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}

// TestComparisonsMatchOperators checks that the comparisons struct, which
// decodes a Choice rule's operator, has a field for each operator in the
// operators table and no other, typed by the operator's operand.
func TestComparisonsMatchOperators(t *testing.T) {
	typ := reflect.TypeFor[comparisons]()
	fields := map[string]bool{}
	for i := range typ.NumField() {
		f := typ.Field(i)
		fields[f.Name] = true
		op, ok := operators[f.Name]
		if !ok {
			t.Errorf("comparisons.%s is not in the operators table", f.Name)
			continue
		}
		want := map[operandKind]reflect.Type{
			kindString: reflect.TypeFor[*string](), kindNumber: reflect.TypeFor[*number](),
			kindBool: reflect.TypeFor[*bool](), kindTimestamp: reflect.TypeFor[*timestampDef](), kindTest: reflect.TypeFor[*bool](),
		}[op.kind]
		if op.fromPath {
			want = reflect.TypeFor[*pathDef]()
		}
		if f.Type != want {
			t.Errorf("comparisons.%s is a %s, want %s", f.Name, f.Type, want)
		}
	}
	for name := range operators {
		if !fields[name] {
			t.Errorf("operator %s has no field in comparisons", name)
		}
	}
}
