"""What the insights plugin pushes to subscribers (declared for the API document)."""

from __future__ import annotations

from pydantic import Field

from aegisd.rpc.registry import Example, Notification, NotificationParams
from aegisd_insights.rpc import InsightOut


class GenerationRef(NotificationParams):
    id: int
    model: str
    trigger: str = Field(description='"request" or "schedule"')


class InsightsUpdatedParams(NotificationParams):
    workspace: str = Field(description="Workspace id")
    clock: int = Field(description="The workspace clock the insights were computed at")
    added: list[InsightOut]
    changed: list[InsightOut] = Field(description="Insights whose severity or numbers changed")
    removed: list[str] = Field(description="Keys of the insights that went away")
    generation: GenerationRef | None = Field(
        None, description="Only when a scheduled LLM answer was stored"
    )


def notifications() -> list[Notification]:
    return [
        Notification(
            "insights.updated",
            InsightsUpdatedParams,
            "The set of insights changed, or a scheduled LLM answer was stored",
            examples=(
                Example(
                    {
                        "workspace": "3f2a9c1e0b7d",
                        "clock": 42,
                        "added": [],
                        "changed": [],
                        "removed": ["oversized_file:shop/cart.py"],
                    }
                ),
            ),
        )
    ]
