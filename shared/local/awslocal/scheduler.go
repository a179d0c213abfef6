package awslocal

import (
	"cmp"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"
)

var (
	scheduleName = regexp.MustCompile(`^[0-9a-zA-Z\-_.]{1,64}$`)
	scheduleAt   = regexp.MustCompile(`^at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)$`)
)

type schedTarget struct {
	Arn     string `json:"Arn"`
	RoleArn string `json:"RoleArn"`
	Input   string `json:"Input,omitempty"`
}

func scheduleARN(group, name string) string {
	return fmt.Sprintf("arn:aws:scheduler:%s:%s:schedule/%s/%s", Region, Account, group, name)
}

func schedNotFound(name string) *apiError {
	return &apiError{Code: "ResourceNotFoundException", Status: http.StatusNotFound, Message: fmt.Sprintf("Schedule %s does not exist.", name)}
}

func schedValidation(format string, args ...any) *apiError {
	return badRequest("ValidationException", format, args...)
}

func (r *request) findSchedule(group, name string) (int, *Schedule) {
	for i := range r.world.Schedules {
		s := &r.world.Schedules[i]
		if s.Name == name && cmp.Or(s.GroupName, "default") == group {
			return i, s
		}
	}
	return -1, nil
}

func schedCreateSchedule(r *request) (any, error) {
	var in struct {
		Name                       string                 `json:"Name"`
		GroupName                  string                 `json:"GroupName"`
		ScheduleExpression         string                 `json:"ScheduleExpression"`
		ScheduleExpressionTimezone string                 `json:"ScheduleExpressionTimezone"`
		State                      string                 `json:"State"`
		ActionAfterCompletion      string                 `json:"ActionAfterCompletion"`
		Description                string                 `json:"Description"`
		ClientToken                string                 `json:"ClientToken"`
		FlexibleTimeWindow         *struct{ Mode string } `json:"FlexibleTimeWindow"`
		Target                     *schedTarget           `json:"Target"`
	}
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	group := cmp.Or(in.GroupName, "default")
	if err := validateSchedule(in.Name, group, in.FlexibleTimeWindow == nil || in.FlexibleTimeWindow.Mode == "", in.Target); err != nil {
		return nil, err
	}
	at, err := scheduleTime(in.ScheduleExpression, in.ScheduleExpressionTimezone)
	if err != nil {
		return nil, err
	}
	if _, s := r.findSchedule(group, in.Name); s != nil {
		if in.ClientToken != "" && s.ClientToken == in.ClientToken {
			return map[string]any{"ScheduleArn": scheduleARN(group, in.Name)}, nil
		}
		return nil, &apiError{Code: "ConflictException", Status: http.StatusConflict, Message: fmt.Sprintf("Schedule %s already exists.", in.Name)}
	}
	r.world.Schedules = append(r.world.Schedules, Schedule{
		Name: in.Name, GroupName: group, Expression: in.ScheduleExpression, Timezone: in.ScheduleExpressionTimezone,
		State: cmp.Or(in.State, "ENABLED"), ActionAfterCompletion: cmp.Or(in.ActionAfterCompletion, "NONE"),
		TargetARN: in.Target.Arn, RoleARN: in.Target.RoleArn, Input: in.Target.Input, Description: in.Description,
		At: at, ClientToken: in.ClientToken, CreatedAt: r.now,
	})
	return map[string]any{"ScheduleArn": scheduleARN(group, in.Name)}, nil
}

func validateSchedule(name, group string, noWindow bool, t *schedTarget) error {
	switch {
	case !scheduleName.MatchString(name):
		return schedValidation("Name %q must be 1 to 64 of [0-9a-zA-Z-_.].", name)
	case group != "default":
		return &apiError{Code: "ResourceNotFoundException", Status: http.StatusNotFound, Message: fmt.Sprintf("Schedule group %s does not exist.", group)}
	case noWindow:
		return schedValidation("FlexibleTimeWindow with a Mode is required.")
	case t == nil || t.Arn == "" || t.RoleArn == "":
		return schedValidation("Target with Arn and RoleArn is required.")
	}
	return nil
}

// scheduleTime checks a schedule expression and returns when an at(...)
// expression fires (zero for rate and cron).
func scheduleTime(expr, tz string) (time.Time, error) {
	loc := time.UTC
	if tz != "" {
		l, err := time.LoadLocation(tz)
		if err != nil {
			return time.Time{}, schedValidation("Invalid ScheduleExpressionTimezone %q.", tz)
		}
		loc = l
	}
	if m := scheduleAt.FindStringSubmatch(expr); m != nil {
		t, err := time.ParseInLocation("2006-01-02T15:04:05", m[1], loc)
		if err != nil {
			return time.Time{}, schedValidation("Invalid Schedule Expression %s.", expr)
		}
		return t.UTC(), nil
	}
	if (strings.HasPrefix(expr, "rate(") || strings.HasPrefix(expr, "cron(")) && strings.HasSuffix(expr, ")") {
		return time.Time{}, nil
	}
	return time.Time{}, schedValidation("Invalid Schedule Expression %s.", expr)
}

func schedGetSchedule(r *request) (any, error) {
	var in struct {
		Name      string `json:"Name"`
		GroupName string `json:"groupName"`
	}
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	group := cmp.Or(in.GroupName, "default")
	_, s := r.findSchedule(group, in.Name)
	if s == nil {
		return nil, schedNotFound(in.Name)
	}
	out := map[string]any{
		"Arn": scheduleARN(group, s.Name), "Name": s.Name, "GroupName": group,
		"ScheduleExpression": s.Expression, "State": s.State, "ActionAfterCompletion": s.ActionAfterCompletion,
		"FlexibleTimeWindow": map[string]any{"Mode": "OFF"},
		"Target":             schedTarget{Arn: s.TargetARN, RoleArn: s.RoleARN, Input: s.Input},
		"CreationDate":       epoch(s.CreatedAt), "LastModificationDate": epoch(s.CreatedAt),
	}
	if s.Timezone != "" {
		out["ScheduleExpressionTimezone"] = s.Timezone
	}
	if s.Description != "" {
		out["Description"] = s.Description
	}
	return out, nil
}

func schedDeleteSchedule(r *request) (any, error) {
	var in struct {
		Name      string `json:"Name"`
		GroupName string `json:"groupName"`
	}
	if err := r.decode(&in); err != nil {
		return nil, err
	}
	i, s := r.findSchedule(cmp.Or(in.GroupName, "default"), in.Name)
	if s == nil {
		return nil, schedNotFound(in.Name)
	}
	r.world.Schedules = append(r.world.Schedules[:i], r.world.Schedules[i+1:]...)
	return map[string]any{}, nil
}
