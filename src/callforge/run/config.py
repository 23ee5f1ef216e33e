"""Job configs: what a job was asked to do, validated on construction, kept in the manifest, compared on resume.

Each job (`GenerateConfig`, `VerifyConfig`, `EvalConfig` ...) is one frozen pydantic model. Its
fields fall in three groups, declared once per class: the ones that define the run (stored in the
manifest and required to match when the run resumes), the ones a resumed run may change
(`may_change`, stored: a larger `n`), and the ones that only say how this process runs
(`runtime`, never stored: the output folder, concurrency, endpoints and keys).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict

from callforge.core import ConfigError, configured
from callforge.run.folder import JUDGED, RunFolder


class JobConfig(BaseModel):
    """Base of every job's config; subclasses name their job, streams and field groups."""

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    job: ClassVar[str] = ""
    streams: ClassVar[tuple[str, ...]] = JUDGED
    may_change: ClassVar[frozenset[str]] = frozenset()
    """Fields a resumed run may change (stored in the manifest, not compared)."""
    runtime: ClassVar[frozenset[str]] = frozenset({"out", "resume"})
    """Fields that only say how this process runs (never stored: paths, concurrency, endpoints, keys)."""

    out: Path
    resume: bool = False
    """Continue the run already in `out` (after a kill, or to grow it); without it an existing run is refused."""

    @classmethod
    def of(cls, config: Self | None = None, /, **fields: Any) -> Self:
        """`config` as given, or one built from `fields` (see `callforge.core.configured`)."""
        return configured(cls, config, fields)

    def stored(self) -> dict[str, Any]:
        """The config as the manifest keeps it: every field but the runtime ones, as JSON values."""
        return self.model_dump(mode="json", exclude=set(self.runtime))

    def check_against(self, before: Mapping[str, Any], folder: Path, extra: Mapping[str, Any] | None = None) -> None:
        """Refuse to continue a run made with another config; `extra` adds derived values (a digest of the tools)."""
        now = {**self.stored(), **(extra or {})}
        differ = [
            change
            for k in sorted(now)
            if k in before and k not in self.may_change
            for change in _changes(k, before[k], now[k])
        ]
        if not differ:
            return
        shown = "; ".join(f"`{k}` was {old!r}, now {new!r}" for k, old, new in differ if not k.endswith("_digest"))
        changed = [k.removesuffix("_digest") for k, _, _ in differ if k.endswith("_digest")]
        if changed:
            shown = (shown + "; " if shown else "") + f"the {', '.join(changed)} changed"
        allowed = ", ".join(f"`{k}`" for k in sorted(self.may_change)) or "nothing"
        raise ConfigError(
            f"{folder} holds {_article(self.job)} {self.job} run made with another config ({shown}); resume with "
            f"the same settings (only {allowed} may change), or choose another `out`"
        )

    @property
    def folder(self) -> Path:
        """Where the job's Run folder is: `out`, unless the job's output is a file kept beside its run."""
        return self.out

    def open_folder(self, extra: Mapping[str, Any] | None = None) -> RunFolder:
        """The run folder, checked: an existing run needs `resume=True` and the same config (see `check_against`).

        A resumed folder is repaired (`RunFolder.repair`) once the checks pass, so the job reads its
        records without warnings about the torn lines it is about to redo.
        """
        folder = RunFolder(self.folder, job=self.job, streams=self.streams)
        if folder.exists and not self.resume:
            raise ConfigError(
                f"{folder.path} already holds a {self.job} run; pass `resume=True` to continue it, or choose another `out`"
            )
        before = folder.manifest().get("config")
        if isinstance(before, dict):
            self.check_against(before, folder.path, extra)
        if folder.exists:
            folder.repair()
        return folder


def _changes(key: str, old: Any, new: Any) -> list[tuple[str, Any, Any]]:
    """The fields that differ, dotted into nested configs (`cascade.stages`), so a message names the one that changed."""
    if isinstance(old, dict) and isinstance(new, dict):
        return [c for k in sorted(set(old) | set(new)) for c in _changes(f"{key}.{k}", old.get(k), new.get(k))]
    return [] if old == new else [(key, old, new)]


def _article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"
