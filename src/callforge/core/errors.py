"""The error hierarchy: one base class, a few subclasses, each naming the input at fault and the fix."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)


class CallforgeError(Exception):
    """Base of every error callforge raises on purpose, so callers can catch ours and nothing else."""


class SpecError(CallforgeError):
    """A tool specification is malformed.

    The message names the file, the tool and the JSON path at fault and says what was expected,
    because a spec file can hold hundreds of tools and "invalid schema" alone is useless.
    """

    def __init__(
        self,
        problem: str,
        *,
        source: str | None = None,
        tool: str | None = None,
        path: str = "$",
        expected: str | None = None,
    ) -> None:
        self.problem = problem
        self.source = source
        self.tool = tool
        self.path = path
        self.expected = expected
        where = []
        if source:
            where.append(str(source))
        if tool:
            where.append(f"tool {tool!r}")
        where.append(f"at {path}")
        text = f"{': '.join(where)}: {problem}"
        if expected:
            text += f"; expected {expected}"
        super().__init__(text)


class DataError(CallforgeError):
    """A data file (suite, results, dataset) cannot be read as the format it claims to be."""


class DecodeError(CallforgeError):
    """A model output could not be decoded into tool calls.

    Raised inside decoders and turned into a Verdict by the evaluator; a run never dies of it.
    """


class ConfigError(CallforgeError):
    """An option or argument combination cannot work; the message says which flag to change."""


def validated(model: type[M], /, **fields: Any) -> M:
    r"""`model(**fields)`, with a validation failure as a ConfigError that names each field at fault.

    Typed configs validate themselves; this turns pydantic's report into the one-line error the
    rest of callforge gives (`invalid CascadeSpec: \`votes\`: must be at least 1`).
    """
    try:
        return model(**fields)
    except ValidationError as exc:
        raise ConfigError(describe(exc, model.__name__)) from None


def configured(model: type[M], config: M | None, fields: dict[str, Any]) -> M:
    """The config a verb was given: `config` itself, or one built from `fields` (validated, see `validated`).

    Every verb takes either, so `verify(data=...)` and `verify(VerifyConfig(data=...))` mean the
    same; giving both is an error (which would win is a guess).
    """
    if config is None:
        return validated(model, **fields)
    if fields:
        raise ConfigError(f"give a {model.__name__} or its fields, not both (got {', '.join(sorted(fields))})")
    return config


def describe(error: ValidationError, what: str) -> str:
    """A pydantic error as one clause per field, in the caller's terms."""
    parts = []
    for issue in error.errors():
        where = ".".join(str(p) for p in issue["loc"])
        message = str(issue["msg"]).removeprefix("Value error, ")
        parts.append(f"`{where}`: {message}" if where else message)
    return f"invalid {what}: " + "; ".join(parts)
