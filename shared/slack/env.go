package slack

// The environment variables the functions that talk to Slack (notify,
// api) read their Slack settings from; the CDK app sets them.
const (
	// EnvSecretArn names the Slack app's secret, a JSON object with
	// botToken and signingSecret; unset means Slack is off.
	EnvSecretArn = "SLACK_SECRET_ARN"
	// EnvUserDirectory maps Slack user IDs to responders (JSON, see
	// ParseDirectory).
	EnvUserDirectory = "SLACK_USER_DIRECTORY"
	// EnvAPIURL points the Web API client elsewhere than Slack (a local
	// stand-in).
	EnvAPIURL = "SLACK_API_URL"
	// EnvTeamID, when set, is the only workspace whose users may act.
	EnvTeamID = "SLACK_TEAM_ID"
)
