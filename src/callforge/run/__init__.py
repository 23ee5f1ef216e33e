"""Run storage: append-only JSONL record files that survive a kill and resume without duplicates."""

from callforge.run.jsonl import JsonlWriter, read_ids, repair_tail

__all__ = ["JsonlWriter", "read_ids", "repair_tail"]
