package eventbridge

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/dashboarduz/incident-response/shared/cloudwatch"
	"github.com/dashboarduz/incident-response/shared/incident"
)

// The sources and detail-types the ingest rule routes.
const (
	SourceCloudWatch = cloudwatch.EventSource
	SourceECS        = "aws.ecs"
	SourceRDS        = "aws.rds"

	DetailTypeAlarm           = cloudwatch.DetailType
	DetailTypeECSDeployment   = "ECS Deployment State Change"
	DetailTypeECSTask         = "ECS Task State Change"
	DetailTypeECSService      = "ECS Service Action"
	DetailTypeRDSInstance     = "RDS DB Instance Event"
	signalSourceECS           = "ecs"
	signalSourceRDS           = "rds"
	maxProblemValueCharacters = 64
)

// Route is one source and detail-type the ingest rule sends to the
// decoder.
type Route struct {
	Source     string
	DetailType string
}

// Routes lists every source and detail-type Decode reads, so the CDK app
// builds the ingest rule's pattern from the same list the decoder serves.
var Routes = []Route{
	{SourceCloudWatch, DetailTypeAlarm},
	{SourceECS, DetailTypeECSDeployment},
	{SourceECS, DetailTypeECSTask},
	{SourceECS, DetailTypeECSService},
	{SourceRDS, DetailTypeRDSInstance},
	{SourceStepFunctions, DetailTypeExecutionStatus},
}

// InvalidEventError reports an event that cannot become a signal: not
// JSON, not an EventBridge event, a source and detail-type this decoder
// does not read, or a detail of the wrong shape. Its message names the
// source and detail-type, so a dead-lettered event explains itself.
type InvalidEventError struct {
	Source     string
	DetailType string
	// Problem says what is wrong, e.g. "detail.taskArn is missing".
	Problem string
	// Err is the underlying error, if any (a JSON syntax error, a
	// *cloudwatch.DecodeError).
	Err error
}

// Error implements the error interface.
func (e *InvalidEventError) Error() string {
	src, dt := e.Source, e.DetailType
	if src == "" {
		src = "no source"
	}
	if dt == "" {
		dt = "no detail-type"
	}
	return fmt.Sprintf("invalid EventBridge event (%s, %s): %s", src, dt, e.Problem)
}

// Unwrap returns the underlying error.
func (e *InvalidEventError) Unwrap() error { return e.Err }

// AllowList names the ECS clusters and the services (ECS service names
// and RDS DB instance identifiers) this system responds for. An ECS or RDS
// event about anything else becomes an ignored signal that says so.
type AllowList struct {
	// Clusters holds ECS cluster names; empty allows every cluster. An
	// event that does not name its cluster (a service ARN of the old form,
	// service/<name>, in a deployment event) is checked on its service
	// alone.
	Clusters []string `json:"clusters,omitempty"`
	// Services holds ECS service names and RDS DB instance identifiers;
	// empty allows none, so a missing setting never pages for strangers.
	Services []string `json:"services"`
}

// DefaultAllowList is the runbook's production cluster, its two services
// and its database.
func DefaultAllowList() AllowList {
	return AllowList{
		Clusters: []string{"dashboarduz-production"},
		Services: []string{"dashboarduz-api", "dashboarduz-worker", "dashboarduz-production-db"},
	}
}

// ParseAllowList reads an allow-list document, e.g.
// {"clusters":["dashboarduz-production"],"services":["dashboarduz-api"]}.
func ParseAllowList(doc []byte) (AllowList, error) {
	var a AllowList
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&a); err != nil {
		return AllowList{}, incident.Errorf(incident.EInvalid, "allow-list: %v", err)
	}
	for _, s := range append(slices.Clone(a.Clusters), a.Services...) {
		if strings.TrimSpace(s) == "" {
			return AllowList{}, incident.Errorf(incident.EInvalid, "allow-list: names must not be empty")
		}
	}
	return a, nil
}

// why returns why an event about service (in cluster, when the event
// names one) is ignored, or "" when the allow-list holds it.
func (a AllowList) why(cluster, service string) string {
	if cluster != "" && len(a.Clusters) > 0 && !slices.Contains(a.Clusters, cluster) {
		return fmt.Sprintf("cluster %s is not in the allow-list (%s)", cluster, strings.Join(a.Clusters, ", "))
	}
	if !slices.Contains(a.Services, service) {
		if len(a.Services) == 0 {
			return fmt.Sprintf("service %s is not in the allow-list, which is empty", service)
		}
		return fmt.Sprintf("service %s is not in the allow-list (%s)", service, strings.Join(a.Services, ", "))
	}
	return ""
}

// Decoder turns the events the ingest rule routes into signals. Its zero
// value classifies alarms with no rules and allows no ECS or RDS service;
// use DefaultAllowList and incident.DefaultClassificationRules.
type Decoder struct {
	// Rules classify CloudWatch alarms.
	Rules incident.ClassificationRules
	// Allow says which ECS and RDS resources are this system's.
	Allow AllowList
}

// Decode validates one event and returns its signal. A CloudWatch alarm
// event, and the payload of an alarm action that invokes the function
// directly, go to cloudwatch.Decode; ECS and RDS events are read here.
// Every failure is an *InvalidEventError.
func (d *Decoder) Decode(raw []byte) (incident.Signal, error) {
	head, derr := cloudwatch.ReadHead(raw)
	if derr != nil {
		return incident.Signal{}, &InvalidEventError{Problem: derr.Problem, Err: derr.Err}
	}
	source, detailType := text(head.Source), text(head.DetailType)
	if !present(head.DetailType) && present(head.AlarmData) {
		return d.alarm(raw, source, "")
	}
	switch (Route{source, detailType}) {
	case Route{SourceCloudWatch, DetailTypeAlarm}:
		return d.alarm(raw, source, detailType)
	case Route{SourceECS, DetailTypeECSDeployment}:
		return decodeWith(raw, source, detailType, d.ecsDeployment)
	case Route{SourceECS, DetailTypeECSTask}:
		return decodeWith(raw, source, detailType, d.ecsTask)
	case Route{SourceECS, DetailTypeECSService}:
		return decodeWith(raw, source, detailType, d.ecsServiceAction)
	case Route{SourceRDS, DetailTypeRDSInstance}:
		return decodeWith(raw, source, detailType, d.rdsInstance)
	case Route{SourceStepFunctions, DetailTypeExecutionStatus}:
		return decodeWith(raw, source, detailType, d.escalationStopped)
	}
	return incident.Signal{}, &InvalidEventError{Source: source, DetailType: detailType,
		Problem: "no decoder for this source and detail-type; the ingest rule routes " + routeList()}
}

// alarm delegates to cloudwatch.Decode, keeping its message.
func (d *Decoder) alarm(raw []byte, source, detailType string) (incident.Signal, error) {
	s, err := cloudwatch.Decode(raw, d.Rules)
	if err != nil {
		return incident.Signal{}, &InvalidEventError{Source: source, DetailType: detailType, Problem: err.Error(), Err: err}
	}
	return s, nil
}

// decodeWith reads the envelope and the detail into D and hands both to
// fn. The envelope's id, detail and times are checked here once.
func decodeWith[D any](raw []byte, source, detailType string, fn func(Event, D) (incident.Signal, *InvalidEventError)) (incident.Signal, error) {
	fail := func(err error, format string, args ...any) (incident.Signal, error) {
		return incident.Signal{}, &InvalidEventError{Source: source, DetailType: detailType, Problem: fmt.Sprintf(format, args...), Err: err}
	}
	var e Event
	if err := json.Unmarshal(raw, &e); err != nil {
		return fail(err, "%s", shapeProblem("", err))
	}
	if strings.TrimSpace(e.ID) == "" {
		return fail(nil, "id is missing or empty")
	}
	if e.Time != "" {
		if _, err := cloudwatch.ParseTimestamp(e.Time); err != nil {
			return fail(err, "time %v", err)
		}
	}
	if !present(e.Detail) {
		return fail(nil, "detail is missing")
	}
	if !cloudwatch.IsObject(e.Detail) {
		return fail(nil, "detail is %s, want an object", clip(e.Detail))
	}
	var detail D
	if err := json.Unmarshal(e.Detail, &detail); err != nil {
		return fail(err, "%s", shapeProblem("detail.", err))
	}
	s, ierr := fn(e, detail)
	if ierr != nil {
		ierr.Source, ierr.DetailType = source, detailType
		return incident.Signal{}, ierr
	}
	return s, nil
}

// invalidf builds the problem of an InvalidEventError; decodeWith fills in
// the source and detail-type.
func invalidf(format string, args ...any) *InvalidEventError {
	return &InvalidEventError{Problem: fmt.Sprintf(format, args...)}
}

// shapeProblem names the field of a JSON type mismatch.
func shapeProblem(prefix string, err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return fmt.Sprintf("%s%s has the wrong type: got a JSON %s", prefix, te.Field, te.Value)
	}
	return fmt.Sprintf("event does not have the documented shape: %v", err)
}

// when reads the first non-empty timestamp of candidates (field name,
// value pairs) and returns it in UTC; it fails on a value that is present
// but unreadable, naming the field.
func when(candidates ...string) (time.Time, *InvalidEventError) {
	for i := 0; i+1 < len(candidates); i += 2 {
		field, v := candidates[i], candidates[i+1]
		if v == "" {
			continue
		}
		t, err := cloudwatch.ParseTimestamp(v)
		if err != nil {
			return time.Time{}, &InvalidEventError{Problem: fmt.Sprintf("%s %v", field, err), Err: err}
		}
		return t, nil
	}
	return time.Time{}, invalidf("the event carries no time")
}

// text reads a raw JSON string; anything else reads as its JSON text,
// clipped, so an error message can still name it.
func text(raw json.RawMessage) string {
	if !present(raw) {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return clip(raw)
}

func present(m json.RawMessage) bool { return len(m) > 0 && string(m) != "null" }

// clip shortens a value for an error message.
func clip[T ~string | ~[]byte](v T) string {
	s := string(v)
	if len(s) <= maxProblemValueCharacters {
		return s
	}
	return s[:maxProblemValueCharacters] + "..."
}

func routeList() string {
	parts := make([]string, len(Routes))
	for i, r := range Routes {
		parts[i] = r.Source + "/" + r.DetailType
	}
	return strings.Join(parts, ", ")
}
