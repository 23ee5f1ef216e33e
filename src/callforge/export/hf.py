"""Hugging Face `datasets` export: one Parquet file whose rows load with `load_dataset("parquet", ...)`.

Arrow wants one schema for every row, and tool schemas differ from tool to tool, so `tools` is a
JSON string column (as xLAM and most Hub tool-calling sets store it) and call arguments stay JSON
strings as in the OpenAI wire shape. Messages are structs with every field present (null where a
message has none), so a row with and a row without tool calls share a schema.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import orjson

from callforge.core import ConfigError, Dialog
from callforge.export.writers import to_openai

PARQUET_FILE = "data.parquet"
_MESSAGE_KEYS = ("role", "content", "reasoning_content", "tool_calls", "tool_call_id", "name", "weight")


def hf_row(dialog: Dialog) -> dict[str, Any]:
    """One dataset row: `id`, `messages` (uniform structs), `tools` (a JSON string)."""
    record = to_openai(dialog)
    messages = [{key: message.get(key) for key in _MESSAGE_KEYS} for message in record["messages"]]
    return {
        "id": str(record.get("id", "")),
        "messages": messages,
        "tools": orjson.dumps(record["tools"]).decode(),
    }


def write_parquet(dialogs: Iterable[Dialog], out: Path, *, push_to_hub: str | None = None) -> tuple[int, list[Path]]:
    """Write `out/data.parquet` (atomically) and optionally push it to the Hub repo `push_to_hub`."""
    datasets = _datasets()
    rows = [hf_row(d) for d in dialogs]
    if not rows:
        raise ConfigError("no dialogs to export; a Parquet file needs at least one row")
    dataset = datasets.Dataset.from_list(rows)
    out.mkdir(parents=True, exist_ok=True)
    target = out / PARQUET_FILE
    tmp = out / f".{PARQUET_FILE}.partial"
    dataset.to_parquet(str(tmp))
    os.replace(tmp, target)
    if push_to_hub:
        token = os.environ.get("HF_TOKEN") or os.environ.get("HUGGING_FACE_HUB_TOKEN")
        if not token and not _logged_in():
            raise ConfigError(
                f"pushing to {push_to_hub} needs Hub credentials: set HF_TOKEN or run `hf auth login`; "
                f"the Parquet file is written at {target}"
            )
        dataset.push_to_hub(push_to_hub, token=token)
    return len(rows), [target]


def read_parquet(path: str | os.PathLike[str]) -> Iterator[dict[str, Any]]:
    """The rows of an `hf` export as OpenAI records again (tools parsed, null message fields dropped)."""
    import pyarrow.parquet as pq

    file = Path(path)
    if file.is_dir():
        file = file / PARQUET_FILE
    for row in pq.read_table(file).to_pylist():
        messages = [{k: v for k, v in m.items() if v is not None} for m in row["messages"]]
        yield {"id": row["id"], "messages": messages, "tools": orjson.loads(row["tools"])}


def _datasets() -> Any:
    try:
        import datasets
    except ImportError:
        raise ConfigError("the hf format needs the `datasets` package: pip install 'callforge[hf]'") from None
    return datasets


def _logged_in() -> bool:
    try:
        from huggingface_hub import get_token
    except ImportError:
        return False
    return get_token() is not None


def read_hf_dialogs(path: str | os.PathLike[str]) -> Iterator[Dialog]:
    """The dialogs of an `hf` export, read back through the OpenAI reader (the round trip the tests hold)."""
    from callforge.formats import Record, dialog_from_openai

    file = Path(path)
    for index, row in enumerate(read_parquet(file)):
        yield dialog_from_openai(row, Record(row, file, index, in_array=True))
