"""`FakeOpenAIServer`: the fake server as a context manager, in a thread or in your event loop."""

from __future__ import annotations

import asyncio
import threading
from types import TracebackType

from callforge.llm.fake.engine import HOST, NAME, Engine
from callforge.llm.fake.faults import FaultsLike, as_faults
from callforge.llm.fake.policy import FakeServerError, Policy, PolicyLike, as_policy
from callforge.llm.fake.record import RecordedRequest, Stats


class FakeOpenAIServer:
    """An OpenAI-compatible chat-completions server on 127.0.0.1, for end-to-end tests and benchmarks.

    `with` runs it in a background thread with its own event loop, so synchronous tests and
    clients in any loop can use it; `async with` runs it in the current loop, for async tests
    that want no thread. Either way leaving the block stops it at once, hung requests included.

    Args:
        policy: what to answer: a `Policy`, a function (request JSON -> reply), a list of replies
            (scripted, in order), or None for `DefaultRule` (call the first tool, else "ok").
        latency_s: time each request holds a capacity slot, as a model's generation time
            (asyncio.sleep: costs no CPU).
        capacity: requests processed at once; more wait in a queue, as on an inference server.
            None is unlimited.
        faults: a `Fault` or CLI-form string ("429@0,1"), or several; the first that hits a
            request wins.
        model: the model name of `/v1/models` and of replies to requests that name none.
        port: 0 picks a free port; see `port` and `base_url` after start.
        record: keep every request in `requests`; turn off for long benchmarks (counters remain).
        overflow: what a request finds when every capacity slot is busy: "queue" (wait, as vLLM
            does) or "429" (turned away at once with `retry-after: 0.05`, as a provider does).
    """

    def __init__(
        self,
        policy: PolicyLike | None = None,
        *,
        latency_s: float = 0.0,
        capacity: int | None = None,
        faults: FaultsLike = None,
        model: str = "fake-model",
        port: int = 0,
        record: bool = True,
        overflow: str = "queue",
    ) -> None:
        self._engine = Engine(
            as_policy(policy),
            faults=as_faults(faults),
            latency_s=latency_s,
            capacity=capacity,
            model=model,
            port=port,
            record=record,
            overflow=overflow,
        )
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._halt: asyncio.Event | None = None
        self._started = False

    # -- what tests read ---------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The bound port (after start)."""
        return self._engine.port

    @property
    def url(self) -> str:
        """The server root, e.g. "http://127.0.0.1:PORT", for /health and raw HTTP clients."""
        return f"http://{HOST}:{self._engine.port}"

    @property
    def base_url(self) -> str:
        """The OpenAI `base_url`, e.g. "http://127.0.0.1:PORT/v1"."""
        return f"{self.url}/v1"

    @property
    def policy(self) -> Policy:
        """The reply policy in use (e.g. a `Scripted`, to check `remaining`)."""
        return self._engine.policy

    @property
    def requests(self) -> list[RecordedRequest]:
        """Chat-completions requests (and unroutable ones, index -1) in arrival order; a copy."""
        return list(self._engine.requests)

    @property
    def errors(self) -> list[str]:
        """Error messages the server sent (exhausted script, bad request, injected 5xx/429)."""
        return [r.error for r in self._engine.requests if r.error]

    @property
    def stats(self) -> Stats:
        """A snapshot of the counters: received, served, max_in_flight, ..."""
        return self._engine.stats.copy()

    # -- in a background thread --------------------------------------------------------------

    def start(self, timeout_s: float = 10.0) -> FakeOpenAIServer:
        """Serve from a background thread with its own event loop; returns once the port is bound."""
        self._claim()
        ready = threading.Event()
        failure: list[BaseException] = []

        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._halt = asyncio.Event()
            try:
                await self._engine.start()
            except BaseException as exc:
                failure.append(exc)
                ready.set()
                return
            ready.set()
            try:
                await self._halt.wait()
            finally:
                await self._engine.stop()

        self._thread = threading.Thread(
            target=asyncio.run, args=(main(),), name="callforge-fake-server", daemon=True
        )
        self._thread.start()
        if not ready.wait(timeout_s):
            raise FakeServerError(f"{NAME}: did not start within {timeout_s} s")
        if failure:
            self._thread.join()
            raise FakeServerError(f"{NAME}: could not start: {failure[0]}") from failure[0]
        return self

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop the thread's server, ending hung requests; safe to call twice."""
        loop, halt, thread = self._loop, self._halt, self._thread
        if loop is None or halt is None or thread is None:
            return
        if thread.is_alive():
            loop.call_soon_threadsafe(halt.set)
            thread.join(timeout_s)
        self._thread = None

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- in the current event loop -----------------------------------------------------------

    async def astart(self) -> FakeOpenAIServer:
        """Serve from the running event loop (no thread); returns once the port is bound."""
        self._claim()
        await self._engine.start()
        return self

    async def astop(self) -> None:
        """Stop serving in this loop, ending hung requests."""
        await self._engine.stop()

    async def __aenter__(self) -> FakeOpenAIServer:
        return await self.astart()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.astop()

    def _claim(self) -> None:
        if self._started:
            raise FakeServerError(f"{NAME}: a FakeOpenAIServer starts once; create a new one")
        self._started = True

    def __repr__(self) -> str:
        return f"FakeOpenAIServer(base_url={self.base_url!r}, stats={self._engine.stats!r})"
