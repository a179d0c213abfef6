package health

import (
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestParseConditionRefuses(t *testing.T) {
	tests := []struct{ text, want string }{
		{"[STATUS]==200", "is not <placeholder> <operator> <value>"},
		{"[STATUS] == ", "is not <placeholder> <operator> <value>"},
		{"200 == [STATUS]", `"200" is not [STATUS], [RESPONSE_TIME] or [BODY]`},
		{"[STATUS] =~ 200", "is not <placeholder> <operator> <value>"},
		{"[CODE] == 200", `"[CODE]" is not [STATUS], [RESPONSE_TIME] or [BODY]`},
		{"[STATUS] == ok", "[STATUS] compares with an HTTP status code"},
		{"[STATUS] == 2000", "[STATUS] compares with an HTTP status code"},
		{"[RESPONSE_TIME] < fast", "[RESPONSE_TIME] compares with a duration"},
		{"[RESPONSE_TIME] < -1s", "[RESPONSE_TIME] compares with a duration"},
		{"[BODY].queues.*.waiting < many", `< needs a number on its right, not "many"`},
		{`[BODY].count > "5"`, `> needs a number on its right`},
		{"[BODY]..status == ok", "empty key"},
		{"[BODY].items[x] == 1", "index [x] is not a number or *"},
		{"[BODY].items[0 == 1", "[ without ]"},
		{"[BODY]status == ok", "must go on with . or ["},
		{`[BODY].status == "ok`, "not a well-formed quoted string"},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			_, err := ParseCondition(tt.text)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("ParseCondition(%q) = %v, want an error containing %q", tt.text, err, tt.want)
			}
			if !strings.Contains(err.Error(), strconv.Quote(tt.text)) {
				t.Errorf("error %q does not quote the condition", err)
			}
		})
	}
}

func TestParseConditionPaths(t *testing.T) {
	c, err := ParseCondition("[BODY].data[0].queues.*.jobs[*].waiting >= 10")
	if err != nil {
		t.Fatal(err)
	}
	want := []step{{key: "data"}, {index: 0, isIndex: true}, {key: "queues"}, {key: "*", wildcard: true}, {key: "jobs"}, {wildcard: true}, {key: "waiting"}}
	if !reflect.DeepEqual(c.path, want) || c.op != ">=" || c.num != 10 {
		t.Errorf("got %+v", c)
	}
	if got := renderPath(c.path); got != ".data[0].queues.*.jobs[*].waiting" {
		t.Errorf("renderPath = %s", got)
	}
	c, err = ParseCondition("[BODY].message == all systems go")
	if err != nil || c.right != "all systems go" {
		t.Errorf("a value with spaces: %+v, %v", c, err)
	}
	c, err = ParseCondition("  [RESPONSE_TIME]\t<   1500  ")
	if err != nil || c.dur != 1500*time.Millisecond {
		t.Errorf("milliseconds and tabs: %+v, %v", c, err)
	}
}

func TestEvaluate(t *testing.T) {
	queues := `{"status":"ok","queues":{"email":{"waiting":1500,"active":2},"exports":{"waiting":"12"},"webhooks":{"waiting":999}}}`
	tests := []struct {
		name      string
		condition string
		status    int
		body      string
		elapsed   time.Duration
		want      []string // nil when the condition holds
	}{
		{"status holds", "[STATUS] == 200", 200, "", 0, nil},
		{"status fails", "[STATUS] == 200", 503, "", 0, []string{"[STATUS] is 503, want == 200"}},
		{"status below", "[STATUS] < 500", 404, "", 0, nil},
		{"response time holds", "[RESPONSE_TIME] < 2s", 200, "", 1500 * time.Millisecond, nil},
		{"response time fails", "[RESPONSE_TIME] < 2s", 200, "", 2400 * time.Millisecond, []string{"[RESPONSE_TIME] is 2.4s, want < 2s"}},
		{"body text holds", "[BODY].status == ok", 200, `{"status":"ok"}`, 0, nil},
		{"body quoted text", `[BODY].status == "ok"`, 200, `{"status":"ok"}`, 0, nil},
		{"body text fails", "[BODY].status == ok", 200, `{"status":"degraded"}`, 0, []string{`[BODY].status is "degraded", want == ok`}},
		{"body not JSON", "[BODY].status == ok", 502, "<!DOCTYPE html>\n<html><body><h1>502 Bad Gateway</h1></body></html>", 0,
			[]string{`[BODY].status: the body is not JSON (text/html, 66 bytes, starting "<!DOCTYPE html> <html><body><h1>502 Bad ...")`}},
		{"two JSON values", "[BODY].status == ok", 200, `{"status":"ok"}{"status":"ok"}`, 0, []string{"[BODY].status: the body is not JSON"}},
		{"missing key", "[BODY].status == ok", 200, `{"state":"ok"}`, 0, []string{"[BODY].status is missing"}},
		{"wildcard names the failing queue", "[BODY].queues.*.waiting < 1000", 200, queues, 0, []string{"[BODY].queues.email.waiting is 1500, want < 1000"}},
		{"wildcard all pass", "[BODY].queues.*.waiting < 2000", 200, queues, 0, nil},
		{"wildcard over nothing holds", "[BODY].queues.*.waiting < 1000", 200, `{"queues":{}}`, 0, nil},
		{"wildcard on a number", "[BODY].queues.*.waiting < 1000", 200, `{"queues":7}`, 0, []string{"[BODY].queues is a number, not an object or array"}},
		{"wildcard over an array", "[BODY].queues[*].waiting <= 10", 200, `{"queues":[{"waiting":3},{"waiting":11},{"name":"x"}]}`, 0,
			[]string{"[BODY].queues[1].waiting is 11, want <= 10", "[BODY].queues[2].waiting is missing"}},
		{"wildcard reports at most three", "[BODY].q.* == 0", 200, `{"q":{"a":1,"b":2,"c":3,"d":4,"e":5}}`, 0,
			[]string{"[BODY].q.a is 1, want == 0", "[BODY].q.b is 2, want == 0", "[BODY].q.c is 3, want == 0", "and 2 more elements fail [BODY].q.* == 0"}},
		{"index", "[BODY].items[1] == b", 200, `{"items":["a","b"]}`, 0, nil},
		{"index out of range", "[BODY].items[5] == b", 200, `{"items":["a","b"]}`, 0, []string{"[BODY].items[5] is missing (the array has 2 items)"}},
		{"number as text", "[BODY].count > 3", 200, `{"count":"5"}`, 0, nil},
		{"text not a number", "[BODY].count > 3", 200, `{"count":"many"}`, 0, []string{`[BODY].count is "many", not a number: want > 3`}},
		{"number equality", "[BODY].count == 5", 200, `{"count":5.0}`, 0, nil},
		{"boolean", "[BODY].healthy == true", 200, `{"healthy":false}`, 0, []string{"[BODY].healthy is false, want == true"}},
		{"null", "[BODY].error == null", 200, `{"error":null}`, 0, nil},
		{"object is no value", "[BODY].queues == 1", 200, queues, 0, []string{"[BODY].queues is an object, not a value to compare: want == 1"}},
		{"not equal", "[BODY].status != down", 200, `{"status":"ok"}`, 0, nil},
		{"root", "[BODY] == pong", 200, `"pong"`, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseCondition(tt.condition)
			if err != nil {
				t.Fatal(err)
			}
			ct := "application/json"
			if strings.HasPrefix(tt.body, "<") {
				ct = "text/html"
			}
			got := c.Evaluate(&Response{Status: tt.status, Body: []byte(tt.body), ContentType: ct, Elapsed: tt.elapsed})
			if len(got) != len(tt.want) {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
			for i := range got {
				if !strings.HasPrefix(got[i], tt.want[i]) {
					t.Errorf("failure %d = %q, want %q", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestEvaluateTruncatedBody(t *testing.T) {
	c, _ := ParseCondition("[BODY].status == ok")
	got := c.Evaluate(&Response{Status: 200, Body: []byte(`{"status":"ok"`), Truncated: true})
	if len(got) != 1 || !strings.Contains(got[0], "larger than the 14 bytes a check reads") {
		t.Errorf("got %q", got)
	}
}
