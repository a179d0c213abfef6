package bench

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"
)

// Outcome is what the target said it did with one alarm: opened an
// incident (or re-opened one), or took it as part of one already open.
// A target that does not say (Alertmanager) leaves it empty.
type Outcome struct {
	Incident string
	Opened   bool
	Known    bool
}

// Target is a system the load is sent to.
type Target interface {
	// Name says what it is, for the report.
	Name() string
	// Alarm returns the request body that tells the target alarm token
	// fired at at. The token must reach the page's summary.
	Alarm(token string, at time.Time) ([]byte, error)
	// Send delivers a body Alarm returned.
	Send(ctx context.Context, body []byte) (Outcome, error)
}

// Settler is a Target that can wait until it has finished the work an
// alarm set off after its page (triage, remediation, messages), so that
// alarms measured one by one each meet an idle system, as a new alarm
// does in AWS, where that work runs in Lambdas of its own.
type Settler interface {
	Settle(ctx context.Context) error
}

// NewHTTPClient returns a client that keeps up to conns connections to a
// target open, so a storm measures the target rather than connection
// set-up.
func NewHTTPClient(conns int) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost = conns*2, conns*2
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// cloudWatchTime is the timestamp layout of CloudWatch alarm states.
const cloudWatchTime = "2006-01-02T15:04:05.000-0700"

// Devstack sends CloudWatch "Alarm State Change" events to the local
// stack's POST /events, as EventBridge would deliver them.
type Devstack struct {
	// URL is the dev server's base URL.
	URL    string
	Client *http.Client
	// template is a real-shaped alarm event (ALARM state); each alarm is
	// this event with its own name, description and times.
	template []byte
}

// NewDevstack returns a target for the dev server at url, its alarms made
// from the alarm event in templateFile.
func NewDevstack(url, templateFile string, client *http.Client) (*Devstack, error) {
	b, err := os.ReadFile(templateFile)
	if err != nil {
		return nil, err
	}
	return &Devstack{URL: strings.TrimSuffix(url, "/"), Client: client, template: b}, nil
}

// Name implements Target.
func (d *Devstack) Name() string { return "devstack" }

// Settle implements Settler: POST /dev/settle answers once no escalation
// runs a step.
func (d *Devstack) Settle(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.URL+"/dev/settle", nil)
	if err != nil {
		return err
	}
	resp, err := d.Client.Do(req)
	if err != nil {
		return fmt.Errorf("settle: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		return fmt.Errorf("settle: %s", resp.Status)
	}
	return nil
}

// Alarm implements Target: the template's alarm renamed
// dashboarduz-api-5xx-errors-<token> (so the classification rules make it
// a P0), token as its description (which becomes the page's summary), and
// at as the event's and the state's time.
func (d *Devstack) Alarm(token string, at time.Time) ([]byte, error) {
	var ev map[string]any
	if err := json.Unmarshal(d.template, &ev); err != nil {
		return nil, fmt.Errorf("alarm template: %w", err)
	}
	detail, ok := ev["detail"].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("alarm template: no detail object")
	}
	at = at.UTC()
	name := "dashboarduz-api-5xx-errors-" + token
	sum := sha256.Sum256([]byte(name + at.Format(time.RFC3339Nano)))
	ev["id"] = hex.EncodeToString(sum[:16])
	ev["time"] = at.Format(time.RFC3339)
	ev["resources"] = []string{"arn:aws:cloudwatch:us-east-1:123456789012:alarm:" + name}
	detail["alarmName"] = name
	if cfg, ok := detail["configuration"].(map[string]any); ok {
		cfg["description"] = token
	}
	if st, ok := detail["state"].(map[string]any); ok {
		st["timestamp"] = at.Format(cloudWatchTime)
	}
	return json.Marshal(ev)
}

// Send implements Target.
func (d *Devstack) Send(ctx context.Context, body []byte) (Outcome, error) {
	var resp struct {
		FailedEntryCount int
		Entries          []struct {
			Route        string
			IncidentID   string `json:"IncidentId"`
			ErrorCode    string
			ErrorMessage string
		}
	}
	if err := postJSON(ctx, d.Client, d.URL+"/events", body, &resp); err != nil {
		return Outcome{}, err
	}
	if resp.FailedEntryCount > 0 || len(resp.Entries) != 1 {
		return Outcome{}, fmt.Errorf("POST /events: %+v", resp.Entries)
	}
	e := resp.Entries[0]
	return Outcome{Incident: e.IncidentID, Opened: e.Route == "open" || e.Route == "reopen", Known: true}, nil
}

// Alertmanager posts alerts to Prometheus Alertmanager's API v2. Its
// receiver must be a pagerduty_configs entry whose url is the EventsAPI
// and whose description is {{ .CommonLabels.alertname }}, grouped by
// alertname, so each alert is one page whose summary is its name.
type Alertmanager struct {
	URL    string
	Client *http.Client
}

// Name implements Target.
func (a *Alertmanager) Name() string { return "alertmanager" }

// Alarm implements Target: one firing alert named token, starting at at.
func (a *Alertmanager) Alarm(token string, at time.Time) ([]byte, error) {
	return json.Marshal([]map[string]any{{
		"labels":       map[string]string{"alertname": token, "service": "dashboarduz-api", "severity": "critical"},
		"annotations":  map[string]string{"summary": token},
		"startsAt":     at.UTC().Format(time.RFC3339Nano),
		"generatorURL": "http://127.0.0.1/bench/" + token,
	}})
}

// Send implements Target.
func (a *Alertmanager) Send(ctx context.Context, body []byte) (Outcome, error) {
	return Outcome{}, postJSON(ctx, a.Client, strings.TrimSuffix(a.URL, "/")+"/api/v2/alerts", body, nil)
}

// postJSON posts body and decodes a 2xx answer into out (when not nil).
func postJSON(ctx context.Context, client *http.Client, url string, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("POST %s: %s: %s", url, resp.Status, bytes.TrimSpace(b))
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(b, out)
}
