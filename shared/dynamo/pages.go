package dynamo

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dashboarduz/incident-response/shared/incident"
)

// pageRecord is one entry of the page ledger, in the incident item's
// pages map under pageKey(episode, level).
type pageRecord struct {
	Level      int    `dynamodbav:"level"`
	LevelName  string `dynamodbav:"levelName"`
	At         string `dynamodbav:"at,omitempty"`
	DedupKey   string `dynamodbav:"dedupKey"`
	State      string `dynamodbav:"state"`
	Failure    string `dynamodbav:"failure,omitempty"`
	Episode    int    `dynamodbav:"episode,omitempty"`
	Synced     string `dynamodbav:"synced,omitempty"`
	Attempts   int    `dynamodbav:"attempts,omitempty"`
	LeaseUntil string `dynamodbav:"leaseUntil,omitempty"`
	Released   bool   `dynamodbav:"released,omitempty"`
}

// pageKey is the key of one level's page of one episode in the pages map.
func pageKey(episode, level int) string { return fmt.Sprintf("e%03dl%02d", episode, level) }

func toPageRecord(p incident.Page) pageRecord {
	return pageRecord{
		Level: p.Level, LevelName: p.LevelName, At: formatTime(p.At), DedupKey: p.DedupKey,
		State: string(p.State), Failure: p.Failure, Episode: p.Episode, Synced: string(p.Synced),
		Attempts: p.Attempts, LeaseUntil: formatTime(p.LeaseUntil), Released: p.Released,
	}
}

// toPageRecords builds the pages map; an incident without pages has an
// empty map, never none, so that claiming its first page can set a key in
// it.
func toPageRecords(pages []incident.Page) map[string]pageRecord {
	m := make(map[string]pageRecord, len(pages))
	for _, p := range pages {
		m[pageKey(p.Episode, p.Level)] = toPageRecord(p)
	}
	return m
}

func (r pageRecord) page() (incident.Page, error) {
	p := incident.Page{
		Level: r.Level, LevelName: r.LevelName, DedupKey: r.DedupKey, State: incident.PageState(r.State),
		Failure: r.Failure, Episode: r.Episode, Synced: incident.Status(r.Synced), Attempts: r.Attempts,
		Released: r.Released,
	}
	var err error
	if p.At, err = parseTime(r.At); err != nil {
		return incident.Page{}, err
	}
	if p.LeaseUntil, err = parseTime(r.LeaseUntil); err != nil {
		return incident.Page{}, err
	}
	return p, nil
}

// pagesOf turns the stored map into the incident's pages in episode, then
// level order (the keys sort that way).
func pagesOf(m map[string]pageRecord) ([]incident.Page, error) {
	return ledgerOf(m, pageRecord.page, "page")
}

// ledgerOf turns a ledger stored as a map into its entries in key order,
// decoding each with decode; what names an entry in an error.
func ledgerOf[R, T any](m map[string]R, decode func(R) (T, error), what string) ([]T, error) {
	if len(m) == 0 {
		return nil, nil
	}
	keys := slices.Sorted(maps.Keys(m))
	out := make([]T, 0, len(keys))
	for _, k := range keys {
		v, err := decode(m[k])
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", what, k, err)
		}
		out = append(out, v)
	}
	return out, nil
}

// claimCondition is the condition under which the attempts-th claim
// takes the entry #k of a ledger map (ledger is its bound name, #pages or
// #deliveries): a first claim finds no entry there; a later one finds the
// entry still held, in state claimed, by the claim before it, whose lease
// has run out by now. It binds the names and values it uses in nm and
// values.
func claimCondition(ledger, claimed string, attempts int, now time.Time, nm map[string]string, values map[string]types.AttributeValue) string {
	if attempts == 1 {
		return "attribute_not_exists(" + ledger + ".#k)"
	}
	values[":claimed"] = str(claimed)
	values[":previous"] = number(attempts - 1)
	values[":now"] = str(formatTime(now))
	for _, a := range []string{"state", "attempts", "leaseUntil"} {
		nm["#"+a] = a
	}
	return ledger + ".#k.#state = :claimed AND " + ledger + ".#k.#attempts = :previous AND " + ledger + ".#k.#leaseUntil <= :now"
}

func checkPage(id string, p incident.Page) error {
	switch {
	case id == "":
		return incident.Errorf(incident.EInvalid, "incident ID is empty")
	case p.Episode < 0 || p.Episode > 999:
		return incident.Errorf(incident.EInvalid, "episode %d is not between 0 and 999", p.Episode)
	case p.Level < 1 || p.Level > 99:
		return incident.Errorf(incident.EInvalid, "escalation level %d is not between 1 and 99", p.Level)
	}
	return nil
}

// ClaimPage claims the page p (State PageClaimed, its Attempts and
// LeaseUntil set by the caller) in the incident's page ledger before it is
// sent, and returns the incident as stored with the claim. The one
// conditional write also checks that the incident is still as the plan
// saw it: open, in the plan's status and severity, and in p's episode. With p.Attempts 1 the page
// must never have been claimed; with more, the claim takes over an earlier
// one whose lease has run out by now and that made Attempts-1 claims.
// Anything else (the incident moved on, somebody else holds or has sent
// the page) is an EConflict: read the incident and decide again.
func (s *Store) ClaimPage(ctx context.Context, id string, p incident.Page, plan incident.EscalationState, now time.Time) (incident.Incident, error) {
	if err := checkPage(id, p); err != nil {
		return incident.Incident{}, err
	}
	if p.State != incident.PageClaimed || p.Attempts < 1 || !p.LeaseUntil.After(now) {
		return incident.Incident{}, incident.Errorf(incident.EInvalid, "a page claim needs state claimed, an attempt and a lease after now")
	}
	rec, err := attributevalue.Marshal(toPageRecord(p))
	if err != nil {
		return incident.Incident{}, fmt.Errorf("claim page %d of incident %s: %w", p.Level, id, err)
	}
	if plan.Status == incident.Resolved || plan.Status == "" || plan.Severity == "" {
		return incident.Incident{}, incident.Errorf(incident.EInvalid, "a page claim needs the open status and the severity its plan saw")
	}
	cond := "#status = :status AND #severity = :severity AND #episode = :episode AND "
	values := map[string]types.AttributeValue{
		":page":     rec,
		":one":      number(1),
		":status":   str(string(plan.Status)),
		":severity": str(string(plan.Severity)),
		":episode":  number(p.Episode),
	}
	nm := names(AttrStatus, attrSeverity, attrEpisode, attrPages, attrVersion)
	nm["#k"] = pageKey(p.Episode, p.Level)
	cond += claimCondition("#pages", string(incident.PageClaimed), p.Attempts, now, nm, values)
	out, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.table),
		Key:                       key(incidentPK(id), metaSK),
		UpdateExpression:          aws.String("SET #pages.#k = :page ADD #version :one"),
		ConditionExpression:       aws.String(cond),
		ExpressionAttributeNames:  nm,
		ExpressionAttributeValues: values,
		ReturnValues:              types.ReturnValueAllNew,
	})
	if isConditionFailed(err) {
		return incident.Incident{}, s.conflictOrMissing(ctx, id, fmt.Sprintf("the page to level %d is no longer this claim's to make", p.Level))
	}
	if err != nil {
		return incident.Incident{}, fmt.Errorf("claim page %d of incident %s: %w", p.Level, id, err)
	}
	inc, err := decodeIncident(out.Attributes)
	if err != nil {
		return incident.Incident{}, fmt.Errorf("claim page %d of incident %s: decode: %w", p.Level, id, err)
	}
	return inc, nil
}

// SettlePage records the outcome of a claimed page: p with State PageSent
// (PagerDuty took it at p.At) or PageRejected (it can never be delivered,
// p.Failure says why), on condition that the ledger still holds the claim
// with p.Attempts, so a sender whose claim was taken over records nothing.
// Any acknowledgement or resolution passed on to PagerDuty before is
// forgotten, so that it is passed on again after this trigger. A page
// already settled the same way is not an error (a retried write). The
// page's timeline entry, entryID, is queued to be announced in the same
// write (see incident.Incident.Announce), and, when noted, recorded among
// the notes already written.
func (s *Store) SettlePage(ctx context.Context, id string, p incident.Page, entryID string, noted bool) error {
	if err := checkPage(id, p); err != nil {
		return err
	}
	if p.State != incident.PageSent && p.State != incident.PageRejected {
		return incident.Errorf(incident.EInvalid, "a settled page is sent or rejected, not %q", p.State)
	}
	p.Synced, p.LeaseUntil, p.Released = "", time.Time{}, false
	rec, err := attributevalue.Marshal(toPageRecord(p))
	if err != nil {
		return fmt.Errorf("settle page %d of incident %s: %w", p.Level, id, err)
	}
	nm := names(attrPages, attrVersion, "state", "attempts")
	nm["#k"] = pageKey(p.Episode, p.Level)
	set := []string{"#pages.#k = :page"}
	values := map[string]types.AttributeValue{
		":page": rec, ":one": number(1), ":claimed": str(string(incident.PageClaimed)), ":attempts": number(p.Attempts),
	}
	if entryID != "" {
		values[":none"] = &types.AttributeValueMemberL{Value: []types.AttributeValue{}}
		values[":entry"] = &types.AttributeValueMemberL{Value: []types.AttributeValue{str(entryID)}}
		set = append(set, "#announcements = list_append(if_not_exists(#announcements, :none), :entry)")
		nm["#announcements"] = attrAnnouncements
		if noted {
			set = append(set, "#notes = list_append(if_not_exists(#notes, :none), :entry)")
			nm["#notes"] = attrNotes
		}
	}
	update := "SET " + strings.Join(set, ", ") + " ADD #version :one"
	_, err = s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.table),
		Key:                       key(incidentPK(id), metaSK),
		UpdateExpression:          aws.String(update),
		ConditionExpression:       aws.String("#pages.#k.#state = :claimed AND #pages.#k.#attempts = :attempts"),
		ExpressionAttributeNames:  nm,
		ExpressionAttributeValues: values,
	})
	if isConditionFailed(err) {
		return s.settledAlready(ctx, id, p)
	}
	if err != nil {
		return fmt.Errorf("settle page %d of incident %s: %w", p.Level, id, err)
	}
	return nil
}

// settledAlready accepts a settle whose condition failed because the same
// outcome is stored already; anything else is an EConflict.
func (s *Store) settledAlready(ctx context.Context, id string, p incident.Page) error {
	inc, err := s.GetIncident(ctx, id)
	if err != nil {
		return err
	}
	if cur, ok := inc.LedgerEntry(p.Episode, p.Level); ok && cur.State == p.State && cur.Attempts == p.Attempts {
		return nil
	}
	return incident.Errorf(incident.EConflict, "the claim on the page to level %d of %s was taken over", p.Level, id)
}

// ReleasePage gives up a claim after a failed send by ending its lease at
// now, so the next attempt may claim it at once. A page that is settled,
// claimed by a later attempt, or whose lease has already run out is left
// as it is.
func (s *Store) ReleasePage(ctx context.Context, id string, p incident.Page, now time.Time) error {
	if err := checkPage(id, p); err != nil {
		return err
	}
	nm := names(attrPages, attrVersion, "state", "attempts", "leaseUntil", "released")
	nm["#k"] = pageKey(p.Episode, p.Level)
	_, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                aws.String(s.table),
		Key:                      key(incidentPK(id), metaSK),
		UpdateExpression:         aws.String("SET #pages.#k.#leaseUntil = :now, #pages.#k.#released = :true ADD #version :one"),
		ConditionExpression:      aws.String("#pages.#k.#state = :claimed AND #pages.#k.#attempts = :attempts AND #pages.#k.#leaseUntil > :now"),
		ExpressionAttributeNames: nm,
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":now": str(formatTime(now)), ":one": number(1), ":claimed": str(string(incident.PageClaimed)), ":attempts": number(p.Attempts),
			":true": &types.AttributeValueMemberBOOL{Value: true},
		},
	})
	if err != nil && !isConditionFailed(err) {
		return fmt.Errorf("release page %d of incident %s: %w", p.Level, id, err)
	}
	return nil
}

// MarkSynced records, in one write, which state was passed on to
// PagerDuty for each page: synced maps a page (episode, level) to
// acknowledged or resolved. A page that is not in the ledger is an
// EConflict.
func (s *Store) MarkSynced(ctx context.Context, id string, synced map[[2]int]incident.Status) error {
	if id == "" || len(synced) == 0 {
		return incident.Errorf(incident.EInvalid, "marking pages synced needs an incident and pages")
	}
	nm := names(attrPages, attrVersion, "synced")
	values := map[string]types.AttributeValue{":one": number(1)}
	var set, cond []string
	for i, k := range slices.SortedFunc(maps.Keys(synced), pageKeyCompare) {
		n, v := fmt.Sprintf("#k%d", i), fmt.Sprintf(":s%d", i)
		nm[n] = pageKey(k[0], k[1])
		values[v] = str(string(synced[k]))
		set = append(set, fmt.Sprintf("#pages.%s.#synced = %s", n, v))
		cond = append(cond, fmt.Sprintf("attribute_exists(#pages.%s)", n))
	}
	_, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.table),
		Key:                       key(incidentPK(id), metaSK),
		UpdateExpression:          aws.String("SET " + strings.Join(set, ", ") + " ADD #version :one"),
		ConditionExpression:       aws.String(strings.Join(cond, " AND ")),
		ExpressionAttributeNames:  nm,
		ExpressionAttributeValues: values,
	})
	if isConditionFailed(err) {
		return incident.Errorf(incident.EConflict, "incident %s no longer holds every page being marked synced", id)
	}
	if err != nil {
		return fmt.Errorf("mark pages of incident %s synced: %w", id, err)
	}
	return nil
}

func pageKeyCompare(a, b [2]int) int {
	if a[0] != b[0] {
		return a[0] - b[0]
	}
	return a[1] - b[1]
}
