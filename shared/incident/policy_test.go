package incident

import (
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 3, 1, 3, 0, 0, 0, time.UTC)

func paged(levels ...int) []Page {
	p := DefaultPolicy()
	var out []Page
	for i, l := range levels {
		lv, _ := p.Level(l)
		out = append(out, Page{Level: l, LevelName: lv.Name, At: t0.Add(time.Duration(i) * 5 * time.Minute)})
	}
	return out
}

func TestNext(t *testing.T) {
	p := DefaultPolicy()
	tests := []struct {
		name string
		inc  Incident
		now  time.Time
		want Step
	}{
		{"new P0 pages on-call at once", Incident{Severity: P0, Status: Triggered}, t0,
			Step{Action: ActPage, Level: 1, LevelName: "on-call"}},
		{"P0 waits for the acknowledgement deadline", Incident{Severity: P0, Status: Triggered, Pages: paged(1)}, t0.Add(time.Minute),
			Step{Action: ActWait, Until: t0.Add(5 * time.Minute)}},
		{"P0 escalates to team lead at the deadline", Incident{Severity: P0, Status: Triggered, Pages: paged(1)}, t0.Add(5 * time.Minute),
			Step{Action: ActPage, Level: 2, LevelName: "team-lead"}},
		{"P0 reaches the CTO", Incident{Severity: P0, Status: Triggered, Pages: paged(1, 2, 3)}, t0.Add(15 * time.Minute),
			Step{Action: ActPage, Level: 4, LevelName: "cto"}},
		{"P0 path ends after the CTO", Incident{Severity: P0, Status: Triggered, Pages: paged(1, 2, 3, 4)}, t0.Add(20 * time.Minute),
			Step{Action: ActDone}},
		{"P1 waits 15 minutes", Incident{Severity: P1, Status: Triggered, Pages: paged(1)}, t0.Add(14 * time.Minute),
			Step{Action: ActWait, Until: t0.Add(15 * time.Minute)}},
		{"P1 never pages the CTO", Incident{Severity: P1, Status: Triggered, Pages: paged(1, 2, 3)}, t0.Add(2 * time.Hour),
			Step{Action: ActDone}},
		{"P2 waits an hour", Incident{Severity: P2, Status: Triggered, Pages: paged(1)}, t0,
			Step{Action: ActWait, Until: t0.Add(time.Hour)}},
		{"P3 waits four hours", Incident{Severity: P3, Status: Triggered, Pages: paged(1)}, t0,
			Step{Action: ActWait, Until: t0.Add(4 * time.Hour)}},
		{"acknowledged stops escalation", Incident{Severity: P0, Status: Acknowledged, Pages: paged(1)}, t0.Add(time.Hour),
			Step{Action: ActDone}},
		{"resolved stops escalation", Incident{Severity: P0, Status: Resolved}, t0,
			Step{Action: ActDone}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Next(tt.inc, p, tt.now)
			got.Reason = ""
			if got != tt.want {
				t.Errorf("Next = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestNextAlwaysGivesAReason(t *testing.T) {
	p := DefaultPolicy()
	for _, s := range Severities {
		for _, st := range Statuses {
			got := Next(Incident{Severity: s, Status: st, Pages: paged(1)}, p, t0.Add(time.Hour))
			if got.Reason == "" {
				t.Errorf("Next(%s, %s) has no reason", s, st)
			}
		}
	}
}

func TestParsePolicy(t *testing.T) {
	tests := []struct {
		name, doc, wantErr string
	}{
		{"unknown field", `{"levels":[{"name":"a"}],"severities":{},"extra":1}`, "unknown field"},
		{"no levels", `{"levels":[],"severities":{}}`, "no levels"},
		{"duplicate level", `{"levels":[{"name":"a"},{"name":"a"}],"severities":{}}`, "twice"},
		{"missing severity", `{"levels":[{"name":"a"}],"severities":{"P0":{"acknowledgeWithin":"5m","highestLevel":"a"}}}`, "P1 is not covered"},
		{"zero deadline", `{"levels":[{"name":"a"}],"severities":{"P0":{"acknowledgeWithin":"0s","highestLevel":"a"},"P1":{"acknowledgeWithin":"5m","highestLevel":"a"},"P2":{"acknowledgeWithin":"5m","highestLevel":"a"},"P3":{"acknowledgeWithin":"5m","highestLevel":"a"}}}`, "must be positive"},
		{"unknown level", `{"levels":[{"name":"a"}],"severities":{"P0":{"acknowledgeWithin":"5m","highestLevel":"b"},"P1":{"acknowledgeWithin":"5m","highestLevel":"a"},"P2":{"acknowledgeWithin":"5m","highestLevel":"a"},"P3":{"acknowledgeWithin":"5m","highestLevel":"a"}}}`, "not a level"},
		{"bad duration", `{"levels":[{"name":"a"}],"severities":{"P0":{"acknowledgeWithin":"soon","highestLevel":"a"}}}`, "invalid duration"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParsePolicy([]byte(tt.doc))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
			}
			if ErrorCode(err) != EInvalid {
				t.Errorf("code = %q, want %q", ErrorCode(err), EInvalid)
			}
		})
	}
}

func TestDefaultPolicyIsTheRunbooks(t *testing.T) {
	p := DefaultPolicy()
	var names []string
	for _, l := range p.Levels {
		names = append(names, l.Name)
	}
	if got, want := strings.Join(names, ","), "on-call,team-lead,engineering-manager,cto"; got != want {
		t.Errorf("levels = %s, want %s", got, want)
	}
	want := map[Severity]time.Duration{P0: 5 * time.Minute, P1: 15 * time.Minute, P2: time.Hour, P3: 4 * time.Hour}
	for s, d := range want {
		if got := p.Severities[s].AcknowledgeWithin.D(); got != d {
			t.Errorf("%s acknowledgeWithin = %s, want %s", s, got, d)
		}
		// The runbook's response time is the deadline, except P0's
		// "Immediate", which needs a real deadline to escalate at.
		if s != P0 && s.ResponseTime() != d {
			t.Errorf("%s deadline %s differs from the runbook's response time %s", s, d, s.ResponseTime())
		}
	}
	if p.Severities[P0].HighestLevel != "cto" || p.Severities[P1].HighestLevel == "cto" {
		t.Errorf("only P0 may reach the CTO: %+v", p.Severities)
	}
}

func BenchmarkNext(b *testing.B) {
	p := DefaultPolicy()
	inc := Incident{Severity: P0, Status: Triggered, Pages: paged(1, 2)}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		Next(inc, p, t0.Add(time.Duration(i%20)*time.Minute))
	}
}

func TestNextSkipsAnUndeliverablePage(t *testing.T) {
	p := DefaultPolicy()
	rejected := paged(1)
	rejected[0].Failure = "PagerDuty rejected the routing key"
	got := Next(Incident{Severity: P1, Status: Triggered, Pages: rejected}, p, t0)
	if got.Action != ActPage || got.Level != 2 {
		t.Errorf("Next after a rejected page = %+v, want page level 2 at once", got)
	}
	top := paged(1, 2, 3)
	top[2].Failure = "no routing key"
	if got := Next(Incident{Severity: P1, Status: Triggered, Pages: top}, p, t0); got.Action != ActDone {
		t.Errorf("Next after the highest level was rejected = %+v, want done", got)
	}
	none := paged(1, 2, 3)
	for i := range none {
		none[i].Failure = "invalid routing key"
	}
	if got := Next(Incident{Severity: P1, Status: Triggered, Pages: none}, p, t0); got.Action != ActNobodyReached {
		t.Errorf("Next when no level could be paged = %+v, want nobody-reached", got)
	}
}
