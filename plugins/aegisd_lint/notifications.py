"""What the linters push to subscribers (declared for the API document)."""

from __future__ import annotations

from pydantic import Field

from aegisd.rpc.registry import Example, Notification, NotificationParams
from aegisd_lint.report import Summary


class LintUpdatedParams(NotificationParams):
    workspace: str = Field(description="Workspace id")
    clock: int = Field(description="The workspace clock the run checked")
    run: int = Field(description="The run's id (`lint.history`)")
    tool: str | None = Field(description="The tool whose results landed; None for the run's end")
    done: bool = Field(description="True once, when the whole run is over")
    summary: Summary = Field(description="The workspace's lint summary after this update")
    new: int = Field(description="Issues that appeared with this update")
    fixed: int = Field(description="Issues that went away with this update")


def notifications() -> list[Notification]:
    summary = {"status": "warn", "issues": 1, "by_severity": {"low": 1},
               "by_tool": {"ruff": {"status": "warn", "issues": 1, "files": 12,
                                    "by_severity": {"low": 1}}},
               "by_status": {"warn": 1}}  # fmt: skip
    return [
        Notification(
            "lint.updated",
            LintUpdatedParams,
            "A tool's results landed (once per tool of a run), and once more when the run ends",
            examples=(
                Example(
                    {
                        "workspace": "3f2a9c1e0b7d",
                        "clock": 42,
                        "run": 7,
                        "tool": "ruff",
                        "done": False,
                        "summary": summary,
                        "new": 1,
                        "fixed": 0,
                    }
                ),
            ),
        )
    ]
