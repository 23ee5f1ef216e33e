"""What the verbs share: the common options, their checks, and the one way a verb's options become its job config.

A verb's option names are its config's field names, so `config_from(GenerateConfig, options)`
maps them without the verb spelling each parameter out again; options the config does not have
(`--json`, `--quiet`) are left for the verb itself.

Flag values are checked here, once, when the command line is parsed: a bad URL, a negative
timeout or rate, a date that does not exist, an output folder that is a file. Each is a usage
error (status 2) that names the flag, before any request is sent or any file is written.
"""

from __future__ import annotations

import datetime
import math
import os
import re
from pathlib import Path
from typing import Annotated, Any, TypeVar
from urllib.parse import urlsplit

import typer
from pydantic import BaseModel

from callforge.core import LIMIT_ENV, register_secret

M = TypeVar("M", bound=BaseModel)


def http_url(value: str | None) -> str | None:
    """Check an endpoint flag: an http(s) URL with a host, e.g. http://127.0.0.1:8000/v1 (or several, comma-separated)."""
    if value is None:
        return None
    if "," in value:  # replicas of one model: each must be a URL
        for url in value.split(","):
            http_url(url.strip())
        return value
    try:
        parts = urlsplit(value)
        ok = parts.scheme in ("http", "https") and bool(parts.hostname) and (parts.port is None or parts.port > 0)
    except ValueError:  # a port that is no number or out of range, a broken IPv6 literal
        ok = False
    if not ok:
        from callforge.cli.crash import mask_argv

        shown = mask_argv([value])[0]  # never echo a password given in the URL
        raise typer.BadParameter(f"{shown!r} is not an http(s) URL with a host, e.g. http://127.0.0.1:8000/v1")
    return value


def positive(value: float | None) -> float | None:
    """Check a seconds or rate flag: a finite number greater than 0."""
    if value is not None and not (math.isfinite(value) and value > 0):
        raise typer.BadParameter(f"must be a number greater than 0, got {value:g}")
    return value


def iso_date(value: str | None) -> str | None:
    """Check a date flag: a real calendar date written YYYY-MM-DD."""
    if value is None:
        return None
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            raise ValueError
        datetime.date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date; write YYYY-MM-DD, e.g. 2025-06-30") from None
    return value


def out_dir(value: Path | None) -> Path | None:
    """Check an output folder flag: a folder, or a path that does not exist yet under a folder."""
    if value is None:
        return None
    if value.exists() and not value.is_dir():
        raise typer.BadParameter(f"{str(value)!r} is a file; give a folder (existing or new)")
    _under_a_folder(value)
    return value


def out_file(value: Path | None) -> Path | None:
    """Check an output file flag: a file path (new or to overwrite), not a folder."""
    if value is None:
        return None
    if value.is_dir():
        raise typer.BadParameter(
            f"{str(value)!r} is a directory; give a file path, e.g. {str(value / 'pool.json')!r}"
        )
    _under_a_folder(value)
    return value


def _under_a_folder(value: Path) -> None:
    """The nearest existing parent of `value` must be a folder, or nothing can be written there."""
    for parent in value.absolute().parents:
        if parent.exists():
            if not parent.is_dir():
                raise typer.BadParameter(f"{str(parent)!r} is a file, so {str(value)!r} cannot be created")
            return


BaseUrl = Annotated[
    str | None,
    typer.Option(
        "--base-url",
        callback=http_url,
        help="Endpoint for openai:<model> specs (or $OPENAI_BASE_URL); several replicas comma-separated, "
        "each request to the least busy.",
    ),
]


def concurrency_value(value: str | None) -> int | str | None:
    """Check `--concurrency`: a positive number (fixed), or `auto` (find each endpoint's capacity)."""
    from callforge.llm import parse_concurrency

    try:
        return parse_concurrency(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


Concurrency = Annotated[
    str | None,
    typer.Option(
        "--concurrency",
        callback=concurrency_value,
        metavar="N|auto",
        help="Requests in flight per endpoint: auto (the default for openai:) raises them while latency holds "
        "and backs off on 429s or a growing queue; a number fixes them (1 for local:).",
    ),
]

RAY_BARE = ""
"""What a bare `--ray` becomes: `RAY_ADDRESS`, else a local cluster."""

Ray = Annotated[
    str | None,
    typer.Option(
        "--ray",
        metavar="[ADDRESS]",
        help="Run in shards on Ray (the ray extra): a cluster address (ray://host:10001, auto), or none for "
        "$RAY_ADDRESS or a local cluster (docs/scale-out.md).",
    ),
]

_RAY_ADDRESS = re.compile(r"^(ray://.*|auto|local|[\w.-]+:\d+)$")


def optional_values(args: list[str]) -> list[str]:
    """`--ray` with no address (last, or before another option or a path) becomes `--ray=`: typer has no optional values."""
    out: list[str] = []
    for n, arg in enumerate(args):
        if arg == "--ray" and (n + 1 == len(args) or not _RAY_ADDRESS.match(args[n + 1])):
            out.append(f"--ray={RAY_BARE}")
        else:
            out.append(arg)
    return out
def api_key(value: str | None) -> str | None:
    """Read `--api-key @FILE` from the file, so the key need not sit in `ps` output and shell history.

    Either way the value becomes a known secret, masked wherever callforge writes (docs/secrets.md).
    """
    if value is None:
        return None
    if value.startswith("@"):
        path = Path(value[1:]).expanduser()
        try:
            value = path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise typer.BadParameter(
                f"cannot read the key file {path} ({exc}); give a readable file with the key on its first line"
            ) from None
        if not value:
            raise typer.BadParameter(f"the key file {path} is empty; put the key in it")
    register_secret(value, "--api-key")
    return value


ApiKey = Annotated[
    str | None,
    typer.Option(
        "--api-key",
        callback=api_key,
        help="API key for openai:<model> specs; @FILE reads it from a file (default: $OPENAI_API_KEY).",
    ),
]
def input_limit(ctx: typer.Context, param: typer.CallbackParam, value: float | None) -> float | None:
    """Raise an input limit for this run: set as its `CALLFORGE_MAX_*` variable, which every reader (and worker) reads."""
    del ctx
    if value is None:
        return None
    if not value > 0 or not math.isfinite(value):
        raise typer.BadParameter(f"must be a number greater than 0, got {value}")
    name = param.name or ""
    os.environ[LIMIT_ENV[name]] = str(int(value) if name not in ("max_input_mb", "max_record_mb") else value)
    return value


MaxInputMb = Annotated[
    float | None,
    typer.Option("--max-input-mb", callback=input_limit, help="Largest file read whole, in MB (default 64)."),
]
MaxRecordMb = Annotated[
    float | None,
    typer.Option("--max-record-mb", callback=input_limit, help="Largest line or record of a streamed file, in MB (default 64)."),
]
MaxDepth = Annotated[
    int | None, typer.Option("--max-depth", callback=input_limit, help="Deepest nesting of objects and arrays (default 200).")
]
MaxAliasNodes = Annotated[
    int | None,
    typer.Option("--max-alias-nodes", callback=input_limit, help="Nodes YAML aliases may add (default 1,000,000)."),
]
MaxRefHops = Annotated[
    int | None, typer.Option("--max-ref-hops", callback=input_limit, help="OpenAPI $refs followed one inside another (default 64).")
]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")]
AsJson = Annotated[bool, typer.Option("--json", help="Print the report as JSON.")]
Limit = Annotated[int | None, typer.Option("--limit", min=1, help="Take at most this many items.")]
Votes = Annotated[int, typer.Option("--votes", min=1, help="Judge votes per dialog (majority decides).")]
JudgeMode = Annotated[
    str,
    typer.Option(
        "--judge-mode",
        help="reference (the model answers the request and its calls are compared), per_call (asked "
        "about each call and argument) or per_aspect (one question per aspect).",
    ),
]


def config_from(model: type[M], options: dict[str, Any], **overrides: Any) -> M:
    """The config `model` built from a verb's options (those it has a field for) and `overrides`."""
    from callforge.core import validated

    fields = {k: v for k, v in options.items() if k in model.model_fields}
    return validated(model, **{**fields, **overrides})


def json_object(text: str | None, flag: str) -> dict[str, Any]:
    """A flag's JSON object value; a clear error naming the flag when it is not one."""
    if text is None:
        return {}
    import json

    try:
        value = json.loads(text)
    except ValueError as exc:
        raise typer.BadParameter(f"not JSON ({exc}); give an object, e.g. '{{\"accounts\": {{\"Ada\": 120}}}}'", param_hint=flag) from None
    if not isinstance(value, dict):
        raise typer.BadParameter(f"expected a JSON object, got {type(value).__name__}", param_hint=flag)
    return value
