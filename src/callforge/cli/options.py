"""What the verbs share: the common options, and the one way a verb's options become its job config.

A verb's option names are its config's field names, so `config_from(GenerateConfig, options)`
maps them without the verb spelling each parameter out again; options the config does not have
(`--json`, `--quiet`) are left for the verb itself.
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

import typer
from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)

BaseUrl = Annotated[str | None, typer.Option("--base-url", help="Endpoint for openai:<model> specs (or $OPENAI_BASE_URL).")]
ApiKey = Annotated[str | None, typer.Option("--api-key", help="API key for openai:<model> specs (or $OPENAI_API_KEY).")]
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
