"""Lint tools for the batch tests (loaded with `plugins.extra`): each checks two files per
batch and reports every file it checked as an info issue; `sluggish` hangs on a file that
says SLOW, `hungry` asks for 512 MiB on one that says HUNGRY."""

import sys
from typing import Any, ClassVar

from aegisd_lint.issues import Issue, Severity
from aegisd_lint.tool import CommandTool, JsonLinesParser, LintTool, OutputParser, RunContext

from aegisd import hookimpl

SCRIPT = """
import json, sys, time
names = sys.argv[2:]
texts = [open(name).read() for name in names]
if any({marker!r} in text for text in texts):
    {action}
for name in names:
    print(json.dumps({{"path": name}}), flush=True)
"""


class _SeenParser(JsonLinesParser):
    def __init__(self, ctx: RunContext, tool: str) -> None:
        super().__init__(ctx)
        self.tool = tool

    def issue(self, obj: Any) -> Issue:
        return Issue(tool=self.tool, code="SEEN", message="checked", severity=Severity.INFO,
                     path=obj["path"])  # fmt: skip


class _Batched(CommandTool):
    executable = sys.executable
    per_file = True
    batch_files = 2
    marker: ClassVar[str]
    action: ClassVar[str]

    def options(self, ctx: RunContext) -> list[str]:
        return ["-c", SCRIPT.format(marker=self.marker, action=self.action), "--"]

    def parser(self, ctx: RunContext) -> OutputParser:
        return _SeenParser(ctx, self.name)


class Sluggish(_Batched):
    name = "sluggish"
    marker = "SLOW"
    action = "time.sleep(120)"


class Hungry(_Batched):
    name = "hungry"
    marker = "HUNGRY"
    action = "hoard = bytearray(512 << 20)"


@hookimpl
def aegisd_lint_tools() -> list[LintTool]:
    return [Sluggish(), Hungry()]
