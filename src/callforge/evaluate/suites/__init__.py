"""Evaluation suites: sources of Cases (BFCL's data folder today; users' own sets later)."""

from callforge.evaluate.suites.bfcl import bfcl_files, load_bfcl_suite

__all__ = ["bfcl_files", "load_bfcl_suite"]
