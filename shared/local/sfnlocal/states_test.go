package sfnlocal

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestPassAndPaths(t *testing.T) {
	tests := []struct {
		name  string
		state string // the single state "S", ending the execution
		input string
		want  string // the execution's output
	}{
		{"pass through", `{"Type":"Pass","End":true}`, `{"a":1}`, `{"a":1}`},
		{"result replaces input", `{"Type":"Pass","Result":{"x":true},"End":true}`, `{"a":1}`, `{"x":true}`},
		{"result at ResultPath", `{"Type":"Pass","Result":{"x":true},"ResultPath":"$.r","End":true}`, `{"a":1}`, `{"a":1,"r":{"x":true}}`},
		{"ResultPath null discards the result", `{"Type":"Pass","Result":{"x":true},"ResultPath":null,"End":true}`, `{"a":1}`, `{"a":1}`},
		{"ResultPath creates objects", `{"Type":"Pass","Result":7,"ResultPath":"$.a.b.c","End":true}`, `{"a":{"x":1}}`, `{"a":{"x":1,"b":{"c":7}}}`},
		{"ResultPath overwrites a field", `{"Type":"Pass","Result":7,"ResultPath":"$.a","End":true}`, `{"a":{"x":1}}`, `{"a":7}`},
		{"ResultPath bracket name", `{"Type":"Pass","Result":7,"ResultPath":"$['a b']","End":true}`, `{}`, `{"a b":7}`},
		{"InputPath selects", `{"Type":"Pass","InputPath":"$.in","End":true}`, `{"in":{"v":1},"other":2}`, `{"v":1}`},
		{"InputPath index", `{"Type":"Pass","InputPath":"$.list[1]","End":true}`, `{"list":["a","b"]}`, `"b"`},
		{"InputPath null", `{"Type":"Pass","InputPath":null,"End":true}`, `{"a":1}`, `{}`},
		{"OutputPath selects", `{"Type":"Pass","OutputPath":"$.a.b","End":true}`, `{"a":{"b":[1,2]}}`, `[1,2]`},
		{"OutputPath null", `{"Type":"Pass","OutputPath":null,"End":true}`, `{"a":1}`, `{}`},
		{"Parameters", `{"Type":"Pass","Parameters":{"b.$":"$.a","c":"lit","n":{"d.$":"$['x y']","e":[1,{"f":2}]},"all.$":"$"},"End":true}`,
			`{"a":1,"x y":2}`, `{"b":1,"c":"lit","n":{"d":2,"e":[1,{"f":2}]},"all":{"a":1,"x y":2}}`},
		{"ResultPath combines with the raw input, not the InputPath",
			`{"Type":"Pass","InputPath":"$.in","Parameters":{"w.$":"$.v"},"ResultPath":"$.p","End":true}`,
			`{"in":{"v":1},"keep":true}`, `{"in":{"v":1},"keep":true,"p":{"w":1}}`},
		{"Result wins over Parameters", `{"Type":"Pass","Parameters":{"b.$":"$.a"},"Result":"r","ResultPath":"$.r","End":true}`, `{"a":1}`, `{"a":1,"r":"r"}`},
		{"numbers pass through exactly", `{"Type":"Pass","End":true}`, `{"big":12345678901234567890,"f":1.50}`, `{"big":12345678901234567890,"f":1.5}`},
		{"Succeed with paths", `{"Type":"Succeed","InputPath":"$.a","OutputPath":"$.b"}`, `{"a":{"b":"ok"}}`, `"ok"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			def := `{"StartAt":"S","States":{"S":` + tt.state + `}}`
			x := run(t, def, nil, tt.input)
			if x.Status != Succeeded {
				t.Fatalf("status = %s (%s: %s), want SUCCEEDED", x.Status, x.Error, x.Cause)
			}
			if !sameJSON(t, x.Output, tt.want) {
				t.Errorf("output = %s, want %s", x.Output, tt.want)
			}
		})
	}
}

func TestRuntimeErrors(t *testing.T) {
	tests := []struct {
		name      string
		state     string
		input     string
		wantError string
		wantCause []string
	}{
		{"InputPath selects nothing", `{"Type":"Pass","InputPath":"$.missing","End":true}`, `{"a":1}`,
			ErrRuntime, []string{"state 'S'", "'$.missing'", "'InputPath'", `{"a":1}`}},
		{"Parameters path selects nothing", `{"Type":"Pass","Parameters":{"b.$":"$.nope"},"End":true}`, `{}`,
			ErrRuntime, []string{"state 'S'", "'$.nope'", "'b.$'"}},
		{"OutputPath selects nothing", `{"Type":"Pass","OutputPath":"$.x","End":true}`, `{}`,
			ErrRuntime, []string{"'$.x'", "'OutputPath'"}},
		{"ResultPath through a non-object", `{"Type":"Pass","Result":1,"ResultPath":"$.a.b","End":true}`, `{"a":5}`,
			ErrRuntime, []string{"ResultPath '$.a.b'", "$.a is not an object"}},
		{"ResultPath into a non-object input", `{"Type":"Pass","Result":1,"ResultPath":"$.a","End":true}`, `[1]`,
			ErrRuntime, []string{"ResultPath '$.a'"}},
		{"Fail state", `{"Type":"Fail","Error":"Boom","Cause":"it broke"}`, `{}`, "Boom", []string{"it broke"}},
		{"output over 256 KiB", `{"Type":"Pass","End":true,"Result":"` + strings.Repeat("x", 300*1024) + `"}`, `{}`,
			ErrDataLimitExceeded, []string{"256 KiB"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			def := `{"StartAt":"S","States":{"S":` + tt.state + `}}`
			x := run(t, def, nil, tt.input)
			if x.Status != Failed || x.Error != tt.wantError {
				t.Fatalf("status, error = %s, %q, want FAILED, %q", x.Status, x.Error, tt.wantError)
			}
			for _, w := range tt.wantCause {
				if !strings.Contains(x.Cause, w) {
					t.Errorf("cause %q does not contain %q", x.Cause, w)
				}
			}
		})
	}
}

func TestTaskDataFlow(t *testing.T) {
	rec := &recorder{script: []reply{{out: `{"got":{"deep":42},"noise":true}`}}}
	def := `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"` + fnARN + `",
		"InputPath":"$.in","Parameters":{"id.$":"$.id","fixed":"f"},
		"ResultSelector":{"value.$":"$.got.deep"},"ResultPath":"$.res","OutputPath":"$.res",
		"TimeoutSeconds":60,"HeartbeatSeconds":10,"End":true}}}`
	x := run(t, def, map[string]TaskFunc{fnARN: rec.fn}, `{"in":{"id":"inc-1"}}`)
	if x.Status != Succeeded {
		t.Fatalf("status = %s (%s: %s)", x.Status, x.Error, x.Cause)
	}
	if len(rec.calls) != 1 || !sameJSON(t, []byte(rec.calls[0].input), `{"id":"inc-1","fixed":"f"}`) {
		t.Errorf("task input = %v, want one call with {\"id\":\"inc-1\",\"fixed\":\"f\"}", rec.calls)
	}
	if !sameJSON(t, x.Output, `{"value":42}`) {
		t.Errorf("output = %s, want {\"value\":42}", x.Output)
	}
}

func TestTaskNullResult(t *testing.T) {
	f := func(context.Context, json.RawMessage) (json.RawMessage, error) { return nil, nil }
	def := `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"` + fnARN + `","ResultPath":"$.r","End":true}}}`
	x := run(t, def, map[string]TaskFunc{fnARN: f}, `{"a":1}`)
	if x.Status != Succeeded || !sameJSON(t, x.Output, `{"a":1,"r":null}`) {
		t.Errorf("status, output = %s, %s, want SUCCEEDED, {\"a\":1,\"r\":null}", x.Status, x.Output)
	}
}

func TestChoice(t *testing.T) {
	tests := []struct {
		name  string
		rule  string // a Choice rule without Next
		input string
		want  string // "yes", "no", or an error name
	}{
		{"StringEquals match", `"Variable":"$.s","StringEquals":"page"`, `{"s":"page"}`, "yes"},
		{"StringEquals no match", `"Variable":"$.s","StringEquals":"page"`, `{"s":"wait"}`, "no"},
		{"StringEquals on a number is false", `"Variable":"$.s","StringEquals":"1"`, `{"s":1}`, "no"},
		{"StringLessThan", `"Variable":"$.s","StringLessThan":"b"`, `{"s":"a"}`, "yes"},
		{"StringGreaterThanEquals", `"Variable":"$.s","StringGreaterThanEquals":"b"`, `{"s":"b"}`, "yes"},
		{"StringEqualsPath", `"Variable":"$.s","StringEqualsPath":"$.t"`, `{"s":"x","t":"x"}`, "yes"},
		{"StringEqualsPath differs", `"Variable":"$.s","StringEqualsPath":"$.t"`, `{"s":"x","t":"y"}`, "no"},
		{"StringEqualsPath missing", `"Variable":"$.s","StringEqualsPath":"$.t"`, `{"s":"x"}`, ErrRuntime},
		{"NumericEquals", `"Variable":"$.n","NumericEquals":2`, `{"n":2.0}`, "yes"},
		{"NumericEquals on a string is false", `"Variable":"$.n","NumericEquals":2`, `{"n":"2"}`, "no"},
		{"NumericLessThan", `"Variable":"$.n","NumericLessThan":2`, `{"n":1.5}`, "yes"},
		{"NumericLessThan equal", `"Variable":"$.n","NumericLessThan":2`, `{"n":2}`, "no"},
		{"NumericGreaterThan", `"Variable":"$.n","NumericGreaterThan":2`, `{"n":3}`, "yes"},
		{"NumericGreaterThanEquals", `"Variable":"$.n","NumericGreaterThanEquals":2`, `{"n":2}`, "yes"},
		{"NumericLessThanEqualsPath", `"Variable":"$.n","NumericLessThanEqualsPath":"$.m"`, `{"n":2,"m":2}`, "yes"},
		{"BooleanEquals", `"Variable":"$.b","BooleanEquals":false`, `{"b":false}`, "yes"},
		{"BooleanEquals on a string is false", `"Variable":"$.b","BooleanEquals":true`, `{"b":"true"}`, "no"},
		{"IsPresent true", `"Variable":"$.a.b","IsPresent":true`, `{"a":{"b":null}}`, "yes"},
		{"IsPresent on a missing path", `"Variable":"$.a.b","IsPresent":true`, `{}`, "no"},
		{"IsPresent false", `"Variable":"$.a","IsPresent":false`, `{}`, "yes"},
		{"IsNull", `"Variable":"$.a","IsNull":true`, `{"a":null}`, "yes"},
		{"IsNull not null", `"Variable":"$.a","IsNull":true`, `{"a":0}`, "no"},
		{"IsString", `"Variable":"$.a","IsString":true`, `{"a":"x"}`, "yes"},
		{"IsNumeric", `"Variable":"$.a","IsNumeric":true`, `{"a":"1"}`, "no"},
		{"IsBoolean", `"Variable":"$.a","IsBoolean":true`, `{"a":true}`, "yes"},
		{"IsTimestamp", `"Variable":"$.a","IsTimestamp":true`, `{"a":"2025-03-14T01:00:00Z"}`, "yes"},
		{"IsTimestamp lowercase", `"Variable":"$.a","IsTimestamp":true`, `{"a":"2025-03-14t01:00:00z"}`, "no"},
		{"TimestampLessThan", `"Variable":"$.t","TimestampLessThan":"2025-03-14T01:00:00Z"`, `{"t":"2025-03-14T00:59:59.5Z"}`, "yes"},
		{"TimestampLessThan with offset", `"Variable":"$.t","TimestampLessThan":"2025-03-14T01:00:00Z"`, `{"t":"2025-03-14T01:30:00+01:00"}`, "yes"},
		{"TimestampGreaterThan", `"Variable":"$.t","TimestampGreaterThan":"2025-03-14T01:00:00Z"`, `{"t":"2025-03-14T01:00:00Z"}`, "no"},
		{"TimestampGreaterThanEquals", `"Variable":"$.t","TimestampGreaterThanEquals":"2025-03-14T01:00:00Z"`, `{"t":"2025-03-14T01:00:00Z"}`, "yes"},
		{"TimestampEquals on garbage is false", `"Variable":"$.t","TimestampEquals":"2025-03-14T01:00:00Z"`, `{"t":"soon"}`, "no"},
		{"TimestampLessThanPath", `"Variable":"$.t","TimestampLessThanPath":"$.u"`, `{"t":"2025-01-01T00:00:00Z","u":"2025-01-02T00:00:00Z"}`, "yes"},
		{"missing Variable is a runtime error", `"Variable":"$.missing","StringEquals":"x"`, `{}`, ErrRuntime},
		{"And", `"And":[{"Variable":"$.a","NumericGreaterThan":1},{"Variable":"$.a","NumericLessThan":3}]`, `{"a":2}`, "yes"},
		{"And fails", `"And":[{"Variable":"$.a","NumericGreaterThan":1},{"Variable":"$.a","NumericLessThan":3}]`, `{"a":3}`, "no"},
		{"Or", `"Or":[{"Variable":"$.a","StringEquals":"x"},{"Variable":"$.a","StringEquals":"y"}]`, `{"a":"y"}`, "yes"},
		{"Or stops at the first match", `"Or":[{"Variable":"$.a","IsPresent":true},{"Variable":"$.b","StringEquals":"y"}]`, `{"a":1}`, "yes"},
		{"Not", `"Not":{"Variable":"$.a","StringEquals":"x"}`, `{"a":"y"}`, "yes"},
		{"nested", `"Not":{"Or":[{"Variable":"$.a","IsPresent":false},{"And":[{"Variable":"$.a","IsNumeric":true},{"Variable":"$.a","NumericEquals":0}]}]}`, `{"a":5}`, "yes"},
		{"Comment in a rule", `"Comment":"why","Variable":"$.s","StringEquals":"page"`, `{"s":"page"}`, "yes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			def := `{"StartAt":"C","States":{
				"C":{"Type":"Choice","Choices":[{` + tt.rule + `,"Next":"Yes"}],"Default":"No"},
				"Yes":{"Type":"Pass","Result":"yes","End":true},
				"No":{"Type":"Pass","Result":"no","End":true}}}`
			x := run(t, def, nil, tt.input)
			got := x.Error
			if x.Status == Succeeded {
				if err := json.Unmarshal(x.Output, &got); err != nil {
					t.Fatal(err)
				}
			}
			if got != tt.want {
				t.Errorf("got %q (cause %q), want %q", got, x.Cause, tt.want)
			}
		})
	}
}

func TestChoiceFirstMatchAndNoMatch(t *testing.T) {
	def := `{"StartAt":"C","States":{
		"C":{"Type":"Choice","InputPath":"$.in","OutputPath":"$.v","Choices":[
			{"Variable":"$.v","NumericGreaterThan":0,"Next":"A"},
			{"Variable":"$.v","NumericGreaterThan":1,"Next":"B"}]},
		"A":{"Type":"Pass","Result":"A","ResultPath":"$","End":true},
		"B":{"Type":"Pass","Result":"B","End":true}}}`
	x := run(t, def, nil, `{"in":{"v":5}}`)
	if x.Status != Succeeded || string(x.Output) != `"A"` {
		t.Errorf("status, output = %s, %s, want SUCCEEDED, \"A\"", x.Status, x.Output)
	}
	if got := x.History[len(x.History)-4]; got.Type != StateExited || string(got.Output) != `5` {
		t.Errorf("Choice exit = %v with output %s, want StateExited with 5 (InputPath then OutputPath)", got, got.Output)
	}
	x = run(t, def, nil, `{"in":{"v":0}}`)
	if x.Status != Failed || x.Error != ErrNoChoiceMatched {
		t.Errorf("status, error = %s, %s, want FAILED, %s", x.Status, x.Error, ErrNoChoiceMatched)
	}
}

func TestWait(t *testing.T) {
	tests := []struct {
		name     string
		wait     string
		input    string
		wantWake time.Duration // after t0; the Wait's exit time
		wantErr  string
	}{
		{"Seconds", `"Seconds":90`, `{}`, 90 * time.Second, ""},
		{"Seconds zero", `"Seconds":0`, `{}`, 0, ""},
		{"SecondsPath", `"SecondsPath":"$.d"`, `{"d":300}`, 5 * time.Minute, ""},
		{"SecondsPath negative", `"SecondsPath":"$.d"`, `{"d":-1}`, 0, ErrRuntime},
		{"SecondsPath fraction", `"SecondsPath":"$.d"`, `{"d":1.5}`, 0, ErrRuntime},
		{"SecondsPath missing", `"SecondsPath":"$.d"`, `{}`, 0, ErrRuntime},
		{"Timestamp", `"Timestamp":"2025-03-14T02:00:00Z"`, `{}`, time.Hour, ""},
		{"Timestamp in the past", `"Timestamp":"2020-01-01T00:00:00Z"`, `{}`, 0, ""},
		{"TimestampPath truncates to the second", `"TimestampPath":"$.until"`, `{"until":"2025-03-14T01:05:00.900Z"}`, 5 * time.Minute, ""},
		{"TimestampPath with offset", `"TimestampPath":"$.until"`, `{"until":"2025-03-14T03:00:00+02:00"}`, 0, ""},
		{"TimestampPath not a timestamp", `"TimestampPath":"$.until"`, `{"until":"tomorrow"}`, 0, ErrRuntime},
		{"TimestampPath not a string", `"TimestampPath":"$.until"`, `{"until":5}`, 0, ErrRuntime},
		{"InputPath then TimestampPath", `"InputPath":"$.step","TimestampPath":"$.until"`, `{"step":{"until":"2025-03-14T01:00:10Z"}}`, 10 * time.Second, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			def := `{"StartAt":"W","States":{"W":{"Type":"Wait",` + tt.wait + `,"Next":"Done"},"Done":{"Type":"Succeed"}}}`
			clock := NewVirtualClock(t0)
			e, err := New(def, nil, clock)
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			if err := e.Start(ctx, "x", json.RawMessage(tt.input)); err != nil {
				t.Fatal(err)
			}
			if err := e.RunReady(ctx); err != nil {
				t.Fatal(err)
			}
			if !clock.Now().Equal(t0) {
				t.Fatalf("RunReady moved the clock to %s", clock.Now())
			}
			if tt.wantErr != "" {
				x, _ := e.Execution("x")
				if x.Status != Failed || x.Error != tt.wantErr || !strings.Contains(x.Cause, "state 'W'") {
					t.Fatalf("status, error, cause = %s, %s, %q, want FAILED, %s naming W", x.Status, x.Error, x.Cause, tt.wantErr)
				}
				return
			}
			if tt.wantWake > 0 {
				x, _ := e.Execution("x")
				if x.Status != Running || x.State != "W" || !x.Wake.Equal(t0.Add(tt.wantWake)) {
					t.Fatalf("after RunReady: status %s state %q wake %s, want RUNNING in W until %s", x.Status, x.State, x.Wake, t0.Add(tt.wantWake))
				}
			}
			if err := e.RunUntil(ctx, t0.Add(2*time.Hour)); err != nil {
				t.Fatal(err)
			}
			x, _ := e.Execution("x")
			if x.Status != Succeeded {
				t.Fatalf("status = %s (%s), want SUCCEEDED", x.Status, x.Cause)
			}
			exit := x.History[2] // Started, Entered W, Exited W
			if exit.Type != StateExited || exit.State != "W" || !exit.Time.Equal(t0.Add(tt.wantWake)) {
				t.Errorf("Wait exit = %v, want StateExited W at +%s", exit, tt.wantWake)
			}
		})
	}
}

func TestContextCancelled(t *testing.T) {
	e, err := New(`{"StartAt":"S","States":{"S":{"Type":"Pass","End":true}}}`, nil, NewVirtualClock(t0))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := e.Start(ctx, "x", nil); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := e.RunReady(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("RunReady = %v, want context.Canceled", err)
	}
	if x, _ := e.Execution("x"); x.Status != Running {
		t.Errorf("status = %s, want RUNNING", x.Status)
	}
}

func TestDecodeJSON(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{
		{`{"a":1}`, true},
		{` [1, 2] `, true},
		{`{}x`, false},
		{`{} {}`, false},
		{``, false},
	}
	for _, tt := range tests {
		if _, err := decodeJSON([]byte(tt.in)); (err == nil) != tt.ok {
			t.Errorf("decodeJSON(%q) error = %v, want ok %v", tt.in, err, tt.ok)
		}
	}
}
