package health

import (
	"testing"
	"time"
)

// FuzzCondition parses conditions from the configuration's author and
// evaluates them on bodies from the endpoints, both untrusted in their
// way: nothing may panic, and a failure always says something.
func FuzzCondition(f *testing.F) {
	for _, ch := range DefaultConfig().Checks {
		for _, c := range ch.Conditions {
			f.Add(c, []byte(`{"status":"ok","queues":{"email":{"waiting":1500}}}`), 200)
		}
	}
	f.Add("[BODY].a[0].*[*] >= 1e3", []byte(`{"a":[{"x":[1,"2",null]}]}`), 200)
	f.Add("[BODY] == null", []byte("<html>"), 502)
	f.Fuzz(func(t *testing.T, text string, body []byte, status int) {
		c, err := ParseCondition(text)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("an empty parse error")
			}
			return
		}
		for _, failure := range c.Evaluate(&Response{Status: status, Body: body, Elapsed: time.Duration(len(body)) * time.Millisecond}) {
			if failure == "" {
				t.Fatalf("an empty failure for %q on %q", text, body)
			}
		}
	})
}
