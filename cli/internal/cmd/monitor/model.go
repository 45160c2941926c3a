package monitor

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/xvault/xvault/sdk"
)

// Config is what the monitor needs from the command.
type Config struct {
	Hub    Hub
	Events EventSource // nil: the hub is polled instead
	Drain  Drainer     // nil: no `d`
	// ForTenant is Hub for one tenant's objects. A platform admin who
	// names no tenant watches all of them: they are read, and acted on,
	// tenant by tenant through it.
	ForTenant func(tenantID string) Hub
	HubURL    string
	Tenant    string // the tenant named with --tenant/XV_TENANT
	ReadOnly  bool   // --readonly
	Now       func() time.Time
	Jitter    func(time.Duration) time.Duration // nil: random 0.5-1.5×
}

// Timings of the link.
const (
	pollEvery    = 5 * time.Second  // without an event stream
	refreshEvery = time.Minute      // a full reload: ages, last seen, the hub's health verdicts
	offlineAfter = 60 * time.Second // "reconnecting" turns "offline"
	backoffMin   = time.Second
	backoffMax   = 30 * time.Second
	actionWait   = 30 * time.Second
)

type linkState int

const (
	linkConnecting linkState = iota
	linkLive
	linkDown
	linkAuth // the token was rejected: nothing will work until it changes
)

// confirm is a pending action awaiting y.
type confirm struct {
	prompt string
	run    tea.Cmd
}

// Model is the root model: header, tabs, the four panes, the detail pane,
// the footer. Update only changes state; I/O runs in tea.Cmds.
type Model struct {
	ctx    context.Context
	cfg    Config
	keys   keyMap
	help   help.Model
	input  textinput.Model
	width  int
	height int

	data    *data
	panes   [4]*pane
	tab     paneKind
	zoom    bool // enter: the detail pane fills the body
	editing bool // typing a `/` filter
	confirm *confirm

	caller    *sdk.Caller
	all       bool // watching every tenant (a platform admin naming none)
	link      linkState
	downSince time.Time
	staleAt   time.Time // last time the data was known current
	retries   int
	retrying  bool // a retryMsg is on its way
	polling   bool // no event stream: reload every pollEvery
	loading   bool
	gen       int
	pending   []sdk.Event // events that came while a reload ran
	eventCh   chan tea.Msg
	message   string // one line: the last error or action result
	fatal     string // the token was rejected
}

// New returns the monitor's model.
func New(ctx context.Context, cfg Config) *Model {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	in := textinput.New()
	in.Prompt = "/"
	in.Placeholder = "status:failed source:web1 text"
	in.CharLimit = 200
	m := &Model{ctx: ctx, cfg: cfg, keys: newKeyMap(), help: help.New(), input: in, data: newData(), polling: cfg.Events == nil}
	for k := range m.panes {
		m.panes[k] = &pane{kind: paneKind(k)}
	}
	m.applyRole()
	return m
}

func (m *Model) now() time.Time { return m.cfg.Now() }

// readOnly: --readonly, a member token, or a role not known yet.
func (m *Model) readOnly() bool {
	if m.cfg.ReadOnly || m.caller == nil {
		return true
	}
	switch m.caller.Kind {
	case sdk.TokenPlatformAdmin:
		return false
	case sdk.TokenTenant:
		return m.caller.Role != sdk.RoleOwner && m.caller.Role != sdk.RoleAdmin
	}
	return true
}

// applyRole enables the action keys a read-write token may use.
func (m *Model) applyRole() {
	rw := !m.readOnly()
	m.keys.Cancel.SetEnabled(rw && m.tab == paneJobs)
	m.keys.Rerun.SetEnabled(rw && (m.tab == paneJobs || m.tab == paneSources))
	m.keys.Drain.SetEnabled(rw && m.tab == paneAgents && m.cfg.Drain != nil && m.caller != nil && m.caller.Kind == sdk.TokenPlatformAdmin)
}

// Messages.
type (
	statusMsg struct {
		st  *sdk.Status
		err error
	}
	loadedMsg struct {
		gen int
		l   *loaded
		err error
	}
	streamStartedMsg struct{ ch chan tea.Msg }
	eventMsg         struct{ ev sdk.Event }
	streamErrMsg     struct{ err error }
	streamEndMsg     struct{ err error }
	tickMsg          time.Time
	retryMsg         struct{}
	pollMsg          struct{}
	actionMsg        struct {
		text string
		job  *sdk.Job
		err  error
	}
)

// Init asks who the token is (the first load follows: what to load depends
// on it), opens the stream and starts the clock.
func (m *Model) Init() tea.Cmd {
	cmds := []tea.Cmd{m.statusCmd(), tick()}
	if m.cfg.Events != nil {
		cmds = append(cmds, m.startStream())
	} else {
		cmds = append(cmds, pollAfter(pollEvery))
	}
	return tea.Batch(cmds...)
}

func tick() tea.Cmd {
	return tea.Tick(time.Second, func(t time.Time) tea.Msg { return tickMsg(t) })
}

func pollAfter(d time.Duration) tea.Cmd {
	return tea.Tick(d, func(time.Time) tea.Msg { return pollMsg{} })
}

func (m *Model) statusCmd() tea.Cmd {
	h, ctx := m.cfg.Hub, m.ctx
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, actionWait)
		defer cancel()
		st, err := h.Status(ctx)
		return statusMsg{st, err}
	}
}

// reload starts a full REST load; events that arrive meanwhile are kept
// and applied again on top of its result.
func (m *Model) reload() tea.Cmd {
	m.gen++
	m.loading = true
	m.pending = nil
	gen, h, ctx := m.gen, m.cfg.Hub, m.ctx
	var per func(string) Hub
	if m.all {
		per = m.cfg.ForTenant
	}
	return func() tea.Msg {
		l, err := load(ctx, h, per)
		return loadedMsg{gen, l, err}
	}
}

// startStream runs the event iterator in a goroutine that feeds a channel;
// waitEvent turns the channel into messages, one at a time.
func (m *Model) startStream() tea.Cmd {
	es, ctx := m.cfg.Events, m.ctx
	return func() tea.Msg {
		ch := make(chan tea.Msg, 64)
		go func() {
			send := func(msg tea.Msg) bool {
				select {
				case ch <- msg:
					return true
				case <-ctx.Done():
					return false
				}
			}
			var last error
			for ev, err := range es.Events(ctx, sdk.EventsOptions{}) {
				last = err
				msg := tea.Msg(eventMsg{ev})
				if err != nil {
					msg = streamErrMsg{err}
				}
				if !send(msg) {
					return
				}
			}
			if ctx.Err() == nil {
				send(streamEndMsg{last})
			}
		}()
		return streamStartedMsg{ch}
	}
}

func waitEvent(ch chan tea.Msg) tea.Cmd {
	return func() tea.Msg { return <-ch }
}

// backoff is the jittered wait before the n-th retry (1-30 s).
func (m *Model) backoff(n int) time.Duration {
	d := backoffMin << min(n, 5)
	if m.cfg.Jitter != nil {
		d = m.cfg.Jitter(d)
	} else {
		d = time.Duration(float64(d) * (0.5 + rand.Float64()))
	}
	return min(max(d, backoffMin), backoffMax)
}

// Update changes state for one message.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	cmd := m.update(msg)
	if m.width > 0 {
		m.keepInView()
	}
	return m, cmd
}

func (m *Model) update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.help.Width = msg.Width
		m.input.Width = max(msg.Width-4, 10)
		return nil
	case tea.KeyMsg:
		return m.onKey(msg)
	case tickMsg:
		if m.link == linkLive && !m.loading && !m.polling && m.now().Sub(m.staleAt) >= refreshEvery {
			return tea.Batch(m.reload(), tick())
		}
		return tick()
	case statusMsg:
		return m.onStatus(msg)
	case loadedMsg:
		return m.onLoaded(msg)
	case streamStartedMsg:
		m.eventCh = msg.ch
		return waitEvent(msg.ch)
	case eventMsg:
		return tea.Batch(m.onEvent(msg.ev), waitEvent(m.eventCh))
	case streamErrMsg:
		cmd := m.onStreamErr(msg.err)
		return tea.Batch(cmd, waitEvent(m.eventCh))
	case streamEndMsg:
		return m.onStreamEnd(msg.err)
	case retryMsg:
		m.retrying = false
		switch {
		case m.caller == nil:
			return m.statusCmd()
		case m.link == linkDown && !m.loading:
			return m.reload()
		}
		return nil
	case pollMsg:
		var cmd tea.Cmd
		if !m.loading && m.link != linkAuth && m.caller != nil {
			cmd = m.reload()
		}
		return tea.Batch(cmd, pollAfter(pollEvery))
	case actionMsg:
		return m.onAction(msg)
	}
	if m.editing { // the filter input's cursor blink
		var cmd tea.Cmd
		m.input, cmd = m.input.Update(msg)
		return cmd
	}
	return nil
}

func (m *Model) onStatus(msg statusMsg) tea.Cmd {
	if msg.err != nil {
		if m.authFailed(msg.err) {
			return nil
		}
		return m.linkFailed(fmt.Errorf("who am I: %w", msg.err))
	}
	first := m.caller == nil
	m.caller = &msg.st.Caller
	m.all = m.cfg.Tenant == "" && m.caller.Kind == sdk.TokenPlatformAdmin && m.cfg.ForTenant != nil
	m.applyRole()
	if first {
		return m.reload()
	}
	return nil
}

func (m *Model) onLoaded(msg loadedMsg) tea.Cmd {
	if msg.gen != m.gen {
		return nil
	}
	m.loading = false
	if msg.err != nil {
		if m.authFailed(msg.err) {
			return nil
		}
		return m.linkFailed(msg.err)
	}
	m.data.replace(msg.l)
	for _, ev := range m.pending {
		_ = m.data.apply(ev, m.now())
	}
	m.pending = nil
	m.link, m.retries, m.staleAt = linkLive, 0, m.now()
	m.message = ""
	m.syncPanes()
	return nil
}

func (m *Model) onEvent(ev sdk.Event) tea.Cmd {
	if ev.Type == sdk.EventReset {
		m.message = "reloading: the hub said events were missed"
		return m.reload()
	}
	if m.link != linkAuth {
		m.link, m.retries, m.staleAt = linkLive, 0, m.now()
	}
	if err := m.data.apply(ev, m.now()); err != nil {
		m.message = err.Error()
		return nil
	}
	if m.loading {
		m.pending = append(m.pending, ev)
	}
	m.syncPanes()
	return nil
}

func (m *Model) onStreamErr(err error) tea.Cmd {
	if m.authFailed(err) {
		return nil
	}
	return m.linkFailed(err)
}

// linkFailed marks the link down and schedules a reload with backoff; a
// successful reload (or event) brings it back.
func (m *Model) linkFailed(err error) tea.Cmd {
	if m.link != linkDown {
		m.link, m.downSince = linkDown, m.now()
		if m.staleAt.IsZero() {
			m.staleAt = m.now()
		}
	}
	m.message = "hub unreachable: " + err.Error()
	d := m.backoff(m.retries)
	m.retries++
	if m.polling || m.retrying {
		return nil // the poll tick, or the pending retry, reloads
	}
	m.retrying = true
	return tea.Tick(d, func(time.Time) tea.Msg { return retryMsg{} })
}

func (m *Model) onStreamEnd(err error) tea.Cmd {
	m.eventCh = nil
	switch {
	case err == nil:
		return nil
	case m.authFailed(err):
		return nil
	case errors.Is(err, sdk.ErrNotFound):
		m.polling = true
		m.message = fmt.Sprintf("this hub has no event stream: polling every %s", pollEvery)
		return pollAfter(pollEvery)
	default:
		m.polling = true
		m.message = "event stream ended (" + err.Error() + "): polling instead"
		return pollAfter(pollEvery)
	}
}

// authFailed handles a 401: a message, not a crash; nothing retries.
func (m *Model) authFailed(err error) bool {
	if !errors.Is(err, sdk.ErrUnauthenticated) {
		return false
	}
	m.link = linkAuth
	if m.staleAt.IsZero() {
		m.staleAt = m.now()
	}
	m.fatal = "the hub rejected the token (401): run 'xv login' with a valid one, or fix XV_TOKEN; q quits"
	return true
}

func (m *Model) onAction(msg actionMsg) tea.Cmd {
	if msg.err != nil {
		if m.authFailed(msg.err) {
			return nil
		}
		m.message = msg.text + ": " + msg.err.Error()
		return nil
	}
	m.message = msg.text
	if msg.job != nil {
		js, ok := m.data.jobs[msg.job.ID]
		if !ok {
			js = newJobState(*msg.job)
			m.data.jobs[msg.job.ID] = js
		}
		js.job = *msg.job
		js.note(msg.job.Status, m.now())
		m.syncPanes()
	}
	return nil
}

// rowsOf builds the visible rows of a pane.
func (m *Model) rowsOf(k paneKind) []row {
	var all []row
	switch k {
	case paneJobs:
		all = m.jobRows()
	case paneAgents:
		all = m.agentRows()
	case paneSources:
		all = m.sourceRows()
	case paneSnapshots:
		all = m.snapshotRows()
	}
	return m.panes[k].visible(all)
}

func (m *Model) syncPanes() {
	for k, p := range m.panes {
		p.sync(m.rowsOf(paneKind(k)))
	}
}
