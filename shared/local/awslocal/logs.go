package awslocal

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

type logsEventOut struct {
	LogStreamName string `json:"logStreamName"`
	Timestamp     int64  `json:"timestamp"`
	Message       string `json:"message"`
	IngestionTime int64  `json:"ingestionTime"`
	EventID       string `json:"eventId"`
}

func logsFilterLogEvents(r *request) (any, error) {
	var in struct {
		LogGroupName        string   `json:"logGroupName"`
		LogGroupIdentifier  string   `json:"logGroupIdentifier"`
		LogStreamNames      []string `json:"logStreamNames"`
		LogStreamNamePrefix string   `json:"logStreamNamePrefix"`
		StartTime           *int64   `json:"startTime"`
		EndTime             *int64   `json:"endTime"`
		FilterPattern       string   `json:"filterPattern"`
		NextToken           string   `json:"nextToken"`
		Limit               int      `json:"limit"`
	}
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	if (in.LogGroupName == "") == (in.LogGroupIdentifier == "") {
		return nil, badRequest("InvalidParameterException", "Exactly one of logGroupName and logGroupIdentifier must be given.")
	}
	if in.Limit < 0 || in.Limit > 10000 {
		return nil, badRequest("InvalidParameterException", "limit must be between 1 and 10000.")
	}
	g := r.findLogGroup(in.LogGroupName + in.LogGroupIdentifier)
	if g == nil {
		return nil, badRequest("ResourceNotFoundException", "The specified log group does not exist.")
	}
	match, err := compileFilterPattern(in.FilterPattern)
	if err != nil {
		return nil, err
	}
	var events []logsEventOut
	for i, e := range g.Events {
		ms := e.Time.UnixMilli()
		if in.StartTime != nil && ms < *in.StartTime || in.EndTime != nil && ms > *in.EndTime {
			continue
		}
		stream := e.Stream
		if stream == "" {
			stream = "app/app/0"
		}
		if len(in.LogStreamNames) > 0 && !slices.Contains(in.LogStreamNames, stream) || !strings.HasPrefix(stream, in.LogStreamNamePrefix) {
			continue
		}
		if match(e.Message) {
			events = append(events, logsEventOut{LogStreamName: stream, Timestamp: ms, Message: e.Message, IngestionTime: ms, EventID: fmt.Sprintf("%056d", i)})
		}
	}
	page, next, err := paginate(events, in.NextToken, in.Limit, 10000)
	if err != nil {
		return nil, err
	}
	return withNextToken(map[string]any{"events": page, "searchedLogStreams": []any{}}, "nextToken", next), nil
}

// findLogGroup finds a log group by name or ARN.
func (r *request) findLogGroup(ref string) *LogGroup {
	if rest, ok := strings.CutPrefix(ref, "arn:"); ok {
		if _, after, found := strings.Cut(rest, ":log-group:"); found {
			ref = strings.TrimSuffix(after, ":*")
		}
	}
	for i := range r.world.LogGroups {
		if r.world.LogGroups[i].Name == ref {
			return &r.world.LogGroups[i]
		}
	}
	return nil
}

// compileFilterPattern reads the CloudWatch Logs filter patterns for
// unstructured lines: terms that must all appear (ERROR Exception),
// alternatives of which one must appear (?ERROR ?Error), terms that must
// not appear (-Healthcheck), quoted phrases, and %regex%. Matching is
// case-sensitive, as in CloudWatch. JSON and space-delimited patterns are
// refused rather than matched wrongly.
func compileFilterPattern(p string) (func(string) bool, error) {
	p = strings.TrimSpace(p)
	switch {
	case p == "":
		return func(string) bool { return true }, nil
	case strings.HasPrefix(p, "{") || strings.HasPrefix(p, "["):
		return nil, badRequest("InvalidParameterException", "awslocal does not evaluate JSON or space-delimited filter patterns: %q", p)
	case len(p) > 1 && strings.HasPrefix(p, "%") && strings.HasSuffix(p, "%"):
		re, err := regexp.Compile(p[1 : len(p)-1])
		if err != nil {
			return nil, badRequest("InvalidParameterException", "Invalid filter pattern: %v", err)
		}
		return re.MatchString, nil
	}
	terms, err := splitTerms(p)
	if err != nil {
		return nil, err
	}
	var every, oneOf, without []string
	for _, t := range terms {
		switch {
		case strings.HasPrefix(t, "?"):
			oneOf = append(oneOf, t[1:])
		case strings.HasPrefix(t, "-") && len(t) > 1:
			without = append(without, t[1:])
		default:
			every = append(every, t)
		}
	}
	return func(line string) bool {
		for _, t := range without {
			if strings.Contains(line, t) {
				return false
			}
		}
		for _, t := range every {
			if !strings.Contains(line, t) {
				return false
			}
		}
		if len(oneOf) == 0 {
			return true
		}
		for _, t := range oneOf {
			if strings.Contains(line, t) {
				return true
			}
		}
		return false
	}, nil
}

// splitTerms splits a pattern on spaces, keeping "quoted phrases" whole
// (with a ? or - before the quote kept as the term's prefix).
func splitTerms(p string) ([]string, error) {
	var terms []string
	var cur strings.Builder
	quoted := false
	for _, c := range p {
		switch {
		case c == '"':
			quoted = !quoted
		case c == ' ' && !quoted:
			if cur.Len() > 0 {
				terms = append(terms, cur.String())
				cur.Reset()
			}
		default:
			cur.WriteRune(c)
		}
	}
	if quoted {
		return nil, badRequest("InvalidParameterException", "Invalid filter pattern: unbalanced quote in %q", p)
	}
	if cur.Len() > 0 {
		terms = append(terms, cur.String())
	}
	return terms, nil
}
