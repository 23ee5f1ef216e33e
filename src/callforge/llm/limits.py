"""Politeness towards an endpoint: in-flight cap, requests-per-minute spacing, retry timing.

Kept apart from any one provider so every HTTP backend honours `retry-after` the same way and a
test can check the timing rules without a server.
"""

from __future__ import annotations

import asyncio
import email.utils
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass

RETRYABLE_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})


class RateLimiter:
    """Spaces request starts evenly so a run never exceeds `rpm`; `None` means no limit.

    Even spacing (rather than a bucket that allows bursts) keeps a big job from tripping a
    provider's per-second limits in its first second.
    """

    def __init__(self, rpm: float | None) -> None:
        if rpm is not None and rpm <= 0:
            raise ValueError(f"requests per minute must be positive, got {rpm}")
        self.interval = 60.0 / rpm if rpm else 0.0
        self._next = 0.0

    async def acquire(self) -> None:
        """Wait for this request's slot."""
        if not self.interval:
            return
        now = time.monotonic()
        start = max(now, self._next)
        self._next = start + self.interval
        if start > now:
            await asyncio.sleep(start - now)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry a request that failed for a reason that may pass.

    A server's `retry-after` wins over the exponential backoff (capped at `max_retry_after`, so a
    misconfigured server cannot stall a run for an hour); jitter spreads retries of a burst.
    """

    max_attempts: int = 6
    base_delay: float = 0.5
    max_delay: float = 30.0
    max_retry_after: float = 120.0

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait before attempt number `attempt + 1` (attempt counts from 0)."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_retry_after)
        backoff = min(self.max_delay, self.base_delay * float(2**attempt))
        return backoff * (0.5 + random.random() / 2)


def retry_after_seconds(headers: Mapping[str, str] | None) -> float | None:
    """The wait a server asked for, from `retry-after-ms` or `retry-after` (seconds or an HTTP date)."""
    if not headers:
        return None
    lowered = {k.lower(): v for k, v in headers.items()}
    millis = lowered.get("retry-after-ms")
    if millis is not None:
        try:
            return float(millis) / 1000.0
        except ValueError:
            pass
    value = lowered.get("retry-after")
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
