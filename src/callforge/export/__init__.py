"""Export: verified dialogs in the formats trainers read (OpenAI chat JSONL for TRL, ShareGPT for LLaMA-Factory).

Every format round-trips: `callforge.formats.read_dialogs` reads an export back into the same
dialogs. More formats (HF datasets, chat templates, BFCL eval sets, per-step) and the learning
signal from rejected dialogs are issue 7's remaining work.
"""

from callforge.export.api import EXPORT_FORMATS, ExportFormat, ExportReport, export, iter_dialogs
from callforge.export.writers import SHAREGPT_DATASET_INFO, injected_calls, to_openai, to_sharegpt

__all__ = [
    "EXPORT_FORMATS",
    "SHAREGPT_DATASET_INFO",
    "ExportFormat",
    "ExportReport",
    "export",
    "injected_calls",
    "iter_dialogs",
    "to_openai",
    "to_sharegpt",
]
