"""Shell integration for bash: a generated rc file that sources the user's ~/.bashrc, then
emits OSC 133 marks (A prompt, B command line, C output, D;<exit code> end) and the command
line as VS Code's OSC 633;E, which `marks.MarkScanner` turns into audit events.

bash runs it through `--rcfile` (an interactive shell that is not a login shell reads only
that file), so nothing of the user's is changed. zsh and others run without integration.
"""

from __future__ import annotations

import os
from pathlib import Path

RC_NAME = "bash-integration.rc"

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
    local status=$?
    printf '\e]133;D;%s\a\e]133;A\a' "$status"
    return $status
}
if [[ "$(declare -p PROMPT_COMMAND 2>/dev/null)" == "declare -a"* ]]; then
    PROMPT_COMMAND=(__aegisd_prompt "${PROMPT_COMMAND[@]}")
else
    PROMPT_COMMAND="__aegisd_prompt${PROMPT_COMMAND:+;$PROMPT_COMMAND}"
fi
PS1="${PS1}\[\e]133;B\a\]"
PS0='$(__aegisd_preexec)'
"""


def write_rc(directory: Path) -> Path:
    """Write the bash rc file into `directory` (0600); returns its path. Call from a thread."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = directory / RC_NAME
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(BASH_RC)
    return path


def integrated_argv(argv: list[str], rc: Path | None) -> list[str] | None:
    """`argv` with the integration installed, or None when it is not a plain bash."""
    if rc is None or len(argv) != 1 or os.path.basename(argv[0]) != "bash":
        return None
    return [argv[0], "--rcfile", str(rc), "-i"]
