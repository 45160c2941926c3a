package root

import (
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/xvault/xvault/cli/internal/cmdutil"
)

// The bash and zsh scripts ask xv itself for the candidates (urfave/cli's
// --generate-bash-completion protocol), so they stay true as commands and
// flags change; fish gets a static script generated from the command tree.
const bashCompletion = `# bash completion for xv; load with: source <(xv completion bash)
_xv_bash_autocomplete() {
  local cur words
  COMPREPLY=()
  cur="${COMP_WORDS[COMP_CWORD]}"
  words=("${COMP_WORDS[@]:0:$COMP_CWORD}")
  local request="${words[*]}"
  if [[ "$cur" == "-"* ]]; then
    request="$request $cur"
  fi
  local opts
  opts=$(eval "$request --generate-bash-completion" 2>/dev/null)
  COMPREPLY=($(compgen -W "${opts}" -- "${cur}"))
  return 0
}
complete -o bashdefault -o default -F _xv_bash_autocomplete xv
`

const zshCompletion = `#compdef xv
# zsh completion for xv; load with: source <(xv completion zsh)
_xv_zsh_autocomplete() {
  local -a opts
  local cur
  cur=${words[-1]}
  if [[ "$cur" == "-"* ]]; then
    opts=("${(@f)$(${words[@]:0:#words[@]-1} ${cur} --generate-bash-completion 2>/dev/null)}")
  else
    opts=("${(@f)$(${words[@]:0:#words[@]-1} --generate-bash-completion 2>/dev/null)}")
  fi
  if [[ "${opts[1]}" != "" ]]; then
    _describe 'values' opts
  else
    _files
  fi
}
compdef _xv_zsh_autocomplete xv
`

// newCompletionCmd returns `xv completion bash|zsh|fish`; app is the tree
// the fish script describes.
func newCompletionCmd(f *cmdutil.Factory, app *cli.App) *cli.Command {
	return &cli.Command{
		Name:  "completion",
		Usage: "Print a shell completion script (bash, zsh or fish)",
		UsageText: `xv completion bash|zsh|fish

Examples:
   source <(xv completion bash)                       # bash, this shell
   xv completion bash > /etc/bash_completion.d/xv     # bash, every shell
   xv completion zsh > "${fpath[1]}/_xv"              # zsh
   xv completion fish > ~/.config/fish/completions/xv.fish`,
		Action: func(c *cli.Context) error {
			args, err := cmdutil.Args(c, "SHELL")
			if err != nil {
				return err
			}
			var script string
			switch args[0] {
			case "bash":
				script = bashCompletion
			case "zsh":
				script = zshCompletion
			case "fish":
				if script, err = app.ToFishCompletion(); err != nil {
					return fmt.Errorf("generate the fish completion: %w", err)
				}
			default:
				return cmdutil.UsageErrorf("xv completion: %q is not one of bash, zsh, fish", args[0])
			}
			_, err = fmt.Fprint(f.IO.Out, strings.TrimLeft(script, "\n"))
			return err
		},
	}
}
