"""Rate limits: a fixed one-minute window per (bucket, client address), in the memory of one worker.

With several workers or hosts each keeps its own window, so the effective limit is at most workers × limit; a proxy
in front can add a shared limit. Buckets: ``code`` counts unknown invitation codes (guessing), ``public`` counts calls
of public endpoints.
"""

from __future__ import annotations

import threading
import time


class RateLimiter:
    def __init__(self, window_seconds: float = 60.0) -> None:
        self.window = window_seconds
        self._counts: dict[tuple[str, str], tuple[float, int]] = {}
        self._lock = threading.Lock()

    def hit(self, bucket: str, client: str, limit: int, now: float | None = None) -> bool:
        """Count one event; False when ``client`` has gone over ``limit`` in the current window."""
        now = time.monotonic() if now is None else now
        key = (bucket, client)
        with self._lock:
            start, n = self._counts.get(key, (now, 0))
            if now - start >= self.window:
                start, n = now, 0
            n += 1
            self._counts[key] = (start, n)
            if len(self._counts) > 100_000:  # bounded memory: drop the old windows
                self._counts = {k: v for k, v in self._counts.items() if now - v[0] < self.window}
            return n <= limit

    def exceeded(self, bucket: str, client: str, limit: int, now: float | None = None) -> bool:
        """True when ``client`` is already over ``limit`` (without counting)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            start, n = self._counts.get((bucket, client), (now, 0))
            return now - start < self.window and n >= limit
