"""What the code map pushes to subscribers (declared for the API document)."""

from __future__ import annotations

from pydantic import Field

from aegisd.rpc.registry import Example, Notification, NotificationParams


class IndexUpdatedParams(NotificationParams):
    workspace: str = Field(description="Workspace id")
    clock: int = Field(description="The workspace clock the index now reflects")
    paths: list[str] = Field(description="Files whose definitions were (re)indexed or removed")


def notifications() -> list[Notification]:
    return [
        Notification(
            "index.updated",
            IndexUpdatedParams,
            "The code map took in a batch of changes (answers reflect it from now on)",
            examples=(
                Example({"workspace": "3f2a9c1e0b7d", "clock": 42, "paths": ["shop/cart.py"]}),
            ),
        )
    ]
