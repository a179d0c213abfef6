package cloudwatch

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/dashboarduz/incident-response/shared/incident"
)

// The constants of a CloudWatch alarm notification.
const (
	// DetailType is the EventBridge detail-type of an alarm state change.
	DetailType = "CloudWatch Alarm State Change"
	// EventSource is the source of both payloads.
	EventSource = "aws.cloudwatch"
	// SignalSource is the Source of every Signal Decode returns.
	SignalSource = "cloudwatch"
)

// The alarm state values.
const (
	StateAlarm            = "ALARM"
	StateOK               = "OK"
	StateInsufficientData = "INSUFFICIENT_DATA"
)

// timestampLayout is CloudWatch's own timestamp form. Parsing accepts the
// fractional seconds it usually carries even though the layout omits them.
const timestampLayout = "2006-01-02T15:04:05-0700"

// DecodeError reports a payload that is not a valid CloudWatch alarm
// notification. Its message names the problem and the field, so it reads
// on its own when the ingest handler returns it as a Lambda error.
type DecodeError struct {
	// Problem says what is wrong, e.g. "detail.alarmName is missing".
	Problem string
	// Err is the underlying error, if there is one (a JSON syntax error,
	// a time parse error).
	Err error
}

// Error implements the error interface.
func (e *DecodeError) Error() string { return "invalid CloudWatch alarm event: " + e.Problem }

// Unwrap returns the underlying error.
func (e *DecodeError) Unwrap() error { return e.Err }

func decodeErrorf(err error, format string, args ...any) *DecodeError {
	return &DecodeError{Problem: fmt.Sprintf(format, args...), Err: err}
}

// ParseTimestamp reads a CloudWatch timestamp, in CloudWatch's own form
// (2019-10-02T17:04:40.989+0000) or RFC 3339 (2019-10-02T17:04:40Z), and
// returns it in UTC. Anything else, and any time before 1970 or after
// 9999, is an error.
func ParseTimestamp(s string) (time.Time, error) {
	t, err := time.Parse(timestampLayout, s)
	if err != nil {
		if t, err = time.Parse(time.RFC3339, s); err != nil {
			return time.Time{}, fmt.Errorf("%q is not a CloudWatch timestamp (want 2006-01-02T15:04:05.000+0000 or RFC 3339)", s)
		}
	}
	t = t.UTC()
	if y := t.Year(); y < 1970 || y > 9999 {
		return time.Time{}, fmt.Errorf("%q is not a CloudWatch timestamp: year %d is out of range", s, y)
	}
	return t, nil
}

// Decode validates a CloudWatch alarm notification, either an EventBridge
// "CloudWatch Alarm State Change" event or an alarm action's Lambda
// payload, and returns the Signal it reports, classified by rules. Any
// malformed input gives a *DecodeError.
//
// The Signal's EventID names the state change itself,
// alarmArn@state.timestamp/state.value (the timestamp in UTC, to the millisecond), so
// a redelivery and the same change arriving both through EventBridge and
// through an alarm action have one ID. Its DedupKey is the alarm ARN.
func Decode(raw []byte, rules incident.ClassificationRules) (incident.Signal, error) {
	p, derr := ReadHead(raw)
	if derr != nil {
		return incident.Signal{}, derr
	}
	// Say what the event is before complaining about its fields: an event
	// of another kind would otherwise fail on whichever field differs first.
	switch {
	case present(p.DetailType):
		if err := expect("detail-type", p.DetailType, DetailType); err != nil {
			return incident.Signal{}, err
		}
		if err := expect("source", p.Source, EventSource); err != nil {
			return incident.Signal{}, err
		}
		var e AlarmStateChange
		if err := json.Unmarshal(raw, &e); err != nil {
			return incident.Signal{}, shapeError(err)
		}
		return fromStateChange(e, rules)
	case present(p.AlarmData):
		if err := expect("source", p.Source, EventSource); err != nil {
			return incident.Signal{}, err
		}
		var a AlarmActionPayload
		if err := json.Unmarshal(raw, &a); err != nil {
			return incident.Signal{}, shapeError(err)
		}
		return fromActionPayload(a, rules)
	}
	return incident.Signal{}, decodeErrorf(nil, "event has neither detail-type (an EventBridge event) nor alarmData (an alarm action payload)")
}

// Head is what an event on the ingest path says of itself: an EventBridge
// event's source and detail-type, or an alarm action payload's alarmData.
type Head struct {
	Source     json.RawMessage `json:"source"`
	DetailType json.RawMessage `json:"detail-type"`
	AlarmData  json.RawMessage `json:"alarmData"`
}

// ReadHead reads raw's head in the one pass that also checks the JSON; a
// failure says which problem the event has: not JSON, or JSON but not an
// object.
func ReadHead(raw []byte) (Head, *DecodeError) {
	var h Head
	err := json.Unmarshal(raw, &h)
	var syntax *json.SyntaxError
	switch {
	case errors.As(err, &syntax):
		return Head{}, decodeErrorf(err, "event is not JSON: %v", err)
	case !IsObject(raw):
		return Head{}, decodeErrorf(nil, "event is JSON but not an object")
	case err != nil:
		return Head{}, decodeErrorf(err, "event is not a JSON object: %v", err)
	}
	return h, nil
}

// IsObject reports whether raw, valid JSON, is an object.
func IsObject(raw []byte) bool {
	t := bytes.TrimLeft(raw, " \t\r\n")
	return len(t) > 0 && t[0] == '{'
}

// expect checks that the raw JSON value of field is the string want.
func expect(field string, raw json.RawMessage, want string) *DecodeError {
	var got string
	if present(raw) {
		if err := json.Unmarshal(raw, &got); err != nil {
			return decodeErrorf(err, "%s is %s, want %q", field, clip(raw), want)
		}
	}
	if got != want {
		return decodeErrorf(nil, "%s is %q, want %q", field, got, want)
	}
	return nil
}

// clip shortens a raw JSON value for an error message.
func clip(raw json.RawMessage) string {
	const max = 64
	if len(raw) <= max {
		return string(raw)
	}
	return string(raw[:max]) + "..."
}

func present(m json.RawMessage) bool { return len(m) > 0 && string(m) != "null" }

func shapeError(err error) *DecodeError {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return decodeErrorf(err, "%s has the wrong type: got a JSON %s, want %s", te.Field, te.Value, jsonKind(te.Type.Kind().String()))
	}
	return decodeErrorf(err, "event does not have the shape of a CloudWatch alarm event: %v", err)
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "struct", "map", "ptr":
		return "an object"
	case "slice":
		return "an array"
	case "bool":
		return "a boolean"
	}
	return "a number"
}

// envelope is what the two payloads say about the alarm outside its data.
type envelope struct {
	eventID  string // empty for the Lambda payload
	alarmARN string
	region   string
	account  string
}

// fromStateChange and fromActionPayload validate what Decode has not
// checked yet; detail-type and source are already known to be right.
func fromStateChange(e AlarmStateChange, rules incident.ClassificationRules) (incident.Signal, error) {
	if strings.TrimSpace(e.ID) == "" {
		return incident.Signal{}, decodeErrorf(nil, "id is missing or empty")
	}
	if e.Time != "" {
		if _, err := ParseTimestamp(e.Time); err != nil {
			return incident.Signal{}, decodeErrorf(err, "time %v", err)
		}
	}
	if e.Detail == nil {
		return incident.Signal{}, decodeErrorf(nil, "detail is missing")
	}
	env := envelope{eventID: e.ID, region: e.Region, account: e.Account}
	for _, r := range e.Resources {
		if isAlarmARN(r) {
			env.alarmARN = r
			break
		}
	}
	return fromAlarmData(e.Detail, "detail", env, rules)
}

func fromActionPayload(a AlarmActionPayload, rules incident.ClassificationRules) (incident.Signal, error) {
	if a.AlarmARN != "" && !isAlarmARN(a.AlarmARN) {
		return incident.Signal{}, decodeErrorf(nil, "alarmArn %q is not a CloudWatch alarm ARN", a.AlarmARN)
	}
	if a.Time != "" {
		if _, err := ParseTimestamp(a.Time); err != nil {
			return incident.Signal{}, decodeErrorf(err, "time %v", err)
		}
	}
	env := envelope{alarmARN: a.AlarmARN, region: a.Region, account: a.AccountID}
	return fromAlarmData(a.AlarmData, "alarmData", env, rules)
}

func fromAlarmData(d *AlarmData, at string, env envelope, rules incident.ClassificationRules) (incident.Signal, error) {
	if d == nil {
		return incident.Signal{}, decodeErrorf(nil, "%s is missing", at)
	}
	if strings.TrimSpace(d.AlarmName) == "" {
		return incident.Signal{}, decodeErrorf(nil, "%s.alarmName is missing", at)
	}
	if d.State == nil {
		return incident.Signal{}, decodeErrorf(nil, "%s.state is missing", at)
	}
	state, err := signalState(d.State.Value)
	if err != nil {
		return incident.Signal{}, decodeErrorf(nil, "%s.state.value %v", at, err)
	}
	if d.State.Timestamp == "" {
		return incident.Signal{}, decodeErrorf(nil, "%s.state.timestamp is missing", at)
	}
	when, err := ParseTimestamp(d.State.Timestamp)
	if err != nil {
		return incident.Signal{}, decodeErrorf(err, "%s.state.timestamp %v", at, err)
	}
	if ps := d.PreviousState; ps != nil {
		if ps.Value != "" {
			if _, err := signalState(ps.Value); err != nil {
				return incident.Signal{}, decodeErrorf(nil, "%s.previousState.value %v", at, err)
			}
		}
		if ps.Timestamp != "" {
			if _, err := ParseTimestamp(ps.Timestamp); err != nil {
				return incident.Signal{}, decodeErrorf(err, "%s.previousState.timestamp %v", at, err)
			}
		}
	}

	if env.alarmARN == "" {
		if env.region == "" || env.account == "" {
			return incident.Signal{}, decodeErrorf(nil, "the alarm ARN is unknown: the event carries none, and its region or account is missing")
		}
		env.alarmARN = fmt.Sprintf("arn:%s:cloudwatch:%s:%s:alarm:%s", partition(env.region), env.region, env.account, d.AlarmName)
	}
	eventID := env.alarmARN + "@" + when.UTC().Format("2006-01-02T15:04:05.000Z") + "/" + d.State.Value

	facts := incident.AlarmFacts{Name: d.AlarmName, Tags: d.AlarmTags}
	var cfg AlarmConfiguration
	if d.Configuration != nil {
		cfg = *d.Configuration
	}
	if m := evaluatedMetric(cfg.Metrics); m != nil {
		facts.Namespace, facts.MetricName, facts.Dimensions = m.Namespace, m.Name, m.Dimensions
	}
	c := rules.Classify(facts)

	summary := strings.TrimSpace(cfg.Description)
	if summary == "" {
		summary = d.AlarmName + " is in " + d.State.Value
	}
	details := map[string]string{
		"alarmName":          d.AlarmName,
		"alarmArn":           env.alarmARN,
		"state":              d.State.Value,
		"classificationRule": c.Rule,
	}
	put := func(k, v string) {
		if v != "" {
			details[k] = v
		}
	}
	put("eventBridgeId", env.eventID)
	put("region", env.region)
	put("account", env.account)
	put("namespace", facts.Namespace)
	put("metric", facts.MetricName)
	put("dimensions", pairs(facts.Dimensions))
	put("alarmRule", cfg.AlarmRule)
	put("alarmTags", pairs(d.AlarmTags))
	put("actionsSuppressedBy", d.State.ActionsSuppressedBy)
	if d.PreviousState != nil {
		put("previousState", d.PreviousState.Value)
	}

	return incident.Signal{
		Source:   SignalSource,
		EventID:  eventID,
		DedupKey: env.alarmARN,
		Service:  c.Service,
		Category: c.Category,
		Severity: c.Severity,
		Summary:  summary,
		Reason:   d.State.Reason,
		Details:  details,
		Time:     when,
		State:    state,
		Ignored:  ignored(c, d.AlarmName),
	}, nil
}

// ignored says why a signal is no incident, when its classification says
// so.
func ignored(c incident.Classification, alarm string) string {
	if !c.Ignore {
		return ""
	}
	return fmt.Sprintf("classification rule %s says alarm %s is not an incident", c.Rule, alarm)
}

func signalState(v string) (incident.SignalState, error) {
	switch v {
	case StateAlarm:
		return incident.Firing, nil
	case StateOK:
		return incident.Recovered, nil
	case StateInsufficientData:
		return incident.Inconclusive, nil
	case "":
		return "", errors.New("is missing")
	}
	return "", fmt.Errorf("%q is not ALARM, OK or INSUFFICIENT_DATA", v)
}

// evaluatedMetric is the metric that says what the alarm watches: the first
// metric the alarm evaluates directly, else the first metric of a
// metric-math alarm. Composite alarms have none.
func evaluatedMetric(qs []MetricDataQuery) *Metric {
	var first *Metric
	for _, q := range qs {
		if q.MetricStat == nil {
			continue
		}
		if q.ReturnData != nil && *q.ReturnData {
			return &q.MetricStat.Metric
		}
		if first == nil {
			first = &q.MetricStat.Metric
		}
	}
	return first
}

func isAlarmARN(s string) bool {
	return strings.HasPrefix(s, "arn:") && strings.Contains(s, ":cloudwatch:") && strings.Contains(s, ":alarm:")
}

func partition(region string) string {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return "aws-cn"
	case strings.HasPrefix(region, "us-gov-"):
		return "aws-us-gov"
	}
	return "aws"
}

// pairs renders a map as "k=v,k=v", sorted by key so the text is stable.
func pairs(m map[string]string) string {
	if len(m) == 0 {
		return ""
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(m[k])
	}
	return b.String()
}
