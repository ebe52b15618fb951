"""Answers cached by their ETag: one database version gives the same answer to the same URL on the same local
day, so a repeated GET is served without opening the database or querying it again.

The ETag (``app.entity_tag``) is (database version, the runner's today, the URL). When the database's current
version is known without reading it (``ApiDatabase.current_version()``: a ``stat`` of a local file, or the S3
version HEADed less than ``refresh_seconds`` ago), the rule stored with that version gives the runner's today,
hence the ETag: a revalidation answers 304 and a repeat answers from here, both without touching DuckDB. The
cache is bounded (least recently used out) and keyed by the full ETag, so an entry can never answer for another
version, day or URL.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Generic, TypeVar

from myrunstreak_pipeline.analytics.rule import StreakRule

K = TypeVar("K")
V = TypeVar("V")

MAX_ANSWERS = 512  # distinct (version, day, URL) answers kept; a page load asks for about eight
MAX_RULES = 8  # database versions whose stored rule is remembered


@dataclass(frozen=True)
class CachedAnswer:
    body: bytes
    media_type: str


class BoundedCache(Generic[K, V]):
    """A thread-safe least-recently-used mapping of at most ``size`` entries."""

    def __init__(self, size: int):
        self.size = size
        self._entries: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            value = self._entries.get(key)
            if value is not None:
                self._entries.move_to_end(key)
            return value

    def put(self, key: K, value: V) -> None:
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)


class AnswerCache:
    """The app's caches: answers by ETag, and the stored streak rule by database version."""

    def __init__(self, answers: int = MAX_ANSWERS, rules: int = MAX_RULES):
        self.answers: BoundedCache[str, CachedAnswer] = BoundedCache(answers)
        self.rules: BoundedCache[str, StreakRule] = BoundedCache(rules)
