"""Run storage: append-only JSONL record files that survive a kill and resume without duplicates."""

from callforge.run.folder import RunFolder
from callforge.run.jsonl import JsonlWriter, read_ids, repair_tail

__all__ = ["JsonlWriter", "RunFolder", "read_ids", "repair_tail"]
