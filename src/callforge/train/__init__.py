"""Train: LoRA SFT and DPO on callforge's exports, with TRL, PEFT and transformers (the [train] extra).

`train(data, method=..., model=..., out=...)` reads an export (`--format openai`, `chat`, `hf`
or `dpo`), tokenises it itself so that the loss falls only on learned assistant turns (never on
one marked `"weight": 0`), trains a LoRA adapter and saves it with a `TrainReport`. Importing
this package is cheap: torch, transformers and TRL load only when a run starts.
"""

from callforge.train.api import train
from callforge.train.config import DEFAULT_LR, TRAIN_METHODS, TrainConfig, require_train_extra
from callforge.train.data import TrainData, read_train_data
from callforge.train.evaluation import AdapterEvaluation, ModelScore, evaluate_adapter
from callforge.train.report import REPORT_FILE, LogPoint, TrainReport

__all__ = [
    "DEFAULT_LR",
    "REPORT_FILE",
    "TRAIN_METHODS",
    "AdapterEvaluation",
    "LogPoint",
    "ModelScore",
    "TrainConfig",
    "TrainData",
    "TrainReport",
    "evaluate_adapter",
    "read_train_data",
    "require_train_extra",
    "train",
]
