"""The error hierarchy: one base class, a few subclasses, each naming the input at fault and the fix."""

from __future__ import annotations


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
