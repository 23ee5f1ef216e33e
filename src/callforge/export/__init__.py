"""Export: verified dialogs in the formats trainers and evaluators read.

`export(src, out, format=...)` writes OpenAI chat JSONL (TRL), ShareGPT (LLaMA-Factory), Parquet
for `datasets` (hf), one example per assistant turn (steps), chat-template text (chat), Granite's
granular tasks (tasks), GRPO prompts with reference calls (grpo), DPO preference pairs (dpo) or a BFCL eval set (bfcl). The JSON Lines
formats and the Parquet file read back through `callforge.formats` into the same dialogs.
"""

from callforge.export.api import (
    FORMAT_ENTRY_POINTS,
    ExportReport,
    RecordFormat,
    export,
    export_formats,
    iter_dialogs,
    reasoning_placement,
    record_formats,
)
from callforge.export.bfcl import possible_answer
from callforge.export.curriculum import curriculum_order, source_histogram
from callforge.export.writers import (
    REASONING_MODES,
    SHAREGPT_DATASET_INFO,
    ReasoningMode,
    learned_turns,
    openai_message,
    to_grpo,
    to_openai,
    to_sharegpt,
    to_steps,
    with_reasoning,
)

__all__ = [
    "FORMAT_ENTRY_POINTS",
    "REASONING_MODES",
    "SHAREGPT_DATASET_INFO",
    "ExportReport",
    "ReasoningMode",
    "RecordFormat",
    "curriculum_order",
    "export",
    "export_formats",
    "iter_dialogs",
    "learned_turns",
    "openai_message",
    "possible_answer",
    "reasoning_placement",
    "record_formats",
    "source_histogram",
    "to_grpo",
    "to_openai",
    "to_sharegpt",
    "to_steps",
    "with_reasoning",
]
