"""Reading text rendered by the shipped chat templates back into Dialogs: the round trip of the `chat` export.

Plain text has no structure to trust, so each format is parsed strictly: turns must tile the whole
text, call blocks must be JSON objects of the format's shape, and anything else is a DataError that
says where the text stops matching.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from callforge.core import ConfigError, DataError, Dialog, Message, SpecError, ToolCall, ToolSpec
from callforge.export.chat import TEMPLATES, ChatTemplate

_CHATML_TURN = re.compile(r"<\|im_start\|>(\w+)\n(.*?)<\|im_end\|>\n", re.DOTALL)
_LLAMA_TURN = re.compile(r"<\|start_header_id\|>(\w+)<\|end_header_id\|>\n\n(.*?)(<\|eot_id\|>|<\|eom_id\|>)", re.DOTALL)
_QWEN_IDENTITY = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."
_QWEN_TOOLS = "\n\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
_HERMES_PROMPT = "You are a function calling AI model."
_HERMES_PROMPT_END = '<tool_call>\n{"arguments": <args-dict>, "name": <function-name>}\n</tool_call>'
_LLAMA_TOOLS_END = "Do not use variables.\n\n"
_LLAMA_HEADER = re.compile(r"(Environment: ipython\n)?Cutting Knowledge Date: [^\n]*\nToday Date: [^\n]*\n\n")


def read_chat(text: str, template: str | ChatTemplate = "qwen2.5") -> Dialog:
    """Parse text rendered by a shipped template back into a Dialog (tools included), to prove the export.

    Roles, texts, calls (names and arguments) and tool outputs come back; call ids are renumbered
    (`call_1`, ...). Qwen's default system prompt, which the template adds when a dialog has none,
    is dropped again. Llama 3.1's split parallel calls come back split.

    Raises:
        ConfigError: `template` is not a shipped template.
        DataError: the text is not in that template's format.
    """
    name = template.name if isinstance(template, ChatTemplate) else template
    if name == "qwen2.5":
        return _read_chatml(text, qwen=True)
    if name == "qwen3":
        return _read_chatml(text, qwen=True, thinking=True)
    if name == "hermes":
        return _read_chatml(text, qwen=False)
    if name == "llama3.1":
        return _read_llama(text)
    raise ConfigError(f"read_chat parses the shipped templates only ({', '.join(TEMPLATES)}), not {name!r}")


class _Builder:
    """Accumulates parsed messages, numbering calls and answering them in order."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.tools: list[ToolSpec] = []
        self.unanswered: list[ToolCall] = []
        self.count = 0

    def calls(self, content: str, calls: list[tuple[str, dict[str, Any]]], reasoning: str | None = None) -> None:
        made = []
        for call_name, arguments in calls:
            self.count += 1
            made.append(ToolCall(name=call_name, arguments=arguments, id=f"call_{self.count}"))
        self.unanswered = list(made)
        self.messages.append(Message(role="assistant", content=content or None, tool_calls=tuple(made), reasoning=reasoning))

    def result(self, output: str, name: str | None = None) -> None:
        """Answer the first open call named `name` (Hermes names results), else the first open call."""
        named = [k for k, c in enumerate(self.unanswered) if c.name == name]
        call = self.unanswered.pop(named[0] if named else 0) if self.unanswered else None
        self.messages.append(
            Message(role="tool", content=output, tool_call_id=call.id if call else None, name=call.name if call else None)
        )

    def say(self, role: str, content: str, reasoning: str | None = None) -> None:
        if role not in ("system", "user", "assistant"):
            raise DataError(f"unexpected role {role!r} in a chat transcript")
        self.messages.append(Message(role=role, content=content, reasoning=reasoning))  # type: ignore[arg-type]

    def tool_specs(self, found: Iterable[Any]) -> None:
        from callforge.tools import tool_from_openai

        try:
            self.tools.extend(tool_from_openai(tool) for tool in found)
        except SpecError as exc:
            raise DataError(f"a tool in the transcript is not a valid tool: {exc}") from None

    def dialog(self) -> Dialog:
        return Dialog(tools=tuple(self.tools), messages=tuple(self.messages))


def _turns(pattern: re.Pattern[str], text: str, start: int, tail: str) -> list[re.Match[str]]:
    """All turns from `start`, insisting they cover the text (a trailing generation prompt allowed)."""
    found, pos = [], start
    for match in pattern.finditer(text, start):
        if match.start() != pos:
            break
        found.append(match)
        pos = match.end()
    if text[pos:] not in ("", tail):
        raise DataError(f"not a chat transcript in this format at offset {pos}: {text[pos:pos + 60]!r}")
    return found


def _json(raw: str, what: str) -> Any:
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise DataError(f"{what} is not JSON: {exc}: {raw[:80]!r}") from None


def _json_sequence(raw: str) -> list[Any]:
    """Whitespace-separated JSON values (Hermes lists its tools that way)."""
    decoder, found, pos = json.JSONDecoder(), [], 0
    while pos < len(raw):
        if raw[pos].isspace():
            pos += 1
            continue
        try:
            value, pos = decoder.raw_decode(raw, pos)
        except json.JSONDecodeError as exc:
            raise DataError(f"the tool list is not JSON: {exc}") from None
        found.append(value)
    return found


def _blocks(body: str, tag: str) -> list[str] | None:
    """The insides of the `<tag>` blocks that make up all of `body` (one per line group), else None."""
    parts = re.findall(rf"<{tag}>\n(.*?)\n</{tag}>", body, re.DOTALL)
    rebuilt = "\n".join(f"<{tag}>\n{part}\n</{tag}>" for part in parts)
    return parts if parts and rebuilt == body.strip("\n") and body.startswith(f"<{tag}>") else None


def _split_calls(body: str) -> tuple[str, list[str]] | None:
    """An assistant body (text, then `<tool_call>` blocks) as (text, call JSONs), or None when it has no calls."""
    at = 0 if body.startswith("<tool_call>\n") else body.find("\n<tool_call>\n") + 1
    if at == 0 and not body.startswith("<tool_call>\n"):
        return None
    calls = _blocks(body[at:], "tool_call")
    if calls is None:
        return None
    return body[: max(at - 1, 0)], calls


_THINK_SLOT = re.compile(r"<think>\n(.*?)\n</think>\n\n", re.DOTALL)


def _read_chatml(text: str, *, qwen: bool, thinking: bool = False) -> Dialog:
    out = _Builder()
    for match in _turns(_CHATML_TURN, text, 0, "<|im_start|>assistant\n"):
        role, body = match.group(1), match.group(2)
        if match.start() == 0 and role == "system":
            if thinking:  # Qwen3: no default identity; the tools follow the system text after a blank line
                system = _qwen_system("\n\n" + body if body.startswith("# Tools") else body, out, identity="")
            else:
                system = _qwen_system(body, out) if qwen else _hermes_system(body, out)
            if system is not None:
                out.say("system", system)
            continue
        if role == "assistant":
            thought = None
            slot = _THINK_SLOT.match(body) if thinking else None
            if slot is not None:
                thought, body = slot.group(1), body[slot.end() :]
            split = _split_calls(body)
            if split is None:
                out.say("assistant", body, thought)
            else:
                content, raws = split
                out.calls(content, [_call(_json(raw, "a tool call"), "arguments") for raw in raws], thought)
            continue
        responses = _blocks(body, "tool_response") if role == ("user" if qwen else "tool") else None
        if responses is None:
            out.say(role, body)
        elif qwen:
            for output in responses:
                out.result(output)
        else:
            for block in responses:
                out.result(*_hermes_output(block))
    return out.dialog()


def _call(obj: Any, arguments_key: str) -> tuple[str, dict[str, Any]]:
    if not isinstance(obj, dict) or not isinstance(obj.get("name"), str) or not isinstance(obj.get(arguments_key), dict):
        raise DataError(f'a tool call must be {{"name": str, "{arguments_key}": object}}, not {obj!r:.80}')
    return obj["name"], obj[arguments_key]


def _qwen_system(body: str, out: _Builder, identity: str = _QWEN_IDENTITY) -> str | None:
    system, marker, rest = body.partition(_QWEN_TOOLS)
    if marker:
        listing = re.search(r"<tools>\n(.*)\n</tools>", rest, re.DOTALL)
        if listing is None:
            raise DataError("the Qwen system turn announces tools but has no <tools> block")
        out.tool_specs(_json(line, "a tool") for line in listing.group(1).split("\n"))
    return None if system == identity else system


def _hermes_system(body: str, out: _Builder) -> str | None:
    if not body.startswith(_HERMES_PROMPT):
        return body
    listing = re.search(r"<tools> (.*?) </tools> Use the following", body, re.DOTALL)
    end = body.find(_HERMES_PROMPT_END)
    if listing is None or end < 0:
        raise DataError("the Hermes system turn has a function-calling prompt without a <tools> listing")
    out.tool_specs(_json_sequence(listing.group(1)))
    rest = body[end + len(_HERMES_PROMPT_END) :]
    return rest[2:] if rest.startswith("\n\n") else None


def _hermes_output(block: str) -> tuple[str, str | None]:
    """(output, tool name) from `{"name": ..., "content": OUTPUT}`; OUTPUT is raw JSON as written, or a JSON string."""
    match = re.fullmatch(r'\{"name": ("(?:[^"\\]|\\.)*"|null), "content": (.*)\}', block, re.DOTALL)
    if match is None:
        raise DataError(f"a Hermes tool response must be {{\"name\", \"content\"}}, not {block[:80]!r}")
    name, raw = _json(match.group(1), "a tool name"), match.group(2)
    if raw.startswith('"'):
        raw = _json(raw, "a tool response")
        if not isinstance(raw, str):
            raise DataError(f"a Hermes tool response's content is not a string: {block[:80]!r}")
    return raw, name


def _read_llama(text: str) -> Dialog:
    out = _Builder()
    start = len("<|begin_of_text|>") if text.startswith("<|begin_of_text|>") else 0
    turns = _turns(_LLAMA_TURN, text, start, "<|start_header_id|>assistant<|end_header_id|>\n\n")
    tools_pending = False
    for index, match in enumerate(turns):
        role, body = match.group(1), match.group(2)
        if index == 0 and role == "system":
            header = _LLAMA_HEADER.match(body)
            if header is None:
                raise DataError("the Llama 3.1 system turn lacks its Cutting Knowledge Date / Today Date header")
            tools_pending = header.group(1) is not None
            if body[header.end() :]:
                out.say("system", body[header.end() :])
            continue
        if role == "ipython":
            out.result(body)
        elif role == "assistant" and body.startswith("<|python_tag|>"):
            content, call = _llama_call(body[len("<|python_tag|>") :])
            out.calls(content, [call])
        elif role == "user" and tools_pending:
            tools_pending = False
            _, marker, rest = body.partition(_LLAMA_TOOLS_END)
            if not marker:
                raise DataError("the first Llama 3.1 user turn should list the tools, and does not")
            decoder, pos, found = json.JSONDecoder(), 0, []
            while rest.startswith("{", pos):
                try:
                    tool, end = decoder.raw_decode(rest, pos)
                except json.JSONDecodeError:
                    break
                if not (isinstance(tool, dict) and tool.get("type") == "function") or not rest.startswith("\n\n", end):
                    break
                found.append(tool)
                pos = end + 2
            out.tool_specs(found)
            out.say("user", rest[pos:])
        else:
            out.say(role, body)
    return out.dialog()


def _llama_call(body: str) -> tuple[str, tuple[str, dict[str, Any]]]:
    """`text{"name": ..., "parameters": ...}` after the python tag: the JSON is the suffix that parses."""
    decoder = json.JSONDecoder()
    at = body.rfind('{"name": ')
    while at >= 0:
        try:
            obj, end = decoder.raw_decode(body, at)
        except json.JSONDecodeError:
            obj, end = None, -1
        if end == len(body):
            return body[:at], _call(obj, "parameters")
        at = body.rfind('{"name": ', 0, at)
    raise DataError(f"a Llama 3.1 tool call must end with {{\"name\", \"parameters\"}}: {body[:80]!r}")
