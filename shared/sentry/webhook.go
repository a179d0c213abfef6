package sentry

import "encoding/json"

// Webhook is the envelope every integration-platform webhook shares. Data
// stays raw until the Sentry-Hook-Resource header says what it holds.
type Webhook struct {
	// Action is what happened to the resource, e.g. created or resolved
	// for an issue, critical or resolved for a metric alert.
	Action       string          `json:"action"`
	Actor        *Actor          `json:"actor,omitempty"`
	Data         json.RawMessage `json:"data"`
	Installation Installation    `json:"installation"`
}

// Actor is who caused the webhook: a user, an integration, or Sentry
// itself (type application, id "sentry").
type Actor struct {
	// ID is a number for a user and a string for an application.
	ID   json.RawMessage `json:"id"`
	Name string          `json:"name"`
	Type string          `json:"type"`
}

// Installation names the integration's installation in an organization.
type Installation struct {
	UUID string `json:"uuid"`
}

// IssueData is the data of an issue webhook (resource "issue").
type IssueData struct {
	Issue Issue `json:"issue"`
}

// Issue is a Sentry issue: a group of events with one fingerprint.
type Issue struct {
	Annotations []json.RawMessage `json:"annotations"`
	// AssignedTo is null or the assignee (a user or a team).
	AssignedTo json.RawMessage `json:"assignedTo"`
	// Count is the number of events, as a string.
	Count        string `json:"count"`
	Culprit      string `json:"culprit"`
	FirstSeen    string `json:"firstSeen"`
	HasSeen      bool   `json:"hasSeen"`
	ID           string `json:"id"`
	IsBookmarked bool   `json:"isBookmarked"`
	IsPublic     bool   `json:"isPublic"`
	IsSubscribed bool   `json:"isSubscribed"`
	LastSeen     string `json:"lastSeen"`
	// Level is fatal, error, warning, info or debug.
	Level       string          `json:"level"`
	Logger      *string         `json:"logger"`
	Metadata    json.RawMessage `json:"metadata"`
	NumComments int             `json:"numComments"`
	Permalink   *string         `json:"permalink"`
	Platform    string          `json:"platform"`
	Project     Project         `json:"project"`
	ShareID     *string         `json:"shareId"`
	ShortID     string          `json:"shortId"`
	// Status is resolved, unresolved or ignored (archived).
	Status              string          `json:"status"`
	StatusDetails       json.RawMessage `json:"statusDetails"`
	SubscriptionDetails json.RawMessage `json:"subscriptionDetails"`
	// Substatus refines Status: new, ongoing, escalating, regressed,
	// archived_until_escalating, archived_until_condition_met or
	// archived_forever.
	Substatus  *string `json:"substatus"`
	Title      string  `json:"title"`
	Type       string  `json:"type"`
	UserCount  int     `json:"userCount"`
	URL        string  `json:"url,omitempty"`
	WebURL     string  `json:"web_url,omitempty"`
	ProjectURL string  `json:"project_url,omitempty"`
}

// Project is the Sentry project an issue belongs to.
type Project struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Platform string `json:"platform"`
	Slug     string `json:"slug"`
}

// MetricAlertData is the data of a metric alert webhook (resource
// "metric_alert").
type MetricAlertData struct {
	DescriptionText  string      `json:"description_text"`
	DescriptionTitle string      `json:"description_title"`
	MetricAlert      MetricAlert `json:"metric_alert"`
	WebURL           string      `json:"web_url"`
}

// MetricAlert is the Sentry incident that the alert rule opened.
type MetricAlert struct {
	AlertRule      AlertRule `json:"alert_rule"`
	DateClosed     *string   `json:"date_closed"`
	DateCreated    string    `json:"date_created"`
	DateDetected   string    `json:"date_detected"`
	DateStarted    string    `json:"date_started"`
	ID             string    `json:"id"`
	Identifier     string    `json:"identifier"`
	OrganizationID string    `json:"organization_id"`
	// Projects holds project slugs.
	Projects     []string `json:"projects"`
	Status       int      `json:"status"`
	StatusMethod int      `json:"status_method"`
	Title        string   `json:"title"`
	Type         int      `json:"type"`
}

// AlertRule is a metric alert rule.
type AlertRule struct {
	Aggregate          string            `json:"aggregate"`
	CreatedBy          json.RawMessage   `json:"created_by"`
	Dataset            string            `json:"dataset"`
	DateCreated        string            `json:"date_created"`
	DateModified       string            `json:"date_modified"`
	Environment        *string           `json:"environment"`
	ID                 string            `json:"id"`
	IncludeAllProjects bool              `json:"include_all_projects"`
	Name               string            `json:"name"`
	OrganizationID     string            `json:"organization_id"`
	Projects           []string          `json:"projects"`
	Query              string            `json:"query"`
	Resolution         float64           `json:"resolution"`
	ResolveThreshold   *float64          `json:"resolve_threshold"`
	Status             int               `json:"status"`
	ThresholdPeriod    int               `json:"threshold_period"`
	ThresholdType      int               `json:"threshold_type"`
	TimeWindow         float64           `json:"time_window"`
	Triggers           []json.RawMessage `json:"triggers"`
}

// EventAlertData is the data of an issue alert webhook (resource
// "event_alert"): an alert rule matched an event. The event is the whole
// Sentry event, with hundreds of fields that vary by platform, so it stays
// raw; AlertEvent reads the part used here.
type EventAlertData struct {
	Event         json.RawMessage `json:"event"`
	TriggeredRule string          `json:"triggered_rule"`
	IssueAlert    *IssueAlert     `json:"issue_alert,omitempty"`
}

// IssueAlert is the alert rule's settings for the integration.
type IssueAlert struct {
	Title    string            `json:"title"`
	Settings []json.RawMessage `json:"settings,omitempty"`
}

// AlertEvent is the part of an alerted event's fields that becomes a
// signal.
type AlertEvent struct {
	EventID  string  `json:"event_id"`
	IssueID  string  `json:"issue_id"`
	IssueURL string  `json:"issue_url"`
	Level    string  `json:"level"`
	Title    string  `json:"title"`
	Culprit  string  `json:"culprit"`
	Datetime string  `json:"datetime"`
	Release  *string `json:"release"`
	// URL is the event's API URL, /api/0/projects/<org>/<project>/events/<id>/:
	// the one place the event names its project's slug.
	URL    string `json:"url"`
	WebURL string `json:"web_url"`
}
