package eventbridge

import "github.com/dashboarduz/incident-response/shared/incident"

// EnvAllowList names the environment variable that, when set, holds the
// allow-list document (see ParseAllowList) replacing DefaultAllowList.
const EnvAllowList = "EVENT_ALLOW_LIST"

// AllowListFrom returns the allow-list in doc, validated, or
// DefaultAllowList when doc is empty: what the ingest function does with
// EnvAllowList.
func AllowListFrom(doc string) (AllowList, error) {
	return incident.SettingsFrom(doc, EnvAllowList, DefaultAllowList, ParseAllowList)
}
