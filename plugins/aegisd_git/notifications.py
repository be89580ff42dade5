"""What the git plugin pushes to subscribers (declared for the API document)."""

from __future__ import annotations

from pydantic import Field

from aegisd.rpc.registry import Example, Notification, NotificationParams


class GitChangedParams(NotificationParams):
    workspace: str = Field(description="Workspace id")
    head: str | None = Field(description="HEAD's commit id now (null before a first commit)")
    branch: str | None = Field(description="The checked-out branch now; null when detached")


def notifications() -> list[Notification]:
    return [
        Notification(
            "git.changed",
            GitChangedParams,
            "HEAD, a ref or the index moved (one notification per settled change: a commit, "
            "checkout, reset or rebase)",
            examples=(
                Example(
                    {
                        "workspace": "3f2a9c1e0b7d",
                        "head": "8f2e5c7a9b1d3f4e6a8c0b2d4f6e8a0c2e4f6a8b",
                        "branch": "main",
                    }
                ),
            ),
        )
    ]
