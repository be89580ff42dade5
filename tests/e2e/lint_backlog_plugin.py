"""A lint tool for the backlog tests (loaded with `plugins.extra`): `slowpoke` reports each
file it checks as an info issue, and hangs on any run over more than one file while a file
named `hang` sits beside the workspace, as a tool timing out on a large backlog does. Its
config file is `slowpoke.toml`."""

import sys
from typing import Any

from aegisd_lint.issues import Issue, Severity
from aegisd_lint.tool import CommandTool, JsonLinesParser, LintTool, OutputParser, RunContext

from aegisd import hookimpl

SCRIPT = """
import json, os, sys, time
marker, names = sys.argv[1], sys.argv[3:]
if len(names) > 1 and os.path.exists(marker):
    time.sleep(120)
for name in names:
    print(json.dumps({"path": name}), flush=True)
"""


class _SeenParser(JsonLinesParser):
    def issue(self, obj: Any) -> Issue:
        return Issue(tool="slowpoke", code="SEEN", message="checked", severity=Severity.INFO,
                     path=obj["path"])  # fmt: skip


class Slowpoke(CommandTool):
    name = "slowpoke"
    executable = sys.executable
    per_file = True
    batch_files = None
    config_files = ("slowpoke.toml",)

    def options(self, ctx: RunContext) -> list[str]:
        return ["-c", SCRIPT, str(ctx.root.parent / "hang"), "--"]

    def parser(self, ctx: RunContext) -> OutputParser:
        return _SeenParser(ctx)


@hookimpl
def aegisd_lint_tools() -> list[LintTool]:
    return [Slowpoke()]
