package pagerdutylocal_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"
	"time"

	pd "github.com/PagerDuty/go-pagerduty"

	"github.com/dashboarduz/incident-response/shared/local/pagerdutylocal"
)

func onCallRoster() []pagerdutylocal.OnCall {
	return []pagerdutylocal.OnCall{
		{EscalationPolicyID: "PONCALL", EscalationPolicyName: "On-Call", Level: 1, UserID: "PDANA01", UserName: "Dana Whitfield", UserEmail: "dana@example.com",
			ScheduleID: "PSCHED1", Start: t0.Add(-time.Hour), End: t0.Add(time.Hour)},
		{EscalationPolicyID: "PONCALL", Level: 1, UserID: "PDANA01", UserName: "Dana Whitfield", UserEmail: "dana@example.com",
			ScheduleID: "PSCHED1", Start: t0.Add(23 * time.Hour), End: t0.Add(25 * time.Hour)},
		{EscalationPolicyID: "PONCALL", Level: 2, UserID: "POMAR01", UserName: "Omar Haddad", UserEmail: "omar@example.com"},
		{EscalationPolicyID: "PLEAD01", Level: 1, UserID: "POMAR01", UserName: "Omar Haddad", UserEmail: "omar@example.com"},
	}
}

func TestOnCallsWithGoPagerDuty(t *testing.T) {
	srv := start(t, &fakeClock{now: t0})
	srv.SetOnCalls(onCallRoster())
	srv.SetAPIToken("key")
	c := pd.NewClient("key", pd.WithAPIEndpoint(srv.URL))
	ctx := context.Background()

	resp, err := c.ListOnCallsWithContext(ctx, pd.ListOnCallOptions{EscalationPolicyIDs: []string{"PONCALL"}, Includes: []string{"users"}, Earliest: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.OnCalls) != 2 || resp.More {
		t.Fatalf("%d entries (more %v), want Dana now at level 1 and Omar at level 2", len(resp.OnCalls), resp.More)
	}
	dana := resp.OnCalls[0]
	if dana.User.Name != "Dana Whitfield" || dana.User.Email != "dana@example.com" || dana.EscalationLevel != 1 ||
		dana.EscalationPolicy.ID != "PONCALL" || dana.Schedule.ID != "PSCHED1" || dana.Start != "2025-03-01T09:15:00Z" {
		t.Errorf("first entry %+v", dana)
	}

	// Without include[]=users the user is a reference, named by summary.
	resp, err = c.ListOnCallsWithContext(ctx, pd.ListOnCallOptions{UserIDs: []string{"POMAR01"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.OnCalls) != 2 || resp.OnCalls[0].User.Summary != "Omar Haddad" || resp.OnCalls[0].User.Type != "user_reference" || resp.OnCalls[0].User.Email != "" {
		t.Errorf("entries by user %+v", resp.OnCalls)
	}

	// A window a day ahead finds Dana's next shift, and only it.
	resp, err = c.ListOnCallsWithContext(ctx, pd.ListOnCallOptions{ScheduleIDs: []string{"PSCHED1"},
		Since: t0.Add(22 * time.Hour).Format(time.RFC3339), Until: t0.Add(26 * time.Hour).Format(time.RFC3339)})
	if err != nil || len(resp.OnCalls) != 1 || resp.OnCalls[0].Start != "2025-03-02T09:15:00Z" {
		t.Errorf("tomorrow's entries %+v, %v", resp, err)
	}

	// Pages.
	resp, err = c.ListOnCallsWithContext(ctx, pd.ListOnCallOptions{Limit: 1, Offset: 1})
	if err != nil || len(resp.OnCalls) != 1 || !resp.More || resp.Offset != 1 {
		t.Errorf("second page of one %+v, %v", resp, err)
	}
	if srv.OnCallRequests() != 4 || srv.Requests() != 0 {
		t.Errorf("%d on-call requests and %d events requests, want 4 and 0", srv.OnCallRequests(), srv.Requests())
	}
}

func TestOnCallsRefusals(t *testing.T) {
	srv := start(t, &fakeClock{now: t0})
	srv.SetOnCalls(onCallRoster())
	srv.SetAPIToken("key")
	ctx := context.Background()

	_, err := pd.NewClient("other", pd.WithAPIEndpoint(srv.URL)).ListOnCallsWithContext(ctx, pd.ListOnCallOptions{})
	var apiErr pd.APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusUnauthorized {
		t.Errorf("wrong key: %v, want 401", err)
	}
	srv.FailNextOnCalls(1, pagerdutylocal.Failure{Status: http.StatusTooManyRequests, RetryAfter: 2 * time.Second})
	_, err = pd.NewClient("key", pd.WithAPIEndpoint(srv.URL)).ListOnCallsWithContext(ctx, pd.ListOnCallOptions{})
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusTooManyRequests {
		t.Errorf("injected failure: %v, want 429", err)
	}
	for _, q := range []string{"?limit=500", "?since=yesterday", "?since=2025-03-02T00:00:00Z&until=2025-03-01T00:00:00Z"} {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+pagerdutylocal.OnCallsPath+q, nil)
		req.Header.Set("Authorization", "Token token=key")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body struct {
			Error struct {
				Code   int      `json:"code"`
				Errors []string `json:"errors"`
			} `json:"error"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || body.Error.Code != 2001 || len(body.Error.Errors) == 0 {
			t.Errorf("GET %s = %d %+v, want 400 with the errors", q, resp.StatusCode, body)
		}
	}
}
