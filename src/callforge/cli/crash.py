"""Crash reports: an internal error becomes one line for the user and a file with everything a fix needs.

A traceback on the terminal helps nobody who did not write the code, and a user pasting it into
an issue may paste their API key along with the command line. So the traceback, the command line
(secrets masked) and the versions go to a file under `$CALLFORGE_CRASH_DIR` (default
`~/.cache/callforge/crashes/`), and the terminal gets one line that names it.
"""

from __future__ import annotations

import datetime
import os
import platform
import sys
import tempfile
import traceback
from collections.abc import Sequence
from pathlib import Path

from callforge.core import MASK, redact, register_secret

SECRET_FLAGS = ("--api-key",)
"""Options whose value is a secret: masked in the report's command line."""
_PACKAGES = ("typer", "pydantic", "openai", "httpx2", "orjson", "rich", "llama-cpp-python")


def crash_dir() -> Path:
    """Where crash reports go: `$CALLFORGE_CRASH_DIR`, else the user's cache folder (`$XDG_CACHE_HOME`, ~/.cache)."""
    chosen = os.environ.get("CALLFORGE_CRASH_DIR")
    if chosen:
        return Path(chosen).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "callforge" / "crashes"


def mask_argv(argv: Sequence[str]) -> list[str]:
    """The command line fit to share: values of `--api-key` and the userinfo of URLs replaced by `***`."""
    masked: list[str] = []
    hide_next = False
    for arg in argv:
        if hide_next:
            masked.append(MASK)
            hide_next = False
            continue
        flag, eq, _ = arg.partition("=")
        if flag in SECRET_FLAGS:
            if eq:
                masked.append(f"{flag}={MASK}")
            else:
                masked.append(arg)
                hide_next = True
            continue
        masked.append(redact(arg))
    return masked


def mask_text(text: str, argv: Sequence[str]) -> str:
    """`text` without the secrets it may hold: URL passwords, the `--api-key` values of `argv`, every known secret."""
    for value in _secret_values(argv):
        register_secret(value, "--api-key")
    return redact(text)


def write_crash_report(exc: BaseException, argv: Sequence[str]) -> Path | None:
    """Write the report of `exc` (traceback, masked command line, versions); its path, or None if no folder took it."""
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    name = f"crash-{stamp}-{os.getpid()}.txt"
    text = mask_text(_report(exc, argv), argv)
    for folder in (crash_dir(), Path(tempfile.gettempdir()) / "callforge-crashes"):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / name
            path.write_text(text, encoding="utf-8", errors="backslashreplace")
        except OSError:
            continue
        return path
    return None


def crash_line(exc: BaseException, argv: Sequence[str], report: Path | None) -> str:
    """The one line the user sees: what broke, and where the report is."""
    message = " ".join(str(exc).split())
    if len(message) > 300:
        message = message[:300] + " …"
    what = mask_text(f"{type(exc).__name__}: {message}" if message else type(exc).__name__, argv)
    if report is None:
        return f"callforge crashed (bug): {what}; no crash report could be written — please report the command and this line"
    return f"callforge crashed (bug): {what}; report written to {report} — please attach it to an issue"


def _secret_values(argv: Sequence[str]) -> list[str]:
    values = []
    for n, arg in enumerate(argv):
        flag, eq, value = arg.partition("=")
        if flag in SECRET_FLAGS:
            if eq:
                values.append(value)
            elif n + 1 < len(argv):
                values.append(argv[n + 1])
    return values


def _report(exc: BaseException, argv: Sequence[str]) -> str:
    from callforge import __version__

    lines = [
        "callforge crash report",
        f"time: {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}",
        f"command: callforge {' '.join(mask_argv(argv))}",
        f"cwd: {_cwd()}",
        f"callforge: {__version__}",
        f"python: {sys.version.split()[0]} ({sys.executable})",
        f"platform: {platform.platform()}",
        f"packages: {', '.join(_versions())}",
        "",
        "".join(traceback.format_exception(exc)).rstrip(),
        "",
    ]
    return "\n".join(lines)


def _cwd() -> str:
    try:
        return os.getcwd()
    except OSError as exc:  # the folder was removed under the process
        return f"(unknown: {exc})"


def _versions() -> list[str]:
    from importlib.metadata import PackageNotFoundError, version

    found = []
    for name in _PACKAGES:
        try:
            found.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            continue
    return found
