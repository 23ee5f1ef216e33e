"""Bounded input reading: size limits, regular files only, nesting depth, YAML aliases.

Every file callforge reads comes from a user, and a hostile or broken one must fail with a clear
error instead of hanging or eating the machine: `/dev/zero` is endless, a FIFO blocks whoever
opens it, a 20-line YAML "billion laughs" unfolds into a billion nodes, and JSON nested a few
thousand levels deep makes Python's recursion give out. The limits live in one frozen record,
`InputLimits`; the defaults suit any real tool spec or dataset, and each can be raised by a
keyword (`use_limits(max_input_mb=512)`), an environment variable (`CALLFORGE_MAX_INPUT_MB`, read
at every call, so the CLI picks it up) or, where a verb has one, a flag. A limit that is hit
raises `InputLimitError` naming the input, the limit and how to raise it.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import os
import re
import stat
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from itertools import accumulate
from typing import Any, BinaryIO, Literal

import yaml

from callforge.core.errors import ConfigError, DataError

MiB = 1 << 20

LIMIT_ENV = {
    "max_input_mb": "CALLFORGE_MAX_INPUT_MB",
    "max_record_mb": "CALLFORGE_MAX_RECORD_MB",
    "max_depth": "CALLFORGE_MAX_DEPTH",
    "max_alias_nodes": "CALLFORGE_MAX_ALIAS_NODES",
    "max_ref_hops": "CALLFORGE_MAX_REF_HOPS",
}


@dataclass(frozen=True, slots=True)
class InputLimits:
    """How much one input may hold before callforge refuses it; every limit can be raised.

    `max_input_mb` bounds a file read whole (a tool spec, an OpenAPI document, a single JSON
    object); streamed files (JSON Lines, a JSON array of records, result files) have no total
    size limit, but each line or record is bounded by `max_record_mb`. `max_depth` bounds how
    deeply objects and arrays nest (200 is far beyond any real schema or record, and well inside
    what Python's recursion and orjson's writer take). `max_alias_nodes` bounds how many nodes
    YAML aliases (and `<<` merge keys) may add when a document is unfolded. `max_ref_hops`
    bounds how many OpenAPI `$ref`s are followed at once, one inside the other.
    """

    max_input_mb: float = 64.0
    max_record_mb: float = 64.0
    max_depth: int = 200
    max_alias_nodes: int = 1_000_000
    max_ref_hops: int = 64

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
                raise ConfigError(f"`{field.name}` must be a positive number, not {value!r}")
            if field.type == "int" and not isinstance(value, int):
                raise ConfigError(f"`{field.name}` must be a whole number, not {value!r}")

    @property
    def max_input_bytes(self) -> int:
        """`max_input_mb` in bytes."""
        return int(self.max_input_mb * MiB)

    @property
    def max_record_bytes(self) -> int:
        """`max_record_mb` in bytes."""
        return int(self.max_record_mb * MiB)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> InputLimits:
        """The defaults, with each `CALLFORGE_MAX_*` variable that is set taking its place."""
        environ = os.environ if environ is None else environ
        changes: dict[str, Any] = {}
        for field in dataclasses.fields(cls):
            raw = environ.get(LIMIT_ENV[field.name], "").strip()
            if not raw:
                continue
            try:
                changes[field.name] = int(raw) if field.type == "int" else float(raw)
            except ValueError:
                kind = "a whole number" if field.type == "int" else "a number"
                raise ConfigError(f"{LIMIT_ENV[field.name]}={raw!r} must be {kind}") from None
        return cls(**changes)


_CURRENT: contextvars.ContextVar[InputLimits | None] = contextvars.ContextVar(
    "callforge_input_limits", default=None
)


def current_limits() -> InputLimits:
    """The limits in force: those set by `use_limits`, else the defaults with the environment applied."""
    return _CURRENT.get() or InputLimits.from_env()


@contextlib.contextmanager
def use_limits(limits: InputLimits | None = None, /, **changes: Any) -> Iterator[InputLimits]:
    """Read inputs under other limits inside a `with` block (say, `max_input_mb=512` for one big spec).

    Without `limits`, the changes apply to the limits in force (environment included), so a
    caller raises one limit and keeps the rest. This is how a caller reaches readers that sit
    deep inside a verb (a suite, a spec inside a config) without a parameter on every function.
    """
    base = limits if limits is not None else current_limits()
    try:
        chosen = dataclasses.replace(base, **changes)
    except TypeError as exc:
        raise ConfigError(f"unknown input limit: {exc}") from None
    token = _CURRENT.set(chosen)
    try:
        yield chosen
    finally:
        _CURRENT.reset(token)


class InputLimitError(ConfigError):
    """An input is over one of the `InputLimits`; the message names the input, the limit and how to raise it.

    `limit` is the InputLimits field at fault (`max_input_mb` ...), `needed` a value that would
    have let this input through when one is known.
    """

    def __init__(self, source: str, problem: str, limit: str, needed: float | None = None) -> None:
        self.source = source
        self.problem = problem
        self.limit = limit
        self.needed = needed
        suggestion = needed if needed is not None else "a larger value"
        self.fix = (
            f"if the input is trusted, raise the limit with `{limit}={suggestion}` "
            f"(environment: {LIMIT_ENV[limit]}={suggestion})"
        )
        self.detail = f"{problem}; {self.fix}"
        """The message without the source, for a caller that names the source itself."""
        super().__init__(f"{source}: {self.detail}")


FileProblem = Literal["missing", "directory", "special", "unreadable"]


class InputFileError(DataError):
    """A path that is not a readable regular file: missing, a directory, a FIFO, a device, unreadable.

    `kind` says which, so a caller can word its own message (`problem` is the plain one).
    """

    def __init__(self, path: str | os.PathLike[str], kind: FileProblem, problem: str) -> None:
        self.path = os.fspath(path)
        self.kind = kind
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


# ---------------------------------------------------------------------- files


def _special(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _refuse(path: str | os.PathLike[str], mode: int) -> InputFileError:
    if stat.S_ISDIR(mode):
        return InputFileError(path, "directory", "is a directory")
    what = _special(mode)
    return InputFileError(
        path,
        "special",
        f"is {what}, not a regular file; callforge reads only regular files (it cannot tell how long a "
        "stream is or whether it ends): save the data to a file and pass that",
    )


def open_regular(path: str | os.PathLike[str]) -> BinaryIO:
    """`path` opened for reading in binary, provided it is a regular file; never blocks on a FIFO.

    The path is checked before it is opened and the open file again after (opening without
    blocking), so a pipe or device swapped in between is refused as well. Raises InputFileError.
    """
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise InputFileError(path, "missing", "file not found") from None
    except OSError as exc:
        raise InputFileError(path, "unreadable", f"cannot read the file: {exc.strerror}") from None
    if not stat.S_ISREG(mode):
        raise _refuse(path, mode)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise InputFileError(path, "missing", "file not found") from None
    except OSError as exc:
        raise InputFileError(path, "unreadable", f"cannot read the file: {exc.strerror}") from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise _refuse(path, mode)
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _mb(size: float) -> str:
    return f"{size / MiB:,.1f} MB" if size >= MiB / 10 else f"{size:,.0f} bytes"


def _raised(value: float) -> float | int:
    """A round limit above `value`: the next power of two (in MB for sizes)."""
    step = 1
    while step < value:
        step *= 2
    return step


def read_bounded(path: str | os.PathLike[str], *, limits: InputLimits | None = None) -> bytes:
    """The bytes of a regular file of at most `max_input_mb`, for inputs that are parsed whole.

    Refuses directories, FIFOs and devices (InputFileError) and larger files (InputLimitError)
    before reading them; a file that grows past the limit while being read is refused too.
    """
    limits = limits or current_limits()
    cap = limits.max_input_bytes
    with open_regular(path) as fh:
        size = os.fstat(fh.fileno()).st_size
        data = fh.read(cap + 1) if size <= cap else b""
    if size > cap or len(data) > cap:
        size = max(size, len(data))
        raise InputLimitError(
            os.fspath(path),
            f"the file is {_mb(size)}{'' if len(data) <= cap else ' or more'}, over the limit of "
            f"{_mb(cap)} for one input read whole",
            "max_input_mb",
            _raised(size / MiB),
        )
    return data


def iter_lines(path: str | os.PathLike[str], *, limits: InputLimits | None = None) -> Iterator[bytes]:
    """The lines of a regular file (newline kept), streamed, each of at most `max_record_mb`.

    The file as a whole may be any size: memory holds one line at a time. A longer line raises
    InputLimitError naming `file:line` before it is read to its end.
    """
    limits = limits or current_limits()
    cap = limits.max_record_bytes
    with open_regular(path) as fh:
        number = 0
        while True:
            line = fh.readline(cap + 1)
            if not line:
                return
            number += 1
            if len(line) > cap:
                raise InputLimitError(
                    f"{os.fspath(path)}:{number}",
                    f"the line is longer than the limit of {_mb(cap)} for one record",
                    "max_record_mb",
                    _raised(2 * cap / MiB),
                )
            yield line


# ---------------------------------------------------------------------- nesting depth


def check_depth(
    value: Any, source: str, *, text: bytes | str | None = None, limits: InputLimits | None = None
) -> None:
    """Raise InputLimitError when parsed data nests deeper than `max_depth`; call it right after parsing.

    Code that walks parsed data recurses once per level or more, so data nested a few hundred
    levels deep ends in a RecursionError far from the input; this fails at the input instead.
    `text`, what `value` was parsed from, lets the usual input skip the walk: with no more
    brackets than `max_depth`, it cannot nest that deep.
    """
    limit = (limits or current_limits()).max_depth
    if text is not None:
        opening = ("[", "{") if isinstance(text, str) else (b"[", b"{")
        if text.count(opening[0]) + text.count(opening[1]) <= limit:  # type: ignore[arg-type]
            return
    if not isinstance(value, (dict, list)):
        return
    if limit < 1:
        raise depth_error(source, None, limit)
    stack: list[tuple[Any, int]] = [(value, 1)]
    pop, push = stack.pop, stack.append
    while stack:
        node, depth = pop()
        for child in node.values() if isinstance(node, dict) else node:
            if isinstance(child, (dict, list)):
                if depth >= limit:
                    raise depth_error(source, None, limit)
                push((child, depth + 1))


def recursion_error(source: str, limits: InputLimits | None = None) -> ConfigError:
    """The error for input within `max_depth` that still nested too deeply to process (the limit was raised too far)."""
    limit = (limits or current_limits()).max_depth
    return ConfigError(
        f"{source}: objects and arrays nest too deeply to process (the parser or Python's recursion gave "
        f"out), although within `max_depth={limit}`; keep `max_depth` near 200 to refuse such input up "
        "front, or flatten it"
    )


_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")
_SIGN = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")


def json_depth(text: bytes | str) -> int:
    """How deeply a JSON text nests, without parsing it: for the error path, when a parser gave up on it.

    Strings are cut out first, so brackets inside them do not count; linear, but slower than
    parsing, so not a check to run on every input.
    """
    raw = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    brackets = _STRING.sub(b"", raw).translate(None, _NOT_BRACKET).translate(_SIGN)
    return max(accumulate(memoryview(brackets).cast("b")), default=0)


def too_deep_error(text: bytes | str, source: str, limits: InputLimits | None = None) -> ConfigError:
    """The error for JSON a parser refused for its nesting (RecursionError, orjson's 1024 levels).

    Over `max_depth`, an InputLimitError naming the depth found; within it (the limit was raised
    past what the parser takes), `recursion_error`.
    """
    limits = limits or current_limits()
    depth = json_depth(text)
    if depth > limits.max_depth:
        return depth_error(source, depth, limits.max_depth)
    return recursion_error(source, limits)


def is_too_deep(exc: BaseException) -> bool:
    """True when a JSON parser failed on nesting: stdlib json's RecursionError, orjson's depth limit (1024)."""
    return isinstance(exc, RecursionError) or "depth limit exceeded" in str(exc)


def depth_error(source: str, depth: int | None, limit: int) -> InputLimitError:
    """The error for an input nested deeper than `limit` (`depth` when known)."""
    found = f"{depth} levels" if depth is not None else f"more than {limit} levels"
    return InputLimitError(
        source,
        f"objects and arrays nest {found} deep, over the limit of {limit}",
        "max_depth",
        _raised(depth) if depth is not None else 2 * limit,
    )


# ---------------------------------------------------------------------- YAML

_YAML_BASE: type[Any] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C loader is ~6x faster
_MERGE = "tag:yaml.org,2002:merge"


class _AliasBudgetExceeded(Exception):
    """Raised inside the loader; `load_yaml` turns it into InputLimitError with the source."""


class _BoundedLoader(_YAML_BASE):  # type: ignore[misc]
    """PyYAML's safe loader, with `<<` merge keys counted against the alias budget as they are copied.

    Merge keys copy key/value pairs at load time (not references, as aliases are), so a chain of
    merges doubles a mapping at every step: they are counted here, while the copying happens.
    """

    def __init__(self, stream: str | bytes, budget: int) -> None:
        super().__init__(stream)
        self.merge_budget = budget

    def flatten_mapping(self, node: Any) -> None:
        """SafeConstructor.flatten_mapping (PyYAML 6.0.2 and later), counting each copied pair.

        Pairs are merged in order, the first of a key winning, as PyYAML does since 6.0.2 (older
        versions copy every pair, which a chain of merges doubles at each step); the pairs copied
        count against `max_alias_nodes`.
        """
        merge: list[Any] = []
        merged_keys: set[int] = set()  # key nodes met through an anchor are the same objects
        index = 0
        while index < len(node.value):
            key_node, value_node = node.value[index]
            if key_node.tag == _MERGE:
                del node.value[index]
                if isinstance(value_node, yaml.MappingNode):
                    sources = [value_node]
                elif isinstance(value_node, yaml.SequenceNode):
                    sources = value_node.value
                else:
                    raise yaml.constructor.ConstructorError(
                        "while constructing a mapping",
                        node.start_mark,
                        f"expected a mapping or list of mappings for merging, but found {value_node.id}",
                        value_node.start_mark,
                    )
                for subnode in sources:
                    if not isinstance(subnode, yaml.MappingNode):
                        raise yaml.constructor.ConstructorError(
                            "while constructing a mapping",
                            node.start_mark,
                            f"expected a mapping for merging, but found {subnode.id}",
                            subnode.start_mark,
                        )
                    self.flatten_mapping(subnode)
                    self.merge_budget -= len(subnode.value)
                    if self.merge_budget < 0:
                        raise _AliasBudgetExceeded
                    for pair in subnode.value:
                        if (key := id(pair[0].value)) not in merged_keys:
                            merged_keys.add(key)
                            merge.append(pair)
            elif key_node.tag == "tag:yaml.org,2002:value":
                key_node.tag = "tag:yaml.org,2002:str"
                index += 1
            else:
                index += 1
        if merge:
            node.value = merge + node.value


def load_yaml(text: str | bytes, source: str, *, limits: InputLimits | None = None) -> Any:
    """Parse YAML safely and within limits: no billion laughs, no recursive aliases, no deep nesting.

    PyYAML's safe loader shares an aliased node instead of copying it, so parsing stays cheap; the
    cost comes when the result is unfolded into plain JSON. This checks, before anyone unfolds it,
    how many nodes the aliases would add (`max_alias_nodes`), how deeply the result nests
    (`max_depth`) and that no alias refers to a collection that holds it. Raises InputLimitError
    for a limit, DataError for a recursive alias; a syntax error stays a `yaml.YAMLError`.
    """
    limits = limits or current_limits()
    loader = _BoundedLoader(text, limits.max_alias_nodes)
    try:
        value = loader.get_single_data()
    except _AliasBudgetExceeded:
        raise alias_error(source, None, limits.max_alias_nodes) from None
    except RecursionError:
        raise depth_error(source, None, limits.max_depth) from None
    except yaml.YAMLError as exc:
        if getattr(exc, "problem", None) == "exceeded maximum nesting depth":  # libyaml's own limit
            raise depth_error(source, None, min(limits.max_depth, 1000)) from None
        raise
    finally:
        loader.dispose()
    check_unfolded(value, source, limits=limits)
    return value


def alias_error(source: str, added: int | None, limit: int) -> InputLimitError:
    """The error for YAML whose aliases would add more than `limit` nodes."""
    found = f"{added:,} nodes" if added is not None else f"more than {limit:,} nodes"
    return InputLimitError(
        source,
        f"YAML aliases (`*name`, `<<` merges) would add {found} when the document is unfolded, over "
        f"the limit of {limit:,} (a 'billion laughs' document adds a billion)",
        "max_alias_nodes",
        _raised(added) if added is not None else 2 * limit,
    )


def check_unfolded(value: Any, source: str, *, limits: InputLimits | None = None) -> None:
    """Check parsed data whose lists and dicts may be shared (YAML aliases) before it is copied as a tree.

    One pass over the distinct containers: the nodes that sharing adds when unfolded must stay
    within `max_alias_nodes`, the unfolded nesting within `max_depth`, and no container may
    contain itself (which would unfold forever). Plain parsed JSON passes at the cost of a walk.
    """
    if not isinstance(value, (dict, list)):
        return
    limits = limits or current_limits()
    if _is_shallow_tree(value, limits.max_depth):
        return
    max_depth, budget = limits.max_depth, limits.max_alias_nodes
    done: dict[int, tuple[int, int]] = {}  # id -> (unfolded node count, unfolded depth)
    active = {id(value)}
    added = 0
    # frames: [container, its children, unfolded nodes so far, deepest child so far]
    stack: list[list[Any]] = [[value, iter(_children(value)), 1, 0]]
    if max_depth < 1:
        raise depth_error(source, None, max_depth)
    while stack:
        frame = stack[-1]
        for child in frame[1]:
            if not isinstance(child, (dict, list)):
                frame[2] += 1
                continue
            key = id(child)
            seen = done.get(key)
            if seen is not None:
                added += seen[0]
                if added > budget:
                    raise alias_error(source, None, budget)
                if len(stack) + seen[1] > max_depth:
                    raise depth_error(source, None, max_depth)
                frame[2] += seen[0]
                frame[3] = max(frame[3], seen[1])
                continue
            if key in active:
                raise DataError(
                    f"{source}: a YAML alias refers to a collection that contains it, which unfolds "
                    "forever; break the cycle (JSON has no such references)"
                )
            if len(stack) >= max_depth:
                raise depth_error(source, None, max_depth)
            active.add(key)
            stack.append([child, iter(_children(child)), 1, 0])
            break
        else:
            stack.pop()
            container, _, nodes, deepest = frame
            active.discard(id(container))
            done[id(container)] = (nodes, deepest + 1)
            if stack:
                stack[-1][2] += nodes
                stack[-1][3] = max(stack[-1][3], deepest + 1)


def _is_shallow_tree(value: dict[Any, Any] | list[Any], max_depth: int) -> bool:
    """True for the usual data: no container reached twice and none deeper than `max_depth` (the fast pass)."""
    seen = {id(value)}
    stack: list[tuple[Any, int]] = [(value, 1)]
    pop, push, add = stack.pop, stack.append, seen.add
    while stack:
        node, depth = pop()
        for child in node.values() if isinstance(node, dict) else node:
            if isinstance(child, (dict, list)):
                key = id(child)
                if key in seen or depth >= max_depth:
                    return False  # shared, looped or deep: the exact pass says which and how much
                add(key)
                push((child, depth + 1))
    return True


def _children(container: dict[Any, Any] | list[Any]) -> Any:
    return container.values() if isinstance(container, dict) else container


__all__ = [
    "InputFileError",
    "InputLimitError",
    "InputLimits",
    "check_depth",
    "check_unfolded",
    "current_limits",
    "depth_error",
    "is_too_deep",
    "iter_lines",
    "load_yaml",
    "open_regular",
    "read_bounded",
    "recursion_error",
    "too_deep_error",
    "use_limits",
]
