"""Fairness on a shared bot: a per-user sliding-window rate limit and a global cap on answers in flight.

A question costs retrieval (and LLM tokens); one eager user or a burst of fifty must not starve the others or
the host. Both checks are cheap and run on the event loop before the interaction is deferred, so a refusal can
still be an ephemeral reply.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from types import TracebackType

from ingest.errors import ConfigError


def parse_rate(spec: str) -> tuple[int, float]:
    """``"5/60"`` → (5, 60.0): at most 5 questions in any 60 seconds."""
    try:
        count_text, seconds_text = spec.split("/", 1)
        count, seconds = int(count_text), float(seconds_text)
    except ValueError:
        raise ConfigError(
            f"LITBOT_DISCORD_USER_RATE={spec!r} is not N/SECONDS",
            "for example 5/60 (five questions a minute)",
        ) from None
    if count < 1 or seconds <= 0:
        raise ConfigError(f"LITBOT_DISCORD_USER_RATE={spec!r} must allow at least 1 question in >0 seconds")
    return count, seconds


class UserRateLimit:
    """At most ``count`` events per ``window`` seconds per key, over a sliding window."""

    MAX_KEYS = 10_000  # idle users are forgotten past this, so memory stays bounded

    def __init__(self, count: int, window: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.count = count
        self.window = window
        self.clock = clock
        self._events: dict[int, deque[float]] = {}

    @classmethod
    def from_spec(cls, spec: str, clock: Callable[[], float] = time.monotonic) -> UserRateLimit:
        return cls(*parse_rate(spec), clock=clock)

    def hit(self, key: int) -> float:
        """Record an event for ``key`` if allowed and return 0; else return seconds until one is allowed."""
        now = self.clock()
        events = self._events.setdefault(key, deque())
        while events and events[0] <= now - self.window:
            events.popleft()
        if len(events) >= self.count:
            return max(events[0] + self.window - now, 0.1)
        events.append(now)
        if len(self._events) > self.MAX_KEYS:
            self._forget_idle(now)
        return 0.0

    def _forget_idle(self, now: float) -> None:
        for key in [k for k, ev in self._events.items() if not ev or ev[-1] <= now - self.window]:
            del self._events[key]


class AnswerSlots:
    """A global cap on answers being computed at once, with a bounded queue behind it.

    Up to ``concurrent`` answers run; up to ``queue`` more wait their turn (their "thinking…" indicator keeps
    showing); past that a question is refused politely instead of waiting minutes.
    """

    def __init__(self, concurrent: int, queue: int | None = None) -> None:
        self.concurrent = concurrent
        self.queue = queue if queue is not None else max(64, concurrent * 16)
        self._semaphore = asyncio.Semaphore(concurrent)
        self._pending = 0  # running + waiting

    @property
    def full(self) -> bool:
        return self._pending >= self.concurrent + self.queue

    @property
    def pending(self) -> int:
        return self._pending

    async def __aenter__(self) -> None:
        self._pending += 1
        try:
            await self._semaphore.acquire()
        except BaseException:
            self._pending -= 1
            raise

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._semaphore.release()
        self._pending -= 1
