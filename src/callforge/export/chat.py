"""The `chat` export: each dialog rendered to plain text by a model's chat template, for plain-text SFT.

Trainers that take one `text` column (TRL's SFTTrainer on a text dataset, axolotl's completion
format, llama.cpp's finetune) need the dialog exactly as the model's runtime will show it, special
tokens and tool prompts included. `load_template` finds that template: four shipped ones written
for callforge (`qwen2.5`, `qwen3` with a `<think>` slot, `hermes`, `llama3.1`), a `.jinja` file, a transformers tokenizer folder
(`hf:DIR`), a GGUF model file (`gguf:PATH`) or an embedded callforge model (`local:NAME`).

Templates are Jinja and may come from files nobody reviewed, so they run in Jinja's immutable
sandbox with the globals and filters transformers gives them (`raise_exception`, a `tojson` that
keeps key order and non-ASCII, `strftime_now`) and never in a plain Environment. Messages reach
the template in the transformers convention (calls as `{"type": "function", "function": {"name",
"arguments": dict}}`, tool results with `tool_call_id` and `name`), so a model's own template works
unchanged; templates that allow one call per assistant turn (Llama 3.1) get parallel calls split
into call/result pairs first. `callforge.export.chat_read.read_chat` parses the shipped formats
back into a Dialog, which is what the round-trip tests hold the renderer to.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from jinja2 import TemplateError, nodes
from jinja2.exceptions import SecurityError
from jinja2.ext import Extension, loopcontrols
from jinja2.parser import Parser
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import Namespace

from callforge.core import (
    CallforgeError,
    ConfigError,
    DataError,
    Dialog,
    Message,
    ToolCall,
    ToolSpec,
)

TEMPLATES: tuple[str, ...] = ("qwen2.5", "hermes", "llama3.1", "qwen3")
"""The templates shipped with callforge, by name; `read_chat` parses these four."""

_SHIPPED: dict[str, tuple[bool, str, str]] = {  # name: (parallel calls, bos, eos)
    "qwen2.5": (True, "", "<|im_end|>"),
    "qwen3": (True, "", "<|im_end|>"),
    "hermes": (True, "", "<|im_end|>"),
    "llama3.1": (False, "<|begin_of_text|>", "<|eot_id|>"),
}
_MAX_REPEAT = 1 << 20  # `'x' * n` in a template may build at most a megabyte
_MAX_POWER = 1 << 12  # `a ** b` with a huge b would hang the export on one bignum


# -- the sandbox ----------------------------------------------------------------------------------


class _Sandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox, plus bounds on the two operators that can exhaust memory or time."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                if isinstance(seq, str | list | tuple) and isinstance(times, int) and len(seq) * times > _MAX_REPEAT:
                    raise SecurityError(f"a template may not repeat a sequence to more than {_MAX_REPEAT:,} items")
        if operator == "**" and isinstance(right, int) and abs(right) > _MAX_POWER:
            raise SecurityError(f"a template may not raise to a power above {_MAX_POWER}")
        return super().call_binop(context, operator, left, right)


class _GenerationTag(Extension):
    """`{% generation %}...{% endgeneration %}` (transformers' assistant-mask marker) renders its body."""

    tags = {"generation"}  # noqa: RUF012 - Jinja's Extension API declares it this way

    def parse(self, parser: Parser) -> list[nodes.Node]:
        next(parser.stream)
        return parser.parse_statements(("name:endgeneration",), drop_needle=True)


def _check_namespace_name(name: Any) -> None:
    if isinstance(name, str) and name.startswith("_"):
        raise SecurityError(f"a template may not store {name!r} on a namespace (leading underscore)")


class _Namespace(Namespace):
    """Jinja's `namespace`, refusing names with a leading underscore, so nothing private can be stored.

    (Namespace answers every attribute lookup from its items, hence the module-level check.)
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        attrs = dict(*args, **kwargs)
        for name in attrs:
            _check_namespace_name(name)
        super().__init__(attrs)

    def __setitem__(self, name: str, value: Any) -> None:
        _check_namespace_name(name)
        super().__setitem__(name, value)


def _make_dict(*args: Any, **kwargs: Any) -> dict[Any, Any]:
    """`dict(...)` for templates, without handing them the `dict` type itself."""
    return dict(*args, **kwargs)


def _tojson(value: Any, ensure_ascii: bool = False, indent: int | None = None,
            separators: tuple[str, str] | None = None, sort_keys: bool = False) -> str:
    """The `tojson` of transformers: key order kept, non-ASCII kept, no HTML escaping (unlike Jinja's own)."""
    return json.dumps(value, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def _raise_exception(message: str) -> None:
    raise DataError(str(message))


def _strftime_now(fmt: str) -> str:
    return datetime.now().strftime(fmt)


@lru_cache(maxsize=1)
def _environment() -> _Sandbox:
    env = _Sandbox(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols, _GenerationTag])
    env.filters["tojson"] = _tojson
    env.globals["raise_exception"] = _raise_exception
    env.globals["strftime_now"] = _strftime_now
    env.globals["namespace"] = _Namespace
    env.globals["dict"] = _make_dict
    return env


@lru_cache(maxsize=32)
def _compiled(source: str) -> Any:
    return _environment().from_string(source)


# -- templates ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChatTemplate:
    """A chat template and what rendering needs besides it: its special tokens and its call limits.

    `parallel_calls` is False for templates that take one call per assistant turn (Llama 3.1);
    `render` then splits parallel calls into call/result pairs so such dialogs still render.
    """

    name: str
    source: str = field(repr=False)
    parallel_calls: bool = True
    bos_token: str = ""
    eos_token: str = ""
    origin: str = ""
    """Where the template came from (a file, a GGUF, a tokenizer folder), for messages and docs."""

    @property
    def thinks(self) -> bool:
        """Whether the template has a thinking slot: it renders a message's `reasoning_content` (Qwen3, DeepSeek-R1)."""
        return "reasoning_content" in self.source

    def render(self, dialog: Dialog, *, add_generation_prompt: bool = False, **variables: Any) -> str:
        """The dialog as the model sees it; extra `variables` (e.g. `date_string`) reach the template.

        Raises:
            DataError: the template refused the dialog (`raise_exception`) or failed on it.
        """
        messages = dialog.messages if self.parallel_calls else split_parallel_calls(dialog.messages)
        context = {
            "bos_token": self.bos_token,
            "eos_token": self.eos_token,
            **variables,
            "messages": hf_messages(messages),
            "tools": [tool.to_openai() for tool in dialog.tools] or None,
            "documents": None,
            "add_generation_prompt": add_generation_prompt,
        }
        try:
            return str(_compiled(self.source).render(**context))
        except (TemplateError, CallforgeError, TypeError, ValueError, KeyError, IndexError) as exc:
            which = f" {dialog.meta.id!r}" if dialog.meta.id is not None else ""
            raise DataError(f"chat template {self.name!r} cannot render dialog{which}: {exc}") from None


def load_template(spec: str) -> ChatTemplate:
    """Find a chat template by `spec`, so an export renders what the target model's runtime renders.

    `spec` is a shipped name (see `TEMPLATES`), a path to a `.jinja` file, `hf:DIR` (a transformers
    tokenizer folder: `chat_template.jinja` or `tokenizer_config.json`), `gguf:PATH` (the template in
    a GGUF file's metadata) or `local:NAME` (an embedded callforge model's GGUF, e.g.
    `local:qwen2.5-coder-0.5b`). A template from outside is tried on a two-call dialog: if it refuses
    one but takes single calls, it gets `parallel_calls=False`.

    Raises:
        ConfigError: unknown spec, missing or unreadable file, no template in it, or a Jinja syntax error.
    """
    if spec in _SHIPPED:
        parallel, bos, eos = _SHIPPED[spec]
        source = resources.files("callforge.export").joinpath("templates", f"{spec}.jinja").read_text("utf-8")
        return _checked(ChatTemplate(spec, source, parallel, bos, eos, origin="shipped with callforge"))
    if spec.startswith("hf:"):
        return _probed(_from_hf(spec, Path(spec[3:]).expanduser()))
    if spec.startswith("gguf:"):
        return _probed(_from_gguf(spec, Path(spec[5:]).expanduser()))
    if spec.startswith("local:"):
        from callforge.llm import resolve_model

        return _probed(_from_gguf(spec, resolve_model(spec[6:])))
    path = Path(spec).expanduser()
    if spec.endswith(".jinja") or path.is_file():
        return _probed(ChatTemplate(spec, _read_text(path, spec), origin=str(path)))
    raise ConfigError(
        f"unknown chat template {spec!r}; use one of {', '.join(TEMPLATES)}, a path to a .jinja file, "
        "hf:DIR (a transformers tokenizer folder), gguf:PATH (a GGUF model file) or local:NAME "
        "(an embedded model, e.g. local:qwen2.5-coder-0.5b)"
    )


def to_chat(dialog: Dialog, template: ChatTemplate) -> dict[str, Any]:
    """`{"text", "id"?}`: one plain-text SFT record (the id kept so records trace back to the Run)."""
    record: dict[str, Any] = {"text": template.render(dialog)}
    if dialog.meta.id is not None:
        record["id"] = dialog.meta.id
    return record


def chat_writer(spec: str) -> Callable[[Dialog], dict[str, Any]]:
    """A one-argument writer for the export loop: the template is loaded (and checked) once, here."""
    template = load_template(spec)

    def write(dialog: Dialog) -> dict[str, Any]:
        return to_chat(dialog, template)

    return write


def _read_text(path: Path, spec: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"chat template {spec!r}: no such file {str(path)!r}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"chat template {spec!r}: cannot read {str(path)!r}: {exc}") from None


def _checked(template: ChatTemplate) -> ChatTemplate:
    try:
        _compiled(template.source)
    except TemplateError as exc:
        raise ConfigError(f"chat template {template.name!r} ({template.origin}) is not valid Jinja: {exc}") from None
    return template


_PROBE_TOOL = ToolSpec(name="probe", description="A probe.", parameters={"type": "object", "properties": {}})


def _probe(calls: int) -> Dialog:
    made = tuple(ToolCall(name="probe", arguments={}, id=f"p{i}") for i in range(calls))
    return Dialog(
        tools=(_PROBE_TOOL,),
        messages=(
            Message(role="user", content="Probe."),
            Message(role="assistant", tool_calls=made),
            *(Message(role="tool", tool_call_id=c.id, content="{}") for c in made),
            Message(role="assistant", content="Done."),
        ),
    )


def _probed(template: ChatTemplate) -> ChatTemplate:
    """Set `parallel_calls` from behaviour: a template that takes one call but refuses two forbids them."""
    _checked(template)
    try:
        template.render(_probe(1))
    except DataError:
        return template  # it refuses plain tool use too; rendering will say why, per dialog
    try:
        template.render(_probe(2))
    except DataError:
        return ChatTemplate(
            template.name, template.source, False, template.bos_token, template.eos_token, template.origin
        )
    return template


def _token_text(value: Any) -> str:
    if isinstance(value, dict):
        value = value.get("content")
    return value if isinstance(value, str) else ""


def _from_hf(spec: str, folder: Path) -> ChatTemplate:
    """A transformers tokenizer folder, read directly (no transformers needed)."""
    if not folder.is_dir():
        raise ConfigError(f"chat template {spec!r}: {str(folder)!r} is not a folder (expected a tokenizer folder)")
    config: dict[str, Any] = {}
    config_file = folder / "tokenizer_config.json"
    if config_file.is_file():
        try:
            loaded = json.loads(_read_text(config_file, spec))
        except json.JSONDecodeError as exc:
            raise ConfigError(f"chat template {spec!r}: {config_file} is not JSON: {exc}") from None
        config = loaded if isinstance(loaded, dict) else {}
    source: Any = None
    if (folder / "chat_template.jinja").is_file():  # newer transformers save it beside the config
        source = _read_text(folder / "chat_template.jinja", spec)
    else:
        source = config.get("chat_template")
        if source is None and (folder / "chat_template.json").is_file():
            try:
                source = json.loads(_read_text(folder / "chat_template.json", spec)).get("chat_template")
            except (json.JSONDecodeError, AttributeError):
                source = None
        if isinstance(source, list):  # named templates: prefer the one written for tool use
            named = {t.get("name"): t.get("template") for t in source if isinstance(t, dict)}
            source = named.get("tool_use") or named.get("default")
    if not isinstance(source, str) or not source:
        raise ConfigError(
            f"chat template {spec!r}: no chat template in {folder} (looked for chat_template.jinja and "
            "the chat_template of tokenizer_config.json)"
        )
    bos, eos = _token_text(config.get("bos_token")), _token_text(config.get("eos_token"))
    return ChatTemplate(spec, source, bos_token=bos, eos_token=eos, origin=str(folder))


def _from_gguf(spec: str, path: Path) -> ChatTemplate:
    """The template in a GGUF file's metadata, with its BOS/EOS token texts."""
    from callforge.export.gguf import read_metadata

    if not path.is_file():
        raise ConfigError(f"chat template {spec!r}: no such GGUF file {str(path)!r}")
    try:
        meta = read_metadata(path)
        values = meta.values
        source = values.get("tokenizer.chat_template.tool_use") or values.get("tokenizer.chat_template")
        tokens = "tokenizer.ggml.tokens"
        bos_id, eos_id = values.get("tokenizer.ggml.bos_token_id"), values.get("tokenizer.ggml.eos_token_id")
        # like transformers' Qwen tokenizer (bos_token null), a model that adds no BOS shows no BOS
        adds_bos = values.get("tokenizer.ggml.add_bos_token") is not False
        bos = meta.array_item(tokens, bos_id) if isinstance(bos_id, int) and adds_bos else None
        eos = meta.array_item(tokens, eos_id) if isinstance(eos_id, int) else None
    except DataError as exc:
        raise ConfigError(f"chat template {spec!r}: {exc}") from None
    if not isinstance(source, str) or not source:
        raise ConfigError(f"chat template {spec!r}: {path} has no tokenizer.chat_template in its metadata")
    return ChatTemplate(
        spec, source, bos_token=bos if isinstance(bos, str) else "", eos_token=eos if isinstance(eos, str) else "",
        origin=str(path),
    )


# -- messages in the transformers convention ------------------------------------------------------


def split_parallel_calls(messages: Sequence[Message]) -> tuple[Message, ...]:
    """Turn each assistant message with several calls, and the results after it, into call/result pairs.

    For templates that take one call per turn. Results are matched to calls by id, else in order;
    the assistant's text stays on the first call; a result that matches no call keeps its place
    after the last pair.
    """
    out: list[Message] = []
    i = 0
    while i < len(messages):
        message = messages[i]
        i += 1
        if message.role != "assistant" or len(message.tool_calls) < 2:
            out.append(message)
            continue
        results: list[Message] = []
        while i < len(messages) and messages[i].role == "tool":
            results.append(messages[i])
            i += 1
        paired = _pair_results(message.tool_calls, results)
        for k, call in enumerate(message.tool_calls):
            content, thought = (message.content, message.reasoning) if k == 0 else (None, None)
            out.append(Message(role="assistant", content=content, tool_calls=(call,), name=message.name, reasoning=thought))
            if k in paired:
                out.append(paired[k])
        used = {id(m) for m in paired.values()}
        out.extend(m for m in results if id(m) not in used)
    return tuple(out)


def _pair_results(calls: Sequence[ToolCall], results: Sequence[Message]) -> dict[int, Message]:
    paired: dict[int, Message] = {}
    by_id = {call.id: k for k, call in enumerate(calls) if call.id}
    loose: list[Message] = []
    for result in results:
        k = by_id.get(result.tool_call_id) if result.tool_call_id else None
        if k is not None and k not in paired:
            paired[k] = result
        else:
            loose.append(result)
    free = [k for k in range(len(calls)) if k not in paired]
    for k, result in zip(free, loose, strict=False):
        paired[k] = result
    return paired


def hf_messages(messages: Iterable[Message]) -> list[dict[str, Any]]:
    """Messages as transformers passes them to chat templates: dicts, calls with dict arguments.

    `content` is always a string (templates concatenate it); `tool_calls` appears only on messages
    that have calls (templates test `'tool_calls' in message`); a tool result gets the name of the
    call it answers when it lacks one, matched by id, else by its place after the call.
    """
    rows: list[dict[str, Any]] = []
    names_by_id: dict[str, str] = {}
    pending: list[str] = []  # names of the latest calls not yet answered, for results without ids
    for message in messages:
        row: dict[str, Any] = {"role": message.role, "content": message.content or ""}
        if message.reasoning:
            row["reasoning_content"] = message.reasoning
        if message.tool_calls:
            row["tool_calls"] = [
                {"type": "function", **({"id": c.id} if c.id else {}), "function": {"name": c.name, "arguments": c.arguments}}
                for c in message.tool_calls
            ]
            names_by_id.update({c.id: c.name for c in message.tool_calls if c.id})
            pending = [c.name for c in message.tool_calls]
        if message.role == "tool":
            name = message.name or names_by_id.get(message.tool_call_id or "") or (pending[0] if pending else None)
            if pending and name in pending:
                pending.remove(name)
            row["tool_call_id"] = message.tool_call_id
            row["name"] = name
        elif message.name:
            row["name"] = message.name
        rows.append(row)
    return rows
