package cloudwatch

// AlarmStateChange is the EventBridge event CloudWatch emits whenever an
// alarm changes state (detail-type "CloudWatch Alarm State Change", source
// "aws.cloudwatch").
type AlarmStateChange struct {
	Version    string `json:"version"`
	ID         string `json:"id"`
	DetailType string `json:"detail-type"`
	Source     string `json:"source"`
	Account    string `json:"account"`
	// Time is when EventBridge received the event, in RFC 3339 form.
	Time   string `json:"time"`
	Region string `json:"region"`
	// Resources holds the alarm's ARN.
	Resources []string   `json:"resources"`
	Detail    *AlarmData `json:"detail,omitempty"`
}

// AlarmActionPayload is what CloudWatch sends when an alarm action invokes
// a Lambda function directly. It has no event ID; the alarm ARN and the
// state timestamp identify it.
type AlarmActionPayload struct {
	Source    string `json:"source"`
	AlarmARN  string `json:"alarmArn"`
	AccountID string `json:"accountId"`
	// Time is in CloudWatch's form, e.g. 2023-08-04T12:36:15.490+0000.
	Time      string     `json:"time"`
	Region    string     `json:"region"`
	AlarmData *AlarmData `json:"alarmData,omitempty"`
}

// AlarmData describes the alarm and its state change: the EventBridge
// event's detail and the Lambda payload's alarmData have this shape.
type AlarmData struct {
	AlarmName     string              `json:"alarmName"`
	State         *AlarmState         `json:"state,omitempty"`
	PreviousState *AlarmState         `json:"previousState,omitempty"`
	Configuration *AlarmConfiguration `json:"configuration,omitempty"`
	// AlarmTags and AlarmTagsStatus are present when the alarm propagates
	// its tags to its notifications.
	AlarmTags       map[string]string `json:"alarmTags,omitempty"`
	AlarmTagsStatus string            `json:"alarmTagsStatus,omitempty"`
}

// AlarmState is one state of an alarm and why it was entered.
type AlarmState struct {
	// Value is ALARM, OK or INSUFFICIENT_DATA.
	Value  string `json:"value"`
	Reason string `json:"reason,omitempty"`
	// ReasonData is a JSON document encoded as a string: the datapoints for
	// a metric alarm, the triggering alarms for a composite alarm.
	ReasonData string `json:"reasonData,omitempty"`
	// Timestamp is when the state was entered, in CloudWatch's form.
	Timestamp string `json:"timestamp"`
	// ActionsSuppressedBy and ActionsSuppressedReason say why a composite
	// alarm's actions were suppressed (Alarm, ExtensionPeriod, WaitPeriod).
	ActionsSuppressedBy     string `json:"actionsSuppressedBy,omitempty"`
	ActionsSuppressedReason string `json:"actionsSuppressedReason,omitempty"`
	// EvaluationState is set when the alarm could not be evaluated fully,
	// e.g. PARTIAL_DATA for Metrics Insights alarms.
	EvaluationState string `json:"evaluationState,omitempty"`
}

// AlarmConfiguration is the alarm's definition: Metrics for a metric or
// metric-math alarm, AlarmRule and the suppressor settings for a composite
// alarm.
type AlarmConfiguration struct {
	Description string            `json:"description,omitempty"`
	Metrics     []MetricDataQuery `json:"metrics,omitempty"`
	AlarmRule   string            `json:"alarmRule,omitempty"`
	// ActionsSuppressor is the alarm whose ALARM state suppresses this
	// composite alarm's actions; the periods are in seconds.
	ActionsSuppressor                string `json:"actionsSuppressor,omitempty"`
	ActionsSuppressorWaitPeriod      *int   `json:"actionsSuppressorWaitPeriod,omitempty"`
	ActionsSuppressorExtensionPeriod *int   `json:"actionsSuppressorExtensionPeriod,omitempty"`
}

// MetricDataQuery is one entry of an alarm's metrics: a metric (MetricStat)
// or a metric-math expression (Expression). ReturnData is true for the
// series the alarm evaluates.
type MetricDataQuery struct {
	ID         string      `json:"id"`
	MetricStat *MetricStat `json:"metricStat,omitempty"`
	Expression string      `json:"expression,omitempty"`
	Label      string      `json:"label,omitempty"`
	ReturnData *bool       `json:"returnData,omitempty"`
	// Period is set on expressions that query metrics themselves, such as
	// Metrics Insights queries.
	Period *int `json:"period,omitempty"`
	// AccountID is set when the metric lives in another account.
	AccountID string `json:"accountId,omitempty"`
}

// MetricStat is a metric with the statistic and period the alarm reads.
type MetricStat struct {
	Metric Metric `json:"metric"`
	Period int    `json:"period"`
	Stat   string `json:"stat"`
	Unit   string `json:"unit,omitempty"`
}

// Metric names one CloudWatch metric.
type Metric struct {
	Namespace  string            `json:"namespace"`
	Name       string            `json:"name"`
	Dimensions map[string]string `json:"dimensions,omitempty"`
}
