"""`fake:world`: a rule-based model that plays every role `callforge generate` asks for, with no weights.

It exists so that generate -> verify -> export -> eval can be tried in seconds, offline, to see the
whole flow and every output. Its dialogs are for trying the pipeline, not for training: the user
turns follow one fixed pattern and the assistant only reads that pattern back.

The role is told from the request's shape, as a served model would see it:

* simulator: the last user message starts with "Tool definition:" (a tool without code); the
  output fills the tool's `returns` schema, echoing arguments into fields of the same name;
* planner: a JSON schema whose properties are `call_1..call_k`; values are plausible for each
  parameter's name and description, seeded by the request seed, and a tool's complaint about the
  first values ("must be one of ...") is read on the second try (see `world_values`);
* user: a `{"message"}` schema; the message states every value the prompt lists, as
  `what (name value, ...)` groups between "Please help: " and " ~ ", with seeded small talk around;
* assistant: anything else; it reads those groups back into calls of the offered tools (taking
  values the user could not know, such as ids, from earlier tool outputs), asks for a value that
  is missing, answers from the tool results, and declines what no tool does. When its system
  prompt asks for a thought in `<think>` tags (`generate --reasoning`), it writes one before its
  calls: what the user wants, how many calls, each argument as `name = value` and where it came from.

Any other JSON-schema request gets a schema-valid value, so no role of another verb crashes on it.
The parsing follows generate's prompt wording: tests/test_fake_world.py fails when that drifts.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from callforge.core import Message, ToolCall, ToolSpec, Verdict
from callforge.llm.backend import Completion, Options, Usage, parse_options
from callforge.llm.fake.policy import Reply, content_text
from callforge.llm.fake.world_values import (
    ADJECTIVES,
    NOUNS,
    invent,
    kind_of,
    plan_slots,
    rng_for,
    simulate,
    today_in,
)
from callforge.llm.scripted import Request

WORLD_NOTE = (
    "fake:world is a rule-based stand-in model: its dialogs are for trying the pipeline, not for training."
)
"""The line a run made with `fake:world` prints, so nobody mistakes its output for a dataset."""

START, SEP, END, USING = "Please help: ", " | ", " ~ ", "; using the "
OPENERS = (
    "Hi there.", "Hello!", "Good morning.", "Hey, quick one.", "Hi, hoping you can help.", "Evening!",
    "Hello again.", "Hi, I am planning ahead.", "Greetings.", "Hey there, small favour.",
)  # fmt: skip
FOLLOW_UPS = ("Thanks!", "Great, one more thing.", "Perfect.", "Got it, thanks.", "Nice, next one.", "Good.")
CLOSERS = (
    "thanks a lot", "much appreciated", "cheers", "thank you kindly", "that would be great",
    "grateful as always", "thanks in advance", "many thanks", "you are a star", "appreciate it",
)  # fmt: skip
FILLER = (
    "no rush", "please", "honestly", "quickly", "for my notes", "when you can", "if possible",
    "for the family", "for a project", "for work", "for a friend", "if you can", "as usual",
)  # fmt: skip



@dataclass(frozen=True)
class Thought:
    """Calls with the thought written before them (asked for by a system prompt that mentions `<think>`)."""

    text: str
    calls: tuple[ToolCall, ...]


Answer = str | tuple[ToolCall, ...] | Thought


class World:
    """The policy: one answer per request, and how many requests each role made (`counts`)."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def respond(self, request: Request) -> Answer:
        """Tell the role from the request's shape and answer as that role."""
        messages = request.messages
        last = next((m.content or "" for m in reversed(messages) if m.role == "user"), "")
        schema = request.options.json_schema or {}
        props = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
        seed = request.options.seed or 0
        if last.startswith("Tool definition:"):
            self.counts["simulator"] += 1
            return _simulate(last)
        if props and all(k.startswith("call_") for k in props) and not request.tools:
            self.counts["planner"] += 1
            return orjson.dumps(plan_slots(schema, seed, today_in(last), _feedback(last))).decode()
        if props and set(props) == {"message"} and not request.tools:
            self.counts["user"] += 1
            system = next((m.content or "" for m in messages if m.role == "system"), "")
            return orjson.dumps({"message": _user(last, system, seed)}).decode()
        if schema:
            self.counts["other"] += 1
            return orjson.dumps(invent("", schema, rng_for(seed, last), today_in(last), root=schema)).decode()
        self.counts["assistant"] += 1
        return _assistant(list(messages), request.tools, request.options)


def _feedback(prompt: str) -> str:
    marker = "Your previous values were rejected by the tool: "
    return prompt.split(marker, 1)[1].split("\nChoose values", 1)[0] if marker in prompt else ""


# -- simulator ---------------------------------------------------------------------------------------------


def _simulate(prompt: str) -> str:
    head, _, rest = prompt.partition("\n\nCall arguments:\n")
    try:
        definition = orjson.loads(head.removeprefix("Tool definition:\n"))
        arguments = orjson.loads(rest.split("\n\nThe tool's output", 1)[0])
    except orjson.JSONDecodeError:
        return '{"error": "the call could not be read"}'
    if not isinstance(definition, dict) or not isinstance(arguments, dict):
        return '{"error": "the call could not be read"}'
    key = orjson.dumps(arguments, option=orjson.OPT_SORT_KEYS).decode()
    output = simulate(
        definition.get("returns"),
        arguments,
        rng_for(definition.get("name"), key),
        definition.get("parameters"),
    )
    return orjson.dumps(output).decode()


# -- user --------------------------------------------------------------------------------------------------


def _user(prompt: str, system: str, seed: int) -> str:
    rng = rng_for("user", seed)
    if "can only do these things" in prompt:  # no_call: ask for something no tool does
        theme = re.search(r"something about (.+?) that none", prompt)
        topic = theme.group(1) if theme else f"{rng.choice(ADJECTIVES)} {rng.choice(NOUNS)}"
        return f"{rng.choice(OPENERS)} What would you advise about {topic}, in general terms?"
    groups = SEP.join(asked(prompt))
    opener = rng.choice(FOLLOW_UPS if "The conversation so far:" in prompt else OPENERS)
    if "no greeting" in system:
        opener = ""
    filler = " ".join(rng.sample(FILLER, 2))
    for name, dropped in re.findall(r"first ask with the (.+?) (\S+), then correct yourself", prompt):
        filler += f". At first I wanted the {name} to be {dropped}, but I changed my mind"
    return f"{opener} {filler[0].upper()}{filler[1:]}. {START}{groups}{END}{rng.choice(CLOSERS)}.".strip()


def asked(prompt: str) -> list[str]:
    """One `what (name value, ...)` group per call the user-role prompt lists, in its order."""
    groups = []
    asks = prompt.split("What you want the assistant to do", 1)[-1].split("\n\n", 1)[0]
    for line in asks.splitlines():
        if not line.startswith("- "):
            continue
        line, _, refs = line[2:].partition("; use the ")
        what, values = _bullet(line)
        group = _lowered(what) + (f" ({values})" if values else "")
        taken = refs.split(" from the previous result", 1)[0] if refs else ""
        groups.append(group + (f"{USING}{taken} from before" if taken else ""))
    return groups


def _bullet(line: str) -> tuple[str, str]:
    """A bullet's description and the text of its trailing `(...)`, parentheses inside it allowed."""
    line = line.rstrip()
    if not line.endswith(")"):
        return line, ""
    depth = 0
    for index in range(len(line) - 1, -1, -1):
        depth += {")": 1, "(": -1}.get(line[index], 0)
        if depth == 0:
            return line[:index].rstrip(), line[index + 1 : -1]
    return line, ""


# -- assistant ---------------------------------------------------------------------------------------------


def _assistant(messages: list[Message], tools: Sequence[ToolSpec], options: Options) -> Answer:
    if options.tool_choice == "none" and messages and messages[-1].role == "user":
        messages = messages[:-1]  # the nudge asking for the answer in words
    last_user = max((i for i, m in enumerate(messages) if m.role == "user"), default=-1)
    if last_user < 0:
        return "Hello! What can I look up for you?"
    text = messages[last_user].content or ""
    after = messages[last_user + 1 :]
    results = {m.tool_call_id: _json(m.content) for m in messages if m.role == "tool"}
    told = [
        results[m.tool_call_id] for m in after if m.role == "tool" and not _failed(results[m.tool_call_id])
    ]
    if START not in text:
        return (
            _answer(told)
            if told
            else "I cannot do that with the tools I have, but I am happy to talk it through."
        )
    if options.tool_choice == "none" or not tools:
        return _answer(told) if told else "I cannot look that up right now."
    outputs = [
        r for m in reversed(messages) if m.role == "tool" and not _failed(r := results[m.tool_call_id])
    ]
    made = [c for m in after if m.role == "assistant" for c in m.tool_calls]
    done = [c for c in made if c.id in results and not _failed(results[c.id])]
    calls: list[ToolCall] = []
    whys: list[str] = []
    missing: str | None = None
    for group in text.split(START, 1)[1].split(END, 1)[0].split(SEP):
        read = _read(group, tools, outputs)
        if read is None:
            continue
        tool, arguments, fed = read
        lacking = [name for name in [*tool.required, *fed] if name not in arguments]
        if lacking:
            missing = missing or lacking[0]
            continue
        call = ToolCall(name=tool.name, arguments=arguments)
        if not any(c.name == call.name and c.arguments == call.arguments for c in [*done, *calls]):
            calls.append(call)
            whys.append(_why(call, _bullet(group.partition(USING)[0])[0], _said(group)))
    if calls:
        thinks = any(m.role == "system" and "<think>" in (m.content or "") for m in messages)
        return Thought(_thought(whys), tuple(calls)) if thinks else tuple(calls)
    if missing and not made:
        return f"Could you tell me the {missing.replace('_', ' ')}?"
    return _answer(told) if told else "Could you tell me a bit more about what you need?"


def _said(group: str) -> str:
    """The part of a user's group that states values (not the "using the ... from before" tail)."""
    return _bullet(group.partition(USING)[0])[1]


def _why(call: ToolCall, what: str, said: str) -> str:
    """One call's part of a thought: the tool, its job, and each value with where it came from."""
    values = []
    for name, value in call.arguments.items():
        shown = orjson.dumps(value).decode()
        source = "as the user said" if f"{name.replace('_', ' ')} " in said or f"{name} " in said else "from the earlier tool result"
        values.append(f"{name} = {shown} ({source})")
    why = f"{call.name} to {what.rstrip('.')}" if what else call.name
    return why + (", with " + ", ".join(values) if values else ", which needs no arguments")


def _thought(whys: list[str]) -> str:
    """A ToolACE-style formalized thought: the count of calls, then which tool, why and where each value is from."""
    count = f"{len(whys)} call" + ("s" if len(whys) > 1 else "")
    return f"The request needs {count}. " + " ".join(f"Call {why}." for why in whys)


def _read(
    group: str, tools: Sequence[ToolSpec], outputs: list[Any]
) -> tuple[ToolSpec, dict[str, Any], list[str]] | None:
    """The tool a group asks for and its arguments: by the tool's description, else by parameter names.

    Values the group says to take "from before" (ids and the like) come from the latest tool output
    that holds them; while none does yet, they stay unset and the call waits.
    """
    group, _, refs = group.partition(USING)
    fed = [r.strip() for r in refs.removesuffix(" from before").split(", ") if r.strip()]
    what, values = _bullet(group)
    wanted = {group.casefold(), what.casefold()}
    named = [t for t in tools if _what(t).casefold() in wanted]
    fits = []
    for tool in named or tools:
        text = "" if _what(tool).casefold() == group.casefold() else values
        pairs = _pairs(text, tool)
        if pairs is None or (not named and not pairs):
            continue
        arguments = {k: _typed(v, tool.properties.get(k) or {}) for k, v in pairs.items()}
        needed = [*tool.required, *(n for n in tool.properties if n.replace("_", " ") in fed)]
        for name in needed:
            if name not in arguments:
                found = find(outputs, name)
                if found is not None:
                    arguments[name] = found
        fits.append((len(tool.properties), tool.name, tool, arguments))
    if not fits:
        return None
    _, _, tool, arguments = min(fits, key=lambda f: (f[0], f[1]))
    return tool, arguments, [n for n in tool.properties if n.replace("_", " ") in fed]


def _what(tool: ToolSpec) -> str:
    """How the user-role prompt names a tool's job: its description's first paragraph (as generate cuts it)."""
    head = (tool.description or "").strip().split("\n\n", 1)[0].replace("\n", " ").strip()
    head = head if len(head) <= 200 else head[:197] + "..."
    head = head or tool.name.replace("_", " ")
    return _lowered(head.rstrip("."))


def _lowered(text: str) -> str:
    """A description as the middle of a sentence: "Find airports" -> "find airports", "IATA codes" kept."""
    return text[:1].lower() + text[1:] if text[1:2].islower() else text


def _pairs(text: str, tool: ToolSpec) -> dict[str, str] | None:
    """`name value, name value` read with the tool's parameter names, so values may hold commas."""
    if not text:
        return {}
    forms = sorted(((n.replace("_", " "), n) for n in tool.properties), key=lambda f: -len(f[0]))
    starts: list[tuple[int, int, str]] = []  # (where the name starts, where its value starts, parameter)
    for at in [0, *(m.end() for m in re.finditer(", ", text))]:
        for form, name in forms:
            for written in (form, name):
                if text.startswith(written + " ", at):
                    starts.append((at, at + len(written) + 1, name))
                    break
            else:
                continue
            break
    if not starts or starts[0][0] != 0:
        return None
    out = {}
    for (_, begin, name), following in zip(starts, [*starts[1:], None], strict=True):
        end = following[0] - 2 if following else len(text)
        out[name] = text[begin:end]
    return out


def _typed(text: str, schema: dict[str, Any]) -> Any:
    if kind_of(schema) == "string" and not schema.get("anyOf") and not schema.get("oneOf"):
        return text
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return text


def find(value: Any, name: str) -> Any:
    """A value for parameter `name` in tool outputs (latest first; the first item of a list).

    Tries the exact key; then a field that ends the name inside a container its other words name
    (`flights[].id` for `flight_id`, `airports[].code` for `origin_airport_code`); then a field
    named by the name's last words (`airport_code`, then `code`; `price` for `max_price`); then one
    whose name ends with it (`total_energy_consumption` for `energy_consumption`).
    """
    words = name.lower().split("_")
    tail, nouns = words[-1], set(words[:-1])

    def inside(key: str, parents: tuple[str, ...]) -> bool:
        return len(words) > 1 and key.lower() == tail and any(p.lower().rstrip("s") in nouns for p in parents)

    def ending(key: str, parents: tuple[str, ...]) -> bool:
        return key.lower().endswith("_" + name.lower())

    tries = [
        _named(name, exact=True),
        inside,
        *(_named("_".join(words[i:])) for i in range(1, len(words))),
        ending,
    ]
    for fits in tries:
        found = _key(value, fits)
        if found is not None:
            return found
    return None


def _named(name: str, *, exact: bool = False) -> Callable[[str, tuple[str, ...]], bool]:
    return lambda key, parents: key == name if exact else key.lower() == name


def _key(value: Any, wanted: Callable[[str, tuple[str, ...]], bool], parents: tuple[str, ...] = ()) -> Any:
    if isinstance(value, dict):
        for key, inner in value.items():
            if wanted(key, parents) and inner is not None:
                return inner
        for key, inner in value.items():
            found = _key(inner, wanted, (*parents, key))
            if found is not None:
                return found
    if isinstance(value, list):
        for inner in value:
            found = _key(inner, wanted, parents)
            if found is not None:
                return found
    return None


def _answer(outputs: list[Any]) -> str:
    parts = [", ".join(told[:12]) for told in (_told(o) for o in outputs) if told]
    return (
        ("Here is what I found: " + "; ".join(parts) + ".")
        if parts
        else "Done: the tools returned nothing to report."
    )


def _told(value: Any, key: str = "", depth: int = 0) -> list[str]:
    """A tool output as sentence parts (`temperature 21.0`, `unit C`): what an answer tells, not raw JSON."""
    if depth > 3 or value is None or isinstance(value, bool):
        return []
    if isinstance(value, dict):  # an item of a list is told by its name, not its id
        return [part for k, v in value.items() if not (depth and _id(k)) for part in _told(v, k, depth + 1)]
    if isinstance(value, list):
        return [part for v in value[:3] for part in _told(v, key, depth + 1)]
    return [f"{key.replace('_', ' ')} {value}".strip()]


def _id(key: str) -> bool:
    return key.lower() == "id" or key.lower().endswith("_id")


def _json(text: str | None) -> Any:
    try:
        return orjson.loads(text or "null")
    except orjson.JSONDecodeError:
        return text


def _failed(output: Any) -> bool:
    return isinstance(output, dict) and "error" in output


# -- in process, and behind the fake server ----------------------------------------------------------------


class WorldBackend:
    """`fake:world` as a Backend, in process: answers at once, deterministic per request and seed."""

    def __init__(self, *, model: str = "fake:world") -> None:
        self.model = model
        self.world = World()

    async def complete(
        self, messages: Sequence[Message], tools: Sequence[ToolSpec] | None = None, **options: Any
    ) -> Completion:
        """Answer as the role the request's shape names; usage is estimated as characters / 4."""
        request = Request(tuple(messages), tuple(tools or ()), parse_options(options))
        answer = self.world.respond(request)
        prompt = sum(len(m.content or "") for m in messages) // 4 + 1
        if isinstance(answer, str):
            return Completion(
                text=answer,
                model=self.model,
                finish_reason="stop",
                usage=Usage(prompt_tokens=prompt, completion_tokens=len(answer) // 4 + 1),
            )
        text = ""
        if isinstance(answer, Thought):
            text, answer = f"<think>{answer.text}</think>", answer.calls
        size = len(orjson.dumps([c.arguments for c in answer])) + len(text)
        return Completion(
            text=text,
            tool_calls=answer,
            model=self.model,
            finish_reason="tool_calls",
            parse=Verdict.passed(format="native"),
            usage=Usage(prompt_tokens=prompt, completion_tokens=size // 4 + 1),
        )


class WorldPolicy:
    """The same model behind the fake OpenAI server (`--policy world`), for benchmarks and HTTP tests."""

    def __init__(self) -> None:
        self.world = World()

    @property
    def counts(self) -> Counter[str]:
        """Requests answered per role, so a benchmark can tell what the server was asked."""
        return self.world.counts

    def reply(self, request: dict[str, Any]) -> Reply:
        """Read the request JSON as a served model would and answer as its role."""
        answer = self.world.respond(request_from_wire(request))
        if isinstance(answer, Thought):
            return Reply(text=f"<think>{answer.text}</think>", tool_calls=answer.calls)
        return Reply(text=answer) if isinstance(answer, str) else Reply(tool_calls=answer)


def request_from_wire(request: dict[str, Any]) -> Request:
    """A chat-completions request JSON as callforge records: messages, offered tools and options."""
    messages = []
    for raw in request.get("messages") or ():
        if not isinstance(raw, dict):
            continue
        calls = []
        for call in raw.get("tool_calls") or ():
            function = call.get("function") or {}
            arguments = function.get("arguments")
            if isinstance(arguments, str):
                arguments = _json(arguments)
            calls.append(
                ToolCall(
                    name=function.get("name", ""),
                    arguments=arguments if isinstance(arguments, dict) else {},
                    id=call.get("id"),
                )
            )
        messages.append(
            Message(
                role=raw.get("role", "user"),
                content=content_text(raw.get("content")) if raw.get("content") is not None else None,
                tool_calls=tuple(calls),
                tool_call_id=raw.get("tool_call_id"),
            )
        )
    tools = []
    for tool in request.get("tools") or ():
        function = tool.get("function", tool) if isinstance(tool, dict) else {}
        if isinstance(function, dict) and function.get("name"):
            parameters = function.get("parameters") if isinstance(function.get("parameters"), dict) else None
            tools.append(
                ToolSpec(
                    name=function["name"],
                    description=function.get("description") or "",
                    **({"parameters": parameters} if parameters else {}),
                )
            )
    choice = request.get("tool_choice")
    if isinstance(choice, dict):
        choice = (choice.get("function") or {}).get("name")
    response_format = request.get("response_format") or {}
    schema = (
        (response_format.get("json_schema") or {}).get("schema")
        if isinstance(response_format, dict)
        else None
    )
    options = {"seed": request.get("seed"), "json_schema": schema, "tool_choice": choice}
    return Request(
        tuple(messages), tuple(tools), parse_options({k: v for k, v in options.items() if v is not None})
    )
