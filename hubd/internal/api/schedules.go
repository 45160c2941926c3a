package api

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/uptrace/bun"

	"github.com/xvault/xvault/hubd/internal/health"
	"github.com/xvault/xvault/hubd/internal/retention"
	"github.com/xvault/xvault/hubd/internal/schedule"
	"github.com/xvault/xvault/hubd/internal/store"
	"github.com/xvault/xvault/hubd/internal/validate"
	"github.com/xvault/xvault/sdk"
)

// POST /api/v1/schedules. A retention_policy given here becomes the
// source's policy (the source's policy is the one applied).
func (s *Server) createSchedule(ctx context.Context, c *call) (int, any, error) {
	var req sdk.CreateScheduleRequest
	if err := decode(c, &req); err != nil {
		return 0, nil, err
	}
	now := s.now()
	sch := &store.Schedule{ID: store.NewID(), TenantID: c.tenantID, SourceID: req.SourceID, Timezone: req.Timezone,
		Enabled: req.Enabled == nil || *req.Enabled, CreatedAt: now, UpdatedAt: now}
	if sch.Timezone == "" {
		sch.Timezone = "UTC"
	}
	setTiming(sch, req.Cron, req.IntervalMinutes)
	f := validate.Fields{}
	if req.SourceID == "" {
		f.Add("source_id", "is required")
	}
	spec := checkSchedule(f, sch, req.RetentionPolicy)
	setDrill(sch, req.Verify, schedule.CheckVerify(f, req.Verify, req.VerifyEvery), now)
	sch.AlertAfterMin = checkAlertAfter(f, req.AlertAfter)
	if len(f) > 0 {
		return 0, nil, sdk.FieldErrors(f)
	}
	sch.NextRunAt = nextRun(spec, sch.Enabled, now)
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if _, err := store.GetSource(ctx, tx, c.tenantID, req.SourceID); err != nil {
			return notFoundAs(err, "source")
		}
		if err := s.applySchedulePolicy(ctx, tx, c, sch, req.RetentionPolicy); err != nil {
			return err
		}
		if err := store.CreateSchedule(ctx, tx, sch); err != nil {
			return err
		}
		return s.audit(ctx, tx, c, auditEntry{TenantID: c.tenantID, Action: "schedule.create", ObjectType: "schedule",
			ObjectID: sch.ID, Details: map[string]any{"source_id": sch.SourceID, "cron": deref(sch.Cron),
				"interval_minutes": sch.IntervalMinutes, "timezone": sch.Timezone, "verify": deref(sch.VerifyMode),
				"verify_every": schedule.FormatVerifyEvery(sch.VerifyEveryMin),
				"alert_after":  health.FormatAlertAfter(sch.AlertAfterMin)}})
	})
	if err != nil {
		return 0, nil, wrapf(err, "create schedule")
	}
	return http.StatusCreated, scheduleOut(sch), nil
}

// setDrill sets a schedule's verify drill (minutes 0: none). The first
// drill is due at once: next_verify_at = now.
func setDrill(sch *store.Schedule, mode string, minutes int, now time.Time) {
	sch.VerifyMode, sch.VerifyEveryMin, sch.NextVerifyAt = nil, nil, nil
	if mode == "" || minutes <= 0 {
		return
	}
	sch.VerifyMode, sch.VerifyEveryMin, sch.NextVerifyAt = &mode, &minutes, &now
}

// mergeDrill applies an update's verify and verify_every to sch into f.
// verify "" turns drills off; otherwise the merged mode and period are
// checked together. A new or changed drill is due at once; an unchanged
// one keeps its next_verify_at. It names the changed fields.
func mergeDrill(f validate.Fields, sch *store.Schedule, req *sdk.UpdateScheduleRequest, now time.Time) []string {
	if req.Verify == nil && req.VerifyEvery == nil {
		return nil
	}
	var changed []string
	if req.Verify != nil {
		changed = append(changed, "verify")
	}
	if req.VerifyEvery != nil {
		changed = append(changed, "verify_every")
	}
	if req.Verify != nil && *req.Verify == "" {
		if req.VerifyEvery != nil && *req.VerifyEvery != "" {
			f.Add("verify_every", `must be omitted when verify is "" (drills off)`)
		}
		setDrill(sch, "", 0, now)
		return changed
	}
	mode, every := deref(sch.VerifyMode), schedule.FormatVerifyEvery(sch.VerifyEveryMin)
	if req.Verify != nil {
		mode = *req.Verify
	}
	if req.VerifyEvery != nil {
		every = *req.VerifyEvery
	}
	minutes := schedule.CheckVerify(f, mode, every)
	if mode == deref(sch.VerifyMode) && sch.VerifyEveryMin != nil && minutes == *sch.VerifyEveryMin {
		return changed
	}
	setDrill(sch, mode, minutes, now)
	return changed
}

// checkAlertAfter validates an alert_after into f and returns it in
// minutes; nil for "" (the default: twice the period plus 1 h).
func checkAlertAfter(f validate.Fields, s string) *int {
	if s == "" {
		return nil
	}
	minutes, err := health.ParseAlertAfter(s)
	if err != nil {
		f.Add("alert_after", err.Error())
		return nil
	}
	return &minutes
}

func setTiming(sch *store.Schedule, cron string, interval int) {
	sch.Cron, sch.IntervalMinutes = nil, nil
	if cron != "" {
		sch.Cron = &cron
	}
	if interval != 0 {
		sch.IntervalMinutes = &interval
	}
}

// checkSchedule validates timing, time zone and policy into f.
func checkSchedule(f validate.Fields, sch *store.Schedule, p *sdk.RetentionPolicy) *schedule.Spec {
	iv := 0
	if sch.IntervalMinutes != nil {
		iv = *sch.IntervalMinutes
	}
	spec, sf := schedule.Parse(deref(sch.Cron), iv, sch.Timezone, sch.CreatedAt)
	f.Merge("", sf)
	if p != nil {
		retention.CheckPolicy(f, "retention_policy.", *p)
	}
	return spec
}

func nextRun(spec *schedule.Spec, enabled bool, now time.Time) *time.Time {
	if !enabled || spec == nil {
		return nil
	}
	next := spec.Next(now)
	if next.IsZero() {
		return nil
	}
	return &next
}

// applySchedulePolicy stores a schedule's policy on the schedule and as
// the source's policy.
func (s *Server) applySchedulePolicy(ctx context.Context, tx bun.IDB, c *call, sch *store.Schedule, p *sdk.RetentionPolicy) error {
	if p == nil {
		return nil
	}
	raw, err := json.Marshal(p)
	if err != nil {
		return wrapf(err, "encode retention policy")
	}
	sch.RetentionPolicy = raw
	return s.putPolicy(ctx, tx, c, sch.SourceID, raw, "schedule")
}

// GET /api/v1/schedules[?source_id=]
func (s *Server) listSchedules(ctx context.Context, c *call) (int, any, error) {
	lp, err := listParams(c)
	if err != nil {
		return 0, nil, err
	}
	rows, next, err := store.ListSchedules(ctx, s.db, c.tenantID, store.ScheduleListParams{ListParams: lp,
		SourceID: c.r.URL.Query().Get("source_id")})
	if err != nil {
		return 0, nil, wrapf(err, "list schedules")
	}
	return http.StatusOK, page(rows, next, scheduleOut), nil
}

// GET /api/v1/schedules/{id}
func (s *Server) getSchedule(ctx context.Context, c *call) (int, any, error) {
	sch, err := store.GetSchedule(ctx, s.db, c.tenantID, c.r.PathValue("id"))
	if err != nil {
		return 0, nil, wrapf(notFoundAs(err, "schedule"), "get schedule")
	}
	return http.StatusOK, scheduleOut(sch), nil
}

// PUT /api/v1/schedules/{id}: changes the fields that are set; the merged
// schedule is validated like a new one and its next run recomputed. A new
// or changed verify drill is due at once; verify "" turns drills off.
func (s *Server) updateSchedule(ctx context.Context, c *call) (int, any, error) {
	var req sdk.UpdateScheduleRequest
	if err := decode(c, &req); err != nil {
		return 0, nil, err
	}
	var sch *store.Schedule
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var err error
		if sch, err = store.GetSchedule(ctx, tx, c.tenantID, c.r.PathValue("id")); err != nil {
			return notFoundAs(err, "schedule")
		}
		changed := mergeSchedule(sch, &req)
		f := validate.Fields{}
		if req.Cron != nil && req.IntervalMinutes != nil && *req.Cron != "" && *req.IntervalMinutes != 0 {
			f.Add("cron", "give either cron or interval_minutes, not both")
		}
		spec := checkSchedule(f, sch, req.RetentionPolicy)
		now := s.now()
		changed = append(changed, mergeDrill(f, sch, &req, now)...)
		if req.AlertAfter != nil {
			sch.AlertAfterMin, changed = checkAlertAfter(f, *req.AlertAfter), append(changed, "alert_after")
		}
		if len(f) > 0 {
			return sdk.FieldErrors(f)
		}
		sch.NextRunAt, sch.UpdatedAt = nextRun(spec, sch.Enabled, now), now
		if err := s.applySchedulePolicy(ctx, tx, c, sch, req.RetentionPolicy); err != nil {
			return err
		}
		if err := store.UpdateSchedule(ctx, tx, sch); err != nil {
			return err
		}
		return s.audit(ctx, tx, c, auditEntry{TenantID: c.tenantID, Action: "schedule.update", ObjectType: "schedule",
			ObjectID: sch.ID, Details: map[string]any{"changed": changed}})
	})
	if err != nil {
		return 0, nil, wrapf(err, "update schedule")
	}
	return http.StatusOK, scheduleOut(sch), nil
}

// mergeSchedule applies req to sch and names the changed fields. Setting
// cron clears the interval and the other way round.
func mergeSchedule(sch *store.Schedule, req *sdk.UpdateScheduleRequest) []string {
	changed := []string{}
	cron, iv := deref(sch.Cron), 0
	if sch.IntervalMinutes != nil {
		iv = *sch.IntervalMinutes
	}
	if req.Cron != nil {
		cron, changed = *req.Cron, append(changed, "cron")
		if *req.Cron != "" && req.IntervalMinutes == nil {
			iv = 0
		}
	}
	if req.IntervalMinutes != nil {
		iv, changed = *req.IntervalMinutes, append(changed, "interval_minutes")
		if *req.IntervalMinutes != 0 && req.Cron == nil {
			cron = ""
		}
	}
	setTiming(sch, cron, iv)
	if req.Timezone != nil {
		sch.Timezone, changed = *req.Timezone, append(changed, "timezone")
		if sch.Timezone == "" {
			sch.Timezone = "UTC"
		}
	}
	if req.Enabled != nil {
		sch.Enabled, changed = *req.Enabled, append(changed, "enabled")
	}
	if req.RetentionPolicy != nil {
		changed = append(changed, "retention_policy")
	}
	return changed
}

// GET /api/v1/schedules/{id}/runs: the schedule's slots, newest first:
// fired (a backup queued) or skipped, and why.
func (s *Server) listScheduleRuns(ctx context.Context, c *call) (int, any, error) {
	lp, err := listParams(c)
	if err != nil {
		return 0, nil, err
	}
	id := c.r.PathValue("id")
	if _, err := store.GetSchedule(ctx, s.db, c.tenantID, id); err != nil {
		return 0, nil, wrapf(notFoundAs(err, "schedule"), "list schedule runs")
	}
	rows, next, err := store.PageScheduleRuns(ctx, s.db, c.tenantID, id, lp)
	if err != nil {
		return 0, nil, wrapf(err, "list schedule runs")
	}
	return http.StatusOK, page(rows, next, scheduleRunOut), nil
}

func scheduleRunOut(r *store.ScheduleRun) sdk.ScheduleRun {
	out := sdk.ScheduleRun{ID: r.ID, ScheduleID: r.ScheduleID, TenantID: r.TenantID, Slot: r.Slot,
		Outcome: r.Outcome, Fired: r.Outcome == store.SlotQueued, JobID: deref(r.JobID), CreatedAt: r.CreatedAt}
	switch r.Outcome {
	case store.SlotSkippedActive:
		out.Reason = "the source already had an active backup"
		if out.JobID != "" {
			out.Reason += " (job " + out.JobID + ")"
		}
	case store.SlotSkippedDisabled:
		out.Reason = "the source is disabled"
	case store.SlotSkippedRefused:
		out.Reason = "the hub refused to queue the backup: " + deref(r.Reason)
	}
	return out
}

// DELETE /api/v1/schedules/{id}: the source's retention policy stays.
func (s *Server) deleteSchedule(ctx context.Context, c *call) (int, any, error) {
	id := c.r.PathValue("id")
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if err := store.DeleteSchedule(ctx, tx, c.tenantID, id); err != nil {
			return notFoundAs(err, "schedule")
		}
		return s.audit(ctx, tx, c, auditEntry{TenantID: c.tenantID, Action: "schedule.delete", ObjectType: "schedule",
			ObjectID: id})
	})
	if err != nil {
		return 0, nil, wrapf(err, "delete schedule")
	}
	return http.StatusNoContent, nil, nil
}

func scheduleOut(s *store.Schedule) sdk.Schedule {
	out := sdk.Schedule{ID: s.ID, TenantID: s.TenantID, SourceID: s.SourceID, Cron: deref(s.Cron),
		Timezone: s.Timezone, Enabled: s.Enabled, NextRunAt: s.NextRunAt, LastRunAt: s.LastRunAt,
		CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt}
	if s.IntervalMinutes != nil {
		out.IntervalMinutes = *s.IntervalMinutes
	}
	if s.VerifyMode != nil {
		out.Verify, out.VerifyEvery, out.NextVerifyAt = *s.VerifyMode, schedule.FormatVerifyEvery(s.VerifyEveryMin), s.NextVerifyAt
	}
	out.AlertAfter = health.FormatAlertAfter(s.AlertAfterMin)
	if p, f := retention.DecodePolicy(s.RetentionPolicy); f == nil && !p.IsEmpty() {
		out.RetentionPolicy = &p
	}
	return out
}
