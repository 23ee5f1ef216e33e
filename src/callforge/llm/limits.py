"""Politeness towards an endpoint, and caution about what it sends back.

In-flight cap, requests-per-minute spacing and retry timing; and the caps on a reply's size on the
wire and after decompression (`ReplyBody`), so a broken or hostile endpoint cannot fill memory or
the results with a gzip bomb or a runaway reply. Kept apart from any one provider so every HTTP
backend honours them the same way and a test can check the rules without a server.
"""

from __future__ import annotations

import asyncio
import email.utils
import random
import time
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

RETRYABLE_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})

MAX_REPLY_BYTES = 32 * 1024 * 1024
"""Default cap on a reply body as it comes over the wire: far above any chat completion."""
MAX_DECOMPRESSED_BYTES = 32 * 1024 * 1024
"""Default cap on a reply body after gzip/deflate: a 10 KB gzip bomb must not become 3 GB."""

ACCEPT_ENCODING = "gzip, deflate"
"""The encodings `ReplyBody` can decode with a bounded output; ask for nothing else."""


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


class BadReply(Exception):
    """An endpoint's reply broke a cap or could not be decoded: the endpoint's fault, not the model's."""


class ReplyBody:
    """Decodes a reply body chunk by chunk and fails as soon as it passes a cap.

    Decompression is done here, not by the HTTP library, because a decoder that inflates each
    network chunk whole turns a 64 KiB chunk of a gzip bomb into 64 MiB before anyone can count;
    here no call ever produces more than the bytes left under the cap, plus one.
    """

    def __init__(
        self,
        encodings: Sequence[str] = (),
        *,
        max_bytes: int = MAX_REPLY_BYTES,
        max_decompressed_bytes: int = MAX_DECOMPRESSED_BYTES,
    ) -> None:
        self.max_bytes = max_bytes
        self.max_decompressed_bytes = max_decompressed_bytes
        self.received = 0
        self.decoded = 0
        # Content-Encoding lists the codings in the order they were applied; undo them in reverse.
        self._stages: list[_Inflater] = []
        for coding in reversed([c.strip().lower() for c in encodings if c.strip()]):
            if coding == "identity":
                continue
            if coding not in ("gzip", "x-gzip", "deflate"):
                raise BadReply(
                    f"the reply's content-encoding {coding!r} is not one callforge asked for ({ACCEPT_ENCODING})"
                )
            self._stages.append(_Inflater(coding))

    def expect(self, length: int) -> None:
        """Fail before reading when the announced Content-Length is already over the cap."""
        if length > self.max_bytes:
            raise BadReply(self._too_long())

    def feed(self, chunk: bytes) -> bytes:
        """The decoded bytes of the next chunk off the wire."""
        self.received += len(chunk)
        if self.received > self.max_bytes:
            raise BadReply(self._too_long())
        return self._decode(chunk, final=False)

    def flush(self) -> bytes:
        """What the decoders still hold once the body has ended."""
        return self._decode(b"", final=True)

    def _decode(self, chunk: bytes, *, final: bool) -> bytes:
        try:
            for stage in self._stages:
                chunk = stage.inflate(chunk, self.max_decompressed_bytes - self.decoded, final=final)
        except _Overflow:
            raise BadReply(_too_big(self.max_decompressed_bytes)) from None
        return self._count(chunk)

    def _too_long(self) -> str:
        return (
            f"the reply is larger than {_size(self.max_bytes)} (raise `max_reply_bytes` if that is expected)"
        )

    def _count(self, chunk: bytes) -> bytes:
        self.decoded += len(chunk)
        if self.decoded > self.max_decompressed_bytes:
            raise BadReply(_too_big(self.max_decompressed_bytes))
        return chunk


class _Overflow(Exception):
    pass


class _Inflater:
    """One gzip or deflate layer whose every call is bounded by the room left under the cap."""

    def __init__(self, coding: str) -> None:
        self.coding = coding
        # gzip has a header; "deflate" is zlib-wrapped by the standard but raw in some servers.
        self._wbits = 16 + zlib.MAX_WBITS if coding != "deflate" else zlib.MAX_WBITS
        self._inflater = zlib.decompressobj(self._wbits)
        self._started = False

    def inflate(self, data: bytes, room: int, *, final: bool = False) -> bytes:
        try:
            out = self._inflater.decompress(data, max(room, 0) + 1)
        except zlib.error as exc:
            if self.coding == "deflate" and not self._started and self._wbits > 0:
                self._wbits, self._inflater = -zlib.MAX_WBITS, zlib.decompressobj(-zlib.MAX_WBITS)
                return self.inflate(data, room, final=final)
            raise BadReply(f"the reply's {self.coding} body is corrupt ({exc})") from None
        self._started = self._started or bool(data)
        if len(out) > room or self._inflater.unconsumed_tail:
            raise _Overflow
        if final and not self._inflater.eof and self._started:
            raise BadReply(f"the reply's {self.coding} body ends early")
        return out


def _too_big(cap: int) -> str:
    return (
        f"the reply is larger than {_size(cap)} decompressed "
        "(raise `max_decompressed_bytes` if that is expected)"
    )


def _size(n: int) -> str:
    return f"{n / (1024 * 1024):g} MiB" if n >= 1024 * 1024 else f"{n} bytes"
