"""Export: verified dialogs in the formats trainers and evaluators read.

`export(src, out, format=...)` writes OpenAI chat JSONL (TRL), ShareGPT (LLaMA-Factory), Parquet
for `datasets` (hf), one example per assistant turn (steps), chat-template text (chat), Granite's
granular tasks (tasks), DPO preference pairs (dpo) or a BFCL eval set (bfcl). The JSON Lines
formats and the Parquet file read back through `callforge.formats` into the same dialogs.
"""

from callforge.export.api import EXPORT_FORMATS, ExportFormat, ExportReport, export, iter_dialogs
from callforge.export.writers import (
    SHAREGPT_DATASET_INFO,
    openai_message,
    to_openai,
    to_sharegpt,
    to_steps,
)

__all__ = [
    "EXPORT_FORMATS",
    "SHAREGPT_DATASET_INFO",
    "ExportFormat",
    "ExportReport",
    "export",
    "iter_dialogs",
    "openai_message",
    "to_openai",
    "to_sharegpt",
    "to_steps",
]
