"""Prompt tokens a server reused from its cache are counted apart: they are what prefix reuse saves."""

from __future__ import annotations

from callforge.llm import Usage
from callforge.llm.local import _usage
from callforge.llm.wire import usage_from_openai


def test_openai_cached_tokens_and_llama_cpp_timings_become_cached_prompt_tokens() -> None:
    openai = usage_from_openai({"prompt_tokens": 900, "completion_tokens": 20, "prompt_tokens_details": {"cached_tokens": 768}})
    assert (openai.prompt_tokens, openai.cached_prompt_tokens, openai.processed_prompt_tokens) == (900, 768, 132)
    assert usage_from_openai({"prompt_tokens": 10, "completion_tokens": 2}).cached_prompt_tokens == 0
    local = _usage({"usage": {"prompt_tokens": 500, "completion_tokens": 9}, "timings": {"cache_n": 430, "prompt_n": 70}})
    assert (local.cached_prompt_tokens, local.processed_prompt_tokens) == (430, 70)
    assert (openai + local).cached_prompt_tokens == 1198
    assert Usage(prompt_tokens=5, cached_prompt_tokens=9).processed_prompt_tokens == 0
