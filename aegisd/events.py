"""Push notifications: fan-out to every subscriber, each with its own bounded queue.

Every subscriber of a topic gets every notification of it (AEGIS's one shared queue made clients
steal each other's events). A client too slow to keep up loses its *oldest* queued notifications
and receives one `events.overflow {clock, dropped}` notice telling it to resync from `clock`; it
never slows the daemon or the other clients, because publishing only appends to deques.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Literal, get_args

from loguru import logger

from aegisd.overlays import Overlays

Topic = Literal[
    "files.changed",
    "index.updated",
    "lint.updated",
    "audit.event",
    "insights.updated",
    "progress",
    "git.changed",
]
TOPICS: tuple[str, ...] = get_args(Topic)
OVERFLOW = "events.overflow"


def notification(method: str, params: dict[str, Any]) -> str:
    return json.dumps({"jsonrpc": "2.0", "method": method, "params": params}, default=str)


class Subscriber:
    """One WebSocket client's subscriptions and outgoing queue."""

    def __init__(self, send: Callable[[str], Awaitable[None]], client: str, max_queue: int = 1000):
        self.client = client
        self._send = send
        self._queue: deque[tuple[str, bool]] = deque()  # (message, droppable)
        self._droppable = 0
        self._max_queue = max_queue
        self._wakeup = asyncio.Event()
        self._overflow_clock: int | None = None
        self._dropped = 0
        self.topics: dict[str, set[str] | None] = {}  # topic -> workspace ids, None = all
        self.delivered = 0
        self._closed = False
        self._sending = False
        self.overlays = Overlays()  # this connection's unsaved buffers (`workspace.overlay`)

    def subscribe(self, topics: Iterable[str], workspace: str | None) -> None:
        for topic in topics:
            if workspace is None:
                self.topics[topic] = None
            else:
                current = self.topics.get(topic, set())
                if current is not None:
                    current.add(workspace)
                    self.topics[topic] = current

    def unsubscribe(self, topics: Iterable[str] | None) -> None:
        for topic in list(self.topics if topics is None else topics):
            self.topics.pop(topic, None)

    def wants(self, topic: str, workspace: str | None) -> bool:
        if topic not in self.topics:
            return False
        scope = self.topics[topic]
        return scope is None or workspace is None or workspace in scope

    def offer(self, message: str, clock: int | None) -> None:
        """Queue a notification; never blocks. Drops the oldest notification when full."""
        if self._closed:
            return
        self._queue.append((message, True))
        self._droppable += 1
        if self._droppable > self._max_queue:
            self._drop_oldest_notification()
            self._dropped += 1
            if self._overflow_clock is None:
                self._overflow_clock = clock if clock is not None else 0
        self._wakeup.set()

    def answer(self, message: str) -> None:
        """Queue a response: never dropped, and ordered after the notifications before it
        (so a method's last `progress` arrives before its result)."""
        if not self._closed:
            self._queue.append((message, False))
            self._wakeup.set()

    async def answer_now(self, message: str) -> None:
        """Send a response at once when nothing is queued or being sent, else queue it."""
        if self._queue or self._sending or self._overflow_clock is not None:
            self.answer(message)
            return
        if not self._closed:
            self._sending = True
            try:
                await self._send(message)
            finally:
                self._sending = False
                if self._queue:
                    self._wakeup.set()

    def _drop_oldest_notification(self) -> None:
        for index, (_, droppable) in enumerate(self._queue):
            if droppable:
                del self._queue[index]
                self._droppable -= 1
                return

    @property
    def queued(self) -> int:
        return len(self._queue)

    async def pump(self) -> None:
        """Deliver queued messages until closed; run as this connection's writer task."""
        try:
            await self._pump()
        except (ConnectionError, RuntimeError) as exc:
            logger.debug("subscriber {} went away: {}", self.client, exc)
            self.close()

    async def _pump(self) -> None:
        while not self._closed:
            await self._wakeup.wait()
            self._wakeup.clear()
            while (self._queue or self._overflow_clock is not None) and not self._sending:
                if self._overflow_clock is not None:
                    message = notification(
                        OVERFLOW, {"clock": self._overflow_clock, "dropped": self._dropped}
                    )
                    self._overflow_clock, self._dropped = None, 0
                else:
                    message, droppable = self._queue.popleft()
                    if droppable:
                        self._droppable -= 1
                        self.delivered += 1
                self._sending = True
                try:
                    await self._send(message)
                finally:
                    self._sending = False

    def close(self) -> None:
        self._closed = True
        self.overlays.clear()
        self._queue.clear()
        self._droppable = 0
        self._wakeup.set()


class EventHub:
    """Publishes notifications to the subscribers that want them."""

    def __init__(self) -> None:
        self.subscribers: set[Subscriber] = set()
        self.published = 0

    def add(self, subscriber: Subscriber) -> None:
        self.subscribers.add(subscriber)

    def remove(self, subscriber: Subscriber) -> None:
        self.subscribers.discard(subscriber)
        subscriber.close()

    def interested(self, topic: str, workspace: str | None = None) -> bool:
        """Some subscriber wants `topic` (of `workspace`): worth making the notification."""
        return any(s.wants(topic, workspace) for s in self.subscribers)

    def publish(
        self,
        topic: str,
        params: dict[str, Any],
        *,
        workspace: str | None = None,
        clock: int | None = None,
        only: Subscriber | None = None,
    ) -> int:
        """Send `topic` with `params` to each interested subscriber; returns how many."""
        targets = self._targets(topic, workspace, only)
        if not targets:
            return 0
        return self._deliver(topic, notification(topic, params), targets, clock)

    def publish_encoded(
        self, topic: str, message: str, *, workspace: str | None = None, clock: int | None = None
    ) -> int:
        """`publish` a notification already encoded (`notification`, made in a thread when
        large); returns to how many subscribers."""
        targets = self._targets(topic, workspace, None)
        return self._deliver(topic, message, targets, clock) if targets else 0

    def _targets(
        self, topic: str, workspace: str | None, only: Subscriber | None
    ) -> list[Subscriber]:
        targets = [s for s in self.subscribers if s.wants(topic, workspace)]
        if only is not None and only not in targets and only in self.subscribers:
            targets.append(only)
        return targets

    def _deliver(
        self, topic: str, message: str, targets: list[Subscriber], clock: int | None
    ) -> int:
        for subscriber in targets:
            subscriber.offer(message, clock)
        self.published += 1
        logger.trace("published {} to {} subscribers", topic, len(targets))
        return len(targets)
