package monitor

import "github.com/charmbracelet/bubbles/key"

// keyMap is every key of the monitor, in one place; bubbles/help shows the
// enabled ones. Action keys are disabled for read-only tokens, so they are
// never offered.
type keyMap struct {
	Up, Down, Top, Bottom  key.Binding
	Tab1, Tab2, Tab3, Tab4 key.Binding
	Enter, Back            key.Binding
	Filter, Mode, Sort     key.Binding
	Cancel, Rerun, Drain   key.Binding
	Help, Quit             key.Binding
}

func newKeyMap() keyMap {
	return keyMap{
		Up:     key.NewBinding(key.WithKeys("k", "up"), key.WithHelp("k/↑", "up")),
		Down:   key.NewBinding(key.WithKeys("j", "down"), key.WithHelp("j/↓", "down")),
		Top:    key.NewBinding(key.WithKeys("g", "home"), key.WithHelp("g", "top")),
		Bottom: key.NewBinding(key.WithKeys("G", "end"), key.WithHelp("G", "bottom")),
		Tab1:   key.NewBinding(key.WithKeys("1"), key.WithHelp("1", "jobs")),
		Tab2:   key.NewBinding(key.WithKeys("2"), key.WithHelp("2", "agents")),
		Tab3:   key.NewBinding(key.WithKeys("3"), key.WithHelp("3", "sources")),
		Tab4:   key.NewBinding(key.WithKeys("4"), key.WithHelp("4", "snapshots")),
		Enter:  key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "details")),
		Back:   key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "back")),
		Filter: key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "filter")),
		Mode:   key.NewBinding(key.WithKeys("f"), key.WithHelp("f", "mode")),
		Sort:   key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "sort")),
		Cancel: key.NewBinding(key.WithKeys("c"), key.WithHelp("c", "cancel")),
		Rerun:  key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "re-run")),
		Drain:  key.NewBinding(key.WithKeys("d"), key.WithHelp("d", "drain/undrain")),
		Help:   key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "help")),
		Quit:   key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", "quit")),
	}
}

// ShortHelp is the one-line footer: what is not obvious (arrows are).
func (k keyMap) ShortHelp() []key.Binding {
	return []key.Binding{k.Enter, k.Filter, k.Mode, k.Cancel, k.Rerun, k.Drain, k.Help, k.Quit}
}

// FullHelp is the `?` view.
func (k keyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.Up, k.Down, k.Top, k.Bottom},
		{k.Tab1, k.Tab2, k.Tab3, k.Tab4},
		{k.Enter, k.Back, k.Filter, k.Mode, k.Sort},
		{k.Cancel, k.Rerun, k.Drain, k.Help, k.Quit},
	}
}
