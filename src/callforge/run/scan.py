"""Find secrets in a run folder before anything leaves the machine: `callforge scan RUN`.

callforge masks every known secret where it writes (see `callforge.core.secrets`), but a run may
predate that, may have been written with a credential this process does not know, or may hold a
password in a URL. The scan reads every file of the folder as bytes, in bounded chunks, and
reports where each known secret (in each of its wire spellings) or a `user:password@` URL occurs
(by where the secret came from, never its value). `redact_run` rewrites the text files with the
secrets masked and removes cache databases that hold one (caches are rebuilt on the next run).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from callforge.core import MASK, ConfigError, DataError, known_secrets, secret_spellings

CHUNK = 8 << 20
_USERINFO = re.compile(rb"[a-zA-Z][a-zA-Z0-9+.-]*://[^/@:\s\"']*:(?P<password>[^/@\s\"']+)@")
_TEXT_SUFFIXES = (".jsonl", ".json", ".txt", ".log", ".md", ".csv", ".yaml", ".yml")
_CACHE_SUFFIXES = (".sqlite", ".sqlite-wal", ".sqlite-shm", ".db")


class SecretsFound(DataError):
    """What was about to leave the machine holds a known secret; the message lists where (never the value)."""


@dataclass(frozen=True)
class Finding:
    """One secret found: the file, the line (1-based, text files) and where the secret came from."""

    path: Path
    line: int
    source: str


@dataclass(frozen=True)
class ScanReport:
    """What a scan read and found; `clean` when nothing was found."""

    folder: Path
    files: int
    secrets_known: int
    findings: tuple[Finding, ...] = field(default=())

    @property
    def clean(self) -> bool:
        """True when no file holds a known secret or a URL password."""
        return not self.findings

    def summary(self) -> str:
        """One line per finding, for a person: the file, the line and where the secret came from."""
        if self.clean:
            return (
                f"{self.folder}: no secrets found in {self.files} files "
                f"({self.secrets_known} known secret values checked, and URL passwords)"
            )
        lines = [f"{self.folder}: {len(self.findings)} secret(s) found in {self.files} files:"]
        lines += [f"  {f.path}:{f.line}: {f.source}" for f in self.findings]
        return "\n".join(lines)


def scan_run(
    folder: str | Path, *, secrets: Mapping[str, str] | None = None, env_names: Iterable[str] = ()
) -> ScanReport:
    """Report every known secret and URL password in `folder`'s files, so a run can be shared safely.

    Args:
        folder: a run folder (or any folder: every regular file below it is read), or one file.
        secrets: secret value -> where it came from; default: `known_secrets()` (credential-like
            environment variables and the values registered in this process).
        env_names: more environment variables whose values count as secrets (`--secret-env`).
    """
    root = Path(folder)
    if not root.is_dir() and not root.is_file():
        raise ConfigError(
            f"{root}: not a folder or a file; pass the run folder that generate, verify or eval wrote (--out)"
        )
    known = dict(known_secrets() if secrets is None else secrets)
    for name in env_names:
        value = os.environ.get(name)
        if not value:
            raise ConfigError(f"--secret-env {name}: that environment variable is not set; export it or drop the flag")
        known.setdefault(value, f"${name}")
    forms = {form.encode(): origin for form, origin in secret_spellings(known).items()}
    findings: list[Finding] = []
    files = 0
    for path in _files(root) if root.is_dir() else iter([root]):
        files += 1
        findings.extend(_scan_file(path, forms))
    return ScanReport(root, files, len(known), tuple(findings))


def refuse_secrets(source: str | Path, action: str) -> None:
    """Raise `SecretsFound` when `source` (a run folder or a file) holds a known secret, before `action` copies it out."""
    report = scan_run(source)
    if not report.clean:
        raise SecretsFound(
            f"{action} refused: {report.summary()}\nfix: callforge scan {source} --redact (masks them), then {action} again"
        )


def redact_run(report: ScanReport, *, secrets: Mapping[str, str] | None = None) -> list[Path]:
    """Mask what `report` found: text files are rewritten (atomically), cache databases removed.

    Returns the files changed or removed.
    """
    known = dict(known_secrets() if secrets is None else secrets)
    forms = sorted((f.encode() for f in secret_spellings(known)), key=len, reverse=True)
    touched: list[Path] = []
    for path in sorted({f.path for f in report.findings}):
        if path.suffix in _CACHE_SUFFIXES:
            for sibling in (path, *(path.with_name(path.name + s) for s in ("-wal", "-shm", "-journal"))):
                sibling.unlink(missing_ok=True)
            touched.append(path)
            continue
        data = path.read_bytes()
        masked = _USERINFO.sub(lambda m: m[0].replace(b":" + m["password"] + b"@", b":" + MASK.encode() + b"@"), data)
        for form in forms:
            masked = masked.replace(form, MASK.encode())
        if masked != data:
            temp = path.with_name(path.name + ".redacting")
            temp.write_bytes(masked)
            os.replace(temp, path)
            touched.append(path)
    return touched


def _files(root: Path) -> Iterator[Path]:
    for dirpath, _dirs, names in os.walk(root):
        for name in sorted(names):
            path = Path(dirpath, name)
            if path.is_file() and not path.is_symlink():
                yield path


def _scan_file(path: Path, forms: Mapping[bytes, str]) -> list[Finding]:
    """Findings in one file, read in CHUNK-sized pieces that overlap by the longest secret."""
    overlap = max((len(f) for f in forms), default=0) + 256
    found: dict[tuple[int, str], None] = {}
    lines_before = 0
    carry = b""
    with path.open("rb") as handle:
        while True:
            chunk = handle.read(CHUNK)
            if not chunk and not carry:
                break
            data = carry + chunk
            final = not chunk
            limit = len(data) if final else max(len(data) - overlap, 0)
            for form, origin in forms.items():
                start = data.find(form)
                while start != -1:
                    if start < limit or final:
                        found.setdefault((lines_before + data.count(b"\n", 0, start) + 1, origin))
                    start = data.find(form, start + 1)
            for match in _USERINFO.finditer(data):
                if match["password"] != MASK.encode() and (match.start() < limit or final):
                    line = lines_before + data.count(b"\n", 0, match.start()) + 1
                    found.setdefault((line, "a URL password (user:password@)"))
            if final:
                break
            lines_before += data.count(b"\n", 0, limit)
            carry = data[limit:]
    return [Finding(path, line, origin) for line, origin in found]
