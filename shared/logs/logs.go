// Package logs adapts CloudWatch Logs to triage: it reads the newest
// error lines of a service's log group with FilterLogEvents, bounded in
// count, bytes and calls, with secret-looking strings redacted (Redact)
// before anything leaves the package.
//
// FilterLogEvents returns the oldest events first, so the newest lines of
// a busy group would take many pages to reach. The reader searches the
// window backwards in slices (the last minute, the last five, the rest)
// and stops as soon as it has enough lines.
package logs

import (
	"context"
	"fmt"
	"sort"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"

	"github.com/dashboarduz/incident-response/shared/awserr"
	"github.com/dashboarduz/incident-response/shared/incident"
)

// ErrorPattern is the filter pattern for error lines: any line holding
// one of the words applications log errors with.
const ErrorPattern = "?ERROR ?Error ?error ?FATAL ?Fatal ?panic ?Exception ?Traceback"

// FilterLogEventsAPI is the part of the CloudWatch Logs client the reader
// uses; *cloudwatchlogs.Client satisfies it.
type FilterLogEventsAPI interface {
	FilterLogEvents(ctx context.Context, params *cloudwatchlogs.FilterLogEventsInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.FilterLogEventsOutput, error)
}

// Limits bound what one read returns and costs. Zero fields take the
// defaults.
type Limits struct {
	// Lines is the most lines returned; default 20.
	Lines int
	// Bytes is the most bytes of messages returned; default 8 KiB.
	Bytes int
	// LineBytes is the most bytes of one message; longer ones are cut;
	// default 1 KiB.
	LineBytes int
	// Window is how far back to look; default 30 minutes.
	Window time.Duration
	// Calls is the most FilterLogEvents calls; default 10.
	Calls int
}

func (l Limits) withDefaults() Limits {
	if l.Lines <= 0 {
		l.Lines = 20
	}
	if l.Bytes <= 0 {
		l.Bytes = 8 << 10
	}
	if l.LineBytes <= 0 {
		l.LineBytes = 1 << 10
	}
	if l.Window <= 0 {
		l.Window = 30 * time.Minute
	}
	if l.Calls <= 0 {
		l.Calls = 10
	}
	return l
}

// Reader reads log lines.
type Reader struct {
	api   FilterLogEventsAPI
	clock incident.Clock
}

// NewReader returns a Reader that calls api; the window ends at clock's
// now.
func NewReader(api FilterLogEventsAPI, clock incident.Clock) *Reader {
	return &Reader{api: api, clock: clock}
}

// Excerpt is the lines a read found.
type Excerpt struct {
	LogGroup string    `json:"logGroup"`
	Pattern  string    `json:"pattern"`
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
	// Lines are the newest matching lines, newest first, redacted.
	Lines []Line `json:"lines"`
	// Truncated reports that the excerpt may not hold every matching line
	// of the window: lines or bytes were left out to stay within the
	// limits, or older parts of the window were not searched once enough
	// lines were found.
	Truncated bool `json:"truncated"`
	// Source says where the lines came from.
	Source string `json:"source"`
}

// Line is one log line.
type Line struct {
	Time    time.Time `json:"time"`
	Stream  string    `json:"stream"`
	Message string    `json:"message"`
}

// ErrorLines returns the newest error lines of a log group (ErrorPattern).
func (r *Reader) ErrorLines(ctx context.Context, logGroup string, lim Limits) (*Excerpt, error) {
	return r.Lines(ctx, logGroup, ErrorPattern, lim)
}

// Lines returns the newest lines of a log group matching a filter
// pattern, within the limits. An unknown log group is not_found.
func (r *Reader) Lines(ctx context.Context, logGroup, pattern string, lim Limits) (*Excerpt, error) {
	lim = lim.withDefaults()
	end := r.clock.Now().UTC()
	ex := &Excerpt{
		LogGroup: logGroup, Pattern: pattern, Start: end.Add(-lim.Window), End: end, Lines: []Line{},
		Source: fmt.Sprintf("CloudWatch Logs FilterLogEvents on %s, pattern %q, %s to %s", logGroup, pattern, end.Add(-lim.Window).Format("15:04"), end.Format("15:04 MST")),
	}
	calls := 0
	var found []Line
	spans := slices(end, lim.Window)
	for i, sp := range spans {
		if calls >= lim.Calls {
			ex.Truncated = true
			break
		}
		lines, more, err := r.slice(ctx, logGroup, pattern, sp, lim, &calls)
		if err != nil {
			return nil, err
		}
		found = append(found, lines...)
		ex.Truncated = ex.Truncated || more
		if len(found) >= lim.Lines {
			ex.Truncated = ex.Truncated || i < len(spans)-1
			break
		}
	}
	sort.SliceStable(found, func(i, j int) bool { return found[i].Time.After(found[j].Time) })
	ex.Lines, ex.Truncated = bound(found, lim, ex.Truncated)
	return ex, nil
}

// span is a time range, both ends in, as FilterLogEvents reads them.
type span struct{ start, end time.Time }

// slices cuts the window into the last minute, the four before and the
// rest, newest first, so the newest lines are found in few calls.
func slices(end time.Time, window time.Duration) []span {
	var out []span
	hi := end
	for _, back := range []time.Duration{time.Minute, 5 * time.Minute, window} {
		lo := end.Add(-min(back, window))
		if !lo.Before(hi) {
			continue
		}
		out = append(out, span{start: lo, end: hi})
		hi = lo.Add(-time.Millisecond)
	}
	return out
}

// slice reads the matching lines of one span, keeping the newest
// lim.Lines; more reports lines left behind (dropped, or not read when
// the calls ran out).
func (r *Reader) slice(ctx context.Context, logGroup, pattern string, s span, lim Limits, calls *int) (lines []Line, more bool, err error) {
	in := &cloudwatchlogs.FilterLogEventsInput{
		LogGroupName: &logGroup, StartTime: aws.Int64(s.start.UnixMilli()), EndTime: aws.Int64(s.end.UnixMilli()),
		Limit: aws.Int32(1000),
	}
	if pattern != "" {
		in.FilterPattern = &pattern
	}
	for *calls < lim.Calls {
		*calls++
		out, err := r.api.FilterLogEvents(ctx, in)
		if err != nil {
			return nil, false, awserr.Classify("CloudWatch Logs", "FilterLogEvents", "log group "+logGroup, err)
		}
		for _, e := range out.Events {
			lines = append(lines, Line{Time: time.UnixMilli(aws.ToInt64(e.Timestamp)).UTC(), Stream: aws.ToString(e.LogStreamName), Message: aws.ToString(e.Message)})
		}
		if len(lines) > lim.Lines {
			lines, more = lines[len(lines)-lim.Lines:], true
		}
		if out.NextToken == nil {
			return lines, more, nil
		}
		in.NextToken = out.NextToken
	}
	return lines, true, nil
}

// bound redacts, cuts long lines and keeps the newest lines that fit the
// count and byte limits.
func bound(lines []Line, lim Limits, truncated bool) ([]Line, bool) {
	out := make([]Line, 0, min(len(lines), lim.Lines))
	total := 0
	for i, l := range lines {
		if i >= lim.Lines {
			return out, true
		}
		l.Message = cut(Redact(l.Message), lim.LineBytes)
		if total+len(l.Message) > lim.Bytes {
			return out, true
		}
		total += len(l.Message)
		out = append(out, l)
	}
	return out, truncated
}

// cut shortens s to at most n bytes on a rune boundary, marking the cut.
func cut(s string, n int) string {
	const mark = " [...]"
	if len(s) <= n {
		return s
	}
	end := max(n-len(mark), 0)
	for end > 0 && !utf8.RuneStart(s[end]) {
		end--
	}
	return s[:end] + mark
}
