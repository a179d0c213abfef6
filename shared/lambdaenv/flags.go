package lambdaenv

import (
	"fmt"
	"os"
	"strings"
)

// EnvRemediationKillSwitch, "on", is the remediation kill switch while
// the table holds no setting: the deployment's default, read by the
// remediate function and by the api function that reports it.
const EnvRemediationKillSwitch = "REMEDIATION_KILL_SWITCH"

// KillSwitchDefault reads EnvRemediationKillSwitch: "on" or "off", unset
// meaning off.
func KillSwitchDefault() (bool, error) {
	return ParseFlag(EnvRemediationKillSwitch, os.Getenv(EnvRemediationKillSwitch), "on", "off")
}

// ParseFlag reads a two-valued setting named name: yes or no in any
// case, empty meaning no; anything else is an error naming the setting.
func ParseFlag(name, v, yes, no string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "", no:
		return false, nil
	case yes:
		return true, nil
	}
	return false, fmt.Errorf("%s is %q, not %s or %s", name, v, yes, no)
}
