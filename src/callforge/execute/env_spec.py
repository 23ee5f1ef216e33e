"""Where a user's environment comes from, in a form a command line and a task file can hold.

An eval set over the user's own stateful tools must say how to build its world again, in another
process, on another day: a Python class file (run in the sandbox), a service spec (REST or MCP
tools with a reset hook), or BFCL's own simulators (the pinned bfcl-eval package's classes, run
in-process as the multi-turn checker runs them). `EnvironmentSpec` is that record;
`parse_environment` reads the command line's `--env` (`bank.py`, `bank.py:Bank`, `shop.yaml`,
`bfcl:GorillaFileSystem,TwitterAPI`), `EnvironmentSpec.to_json`/`from_json` the task file's
`environment` field, with paths relative to the file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from callforge.core import ConfigError, DataError
from callforge.execute.environment import Environment

EnvironmentKind = Literal["python", "service", "bfcl"]

_BFCL_PREFIX = "bfcl:"

_SERVICE_SUFFIXES = (".yaml", ".yml", ".json")


@dataclass(frozen=True)
class EnvironmentSpec:
    """How to build an environment: a class file (`python`), a service spec file (`service`), BFCL's simulators (`bfcl`).

    For `bfcl`, `class_name` lists the simulators, comma-separated, and `init` is BFCL's `initial_config`.
    """

    kind: EnvironmentKind
    path: Path
    class_name: str | None = None
    init: Mapping[str, Any] = field(default_factory=dict)
    """Keyword arguments of the class's constructor (JSON values); for `bfcl`, each simulator's scenario by class."""
    long_context: int | None = None
    """A seed: the world starts with long-context filler state added (the class's hook, see
    `SandboxEnvironment`; BFCL's own filler for `bfcl`, where the seed only says "filled");
    None: the plain initial state."""

    @property
    def fillable(self) -> bool:
        """Whether this kind of world can start from long-context filler (a class may; a service never)."""
        return self.kind != "service"

    @property
    def classes(self) -> tuple[str, ...]:
        """BFCL's `involved_classes` of a `bfcl` spec, in order."""
        return tuple(c for c in (self.class_name or "").split(",") if c) if self.kind == "bfcl" else ()

    def build(self) -> Environment:
        """A fresh environment in its initial state (a service is reset through its hook)."""
        if self.kind == "python":
            from callforge.execute.class_env import python_environment

            return python_environment(self.path, self.class_name, init=self.init, long_context=self.long_context)
        if self.kind == "bfcl":
            from callforge.execute.bfcl_env import bfcl_environment

            return bfcl_environment(self.classes, self.init, long_context=self.long_context is not None)
        from callforge.execute.service_env import load_service_environment

        service = load_service_environment(self.path)
        service.reset()
        return service

    @property
    def key(self) -> str:
        """A stable text naming this spec (for caches and messages)."""
        return json.dumps(self.to_json(), sort_keys=True)

    def to_json(self, base: Path | None = None) -> dict[str, Any]:
        """The task-file form, `{"python": path, "class": ..., "init": {...}}` or `{"service": path}`, paths relative to `base`."""
        if self.kind == "bfcl":
            found: dict[str, Any] = {"bfcl": list(self.classes)}
        else:
            path = str(_relative(self.path, base))
            if self.kind == "service":
                return {"service": path}
            found = {"python": path}
            if self.class_name:
                found["class"] = self.class_name
        if self.init:
            found["init"] = dict(self.init)
        if self.long_context is not None:
            found["long_context"] = self.long_context
        return found

    def with_long_context(self, seed: int | None) -> EnvironmentSpec:
        """This spec with its world started from long-context filler made with `seed` (None: without).

        The filler is part of how the world is built, so an episode's judge and an exported eval set
        rebuild the same bulky initial state from the spec alone.
        """
        if seed is not None and not self.fillable:
            raise ConfigError(f"{self.path}: long-context filler is made by a Python class or BFCL's simulators, not a service")
        return replace(self, long_context=seed)

    @classmethod
    def from_json(cls, value: Any, base: Path, where: str) -> EnvironmentSpec:
        """Read a task file's `environment` field; relative paths are taken from `base` (the file's folder)."""
        kinds: tuple[EnvironmentKind, ...] = ("python", "service", "bfcl")
        if not isinstance(value, dict) or len(set(kinds) & set(value)) != 1:
            raise DataError(
                f'{where}: "environment" must be an object with "python" (a class file), "service" '
                f'(a service spec) or "bfcl" (BFCL simulator class names), got {value!r}'
            )
        unknown = set(value) - {*kinds, "class", "init", "long_context"}
        if unknown:
            raise DataError(
                f'{where}: unknown "environment" field(s) {sorted(unknown)}; known: python, class, init, long_context, service, bfcl'
            )
        kind = next(k for k in kinds if k in value)
        raw = value[kind]
        init = value.get("init", {})
        class_name = value.get("class")
        if not isinstance(init, dict) or (class_name is not None and not isinstance(class_name, str)):
            raise DataError(f'{where}: "environment.init" must be an object and "environment.class" a name')
        filler = value.get("long_context")
        if filler is not None and (type(filler) is not int or kind == "service"):
            raise DataError(f'{where}: "environment.long_context" must be an integer seed, on a python or bfcl environment')
        if kind == "bfcl":
            if not isinstance(raw, list) or not raw or not all(isinstance(c, str) for c in raw):
                raise DataError(f'{where}: "environment.bfcl" must be a list of BFCL simulator class names')
            return _bfcl_spec(raw, init, filler, where)
        if not isinstance(raw, str) or not raw:
            raise DataError(f'{where}: "environment.{kind}" must be a file path')
        return cls(kind, (base / raw).resolve(), class_name, init, filler)


def _bfcl_spec(classes: list[str], init: Mapping[str, Any], filler: int | None, where: str) -> EnvironmentSpec:
    """A `bfcl` spec, its class names checked against BFCL's eight simulators."""
    from callforge.execute.bfcl_env import BFCL_SIMULATORS

    unknown = [c for c in classes if c not in BFCL_SIMULATORS]
    if unknown:
        raise ConfigError(f"{where}: unknown BFCL simulator(s) {', '.join(unknown)}; the simulators are: {', '.join(BFCL_SIMULATORS)}")
    stray = set(init) - set(classes)
    if stray:
        raise ConfigError(
            f"{where}: the initial config names {', '.join(sorted(stray))}, which the environment does not involve "
            f"({', '.join(classes)}); its keys are simulator class names"
        )
    return EnvironmentSpec("bfcl", Path(), ",".join(classes), dict(init), filler)


def parse_environment(text: str | os.PathLike[str], *, init: Mapping[str, Any] | None = None) -> EnvironmentSpec:
    """An EnvironmentSpec from the command line: `bank.py`, `bank.py:Bank` (a class file), `shop.yaml` (a service), `bfcl:A,B`."""
    raw = str(text)
    if raw.startswith(_BFCL_PREFIX):
        return _bfcl_spec(raw[len(_BFCL_PREFIX) :].split(","), dict(init or {}), None, f"--env {text}")
    class_name: str | None = None
    head, sep, tail = raw.rpartition(":")
    if sep and head.endswith(".py") and tail.isidentifier():
        raw, class_name = head, tail
    path = Path(raw).expanduser()
    if path.suffix == ".py":
        kind: EnvironmentKind = "python"
    elif path.suffix in _SERVICE_SUFFIXES:
        kind = "service"
        if class_name or init:
            raise ConfigError(f"--env {text}: a class name and init are for Python class files, not service specs")
    else:
        raise ConfigError(
            f"--env {text}: give a Python class file (bank.py, or bank.py:ClassName), a service spec "
            "(.yaml or .json with tools and a reset hook; docs/multi-turn.md) or BFCL's simulators "
            "(bfcl:GorillaFileSystem,TwitterAPI)"
        )
    if not path.is_file():
        raise ConfigError(f"--env {text}: {str(path)!r} does not exist")
    return EnvironmentSpec(kind, path.resolve(), class_name, dict(init or {}))


def load_environment(text: str | os.PathLike[str], *, init: Mapping[str, Any] | None = None) -> Environment:
    """`parse_environment(text).build()`: a fresh environment named on the command line."""
    return parse_environment(text, init=init).build()


def _relative(path: Path, base: Path | None) -> Path:
    if base is None:
        return path
    try:
        return path.relative_to(base.resolve())
    except ValueError:
        return path
