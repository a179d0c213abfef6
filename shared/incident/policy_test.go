package incident

import (
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 3, 1, 3, 0, 0, 0, time.UTC)

// triaged marks the first episode's triage report gathered, so the tests
// of the escalation policy see no follow-up due.
var triaged = &TriageMark{}

// decided records the first episode's remediation decision (nothing to
// do), so the tests of the escalation policy see no follow-up due.
var decided = []Remediation{{Action: ActionNone, State: RemedyNone}}

func paged(levels ...int) []Page {
	p := DefaultPolicy()
	var out []Page
	for i, l := range levels {
		lv, _ := p.Level(l)
		out = append(out, Page{Level: l, LevelName: lv.Name, At: t0.Add(time.Duration(i) * 5 * time.Minute), State: PageSent})
	}
	return out
}

// open is an incident opened at t0 with the given pages (level i paged at
// t0 + 5m*(i-1)).
func open(sev Severity, st Status, pages ...int) Incident {
	inc := Incident{Severity: sev, Status: st, OpenedAt: t0, Service: "dashboarduz-api", Category: ServiceDown, Pages: paged(pages...), Triage: triaged, Remediations: decided}
	if st != Triggered {
		inc.AcknowledgedAt = t0.Add(2 * time.Minute)
	}
	return inc
}

func TestNext(t *testing.T) {
	p := DefaultPolicy()
	minutes := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	with := func(inc Incident, f func(*Incident)) Incident { f(&inc); return inc }
	tests := []struct {
		name string
		inc  Incident
		now  time.Time
		want Step
	}{
		{"new P0 pages on-call at once", open(P0, Triggered), t0,
			Step{Action: ActPage, Level: 1, LevelName: "on-call"}},
		{"P0 waits for the acknowledgement deadline", open(P0, Triggered, 1), minutes(1),
			Step{Action: ActWait, Until: minutes(5)}},
		{"P0 escalates to team lead at the deadline", open(P0, Triggered, 1), minutes(5),
			Step{Action: ActPage, Level: 2, LevelName: "team-lead"}},
		{"P0 reaches the CTO", open(P0, Triggered, 1, 2, 3), minutes(15),
			Step{Action: ActPage, Level: 4, LevelName: "cto"}},
		{"P0 after the CTO waits for the resolution target", open(P0, Triggered, 1, 2, 3, 4), minutes(20),
			Step{Action: ActWait, Until: minutes(60)}},
		{"P0 acknowledged waits for the 30-minute rule", open(P0, Acknowledged, 1), minutes(3),
			Step{Action: ActWait, Until: minutes(30)}},
		{"P0 unresolved at 30 minutes pages the team lead", open(P0, Acknowledged, 1), minutes(30),
			Step{Action: ActPage, Level: 2, LevelName: "team-lead"}},
		{"P0 acknowledged after team lead waits for its resolution target", open(P0, Acknowledged, 1, 2), minutes(31),
			Step{Action: ActWait, Until: minutes(60)}},
		{"P0 unresolved at 2 hours pages the engineering manager", open(P0, Acknowledged, 1, 2), minutes(120),
			Step{Action: ActPage, Level: 3, LevelName: "engineering-manager"}},
		{"P0 unresolved at 2 hours then the CTO", open(P0, Acknowledged, 1, 2, 3), minutes(120),
			Step{Action: ActPage, Level: 4, LevelName: "cto"}},
		{"P1 waits 15 minutes", open(P1, Triggered, 1), minutes(14),
			Step{Action: ActWait, Until: minutes(15)}},
		{"P1 acknowledged pages the team lead at 1 hour", open(P1, Acknowledged, 1), minutes(60),
			Step{Action: ActPage, Level: 2, LevelName: "team-lead"}},
		{"P1 unresolved at 2 hours pages the engineering manager", open(P1, Acknowledged, 1, 2), minutes(120),
			Step{Action: ActPage, Level: 3, LevelName: "engineering-manager"}},
		{"P1 never pages the CTO", open(P1, Triggered, 1, 2, 3), minutes(125),
			Step{Action: ActWait, Until: minutes(240)}},
		{"P2 waits an hour", open(P2, Triggered, 1), t0,
			Step{Action: ActWait, Until: minutes(60)}},
		{"P2 acknowledged waits only for its resolution target", open(P2, Acknowledged, 1), minutes(3),
			Step{Action: ActWait, Until: minutes(24 * 60)}},
		{"P3 waits four hours", open(P3, Triggered, 1), t0,
			Step{Action: ActWait, Until: minutes(4 * 60)}},
		{"P3 after its resolution target is done", with(open(P3, Acknowledged, 1), func(i *Incident) {
			i.Breaches = []Breach{{Target: TargetResolution, At: minutes(7 * 24 * 60)}}
		}), minutes(7*24*60 + 1), Step{Action: ActDone}},
		{"security pages the team lead at once", with(open(P2, Triggered, 1), func(i *Incident) { i.Category = Security }), t0,
			Step{Action: ActPage, Level: 2, LevelName: "team-lead"}},
		{"data loss pages on-call first", with(open(P1, Triggered), func(i *Incident) { i.Category = DataLoss }), t0,
			Step{Action: ActPage, Level: 1, LevelName: "on-call"}},
		{"a manual escalation pages at once", with(open(P3, Acknowledged, 1), func(i *Incident) {
			i.Escalations = []EscalationRequest{{Level: 3, LevelName: "engineering-manager", By: "oncall"}}
		}), minutes(10), Step{Action: ActPage, Level: 3, LevelName: "engineering-manager"}},
		{"maintenance holds the first page", open(P0, Triggered), t0,
			Step{Action: ActWait, Until: minutes(5), HeldBy: "mw-1"}},
		{"maintenance holds pages until it ends", with(open(P0, Triggered), func(i *Incident) {
			i.Breaches = []Breach{{Target: TargetResponse, At: minutes(5)}}
		}), minutes(5), Step{Action: ActWait, Until: minutes(30), HeldBy: "mw-1"}},
		{"acknowledged pages are passed on to PagerDuty", open(P0, Acknowledged, 1), minutes(3),
			Step{Action: ActSync}},
		{"resolved stops escalation", open(P0, Resolved), t0,
			Step{Action: ActDone}},
		{"a flapping re-opening pages nobody", with(open(P0, Triggered), func(i *Incident) {
			i.Episode, i.EpisodeStart, i.Flapping, i.FlappingEpisode = 3, t0, true, 2
		}), t0, Step{Action: ActWait, Until: minutes(5)}},
		{"a re-opened incident pages afresh", with(open(P1, Triggered, 1, 2), func(i *Incident) {
			i.Episode, i.EpisodeStart = 1, minutes(50)
		}), minutes(50), Step{Action: ActPage, Level: 1, LevelName: "on-call"}},
	}
	windows := map[string][]MaintenanceWindow{
		"maintenance holds the first page":      {{ID: "mw-1", Service: "dashboarduz-api", Start: minutes(-15), End: minutes(45)}},
		"maintenance holds pages until it ends": {{ID: "mw-1", Service: "dashboarduz-api", Start: minutes(-15), End: minutes(45)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inc := tt.inc
			if tt.want.Action != ActSync {
				for i := range inc.Pages {
					inc.Pages[i].Synced = Acknowledged
				}
			}
			got := Next(inc, p, tt.now, windows[tt.name])
			if got.Reason == "" {
				t.Errorf("Next gave no reason")
			}
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
			got := Next(Incident{Severity: s, Status: st, Pages: paged(1), Triage: triaged, Remediations: decided}, p, t0.Add(time.Hour), nil)
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
		{"missing severity", `{"levels":[{"name":"a"}],"severities":{"P0":{"acknowledgeWithin":"5m","resolveWithin":"1h","highestLevel":"a"}}}`, "P1 is not covered"},
		{"zero deadline", policyDoc(`"acknowledgeWithin":"0s","resolveWithin":"1h","highestLevel":"a"`, ""), "must be positive"},
		{"no resolution target", policyDoc(`"acknowledgeWithin":"5m","highestLevel":"a"`, ""), "resolveWithin must be positive"},
		{"unknown level", policyDoc(`"acknowledgeWithin":"5m","resolveWithin":"1h","highestLevel":"z"`, ""), "not a level"},
		{"unresolved rule out of order", policyDoc(`"acknowledgeWithin":"5m","resolveWithin":"1h","highestLevel":"c","unresolved":[{"after":"2h","level":"b"},{"after":"1h","level":"c"}]`, ""), "in order of time"},
		{"unresolved rule never reached", policyDoc(`"acknowledgeWithin":"5m","resolveWithin":"1h","highestLevel":"c","unresolved":[{"after":"1h","level":"c"},{"after":"2h","level":"b"}]`, ""), "never be reached"},
		{"unresolved rule for the first level", policyDoc(`"acknowledgeWithin":"5m","resolveWithin":"1h","highestLevel":"c","unresolved":[{"after":"1h","level":"a"}]`, ""), "never be reached"},
		{"immediate unknown category", policyDoc(`"acknowledgeWithin":"5m","resolveWithin":"1h","highestLevel":"c"`, `,"immediate":[{"category":"fire","level":"b"}]`), "category"},
		{"no flapping threshold", policyDoc(`"acknowledgeWithin":"5m","resolveWithin":"1h","highestLevel":"c"`, `,"flapping":{"threshold":0,"window":"1h"}`), "flapping"},
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

// policyDoc is a policy with levels a, b, c whose four severities all have
// the given settings, plus extra top-level fields.
func policyDoc(severity, extra string) string {
	sev := "{" + severity + "}"
	flapping := `,"flapping":{"threshold":3,"window":"1h"}`
	if strings.Contains(extra, "flapping") {
		flapping = ""
	}
	return `{"levels":[{"name":"a"},{"name":"b"},{"name":"c"}],"severities":{"P0":` + sev + `,"P1":` + sev + `,"P2":` + sev + `,"P3":` + sev + `}` + flapping + extra + `}`
}

func TestPolicyDocIsValid(t *testing.T) {
	if _, err := ParsePolicy([]byte(policyDoc(`"acknowledgeWithin":"5m","resolveWithin":"1h","highestLevel":"c","unresolved":[{"after":"1h","level":"b"}]`, `,"immediate":[{"category":"security","level":"b"}]`))); err != nil {
		t.Fatal(err)
	}
}

func TestCheckRoutingKeys(t *testing.T) {
	p := DefaultPolicy()
	keys := map[string]string{"on-call": "k1", "team-lead": "k2", "engineering-manager": "k3"}
	err := p.CheckRoutingKeys(keys)
	if err == nil || !strings.Contains(err.Error(), "cto") {
		t.Fatalf("err = %v, want it to name cto", err)
	}
	keys["cto"] = "k4"
	if err := p.CheckRoutingKeys(keys); err != nil {
		t.Fatal(err)
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
		Next(inc, p, t0.Add(time.Duration(i%20)*time.Minute), nil)
	}
}

func TestNextSkipsAnUndeliverablePage(t *testing.T) {
	p := DefaultPolicy()
	rejected := paged(1)
	rejected[0].State, rejected[0].Failure = PageRejected, "PagerDuty rejected the routing key"
	got := Next(Incident{Severity: P1, Status: Triggered, Pages: rejected}, p, t0, nil)
	if got.Action != ActPage || got.Level != 2 {
		t.Errorf("Next after a rejected page = %+v, want page level 2 at once", got)
	}
	top := paged(1, 2, 3)
	top[2].State, top[2].Failure = PageRejected, "no routing key"
	if got := Next(Incident{Severity: P1, Status: Triggered, Pages: top, Triage: triaged, Remediations: decided}, p, t0, nil); got.Action != ActDone {
		t.Errorf("Next after the highest level was rejected = %+v, want done", got)
	}
	none := paged(1, 2, 3)
	for i := range none {
		none[i].State, none[i].Failure = PageRejected, "invalid routing key"
	}
	if got := Next(Incident{Severity: P1, Status: Triggered, Pages: none}, p, t0, nil); got.Action != ActNobodyReached {
		t.Errorf("Next when no level could be paged = %+v, want nobody-reached", got)
	}
}

func TestNextAfterTheReview(t *testing.T) {
	p := DefaultPolicy()
	minutes := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	failed := func(inc Incident, levels ...int) Incident {
		for i := range inc.Pages {
			for _, l := range levels {
				if inc.Pages[i].Level == l {
					inc.Pages[i].State, inc.Pages[i].Failure = PageRejected, "invalid routing key"
				}
			}
		}
		return inc
	}

	// A level whose page failed can be asked for again once its key is
	// fixed, even when nobody at all could be reached.
	nobody := failed(open(P0, Triggered, 1, 2, 3, 4), 1, 2, 3, 4)
	if got := Next(nobody, p, minutes(20), nil); got.Action != ActNobodyReached {
		t.Fatalf("all levels failed: %+v, want nobody-reached", got)
	}
	req, err := nobody.RequestEscalation(p, "", "oncall@dashboarduz.example", "keys fixed", minutes(30))
	if err != nil || req.Level != 1 {
		t.Fatalf("escalation after nobody was reached = %+v, %v; want level 1", req, err)
	}
	if got := Next(nobody, p, minutes(30), nil); got.Action != ActPage || got.Level != 1 {
		t.Errorf("after the request: %+v, want page level 1", got)
	}
	// Naming a failed level works too; a delivered one is refused.
	mixed := failed(open(P2, Triggered, 1, 2), 2)
	if _, err := mixed.RequestEscalation(p, "team-lead", "lead@dashboarduz.example", "", minutes(11)); err != nil {
		t.Errorf("re-asking for the failed team lead: %v", err)
	}
	if _, err := mixed.RequestEscalation(p, "on-call", "lead@dashboarduz.example", "", minutes(11)); ErrorCode(err) != EConflict {
		t.Errorf("asking for the reached on-call: %v, want a conflict", err)
	}

	// A flapping episode pages nobody by itself, but a responder's request
	// goes out.
	flapping := open(P0, Triggered)
	flapping.Episode, flapping.EpisodeStart, flapping.Flapping, flapping.FlappingEpisode = 3, t0, true, 2
	if got := Next(flapping, p, t0, nil); got.Action != ActWait {
		t.Fatalf("flapping: %+v, want a wait", got)
	}
	if _, err := flapping.RequestEscalation(p, "", "oncall@dashboarduz.example", "again?", t0); err != nil {
		t.Fatal(err)
	}
	if got := Next(flapping, p, t0, nil); got.Action != ActPage || got.Level != 1 {
		t.Errorf("flapping with a request: %+v, want page level 1", got)
	}

	// A security incident acknowledged before its first page pages the
	// team lead, not on-call.
	sec := open(P1, Acknowledged)
	sec.Category = Security
	if got := Next(sec, p, t0, nil); got.Action != ActPage || got.Level != 2 {
		t.Errorf("acknowledged security incident: %+v, want page level 2 only", got)
	}

	// A due page goes before telling PagerDuty about an earlier episode's
	// resolution; the resolution follows.
	reopened := open(P1, Triggered, 1)
	reopened.Episode, reopened.EpisodeStart = 1, minutes(40)
	if got := Next(reopened, p, minutes(40), nil); got.Action != ActPage || got.Level != 1 {
		t.Errorf("re-opened with an unsynced page: %+v, want page level 1 first", got)
	}
	reopened.Pages = append(reopened.Pages, Page{Level: 1, LevelName: "on-call", At: minutes(40), Episode: 1, State: PageSent})
	if got := Next(reopened, p, minutes(40), nil); got.Action != ActSync {
		t.Errorf("then: %+v, want sync", got)
	}
	if got := PagesToSync(reopened); got[0] != Resolved || len(got) != 1 {
		t.Errorf("pages to sync = %v, want the first episode's page resolved", got)
	}
}
