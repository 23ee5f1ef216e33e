"""What BFCL sends a model for a case: the prompting-style system prompt, or FC-style tools.

Scores are only comparable with BFCL's leaderboard when the model sees what BFCL shows it, so
this module reproduces BFCL's request preparation: the language hint appended to every function
description, Java/JavaScript parameters turned into strings, the default system prompt (quoted
verbatim from BFCL, Apache-2.0: the prompt text is part of the benchmark's definition), and for
FC models the Gorilla-to-OpenAPI type mapping with dots in names replaced by underscores.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Sequence
from typing import Any

from callforge.core import Case, Category, Language, Message, ToolSpec

# BFCL's default system prompt (ret_fmt=python, no tool-call tag, json function docs, plaintext,
# classic style), verbatim including its missing space after the first sentence.
_SYSTEM_PROMPT = (
    "You are an expert in composing functions.You are given a question and a set of possible functions. "
    "Based on the question, you will need to make one or more function/tool calls to achieve the purpose. "
    "If none of the functions can be used, point it out. If the given question lacks the parameters "
    "required by the function, also point it out.\n\nYou should only return the function calls in your "
    "response.\n\nIf you decide to invoke any of the function(s), you MUST put it in the format of "
    "[func_name1(params_name1=params_value1, params_name2=params_value2...), func_name2(params)].  You "
    "SHOULD NOT include any other text in the response.\n\nAt each turn, you should try your best to "
    "complete the tasks requested by the user within the current turn. Continue to output functions to "
    "call until you have fulfilled the user's request to the best of your ability. Once you have no more "
    "functions to call, the system will consider the current turn complete and proceed to the next turn "
    "or task.\n\nHere is a list of functions in json format that you can invoke.\n{functions}\n"
)

_HINTS = {
    Language.PYTHON: " Note that the provided function is in Python 3 syntax.",
    Language.JAVA: " Note that the provided function is in Java 8 SDK syntax.",
    Language.JAVASCRIPT: " Note that the provided function is in JavaScript syntax.",
}

# BFCL's GORILLA_TO_OPENAPI table: BFCL type names -> JSON Schema types for FC requests.
_OPENAPI_TYPES = {
    "integer": "integer", "number": "number", "float": "number", "string": "string",
    "boolean": "boolean", "bool": "boolean", "array": "array", "list": "array", "dict": "object",
    "object": "object", "tuple": "array", "any": "string", "byte": "integer", "short": "integer",
    "long": "integer", "double": "number", "char": "string", "ArrayList": "array", "Array": "array",
    "HashMap": "object", "Hashtable": "object", "Queue": "array", "Stack": "array", "Any": "string",
    "String": "string", "Bigint": "integer",
}  # fmt: skip

_DOT = re.compile(r"\.")


def bfcl_functions(case: Case) -> list[dict[str, Any]]:
    """The case's functions as BFCL presents them, language hints and string-typed Java/JS included."""
    return tool_functions(case.tools, Category(case.category).language)


def tool_functions(
    tools: Sequence[ToolSpec], language: Language = Language.PYTHON, *, hints: bool = True
) -> list[dict[str, Any]]:
    """Tools as the function documents BFCL shows a model (copies), with its language hint unless `hints=False`.

    BFCL adds the hint when it loads an entry, so a tool it offers later (a multi-turn entry's
    held-out function) goes out without it; `hints=False` reproduces that.
    """
    functions = [copy.deepcopy(tool.original) if tool.original is not None else _plain(tool) for tool in tools]
    if not hints:
        return functions
    for fn in functions:
        fn["description"] = str(fn.get("description", "")) + _HINTS[language]
        properties = (fn.get("parameters") or {}).get("properties") or {}
        if language is not Language.PYTHON:
            _stringify_parameters(properties, language)
    return functions


def _plain(tool: ToolSpec) -> dict[str, Any]:
    return {"name": tool.name, "description": tool.description, "parameters": copy.deepcopy(tool.parameters)}


def _stringify_parameters(properties: dict[str, Any], language: Language) -> None:
    # BFCL asks Java and JavaScript models for every argument as a string in that language's syntax.
    lang = "Java" if language is Language.JAVA else "JavaScript"
    for value in properties.values():
        kind = value.get("type")
        if kind == "any":
            value["description"] = value.get("description", "") + (
                f" This parameter can be of any type of {lang} object in string representation."
            )
        else:
            value["description"] = value.get("description", "") + (
                f" This is {lang} {kind} type parameter in string representation."
            )
        list_types = ("ArrayList", "Array") if language is Language.JAVA else ("array",)
        if kind in list_types:
            value["description"] += (
                f" The list elements are of type {value['items']['type']}; they are not in string representation."
            )
            del value["items"]
        if language is Language.JAVASCRIPT and kind == "dict" and "properties" in value:
            value["description"] += (
                " The dictionary entries have the following schema; they are not in string representation. "
                + json.dumps(value["properties"])
            )
            del value["properties"]
        value["type"] = "string"


def prompting_messages(case: Case) -> list[Message]:
    """BFCL's prompting-style input: its system prompt with the functions, then the question."""
    return with_system_prompt(list(case.messages), bfcl_functions(case))


def with_system_prompt(messages: list[Message], functions: list[dict[str, Any]]) -> list[Message]:
    """`messages` led by BFCL's prompting system prompt for `functions` (merged into a system message already there)."""
    system = _SYSTEM_PROMPT.format(functions=json.dumps(functions, indent=4))
    if messages and messages[0].role == "system":
        merged = system + "\n\n" + (messages[0].content or "")
        return [Message(role="system", content=merged), *messages[1:]]
    return [Message(role="system", content=system), *messages]


def fc_tools(case: Case) -> list[ToolSpec]:
    """BFCL's FC-style tools: OpenAPI types, and dots in names replaced (OpenAI forbids them)."""
    return fc_specs(bfcl_functions(case))


def fc_specs(functions: list[dict[str, Any]]) -> list[ToolSpec]:
    """BFCL function documents as the ToolSpecs an FC request carries (OpenAPI types, `.` in names as `_`)."""
    tools = []
    for fn in functions:
        parameters = fn.get("parameters") or {"properties": {}}
        parameters["type"] = "object"
        parameters["properties"] = _openapi_properties(parameters.get("properties") or {})
        tools.append(
            ToolSpec(
                name=_DOT.sub("_", str(fn["name"])),
                description=str(fn.get("description", "")),
                parameters=parameters,
                source="bfcl",
            )
        )
    return tools


def _openapi_properties(properties: dict[str, Any]) -> dict[str, Any]:
    for value in properties.values():
        kind = value.get("type")
        if kind is None:
            value["type"] = "string"
        else:
            if kind == "float":
                value["format"] = "float"
                value["description"] = value.get("description", "") + " This is a float type value."
            value["type"] = _OPENAPI_TYPES.get(kind, "string")
        if value["type"] in ("array", "object"):
            if "properties" in value:
                value["properties"] = _openapi_properties(value["properties"])
            elif "items" in value:
                items = value["items"]
                items["type"] = _OPENAPI_TYPES.get(items.get("type"), "string")
                if items["type"] == "array" and "items" in items:
                    items["items"]["type"] = _OPENAPI_TYPES.get(items["items"].get("type"), "string")
                elif items["type"] == "object" and "properties" in items:
                    items["properties"] = _openapi_properties(items["properties"])
    return properties
