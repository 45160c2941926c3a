package monitor

import (
	"encoding/json"
	"time"

	"github.com/xvault/xvault/sdk"
)

// data is what the monitor knows of the hub: the last reload plus every
// event since.
type data struct {
	jobs      map[string]*jobState
	agents    map[string]sdk.Agent
	sources   map[string]sdk.Source
	snapshots map[string]sdk.Snapshot
	lastSnap  map[string]sdk.Snapshot // per source, beyond the newest page
	overdue   map[string]overdueMark  // source id -> when source.overdue came
	agentsErr string
	health    map[string]sdk.SourceHealth // nil: derive health from jobs and snapshots
}

type overdueMark struct {
	at       time.Time
	problems []string
}

// jobState is a job and what the monitor measured of it.
type jobState struct {
	job      sdk.Job
	rate     float64   // smoothed bytes read per second
	sampleAt time.Time // when the last progress sample was taken
	sampleRd int64     // bytes read at that sample
	timeline []stamp   // status changes seen
}

type stamp struct {
	at     time.Time
	status sdk.JobStatus
}

// rateSmoothing is the weight of the newest sample in the moving average.
const rateSmoothing = 0.3

func newData() *data {
	return &data{
		jobs: map[string]*jobState{}, agents: map[string]sdk.Agent{}, sources: map[string]sdk.Source{},
		snapshots: map[string]sdk.Snapshot{}, lastSnap: map[string]sdk.Snapshot{}, overdue: map[string]overdueMark{},
	}
}

// replace swaps in a reload, keeping the rates and timelines of the jobs
// it still lists and the overdue marks of the sources.
func (d *data) replace(l *loaded) {
	old := d.jobs
	d.jobs = map[string]*jobState{}
	for _, j := range l.jobs {
		if prev, ok := old[j.ID]; ok {
			prev.job = j
			prev.note(j.Status, jobTime(j))
			d.jobs[j.ID] = prev
			continue
		}
		d.jobs[j.ID] = newJobState(j)
	}
	d.agents = map[string]sdk.Agent{}
	for _, a := range l.agents {
		d.agents[a.ID] = a
	}
	d.sources = map[string]sdk.Source{}
	for _, s := range l.sources {
		d.sources[s.ID] = s
	}
	d.snapshots = map[string]sdk.Snapshot{}
	for _, s := range l.snapshots {
		d.snapshots[s.ID] = s
	}
	d.lastSnap = l.lastSnap
	d.agentsErr = l.agentsErr
	d.health = l.health
}

func newJobState(j sdk.Job) *jobState {
	js := &jobState{job: j}
	js.timeline = append(js.timeline, stamp{j.CreatedAt, sdk.JobQueued})
	if j.StartedAt != nil {
		js.timeline = append(js.timeline, stamp{*j.StartedAt, sdk.JobRunning})
	}
	if j.Status != sdk.JobQueued && j.Status != sdk.JobRunning {
		js.note(j.Status, jobTime(j))
	}
	if j.Progress != nil {
		js.sampleRd = j.Progress.BytesRead
	}
	return js
}

// jobTime is when a job last changed, as far as its fields tell.
func jobTime(j sdk.Job) time.Time {
	if j.FinishedAt != nil {
		return *j.FinishedAt
	}
	if j.StartedAt != nil {
		return *j.StartedAt
	}
	return j.CreatedAt
}

// note adds a status change to the timeline unless it is the last one.
func (js *jobState) note(s sdk.JobStatus, at time.Time) {
	if n := len(js.timeline); n > 0 && js.timeline[n-1].status == s {
		return
	}
	js.timeline = append(js.timeline, stamp{at, s})
}

// sample folds a progress reading taken at `at` into the smoothed rate.
func (js *jobState) sample(p *sdk.Progress, at time.Time) {
	if p == nil {
		return
	}
	if !js.sampleAt.IsZero() && at.After(js.sampleAt) && p.BytesRead >= js.sampleRd {
		inst := float64(p.BytesRead-js.sampleRd) / at.Sub(js.sampleAt).Seconds()
		if js.rate == 0 {
			js.rate = inst
		} else {
			js.rate = rateSmoothing*inst + (1-rateSmoothing)*js.rate
		}
	}
	js.sampleAt, js.sampleRd = at, p.BytesRead
}

// apply folds one event into the data. An event whose data it cannot read
// is an error (the caller shows it; the stream goes on).
func (d *data) apply(ev sdk.Event, now time.Time) error {
	at := ev.Time
	if at.IsZero() {
		at = now
	}
	switch ev.Type {
	case sdk.EventJobCreated, sdk.EventJobUpdated, sdk.EventJobProgress, sdk.EventJobFailed:
		var j sdk.Job
		if err := json.Unmarshal(ev.Data, &j); err != nil || j.ID == "" {
			return errBadEvent(ev, err)
		}
		js, ok := d.jobs[j.ID]
		if !ok {
			js = newJobState(j)
			d.jobs[j.ID] = js
		}
		js.job = j
		js.note(j.Status, at)
		js.sample(j.Progress, at)
		if !j.Status.Active() {
			js.rate = 0
		}
	case sdk.EventSnapshotCreated, sdk.EventSnapshotVerified:
		var s sdk.Snapshot
		if err := json.Unmarshal(ev.Data, &s); err != nil || s.ID == "" {
			return errBadEvent(ev, err)
		}
		d.snapshots[s.ID] = s
		if s.Status == sdk.SnapshotCompleted {
			delete(d.overdue, s.SourceID)
			d.snapshotTaken(s.SourceID)
		}
	case sdk.EventSnapshotDeleted:
		var s sdk.Snapshot
		if err := json.Unmarshal(ev.Data, &s); err != nil || s.ID == "" {
			return errBadEvent(ev, err)
		}
		delete(d.snapshots, s.ID)
		if ls, ok := d.lastSnap[s.SourceID]; ok && ls.ID == s.ID {
			delete(d.lastSnap, s.SourceID)
		}
	case sdk.EventAgentOnline, sdk.EventAgentOffline, sdk.EventAgentDraining:
		var a sdk.Agent
		if err := json.Unmarshal(ev.Data, &a); err != nil || a.ID == "" {
			return errBadEvent(ev, err)
		}
		d.agents[a.ID] = a
	case sdk.EventSourceOverdue:
		var h struct {
			SourceID string   `json:"source_id"`
			Problems []string `json:"problems"`
		}
		if err := json.Unmarshal(ev.Data, &h); err != nil || h.SourceID == "" {
			return errBadEvent(ev, err)
		}
		d.overdue[h.SourceID] = overdueMark{at: at, problems: h.Problems}
	}
	return nil
}

// snapshotTaken drops the hub's problems of a source that a completed
// snapshot ends: never backed up, overdue, failing. An offline agent
// holding older snapshots stays a problem.
func (d *data) snapshotTaken(sourceID string) {
	sh, ok := d.health[sourceID]
	if !ok {
		return
	}
	var keep []string
	for _, p := range sh.Problems {
		if sdk.ProblemCode(p) == sdk.HealthAgentOffline {
			keep = append(keep, p)
		}
	}
	if len(keep) == 0 {
		delete(d.health, sourceID)
		return
	}
	sh.Problems = keep
	d.health[sourceID] = sh
}

type badEventError struct {
	id  int64
	typ string
	err error
}

func (e *badEventError) Error() string {
	if e.err == nil {
		return "event " + e.typ + " has no object id"
	}
	return "event " + e.typ + ": " + e.err.Error()
}

func errBadEvent(ev sdk.Event, err error) error { return &badEventError{ev.ID, ev.Type, err} }
