"""What BFCL stores for one model reply, so callforge's result files read like BFCL's own."""

from __future__ import annotations

from typing import Any

import orjson

from callforge.evaluate.check import Style
from callforge.llm import Completion


def result_value(completion: Completion, style: Style) -> Any:
    """The `result` field BFCL stores: raw text for prompting, `[{name: args_json}]` for FC.

    An FC reply without calls stores its text, as BFCL's handlers do; one whose calls could not be
    read stores the raw text so that decoding fails exactly as it would for BFCL.
    """
    if style is Style.PROMPTING:
        return _raw_text(completion)
    if not completion.parse.ok:
        return _raw_text(completion)
    if not completion.tool_calls:
        return completion.text
    return [{call.name: orjson.dumps(call.arguments).decode()} for call in completion.tool_calls]


def _raw_text(completion: Completion) -> str:
    raw = completion.raw or {}
    try:
        content = raw["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError):
        content = None
    return content if isinstance(content, str) else completion.text
