"""Per-conversation memory: each answer thread (or DM) keeps its own :class:`ChatSession`.

Bounded two ways so a busy server cannot grow it without limit: at most ``max_conversations`` are kept (the
least recently used is dropped) and one idle longer than ``idle_seconds`` is forgotten; each session keeps at
most ``max_turns`` turns (ChatSession's own bound). A ChatSession is not thread-safe, so each conversation has
an asyncio lock: two quick messages in one thread are answered one after the other, in order.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.chat import ChatSession

DEFAULT_MAX_CONVERSATIONS = 1000
DEFAULT_MAX_TURNS = 10
DEFAULT_IDLE_SECONDS = 6 * 3600.0


@dataclass
class ThreadState:
    """One thread's or DM's state; ``session`` is None until its first question has been answered."""

    session: ChatSession | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    last_used: float = 0.0


class ConversationMemory:
    def __init__(
        self,
        max_conversations: int = DEFAULT_MAX_CONVERSATIONS,
        max_turns: int = DEFAULT_MAX_TURNS,
        idle_seconds: float = DEFAULT_IDLE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_conversations = max_conversations
        self.max_turns = max_turns
        self.idle_seconds = idle_seconds
        self.clock = clock
        self._items: OrderedDict[int, ThreadState] = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: int) -> bool:
        self._expire()
        return key in self._items

    def get(self, key: int) -> ThreadState | None:
        """The live conversation for a thread/DM id, without creating one."""
        self._expire()
        conversation = self._items.get(key)
        if conversation is not None:
            self._touch(key, conversation)
        return conversation

    def conversation(self, key: int) -> ThreadState:
        """The conversation for ``key``, created empty if it is new or had expired."""
        conversation = self.get(key)
        if conversation is None:
            conversation = ThreadState()
            self._items[key] = conversation
            self._touch(key, conversation)
            while len(self._items) > self.max_conversations:
                self._items.popitem(last=False)
        return conversation

    def adopt(self, key: int, session: ChatSession) -> None:
        """Give a new answer thread the session that produced its opening answer."""
        self.conversation(key).session = session

    def _touch(self, key: int, conversation: ThreadState) -> None:
        conversation.last_used = self.clock()
        self._items.move_to_end(key)

    def _expire(self) -> None:
        cutoff = self.clock() - self.idle_seconds
        while self._items:
            key, oldest = next(iter(self._items.items()))
            if oldest.last_used > cutoff or oldest.lock.locked():
                break
            del self._items[key]
