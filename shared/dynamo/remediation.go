package dynamo

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dashboarduz/incident-response/shared/incident"
)

// The remediation guard rails that concurrent incidents share live in
// items of their own:
//
//	budget       pk=BUDGET#<service>/<action>   sk=BUDGET   the action's recent uses on the service
//	kill switch  pk=SETTINGS                    sk=REMEDIATION#KILL-SWITCH
//
// Each is written with a condition on its version, so two incidents
// spending one budget at once cannot both take its last use. Neither has
// the index attributes.
const (
	budgetPrefix  = "BUDGET#"
	budgetSK      = "BUDGET"
	settingsPK    = "SETTINGS"
	killSwitchSK  = "REMEDIATION#KILL-SWITCH"
	attrUses      = "uses"
	budgetRounds  = 8
	maxBudgetUses = 100
)

func budgetKey(key string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{AttrPK: str(budgetPrefix + key), AttrSK: str(budgetSK)}
}

// BudgetUses returns the recorded uses of a budget (incident.BudgetKey),
// oldest first; a budget never used has none.
func (s *Store) BudgetUses(ctx context.Context, key string) ([]incident.BudgetUse, error) {
	uses, _, err := s.readBudget(ctx, key)
	return uses, err
}

func (s *Store) readBudget(ctx context.Context, key string) ([]incident.BudgetUse, int64, error) {
	if key == "" {
		return nil, 0, incident.Errorf(incident.EInvalid, "a budget needs its key")
	}
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table), Key: budgetKey(key), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, 0, fmt.Errorf("read budget %s: %w", key, err)
	}
	if out.Item == nil {
		return nil, 0, nil
	}
	var version int64
	if v, ok := out.Item[attrVersion].(*types.AttributeValueMemberN); ok {
		if _, err := fmt.Sscan(v.Value, &version); err != nil {
			return nil, 0, fmt.Errorf("read budget %s: version %q: %w", key, v.Value, err)
		}
	}
	var uses []incident.BudgetUse
	if v, ok := out.Item[attrUses].(*types.AttributeValueMemberS); ok {
		if err := json.Unmarshal([]byte(v.Value), &uses); err != nil {
			return nil, 0, fmt.Errorf("read budget %s: decode: %w", key, err)
		}
	}
	return uses, version, nil
}

// SpendBudget records use of the budget key unless refuse, given the
// uses recorded since keepSince, says why not; it returns that refusal
// ("" when the use was recorded). A use already recorded under the same
// key (a retried remediation) is not recorded again and not refused.
// The write is conditional on the budget's version, so concurrent
// spenders of one budget are serialized: each decides on the uses the
// others recorded.
func (s *Store) SpendBudget(ctx context.Context, key string, use incident.BudgetUse, keepSince time.Time, refuse func([]incident.BudgetUse) string) (string, error) {
	for round := range budgetRounds {
		if round > 0 {
			if err := incident.Sleep(ctx, time.Duration(5<<min(round, 6))*time.Millisecond); err != nil {
				return "", fmt.Errorf("spend budget %s: %w", key, err)
			}
		}
		uses, version, err := s.readBudget(ctx, key)
		if err != nil {
			return "", err
		}
		if slices.ContainsFunc(uses, func(u incident.BudgetUse) bool { return u.Key == use.Key }) {
			return "", nil
		}
		uses = slices.DeleteFunc(uses, func(u incident.BudgetUse) bool { return u.At.Before(keepSince) })
		if why := refuse(uses); why != "" {
			return why, nil
		}
		uses = append(uses, incident.BudgetUse{Key: use.Key, At: use.At.UTC()})
		if len(uses) > maxBudgetUses {
			uses = uses[len(uses)-maxBudgetUses:]
		}
		err = s.putVersioned(ctx, budgetKey(key), version, map[string]types.AttributeValue{attrUses: str(mustJSON(uses)), "budget": str(key)})
		if err == nil {
			return "", nil
		}
		if !isConditionFailed(err) {
			return "", fmt.Errorf("spend budget %s: %w", key, err)
		}
	}
	return "", incident.Errorf(incident.EConflict, "budget %s is being spent by others right now (still contended after %d attempts)", key, budgetRounds)
}

// putVersioned writes an item with version expected+1, on condition that
// its stored version is expected (no item when expected is 0).
func (s *Store) putVersioned(ctx context.Context, k map[string]types.AttributeValue, expected int64, attrs map[string]types.AttributeValue) error {
	item := map[string]types.AttributeValue{AttrPK: k[AttrPK], AttrSK: k[AttrSK], attrVersion: number(expected + 1)}
	maps.Copy(item, attrs)
	return s.putIfVersion(ctx, item, attrVersion, expected)
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("dynamo: encode %T: %v", v, err))
	}
	return string(b)
}

// KillSwitch returns the remediation kill switch as an admin last set
// it; one never set is ENotFound (the deployment's default applies).
func (s *Store) KillSwitch(ctx context.Context) (incident.KillSwitch, error) {
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table), Key: key(settingsPK, killSwitchSK), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return incident.KillSwitch{}, fmt.Errorf("read the remediation kill switch: %w", err)
	}
	v, ok := out.Item["setting"].(*types.AttributeValueMemberS)
	if !ok {
		return incident.KillSwitch{}, incident.Errorf(incident.ENotFound, "the remediation kill switch was never set")
	}
	var k incident.KillSwitch
	if err := json.Unmarshal([]byte(v.Value), &k); err != nil {
		return incident.KillSwitch{}, fmt.Errorf("read the remediation kill switch: decode: %w", err)
	}
	if n, ok := out.Item[attrVersion].(*types.AttributeValueMemberN); ok {
		if _, err := fmt.Sscan(n.Value, &k.Version); err != nil {
			return incident.KillSwitch{}, fmt.Errorf("read the remediation kill switch: version %q: %w", n.Value, err)
		}
	}
	k.Source = "table"
	return k, nil
}

// SetKillSwitch stores the kill switch, on condition that its stored
// version is still k.Version (0: never set), and returns it as stored;
// a concurrent change is EConflict.
func (s *Store) SetKillSwitch(ctx context.Context, k incident.KillSwitch) (incident.KillSwitch, error) {
	expected := k.Version
	k.Version, k.Source, k.At = 0, "", k.At.UTC()
	err := s.putVersioned(ctx, key(settingsPK, killSwitchSK), expected, map[string]types.AttributeValue{"setting": str(mustJSON(k))})
	if isConditionFailed(err) {
		return incident.KillSwitch{}, incident.Errorf(incident.EConflict, "the remediation kill switch was changed concurrently (version %d is stale); read it and try again", expected)
	}
	if err != nil {
		return incident.KillSwitch{}, fmt.Errorf("set the remediation kill switch: %w", err)
	}
	k.Version, k.Source = expected+1, "table"
	return k, nil
}
