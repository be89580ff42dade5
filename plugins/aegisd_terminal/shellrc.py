"""Shell integration for bash and zsh: generated start-up files that run the user's own, then
emit OSC 133 marks (A prompt, B command line, C output, D;<exit code> end) and the command
line as VS Code's OSC 633;E, which `marks.MarkScanner` turns into audit events.

bash reads ours through `--rcfile` (an interactive shell that is not a login shell reads only
that file), which sources ~/.bashrc. zsh reads them from `ZDOTDIR` (ours), which source the
user's from their own `ZDOTDIR` (or home) and put it back. Nothing of the user's is changed;
other shells run without integration.
"""

from __future__ import annotations

import os
from pathlib import Path

RC_NAME = "bash-integration.rc"
ZSH_DIR = "zsh-integration"
USER_ZDOTDIR = "AEGISD_USER_ZDOTDIR"

BASH_RC = r"""# Written by aegisd (terminal shell integration); regenerated at each start.
if [ -f ~/.bashrc ]; then . ~/.bashrc; fi
__aegisd_escape() {
    local c=$1
    c=${c//\\/\\\\}; c=${c//;/\\x3b}; c=${c//$'\n'/\\x0a}; c=${c//$'\a'/\\x07}; c=${c//$'\e'/\\x1b}
    printf '%s' "$c"
}
__aegisd_preexec() {
    printf '\e]633;E;%s\a\e]133;C\a' "$(__aegisd_escape "$(HISTTIMEFORMAT= builtin fc -ln -0 2>/dev/null)")"
}
__aegisd_prompt() {
    local code=$?
    printf '\e]133;D;%s\a\e]133;A\a' "$code"
    return $code
}
if [[ "$(declare -p PROMPT_COMMAND 2>/dev/null)" == "declare -a"* ]]; then
    PROMPT_COMMAND=(__aegisd_prompt "${PROMPT_COMMAND[@]}")
else
    PROMPT_COMMAND="__aegisd_prompt${PROMPT_COMMAND:+;$PROMPT_COMMAND}"
fi
PS1="${PS1}\[\e]133;B\a\]"
PS0='$(__aegisd_preexec)'
"""


ZSHENV = r"""# Written by aegisd (terminal shell integration): the user's .zshenv, from their ZDOTDIR.
__aegisd_zdotdir=$ZDOTDIR
ZDOTDIR=${AEGISD_USER_ZDOTDIR:-$HOME}
[[ -f "$ZDOTDIR/.zshenv" ]] && . "$ZDOTDIR/.zshenv"
ZDOTDIR=$__aegisd_zdotdir
unset __aegisd_zdotdir
"""

ZSHRC = r"""# Written by aegisd (terminal shell integration); regenerated at each start.
ZDOTDIR=${AEGISD_USER_ZDOTDIR:-$HOME}
unset AEGISD_USER_ZDOTDIR
[[ -f "$ZDOTDIR/.zshrc" ]] && . "$ZDOTDIR/.zshrc"
__aegisd_escape() {
    local c=$1
    c=${c//\\/\\\\}; c=${c//;/\\x3b}; c=${c//$'\n'/\\x0a}; c=${c//$'\a'/\\x07}; c=${c//$'\e'/\\x1b}
    printf '%s' "$c"
}
__aegisd_preexec() { printf '\e]633;E;%s\a\e]133;C\a' "$(__aegisd_escape "$1")"; }
__aegisd_precmd() {
    local code=$?
    printf '\e]133;D;%s\a\e]133;A\a' "$code"
    return $code
}
precmd_functions=(__aegisd_precmd $precmd_functions)
preexec_functions+=(__aegisd_preexec)
PS1="${PS1}%{"$'\e]133;B\a'"%}"
"""


def write_rc(directory: Path) -> Path:
    """Write the start-up files into `directory` (0600, their folders 0700); returns
    `directory`. Call from a thread."""
    _write(directory / RC_NAME, BASH_RC)
    _write(directory / ZSH_DIR / ".zshenv", ZSHENV)
    _write(directory / ZSH_DIR / ".zshrc", ZSHRC)
    return directory


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)


def integrated(
    argv: list[str], env: dict[str, str], directory: Path | None
) -> tuple[list[str], dict[str, str]] | None:
    """`argv` and `env` with the integration installed, or None when `argv` is not a plain
    bash or zsh."""
    if directory is None or len(argv) != 1:
        return None
    shell = os.path.basename(argv[0])
    if shell == "bash":
        return [argv[0], "--rcfile", str(directory / RC_NAME), "-i"], env
    if shell == "zsh":
        user = env.get("ZDOTDIR") or env.get("HOME") or os.path.expanduser("~")
        return argv, {**env, "ZDOTDIR": str(directory / ZSH_DIR), USER_ZDOTDIR: user}
    return None
