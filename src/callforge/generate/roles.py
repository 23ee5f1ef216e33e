"""The user and assistant roles: one writes requests from a plan, the other answers them with tools.

The two never share a prompt. The user role sees the plan (values to state, values to leave out)
and writes prose; the assistant role sees only the conversation and the offered tools, exactly as
a deployed model would. That separation is what lets the cascade compare the assistant's calls
with the plan and call a mismatch a defect of the text, not a coincidence of shared context.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import orjson

from callforge.core import Message, ToolSpec
from callforge.generate.personas import Voice
from callforge.generate.plan import Turn
from callforge.generate.planner import GenerationFailure, first_sentence
from callforge.llm import Backend, Completion

_MESSAGE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"message": {"type": "string", "minLength": 3, "maxLength": 450}},
    "required": ["message"],
    "additionalProperties": False,
}


class UserRole:
    """Writes the user's next message: the plan's values stated, the missing ones left out."""

    def __init__(self, backend: Backend, *, temperature: float = 0.8) -> None:
        """Write with `backend` at `temperature` (varied wording is the point)."""
        self.backend = backend
        self.temperature = temperature

    def prompt(self, turn: Turn, tools: Sequence[ToolSpec], history: Sequence[Message], voice: Voice) -> list[Message]:
        """The messages sent to the model for one user turn (public so tests can read the instructions)."""
        system = (
            f"You play the user in a chat with an AI assistant that can use tools. You are {voice.persona}. "
            f"Writing style: {voice.instruction} Write only your own next message, in the first person, and "
            'answer with JSON: {"message": "<your message>"}.'
        )
        lines: list[str] = []
        said = _transcript(history)
        if said:
            lines += ["The conversation so far:", said, "", "Write your next message, a follow-up that continues it."]
        if turn.offtopic:
            lines += _offtopic(tools, voice)
        else:
            lines += _asks(turn, {t.name: t for t in tools}, follow_up=bool(said))
        return [Message(role="system", content=system), Message(role="user", content="\n".join(lines))]

    async def write(
        self, turn: Turn, tools: Sequence[ToolSpec], history: Sequence[Message], voice: Voice, *, seed: int
    ) -> str:
        """The user's message text; a GenerationFailure when the model gives nothing usable twice.

        Small models now and then answer the user prompt as the assistant would ("Sure, I'd be happy
        to help"); a second sample with another seed usually writes the request.
        """
        prompt = self.prompt(turn, tools, history, voice)
        failure: GenerationFailure | None = None
        for attempt in range(2):
            completion = await self.backend.complete(
                prompt, temperature=self.temperature, max_tokens=300, seed=seed + 7919 * attempt, json_schema=_MESSAGE_SCHEMA
            )
            text = _message(completion).strip()
            if len(text) < 3:
                failure = GenerationFailure("gen.user_text", f"the user role wrote no request: {completion.text[:160]!r}")
            elif _sounds_like_assistant(text):
                failure = GenerationFailure("gen.user_text", f"the user role answered like an assistant: {text[:160]!r}")
            elif _explains_instead_of_asking(text, tools):
                failure = GenerationFailure("gen.user_text", f"the user role explained instead of asking: {text[:160]!r}")
            elif unsaid := [k for k, v in turn.revisions.items() if not _states(text, v)]:
                failure = GenerationFailure(
                    "gen.user_text", f"the user role never changed its mind about the {', '.join(unsaid)}: {text[:160]!r}"
                )
            else:
                return text
        assert failure is not None
        raise failure


    def answer_prompt(
        self, turn: Turn, tools: Sequence[ToolSpec], history: Sequence[Message], voice: Voice, question: str
    ) -> list[Message]:
        """The messages that ask for the user's reply to the assistant's clarifying `question`.

        The user knows only the turn's intent (its values, as `prompt` lists them), so the reply may
        state those and nothing else: no new facts, and nothing of how the task was planned.
        """
        system = (
            f"You play the user in a chat with an AI assistant that can use tools. You are {voice.persona}. "
            f"Writing style: {voice.instruction} Write only your own next message, in the first person, and "
            'answer with JSON: {"message": "<your message>"}.'
        )
        lines = ["The conversation so far:", _transcript(history), "", f"The assistant has just asked you: {question}", ""]
        lines += _asks(turn, {t.name: t for t in tools}, follow_up=True)
        lines += [
            "",
            "Answer the assistant's question and repeat your request with the values in brackets. These values are "
            "everything you know: never make up another name, number, date, code or detail. If it asks for "
            "something not listed, say you have no more details than these. Never mention plans, functions, "
            "parameters or field names.",
        ]
        return [Message(role="system", content=system), Message(role="user", content="\n".join(lines))]

    async def answer(
        self, turn: Turn, tools: Sequence[ToolSpec], history: Sequence[Message], voice: Voice, question: str, *, seed: int
    ) -> str:
        """The user's reply to a clarifying question, refused (`gen.user_invented`) when it states a value the intent lacks.

        A simulated user who invents an account number or an amount would teach the assistant to act
        on facts nobody gave; the reply is checked against the turn's values and the conversation.
        """
        prompt = self.answer_prompt(turn, tools, history, voice, question)
        known = _known_text(turn, history)
        failure: GenerationFailure | None = None
        for attempt in range(2):
            completion = await self.backend.complete(
                prompt, temperature=self.temperature, max_tokens=300, seed=seed + 7919 * attempt, json_schema=_MESSAGE_SCHEMA
            )
            text = _message(completion).strip()
            invented = invented_values(text, known)
            leaked = [w for w in _INTERNALS if w in text.casefold()] + [
                n for c in turn.calls for n in c.arguments if "_" in n and n in text
            ]
            if len(text) < 3:
                failure = GenerationFailure("gen.user_text", f"the user role wrote no answer: {completion.text[:160]!r}")
            elif _sounds_like_assistant(text):
                failure = GenerationFailure("gen.user_text", f"the user role answered like an assistant: {text[:160]!r}")
            elif invented or leaked:
                failure = GenerationFailure(
                    "gen.user_invented",
                    f"the user's answer to a question states what its intent does not hold ({', '.join([*invented, *leaked])}): {text[:160]!r}",
                )
            else:
                return text
        assert failure is not None
        raise failure


_INTERNALS = ("blueprint", "planner", "ground truth", "function call", "json", "parameter")
"""Words of the generator's own making that a simulated user must never say."""

_VALUE = re.compile(r"-?\d+(?:\.\d+)?|\b(?=[\w-]*\d)(?=[\w-]*[A-Za-z])[\w-]+\b")
"""A value a reply could invent: a number, or a code mixing letters and digits (`ACC-0003`, `B52`)."""


def invented_values(text: str, known: str) -> list[str]:
    """The numbers and codes in `text` that `known` (the intent's values, the conversation) never states."""
    plain = known.replace(",", "")
    numbers = {float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", plain)}
    lowered = known.casefold()
    out = []
    for match in _VALUE.finditer(text.replace(",", "")):
        token = match.group(0)
        try:
            if float(token) in numbers or float(token.lstrip("-")) in numbers:
                continue
        except ValueError:
            if token.casefold() in lowered:
                continue
        out.append(token)
    return out


def _known_text(turn: Turn, history: Sequence[Message]) -> str:
    """What the user may state: the turn's planned values and everything said or shown so far."""
    values = [_show(v) for call in turn.calls if not call.fails for v in call.arguments.values()]
    return "\n".join([*values, *(m.content or "" for m in history)])


_ASSISTANT_OPENERS = (
    "i'm sorry",
    "i am sorry",
    "as an ai",
    "i can't assist",
    "i cannot assist",
    "i can't help",
    "i cannot help",
    "i'm unable",
    "sure, here",
    "certainly!",
    "how can i assist",
    "how can i help",
    "i'm here to help",
    "i am here to help",
    "i can help you",
    "i am an ai",
    "i'm an ai",
    "sure, i'd be happy",
    "i'd be happy to help",
    "i'm not able to",
    "i am not able to",
    "what do you need help with",
)


def _states(text: str, value: Any) -> bool:
    """Whether `text` states `value`: a number as any number equal to it (`105`, `105.0`), else the text itself."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return any(float(n) == value for n in re.findall(r"-?\d+(?:\.\d+)?", text.replace(",", "")))
    return str(value).casefold() in text.casefold()


def _sounds_like_assistant(text: str) -> bool:
    """A user turn that opens or closes like an assistant's reply (small models swap roles)."""
    lowered = text.casefold().replace("\u2019", "'")
    return lowered.startswith(_ASSISTANT_OPENERS) or any(phrase in lowered for phrase in _ASSISTANT_PHRASES)


def _explains_instead_of_asking(text: str, tools: Sequence[ToolSpec]) -> bool:
    """A long English user turn that asks nothing: no question, no I/me/please, no sentence giving an order.

    Small models asked to write a request sometimes write a lecture about the task instead
    ("Finding the coordinates of Paris involves using a GPS app ... you can use a tool like this
    one"); kept, it teaches an assistant to call tools on statements nobody made as requests. A
    short turn ("Weather in Oslo tomorrow.") is never judged: terse requests are real.
    """
    lowered = text.casefold().replace("\u2019", "'")
    tokens = re.findall(r"[a-z]+(?:'[a-z]+)?", lowered)
    if len(tokens) < 15 or "?" in text or _REQUEST_WORDS.intersection(tokens) or len(_ENGLISH.intersection(tokens)) < 2:
        return False
    if any(phrase in lowered for phrase in ("can you", "could you", "would you", "will you", "would like")):
        return False
    verbs = _IMPERATIVES | {word.casefold() for tool in tools for word in _NAME_WORD.findall(tool.name)}
    for clause in re.split(r"[.!;:,\n]+", lowered):
        first = re.findall(r"[a-z]+", clause)[:2]
        if first and first[0] in _LEADERS:
            first = first[1:]
        if first and first[0] in verbs:
            return False
    return True


_NAME_WORD = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])")
_ENGLISH = frozenset(["the", "to", "of", "is", "and", "for", "with", "this", "that", "it"])
_LEADERS = frozenset(["now", "also", "then", "just", "kindly", "and", "so", "first", "next", "finally", "quickly"])


_REQUEST_WORDS = frozenset(
    ["i", "i'm", "i'd", "i've", "i'll", "me", "my", "mine", "myself", "we", "we're", "we'd", "we've", "we'll", "us",
     "our", "ours", "please", "pls", "plz", "kindly", "let's", "thanks", "thank"]
)  # fmt: skip
"""Words a request says and a lecture about the task does not: the writer, or a plea."""
_IMPERATIVES = frozenset(
    ["add", "analyze", "analyse", "approve", "arrange", "ask", "assign", "book", "bring", "build", "buy", "calculate", "call",
     "cancel", "change", "check", "close", "compare", "compose", "compute", "configure", "convert", "count", "create", "delete",
     "describe", "design", "detect", "determine", "display", "download", "draft", "email", "ensure", "estimate", "evaluate",
     "explain", "fetch", "figure", "fill", "find", "forward", "generate", "get", "give", "go", "grab", "help",
     "identify", "install", "invite", "list", "locate", "log", "look", "looking", "lookup", "make", "measure",
     "message", "move", "need", "note", "notify", "obtain", "open", "order", "pay", "perform", "pick", "plan", "play",
     "post", "predict", "provide", "pull", "put", "query", "rate", "read", "recommend", "register", "remind",
     "remove", "rename", "reserve", "reply", "report", "request", "retrieve", "return", "returns", "run", "save",
     "schedule", "search", "see", "send", "set", "share", "show", "sign", "sort", "start", "stop", "submit",
     "suggest", "summarize", "summarise", "switch", "tell", "text", "track", "train", "transfer", "translate", "turn",
     "update", "upload", "use", "using", "validate", "verify", "want", "work", "write",
     "what", "what's", "which", "who", "whom", "whose", "where", "when", "why", "how", "is", "are", "does", "do",
     "can", "could", "would", "should", "will", "if", "whether"]
)  # fmt: skip
"""Verbs and question words a request opens a clause with; a tool's own name words ("geocode") count as well."""


_ASSISTANT_PHRASES = (
    "how can i assist you",
    "how can i help you",
    "what do you need help with",
    "what do you want me to do",
    "i can help you with that",
    "as an ai",
    "you wish to",
    "would you like me to",
    "do you want me to",
)


def _asks(turn: Turn, tools: dict[str, ToolSpec], *, follow_up: bool) -> list[str]:
    asks = [c for c in turn.calls if not c.fails]
    lines = ["What you want the assistant to do" + (" now:" if follow_up else ":")]
    for call in asks:
        tool = tools.get(call.name)
        what = first_sentence(tool.description if tool else "", 200) or call.name.replace("_", " ")
        values = ", ".join(
            f"{k.replace('_', ' ')} {_show(v)}"
            for k, v in call.arguments.items()
            if k not in call.refs and k not in turn.missing and v is not None
        )
        line = f"- {what.rstrip('.')}" + (f" ({values})" if values else "")
        if call.refs:
            taken = ", ".join(k.replace("_", " ") for k in sorted(call.refs))
            line += f"; use the {taken} from the previous result (you do not know it, so do not state it)"
        lines.append(line)
    lines += [
        "",
        "Write your message as a real person describing their own need. State every value in brackets "
        "exactly as given (a date or number may be written the way people write them). Do not copy the "
        "descriptions word for word, and never name functions or fields like a programmer would.",
    ]
    if len(asks) > 1:
        lines.append("Ask for all of it in this one message.")
    if turn.unlocked:
        lines.append(
            "Begin by telling the assistant that you have just given it access to a new tool for this, then ask again."
        )
    for name, dropped in turn.revisions.items():
        lines.append(
            f"Change your mind once in this message: first ask with the {name.replace('_', ' ')} {_show(dropped)}, then "
            "correct yourself and say clearly that you want the value given above instead."
        )
    if turn.missing:
        gone = ", ".join(m.replace("_", " ") for m in turn.missing)
        lines.append(
            f"Important: you forgot to say the {gone}. Do not mention it or hint at it anywhere in your message."
        )
    return lines


def _offtopic(tools: Sequence[ToolSpec], voice: Voice) -> list[str]:
    listed = "\n".join(f"- {first_sentence(t.description, 200) or t.name}" for t in tools)
    return [
        "The assistant can only do these things:",
        listed,
        f"Ask it for something about {voice.theme} that none of these can do (for example advice, an "
        "explanation, or information they do not provide). Do not ask for anything in the list.",
    ]


def _transcript(history: Sequence[Message]) -> str:
    lines = []
    for message in history:
        if message.role == "user" and message.content:
            lines.append(f"You: {message.content}")
        elif message.role == "assistant" and message.content and not message.tool_calls:
            lines.append(f"Assistant: {message.content}")
    return "\n".join(lines)


def _message(completion: Completion) -> str:
    text = completion.text.strip()
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError:
        return text if text and not text.startswith("{") else ""
    if isinstance(data, dict) and isinstance(data.get("message"), str):
        return str(data["message"])
    return ""


ASSISTANT_SYSTEM = (
    "You are a helpful assistant that can call tools. Today is {today}. Call a tool when the request "
    "needs it, with argument values taken from the conversation or from earlier tool results; make "
    "independent calls together in one turn. If a required value is missing, ask the user for it "
    "instead of guessing. If no tool fits the request, answer directly without calling a tool. When "
    "tool results arrive, answer the user briefly from them."
)


REASONING_PROMPT = (
    " Before you call tools, think briefly inside <think></think>: say how many calls you make, which "
    "tool each is and why, and give every argument as name = value with where the value comes from (the "
    "user's words or an earlier tool result). Name only tools you were given. Then make the calls."
)
"""Added to the assistant's system prompt by `generate --reasoning` (ToolACE's formalized thinking)."""

_THINK = re.compile(r"\A\s*<think>(.*?)(?:</think>|\Z)", re.DOTALL)


def split_thought(completion: Completion) -> tuple[str | None, str]:
    """A reply's thought and the text after it, so the thought goes to `Message.reasoning`, not the answer.

    The thought is the server's own reasoning field when it parsed one out (vLLM, DeepSeek:
    `reasoning_content`, newer vLLM: `reasoning`), else a leading `<think>...</think>` block of the
    text (an unclosed one, cut by the token limit, is all thought).
    """
    text = completion.text
    raw = completion.raw or {}
    choices = raw.get("choices") if isinstance(raw, dict) else None
    message = choices[0].get("message") if isinstance(choices, list) and choices and isinstance(choices[0], dict) else None
    if isinstance(message, dict):
        for key in ("reasoning_content", "reasoning"):
            value = message.get(key)
            if isinstance(value, str) and value.strip():
                return value.strip(), _THINK.sub("", text, count=1).strip()
    match = _THINK.match(text)
    if match is None:
        return None, text.strip()
    thought = match.group(1).strip()
    return thought or None, text[match.end() :].strip()


ANSWER_NUDGE = "Now answer my request in plain words, using the tool results above. Do not call any tool."
BRIEF_NUDGE = "Answer my request in two or three short sentences, from the tool results above. Do not call any tool."
"""The second ask, after an answer that was cut, quoted the ask, or told nothing: shorter, and worded otherwise
(at temperature 0 the same request would only repeat the same answer)."""


class AssistantRole:
    """The model under construction: sees the conversation and the offered tools, nothing of the plan."""

    def __init__(
        self,
        backend: Backend,
        *,
        today: str,
        temperature: float = 0.0,
        max_tokens: int = 400,
        reasoning: bool = False,
    ) -> None:
        """Answer with `backend`; `today` goes into the system prompt the dialog keeps.

        With `reasoning`, the prompt asks for a short thought before the calls, and `thought`
        separates it from the reply so the dialog keeps it in `Message.reasoning`.
        """
        self.backend = backend
        self.reasoning = reasoning
        self.system = ASSISTANT_SYSTEM.format(today=today) + (REASONING_PROMPT if reasoning else "")
        self.temperature = temperature
        self.max_tokens = max_tokens + (200 if reasoning else 0)

    def thought(self, completion: Completion) -> tuple[str | None, str]:
        """The reply's thought (None unless this role writes them) and its text without it."""
        if not self.reasoning:
            return None, completion.text.strip()
        return split_thought(completion)

    async def answer(
        self, messages: Sequence[Message], tools: Sequence[ToolSpec], *, seed: int, brief: bool = False
    ) -> Completion:
        """The final text answer, with calling switched off (`tool_choice="none"`).

        The request ends with one more user line asking for the answer in words (`BRIEF_NUDGE` when
        `brief`); it is not part of the dialog. Without it, small models that see calls in the
        history keep writing calls as text.
        """
        nudge = Message(role="user", content=BRIEF_NUDGE if brief else ANSWER_NUDGE)
        return await self.backend.complete(
            [*messages, nudge], tools, temperature=self.temperature, max_tokens=self.max_tokens, seed=seed, tool_choice="none"
        )

    async def reply(self, messages: Sequence[Message], tools: Sequence[ToolSpec], *, seed: int) -> Completion:
        """The assistant's next message; a GenerationFailure when its call attempt cannot be read."""
        completion = await self.backend.complete(
            messages, tools, temperature=self.temperature, max_tokens=self.max_tokens, seed=seed
        )
        if not completion.parse.ok:
            # It tried to call and wrote broken JSON (a cut string, a missing comma): ask again with the
            # call constrained to the tools' schemas, which a grammar-capable server cannot get wrong.
            completion = await self.backend.complete(
                messages, tools, temperature=0.0, max_tokens=self.max_tokens, seed=seed + 1, tool_choice="required"
            )
        if not completion.parse.ok:
            raise GenerationFailure(
                "gen.assistant_parse",
                f"the assistant's call could not be read ({completion.parse.code}): {completion.parse.message}",
                text=completion.text[:400],
            )
        return completion


def _show(value: Any) -> str:
    return value if isinstance(value, str) else orjson.dumps(value).decode()
