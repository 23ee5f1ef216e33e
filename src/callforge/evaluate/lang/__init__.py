"""BFCL's non-Python prompting languages: decoding Java / JavaScript call text and converting values.

BFCL asks prompting models in `simple_java` and `simple_javascript` for calls in the target
language's syntax, decodes them with tree-sitter, and converts each argument's source text by the
parameter's schema type before the ordinary AST checks. `java` and `javascript` reproduce both
steps without tree-sitter and without evaluating anything.
"""
