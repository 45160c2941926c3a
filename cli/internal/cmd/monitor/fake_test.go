package monitor

import (
	"context"
	"encoding/json"
	"flag"
	"iter"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/sdk"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

func TestMain(m *testing.M) {
	lipgloss.SetColorProfile(termenv.Ascii)
	os.Exit(m.Run())
}

// t0 is the fixed clock of every test.
var t0 = time.Date(2026, 3, 1, 12, 3, 4, 0, time.UTC)

func at(d time.Duration) *time.Time { t := t0.Add(d); return &t }

// fakeHub answers from fixed data and records what was done.
type fakeHub struct {
	mu        sync.Mutex
	tenant    string // "" = the platform view
	status    *sdk.Status
	statusErr error
	listErr   error
	agentsErr error
	tenants   []sdk.Tenant
	jobs      []sdk.Job
	agents    []sdk.Agent
	sources   []sdk.Source
	snapshots []sdk.Snapshot
	byTenant  map[string]*fakeHub

	canceled []string
	created  []sdk.CreateJobRequest
}

func (h *fakeHub) Status(context.Context) (*sdk.Status, error) { return h.status, h.statusErr }

func (h *fakeHub) ListTenants(context.Context, sdk.ListOptions) (*sdk.Page[sdk.Tenant], error) {
	return &sdk.Page[sdk.Tenant]{Items: h.tenants}, h.listErr
}

func (h *fakeHub) ListJobs(_ context.Context, o sdk.JobListOptions) (*sdk.Page[sdk.Job], error) {
	if h.listErr != nil {
		return nil, h.listErr
	}
	var out []sdk.Job
	for _, j := range h.jobs {
		if o.Status == "" || j.Status == o.Status {
			out = append(out, j)
		}
	}
	return &sdk.Page[sdk.Job]{Items: out}, nil
}

func (h *fakeHub) ListAgents(context.Context, sdk.ListOptions) (*sdk.Page[sdk.Agent], error) {
	if h.agentsErr != nil {
		return nil, h.agentsErr
	}
	return &sdk.Page[sdk.Agent]{Items: h.agents}, h.listErr
}

func (h *fakeHub) ListSources(context.Context, sdk.SourceListOptions) (*sdk.Page[sdk.Source], error) {
	return &sdk.Page[sdk.Source]{Items: h.sources}, h.listErr
}

func (h *fakeHub) ListSnapshots(_ context.Context, o sdk.SnapshotListOptions) (*sdk.Page[sdk.Snapshot], error) {
	var out []sdk.Snapshot
	for _, s := range h.snapshots {
		if o.SourceID == "" || s.SourceID == o.SourceID {
			out = append(out, s)
		}
	}
	if o.Limit > 0 && len(out) > o.Limit {
		out = out[:o.Limit]
	}
	return &sdk.Page[sdk.Snapshot]{Items: out}, h.listErr
}

func (h *fakeHub) GetJob(_ context.Context, id string) (*sdk.Job, error) {
	for _, j := range h.jobs {
		if j.ID == id {
			return &j, nil
		}
	}
	return nil, sdk.Errorf(sdk.CodeNotFound, "job not found")
}

func (h *fakeHub) CancelJob(_ context.Context, id string) (*sdk.Job, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.canceled = append(h.canceled, id)
	for _, j := range h.jobs {
		if j.ID == id {
			j.CancelRequested = true
			return &j, nil
		}
	}
	return nil, sdk.Errorf(sdk.CodeNotFound, "job not found")
}

func (h *fakeHub) CreateJob(_ context.Context, req sdk.CreateJobRequest) (*sdk.Job, bool, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.created = append(h.created, req)
	j := sdk.Job{ID: "99999999-0000-4000-8000-000000000000", TenantID: h.tenant, SourceID: req.SourceID, Type: sdk.JobBackup,
		Status: sdk.JobQueued, Attempt: 0, MaxAttempts: 3, CreatedAt: t0}
	return &j, true, nil
}

// noEvents is an EventSource the tests never run: they send event
// messages themselves.
type noEvents struct{}

func (noEvents) Events(context.Context, sdk.EventsOptions) iter.Seq2[sdk.Event, error] {
	return func(func(sdk.Event, error) bool) {}
}

const (
	tenantA = "aaaaaaaa-1111-4111-8111-111111111111"
	tenantB = "bbbbbbbb-2222-4222-8222-222222222222"
	srcWeb  = "5e0f1a2b-0000-4000-8000-00000000000a"
	srcDB   = "5e0f1a2b-0000-4000-8000-00000000000b"
	srcLost = "5e0f1a2b-0000-4000-8000-00000000000c"
	agent1  = "a9e71000-0000-4000-8000-000000000001"
)

func ownerStatus(role sdk.Role) *sdk.Status {
	return &sdk.Status{Caller: sdk.Caller{Kind: sdk.TokenTenant, TenantID: tenantA, Role: role}}
}

// fleet is one tenant with a running backup, a failed one, a finished one
// and a never-backed-up source.
func fleet(role sdk.Role) *fakeHub {
	return &fakeHub{
		tenant:    tenantA,
		status:    ownerStatus(role),
		agentsErr: sdk.Errorf(sdk.CodePermissionDenied, "platform admins only"),
		sources: []sdk.Source{
			{ID: srcWeb, TenantID: tenantA, Type: sdk.SourceSFTP, Name: "web1", Status: sdk.SourceActive},
			{ID: srcDB, TenantID: tenantA, Type: sdk.SourceMySQL, Name: "shop-db", Status: sdk.SourceActive},
			{ID: srcLost, TenantID: tenantA, Type: sdk.SourceFTP, Name: "legacy-ftp", Status: sdk.SourceActive},
		},
		jobs: []sdk.Job{
			{ID: "1a000000-0000-4000-8000-000000000001", TenantID: tenantA, SourceID: srcWeb, Type: sdk.JobBackup,
				Status: sdk.JobRunning, Attempt: 1, MaxAttempts: 3, AgentID: agent1, CreatedAt: t0.Add(-5 * time.Minute),
				StartedAt: at(-4 * time.Minute), Progress: &sdk.Progress{FilesDone: 1200, BytesRead: 512 << 20, BytesWritten: 200 << 20,
					CurrentPath: "/var/www/html/wp-content/uploads/2026/02/a-very-long-file-name-for-the-middle-cut.jpg"}},
			{ID: "1a000000-0000-4000-8000-000000000002", TenantID: tenantA, SourceID: srcDB, Type: sdk.JobBackup,
				Status: sdk.JobFailed, Attempt: 3, MaxAttempts: 3, AgentID: agent1, CreatedAt: t0.Add(-2 * time.Hour),
				StartedAt: at(-2 * time.Hour), FinishedAt: at(-110 * time.Minute),
				ErrorMessage: "mysqldump: Got error: 1045: Access denied for user 'backup'@'10.0.0.5' (using password: YES) when trying to connect"},
			{ID: "1a000000-0000-4000-8000-000000000003", TenantID: tenantA, SourceID: srcWeb, Type: sdk.JobBackup,
				Status: sdk.JobCompleted, Attempt: 1, MaxAttempts: 3, AgentID: agent1, CreatedAt: t0.Add(-25 * time.Hour),
				StartedAt: at(-25 * time.Hour), FinishedAt: at(-24 * time.Hour),
				Progress: &sdk.Progress{FilesDone: 2400, BytesRead: 1 << 30, BytesWritten: 400 << 20}},
		},
		snapshots: []sdk.Snapshot{
			{ID: "5a000000-0000-4000-8000-000000000001", TenantID: tenantA, SourceID: srcWeb, JobID: "1a000000-0000-4000-8000-000000000003",
				Status: sdk.SnapshotCompleted, SizeBytes: 400 << 20, PlainBytes: 1 << 30, FileCount: 2400, AgentID: agent1,
				StorageBackend: sdk.StorageLocalFS, CreatedAt: t0.Add(-24 * time.Hour), FinishedAt: at(-24 * time.Hour), VerifyStatus: sdk.VerifyOK},
			{ID: "5a000000-0000-4000-8000-000000000002", TenantID: tenantA, SourceID: srcDB, JobID: "1a000000-0000-4000-8000-000000000009",
				Status: sdk.SnapshotCompleted, SizeBytes: 30 << 20, PlainBytes: 90 << 20, FileCount: 3, AgentID: agent1,
				StorageBackend: sdk.StorageLocalFS, CreatedAt: t0.Add(-72 * time.Hour), VerifyStatus: sdk.VerifyCorrupt},
		},
	}
}

// start runs a model through its start: size, who-am-I, first load.
func start(t *testing.T, h *fakeHub, w, ht int, tweak ...func(*Config)) *Model {
	t.Helper()
	now := t0
	cfg := Config{Hub: h, Events: noEvents{}, HubURL: "http://hub.example:8080", Now: func() time.Time { return now },
		Jitter: func(d time.Duration) time.Duration { return d }}
	for _, f := range tweak {
		f(&cfg)
	}
	m := New(context.Background(), cfg)
	require.NotNil(t, m.Init())
	m.Update(tea.WindowSizeMsg{Width: w, Height: ht})
	// A closed stream channel: waiting on it returns at once (nil).
	ch := make(chan tea.Msg)
	close(ch)
	m.Update(streamStartedMsg{ch})
	_, cmd := m.Update(m.statusCmd()())
	if cmd != nil {
		m.Update(cmd())
	}
	return m
}

// clock moves the model's clock by d.
func clock(m *Model, d time.Duration) {
	now := m.cfg.Now().Add(d)
	m.cfg.Now = func() time.Time { return now }
}

func press(m *Model, keys ...string) tea.Cmd {
	var cmd tea.Cmd
	for _, k := range keys {
		var msg tea.KeyMsg
		switch k {
		case "enter":
			msg = tea.KeyMsg{Type: tea.KeyEnter}
		case "esc":
			msg = tea.KeyMsg{Type: tea.KeyEsc}
		default:
			msg = tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(k)}
		}
		_, cmd = m.Update(msg)
	}
	return cmd
}

func typeText(m *Model, s string) {
	for _, r := range s {
		m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}})
	}
}

func event(t *testing.T, typ string, obj any, when time.Time) eventMsg {
	t.Helper()
	b, err := json.Marshal(obj)
	require.NoError(t, err)
	return eventMsg{sdk.Event{ID: when.Unix(), Type: typ, Time: when, Data: b}}
}

// golden compares a rendering with testdata/NAME.golden (-update rewrites).
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test -update to create it")
	require.Equal(t, string(want), got)
}

// screenLines checks a rendering is exactly w×h.
func requireSize(t *testing.T, view string, w, h int) {
	t.Helper()
	lines := strings.Split(view, "\n")
	require.Len(t, lines, h)
	for i, l := range lines {
		require.LessOrEqual(t, lipgloss.Width(l), w, "line %d too wide: %q", i, l)
	}
}

func rowIDs(m *Model) []string {
	var ids []string
	for _, r := range m.rowsOf(m.tab) {
		ids = append(ids, shortID(r.id))
	}
	return ids
}
