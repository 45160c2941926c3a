// Package schedule owns when backups run by themselves: parsing schedule
// specs (5-field cron in an IANA time zone, or a fixed interval), computing
// the next slot, and the scheduler loop that enqueues a backup when a slot is
// due. A slot fires once even with several hub replicas (a unique
// (schedule, slot) record), is skipped (and recorded) when the source
// already has an active backup, and missed slots after downtime produce one
// catch-up run. Schedules may also carry a verify drill: every period the
// scheduler enqueues verify jobs of the source's snapshots, the newest one
// ("latest") or a rotating sample that covers every snapshot within the
// source's retention window ("sample"); docs/retention.md states the rules.
package schedule

import (
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/xvault/xvault/hubd/internal/retention"
	"github.com/xvault/xvault/hubd/internal/validate"
)

// MaxIntervalMinutes is the longest interval a schedule may have (one year).
const MaxIntervalMinutes = 366 * 24 * 60

var parser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// Spec is a parsed schedule: a cron spec evaluated on the wall clock of Loc,
// or a fixed Interval counted from Anchor.
type Spec struct {
	cron     cron.Schedule
	Interval time.Duration
	Anchor   time.Time
	Loc      *time.Location
}

// Parse checks a schedule's timing fields and reports every problem keyed
// by its JSON name: exactly one of cronSpec and intervalMinutes, a valid
// 5-field cron spec, an interval of 1 minute to a year, a known time zone.
func Parse(cronSpec string, intervalMinutes int, tz string, anchor time.Time) (*Spec, validate.Fields) {
	f := validate.Fields{}
	s := &Spec{Anchor: anchor}
	loc, err := retention.LoadLocation(tz)
	if err != nil {
		f.Add("timezone", err.Error())
	}
	s.Loc = loc
	cronSpec = strings.TrimSpace(cronSpec)
	switch {
	case cronSpec != "" && intervalMinutes != 0:
		f.Add("cron", "give either cron or interval_minutes, not both")
	case cronSpec == "" && intervalMinutes == 0:
		f.Add("cron", "give cron (e.g. \"30 2 * * *\") or interval_minutes")
	case cronSpec != "":
		s.cron, err = ParseCron(cronSpec)
		if err != nil {
			f.Add("cron", err.Error())
		}
	case intervalMinutes < 1 || intervalMinutes > MaxIntervalMinutes:
		f.Add("interval_minutes", fmt.Sprintf("must be between 1 and %d", MaxIntervalMinutes))
	default:
		s.Interval = time.Duration(intervalMinutes) * time.Minute
	}
	if len(f) > 0 {
		return nil, f
	}
	return s, nil
}

// ParseCron reads a standard 5-field cron spec (minute hour day-of-month
// month day-of-week) or a descriptor such as @daily. Time zones are a
// separate field: CRON_TZ= and TZ= prefixes are refused.
func ParseCron(spec string) (cron.Schedule, error) {
	if strings.Contains(spec, "TZ=") || strings.HasPrefix(spec, "@every") || len(spec) > 200 {
		return nil, fmt.Errorf("must be a 5-field cron spec such as \"30 2 * * *\" (set the time zone in timezone)")
	}
	sched, err := parser.Parse(spec)
	if err != nil {
		return nil, fmt.Errorf("must be a 5-field cron spec such as \"30 2 * * *\": %v", err)
	}
	return sched, nil
}

// Next is the first slot strictly after t. Cron specs run on the wall clock
// of Loc, one wall-clock slot at a time: on the day summer time ends a
// wall-clock time that occurs twice fires once, and one that does not exist
// (the spring gap) fires shifted forward by the gap (02:30 → 03:30), so
// daily specs neither double-fire nor skip a day. Intervals are counted
// from Anchor. Zero if there is no next slot.
func (s *Spec) Next(t time.Time) time.Time {
	if s.cron == nil {
		return s.nextInterval(t)
	}
	wall := toWall(t.In(s.Loc))
	for range 100_000 {
		wall = s.cron.Next(wall)
		if wall.IsZero() {
			return time.Time{}
		}
		if at := fromWall(wall, s.Loc); at.After(t) {
			return at.UTC()
		}
	}
	return time.Time{}
}

func (s *Spec) nextInterval(t time.Time) time.Time {
	if s.Interval <= 0 {
		return time.Time{}
	}
	if t.Before(s.Anchor) {
		return s.Anchor.UTC()
	}
	n := t.Sub(s.Anchor)/s.Interval + 1
	return s.Anchor.Add(n * s.Interval).UTC()
}

// toWall is t's wall clock as a UTC time (no DST there).
func toWall(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
}

// fromWall is the instant of wall-clock time w in loc. A wall time in a
// spring gap maps to the later of its two readings (just after the gap).
func fromWall(w time.Time, loc *time.Location) time.Time {
	at := time.Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), w.Second(), w.Nanosecond(), loc)
	if toWall(at).Equal(w) {
		return at
	}
	_, before := at.Add(-3 * time.Hour).Zone()
	_, after := at.Add(3 * time.Hour).Zone()
	a := w.Add(-time.Duration(before) * time.Second)
	b := w.Add(-time.Duration(after) * time.Second)
	if a.After(b) {
		return a.In(loc)
	}
	return b.In(loc)
}
